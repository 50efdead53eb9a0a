package stdlib

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/stdlib/calendar"
)

func TestModules(t *testing.T) {
	want := []string{"std.bant", "std.calendars", "std.waterfall"}
	if got := Modules(); !slices.Equal(got, want) {
		t.Fatalf("Modules() = %v; want %v", got, want)
	}
	for _, name := range want {
		src, ok := Module(name)
		if !ok || len(src) == 0 {
			t.Errorf("Module(%q) = %d bytes, %v", name, len(src), ok)
			continue
		}
		text := string(src)
		if !strings.HasSuffix(text, "\n") || strings.HasSuffix(text, "\n\n") {
			t.Errorf("%s: must end with exactly one newline", name)
		}
		for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if strings.ContainsAny(line, "\t\r") || strings.TrimRight(line, " ") != line {
				t.Errorf("%s:%d: tab, carriage return or trailing space", name, i+1)
			}
			if indent := len(line) - len(strings.TrimLeft(line, " ")); indent != 0 && indent != 2 {
				t.Errorf("%s:%d: indented %d spaces; want 0 or 2", name, i+1, indent)
			}
		}
		for _, line := range declarations(t, text) {
			if strings.HasPrefix(line, "workflow") || strings.HasPrefix(line, "use ") || strings.HasPrefix(line, "start ") {
				t.Errorf("%s: a module holds declarations only: %q", name, line)
			}
		}
	}
	// The caller owns the bytes.
	a, _ := Module("std.bant")
	a[0] = 'X'
	if b, _ := Module("std.bant"); b[0] == 'X' {
		t.Error("Module returned shared bytes")
	}
	for _, name := range []string{"", "std.", "waterfall", "std.nope", "std.waterfall.lead",
		"std../modules/bant", `std.modules\bant`, "STD.bant", "std.bant "} {
		if src, ok := Module(name); ok {
			t.Errorf("Module(%q) = %d bytes, true", name, len(src))
		}
	}
}

func TestWaterfallModule(t *testing.T) {
	src, _ := Module("std.waterfall")
	for _, line := range []string{
		"standard waterfall {",
		"  stages   inquiry, mql, sal, sql, opportunity, recycled",
		"  terminal won, lost, disqualified",
		"  require accountable on every stage",
		"}",
	} {
		if !slices.Contains(strings.Split(string(src), "\n"), line) {
			t.Errorf("waterfall.lead lacks the line %q", line)
		}
	}
}

func TestBantModule(t *testing.T) {
	src, _ := Module("std.bant")
	body := declarations(t, string(src))
	want := []string{
		"lead {",
		"  budget    bool = false",
		"  authority bool = false",
		"  need      bool = false",
		"  timeline  bool = false",
		"}",
	}
	if !slices.Equal(body, want) {
		t.Errorf("bant.lead declarations:\n%s\nwant:\n%s", strings.Join(body, "\n"), strings.Join(want, "\n"))
	}
}

// declarations returns src's lines without comments and blank lines.
func declarations(t *testing.T, src string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimRight(line[:i], " ")
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

type stdCalendar struct {
	name     string
	timezone string
	hours    []string
	holidays []calendar.Date
	line     map[calendar.Date]int
}

// parseCalendars reads calendars.lead with a line parser for the subset of
// the language reference §5 it uses; the project's parser checks the rest.
func parseCalendars(t *testing.T) []*stdCalendar {
	t.Helper()
	src, ok := Module("std.calendars")
	if !ok {
		t.Fatal("no std.calendars")
	}
	var cals []*stdCalendar
	var cur *stdCalendar
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		if j := strings.Index(line, "//"); j >= 0 {
			line = strings.TrimRight(line[:j], " ")
		}
		switch f := strings.Fields(line); {
		case len(f) == 0:
		case cur == nil && len(f) == 3 && f[0] == "calendar" && f[2] == "{" && line == strings.Join(f, " "):
			cur = &stdCalendar{name: f[1], line: map[calendar.Date]int{}}
			cals = append(cals, cur)
		case cur != nil && line == "}":
			cur = nil
		case cur != nil && !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   "):
			t.Errorf("calendars.lead:%d: want a two-space indent: %q", n, line)
		case f[0] == "timezone" && len(f) == 2:
			tz, err := strconv.Unquote(f[1])
			if err != nil || cur.timezone != "" {
				t.Errorf("calendars.lead:%d: bad timezone line", n)
			}
			cur.timezone = tz
		case f[0] == "hours" && len(f) >= 3:
			cur.hours = append(cur.hours, strings.Join(f[1:], " "))
		case f[0] == "holiday" && len(f) == 2:
			s, err := strconv.Unquote(f[1])
			d, ok := calendar.ParseDate(s)
			if err != nil || !ok {
				t.Errorf("calendars.lead:%d: %s is not a date", n, f[1])
				continue
			}
			cur.holidays = append(cur.holidays, d)
			cur.line[d] = n
		default:
			t.Errorf("calendars.lead:%d: unexpected %q", n, line)
		}
	}
	if cur != nil {
		t.Errorf("calendar %s is not closed", cur.name)
	}
	return cals
}

func TestCalendarsModule(t *testing.T) {
	cals := parseCalendars(t)
	want := map[string]struct{ tz, hours string }{
		"us_business": {"America/New_York", "mon-fri 09:00-17:00"},
		"uk_business": {"Europe/London", "mon-fri 09:00-17:30"},
		"de_business": {"Europe/Berlin", "mon-fri 09:00-17:00"},
		"sg_business": {"Asia/Singapore", "mon-fri 09:00-18:00"},
		"au_business": {"Australia/Sydney", "mon-fri 09:00-17:00"},
	}
	if len(cals) != len(want) {
		t.Errorf("%d calendars; want %d", len(cals), len(want))
	}
	for _, c := range cals {
		w, ok := want[c.name]
		if !ok {
			t.Errorf("unexpected calendar %s", c.name)
			continue
		}
		if c.timezone != w.tz || !slices.Equal(c.hours, []string{w.hours}) {
			t.Errorf("%s: timezone %q, hours %q; want %q, %q", c.name, c.timezone, c.hours, w.tz, w.hours)
		}
		if _, err := time.LoadLocation(c.timezone); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		cal, err := calendar.New(c.name, c.timezone, mondayToFriday(t, c.hours[0]), c.holidays)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for i, d := range c.holidays {
			if i > 0 && !dayOf(c.holidays[i-1]).Before(dayOf(d)) {
				t.Errorf("%s: holiday %s (line %d) out of order or repeated", c.name, d, c.line[d])
			}
			if d.Year < 2026 || d.Year > 2027 {
				t.Errorf("%s: holiday %s outside 2026-2027", c.name, d)
			}
			if wd := dayOf(d).Weekday(); len(cal.Hours[wd]) == 0 {
				t.Errorf("%s: holiday %s (line %d) is a %v; list the weekday observed instead", c.name, d, c.line[d], wd)
			}
		}
	}
}

func mondayToFriday(t *testing.T, hours string) (h [7][]calendar.Interval) {
	days, span, _ := strings.Cut(hours, " ")
	from, to, _ := strings.Cut(span, "-")
	start, ok1 := calendar.ParseClock(from)
	end, ok2 := calendar.ParseClock(to)
	if days != "mon-fri" || !ok1 || !ok2 {
		t.Fatalf("unexpected hours %q", hours)
	}
	for d := time.Monday; d <= time.Friday; d++ {
		h[d] = []calendar.Interval{{Start: start, End: end}}
	}
	return h
}

func dayOf(d calendar.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// TestCalendarHolidaysByRule recomputes the rule-based holidays of 2026 and
// 2027 from the statutes' rules and compares them with calendars.lead.
func TestCalendarHolidaysByRule(t *testing.T) {
	rules := map[string]func(year int) []time.Time{
		"us_business": usFederal,
		"uk_business": englandAndWales,
		"de_business": germany,
		"au_business": newSouthWales,
	}
	for _, c := range parseCalendars(t) {
		rule, ok := rules[c.name]
		if !ok {
			continue
		}
		var want []string
		for _, y := range []int{2025, 2026, 2027, 2028} {
			for _, d := range rule(y) {
				if d.Year() >= 2026 && d.Year() <= 2027 {
					want = append(want, d.Format(time.DateOnly))
				}
			}
		}
		slices.Sort(want)
		var got []string
		for _, d := range c.holidays {
			got = append(got, d.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s holidays:\n got %v\nwant %v", c.name, got, want)
		}
	}
}

// Singapore's lunar and religious holidays are gazetted, not computed; check
// the counts and the fixed-date ones.
func TestSingaporeHolidays(t *testing.T) {
	for _, c := range parseCalendars(t) {
		if c.name != "sg_business" {
			continue
		}
		perYear := map[int]int{}
		var got []string
		for _, d := range c.holidays {
			perYear[d.Year]++
			got = append(got, d.String())
		}
		// 11 holidays a year, less those on a Saturday (2026: Hari Raya
		// Puasa; 2027: the first day of Chinese New Year, Labour Day,
		// Christmas Day).
		if perYear[2026] != 10 || perYear[2027] != 8 {
			t.Errorf("holidays per year %v; want 10 in 2026 and 8 in 2027", perYear)
		}
		for _, d := range []string{
			"2026-01-01", "2026-04-03", "2026-05-01", "2026-08-10", "2026-12-25",
			"2027-01-01", "2027-03-26", "2027-08-09",
		} {
			if !slices.Contains(got, d) {
				t.Errorf("missing %s", d)
			}
		}
		return
	}
	t.Error("no sg_business")
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// easter returns Easter Sunday (anonymous Gregorian algorithm).
func easter(y int) time.Time {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return date(y, time.Month(month), day)
}

// nth returns the n-th weekday wd of a month; n = -1 is the last.
func nth(y int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := date(y, m+1, 0)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := date(y, m, 1)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}

func weekend(d time.Time) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// substitute moves each weekend holiday, in order, to the next weekday that
// is not already a holiday (UK and NSW substitute and additional days).
func substitute(days ...time.Time) []time.Time {
	var out []time.Time
	for _, d := range days {
		for weekend(d) || slices.ContainsFunc(out, d.Equal) {
			d = d.AddDate(0, 0, 1)
		}
		out = append(out, d)
	}
	return out
}

func weekdaysOnly(days ...time.Time) []time.Time {
	return slices.DeleteFunc(days, weekend)
}

func usFederal(y int) []time.Time {
	observed := func(d time.Time) time.Time {
		switch d.Weekday() {
		case time.Saturday:
			return d.AddDate(0, 0, -1)
		case time.Sunday:
			return d.AddDate(0, 0, 1)
		}
		return d
	}
	return []time.Time{
		observed(date(y, 1, 1)),
		nth(y, 1, time.Monday, 3),
		nth(y, 2, time.Monday, 3),
		nth(y, 5, time.Monday, -1),
		observed(date(y, 6, 19)),
		observed(date(y, 7, 4)),
		nth(y, 9, time.Monday, 1),
		nth(y, 10, time.Monday, 2),
		observed(date(y, 11, 11)),
		nth(y, 11, time.Thursday, 4),
		observed(date(y, 12, 25)),
	}
}

func englandAndWales(y int) []time.Time {
	e := easter(y)
	return append(substitute(date(y, 1, 1)),
		append([]time.Time{
			e.AddDate(0, 0, -2),
			e.AddDate(0, 0, 1),
			nth(y, 5, time.Monday, 1),
			nth(y, 5, time.Monday, -1),
			nth(y, 8, time.Monday, -1),
		}, substitute(date(y, 12, 25), date(y, 12, 26))...)...)
}

func germany(y int) []time.Time {
	e := easter(y)
	return weekdaysOnly(
		date(y, 1, 1), e.AddDate(0, 0, -2), e.AddDate(0, 0, 1), date(y, 5, 1),
		e.AddDate(0, 0, 39), e.AddDate(0, 0, 50), date(y, 10, 3), date(y, 12, 25), date(y, 12, 26))
}

func newSouthWales(y int) []time.Time {
	e := easter(y)
	anzac := weekdaysOnly(date(y, 4, 25))
	if y == 2026 || y == 2027 { // Public Holidays Order: the Monday after a weekend Anzac Day
		anzac = substitute(date(y, 4, 25))
	}
	days := append(substitute(date(y, 1, 1), date(y, 1, 26)),
		e.AddDate(0, 0, -2), e.AddDate(0, 0, 1))
	days = append(days, anzac...)
	days = append(days, nth(y, 6, time.Monday, 2), nth(y, 10, time.Monday, 1))
	return append(days, substitute(date(y, 12, 25), date(y, 12, 26))...)
}
