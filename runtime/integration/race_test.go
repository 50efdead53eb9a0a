//go:build race

package integration

// raceEnabled: the tests run with -race, and so does the binary they build.
const raceEnabled = true
