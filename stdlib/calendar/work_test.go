package calendar

import (
	"strings"
	"testing"
	"time"
)

// build returns a calendar from hours written as in a .lead file, one
// "DAYS HH:MM-HH:MM..." group per element ("mon-fri 09:00-12:00 13:00-17:00",
// "mon-sun 00:00-04:00"); a range runs forward from mon to sun.
func build(t testing.TB, tz string, hours []string, holidays ...string) *Calendar {
	t.Helper()
	var h [7][]Interval
	for _, line := range hours {
		f := strings.Fields(line)
		from, to, _ := strings.Cut(f[0], "-")
		if to == "" {
			to = from
		}
		a, ok1 := ParseWeekday(from)
		b, ok2 := ParseWeekday(to)
		if !ok1 || !ok2 {
			t.Fatalf("bad days %q", f[0])
		}
		for _, r := range f[1:] {
			s, e, _ := strings.Cut(r, "-")
			sm, ok1 := ParseClock(s)
			em, ok2 := ParseClock(e)
			if !ok1 || !ok2 {
				t.Fatalf("bad interval %q", r)
			}
			for d := a; ; d = (d + 1) % 7 {
				h[d] = append(h[d], Interval{sm, em})
				if d == b {
					break
				}
			}
		}
	}
	var hs []Date
	for _, s := range holidays {
		d, ok := ParseDate(s)
		if !ok {
			t.Fatalf("bad date %q", s)
		}
		hs = append(hs, d)
	}
	c, err := New("test", tz, h, hs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// usBusiness is the calendar of examples/multistep.lead.
func usBusiness(t testing.TB) *Calendar {
	return build(t, "America/New_York", []string{"mon-fri 09:00-17:00"}, "2026-11-26", "2026-12-25")
}

type addCase struct {
	from string
	d    time.Duration
	want string
}

func checkAdd(t *testing.T, c *Calendar, tests []addCase) {
	t.Helper()
	for _, tt := range tests {
		from := ts(t, tt.from)
		got := c.Add(from, tt.d)
		if want := ts(t, tt.want); !got.Equal(want) {
			t.Errorf("Add(%s, %v) = %s; want %s", tt.from, tt.d, got.Format(time.RFC3339Nano), tt.want)
		}
	}
}

func TestAddSpecExample(t *testing.T) {
	c := usBusiness(t)
	start := ts(t, "2026-03-02T09:00:00-05:00") // a Monday
	if got, want := c.Add(start, 24*time.Hour), ts(t, "2026-03-04T17:00:00-05:00"); !got.Equal(want) {
		t.Errorf("24h: got %s; want %s", got, want)
	}
	// warn at 75%: 18h of the 24h.
	if got, want := c.Add(start, 24*time.Hour*3/4), ts(t, "2026-03-04T11:00:00-05:00"); !got.Equal(want) {
		t.Errorf("18h: got %s; want %s", got, want)
	}
	// Appendix B's test: not broken at Wednesday 10:00, broken at 18:00.
	deadline := c.Add(start, 24*time.Hour)
	if !start.Add(49 * time.Hour).Before(deadline) {
		t.Error("deadline before start+49h")
	}
	if !start.Add(57 * time.Hour).After(deadline) {
		t.Error("deadline after start+57h")
	}
}

func TestAdd(t *testing.T) {
	checkAdd(t, usBusiness(t), []addCase{
		{"2026-03-02T09:00:00-05:00", 8 * time.Hour, "2026-03-02T17:00:00-05:00"}, // ends at the close, not Tuesday 09:00
		{"2026-03-02T09:00:00-05:00", 8*time.Hour + time.Nanosecond, "2026-03-03T09:00:00.000000001-05:00"},
		{"2026-03-02T09:00:00-05:00", 16 * time.Hour, "2026-03-03T17:00:00-05:00"},
		{"2026-03-02T07:00:00-05:00", time.Hour, "2026-03-02T10:00:00-05:00"},       // before hours
		{"2026-03-02T18:00:00-05:00", time.Hour, "2026-03-03T10:00:00-05:00"},       // after hours
		{"2026-03-02T17:00:00-05:00", time.Hour, "2026-03-03T10:00:00-05:00"},       // at the close
		{"2026-03-07T12:00:00-05:00", time.Hour, "2026-03-09T10:00:00-04:00"},       // Saturday; DST began Sunday
		{"2026-03-06T16:00:00-05:00", 2 * time.Hour, "2026-03-09T10:00:00-04:00"},   // over the weekend
		{"2026-03-06T13:00:00-05:00", 8 * time.Hour, "2026-03-09T13:00:00-04:00"},   // 71h of wall time
		{"2026-03-06T09:00:00-05:00", 16 * time.Hour, "2026-03-09T17:00:00-04:00"},  // both days stay 8h
		{"2026-10-30T13:00:00-04:00", 8 * time.Hour, "2026-11-02T13:00:00-05:00"},   // DST ended Sunday
		{"2026-11-25T15:00:00-05:00", 4 * time.Hour, "2026-11-27T11:00:00-05:00"},   // Thanksgiving
		{"2026-11-26T10:00:00-05:00", time.Hour, "2026-11-27T10:00:00-05:00"},       // start on a holiday
		{"2026-12-24T16:00:00-05:00", 2 * time.Hour, "2026-12-28T10:00:00-05:00"},   // Christmas Friday, weekend
		{"2026-03-02T16:59:59.5-05:00", time.Second, "2026-03-03T09:00:00.5-05:00"}, // sub-second
		{"2026-03-06T17:00:00-05:00", time.Nanosecond, "2026-03-09T09:00:00.000000001-04:00"},
		{"2026-03-02T14:00:00Z", time.Hour, "2026-03-02T15:00:00Z"},                  // 09:00 New York
		{"2026-03-02T15:00:00+01:00", 8 * time.Hour, "2026-03-02T22:00:00Z"},         // any zone in, same instant
		{"2026-03-02T09:00:00-05:00", 500 * time.Hour, "2026-05-27T13:00:00-04:00"},  // 62 days + 4h
		{"2026-03-02T09:00:00-05:00", 2000 * time.Hour, "2027-02-16T17:00:00-05:00"}, // 250 days, 2 holidays
		{"2026-03-02T09:00:00-05:00", 4320 * time.Hour, "2028-03-28T17:00:00-04:00"}, // 540 days, 2 holidays
		{"2026-03-02T09:00:00-05:00", 40 * time.Hour, "2026-03-06T17:00:00-05:00"},   // exactly one week
		{"2026-03-02T09:00:00-05:00", 80 * time.Hour, "2026-03-13T17:00:00-04:00"},   // exactly two weeks
		{"2026-11-16T09:00:00-05:00", 80 * time.Hour, "2026-11-30T17:00:00-05:00"},   // two weeks with a holiday: ends Monday
		{"2026-12-21T09:00:00-05:00", 40 * time.Hour, "2026-12-28T17:00:00-05:00"},   // holiday week
		{"2026-03-02T09:00:00-05:00", 0, "2026-03-02T09:00:00-05:00"},                // zero
		{"2026-03-07T12:00:00-05:00", 0, "2026-03-07T12:00:00-05:00"},                // zero outside hours stays put
		{"2026-03-07T12:00:00-05:00", -time.Hour, "2026-03-07T12:00:00-05:00"},       // negative
	})
	noHolidays := build(t, "America/New_York", []string{"mon-fri 09:00-17:00"})
	checkAdd(t, noHolidays, []addCase{
		{"2026-03-02T09:00:00-05:00", 4320 * time.Hour, "2028-03-24T17:00:00-04:00"}, // 108 weeks
		{"2026-03-02T09:00:00-05:00", 2000 * time.Hour, "2027-02-12T17:00:00-05:00"}, // 50 weeks
	})
}

func TestAddKeepsLocation(t *testing.T) {
	c := usBusiness(t)
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("x", 3600)} {
		from := ts(t, "2026-03-07T12:00:00-05:00").In(loc)
		for _, got := range []time.Time{c.Add(from, time.Hour), c.NextOpen(from)} {
			if got.Location() != loc {
				t.Errorf("result in %v; want %v", got.Location(), loc)
			}
		}
	}
}

func TestLunchBreak(t *testing.T) {
	c := build(t, "Europe/Berlin", []string{"mon-fri 09:00-12:00 13:00-17:00"})
	checkAdd(t, c, []addCase{
		{"2026-03-02T11:00:00+01:00", 2 * time.Hour, "2026-03-02T14:00:00+01:00"},
		{"2026-03-02T11:00:00+01:00", time.Hour, "2026-03-02T12:00:00+01:00"}, // ends at the break
		{"2026-03-02T12:00:00+01:00", time.Hour, "2026-03-02T14:00:00+01:00"}, // starts at the break
		{"2026-03-02T12:30:00+01:00", time.Hour, "2026-03-02T14:00:00+01:00"}, // inside the break
		{"2026-03-02T16:00:00+01:00", 2 * time.Hour, "2026-03-03T10:00:00+01:00"},
		{"2026-03-02T08:00:00+01:00", 3 * time.Hour, "2026-03-02T12:00:00+01:00"},
		{"2026-03-02T08:00:00+01:00", 7 * time.Hour, "2026-03-02T17:00:00+01:00"},
		{"2026-03-06T16:30:00+01:00", time.Hour, "2026-03-09T09:30:00+01:00"},
		{"2026-03-27T16:30:00+01:00", time.Hour, "2026-03-30T09:30:00+02:00"}, // CEST began Sunday
	})
	between := []struct {
		a, b string
		want time.Duration
	}{
		{"2026-03-02T08:00:00+01:00", "2026-03-02T18:00:00+01:00", 7 * time.Hour},
		{"2026-03-02T11:30:00+01:00", "2026-03-02T13:30:00+01:00", time.Hour},
		{"2026-03-02T12:00:00+01:00", "2026-03-02T13:00:00+01:00", 0},
		{"2026-03-02T09:00:00+01:00", "2026-03-09T09:00:00+01:00", 35 * time.Hour},
		{"2026-03-02T18:00:00+01:00", "2026-03-02T08:00:00+01:00", 0}, // reversed
		{"2026-03-02T10:00:00+01:00", "2026-03-02T10:00:00+01:00", 0}, // empty
	}
	for _, tt := range between {
		if got := c.Between(ts(t, tt.a), ts(t, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
	inHours := map[string]bool{
		"2026-03-02T08:59:59+01:00": false,
		"2026-03-02T09:00:00+01:00": true,
		"2026-03-02T11:59:59+01:00": true,
		"2026-03-02T12:00:00+01:00": false,
		"2026-03-02T12:30:00+01:00": false,
		"2026-03-02T13:00:00+01:00": true,
		"2026-03-02T16:59:59+01:00": true,
		"2026-03-02T17:00:00+01:00": false,
		"2026-03-07T10:00:00+01:00": false, // Saturday
		"2026-03-02T10:00:00Z":      true,  // 11:00 in Berlin
		"2026-03-02T11:30:00Z":      false, // 12:30 in Berlin
	}
	for s, want := range inHours {
		if got := c.InHours(ts(t, s)); got != want {
			t.Errorf("InHours(%s) = %v; want %v", s, got, want)
		}
	}
	nextOpen := map[string]string{
		"2026-03-02T10:00:00+01:00": "2026-03-02T10:00:00+01:00",
		"2026-03-02T12:30:00+01:00": "2026-03-02T13:00:00+01:00",
		"2026-03-02T12:00:00+01:00": "2026-03-02T13:00:00+01:00",
		"2026-03-02T17:30:00+01:00": "2026-03-03T09:00:00+01:00",
		"2026-03-06T17:30:00+01:00": "2026-03-09T09:00:00+01:00",
		"2026-03-28T10:00:00+01:00": "2026-03-30T09:00:00+02:00",
	}
	for s, want := range nextOpen {
		if got := c.NextOpen(ts(t, s)); !got.Equal(ts(t, want)) {
			t.Errorf("NextOpen(%s) = %s; want %s", s, got.Format(time.RFC3339), want)
		}
	}
}

func TestHolidays(t *testing.T) {
	c := usBusiness(t)
	between := []struct {
		a, b string
		want time.Duration
	}{
		{"2026-11-23T00:00:00-05:00", "2026-11-30T00:00:00-05:00", 32 * time.Hour}, // Thanksgiving week
		{"2026-11-26T00:00:00-05:00", "2026-11-27T00:00:00-05:00", 0},
		{"2026-12-21T00:00:00-05:00", "2027-01-04T00:00:00-05:00", 72 * time.Hour}, // 10 weekdays less Christmas
	}
	for _, tt := range between {
		if got := c.Between(ts(t, tt.a), ts(t, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if c.InHours(ts(t, "2026-11-26T12:00:00-05:00")) {
		t.Error("in hours on Thanksgiving")
	}
	if got, want := c.NextOpen(ts(t, "2026-12-24T17:00:00-05:00")), ts(t, "2026-12-28T09:00:00-05:00"); !got.Equal(want) {
		t.Errorf("NextOpen before Christmas = %s; want %s", got, want)
	}
}

type betweenCase struct {
	a, b string
	want time.Duration
}

func checkBetween(t *testing.T, c *Calendar, tests []betweenCase) {
	t.Helper()
	for _, tt := range tests {
		if got := c.Between(ts(t, tt.a), ts(t, tt.b)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// New York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
// London:   2026-03-29 01:00 GMT -> 02:00 BST; 2026-10-25 02:00 BST -> 01:00 GMT.

func TestDSTNewYorkEarlyHours(t *testing.T) {
	c := build(t, "America/New_York", []string{"mon-sun 00:00-04:00"})
	checkBetween(t, c, []betweenCase{
		{"2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", 4 * time.Hour},
		{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 3 * time.Hour},
		{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 5 * time.Hour},
		{"2026-11-02T00:00:00-05:00", "2026-11-03T00:00:00-05:00", 4 * time.Hour},
		{"2026-03-01T00:00:00-05:00", "2026-03-15T00:00:00-04:00", 55 * time.Hour},
		{"2026-10-25T00:00:00-04:00", "2026-11-08T00:00:00-05:00", 57 * time.Hour},
	})
	checkAdd(t, c, []addCase{
		{"2026-03-08T00:00:00-05:00", 3 * time.Hour, "2026-03-08T04:00:00-04:00"},
		{"2026-03-08T00:00:00-05:00", 3*time.Hour + 30*time.Minute, "2026-03-09T00:30:00-04:00"},
		{"2026-03-08T01:30:00-05:00", time.Hour, "2026-03-08T03:30:00-04:00"},
		{"2026-11-01T00:00:00-04:00", 5 * time.Hour, "2026-11-01T04:00:00-05:00"},
		{"2026-11-01T01:30:00-04:00", time.Hour, "2026-11-01T01:30:00-05:00"}, // through the repeated hour
		{"2026-11-01T01:30:00-05:00", 2*time.Hour + 30*time.Minute, "2026-11-01T04:00:00-05:00"},
	})
}

func TestDSTNewYorkTransitionHours(t *testing.T) {
	c := build(t, "America/New_York", []string{"mon-sun 01:00-03:00"})
	checkBetween(t, c, []betweenCase{
		{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", time.Hour},
		{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 3 * time.Hour},
	})
	checkAdd(t, c, []addCase{
		{"2026-03-08T01:00:00-05:00", time.Hour, "2026-03-08T03:00:00-04:00"},
		{"2026-11-01T01:00:00-04:00", 3 * time.Hour, "2026-11-01T03:00:00-05:00"},
	})
	inHours := map[string]bool{
		"2026-03-08T01:59:00-05:00": true,
		"2026-03-08T03:00:00-04:00": false,
		"2026-11-01T01:30:00-04:00": true,
		"2026-11-01T01:30:00-05:00": true, // the second 01:30
		"2026-11-01T02:59:00-05:00": true,
		"2026-11-01T03:00:00-05:00": false,
	}
	for s, want := range inHours {
		if got := c.InHours(ts(t, s)); got != want {
			t.Errorf("InHours(%s) = %v; want %v", s, got, want)
		}
	}
	if got, want := c.NextOpen(ts(t, "2026-03-08T00:00:00-05:00")), ts(t, "2026-03-08T01:00:00-05:00"); !got.Equal(want) {
		t.Errorf("NextOpen = %s; want %s", got, want)
	}
}

// TestDSTGapRule: a local time skipped by the gap means the end of the gap.
func TestDSTGapRule(t *testing.T) {
	c := build(t, "America/New_York", []string{"mon-sun 02:30-05:00"})
	checkBetween(t, c, []betweenCase{
		{"2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00", 2*time.Hour + 30*time.Minute},
		{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 2 * time.Hour}, // 03:00-05:00 EDT
	})
	if got, want := c.NextOpen(ts(t, "2026-03-08T00:00:00-05:00")), ts(t, "2026-03-08T03:00:00-04:00"); !got.Equal(want) {
		t.Errorf("NextOpen = %s; want %s", got, want)
	}
	checkAdd(t, c, []addCase{{"2026-03-08T00:00:00-05:00", time.Hour, "2026-03-08T04:00:00-04:00"}})

	// An interval wholly inside the gap is empty that day.
	empty := build(t, "America/New_York", []string{"sun 02:00-02:45", "mon 09:00-10:00"})
	checkBetween(t, empty, []betweenCase{
		{"2026-03-01T00:00:00-05:00", "2026-03-02T00:00:00-05:00", 45 * time.Minute},
		{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 0},
	})
	checkAdd(t, empty, []addCase{{"2026-03-08T00:00:00-05:00", time.Minute, "2026-03-09T09:01:00-04:00"}})
}

// TestDSTAmbiguityRule: a local time that occurs twice means the first.
func TestDSTAmbiguityRule(t *testing.T) {
	c := build(t, "America/New_York", []string{"mon-sun 01:30-02:00"})
	checkBetween(t, c, []betweenCase{
		{"2026-10-31T00:00:00-04:00", "2026-11-01T00:00:00-04:00", 30 * time.Minute},
		{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 90 * time.Minute}, // 01:30 EDT to 02:00 EST
	})
	if got, want := c.NextOpen(ts(t, "2026-11-01T00:00:00-04:00")), ts(t, "2026-11-01T01:30:00-04:00"); !got.Equal(want) {
		t.Errorf("NextOpen = %s; want %s", got, want)
	}

	short := build(t, "America/New_York", []string{"mon-sun 01:00-01:30"})
	checkBetween(t, short, []betweenCase{
		{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 30 * time.Minute},
	})
	for s, want := range map[string]bool{
		"2026-11-01T01:15:00-04:00": true,
		"2026-11-01T01:15:00-05:00": false, // the second 01:15 is outside the first occurrence
	} {
		if got := short.InHours(ts(t, s)); got != want {
			t.Errorf("InHours(%s) = %v; want %v", s, got, want)
		}
	}
	checkAdd(t, short, []addCase{
		{"2026-11-01T01:15:00-05:00", time.Minute, "2026-11-02T01:01:00-05:00"},
	})
}

func TestDSTLondon(t *testing.T) {
	early := build(t, "Europe/London", []string{"mon-sun 00:00-04:00"})
	checkBetween(t, early, []betweenCase{
		{"2026-03-29T00:00:00Z", "2026-03-30T00:00:00+01:00", 3 * time.Hour},
		{"2026-10-25T00:00:00+01:00", "2026-10-26T00:00:00Z", 5 * time.Hour},
	})
	checkAdd(t, early, []addCase{
		{"2026-03-29T00:00:00Z", 3 * time.Hour, "2026-03-29T04:00:00+01:00"},
		{"2026-10-25T00:00:00+01:00", 5 * time.Hour, "2026-10-25T04:00:00Z"},
	})

	transition := build(t, "Europe/London", []string{"mon-sun 01:00-03:00"})
	checkBetween(t, transition, []betweenCase{
		{"2026-03-29T00:00:00Z", "2026-03-30T00:00:00+01:00", time.Hour},     // 01:00 does not exist: 02:00-03:00 BST
		{"2026-10-25T00:00:00+01:00", "2026-10-26T00:00:00Z", 3 * time.Hour}, // 01:00 BST to 03:00 GMT
	})
	for from, want := range map[string]string{
		"2026-03-29T00:00:00Z":      "2026-03-29T02:00:00+01:00",
		"2026-10-25T00:30:00+01:00": "2026-10-25T01:00:00+01:00",
		"2026-10-25T01:30:00Z":      "2026-10-25T01:30:00Z", // the second 01:30 is inside
	} {
		if got := transition.NextOpen(ts(t, from)); !got.Equal(ts(t, want)) {
			t.Errorf("NextOpen(%s) = %s; want %s", from, got.Format(time.RFC3339), want)
		}
	}

	office := build(t, "Europe/London", []string{"mon-fri 09:00-17:00"})
	checkAdd(t, office, []addCase{
		{"2026-03-27T13:00:00Z", 8 * time.Hour, "2026-03-30T13:00:00+01:00"},
		{"2026-10-23T13:00:00+01:00", 8 * time.Hour, "2026-10-26T13:00:00Z"},
	})
	checkBetween(t, office, []betweenCase{
		{"2026-03-27T00:00:00Z", "2026-03-31T00:00:00+01:00", 16 * time.Hour},
		{"2026-10-23T00:00:00+01:00", "2026-10-27T00:00:00Z", 16 * time.Hour},
	})
}

// Ordinary hours on the transition days themselves stay 8h.
func TestDSTOrdinaryDays(t *testing.T) {
	ny := build(t, "America/New_York", []string{"mon-sun 09:00-17:00"})
	checkBetween(t, ny, []betweenCase{
		{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 8 * time.Hour},
		{"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 8 * time.Hour},
	})
	checkAdd(t, ny, []addCase{
		{"2026-03-07T13:00:00-05:00", 8 * time.Hour, "2026-03-08T13:00:00-04:00"},
		{"2026-10-31T13:00:00-04:00", 8 * time.Hour, "2026-11-01T13:00:00-05:00"},
	})
	london := build(t, "Europe/London", []string{"mon-sun 09:00-17:00"})
	checkBetween(t, london, []betweenCase{
		{"2026-03-29T00:00:00Z", "2026-03-30T00:00:00+01:00", 8 * time.Hour},
		{"2026-10-25T00:00:00+01:00", "2026-10-26T00:00:00Z", 8 * time.Hour},
	})
}

// Havana springs forward at midnight (2026-03-08 00:00 CST -> 01:00 CDT), so
// the day's first local time is in the gap.
func TestDSTMidnightGap(t *testing.T) {
	c := build(t, "America/Havana", []string{"mon-sun 00:00-04:00"})
	loc := c.Location
	if _, off := time.Date(2026, 3, 7, 23, 0, 0, 0, loc).Zone(); off != -5*3600 {
		t.Skipf("tzdata changed: offset %d before the transition", off)
	}
	if _, off := ts(t, "2026-03-08T05:00:00Z").In(loc).Zone(); off != -4*3600 {
		t.Skipf("tzdata changed: offset %d after the transition", off)
	}
	checkBetween(t, c, []betweenCase{
		{"2026-03-07T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 7 * time.Hour},
	})
	checkAdd(t, c, []addCase{
		{"2026-03-07T03:00:00-05:00", 2 * time.Hour, "2026-03-08T02:00:00-04:00"}, // 1h Saturday, day starts 01:00 CDT
	})
	if !c.InHours(ts(t, "2026-03-08T05:00:00Z")) {
		t.Error("01:00 CDT not in hours")
	}
}

func TestAcrossMidnight(t *testing.T) {
	c := build(t, "Asia/Kolkata", []string{"mon-fri 22:00-24:00", "tue-sat 00:00-02:00"})
	checkAdd(t, c, []addCase{
		{"2026-03-02T23:00:00+05:30", 2 * time.Hour, "2026-03-03T01:00:00+05:30"},
		{"2026-03-02T22:00:00+05:30", 2 * time.Hour, "2026-03-03T00:00:00+05:30"},
		{"2026-03-06T22:00:00+05:30", 5 * time.Hour, "2026-03-09T23:00:00+05:30"}, // Fri night into Sat, then Monday
	})
	if !c.InHours(ts(t, "2026-03-03T00:00:00+05:30")) {
		t.Error("midnight Tuesday not in hours")
	}
}

func TestLongRanges(t *testing.T) {
	always := build(t, "UTC", []string{"mon-sun 00:00-24:00"})
	checkBetween(t, always, []betweenCase{
		{"2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z", 3652 * 24 * time.Hour}, // two leap days
	})
	if got := always.Between(ts(t, "0001-01-01T00:00:00Z"), ts(t, "9999-12-31T00:00:00Z")); got != time.Duration(1<<63-1) {
		t.Errorf("Between over 9999 years = %v; want saturation", got)
	}
	// Years of New York office hours with holidays, from before 1883 when
	// the city kept local mean time: checked against three-day steps.
	c := usBusiness(t)
	a, b := ts(t, "1850-01-01T00:00:00Z"), ts(t, "2030-06-01T00:00:00Z")
	var sum time.Duration
	for x := a; x.Before(b); {
		y := x.Add(72 * time.Hour)
		if y.After(b) {
			y = b
		}
		sum += c.Between(x, y)
		x = y
	}
	if got := c.Between(a, b); got != sum {
		t.Errorf("Between over 180 years = %v; sum of 3-day steps = %v", got, sum)
	}
}

func TestEmptyCalendar(t *testing.T) {
	c := &Calendar{Name: "literal"}
	if c.InHours(time.Now()) || c.Between(time.Unix(0, 0), time.Now()) != 0 {
		t.Error("working time in a calendar without hours")
	}
	if got := c.Add(time.Unix(0, 0), 0); !got.Equal(time.Unix(0, 0)) {
		t.Error("Add(t, 0) moved")
	}
	for name, f := range map[string]func(){
		"Add":      func() { c.Add(time.Now(), time.Hour) },
		"NextOpen": func() { c.NextOpen(time.Now()) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "no working hours") {
					t.Errorf("%s: recovered %v; want a no-working-hours panic", name, r)
				}
			}()
			f()
		}()
	}
}

func TestLiteralCalendarDefaultsToUTC(t *testing.T) {
	var hours [7][]Interval
	hours[time.Monday] = []Interval{{540, 1020}}
	c := &Calendar{Hours: hours}
	checkAdd(t, c, []addCase{{"2026-03-02T08:00:00Z", time.Hour, "2026-03-02T10:00:00Z"}})
}

// Sitka moved across the date line in 1867: at 1867-10-19 00:31:13Z the
// clocks went from 1867-10-19 15:30 (+14:58:47) back to 1867-10-18 15:30
// (-09:01:13), so a whole day of local times occurred twice. By the
// first-occurrence rule Oct 19's 09:00-17:00 starts on the first pass and
// lasts 32h, and it is running while the clock shows Oct 18 for the second
// time.
func TestDateLineJump(t *testing.T) {
	c := build(t, "America/Sitka", []string{"mon-sun 09:00-17:00"})
	checkBetween(t, c, []betweenCase{
		{"1867-10-17T18:01:13Z", "1867-10-20T02:01:13Z", 40 * time.Hour}, // Oct 18 (8h) and Oct 19 (32h)
		{"1867-10-18T18:01:13Z", "1867-10-19T05:01:13Z", 11 * time.Hour}, // ends on the second Oct 18, 20:00
	})
	if !c.InHours(ts(t, "1867-10-19T05:01:13Z")) {
		t.Error("second Oct 18, 20:00 is not in hours")
	}
	checkAdd(t, c, []addCase{
		{"1867-10-18T10:00:00Z", 2 * time.Hour, "1867-10-18T20:01:13Z"}, // between spans: from Oct 19, 09:00, first pass
	})
}

func TestConcurrentUse(t *testing.T) {
	c := usBusiness(t)
	from := ts(t, "2026-03-02T09:00:00-05:00")
	want := c.Add(from, 2000*time.Hour)
	done := make(chan time.Time)
	for range 8 {
		go func() {
			var got time.Time
			for range 50 {
				got = c.Add(from, 2000*time.Hour)
				c.Between(from, got)
				c.InHours(got)
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; !got.Equal(want) {
			t.Errorf("concurrent Add = %s; want %s", got, want)
		}
	}
}
