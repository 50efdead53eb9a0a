// Package client is a Go client for the runtime's HTTP API (described in
// docs/api/openapi.json), used by the CLI's client commands (`lead
// capture`, `send`, `show`, `history`, `list`, `stuck`, `notifications`,
// `override`, `assign`, `bulk`, `backup`, and `diff --server`).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to a running `lead run`.
type Client struct {
	Base  string // e.g. http://127.0.0.1:7420
	Token string
	HTTP  *http.Client
}

// New returns a client for base with an optional bearer token.
func New(base, token string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Details []Problem `json:"details"`
}

// Problem is one bad field named by a 422 answer.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d %s)", e.Message, e.Status, http.StatusText(e.Status))
	for _, d := range e.Details {
		fmt.Fprintf(&b, "\n  %s: %s", d.Field, d.Message)
	}
	return b.String()
}

// Do sends a request with an optional JSON body and returns the raw JSON
// answer of a 2xx response, or an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body any) (json.RawMessage, int, error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	return raw, resp.StatusCode, nil
}

// send sends a request and returns a 2xx response, whose body the caller
// closes, or an *APIError.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the lead server at %s: %w (is `lead run` running? set --server or LEAD_SERVER)", c.Base, err)
	}
	if resp.Header.Get(apiHeader) == "" {
		resp.Body.Close()
		what := resp.Status
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			what += ", " + ct
		}
		return nil, fmt.Errorf("not a Lead server at %s: it answered %s %s with %s (check --server or LEAD_SERVER)", c.Base, method, path, what)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error APIError `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(raw))
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return resp, nil
}

// apiHeader is the header every answer of a Lead server carries
// (httpapi.APIHeader).
const apiHeader = "Lead-Api"

// leadPath is the API path of a lead, plus rest. The ids "." and ".."
// would be cleaned out of the path into another endpoint, so they are
// refused here, as the server refuses them.
func leadPath(lead, rest string) (string, error) {
	if lead == "." || lead == ".." || lead == "" {
		return "", fmt.Errorf("%q is not a lead id", lead)
	}
	return "/v1/leads/" + url.PathEscape(lead) + rest, nil
}

// Backup asks the server for a consistent backup of its store and returns
// the stream, which the caller closes. The HTTP client's timeout does not
// apply: a big store takes a while; cancel ctx to stop.
func (c *Client) Backup(ctx context.Context) (io.ReadCloser, error) {
	noTimeout := *c
	noTimeout.HTTP = &http.Client{Transport: c.HTTP.Transport}
	resp, err := noTimeout.send(ctx, http.MethodPost, "/v1/admin/backup", map[string]any{})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Capture creates a lead (or returns the existing one with that id).
func (c *Client) Capture(ctx context.Context, workflow, id string, fields map[string]any) (json.RawMessage, error) {
	raw, _, err := c.Do(ctx, http.MethodPost, "/v1/workflows/"+url.PathEscape(workflow)+"/leads", map[string]any{"id": id, "fields": orEmpty(fields)})
	return raw, err
}

// Send delivers an event.
func (c *Client) Send(ctx context.Context, lead, typ, eventID string, data map[string]any) (json.RawMessage, error) {
	path, err := leadPath(lead, "/events")
	if err != nil {
		return nil, err
	}
	raw, _, err := c.Do(ctx, http.MethodPost, path, map[string]any{"type": typ, "id": eventID, "data": orEmpty(data)})
	return raw, err
}

// Update changes lead fields.
func (c *Client) Update(ctx context.Context, lead string, fields map[string]any) (json.RawMessage, error) {
	path, err := leadPath(lead, "")
	if err != nil {
		return nil, err
	}
	raw, _, err := c.Do(ctx, http.MethodPatch, path, map[string]any{"fields": orEmpty(fields)})
	return raw, err
}

// Lead reads a lead.
func (c *Client) Lead(ctx context.Context, lead string) (json.RawMessage, error) {
	path, err := leadPath(lead, "")
	if err != nil {
		return nil, err
	}
	raw, _, err := c.Do(ctx, http.MethodGet, path, nil)
	return raw, err
}

// historyPage is how many steps History asks for at a time (a variable
// for the tests).
var historyPage = 1000

// History reads every step of a lead, page by page, as one
// {"lead", "steps"} answer.
func (c *Client) History(ctx context.Context, lead string) (json.RawMessage, error) {
	var all struct {
		Lead  string            `json:"lead"`
		Steps []json.RawMessage `json:"steps"`
	}
	all.Lead, all.Steps = lead, []json.RawMessage{}
	after := uint64(0)
	for {
		path, err := leadPath(lead, fmt.Sprintf("/history?after=%d&limit=%d", after, historyPage))
		if err != nil {
			return nil, err
		}
		raw, _, err := c.Do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Steps []json.RawMessage `json:"steps"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", lead, err)
		}
		all.Steps = append(all.Steps, page.Steps...)
		if len(page.Steps) < historyPage {
			return json.Marshal(all)
		}
		var last struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(page.Steps[len(page.Steps)-1], &last); err != nil || last.Seq <= after {
			return nil, fmt.Errorf("read the history of %s: the server's steps are not in sequence", lead)
		}
		after = last.Seq
	}
}

// Override moves a lead to a stage.
func (c *Client) Override(ctx context.Context, lead, stage, reason, actor string) (json.RawMessage, error) {
	path, err := leadPath(lead, "/override")
	if err != nil {
		return nil, err
	}
	raw, _, err := c.Do(ctx, http.MethodPost, path, map[string]any{"stage": stage, "reason": reason, "actor": actor})
	return raw, err
}

// Assign gives a lead to an owner.
func (c *Client) Assign(ctx context.Context, lead, owner, reason, actor string) (json.RawMessage, error) {
	path, err := leadPath(lead, "/assign")
	if err != nil {
		return nil, err
	}
	raw, _, err := c.Do(ctx, http.MethodPost, path, map[string]any{"owner": owner, "reason": reason, "actor": actor})
	return raw, err
}

// Bulk runs one page of a bulk action (override or assign): body holds
// filter, stage or owner, reason, actor and id.
func (c *Client) Bulk(ctx context.Context, action string, body map[string]any, dryRun bool, cursor string) (json.RawMessage, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dry_run", "true")
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := "/v1/bulk/" + url.PathEscape(action)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	raw, _, err := c.Do(ctx, http.MethodPost, path, body)
	return raw, err
}

// Notifications reads a page of the outbox after cursor since.
func (c *Client) Notifications(ctx context.Context, since string, limit int) (json.RawMessage, error) {
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if since != "" {
		q.Set("since", since)
	}
	raw, _, err := c.Do(ctx, http.MethodGet, "/v1/notifications?"+q.Encode(), nil)
	return raw, err
}

// Workflows describes the served workflows.
func (c *Client) Workflows(ctx context.Context) (json.RawMessage, error) {
	raw, _, err := c.Do(ctx, http.MethodGet, "/v1/workflows", nil)
	return raw, err
}

// Version reads a stored version of a workflow: its compiled graph.
func (c *Client) Version(ctx context.Context, workflow, version string) (json.RawMessage, error) {
	raw, _, err := c.Do(ctx, http.MethodGet, "/v1/workflows/"+url.PathEscape(workflow)+"/versions/"+url.PathEscape(version), nil)
	return raw, err
}

// Leads lists a page of leads; query holds workflow, stage, owner,
// lifecycle, stuck, limit, cursor.
func (c *Client) Leads(ctx context.Context, query url.Values) (json.RawMessage, error) {
	path := "/v1/leads"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	raw, _, err := c.Do(ctx, http.MethodGet, path, nil)
	return raw, err
}

// AllLeads lists every lead matching query (GET /v1/leads's filters and
// sort), following the cursors, as one {"leads", "next_cursor": "",
// "total"} answer.
func (c *Client) AllLeads(ctx context.Context, query url.Values) (json.RawMessage, error) {
	q := url.Values{}
	for k, v := range query {
		if k != "cursor" {
			q[k] = v
		}
	}
	if q.Get("limit") == "" {
		q.Set("limit", "1000")
	}
	all := struct {
		Leads []json.RawMessage `json:"leads"`
		Next  string            `json:"next_cursor"`
		Total *int              `json:"total,omitempty"`
	}{Leads: []json.RawMessage{}}
	for {
		raw, err := c.Leads(ctx, q)
		if err != nil {
			return nil, err
		}
		var page struct {
			Leads []json.RawMessage `json:"leads"`
			Next  string            `json:"next_cursor"`
			Total *int              `json:"total"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, fmt.Errorf("read leads: %w", err)
		}
		if all.Total == nil {
			all.Total = page.Total
		}
		all.Leads = append(all.Leads, page.Leads...)
		if page.Next == "" {
			return json.Marshal(all)
		}
		q.Set("cursor", page.Next)
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ParseAssignments turns `key=value` arguments into fields: a value that
// parses as JSON (numbers, true, false, null, "quoted", [lists]) is taken
// as JSON, anything else as a string.
func ParseAssignments(args []string) (map[string]any, error) {
	out := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("expected key=value, got %q", a)
		}
		var x any
		if err := json.Unmarshal([]byte(v), &x); err == nil {
			out[k] = x
		} else {
			out[k] = v
		}
	}
	return out, nil
}

// Report reads a report (funnel, velocity, sla, aging, owners) with the
// query parameters params, as JSON, or as CSV if csv is set.
func (c *Client) Report(ctx context.Context, kind string, params url.Values, csv bool) ([]byte, error) {
	path := "/v1/reports/" + url.PathEscape(kind)
	if len(params) > 0 {
		path += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	return c.get(req, csv)
}

// get sends a GET request built by the caller and returns the body of a
// 2xx answer, or an *APIError.
func (c *Client) get(req *http.Request, csv bool) ([]byte, error) {
	if csv {
		req.Header.Set("Accept", "text/csv")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the lead server at %s: %w (is `lead run` running? set --server or LEAD_SERVER)", c.Base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error APIError `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(raw))
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return raw, nil
}
