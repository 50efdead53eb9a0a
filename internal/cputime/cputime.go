//go:build unix

// Package cputime reads the CPU time the process has used, so that
// benchmarks can report their cost beside wall-clock rates, which a busy
// machine distorts.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user and system CPU time the process has used (0 where
// it cannot be read).
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
