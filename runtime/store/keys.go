package store

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// sep separates the variable components of a key. Validation rejects
// control characters in every name that goes into a key, so sep never
// occurs inside a component, and because it sorts below every byte a name
// may contain, key order is component-wise name order.
const sep = 0x00

// maxName bounds every name that goes into a key, so that a key stays far
// below Badger's 65,000-byte limit whatever its components are.
const maxName = 1024

// Key prefixes; badger.go documents the whole layout.
const (
	pLead     = "l/"
	pHistory  = "h/"
	pEvent    = "e/"
	pTimer    = "t/"
	pWorkflow = "i/w/"
	pStage    = "i/s/"
	pOwner    = "i/o/"
	pStuck    = "i/x/"
	pInFlight = "i/v/"
	pOutbox   = "o/"
	pVersion  = "v/"
	pMeta     = "m/"
	pRouting  = "r/"
	pCounter  = "c/"
	pStep     = "q/"
)

// Single keys.
var (
	kOutboxNext = []byte("s/outbox")
	kStepNext   = []byte("s/steps")
	kFormat     = []byte("s/format")
	// kRotation held the whole routing state in lead-store/1 (upgrade.go).
	kRotation = []byte("r")
)

// formatVersion names the key layout and value encodings; Open refuses a
// directory written in another format rather than misreading it, and
// upgrades one of an earlier format it knows (upgrade.go).
const formatVersion = "lead-store/2"

// checkName reports why s cannot be used as the named component of a key.
func checkName(what, s string, required bool) error {
	return checkNameLen(what, s, required, maxName)
}

// checkNameLen is checkName for a component of up to max bytes: a routing
// row's name holds a name and what kind of row it is.
func checkNameLen(what, s string, required bool, max int) error {
	if s == "" {
		if required {
			return fmt.Errorf("%s is empty", what)
		}
		return nil
	}
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes long; the limit is %d", what, len(s), max)
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%s %q contains the control character %U", what, s, c)
		} else if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii {
		return nil
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %q contains the control character %U", what, s, r)
		}
	}
	return nil
}

// checkTime reports why t cannot be stored: times are kept as Unix
// nanoseconds.
func checkTime(t time.Time) error {
	if y := t.Year(); y < 1678 || y > 2261 {
		return fmt.Errorf("%s is outside the years 1678 to 2261 that the store can hold", t.Format(time.RFC3339))
	}
	return nil
}

// key concatenates a prefix and components separated by sep.
func key(prefix string, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, p...)
	}
	return b
}

// prefixKey is key with a trailing sep: the prefix of every key whose
// leading components are parts.
func prefixKey(prefix string, parts ...string) []byte {
	return append(key(prefix, parts...), sep)
}

func leadKey(id string) []byte { return key(pLead, id) }

func historyKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefixKey(pHistory, id), seq)
}

func eventKey(id, eventID string) []byte { return key(pEvent, id, eventID) }

// dueBytes encodes a due time so that byte order is time order: Unix
// nanoseconds with the sign bit flipped, big-endian.
func dueBytes(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano())^(1<<63))
}

func timerKey(due time.Time, id, name string) []byte {
	b := make([]byte, 0, len(pTimer)+8+len(id)+1+len(name))
	b = dueBytes(append(b, pTimer...), due)
	b = append(b, id...)
	b = append(b, sep)
	return append(b, name...)
}

// parseTimerKey is the inverse of timerKey.
func parseTimerKey(k []byte) (DueTimer, bool) {
	rest := k[len(pTimer):]
	if len(rest) < 9 {
		return DueTimer{}, false
	}
	ns := int64(binary.BigEndian.Uint64(rest) ^ (1 << 63))
	rest = rest[8:]
	for i, c := range rest {
		if c == sep {
			return DueTimer{LeadID: string(rest[:i]), Name: string(rest[i+1:]), Due: time.Unix(0, ns).UTC()}, true
		}
	}
	return DueTimer{}, false
}

// timerBound is a key above every timer key due at or before t and below
// every one due after it.
func timerBound(t time.Time) []byte {
	switch {
	case t.Year() < 1678:
		return []byte(pTimer)
	case t.Year() > 2261:
		return []byte("t0") // '0' follows '/'
	}
	return dueBytes([]byte(pTimer), t.Add(1))
}

func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pOutbox), seq)
}

func versionKey(workflow, version string) []byte { return key(pVersion, workflow, version) }

func metaKey(k string) []byte { return key(pMeta, k) }

func routingKey(row string) []byte { return key(pRouting, row) }

func counterKey(name string) []byte { return key(pCounter, name) }

func stepKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pStep), seq)
}

// indexKeys appends the index keys of l: the lookups of Leads and InFlight.
func indexKeys(dst [][]byte, l *Lead) [][]byte {
	dst = append(dst, key(pWorkflow, l.Workflow, l.ID), key(pStage, l.Workflow, l.Stage, l.ID))
	if l.Owner != "" {
		dst = append(dst, key(pOwner, l.Owner, l.ID))
	}
	if l.Stuck {
		dst = append(dst, key(pStuck, l.ID))
	}
	if !l.Terminal {
		dst = append(dst, key(pInFlight, l.Workflow, l.Version, l.ID))
	}
	return dst
}
