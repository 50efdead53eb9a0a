//go:build race

package lsp

// raceEnabled lets the slowest tests use smaller inputs under -race, where
// the server runs several times slower.
const raceEnabled = true
