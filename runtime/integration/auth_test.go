package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuth: with a token (--token, LEAD_TOKEN or --token-file) every
// endpoint but /healthz and /readyz needs the bearer token; without one,
// nothing does.
func TestAuth(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"flag", "env", "file"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			o := serverOpts{}
			switch how {
			case "flag":
				o.args = []string{"--token", "s3cret"}
			case "env":
				o.env = []string{"LEAD_TOKEN=s3cret"}
			case "file":
				file := filepath.Join(t.TempDir(), "token")
				if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				o.args = []string{"--token-file", file}
			}
			s := newServer(t, o)
			ok := []string{"Authorization", "Bearer s3cret"}
			s.expect(http.StatusCreated, "POST", "/v1/workflows/deals/leads", `{"id":"a1","fields":{"email":"a"}}`, ok...)
			endpoints := []struct{ method, path, body string }{
				{"POST", "/v1/workflows/deals/leads", `{"id":"a2","fields":{"email":"a"}}`},
				{"POST", "/v1/leads/a1/events", `{"type":"accepted"}`},
				{"PATCH", "/v1/leads/a1", `{"fields":{"note":"x"}}`},
				{"GET", "/v1/leads/a1", ""},
				{"GET", "/v1/leads/a1/history", ""},
				{"GET", "/v1/leads", ""},
				{"POST", "/v1/leads/a1/override", `{"stage":"lost","reason":"x"}`},
				{"GET", "/v1/workflows", ""},
				{"GET", "/v1/notifications", ""},
				{"GET", "/metrics", ""},
				{"POST", "/v1/admin/backup", `{}`},
				{"GET", "/v1/unknown", ""},
			}
			for _, bad := range [][]string{
				nil,
				{"Authorization", "Bearer wrong"},
				{"Authorization", "Bearer s3cret2"},
				{"Authorization", "Bearer s3cre"},
				{"Authorization", "s3cret"},
				{"Authorization", "Basic czNjcmV0"},
				{"Authorization", "bearer s3cret "},
			} {
				for _, e := range endpoints {
					var body any
					if e.body != "" {
						body = e.body
					}
					r := s.must(e.method, e.path, body, bad...)
					checkError(t, r, http.StatusUnauthorized, "unauthorized")
					if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("%s %s: no WWW-Authenticate: Bearer", e.method, e.path)
					}
				}
			}
			// Nothing changed, and the answers need the token.
			v := s.expect(http.StatusOK, "GET", "/v1/leads/a1", nil, ok...).json(t)
			if v["stage"] != "inbox" || v["fields"].(map[string]any)["note"] != "" {
				t.Errorf("unauthorized requests changed the lead: %v", v)
			}
			s.expect(http.StatusNotFound, "GET", "/v1/leads/a2", nil, ok...)
			// /healthz and /readyz are open.
			s.expect(http.StatusOK, "GET", "/healthz", nil)
			s.expect(http.StatusOK, "GET", "/readyz", nil)
			s.expect(http.StatusOK, "GET", "/metrics", nil, ok...)
		})
	}
	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, serverOpts{})
		s.expect(http.StatusCreated, "POST", "/v1/workflows/deals/leads", `{"id":"a1","fields":{"email":"a"}}`)
		s.expect(http.StatusOK, "GET", "/v1/leads/a1", nil, "Authorization", "Bearer anything")
	})
}
