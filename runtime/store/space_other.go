//go:build !unix

package store

import "errors"

// freeSpace is not read on this system: the watermark is not enforced.
func freeSpace(dir string) (int64, error) {
	return 0, errors.New("free space is not read on this system")
}
