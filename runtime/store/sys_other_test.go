//go:build !unix

package store

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }

// diskUsage is not measured here.
func diskUsage(dir string) int64 { return 0 }
