package calendar

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// propertyCalendars are checked against a minute-by-minute oracle, so none
// of their intervals starts or ends inside a repeated (fall-back) hour: there
// the first-occurrence rule and "every instant whose clock reads a working
// time" differ by design.
func propertyCalendars(t testing.TB) map[string]*Calendar {
	return map[string]*Calendar{
		"us_business": usBusiness(t),
		"berlin_lunch": build(t, "Europe/Berlin", []string{"mon-fri 09:00-12:00 13:00-17:00"},
			"2026-04-03", "2026-04-06", "2026-12-25", "2027-03-26"),
		"london_early":  build(t, "Europe/London", []string{"mon-sun 00:00-04:00"}),
		"london_1to3":   build(t, "Europe/London", []string{"mon-sun 01:00-03:00"}, "2026-10-25"),
		"ny_1to3":       build(t, "America/New_York", []string{"mon-sun 01:00-03:00"}),
		"ny_gap":        build(t, "America/New_York", []string{"mon-sun 02:30-05:00"}),
		"havana_early":  build(t, "America/Havana", []string{"mon-sun 00:00-04:00"}),
		"sydney_sat":    build(t, "Australia/Sydney", []string{"mon-fri 09:00-17:00", "sat 10:00-13:00"}, "2026-04-06", "2026-10-05"),
		"kolkata_night": build(t, "Asia/Kolkata", []string{"mon-fri 22:00-24:00", "tue-sat 00:00-02:00"}),
		"shanghai_makeup": withWorkdays(t, build(t, "Asia/Shanghai", []string{"mon-fri 09:00-18:00"}, "2026-02-16", "2026-02-17", "2026-02-18"),
			"2026-02-14 09:00-18:00", "2026-02-28 09:00-12:00 13:00-18:00", "2026-02-20 10:00-12:00", "2027-01-09 09:00-17:00"),
	}
}

// withWorkdays rebuilds c with workdays written "YYYY-MM-DD HH:MM-HH:MM...".
func withWorkdays(t testing.TB, c *Calendar, days ...string) *Calendar {
	t.Helper()
	var wds []Workday
	for _, s := range days {
		f := strings.Fields(s)
		d, ok := ParseDate(f[0])
		if !ok {
			t.Fatalf("bad date %q", f[0])
		}
		wd := Workday{Date: d}
		for _, r := range f[1:] {
			a, b, _ := strings.Cut(r, "-")
			sm, ok1 := ParseClock(a)
			em, ok2 := ParseClock(b)
			if !ok1 || !ok2 {
				t.Fatalf("bad interval %q", r)
			}
			wd.Hours = append(wd.Hours, Interval{sm, em})
		}
		wds = append(wds, wd)
	}
	var hs []Date
	for d := range c.Holidays {
		hs = append(hs, d)
	}
	out, err := New(c.Name, c.Location.String(), c.Hours, hs, wds...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// oracleWorking reports whether the minute starting at x is working time:
// its local clock reading lies in an interval of its local weekday (its
// own, on a workday), on a day that is not a holiday.
func oracleWorking(c *Calendar, x time.Time) bool {
	l := x.In(c.Location)
	date := Date{l.Year(), l.Month(), l.Day()}
	if c.Holidays[date] {
		return false
	}
	m := l.Hour()*60 + l.Minute()
	ivs := c.Hours[l.Weekday()]
	if wd, ok := c.Workdays[date]; ok {
		ivs = wd
	}
	for _, iv := range ivs {
		if iv.Start <= m && m < iv.End {
			return true
		}
	}
	return false
}

var (
	propFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	propTo   = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
)

// transitions lists the instants at which loc changes offset in 2026-2027.
func transitions(loc *time.Location) []time.Time {
	var out []time.Time
	for x := propFrom; x.Before(propTo); {
		_, end := x.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(propTo) {
			break
		}
		out = append(out, end)
		x = end
	}
	return out
}

// randomMinute returns a whole minute in 2026-2027, half the time within
// four days of one of loc's transitions.
func randomMinute(r *rand.Rand, loc *time.Location) time.Time {
	if tr := transitions(loc); len(tr) > 0 && r.IntN(2) == 0 {
		base := tr[r.IntN(len(tr))]
		return base.Add(time.Duration(r.IntN(8*24*60)-4*24*60) * time.Minute).Truncate(time.Minute)
	}
	return propFrom.Add(time.Duration(r.Int64N(int64(propTo.Sub(propFrom)/time.Minute))) * time.Minute)
}

func TestOracle(t *testing.T) {
	samples := 60
	if testing.Short() {
		samples = 10
	}
	for name, c := range propertyCalendars(t) {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			for range samples {
				a := randomMinute(r, c.Location)
				b := a.Add(time.Duration(r.IntN(6*24*60)) * time.Minute)
				var want time.Duration
				for x := a; x.Before(b); x = x.Add(time.Minute) {
					if oracleWorking(c, x) {
						want += time.Minute
					}
				}
				if got := c.Between(a, b); got != want {
					t.Errorf("Between(%s, %s) = %v; oracle %v", a, b, got, want)
				}
			}
			for range samples {
				from := randomMinute(r, c.Location)
				d := time.Duration(1+r.IntN(40*60)) * time.Minute
				var want time.Time
				left := d
				for x := from; ; x = x.Add(time.Minute) {
					if oracleWorking(c, x) {
						if left -= time.Minute; left == 0 {
							want = x.Add(time.Minute)
							break
						}
					}
				}
				if got := c.Add(from, d); !got.Equal(want) {
					t.Errorf("Add(%s, %v) = %s; oracle %s", from, d, got, want)
				}
			}
			for range samples {
				at := randomMinute(r, c.Location).Add(time.Duration(r.IntN(60)) * time.Second)
				if got, want := c.InHours(at), oracleWorking(c, at); got != want {
					t.Errorf("InHours(%s) = %v; oracle %v", at, got, want)
				}
				want := at
				for !oracleWorking(c, want) {
					want = want.Truncate(time.Minute).Add(time.Minute)
				}
				if got := c.NextOpen(at); !got.Equal(want) {
					t.Errorf("NextOpen(%s) = %s; oracle %s", at, got, want)
				}
			}
		})
	}
}

// TestBetweenInvertsAdd: for d > 0, Between(t, Add(t, d)) == d, from any
// instant, to the nanosecond.
func TestBetweenInvertsAdd(t *testing.T) {
	for name, c := range propertyCalendars(t) {
		r := rand.New(rand.NewPCG(2, uint64(len(name))))
		for range 400 {
			from := randomMinute(r, c.Location).Add(time.Duration(r.Int64N(int64(time.Minute))))
			d := time.Duration(1 + r.Int64N(int64(3000*time.Hour)))
			if r.IntN(4) == 0 {
				d = time.Duration(1+r.IntN(48)) * time.Hour // whole hours hit interval ends
			}
			end := c.Add(from, d)
			if got := c.Between(from, end); got != d {
				t.Errorf("%s: Between(%s, Add(_, %v) = %s) = %v", name, from, d, end, got)
			}
		}
	}
}

// TestChunks checks the week-skipping paths against day-by-day walks: one
// long Add equals a chain of Adds shorter than a week's working time, and a
// long Between equals the sum of Betweens over spans shorter than a week.
func TestChunks(t *testing.T) {
	for name, c := range propertyCalendars(t) {
		weekly := c.walker().weekly
		r := rand.New(rand.NewPCG(3, uint64(len(name))))
		for range 30 {
			from := randomMinute(r, c.Location).Add(time.Duration(r.Int64N(int64(time.Minute))))
			total := time.Duration(1 + r.Int64N(int64(5000*time.Hour)))
			chained := from
			for left := total; left > 0; {
				step := min(left, time.Duration(1+r.Int64N(int64(weekly-1))))
				chained = c.Add(chained, step)
				left -= step
			}
			if got := c.Add(from, total); !got.Equal(chained) {
				t.Errorf("%s: Add(%s, %v) = %s; chained %s", name, from, total, got, chained)
			}

			b := from.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
			var sum time.Duration
			for x := from; x.Before(b); {
				y := x.Add(time.Duration(1 + r.Int64N(int64(6*24*time.Hour))))
				if y.After(b) {
					y = b
				}
				sum += c.Between(x, y)
				x = y
			}
			if got := c.Between(from, b); got != sum {
				t.Errorf("%s: Between(%s, %s) = %v; sum of steps %v", name, from, b, got, sum)
			}
		}
	}
}
