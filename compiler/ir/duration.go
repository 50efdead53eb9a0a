package ir

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day and Week are the calendar-free units of Lead durations: a day is 24h,
// a week 7d (the language reference §1).
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

var units = []struct {
	name string
	d    time.Duration
}{{"w", Week}, {"d", Day}, {"h", time.Hour}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}}

// ErrBusinessDays is ParseDuration's error for a literal in business days
// (`3bd`): only a calendar says how long a business day is.
var ErrBusinessDays = errors.New("business days (bd) are measured on a calendar")

// ParseDuration parses a Lead duration literal such as `90s`, `1h30m`,
// `180d` or `2w`: one or more <int><unit> with units ms s m h d w. A
// literal in business days (`3bd`) is an ErrBusinessDays error: see
// ParseWorkingDuration.
func ParseDuration(s string) (time.Duration, error) { return ParseWorkingDuration(s, 0) }

// ParseWorkingDuration parses a duration measured on a calendar whose
// business day is day of working time: `3bd` is 3*day, and the other units
// are as in ParseDuration. With day 0 (no calendar, or one whose days
// differ) bd is an ErrBusinessDays error.
func ParseWorkingDuration(s string, day time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("invalid duration %q: expected a number", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: number too large", s)
		}
		rest = rest[i:]
		var unit time.Duration
		if strings.HasPrefix(rest, "bd") {
			if day <= 0 {
				return 0, fmt.Errorf("%q: %w", s, ErrBusinessDays)
			}
			unit, rest = day, rest[2:]
		}
		for _, u := range units {
			if unit != 0 {
				break
			}
			if strings.HasPrefix(rest, u.name) {
				unit = u.d
				rest = rest[len(u.name):]
				break
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("invalid duration %q: unknown unit", s)
		}
		if n > math.MaxInt64/int64(unit) || total > time.Duration(math.MaxInt64)-time.Duration(n)*unit {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

// DescribeDuration writes a duration for people with its calendar:
// DurationOn's text, or written when it is set (a length in business days
// is shown as written, `3bd`), followed by " on CALENDAR" when there is
// one.
func DescribeDuration(d Duration, written, calendar string) string {
	text := written
	if text == "" {
		text = DurationOn(d, calendar)
	}
	if calendar == "" {
		return text
	}
	return text + " on " + calendar
}

// DescribeLength writes a length for people: a fixed one as
// DescribeDuration does, one the lead chooses as its rules, `(when
// lead.tier == "hot" -> 15m, else -> 4h on us_business)`.
func DescribeLength(d Duration, written, calendar string, choices []Choice) string {
	if len(choices) == 0 {
		return DescribeDuration(d, written, calendar)
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range choices {
		if i > 0 {
			b.WriteString(", ")
		}
		if c.When != nil {
			b.WriteString("when " + c.When.Src)
		} else {
			b.WriteString("else")
		}
		b.WriteString(" -> " + DescribeDuration(c.Length, c.Written, c.Calendar))
	}
	b.WriteByte(')')
	return b.String()
}

// UsesBusinessDays reports whether a duration literal counts business days
// (`3bd`, `1bd4h`): such a literal is kept as written for people.
func UsesBusinessDays(s string) bool { return strings.Contains(s, "bd") }

// UsesDays reports whether a duration literal has a day or week unit
// (`2d`, `1w`, `1d12h`), not a business day: on a calendar such a day is
// 24 working hours, several business days.
func UsesDays(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] == 'd' && (i == 0 || s[i-1] != 'b')) || s[i] == 'w' {
			return true
		}
	}
	return false
}

// DurationOn writes a duration measured on calendar as a Lead literal. On
// a business calendar a day of working time is not a day ("48h on
// us_business" is six 8-hour working days, not "2d"), so the largest unit
// there is the hour; without a calendar it is FormatDuration.
func DurationOn(d Duration, calendar string) string {
	if calendar == "" {
		return FormatDuration(d)
	}
	v := time.Duration(d)
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := v / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			v -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// FormatDuration writes d as a Lead duration literal, largest units first
// (weeks are written as days): 30d, 1d12h, 1h30m, 500ms.
func FormatDuration(d Duration) string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", Day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := v / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			v -= n * u.d
		}
	}
	return b.String()
}
