//go:build race

package format

// raceEnabled makes the slowest tests sample their inputs under -race.
const raceEnabled = true
