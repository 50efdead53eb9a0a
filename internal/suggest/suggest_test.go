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

func TestKeywords(t *testing.T) {
	keywords := []string{"stage", "stages", "score", "start", "on", "owner", "warn"}
	for name, want := range map[string]string{
		"stagee":  "stage",
		"stge":    "stage",
		"scroe":   "score", // a transposition is two edits
		"strat":   "start",
		"onn":     "on",
		"ownr":    "owner",
		"stage":   "stages", // the name itself is never suggested
		"warning": "",       // three edits away
		"xyz":     "",
		"":        "on", // within two insertions
		"ötage":   "stage",
	} {
		if got := Nearest(name, keywords); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", name, got, want)
		}
	}
	// Ties go to the alphabetically first candidate, whatever the order.
	if got := Nearest("sate", []string{"state", "save", "date"}); got != "date" {
		t.Errorf("Suggest tie = %q, want date", got)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"", "", 3, 0},
		{"a", "", 3, 1},
		{"kitten", "sitting", 9, 3},
		{"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 2, 2},
		{"flaw", "lawn", 9, 2},
		{"日本", "日", 3, 1}, // runes, not bytes
		{"abc", "abc", 1, 0},
		{"abcdef", "a", 3, 3},
	} {
		if got := distance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("distance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}
