package httpapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestParse pins down how request bodies are read: what is malformed
// (400), what is a problem with a known key (422), and the values handed
// on, with numbers as int64 or float64.
func TestParse(t *testing.T) {
	keys := map[string]kind{"id": kString, "fields": kObject}
	for _, c := range []struct {
		name     string
		in       string
		bad      bool     // 400
		problems []string // 422 fields
		vals     map[string]any
	}{
		{name: "empty object", in: `{}`, vals: map[string]any{}},
		{name: "whitespace", in: " \n{ \"id\" : \"a\" }\n\t", vals: map[string]any{"id": "a"}},
		{name: "numbers", in: `{"fields":{"i":3,"f":1.5,"e":1e3,"big":99999999999999999999,"l":[1,2.5],"m":{"x":-7}}}`,
			vals: map[string]any{"fields": map[string]any{"i": int64(3), "f": 1.5, "e": 1000.0, "big": 1e20,
				"l": []any{int64(1), 2.5}, "m": map[string]any{"x": int64(-7)}}}},
		{name: "null is absent", in: `{"id":null,"fields":null}`, vals: map[string]any{}},
		{name: "number out of range", in: `{"fields":{"x":1e400,"y":{"z":-1e999},"ok":1}}`, problems: []string{"fields.x", "fields.y"}},
		{name: "wrong types", in: `{"id":1,"fields":"x"}`, problems: []string{"fields", "id"}},
		{name: "list for object", in: `{"fields":[]}`, problems: []string{"fields"}},
		{name: "bool for string", in: `{"id":true}`, problems: []string{"id"}},
		{name: "empty", in: ``, bad: true},
		{name: "null", in: `null`, bad: true},
		{name: "array", in: `[{}]`, bad: true},
		{name: "string", in: `"{}"`, bad: true},
		{name: "number", in: `1`, bad: true},
		{name: "unknown key", in: `{"ID":"a"}`, bad: true},
		{name: "repeated key", in: `{"id":"a","id":"b"}`, bad: true},
		{name: "trailing object", in: `{} {}`, bad: true},
		{name: "trailing garbage", in: `{}]`, bad: true},
		{name: "unterminated", in: `{"id":"a"`, bad: true},
		{name: "bad value", in: `{"id":tru}`, bad: true},
		{name: "invalid in a nested object", in: `{"fields":{"a":}}`, bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := parse(strings.NewReader(c.in), keys)
			if c.bad {
				if err == nil {
					t.Fatalf("parse(%q) = %+v, want an error", c.in, b)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", c.in, err)
			}
			var got []string
			for _, p := range b.problems {
				got = append(got, p.Field)
			}
			if !reflect.DeepEqual(got, c.problems) && (len(got) > 0 || len(c.problems) > 0) {
				if !sameSet(got, c.problems) {
					t.Errorf("problems %v, want %v", b.problems, c.problems)
				}
			}
			if c.vals != nil && !reflect.DeepEqual(b.vals, c.vals) {
				t.Errorf("values %#v, want %#v", b.vals, c.vals)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestQuery: only the parameters an endpoint knows, each at most once.
func TestQuery(t *testing.T) {
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{"", true},
		{"limit=5&since=3", true},
		{"limit=5&limit=6", false},
		{"after=1", false},
		{"limit=%zz", false},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/v1/notifications?"+c.raw, nil)
		_, ok := query(w, r, "since", "limit")
		if ok != c.ok {
			t.Errorf("query(%q) ok = %v, want %v", c.raw, ok, c.ok)
		}
		if !ok && w.Code != http.StatusBadRequest {
			t.Errorf("query(%q) answered %d, want 400", c.raw, w.Code)
		}
	}
}

// TestAuthenticate: the token is required everywhere but /healthz, and
// compared exactly.
func TestAuthenticate(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := authenticate("tok", ok)
	for _, c := range []struct {
		path, header string
		want         int
	}{
		{"/v1/leads", "Bearer tok", http.StatusNoContent},
		{"/v1/leads", "", http.StatusUnauthorized},
		{"/v1/leads", "Bearer tok ", http.StatusUnauthorized},
		{"/v1/leads", "Bearer to", http.StatusUnauthorized},
		{"/v1/leads", "bearer tok", http.StatusUnauthorized},
		{"/v1/leads", "tok", http.StatusUnauthorized},
		{"/metrics", "", http.StatusUnauthorized},
		{"/healthz", "", http.StatusNoContent},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s with %q: %d, want %d", c.path, c.header, w.Code, c.want)
		}
	}
	if authenticate("", ok) == nil {
		t.Fatal("no handler")
	}
}
