package ir

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Coerce converts a JSON-decoded value (string, float64 or json.Number-like
// int64, bool, []any, map[string]any) — or a value already in run-time form
// — into the run-time form of type t: string, int64, float64, bool,
// time.Time, time.Duration, []any or map[string]any. The error says what
// was expected, for API and test messages.
func Coerce(t Type, v any) (any, error) {
	switch t.Kind {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Enum:
		if s, ok := v.(string); ok {
			if !t.HasValue(s) {
				return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(t.Enum, ", "))
			}
			return s, nil
		}
	case Int:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n), nil
			}
			return nil, fmt.Errorf("expected an integer, got %v", n)
		}
	case Float:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Timestamp:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			ts, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return nil, fmt.Errorf("expected an RFC 3339 time such as 2026-03-02T09:00:00Z, got %q", x)
			}
			return ts, nil
		}
	case DurationK:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			if d, err := ParseDuration(x); err == nil {
				return d, nil
			}
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
			return nil, fmt.Errorf("expected a duration such as 4h or 1h30m, got %q", x)
		}
	case List:
		if xs, ok := v.([]any); ok {
			out := make([]any, len(xs))
			for i, x := range xs {
				c, err := Coerce(*t.Elem, x)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				out[i] = c
			}
			return out, nil
		}
	case Map:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				c, err := Coerce(*t.Elem, m[k])
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", k, err)
				}
				out[k] = c
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("expected %s, got %s", describeType(t), describeValue(v))
}

func describeType(t Type) string {
	switch t.Kind {
	case Int:
		return "an integer"
	case Float:
		return "a number"
	case Bool:
		return "true or false"
	case String:
		return "a string"
	case Enum:
		return "one of " + strings.Join(t.Enum, ", ")
	case Timestamp:
		return "an RFC 3339 time"
	case DurationK:
		return "a duration"
	case List:
		return "a list of " + t.Elem.String()
	case Map:
		return "an object of " + t.Elem.String()
	}
	return t.String()
}

func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case float64, int64, int:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("%v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// Export converts a run-time value back to its JSON form: times as
// RFC 3339, durations as Go duration text.
func Export(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Export(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Export(e)
		}
		return out
	}
	return v
}
