package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/leadlang/lead/runtime/httpapi"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

const workflow = `workflow w
start inbox
lead {
  email string
  n     int = 0
}
event ping { by int }
role ops
stage inbox {
  owner { accountable ops  responsible role ops }
  on ping { set lead.n = lead.n + event.by }
  on ping when event.by < 0 -> done
}
stage done terminal
`

// serve runs the real service and API over a Badger store in a temporary
// directory.
func serve(t *testing.T) *Client {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	if err := os.WriteFile(path, []byte(workflow), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Paths: []string{path}, Store: st})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Options{Token: "tok"}))
	t.Cleanup(func() {
		srv.Close()
		svc.Close(context.Background())
		st.Close()
	})
	return New(srv.URL+"/", "tok")
}

func TestClient(t *testing.T) {
	c := serve(t)
	ctx := context.Background()
	raw, err := c.Capture(ctx, "w", "a", map[string]any{"email": "a@x.example"})
	if err != nil {
		t.Fatal(err)
	}
	var lead struct {
		ID     string         `json:"id"`
		Stage  string         `json:"stage"`
		Fields map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(raw, &lead); err != nil || lead.ID != "a" || lead.Stage != "inbox" {
		t.Fatalf("capture: %s %v", raw, err)
	}
	for i := range 5 {
		if _, err := c.Send(ctx, "a", "ping", fmt.Sprintf("e%d", i), map[string]any{"by": 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Repeated: applied once.
	first, _ := c.Send(ctx, "a", "ping", "e0", map[string]any{"by": 1})
	again, _ := c.Send(ctx, "a", "ping", "e0", map[string]any{"by": 1})
	if string(first) != string(again) {
		t.Errorf("repeated send: %s vs %s", first, again)
	}
	if raw, err = c.Update(ctx, "a", map[string]any{"email": "b@x.example"}); err != nil {
		t.Fatal(err)
	}
	raw, err = c.Lead(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &lead)
	if lead.Fields["n"] != 5.0 || lead.Fields["email"] != "b@x.example" {
		t.Errorf("lead = %s", raw)
	}

	// History pages through every step.
	historyPage = 2
	defer func() { historyPage = 1000 }()
	raw, err = c.History(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Lead  string `json:"lead"`
		Steps []struct {
			Seq int `json:"seq"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Lead != "a" || len(h.Steps) != 7 {
		t.Fatalf("history: %s", raw)
	}
	for i, s := range h.Steps {
		if s.Seq != i+1 {
			t.Errorf("step %d has seq %d", i, s.Seq)
		}
	}

	// AllLeads follows the cursors.
	for i := range 5 {
		if _, err := c.Capture(ctx, "w", fmt.Sprintf("b%d", i), map[string]any{"email": "b@x.example"}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err = c.AllLeads(ctx, url.Values{"workflow": {"w"}, "limit": {"2"}})
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Leads []struct {
			ID string `json:"id"`
		} `json:"leads"`
		Next string `json:"next_cursor"`
	}
	json.Unmarshal(raw, &all)
	var ids []string
	for _, l := range all.Leads {
		ids = append(ids, l.ID)
	}
	if want := []string{"a", "b0", "b1", "b2", "b3", "b4"}; !reflect.DeepEqual(ids, want) || all.Next != "" {
		t.Errorf("AllLeads = %v (next %q), want %v", ids, all.Next, want)
	}

	// Override.
	if raw, err = c.Override(ctx, "a", "done", "by hand", "me"); err != nil || !strings.Contains(string(raw), `"stage":"done"`) {
		t.Errorf("override: %s %v", raw, err)
	}
}

func TestClientErrors(t *testing.T) {
	c := serve(t)
	ctx := context.Background()
	_, err := c.Capture(ctx, "w", "", map[string]any{"n": "x"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Code != "invalid" {
		t.Fatalf("capture with bad fields: %v", err)
	}
	msg := ae.Error()
	for _, want := range []string{"(422 Unprocessable Entity)", "\n  fields.email: is required", "\n  fields.n: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q has no %q", msg, want)
		}
	}
	if _, err := c.Lead(ctx, "nobody"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("unknown lead: %v", err)
	}
	bad := New(c.Base, "wrong")
	if _, err := bad.Lead(ctx, "a"); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
	gone := New("http://127.0.0.1:1", "")
	if _, err := gone.Lead(ctx, "a"); err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("no server: %v", err)
	}
}

func TestParseAssignments(t *testing.T) {
	got, err := ParseAssignments([]string{"a=1", "b=x", `c="1"`, "d=true", `e=["x"]`, "f=", "g=a=b", "h=null"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1.0, "b": "x", "c": "1", "d": true, "e": []any{"x"}, "f": "", "g": "a=b", "h": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAssignments = %#v, want %#v", got, want)
	}
	for _, bad := range []string{"novalue", "=x"} {
		if _, err := ParseAssignments([]string{bad}); err == nil {
			t.Errorf("ParseAssignments(%q) has no error", bad)
		}
	}
}

// TestDotIDs: the lead ids "." and ".." are refused before any request,
// since a path cleaned of them names another endpoint.
func TestDotIDs(t *testing.T) {
	c := New("http://127.0.0.1:1", "") // nothing listens: a request would fail differently
	for _, id := range []string{".", ".."} {
		if _, err := c.Lead(context.Background(), id); err == nil || !strings.Contains(err.Error(), "is not a lead id") {
			t.Errorf("Lead(%q): %v", id, err)
		}
		if _, err := c.History(context.Background(), id); err == nil || !strings.Contains(err.Error(), "is not a lead id") {
			t.Errorf("History(%q): %v", id, err)
		}
	}
}

// TestNotALeadServer: whatever else answers at the address (a web server,
// another API) is named as such, whatever its status.
func TestNotALeadServer(t *testing.T) {
	for _, h := range []http.HandlerFunc{
		func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id": "x"}`)
		},
	} {
		srv := httptest.NewServer(h)
		_, err := New(srv.URL, "").Lead(context.Background(), "x")
		srv.Close()
		var api *APIError
		if err == nil || errors.As(err, &api) || !strings.Contains(err.Error(), "not a Lead server at "+srv.URL) {
			t.Errorf("got %v", err)
		}
	}
}
