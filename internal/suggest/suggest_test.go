package suggest

import "testing"

func TestNearest(t *testing.T) {
	for _, c := range []struct {
		name string
		cand []string
		want string
	}{
		{"qualfy", []string{"qualify", "won", "lost"}, "qualify"},
		{"wonn", []string{"won", "lost"}, "won"},
		{"sales_mgr", []string{"sales_manager"}, ""}, // too far: 4 edits
		{"abc", []string{"abd", "abe"}, "abd"},       // a tie: the first alphabetically
		{"won", []string{"won"}, ""},                 // itself is no suggestion
		{"héllo", []string{"hello"}, "hello"},        // runes, not bytes
		{"", nil, ""},
	} {
		if got := Nearest(c.name, c.cand); got != c.want {
			t.Errorf("Nearest(%q, %q) = %q, want %q", c.name, c.cand, got, c.want)
		}
	}
}
