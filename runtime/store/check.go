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

// CheckRouting validates a commit's routing change: row names as
// CheckRowName takes them, and no row both set and added to.
func CheckRouting(c RoutingChange) error {
	var err error
	c.Names(func(name string) {
		if err == nil {
			err = CheckRowName("routing row", name)
		}
	})
	if err != nil {
		return err
	}
	for k, v := range c.Set {
		if v != nil && len(v) == 0 {
			return fmt.Errorf("routing row %q: an empty value (a nil value deletes a row)", k)
		}
	}
	for k := range c.Add {
		if _, ok := c.Set[k]; ok {
			return fmt.Errorf("routing row %q is both set and added to", k)
		}
	}
	return nil
}
