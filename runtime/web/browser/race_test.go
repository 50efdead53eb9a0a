//go:build race

package browser

// raceEnabled: the tests run with -race, and so does the binary they build.
const raceEnabled = true
