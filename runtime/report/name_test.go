package report

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzName: a counter's name is its parts escaped by url.PathEscape and
// joined by "/" (the names already in stores were written so), and split
// gives the parts back.
func FuzzName(f *testing.F) {
	for _, s := range []string{"*", "region=emea", "a/b", "ann@example.com", "x y", "100%", "é", "2026-12-03", ""} {
		f.Add(s, "tail")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got := name("f", a, "*", b)
		want := strings.Join([]string{"f", url.PathEscape(a), url.PathEscape("*"), url.PathEscape(b)}, "/")
		if got != want {
			t.Fatalf("name(%q, %q) = %q, want %q", a, b, got, want)
		}
		if parts := split(got); !slices.Equal(parts, []string{"f", a, "*", b}) {
			t.Fatalf("split(%q) = %q", got, parts)
		}
	})
}

// TestRanges: the ranges a scan reads cover each day of the window
// exactly once, through its own name or its week's, and nothing outside
// it; weekly names only under an interval other than "day".
func TestRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 2000 {
		from := base.AddDate(0, 0, rng.IntN(60)).Add(time.Duration(rng.IntN(24)) * time.Hour)
		to := from.AddDate(0, 0, rng.IntN(40)).Add(time.Duration(rng.IntN(24)) * time.Hour)
		for _, kind := range []string{"v", "f"} {
			for _, interval := range []string{"", "day", "week"} {
				q := Query{From: from, To: to, Interval: interval}
				rs := ranges(kind, q)
				covered := map[string]int{}
				for d := base.AddDate(0, 0, -7); d.Before(base.AddDate(0, 0, 120)); d = d.AddDate(0, 0, 1) {
					for _, r := range rs {
						if n := day(d); r[0] <= n && n <= r[1] {
							covered[n]++
						}
						if n := week(d); r[0] <= n && n <= r[1] {
							if (kind != "v" && kind != "t") || interval == "day" {
								t.Fatalf("%s %q %v: weekly names read", kind, interval, rs)
							}
							covered[day(d)]++
						}
					}
				}
				for d := base.AddDate(0, 0, -7); d.Before(base.AddDate(0, 0, 120)); d = d.AddDate(0, 0, 1) {
					in := !d.Before(from.Truncate(24*time.Hour)) && !d.After(to)
					if want := map[bool]int{true: 1, false: 0}[in]; covered[day(d)] != want {
						t.Fatalf("%s %q from %s to %s: %s read %d times, want %d (ranges %v)", kind, interval, from, to, day(d), covered[day(d)], want, rs)
					}
				}
			}
		}
	}
}

// TestNames: the cached names of a day are its own, for any time of any
// day (before 1970 too), however the slots are shared.
func TestNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		at := time.Unix(rng.Int64N(4e9)-2e9, 0).UTC()
		if d := names(at); d.day != day(at) || d.week != week(at) {
			t.Fatalf("names(%s) = %s %s, want %s %s", at, d.day, d.week, day(at), week(at))
		}
	}
}
