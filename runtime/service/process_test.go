package service

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneProcess: lead run's defaults apply only where the environment
// sets nothing.
func TestTuneProcess(t *testing.T) {
	procs, limit := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	defer func() {
		runtime.GOMAXPROCS(procs)
		debug.SetMemoryLimit(limit)
	}()
	debug.SetMemoryLimit(math.MaxInt64)

	set := map[string]string{"GOMAXPROCS": "1", "GOMEMLIMIT": "1GiB"}
	TuneProcess(func(k string) string { return set[k] })
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS set in the environment: changed from %d to %d", procs, got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set in the environment: memory limit changed to %d", got)
	}

	TuneProcess(func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != procs+extraProcs {
		t.Errorf("GOMAXPROCS = %d, want %d (the default %d plus %d)", got, procs+extraProcs, procs, extraProcs)
	}
	if got := debug.SetMemoryLimit(-1); got != DefaultMemoryLimit {
		t.Errorf("memory limit = %d, want %d", got, DefaultMemoryLimit)
	}
}
