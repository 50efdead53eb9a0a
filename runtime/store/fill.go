package store

import (
	"sync"
)

// filler zero-fills the redo segment being written ahead of the writer,
// in the background: the log's fdatasync is cheap only over blocks
// already allocated and written (redo.go), and filling them as part of a
// commit made that commit's sync wait for a MiB of zeros (p99 in
// runtime/bench/http.sh went from 8 to 15–27 ms). A reused segment is
// filled already; a new one is filled once, a chunk at a time, each chunk
// synced by the filler, so that the commits' syncs find it clean. If the
// writer catches up, it fills the chunk it needs itself.
//
// The filler stays ahead by as much as has been written to the segment,
// between 1 and 8 MiB, so that a store that writes little (a test, a
// quiet deployment) allocates little.
type filler struct {
	mu      sync.Mutex
	cond    sync.Cond
	segSize int64
	seg     *redoSeg // segment being written
	end     int64    // how far the writer has asked for
	busy    bool     // a chunk is being written
	closed  bool
	failed  bool // the filler's own write failed: leave it to the writer
	done    sync.WaitGroup
}

const (
	fillChunk    = 1 << 20
	fillAheadMin = 1 << 20
	fillAheadMax = 8 << 20
)

func (f *filler) start(segSize int64) {
	f.cond.L = &f.mu
	f.segSize = segSize
	f.done.Add(1)
	go f.loop()
}

func (f *filler) stop() {
	f.mu.Lock()
	f.closed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	f.done.Wait()
}

// target is how far the filler fills seg.
func (f *filler) target() int64 {
	return min(f.segSize, f.end+min(max(f.end, fillAheadMin), fillAheadMax))
}

var zeroChunk = make([]byte, fillChunk)

// ensure makes seg allocated up to n bytes, filling inline what the
// filler has not, and sets the filler to work ahead of n.
func (f *filler) ensure(seg *redoSeg, n int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for seg.size < n {
		if f.busy {
			f.cond.Wait()
			continue
		}
		if err := f.chunk(seg, false); err != nil {
			return err
		}
	}
	f.seg, f.end = seg, n
	if seg.size < f.target() {
		f.cond.Broadcast()
	}
	return nil
}

// chunk writes the next chunk of zeros of seg, with f.mu held on entry
// and return but not while writing; the filler syncs what it wrote, the
// writer leaves that to the sync of the record that needed it.
func (f *filler) chunk(seg *redoSeg, sync bool) error {
	f.busy = true
	from := seg.size
	f.mu.Unlock()
	_, err := seg.f.WriteAt(zeroChunk, from)
	if err == nil && sync {
		err = fdatasync(seg.f)
	}
	f.mu.Lock()
	f.busy = false
	if err == nil {
		seg.size = from + fillChunk
	}
	f.cond.Broadcast()
	return err
}

func (f *filler) loop() {
	defer f.done.Done()
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		for !f.closed && (f.failed || f.busy || f.seg == nil || f.seg.size >= f.target()) {
			f.cond.Wait()
		}
		if f.closed {
			return
		}
		if f.chunk(f.seg, true) != nil {
			f.failed = true
		}
	}
}
