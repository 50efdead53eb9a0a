// Package calendar implements business calendars: working hours per weekday
// in one time zone, minus whole-day holidays, plus dated workdays (the language reference §5). The runtime
// uses them to measure durations written `within 4h on us_business`, which
// count only working time.
//
// Working hours are local wall-clock times. An interval's real length is the
// time elapsed between the instants at which the local clock shows its start
// and its end, so 00:00-04:00 lasts 3h on a spring-forward day and 5h on a
// fall-back day, while 09:00-17:00 stays 8h on both. Two rules turn a local
// time into an instant:
//
//   - a local time that does not exist (it falls in a daylight-saving gap)
//     means the instant just after the gap, the moment of the transition:
//     02:30 on 2026-03-08 in New York is 03:00 EDT;
//   - a local time that occurs twice (clocks went back) means its first
//     occurrence: 01:30 on 2026-11-01 in New York is 01:30 EDT.
//
// Holidays remove whole local days; workdays (make-up Saturdays) give a
// local day hours of its own, in place of its weekday's. Results keep the location of the time
// passed in; durations are exact to the nanosecond, with no rounding.
//
// Add, Between, InHours and NextOpen walk the calendar at most one day at a
// time, and skip whole weeks at once where no holiday, no workday and no
// zone transition falls, so they stay cheap for durations of months or
// years.
package calendar
