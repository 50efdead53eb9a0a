package integration

import (
	"net/http"
	"strings"
	"testing"
)

// TestAuth: with --token (or LEAD_TOKEN) every endpoint but /healthz needs
// the bearer token; without one, nothing does.
func TestAuth(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"flag", "env"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			o := serverOpts{}
			if how == "flag" {
				o.args = []string{"--token", "s3cret"}
			} else {
				o.env = []string{"LEAD_TOKEN=s3cret"}
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
			// /healthz is open.
			s.expect(http.StatusOK, "GET", "/healthz", nil)
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
