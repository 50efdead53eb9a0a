package report

import (
	"net/url"
	"slices"
	"strings"
	"testing"
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
