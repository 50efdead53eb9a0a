// Package integration holds the runtime's end-to-end tests, which build
// the real `lead` binary and drive `lead run` over HTTP against a real
// Badger directory: the API contract, exactly-once delivery, crash safety
// under kill -9, timers across downtime, hot reload, the webhook,
// graceful shutdown and the client commands. It has no non-test code.
package integration
