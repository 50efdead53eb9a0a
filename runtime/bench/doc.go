// Package bench holds the runtime's end-to-end benchmarks: durable events
// per second through the engine and the Badger store with group commit,
// side by side with a naive baseline that commits one fsync'd Badger
// transaction per event, and events per second and latency through the
// HTTP API. Run them with `make bench` or
//
//	go test -run '^$' -bench . -benchtime 20000x ./runtime/bench/
package bench
