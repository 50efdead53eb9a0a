// Package httpapi serves the runtime's HTTP API (INTERFACES.md): JSON in
// and out, errors as {"error": {"code", "message", "details"}}, bearer-token
// auth when a token is set, request bodies capped at 1 MiB. A rejected
// request changes nothing: validation happens before the engine step, and
// the step itself is all-or-nothing.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Options configure the handler.
type Options struct {
	// Token, if set, must be presented as `Authorization: Bearer TOKEN`
	// on every request but /healthz.
	Token string
	// Gatherer serves /metrics (nil: prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
}

// New returns the API handler over a running service.
func New(svc *service.Service, opts Options) http.Handler {
	a := &api{svc: svc}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/workflows/{workflow}/leads", a.capture)
	mux.HandleFunc("GET /v1/workflows", a.workflows)
	mux.HandleFunc("POST /v1/leads/{id}/events", a.event)
	mux.HandleFunc("PATCH /v1/leads/{id}", a.update)
	mux.HandleFunc("GET /v1/leads/{id}", a.lead)
	mux.HandleFunc("GET /v1/leads/{id}/history", a.history)
	mux.HandleFunc("POST /v1/leads/{id}/override", a.override)
	mux.HandleFunc("GET /v1/leads", a.leads)
	mux.HandleFunc("GET /v1/notifications", a.notifications)
	g := opts.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path), nil)
	})
	return authenticate(opts.Token, limitBody(mux))
}

type api struct{ svc *service.Service }

// authenticate checks the bearer token in constant time.
func authenticate(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lead"`)
			msg := "missing bearer token: send Authorization: Bearer TOKEN"
			if len(got) > 0 {
				msg = "wrong token"
			}
			writeError(w, http.StatusUnauthorized, "unauthorized", msg, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next.ServeHTTP(w, r)
	})
}

// ---------------------------------------------------------------------------
// Handlers

type captureBody struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

func (a *api) capture(w http.ResponseWriter, r *http.Request) {
	var body captureBody
	if !decode(w, r, &body) {
		return
	}
	if body.ID != "" && !validID(body.ID) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid lead id",
			[]engine.Problem{{Field: "id", Message: "use 1 to 200 characters: letters, digits and . _ - : @"}})
		return
	}
	v, created, err := a.svc.Capture(r.Context(), r.PathValue("workflow"), body.ID, body.Fields)
	if err != nil {
		fail(w, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

type eventBody struct {
	Type string         `json:"type"`
	ID   string         `json:"id"`
	Data map[string]any `json:"data"`
}

func (a *api) event(w http.ResponseWriter, r *http.Request) {
	var body eventBody
	if !decode(w, r, &body) {
		return
	}
	if body.Type == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "an event needs a type",
			[]engine.Problem{{Field: "type", Message: "is required"}})
		return
	}
	if body.ID != "" && len(body.ID) > 200 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid event id",
			[]engine.Problem{{Field: "id", Message: "at most 200 characters"}})
		return
	}
	raw, err := a.svc.Send(r.Context(), r.PathValue("id"), body.Type, body.ID, body.Data)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(raw)
	w.Write([]byte("\n"))
}

type fieldsBody struct {
	Fields map[string]any `json:"fields"`
}

func (a *api) update(w http.ResponseWriter, r *http.Request) {
	var body fieldsBody
	if !decode(w, r, &body) {
		return
	}
	v, err := a.svc.Update(r.Context(), r.PathValue("id"), body.Fields)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

type overrideBody struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
}

func (a *api) override(w http.ResponseWriter, r *http.Request) {
	var body overrideBody
	if !decode(w, r, &body) {
		return
	}
	var problems []engine.Problem
	if body.Stage == "" {
		problems = append(problems, engine.Problem{Field: "stage", Message: "is required"})
	}
	if strings.TrimSpace(body.Reason) == "" {
		problems = append(problems, engine.Problem{Field: "reason", Message: "is required: say why the lead is moved"})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid override", problems)
		return
	}
	v, err := a.svc.Override(r.Context(), r.PathValue("id"), body.Stage, body.Reason, body.Actor)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) lead(w http.ResponseWriter, r *http.Request) {
	v, err := a.svc.Lead(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) history(w http.ResponseWriter, r *http.Request) {
	after, ok := uintParam(w, r, "after", 0)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 1000, 10000)
	if !ok {
		return
	}
	steps, err := a.svc.History(r.Context(), r.PathValue("id"), after, limit)
	if err != nil {
		fail(w, err)
		return
	}
	if steps == nil {
		steps = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"lead": r.PathValue("id"), "steps": steps})
}

func (a *api) leads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	query := store.Query{Workflow: q.Get("workflow"), Stage: q.Get("stage"), Owner: q.Get("owner"), Limit: limit, Cursor: q.Get("cursor")}
	if s := q.Get("stuck"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "stuck must be true or false", nil)
			return
		}
		query.Stuck = &b
	}
	page, next, err := a.svc.Leads(r.Context(), query)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"leads": page, "next_cursor": next})
}

func (a *api) workflows(w http.ResponseWriter, r *http.Request) {
	infos, err := a.svc.Workflows(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	if infos == nil {
		infos = []service.WorkflowInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"workflows": infos})
}

func (a *api) notifications(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	items, next, err := a.svc.Notifications(r.Context(), r.URL.Query().Get("since"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": items, "next_cursor": next})
}

// ---------------------------------------------------------------------------
// Helpers

// decode reads a JSON body strictly: malformed JSON, trailing data and
// unknown top-level keys are 400; a body over MaxBody is 413.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		normalizeNumbers(v)
		return true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is over %d bytes", MaxBody), nil)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "bad_request", "request body is empty: send a JSON object", nil)
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON: "+err.Error(), nil)
	}
	return false
}

// normalizeNumbers turns json.Number values into int64 when integral and
// float64 otherwise, the forms ir.Coerce accepts.
func normalizeNumbers(v any) {
	var fix func(x any) any
	fix = func(x any) any {
		switch t := x.(type) {
		case json.Number:
			if i, err := t.Int64(); err == nil {
				return i
			}
			f, _ := t.Float64()
			return f
		case map[string]any:
			for k, e := range t {
				t[k] = fix(e)
			}
		case []any:
			for i, e := range t {
				t[i] = fix(e)
			}
		}
		return x
	}
	switch b := v.(type) {
	case *captureBody:
		fix(b.Fields)
	case *eventBody:
		fix(b.Data)
	case *fieldsBody:
		fix(b.Fields)
	}
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 200 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("._-:@", c):
		default:
			return false
		}
	}
	return true
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, max int) (int, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%s must be a number from 1 to %d", name, max), nil)
		return 0, false
	}
	return n, true
}

func uintParam(w http.ResponseWriter, r *http.Request, name string, def uint64) (uint64, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", name+" must be a whole number", nil)
		return 0, false
	}
	return n, true
}

// fail maps service errors to status codes.
func fail(w http.ResponseWriter, err error) {
	var ie *engine.InputError
	switch {
	case errors.As(err, &ie):
		details := ie.Problems
		if details == nil {
			details = []engine.Problem{}
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid", ie.Message, details)
	case errors.Is(err, service.ErrNotFound), errors.Is(err, service.ErrUnknownWorkflow):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), nil)
	case errors.Is(err, service.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), nil)
	case errors.Is(err, service.ErrBadRequest):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error(), nil)
	case errors.Is(err, service.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error(), nil)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the request was cancelled before its step was durable; it may still have been applied — retry with the same event id", nil)
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Details []engine.Problem `json:"details"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, details []engine.Problem) {
	if details == nil {
		details = []engine.Problem{}
	}
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg, Details: details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// Server returns an http.Server with timeouts on every connection.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
