package ir

import (
	"fmt"
	"time"

	"github.com/leadlang/lead/stdlib/calendar"
)

// Build turns the calendar into a working-time calculator. The compiler has
// validated it, so an error here means the IR was edited by hand.
func (c Calendar) Build() (*calendar.Calendar, error) {
	var hours [7][]calendar.Interval
	for _, h := range c.Hours {
		start, ok1 := calendar.ParseClock(h.Start)
		end, ok2 := calendar.ParseClock(h.End)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("calendar %s: bad hours %s-%s", c.Name, h.Start, h.End)
		}
		for _, d := range h.Days {
			if d < 0 || d > 6 {
				return nil, fmt.Errorf("calendar %s: bad weekday %d", c.Name, d)
			}
			hours[time.Weekday(d)] = append(hours[time.Weekday(d)], calendar.Interval{Start: start, End: end})
		}
	}
	var holidays []calendar.Date
	for _, s := range c.Holidays {
		d, ok := calendar.ParseDate(s)
		if !ok {
			return nil, fmt.Errorf("calendar %s: bad holiday %q", c.Name, s)
		}
		holidays = append(holidays, d)
	}
	var workdays []calendar.Workday
	for _, w := range c.Workdays {
		d, ok := calendar.ParseDate(w.Date)
		if !ok {
			return nil, fmt.Errorf("calendar %s: bad workday %q", c.Name, w.Date)
		}
		wd := calendar.Workday{Date: d}
		for _, r := range w.Hours {
			start, ok1 := calendar.ParseClock(r.Start)
			end, ok2 := calendar.ParseClock(r.End)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("calendar %s: bad hours %s-%s on %s", c.Name, r.Start, r.End, w.Date)
			}
			wd.Hours = append(wd.Hours, calendar.Interval{Start: start, End: end})
		}
		workdays = append(workdays, wd)
	}
	return calendar.New(c.Name, c.Timezone, hours, holidays, workdays...)
}
