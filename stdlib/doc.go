// Package stdlib is Lead's standard library: the functions Lead adds to CEL
// expressions (the language reference §6) and the embedded std.* modules (§14). Business
// calendars live in the calendar subpackage.
//
// Library adds, over an environment that declares `now` as a timestamp:
//
//	domain(email) string                         lower-cased part after the last '@', "" without one
//	is_free_email(email) bool                    the domain is a consumer mailbox provider
//	region_of(country_code) string               ISO 3166-1 alpha-2 -> "na", "emea", "apac", "latam" or ""
//	days_since(ts) int                           whole days from ts to now
//	hours_since(ts) int                          whole hours from ts to now
//	business_hours_between(calendar, a, b) duration  working time in [a, b) on a calendar
//	in_business_hours(calendar, ts) bool         ts falls in the calendar's working hours
//
// days_since and hours_since round down (toward the past), so they are
// negative for a ts in the future: one hour ahead of now is day -1 and hour
// -1. This keeps `days_since(ts) >= n` equivalent to "at least n*24h have
// passed" for every n. A function binding cannot read the activation, so both
// are macros that pass `now` explicitly: days_since(x) expands to
// @lead_days_since(x, now). Names starting with '@' cannot be written in
// CEL source, so the hidden functions never collide with user-visible names;
// an argument of the wrong type is reported against the hidden name.
//
// business_hours_between is 0 when b is not after a. Both calendar functions
// find calendars through a Resolver at run time; an unknown calendar name
// yields a CEL error value, never a panic.
//
// region_of follows the UN M49 geoscheme: "na" is Northern America (US, CA,
// BM, GL, PM) plus the US territories (PR, VI, GU, AS, MP, UM), which are
// sold as part of the US market; "latam" is the rest of Latin America and the
// Caribbean; "emea" is Europe, Africa, Western Asia and Iran; "apac" is the
// rest of Asia (Central, Southern, Eastern and South-eastern) and Oceania,
// and Antarctica (AQ), which has no M49 region.
package stdlib
