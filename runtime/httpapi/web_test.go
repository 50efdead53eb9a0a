package httpapi

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/web"
)

// TestDashboardsMounted: the dashboards (runtime/web) are served at /
// and /ui/ without the token, which every API path still needs, and
// behind the Host check; the rest answers as before.
func TestDashboardsMounted(t *testing.T) {
	dir := t.TempDir()
	wf := filepath.Join(dir, "w.lead")
	if err := os.WriteFile(wf, []byte("workflow w\nstart a\nlead { email string }\nrole ops\nstage a terminal\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Paths: []string{wf}, Store: store.NewMemory()})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())

	for _, tok := range []string{"s3cret", ""} {
		h := New(svc, Options{Token: tok, Hosts: []string{"lead.internal"}})
		do := func(method, target, host, auth string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, target, nil)
			r.Host = "127.0.0.1:7420"
			if host != "" {
				r.Host = host
			}
			if auth != "" {
				r.Header.Set("Authorization", "Bearer "+auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		asset := web.Prefix + web.Version() + "/app.js"
		for _, c := range []struct {
			method, target, host, auth string
			want                       int
			code                       string // the API's error code, if an error
		}{
			{"GET", "/", "", "", 200, ""},
			{"HEAD", "/", "", "", 200, ""},
			{"GET", "/", "lead.internal:7420", "", 200, ""},
			{"GET", asset, "", "", 200, ""},
			{"GET", web.Prefix + web.Version() + "/nope.js", "", "", 404, "not_found"},
			// DNS rebinding: a page on another name gets nothing, not even
			// the dashboards.
			{"GET", "/", "evil.example", "", 421, "misdirected"},
			{"GET", asset, "evil.example:7420", "", 421, "misdirected"},
			// The API as before.
			{"GET", "/v1/workflows", "", "", map[bool]int{true: 401, false: 200}[tok != ""], map[bool]string{true: "unauthorized"}[tok != ""]},
			{"GET", "/v1/workflows", "", tok, 200, ""},
			{"GET", "/nope", "", tok, 404, "not_found"},
			{"GET", "/nope", "", "", map[bool]int{true: 401, false: 404}[tok != ""], map[bool]string{true: "unauthorized", false: "not_found"}[tok != ""]},
			{"POST", "/", "", tok, 415, "unsupported_media_type"},
			{"GET", "/healthz", "", "", 200, ""},
		} {
			w := do(c.method, c.target, c.host, c.auth)
			if w.Code != c.want {
				t.Errorf("token %q: %s %s (Host %q): %d, want %d: %s", tok, c.method, c.target, c.host, w.Code, c.want, w.Body)
				continue
			}
			if w.Header().Get(APIHeader) != "v1" {
				t.Errorf("%s %s: no %s header", c.method, c.target, APIHeader)
			}
			if c.code != "" {
				var e errorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != c.code {
					t.Errorf("token %q: %s %s: %s, want error %s", tok, c.method, c.target, w.Body, c.code)
				}
			}
		}
		page := do("GET", "/", "", "")
		if !strings.Contains(page.Body.String(), `type="module"`) || page.Header().Get("Content-Security-Policy") != web.CSP {
			t.Errorf("GET / is not the dashboards: %s", page.Body)
		}
	}
	// The dashboards are not API endpoints: docs/api/openapi.json does not
	// describe them (TestOpenAPIRoutes checks the list).
	for _, r := range Routes() {
		if strings.Contains(r, " /ui") || strings.HasSuffix(r, " /") {
			t.Errorf("route %s", r)
		}
	}
}
