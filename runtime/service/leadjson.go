package service

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/leadlang/lead/runtime/engine"
)

// The runtime writes the JSON it stores and serves on every step by hand:
// encoding each step's lead and history entry by reflection was a fifth of
// its CPU. Each writer produces what json.Marshal of the same value
// decodes to (leadjson_test.go checks that). Keys are written with their
// leading punctuation (`{"id":`, `,"stage":`), so the helpers below only
// pair a key with its value.

// appendStoredLead writes a lead's durable encoding: the same JSON as
// json.Marshal(storedLead{...}) decodes from (decodeLead reads it with
// encoding/json). fields are in schema order.
func appendStoredLead(b []byte, l *engine.Lead, names []string, fields []any) ([]byte, error) {
	b = appendStr(b, `{"id":`, l.ID)
	b = appendStr(b, `,"workflow":`, l.Workflow)
	b = appendStr(b, `,"version":`, l.Version)
	b = appendStr(b, `,"stage":`, l.Stage)
	b = appendStr(b, `,"owner":`, l.Owner)
	b = appendTime(append(b, `,"created_at":`...), l.CreatedAt)
	b = appendTime(append(b, `,"entered_at":`...), l.EnteredAt)
	b = appendStuck(append(b, `,"stuck":`...), l.Stuck)
	b = append(b, `,"slas":`...)
	if l.SLAs == nil {
		b = append(b, "null"...)
	} else {
		b = appendList(b, l.SLAs, func(b []byte, s engine.SLAState) []byte {
			b = appendStr(b, `{"name":`, s.Name)
			b = appendTime(append(b, `,"started":`...), s.Started)
			b = appendTime(append(b, `,"deadline":`...), s.Deadline)
			b = appendStr(b, `,"state":`, s.State)
			return append(b, '}')
		})
	}
	if len(l.Timers) > 0 {
		b = appendTimes(append(b, `,"timers":`...), l.Timers)
	}
	if len(l.ScoreChanged) > 0 {
		b = appendTimes(append(b, `,"score_changed":`...), l.ScoreChanged)
	}
	if len(l.Reached) > 0 {
		b = appendTimes(append(b, `,"reached":`...), l.Reached)
	}
	b = strconv.AppendUint(append(b, `,"seq":`...), l.Seq, 10)
	b = append(b, `,"fields":{`...)
	first := true
	for i, v := range fields {
		if v == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(appendString(b, names[i]), ':')
		var err error
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, "}}"...), nil
}

// appendValue writes a run-time field value in its JSON form (ir.Export).
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, &json.UnsupportedValueError{Str: strconv.FormatFloat(x, 'g', -1, 64)}
		}
		// The same text as encoding/json.
		abs := math.Abs(x)
		format := byte('f')
		if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
			format = 'e'
		}
		return strconv.AppendFloat(b, x, format, -1, 64), nil
	case time.Time:
		return appendString(b, x.UTC().Format(time.RFC3339Nano)), nil
	case time.Duration:
		return appendString(b, x.String()), nil
	}
	raw, err := json.Marshal(v) // lists and maps: rare, reflection is fine
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendTimes(b []byte, m map[string]time.Time) []byte {
	b, _ = appendSorted(b, m, func(b []byte, t time.Time) ([]byte, error) { return appendTime(b, t), nil })
	return b
}

// appendStr writes key (with its punctuation) and the string s.
func appendStr(b []byte, key, s string) []byte {
	return appendString(append(b, key...), s)
}

// appendList writes items as a JSON array, each by elem.
func appendList[T any](b []byte, items []T, elem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

// appendSorted writes m as a JSON object with its keys in order, as
// encoding/json does, each value by val.
func appendSorted[V any](b []byte, m map[string]V, val func([]byte, V) ([]byte, error)) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		var err error
		if b, err = val(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, as encoding/json
// does (without its HTML escaping, which the store does not need).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// MarshalJSON writes the API's lead shape by hand: it is in the answer of
// every request.
func (v LeadView) MarshalJSON() ([]byte, error) { return v.appendJSON(make([]byte, 0, 512)) }

func (v LeadView) appendJSON(b []byte) ([]byte, error) {
	b = appendStr(b, `{"id":`, v.ID)
	b = appendStr(b, `,"workflow":`, v.Workflow)
	b = appendStr(b, `,"version":`, v.Version)
	b = appendStr(b, `,"stage":`, v.Stage)
	b = appendStr(b, `,"lifecycle":`, v.Lifecycle)
	b = appendStr(b, `,"owner":`, v.Owner)
	b, err := appendSorted(append(b, `,"fields":`...), v.Fields, appendValue)
	if err != nil {
		return nil, err
	}
	b = appendTime(append(b, `,"created_at":`...), v.CreatedAt)
	b = appendTime(append(b, `,"entered_at":`...), v.EnteredAt)
	b = appendStuck(append(b, `,"stuck":`...), (*engine.Stuck)(v.Stuck))
	b = appendList(append(b, `,"slas":`...), v.SLAs, func(b []byte, s SLAView) []byte {
		b = appendStr(b, `{"name":`, s.Name)
		b = appendTime(append(b, `,"deadline":`...), s.Deadline)
		b = appendStr(b, `,"state":`, s.State)
		return append(b, '}')
	})
	return append(b, '}'), nil
}

// appendEntry writes a history entry as json.Marshal(engine.Entry) would
// (the API serves it as stored), by hand: every step writes one.
func appendEntry(b []byte, e *engine.Entry) ([]byte, error) {
	b = strconv.AppendUint(append(b, `{"seq":`...), e.Seq, 10)
	b = appendTime(append(b, `,"at":`...), e.At)
	b = appendStr(b, `,"cause":`, e.Cause)
	if e.Event != "" {
		b = appendStr(b, `,"event":`, e.Event)
	}
	if e.EventID != "" {
		b = appendStr(b, `,"event_id":`, e.EventID)
	}
	if e.Timer != "" {
		b = appendStr(b, `,"timer":`, e.Timer)
	}
	if e.Late != 0 {
		b = strconv.AppendInt(append(b, `,"late":`...), int64(e.Late), 10)
	}
	b = appendStr(b, `,"from":`, e.From)
	b = appendStr(b, `,"to":`, e.To)
	b = appendStr(b, `,"owner":`, e.Owner)
	b = appendStr(b, `,"version":`, e.Version)
	if len(e.Moves) > 0 {
		b = appendList(append(b, `,"moves":`...), e.Moves, func(b []byte, m engine.Move) []byte {
			b = appendStr(b, `{"from":`, m.From)
			b = appendStr(b, `,"to":`, m.To)
			b = appendStr(b, `,"edge":`, m.Edge)
			return append(b, '}')
		})
	}
	b = appendStrings(b, `,"actions":`, e.Actions)
	if len(e.SLAs) > 0 {
		b = appendList(append(b, `,"slas":`...), e.SLAs, func(b []byte, s engine.SLAOutcome) []byte {
			b = appendStr(b, `{"name":`, s.Name)
			b = appendStr(b, `,"stage":`, s.Stage)
			b = appendStr(b, `,"state":`, s.State)
			b = appendTime(append(b, `,"deadline":`...), s.Deadline)
			return append(b, '}')
		})
	}
	b = appendStrings(b, `,"escalations":`, e.Escalations)
	if e.Notifications != 0 {
		b = strconv.AppendInt(append(b, `,"notifications":`...), int64(e.Notifications), 10)
	}
	if len(e.Exceptions) > 0 {
		b = appendList(append(b, `,"exceptions":`...), e.Exceptions, func(b []byte, x engine.ExceptionRecord) []byte {
			b = appendStr(b, `{"kind":`, x.Kind)
			b = appendStr(b, `,"reason":`, x.Reason)
			b = appendStr(b, `,"stage":`, x.Stage)
			b = appendStr(b, `,"handler":`, x.Handler)
			b = strconv.AppendBool(append(b, `,"resolved":`...), x.Resolved)
			return append(b, '}')
		})
	}
	if len(e.Fields) > 0 {
		var err error
		if b, err = appendSorted(append(b, `,"fields":`...), e.Fields, appendValue); err != nil {
			return nil, err
		}
	}
	if o := e.Override; o != nil {
		b = appendStr(b, `,"override":{"stage":`, o.Stage)
		b = appendStr(b, `,"reason":`, o.Reason)
		if o.Actor != "" {
			b = appendStr(b, `,"actor":`, o.Actor)
		}
		b = append(b, '}')
	}
	if a := e.Assign; a != nil {
		b = appendStr(b, `,"assign":{"owner":`, a.Owner)
		b = appendStr(b, `,"previous":`, a.Previous)
		b = appendStr(b, `,"reason":`, a.Reason)
		if a.Actor != "" {
			b = appendStr(b, `,"actor":`, a.Actor)
		}
		b = append(b, '}')
	}
	if len(e.Extra) > 0 {
		b, _ = appendSorted(append(b, `,"extra":`...), e.Extra, func(b []byte, s string) ([]byte, error) { return appendString(b, s), nil })
	}
	return append(b, '}'), nil
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	return appendList(append(b, key...), ss, appendString)
}

func appendStuck(b []byte, st *engine.Stuck) []byte {
	if st == nil {
		return append(b, "null"...)
	}
	b = appendStr(b, `{"kind":`, st.Kind)
	b = appendStr(b, `,"reason":`, st.Reason)
	b = appendTime(append(b, `,"at":`...), st.At)
	return append(b, '}')
}
