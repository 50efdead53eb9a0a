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

// appendStoredLead writes a lead's durable encoding: the same JSON as
// json.Marshal(storedLead{...}) decodes from (decodeLead reads it with
// encoding/json), written by hand because encoding every step's lead by
// reflection was a fifth of the runtime's CPU. fields are in schema order.
func appendStoredLead(b []byte, l *engine.Lead, names []string, fields []any) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, l.ID)
	b = append(b, `,"workflow":`...)
	b = appendString(b, l.Workflow)
	b = append(b, `,"version":`...)
	b = appendString(b, l.Version)
	b = append(b, `,"stage":`...)
	b = appendString(b, l.Stage)
	b = append(b, `,"owner":`...)
	b = appendString(b, l.Owner)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, l.CreatedAt)
	b = append(b, `,"entered_at":`...)
	b = appendTime(b, l.EnteredAt)
	b = append(b, `,"stuck":`...)
	b = appendStuck(b, l.Stuck)
	b = append(b, `,"slas":`...)
	if l.SLAs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range l.SLAs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, s.Name)
			b = append(b, `,"started":`...)
			b = appendTime(b, s.Started)
			b = append(b, `,"deadline":`...)
			b = appendTime(b, s.Deadline)
			b = append(b, `,"state":`...)
			b = appendString(b, s.State)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(l.Timers) > 0 {
		b = append(b, `,"timers":`...)
		b = appendTimes(b, l.Timers)
	}
	if len(l.ScoreChanged) > 0 {
		b = append(b, `,"score_changed":`...)
		b = appendTimes(b, l.ScoreChanged)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, l.Seq, 10)
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
		b = appendString(b, names[i])
		b = append(b, ':')
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
		b = appendString(b, k)
		b = append(b, ':')
		b = appendTime(b, m[k])
	}
	return append(b, '}')
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
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"workflow":`...)
	b = appendString(b, v.Workflow)
	b = append(b, `,"version":`...)
	b = appendString(b, v.Version)
	b = append(b, `,"stage":`...)
	b = appendString(b, v.Stage)
	b = append(b, `,"lifecycle":`...)
	b = appendString(b, v.Lifecycle)
	b = append(b, `,"owner":`...)
	b = appendString(b, v.Owner)
	b = append(b, `,"fields":{`...)
	keys := make([]string, 0, len(v.Fields))
	for k := range v.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, v.Fields[k]); err != nil {
			return nil, err
		}
	}
	b = append(b, `},"created_at":`...)
	b = appendTime(b, v.CreatedAt)
	b = append(b, `,"entered_at":`...)
	b = appendTime(b, v.EnteredAt)
	b = append(b, `,"stuck":`...)
	b = appendStuck(b, v.Stuck)
	b = append(b, `,"slas":[`...)
	for i, s := range v.SLAs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, s.Name)
		b = append(b, `,"deadline":`...)
		b = appendTime(b, s.Deadline)
		b = append(b, `,"state":`...)
		b = appendString(b, s.State)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// appendEntry writes a history entry as json.Marshal(engine.Entry) would
// (the API serves it as stored), by hand: every step writes one.
func appendEntry(b []byte, e *engine.Entry) ([]byte, error) {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"at":`...)
	b = appendTime(b, e.At)
	b = append(b, `,"cause":`...)
	b = appendString(b, e.Cause)
	if e.Event != "" {
		b = append(b, `,"event":`...)
		b = appendString(b, e.Event)
	}
	if e.EventID != "" {
		b = append(b, `,"event_id":`...)
		b = appendString(b, e.EventID)
	}
	if e.Timer != "" {
		b = append(b, `,"timer":`...)
		b = appendString(b, e.Timer)
	}
	if e.Late != 0 {
		b = append(b, `,"late":`...)
		b = strconv.AppendInt(b, int64(e.Late), 10)
	}
	b = append(b, `,"from":`...)
	b = appendString(b, e.From)
	b = append(b, `,"to":`...)
	b = appendString(b, e.To)
	b = append(b, `,"owner":`...)
	b = appendString(b, e.Owner)
	b = append(b, `,"version":`...)
	b = appendString(b, e.Version)
	if len(e.Moves) > 0 {
		b = append(b, `,"moves":[`...)
		for i, m := range e.Moves {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"from":`...)
			b = appendString(b, m.From)
			b = append(b, `,"to":`...)
			b = appendString(b, m.To)
			b = append(b, `,"edge":`...)
			b = appendString(b, m.Edge)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStrings(b, `,"actions":`, e.Actions)
	if len(e.SLAs) > 0 {
		b = append(b, `,"slas":[`...)
		for i, s := range e.SLAs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, s.Name)
			b = append(b, `,"stage":`...)
			b = appendString(b, s.Stage)
			b = append(b, `,"state":`...)
			b = appendString(b, s.State)
			b = append(b, `,"deadline":`...)
			b = appendTime(b, s.Deadline)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStrings(b, `,"escalations":`, e.Escalations)
	if e.Notifications != 0 {
		b = append(b, `,"notifications":`...)
		b = strconv.AppendInt(b, int64(e.Notifications), 10)
	}
	if len(e.Exceptions) > 0 {
		b = append(b, `,"exceptions":[`...)
		for i, x := range e.Exceptions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = appendString(b, x.Kind)
			b = append(b, `,"reason":`...)
			b = appendString(b, x.Reason)
			b = append(b, `,"stage":`...)
			b = appendString(b, x.Stage)
			b = append(b, `,"handler":`...)
			b = appendString(b, x.Handler)
			b = append(b, `,"resolved":`...)
			b = strconv.AppendBool(b, x.Resolved)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"fields":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, e.Fields[k]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	}
	if o := e.Override; o != nil {
		b = append(b, `,"override":{"stage":`...)
		b = appendString(b, o.Stage)
		b = append(b, `,"reason":`...)
		b = appendString(b, o.Reason)
		if o.Actor != "" {
			b = append(b, `,"actor":`...)
			b = appendString(b, o.Actor)
		}
		b = append(b, '}')
	}
	if len(e.Extra) > 0 {
		keys := make([]string, 0, len(e.Extra))
		for k := range e.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"extra":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Extra[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendStuck(b []byte, st *engine.Stuck) []byte {
	if st == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"kind":`...)
	b = appendString(b, st.Kind)
	b = append(b, `,"reason":`...)
	b = appendString(b, st.Reason)
	b = append(b, `,"at":`...)
	b = appendTime(b, st.At)
	return append(b, '}')
}
