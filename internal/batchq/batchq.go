// Package batchq is the queue in front of a group committer: any number
// of producers put requests, and the one consumer takes everything queued
// at once, as one batch. It needs no bound: every producer waits for its
// request to be committed.
package batchq

import "sync"

// Queue is an unbounded FIFO handing batches from producers to one
// consumer. The zero value is ready to use.
type Queue[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	ready  chan struct{}
	once   sync.Once
}

func (q *Queue[T]) init() { q.once.Do(func() { q.ready = make(chan struct{}, 1) }) }

// Put queues x and wakes the consumer.
func (q *Queue[T]) Put(x T) {
	q.init()
	q.mu.Lock()
	q.items = append(q.items, x)
	q.mu.Unlock()
	q.wake()
}

// Close ends the queue: Take returns what is left, then ok false.
func (q *Queue[T]) Close() {
	q.init()
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

func (q *Queue[T]) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Poll returns the items queued, without waiting.
func (q *Queue[T]) Poll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// Take waits for items and returns all of them; ok is false once the
// queue is closed and drained.
func (q *Queue[T]) Take() (items []T, ok bool) {
	q.init()
	for {
		q.mu.Lock()
		items, q.items = q.items, nil
		closed := q.closed
		q.mu.Unlock()
		if len(items) > 0 {
			return items, true
		}
		if closed {
			return nil, false
		}
		<-q.ready
	}
}
