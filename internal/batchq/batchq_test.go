package batchq

import (
	"slices"
	"sync"
	"testing"
)

// TestQueue: every item put by any producer is taken exactly once, in each
// producer's order, and Take ends once the queue is closed and drained.
func TestQueue(t *testing.T) {
	var q Queue[[2]int]
	const producers, each = 8, 1000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				q.Put([2]int{p, i})
			}
		})
	}
	go func() { wg.Wait(); q.Close() }()
	next := make([]int, producers)
	for {
		batch, ok := q.Take()
		if !ok {
			break
		}
		if len(batch) == 0 {
			t.Fatal("Take returned an empty batch")
		}
		for _, x := range batch {
			if x[1] != next[x[0]] {
				t.Fatalf("producer %d: got item %d, want %d", x[0], x[1], next[x[0]])
			}
			next[x[0]]++
		}
	}
	if !slices.Equal(next, slices.Repeat([]int{each}, producers)) {
		t.Errorf("taken per producer: %v", next)
	}
	if rest := q.Poll(); len(rest) != 0 {
		t.Errorf("left after close: %v", rest)
	}
}
