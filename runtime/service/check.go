package service

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/leadlang/lead/runtime/engine"
)

// Limits on what a request may store. The store refuses a name with a
// control character and a step over its transaction limit, and refuses
// the whole group commit with it; so the service checks every step before
// it joins the commit queue, and rejects the request instead.
const (
	// MaxIDLength is the longest lead id or event id a client may give.
	MaxIDLength = 200
	// MaxNameBytes bounds a name computed by a workflow (an owner routed
	// with `user EXPR`): the store's limit on names in keys.
	MaxNameBytes = 1024
	// MaxLeadBytes bounds a lead's fields, as JSON. A step writes the lead,
	// its history entry (which may repeat changed fields) and, for an
	// event with an id, the answer (the lead again): three times this
	// stays within the store's per-step limit at its default memtable
	// size.
	MaxLeadBytes = 512 << 10
)

// ValidLeadID reports whether a client-given lead id is acceptable:
// 1–200 letters, digits and . _ - : @, but not "." or ".." (they are
// path segments, which clients and servers clean away).
func ValidLeadID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("._-:@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkEventID returns what is wrong with an event id, or "".
func checkEventID(id string) string {
	switch {
	case id == "":
		return ""
	case utf8.RuneCountInString(id) > MaxIDLength:
		return fmt.Sprintf("use at most %d characters", MaxIDLength)
	}
	return checkName(id)
}

// checkName returns what is wrong with a name the store keeps in a key
// (valid UTF-8 without control characters), or "".
func checkName(s string) string {
	if len(s) > MaxNameBytes {
		return fmt.Sprintf("is %d bytes long; the limit is %d", len(s), MaxNameBytes)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	return ""
}

// MaxStepBytes bounds the estimated size of one step's writes: the lead,
// its history entry, the answer kept for an event id, and the
// notifications. It is below the store's per-step limit (about 2.2 MB at
// the default memtable size; runtime/store, Commit).
const MaxStepBytes = 1536 << 10

// storable returns the problems that would keep a step's result out of
// the store: a float field that is not finite (JSON cannot hold it), an
// owner the store cannot index, a lead or step too large. Called with s.mu
// held; for the usual small lead it is a short walk over the fields.
func storable(m *engine.Machine, res *engine.Result) []Problem {
	l := res.Lead
	var problems []Problem
	size := 0
	for i, f := range m.W.Lead {
		if i >= len(l.Fields) || l.Fields[i] == nil {
			continue
		}
		n, bad := jsonSize(l.Fields[i])
		size += len(f.Name) + 4 + n
		if bad != "" {
			problems = append(problems, Problem{Field: "fields." + f.Name,
				Message: fmt.Sprintf("the workflow computed %s, which cannot be stored", bad)})
		}
	}
	notes := 0
	for _, n := range res.Notifications {
		notes += 256 + stringSize(n.Message) + stringSize(n.To) + stringSize(n.Role) + stringSize(n.Stage)
	}
	switch {
	case size > MaxLeadBytes:
		problems = append(problems, Problem{Field: "fields",
			Message: fmt.Sprintf("the lead's fields would take about %d KiB; the limit is %d KiB", size>>10, MaxLeadBytes>>10)})
	case 3*(size+1024)+notes > MaxStepBytes:
		problems = append(problems, Problem{Field: "notifications",
			Message: fmt.Sprintf("the step's notifications would take about %d KiB; the limit for a step is %d KiB", notes>>10, MaxStepBytes>>10)})
	}
	if msg := checkName(l.Owner); msg != "" {
		problems = append(problems, Problem{Field: "owner", Message: "the routed owner " + msg})
	}
	return problems
}

// jsonSize returns about the size of a run-time value's JSON (never much
// less) and, if it holds a number JSON cannot represent, that number.
func jsonSize(v any) (int, string) {
	switch x := v.(type) {
	case string:
		return stringSize(x), ""
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Sprint(x)
		}
		return 24, ""
	case []any:
		n, bad := 2, ""
		for _, e := range x {
			k, b := jsonSize(e)
			n += k + 1
			if bad == "" {
				bad = b
			}
		}
		return n, bad
	case map[string]any:
		n, bad := 2, ""
		for key, e := range x {
			k, b := jsonSize(e)
			n += stringSize(key) + 1 + k
			if bad == "" {
				bad = b
			}
		}
		return n, bad
	default:
		return 40, "" // numbers, booleans, times, durations
	}
}

// stringSize is the size of a string as encoding/json writes it, or more.
func stringSize(s string) int {
	valid := utf8.ValidString(s)
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '<', c == '>', c == '&':
			n += 6
		case c == '"', c == '\\':
			n += 2
		case c >= 0x80 && !valid:
			n += 6
		case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			n += 6 // U+2028 and U+2029 are escaped
			i += 2
		default:
			n++
		}
	}
	return n
}

// requestProblems names an engine's problems by their place in the
// request body (docs/api/openapi.json: details name every bad field): lead fields
// as fields.NAME, event payload fields as data.NAME.
func requestProblems(m *engine.Machine, in engine.Input, ps []Problem) []Problem {
	prefix := ""
	switch in.Kind {
	case engine.Capture:
		prefix = "fields."
	case engine.Update:
		if len(in.Data) > 0 {
			prefix = "fields."
		}
	case engine.Event:
		if m != nil && declaredEvent(m, in.Event) {
			prefix = "data."
		}
	}
	if prefix == "" {
		return ps
	}
	out := make([]Problem, len(ps))
	for i, p := range ps {
		out[i] = Problem{Field: prefix + p.Field, Message: p.Message}
	}
	return out
}

// declaredEvent reports whether a workflow declares an event clients may
// send.
func declaredEvent(m *engine.Machine, name string) bool {
	for _, e := range m.W.Events {
		if e.Name == name {
			return !e.Builtin
		}
	}
	return false
}

// mergeProblems joins problem lists, one problem per field (the first),
// sorted by field.
func mergeProblems(lists ...[]Problem) []Problem {
	var out []Problem
	seen := map[string]bool{}
	for _, l := range lists {
		for _, p := range l {
			if !seen[p.Field] {
				seen[p.Field] = true
				out = append(out, p)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return strings.Compare(a.Field, b.Field) })
	return out
}
