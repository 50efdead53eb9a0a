package calendar

import (
	"math"
	"slices"
	"time"
)

const (
	secondsPerDay  = 24 * 60 * 60
	secondsPerWeek = 7 * secondsPerDay
	// zoneMargin exceeds any change of UTC offset in the time zone database
	// (the largest, Samoa's at the end of 2011, is 24h). An instant more than
	// zoneMargin inside a period of constant offset is the only instant with
	// its local wall-clock reading, so it needs no gap or overlap handling.
	zoneMargin = 2 * secondsPerDay
)

// Add returns the instant at which d of working time has elapsed, counting
// from t. Starting outside working hours, time counts from the next opening.
// When the time runs out exactly at the end of an interval, Add returns that
// end (Monday 09:00 + 8h on 09:00-17:00 is Monday 17:00). Add(t, d) is t
// itself when d <= 0, even outside working hours. The result has t's
// location.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	w := c.walker()
	w.mustWork()
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	remaining := d
	for day := w.localDay(t) - 1; ; day++ {
		// Whole weeks after t can be skipped while at least a week remains;
		// stopping strictly short of remaining keeps the end-of-interval
		// rule for the final stretch.
		if remaining > w.weekly && notBefore(w.dayStart(day), sec, nsec) {
			if n := w.clearWeeks(day, int64((remaining-1)/w.weekly)); n > 0 {
				remaining -= time.Duration(n) * w.weekly
				day += 7*n - 1
				continue
			}
		}
		for _, s := range w.daySpans(day) {
			if s.end <= sec {
				continue
			}
			from, fromNsec := s.start, int64(0)
			if s.start <= sec {
				from, fromNsec = sec, nsec
			}
			avail := time.Duration(s.end-from)*time.Second - time.Duration(fromNsec)
			if remaining <= avail {
				return time.Unix(from, fromNsec+int64(remaining)).In(t.Location())
			}
			remaining -= avail
		}
	}
}

// Between returns the working time in [a, b), or 0 if b is not after a. It
// saturates at the largest time.Duration (about 292 years).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !a.Before(b) {
		return 0
	}
	w := c.walker()
	if w.weekly <= 0 {
		return 0
	}
	as, an := a.Unix(), int64(a.Nanosecond())
	bs, bn := b.Unix(), int64(b.Nanosecond())
	lastFull := w.localDay(b) // days before it end no later than b
	var total time.Duration
	// One day past b's local day: where clocks go back across midnight, the
	// next day's first hour can occur before b.
	for day := w.localDay(a) - 1; day <= lastFull+1; day++ {
		if notBefore(w.dayStart(day), as, an) {
			if n := w.clearWeeks(day, (lastFull-day)/7); n > 0 {
				total = addSat(total, w.weekly, n)
				day += 7*n - 1
				continue
			}
		}
		for _, s := range w.daySpans(day) {
			loS, loN := s.start, int64(0)
			if s.start <= as {
				loS, loN = as, an
			}
			hiS, hiN := s.end, int64(0)
			if s.end > bs {
				hiS, hiN = bs, bn
			}
			if d := time.Duration(hiS-loS)*time.Second + time.Duration(hiN-loN); d > 0 {
				total = addSat(total, d, 1)
			}
		}
	}
	return total
}

// InHours reports whether t falls inside working hours.
func (c *Calendar) InHours(t time.Time) bool {
	w := c.walker()
	sec := t.Unix()
	day := w.localDay(t)
	for d := day - 1; d <= day+1; d++ {
		for _, s := range w.daySpans(d) {
			if s.start <= sec && sec < s.end {
				return true
			}
		}
	}
	return false
}

// NextOpen returns t itself if it falls inside working hours, else the start
// of the next working interval, in t's location.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	w := c.walker()
	w.mustWork()
	sec := t.Unix()
	for day := w.localDay(t) - 1; ; day++ {
		for _, s := range w.daySpans(day) {
			if s.end <= sec {
				continue
			}
			if s.start <= sec {
				return t
			}
			return time.Unix(s.start, 0).In(t.Location())
		}
	}
}

// notBefore reports whether the instant s (whole seconds) is at or after the
// instant sec + nsec.
func notBefore(s, sec, nsec int64) bool {
	return s > sec || (s == sec && nsec == 0)
}

// addSat returns total + n*d, saturating at the largest Duration; d and n
// are not negative.
func addSat(total, d time.Duration, n int64) time.Duration {
	if d != 0 && n > int64(math.MaxInt64-total)/int64(d) {
		return math.MaxInt64
	}
	return total + time.Duration(n)*d
}

// span is working time [start, end) in Unix seconds.
type span struct{ start, end int64 }

// zone is a period of constant UTC offset [start, end) in Unix seconds,
// unbounded ends being math.MinInt64 and math.MaxInt64.
type zone struct{ off, start, end int64 }

// safe reports whether t lies more than zoneMargin inside z.
func (z zone) safe(t int64) bool {
	return (z.start == math.MinInt64 || t-z.start >= zoneMargin) &&
		(z.end == math.MaxInt64 || z.end-t > zoneMargin)
}

// walker turns a calendar's local days, numbered from 1970-01-01, into spans
// of working time. It remembers the last zone period it saw, so most local
// times convert with one subtraction.
type walker struct {
	c        *Calendar
	loc      *time.Location
	weekly   time.Duration // working time in a week without holidays or transitions
	z        zone
	haveZone bool
	spans    []span
	// exceptions are the sorted days of holidays and workdays, built on
	// first use: the days whose hours are not their weekday's.
	exceptions []int64
}

func (c *Calendar) walker() *walker {
	w := &walker{c: c, loc: c.Location}
	if w.loc == nil {
		w.loc = time.UTC
	}
	for _, ivs := range c.Hours {
		for _, iv := range ivs {
			w.weekly += time.Duration(iv.End-iv.Start) * time.Minute
		}
	}
	return w
}

// mustWork panics for a calendar with no working hours, on which Add and
// NextOpen would never return. New rejects such calendars.
func (w *walker) mustWork() {
	if w.weekly <= 0 {
		panic("calendar " + w.c.Name + ": no working hours (build calendars with calendar.New)")
	}
}

// localDay returns the number of t's local date.
func (w *walker) localDay(t time.Time) int64 {
	y, m, d := t.In(w.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
}

// dayStart returns the instant of the local midnight that starts day.
func (w *walker) dayStart(day int64) int64 {
	return w.instant(day * secondsPerDay)
}

// daySpans returns day's working spans in order, in a buffer reused by the
// next call.
func (w *walker) daySpans(day int64) []span {
	w.spans = w.spans[:0]
	ivs := w.c.Hours[((day+4)%7+7)%7] // 1970-01-01 was a Thursday
	if len(w.c.Holidays) > 0 || len(w.c.Workdays) > 0 {
		date := dateOf(day)
		if w.c.Holidays[date] {
			return w.spans
		}
		if wd, ok := w.c.Workdays[date]; ok {
			ivs = wd
		}
	}
	if len(ivs) == 0 {
		return w.spans
	}
	midnight := day * secondsPerDay
	for _, iv := range ivs {
		s := w.instant(midnight + int64(iv.Start)*60)
		e := w.instant(midnight + int64(iv.End)*60)
		if s < e { // an interval inside a daylight-saving gap is empty
			w.spans = append(w.spans, span{s, e})
		}
	}
	return w.spans
}

// dateOf returns the date of a local day number.
func dateOf(day int64) Date {
	y, m, d := time.Unix(day*secondsPerDay, 0).UTC().Date()
	return Date{y, m, d}
}

// clearWeeks returns how many whole weeks, at most limit, starting at day's
// midnight hold no holiday, no workday and no change of UTC offset; each of
// them holds exactly w.weekly of working time.
func (w *walker) clearWeeks(day, limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	start := w.dayStart(day)
	if !w.z.safe(start) {
		return 0
	}
	n := limit
	if w.z.end != math.MaxInt64 {
		// The last local time used, midnight 7n days on, must stay safe.
		n = min(n, (w.z.end-zoneMargin-1-start)/secondsPerWeek)
	}
	if h, ok := w.nextException(day); ok {
		n = min(n, (h-day)/7)
	}
	return max(n, 0)
}

// nextException returns the first holiday or workday on or after day.
func (w *walker) nextException(day int64) (int64, bool) {
	if w.exceptions == nil {
		w.exceptions = make([]int64, 0, len(w.c.Holidays)+len(w.c.Workdays))
		add := func(d Date) {
			t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
			w.exceptions = append(w.exceptions, t.Unix()/secondsPerDay)
		}
		for d := range w.c.Holidays {
			add(d)
		}
		for d := range w.c.Workdays {
			add(d)
		}
		slices.Sort(w.exceptions)
	}
	i, _ := slices.BinarySearch(w.exceptions, day)
	if i == len(w.exceptions) {
		return 0, false
	}
	return w.exceptions[i], true
}

// instant returns the instant at which the local clock reads wall (seconds
// since 1970-01-01 00:00 of local time, as if it were UTC).
func (w *walker) instant(wall int64) int64 {
	if w.haveZone {
		if t := wall - w.z.off; w.z.safe(t) {
			return t
		}
	}
	t, z := resolve(w.loc, wall)
	w.z, w.haveZone = z, true
	return t
}

// resolve returns the instant at which the clock in loc reads wall, and the
// zone period holding it. A reading that occurs twice resolves to its first
// occurrence; one skipped by a gap resolves to the end of the gap.
func resolve(loc *time.Location, wall int64) (int64, zone) {
	_, off := time.Unix(wall, 0).In(loc).Zone()
	cur := zoneAt(loc, wall-int64(off))
	if t := wall - cur.off; cur.safe(t) {
		return t, cur
	}
	// Near a transition: look at the periods either side, earliest first.
	var buf [3]zone
	zs := buf[:0]
	if cur.start != math.MinInt64 {
		zs = append(zs, zoneAt(loc, cur.start-1))
	}
	zs = append(zs, cur)
	if cur.end != math.MaxInt64 {
		zs = append(zs, zoneAt(loc, cur.end))
	}
	for _, z := range zs {
		if t := wall - z.off; z.start <= t && t < z.end {
			return t, z
		}
	}
	for i := 1; i < len(zs); i++ {
		before, after := zs[i-1], zs[i]
		if wall >= after.start+before.off && wall < after.start+after.off {
			return after.start, after
		}
	}
	// Not reached with consistent zone data; keep the plain conversion.
	return wall - cur.off, cur
}

// zoneAt returns the zone period holding the instant sec.
func zoneAt(loc *time.Location, sec int64) zone {
	lt := time.Unix(sec, 0).In(loc)
	_, off := lt.Zone()
	z := zone{off: int64(off), start: math.MinInt64, end: math.MaxInt64}
	start, end := lt.ZoneBounds()
	if !start.IsZero() {
		z.start = start.Unix()
	}
	if !end.IsZero() {
		z.end = end.Unix()
	}
	return z
}
