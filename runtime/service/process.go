package service

import (
	"runtime"
	"runtime/debug"
)

// DefaultMemoryLimit is the Go memory limit TuneProcess sets unless
// GOMEMLIMIT is given: it keeps the heap from doubling during Badger's
// table builds, so a million leads stay under 1 GiB resident.
const DefaultMemoryLimit = 640 << 20

// extraProcs is how many more Ps than CPUs TuneProcess gives the Go
// scheduler. Badger writes its logs and new tables through memory-mapped
// files; a thread that faults on such a page while the file system is
// busy committing its journal (a big compaction deleting and writing
// tables) sleeps in the kernel for up to seconds, and, unlike a thread in
// a system call, it keeps its P. With as many Ps as CPUs, two such threads
// stopped every goroutine of a 2-CPU server: timers due at a million
// leads fired up to 4 s late (TestMillionLeads). Spare Ps keep the rest
// running: with 2 extra the lag p99 fell to 256–512 ms, with 6 to 64 ms. The
// price is a few percent of throughput when nothing stalls (more threads
// than CPUs), so it is kept small.
const extraProcs = 2

// TuneProcess sets the Go runtime up for a long-running `lead run`
// server, except where the environment (getenv) already says otherwise:
// GOMEMLIMIT (default DefaultMemoryLimit) and GOMAXPROCS (default the
// CPUs available plus extraProcs).
func TuneProcess(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	if getenv("GOMAXPROCS") == "" {
		// runtime.GOMAXPROCS(0) is the default: the CPUs this process
		// may use, container limits included.
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + extraProcs)
	}
}
