//go:build unix

package store

import (
	"os"
	"path/filepath"
	"syscall"
)

// diskUsage is the disk space the files directly in dir take (Badger's
// logs are sparse, so their sizes overstate it).
func diskUsage(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(dir, e.Name()), &st) == nil {
			n += st.Blocks * 512
		}
	}
	return n
}
