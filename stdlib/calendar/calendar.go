package calendar

import (
	"errors"
	"fmt"
	"slices"
	"time"

	// Calendars name IANA zones; embed the database so they load on
	// machines without zoneinfo (containers, Windows).
	_ "time/tzdata"
)

// MinutesPerDay is the end of a day in Interval minutes ("24:00").
const MinutesPerDay = 24 * 60

// Date is a civil date, with no time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date written "YYYY-MM-DD" and reports whether it is a
// real date.
func ParseDate(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	date := Date{Year: y, Month: time.Month(m), Day: d}
	if !ok1 || !ok2 || !ok3 || !date.valid() {
		return Date{}, false
	}
	return date, true
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// valid reports whether d names a day that exists, such as 2028-02-29 but
// not 2027-02-29.
func (d Date) valid() bool {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	y, m, day := t.Date()
	return y == d.Year && m == d.Month && day == d.Day
}

// Interval is a span of working time within one local day, in minutes after
// midnight: [Start, End), with 0 <= Start < End <= 1440.
type Interval struct{ Start, End int }

// String formats iv as "09:00-17:00".
func (iv Interval) String() string {
	return clock(iv.Start) + "-" + clock(iv.End)
}

// Calendar is a business calendar. Build it with New, which validates and
// normalises it; its methods assume what New guarantees (sorted, disjoint
// intervals and at least one of them), and it must not be changed after
// use begins. A Calendar is safe for concurrent use.
type Calendar struct {
	Name     string
	Location *time.Location
	// Hours holds each weekday's working intervals, indexed by
	// time.Weekday, sorted and disjoint.
	Hours [7][]Interval
	// Holidays are local days with no working time.
	Holidays map[Date]bool
	// Workdays are local days with working hours of their own, which
	// replace their weekday's (a make-up Saturday), sorted and disjoint.
	Workdays map[Date][]Interval
}

// Workday is a dated exception to the weekly hours: on Date the calendar
// works Hours instead of its weekday's hours.
type Workday struct {
	Date  Date
	Hours []Interval
}

// New returns the calendar called name with working hours in timezone (an
// IANA name such as "America/New_York", or "UTC"). Overlapping or touching
// intervals on one weekday are merged. It is an error for the zone to be
// unknown, for an interval to be empty, inverted or outside 00:00-24:00, for
// a holiday not to be a real date, and for the calendar to have no working
// hours at all (a duration on it could never elapse). Workdays give dates
// hours of their own; it is an error for one to have no hours or invalid
// ones, for a date to be given twice, or to be both a holiday and a workday.
func New(name, timezone string, hours [7][]Interval, holidays []Date, workdays ...Workday) (*Calendar, error) {
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if name == "" {
			return errors.New("calendar: " + msg)
		}
		return fmt.Errorf("calendar %s: %s", name, msg)
	}
	switch timezone {
	case "":
		return nil, fail(`no time zone: name one, such as "America/New_York", or "UTC"`)
	case "Local":
		return nil, fail(`time zone "Local" differs from machine to machine: name the zone, such as "Europe/London"`)
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		return nil, fail(`unknown time zone %q: use an IANA name such as "America/New_York" or "Europe/Berlin"`, timezone)
	}
	c := &Calendar{Name: name, Location: loc, Holidays: make(map[Date]bool, len(holidays))}
	hasHours := false
	for day, ivs := range hours {
		for _, iv := range ivs {
			if iv.Start < 0 || iv.End > MinutesPerDay {
				return nil, fail("hours %s: minutes %d to %d are out of range: times run from 00:00 to 24:00", weekdayNames[day], iv.Start, iv.End)
			}
			if iv.End <= iv.Start {
				return nil, fail("hours %s %s: the end must be after the start", weekdayNames[day], iv)
			}
		}
		c.Hours[day] = merge(ivs)
		hasHours = hasHours || len(ivs) > 0
	}
	if !hasHours {
		return nil, fail(`no working hours: add some, such as "hours mon-fri 09:00-17:00"`)
	}
	for _, d := range holidays {
		if !d.valid() {
			return nil, fail("holiday %s is not a real date", d)
		}
		c.Holidays[d] = true
	}
	for _, wd := range workdays {
		d := wd.Date
		switch {
		case !d.valid():
			return nil, fail("workday %s is not a real date", d)
		case c.Holidays[d]:
			return nil, fail("%s is both a holiday and a workday", d)
		case c.Workdays[d] != nil:
			return nil, fail("workday %s is given twice", d)
		case len(wd.Hours) == 0:
			return nil, fail("workday %s has no hours", d)
		}
		for _, iv := range wd.Hours {
			if iv.Start < 0 || iv.End > MinutesPerDay || iv.End <= iv.Start {
				return nil, fail("workday %s: hours %s are not a range within 00:00-24:00", d, iv)
			}
		}
		if c.Workdays == nil {
			c.Workdays = make(map[Date][]Interval, len(workdays))
		}
		c.Workdays[d] = merge(wd.Hours)
	}
	return c, nil
}

// merge returns ivs sorted, with overlapping or touching intervals joined,
// in a new slice.
func merge(ivs []Interval) []Interval {
	if len(ivs) == 0 {
		return nil
	}
	sorted := slices.Clone(ivs)
	slices.SortFunc(sorted, func(a, b Interval) int { return a.Start - b.Start })
	out := sorted[:1]
	for _, iv := range sorted[1:] {
		last := &out[len(out)-1]
		if iv.Start <= last.End {
			last.End = max(last.End, iv.End)
			continue
		}
		out = append(out, iv)
	}
	return out
}

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday parses a day as written in `hours` lines: "mon" to "sun",
// lower case.
func ParseWeekday(s string) (time.Weekday, bool) {
	for i, n := range weekdayNames {
		if s == n {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// ParseClock parses a 24-hour time "HH:MM" (exactly two digits each) into
// minutes after midnight; "24:00", the end of the day, is 1440.
func ParseClock(s string) (minutes int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, ok1 := digits(s[:2])
	m, ok2 := digits(s[3:])
	if !ok1 || !ok2 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// digits parses a string of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, len(s) > 0
}

// clock formats minutes after midnight as "HH:MM".
func clock(m int) string {
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// DayLength is the working time of the calendar's longest working
// weekday, and whether every working weekday has as much: then a business
// day is a fixed amount of working time (`3bd` on an 8-hour calendar is
// 24 working hours). Holidays are not counted: they have none.
func (c *Calendar) DayLength() (time.Duration, bool) {
	longest, shortest := 0, 0
	for _, ivs := range c.Hours {
		n := 0
		for _, iv := range ivs {
			n += iv.End - iv.Start
		}
		if n == 0 {
			continue
		}
		if longest == 0 || n > longest {
			longest = n
		}
		if shortest == 0 || n < shortest {
			shortest = n
		}
	}
	return time.Duration(longest) * time.Minute, longest == shortest
}
