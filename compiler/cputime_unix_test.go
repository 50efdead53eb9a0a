//go:build unix

package compiler

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) the process has used, so that
// benchmarks can report their cost on a machine that is busy with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
