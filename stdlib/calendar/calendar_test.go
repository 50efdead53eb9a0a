package calendar

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	valid := map[string]int{
		"00:00": 0,
		"00:01": 1,
		"09:00": 540,
		"12:30": 750,
		"17:30": 1050,
		"23:59": 1439,
		"24:00": 1440,
	}
	for s, want := range valid {
		got, ok := ParseClock(s)
		if !ok || got != want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d, true", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"", "9:00", "09:0", "900", "0900", "09-00", "09:00 ", " 09:00", "+9:00",
		"24:01", "24:30", "25:00", "99:00", "12:60", "ab:cd", "0x:00", "١٢:٠٠",
	} {
		if got, ok := ParseClock(s); ok {
			t.Errorf("ParseClock(%q) = %d, true; want false", s, got)
		}
	}
}

func TestParseWeekday(t *testing.T) {
	want := map[string]time.Weekday{
		"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
		"sun": time.Sunday,
	}
	for s, w := range want {
		if got, ok := ParseWeekday(s); !ok || got != w {
			t.Errorf("ParseWeekday(%q) = %v, %v; want %v, true", s, got, ok, w)
		}
	}
	for _, s := range []string{"", "Mon", "MON", "monday", "mo", "mon ", "lun"} {
		if _, ok := ParseWeekday(s); ok {
			t.Errorf("ParseWeekday(%q) ok; want false", s)
		}
	}
}

func TestParseDate(t *testing.T) {
	valid := map[string]Date{
		"2026-11-26": {2026, time.November, 26},
		"2028-02-29": {2028, time.February, 29},
		"2000-02-29": {2000, time.February, 29},
		"2026-12-31": {2026, time.December, 31},
	}
	for s, want := range valid {
		got, ok := ParseDate(s)
		if !ok || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, true", s, got, ok, want)
		}
		if got.String() != s {
			t.Errorf("%v.String() = %q; want %q", got, got.String(), s)
		}
	}
	for _, s := range []string{
		"", "2027-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31",
		"2026-01-00", "2026-1-01", "2026/01/01", "26-01-01", "2026-01-01T00:00:00Z", "２０２６-01-01",
	} {
		if got, ok := ParseDate(s); ok {
			t.Errorf("ParseDate(%q) = %v, true; want false", s, got)
		}
	}
}

func TestIntervalString(t *testing.T) {
	for iv, want := range map[Interval]string{
		{540, 1020}: "09:00-17:00",
		{0, 1440}:   "00:00-24:00",
		{510, 1050}: "08:30-17:30",
	} {
		if got := iv.String(); got != want {
			t.Errorf("%#v.String() = %q; want %q", iv, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	weekdays := func(iv ...Interval) (h [7][]Interval) {
		for d := time.Monday; d <= time.Friday; d++ {
			h[d] = iv
		}
		return h
	}
	nineToFive := weekdays(Interval{540, 1020})
	tests := []struct {
		name     string
		calName  string
		tz       string
		hours    [7][]Interval
		holidays []Date
		want     []string // substrings of the error
	}{
		{"unknown zone", "us", "America/New_Yrok", nineToFive, nil,
			[]string{"calendar us", `unknown time zone "America/New_Yrok"`}},
		{"empty zone", "us", "", nineToFive, nil, []string{"no time zone"}},
		{"machine zone", "us", "Local", nineToFive, nil, []string{`"Local"`}},
		{"inverted", "uk", "Europe/London", weekdays(Interval{1020, 540}), nil,
			[]string{"calendar uk", "hours mon 17:00-09:00", "end must be after the start"}},
		{"empty interval", "uk", "Europe/London", weekdays(Interval{540, 540}), nil,
			[]string{"hours mon 09:00-09:00", "end must be after the start"}},
		{"past midnight", "uk", "Europe/London", weekdays(Interval{540, 1441}), nil,
			[]string{"out of range", "00:00 to 24:00"}},
		{"negative", "uk", "Europe/London", weekdays(Interval{-1, 60}), nil,
			[]string{"out of range"}},
		{"no hours", "empty", "UTC", [7][]Interval{}, nil,
			[]string{"calendar empty", "no working hours"}},
		{"only holidays", "empty", "UTC", [7][]Interval{}, []Date{{2026, 1, 1}},
			[]string{"no working hours"}},
		{"bad holiday", "us", "America/New_York", nineToFive, []Date{{2026, 1, 1}, {2027, 2, 29}},
			[]string{"calendar us", "holiday 2027-02-29 is not a real date"}},
		{"unnamed", "", "Mars/Olympus", nineToFive, nil,
			[]string{"calendar: unknown time zone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.calName, tt.tz, tt.hours, tt.holidays)
			if err == nil {
				t.Fatalf("New succeeded: %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNewNormalises(t *testing.T) {
	var hours [7][]Interval
	hours[time.Monday] = []Interval{{780, 1020}, {540, 720}, {660, 840}} // 13-17, 09-12, 11-14
	hours[time.Tuesday] = []Interval{{540, 600}, {600, 660}}             // touching
	hours[time.Wednesday] = []Interval{{540, 600}, {630, 660}}           // a gap stays
	hours[time.Thursday] = []Interval{{540, 1020}, {600, 660}}           // contained
	hours[time.Saturday] = []Interval{{0, 1440}}
	monday := slices.Clone(hours[time.Monday])
	c, err := New("n", "UTC", hours, []Date{{2026, 12, 25}, {2026, 12, 25}})
	if err != nil {
		t.Fatal(err)
	}
	want := [7][]Interval{
		time.Monday:    {{540, 1020}},
		time.Tuesday:   {{540, 660}},
		time.Wednesday: {{540, 600}, {630, 660}},
		time.Thursday:  {{540, 1020}},
		time.Saturday:  {{0, 1440}},
	}
	for d := range 7 {
		if !slices.Equal(c.Hours[d], want[d]) {
			t.Errorf("%v: hours %v; want %v", time.Weekday(d), c.Hours[d], want[d])
		}
	}
	if !slices.Equal(hours[time.Monday], monday) {
		t.Errorf("New changed its argument: %v", hours[time.Monday])
	}
	if len(c.Holidays) != 1 || !c.Holidays[Date{2026, 12, 25}] {
		t.Errorf("holidays %v", c.Holidays)
	}
	if c.Name != "n" || c.Location.String() != "UTC" {
		t.Errorf("name %q, location %v", c.Name, c.Location)
	}
}

func TestDayLength(t *testing.T) {
	nine := []Interval{{9 * 60, 17 * 60}}
	split := []Interval{{9 * 60, 12 * 60}, {13 * 60, 17 * 60}}
	for _, tc := range []struct {
		name    string
		hours   [7][]Interval
		want    time.Duration
		uniform bool
	}{
		{"mon-fri 9-17", [7][]Interval{1: nine, 2: nine, 3: nine, 4: nine, 5: nine}, 8 * time.Hour, true},
		{"a lunch break", [7][]Interval{1: split, 2: split}, 7 * time.Hour, true},
		{"a short friday", [7][]Interval{1: nine, 5: {{9 * 60, 13 * 60}}}, 8 * time.Hour, false},
		{"around the clock", [7][]Interval{0: {{0, MinutesPerDay}}, 3: {{0, MinutesPerDay}}}, 24 * time.Hour, true},
	} {
		c, err := New(tc.name, "UTC", tc.hours, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, uniform := c.DayLength()
		if got != tc.want || uniform != tc.uniform {
			t.Errorf("%s: DayLength() = %v, %v; want %v, %v", tc.name, got, uniform, tc.want, tc.uniform)
		}
	}
}

// TestWorkdays: a workday gives its date hours of its own (a make-up
// Saturday works, a short Friday closes early); New rejects a workday that
// is also a holiday, given twice, without hours or with bad ones.
func TestWorkdays(t *testing.T) {
	c := withWorkdays(t, usBusiness(t), "2026-03-07 09:00-17:00", "2026-03-13 09:00-12:00")
	checkAdd(t, c, []addCase{
		// Friday 16:00 + 2h: one hour Friday, one on the make-up Saturday
		{"2026-03-06T16:00:00-05:00", 2 * time.Hour, "2026-03-07T10:00:00-05:00"},
		// Saturday before it opens
		{"2026-03-07T07:00:00-05:00", 8 * time.Hour, "2026-03-07T17:00:00-05:00"},
		// the short Friday closes at noon; the next Saturday is a weekend day
		{"2026-03-13T11:00:00-04:00", 2 * time.Hour, "2026-03-16T10:00:00-04:00"},
		// the make-up Saturday is the sixth working day of the week
		{"2026-03-02T09:00:00-05:00", 48 * time.Hour, "2026-03-07T17:00:00-05:00"},
		// more than a week: the whole-week skip stops at the workdays
		{"2026-02-23T09:00:00-05:00", 96 * time.Hour, "2026-03-09T17:00:00-04:00"},
	})
	// two weeks: 9 days of 8h, the Saturday's 8h and the Friday's 3h
	if got := c.Between(ts(t, "2026-03-02T00:00:00-05:00"), ts(t, "2026-03-16T00:00:00-04:00")); got != 83*time.Hour {
		t.Errorf("Between over the two weeks = %v; want 83h", got)
	}
	if !c.InHours(ts(t, "2026-03-07T12:00:00-05:00")) || c.InHours(ts(t, "2026-03-13T13:00:00-04:00")) {
		t.Error("InHours ignores the workdays")
	}
	if got := c.NextOpen(ts(t, "2026-03-06T18:00:00-05:00")); !got.Equal(ts(t, "2026-03-07T09:00:00-05:00")) {
		t.Errorf("NextOpen after Friday = %s; want the make-up Saturday", got)
	}
	var hours [7][]Interval
	hours[time.Monday] = []Interval{{540, 1020}}
	sat := Date{2026, 3, 7}
	for _, tt := range []struct {
		holidays []Date
		workdays []Workday
		want     string
	}{
		{[]Date{sat}, []Workday{{sat, []Interval{{540, 600}}}}, "calendar n: 2026-03-07 is both a holiday and a workday"},
		{nil, []Workday{{sat, []Interval{{540, 600}}}, {sat, []Interval{{600, 700}}}}, "calendar n: workday 2026-03-07 is given twice"},
		{nil, []Workday{{sat, nil}}, "calendar n: workday 2026-03-07 has no hours"},
		{nil, []Workday{{sat, []Interval{{600, 540}}}}, "calendar n: workday 2026-03-07: hours 10:00-09:00 are not a range within 00:00-24:00"},
		{nil, []Workday{{Date{2027, 2, 29}, []Interval{{540, 600}}}}, "calendar n: workday 2027-02-29 is not a real date"},
	} {
		_, err := New("n", "UTC", hours, tt.holidays, tt.workdays...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("New: %v; want %s", err, tt.want)
		}
	}
}
