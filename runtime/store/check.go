package store

import "fmt"

// The checks every implementation applies, exported for the stores
// outside this package (runtime/store/postgres): a workflow that runs
// on one store must be refused, or taken, the same on every other.

// StepLimit is the largest step a store takes, in bytes as CheckStep
// counts them: Badger's at its default options, which Memory keeps too.
const StepLimit = memoryStepLimit

// MaxName is the longest name (lead id, workflow, stage, owner, event id,
// timer name, meta key, version) a store keeps; routing rows and counters
// may be twice as long (they join a kind and a name).
const MaxName = maxName

// CheckStep validates a step as Badger and Memory do, and returns its
// size as StepLimit counts it.
func CheckStep(sw StepWrite) (int64, error) {
	p, err := prepare(sw)
	if err != nil {
		return 0, err
	}
	if p.size > StepLimit {
		return p.size, fmt.Errorf("lead %q: the step writes %d bytes; the limit per step is %d bytes", sw.Lead.ID, p.size, StepLimit)
	}
	return p.size, nil
}

// CheckName reports why s cannot be a name of the kind what (a lead id,
// workflow, stage, owner, event id, timer name, meta key, version): longer
// than MaxName, a control character, invalid UTF-8, or empty when
// required.
func CheckName(what, s string, required bool) error { return checkName(what, s, required) }

// CheckRowName reports why s cannot be the name of a routing row or a
// counter (required, up to 2×MaxName).
func CheckRowName(what, s string) error { return checkNameLen(what, s, true, 2*maxName) }

// CheckVersion validates a version to save; a zero SavedAt becomes now.
func CheckVersion(v *Version) error { return checkVersion(v) }
