// Package httpapi serves the runtime's HTTP API (docs/api/openapi.json): JSON in
// and out, errors as {"error": {"code", "message", "details"}}, bearer-token
// auth when a token is set, request bodies capped at 1 MiB. Bodies are read
// strictly: anything but one JSON object with known keys is a 400; a key of
// the wrong type is a 422 whose details name it together with every other
// bad field the service finds (fields.NAME, data.NAME). A rejected request
// changes nothing: validation happens before the engine step, and the step
// itself is all-or-nothing.
package httpapi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadlang/lead/docs"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/web"
)

// MaxBody is the largest request body accepted.
const MaxBody = 1 << 20

// Options configure the handler.
type Options struct {
	// Token, if set, must be presented as `Authorization: Bearer TOKEN`
	// on every request but /healthz and /readyz.
	Token string
	// Gatherer serves /metrics (nil: prometheus.DefaultGatherer).
	Gatherer prometheus.Gatherer
	// Hosts are the host names the server answers to besides localhost
	// and IP literals (guard.go, checkHost): the --addr host and
	// --allowed-host.
	Hosts []string
}

// New returns the API handler over a running service.
func New(svc *service.Service, opts Options) http.Handler {
	a := &api{svc: svc}
	g := opts.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux := http.NewServeMux()
	for _, r := range a.routes(promhttp.HandlerFor(g, promhttp.HandlerOpts{})) {
		mux.Handle(r.pattern, r.h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path), nil)
	})
	// The dashboards (runtime/web) are pages without data: served without
	// the token, but behind the Host check like everything else.
	guarded := authenticate(opts.Token, requireJSON(checkPath(limitBody(mux))))
	return identify(checkHost(opts.Hosts, web.Handler(guarded)))
}

// route is an endpoint: "METHOD /path/{param}" and its handler.
type route struct {
	pattern string
	h       http.Handler
}

// routes are the API's endpoints, each described in docs/api/openapi.json
// (TestOpenAPIRoutes keeps the two in step).
func (a *api) routes(metrics http.Handler) []route {
	f := func(pattern string, h http.HandlerFunc) route { return route{pattern, h} }
	return []route{
		f("POST /v1/workflows/{workflow}/leads", a.capture),
		f("GET /v1/workflows", a.workflows),
		f("GET /v1/workflows/{workflow}/versions/{version}", a.version),
		f("POST /v1/leads/{id}/events", a.event),
		f("PATCH /v1/leads/{id}", a.update),
		f("GET /v1/leads/{id}", a.lead),
		f("GET /v1/leads/{id}/history", a.history),
		f("POST /v1/leads/{id}/override", a.override),
		f("POST /v1/leads/{id}/assign", a.assign),
		f("GET /v1/leads", a.leads),
		f("POST /v1/bulk/override", a.bulk(service.BulkOverride)),
		f("POST /v1/bulk/assign", a.bulk(service.BulkAssign)),
		f("GET /v1/notifications", a.notifications),
		f("GET /v1/openapi.json", openapi),
		f("GET /v1/reports/{kind}", a.report),
		f("GET /v1/steps", a.steps),
		f("POST /v1/admin/backup", a.backup),
		{"GET /metrics", metrics},
		f("GET /healthz", a.healthz),
		f("GET /readyz", a.readyz),
	}
}

// Routes lists the API's endpoints as "METHOD /path/{param}".
func Routes() []string {
	var out []string
	for _, r := range (&api{}).routes(nil) {
		out = append(out, r.pattern)
	}
	return out
}

// APIHeader is set on every answer, errors included, so that a client
// can tell a Lead server from whatever else answers at an address.
const APIHeader = "Lead-Api"

// identify sets APIHeader.
func identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(APIHeader, "v1")
		next.ServeHTTP(w, r)
	})
}

// backup streams a consistent backup of the store (store/backup.go has
// the format; lead restore loads it). A backup that fails on the way is
// cut short, without its end marker, so that no restore takes it whole.
func (a *api) backup(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	if _, ok := decode(w, r, map[string]kind{}); !ok {
		return
	}
	// A big store takes longer than the server's write timeout.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lead-%s.backup"`, time.Now().UTC().Format("20060102T150405Z")))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 1<<20)
	if a.svc.Backup(r.Context(), bw) == nil { // the service logs a failure
		bw.Flush()
	}
}

// healthz is liveness: 200 unless a failed commit left the process able
// to recover only by a restart.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Live(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failed", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is readiness: 200 while the server takes writes, 503 with the
// reason while it does not (short of disk space, shutting down, failed).
// Reads are served either way.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"status": "ready"}
	status := http.StatusOK
	if err := a.svc.Ready(); err != nil {
		body = map[string]any{"status": "not_ready", "reason": err.Error()}
		status = http.StatusServiceUnavailable
	}
	if node, parts, ok := a.svc.Partitions(); ok {
		body["node"], body["partitions"] = node, parts
	}
	writeJSON(w, status, body)
}

type api struct{ svc *service.Service }

// authenticate checks the bearer token in constant time. Both sides are
// hashed first, so that the comparison does not even reveal the token's
// length.
func authenticate(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		got := sha256.Sum256([]byte(header))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lead"`)
			msg := "missing bearer token: send Authorization: Bearer TOKEN"
			if header != "" {
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

// Request bodies: each key and the JSON type it must have. Anything else
// at the top level is a 400; a known key with a value of the wrong type is
// a 422 naming it.
var (
	captureKeys  = map[string]kind{"id": kString, "fields": kObject}
	eventKeys    = map[string]kind{"type": kString, "id": kString, "data": kObject}
	updateKeys   = map[string]kind{"fields": kObject}
	overrideKeys = map[string]kind{"stage": kString, "reason": kString, "actor": kString}
	assignKeys   = map[string]kind{"owner": kString, "reason": kString, "actor": kString}
	bulkKeys     = map[string]map[string]kind{
		service.BulkOverride: {"id": kString, "filter": kObject, "stage": kString, "reason": kString, "actor": kString},
		service.BulkAssign:   {"id": kString, "filter": kObject, "owner": kString, "reason": kString, "actor": kString},
	}
)

func (a *api) capture(w http.ResponseWriter, r *http.Request) {
	b, ok := decode(w, r, captureKeys)
	if !ok || b.invalid(w, "fields") {
		return
	}
	req := service.Request{Op: service.OpCapture, Workflow: r.PathValue("workflow"), ID: b.str("id"), Fields: b.obj("fields")}
	if a.rejected(w, r, req, b) {
		return
	}
	v, created, err := a.svc.Capture(r.Context(), req.Workflow, req.ID, req.Fields)
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

// rejected answers a request whose body has problems of its own (a key
// of the wrong type, say) with a 422 that names them and every other
// problem the service finds in the request; it reports whether it did.
func (a *api) rejected(w http.ResponseWriter, r *http.Request, req service.Request, b *body) bool {
	if len(b.problems) == 0 {
		return false
	}
	fail(w, a.svc.Reject(r.Context(), req, b.problems))
	return true
}

func (a *api) event(w http.ResponseWriter, r *http.Request) {
	b, ok := decode(w, r, eventKeys)
	if !ok {
		return
	}
	if _, given := b.vals["type"]; !given && !b.bad("type") {
		b.problems = append(b.problems, service.Problem{Field: "type", Message: "is required: name the event"})
	}
	if b.invalid(w, "type", "data") {
		return
	}
	req := service.Request{Op: service.OpEvent, ID: r.PathValue("id"), Type: b.str("type"), EventID: b.str("id"), Fields: b.obj("data")}
	if a.rejected(w, r, req, b) {
		return
	}
	raw, err := a.svc.Send(r.Context(), req.ID, req.Type, req.EventID, req.Fields)
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(raw)
	w.Write([]byte("\n"))
}

func (a *api) update(w http.ResponseWriter, r *http.Request) {
	b, ok := decode(w, r, updateKeys)
	if !ok || b.invalid(w, "fields") {
		return
	}
	req := service.Request{Op: service.OpUpdate, ID: r.PathValue("id"), Fields: b.obj("fields")}
	if a.rejected(w, r, req, b) {
		return
	}
	v, err := a.svc.Update(r.Context(), req.ID, req.Fields)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) override(w http.ResponseWriter, r *http.Request) {
	b, ok := decode(w, r, overrideKeys)
	if !ok {
		return
	}
	req := service.Request{Op: service.OpOverride, ID: r.PathValue("id"), Stage: b.str("stage"), Reason: b.str("reason"), Actor: b.str("actor")}
	if a.rejected(w, r, req, b) {
		return
	}
	v, err := a.svc.Override(r.Context(), req.ID, req.Stage, req.Reason, req.Actor)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) assign(w http.ResponseWriter, r *http.Request) {
	b, ok := decode(w, r, assignKeys)
	if !ok {
		return
	}
	req := service.Request{Op: service.OpAssign, ID: r.PathValue("id"), Owner: b.str("owner"), Reason: b.str("reason"), Actor: b.str("actor")}
	if a.rejected(w, r, req, b) {
		return
	}
	v, err := a.svc.Assign(r.Context(), req.ID, req.Owner, req.Reason, req.Actor)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// bulk serves one page of a bulk action; ?dry_run=true answers what it
// would do and changes nothing.
func (a *api) bulk(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := query(w, r, "dry_run", "limit", "cursor")
		if !ok {
			return
		}
		limit, ok := intParam(w, q, "limit", 100, 1000)
		if !ok {
			return
		}
		dry, ok := boolParam(w, q, "dry_run")
		if !ok {
			return
		}
		b, ok := decode(w, r, bulkKeys[action])
		if !ok {
			return
		}
		f := filter(b)
		if b.invalid(w, "filter") {
			return
		}
		if len(b.problems) > 0 {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid request", b.problems)
			return
		}
		res, err := a.svc.Bulk(r.Context(), service.BulkRequest{
			ID: b.str("id"), Action: action, Filter: f, Stage: b.str("stage"), Owner: b.str("owner"),
			Reason: b.str("reason"), Actor: b.str("actor"), DryRun: dry != nil && *dry, Limit: limit, Cursor: q.Get("cursor"),
		})
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// filter reads a bulk request's filter object, adding a problem for each
// key that is unknown or of the wrong type.
func filter(b *body) service.Filter {
	var f service.Filter
	for k, v := range b.obj("filter") {
		field := "filter." + k
		switch k {
		case "workflow", "stage", "owner", "lifecycle":
			s, ok := v.(string)
			if !ok {
				b.problems = append(b.problems, service.Problem{Field: field, Message: "must be a string, not " + jsonType(v)})
				continue
			}
			*map[string]*string{"workflow": &f.Workflow, "stage": &f.Stage, "owner": &f.Owner, "lifecycle": &f.Lifecycle}[k] = s
		case "sla":
			s, ok := v.(string)
			if !ok {
				b.problems = append(b.problems, service.Problem{Field: field, Message: "must be a string, not " + jsonType(v)})
				continue
			}
			f.SLA = s
		case "min_age":
			s, ok := v.(string)
			d, err := service.ParseAge(s)
			if !ok || err != nil {
				b.problems = append(b.problems, service.Problem{Field: field, Message: "must be a duration such as \"4h\" or \"2d\""})
				continue
			}
			f.MinAge = d
		case "stuck":
			t, ok := v.(bool)
			if !ok {
				b.problems = append(b.problems, service.Problem{Field: field, Message: "must be true or false, not " + jsonType(v)})
				continue
			}
			f.Stuck = &t
		default:
			b.problems = append(b.problems, service.Problem{Field: field, Message: "is not a filter: the filters are workflow, stage, owner, lifecycle, stuck, sla and min_age"})
		}
	}
	sort.Slice(b.problems, func(i, j int) bool { return b.problems[i].Field < b.problems[j].Field })
	return f
}

func (a *api) version(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	raw, err := a.svc.Version(r.Context(), r.PathValue("workflow"), r.PathValue("version"))
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(raw, '\n'))
}

func (a *api) lead(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	v, err := a.svc.Lead(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *api) history(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "after", "limit")
	if !ok {
		return
	}
	after, ok := uintParam(w, q, "after", 0)
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 1000, 10000)
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
	q, ok := query(w, r, "workflow", "stage", "owner", "lifecycle", "stuck", "sla", "min_age", "sort", "limit", "cursor")
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 100, 1000)
	if !ok {
		return
	}
	stuck, ok := boolParam(w, q, "stuck")
	if !ok {
		return
	}
	f := service.Filter{Workflow: q.Get("workflow"), Stage: q.Get("stage"), Owner: q.Get("owner"), Lifecycle: q.Get("lifecycle"), Stuck: stuck, SLA: q.Get("sla")}
	if s := q.Get("min_age"); s != "" {
		d, err := service.ParseAge(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "min_age must be a duration such as 4h or 2d: "+err.Error(), nil)
			return
		}
		f.MinAge = d
	}
	page, err := a.svc.List(r.Context(), service.ListQuery{Filter: f, Sort: q.Get("sort"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *api) workflows(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
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
	q, ok := query(w, r, "since", "limit")
	if !ok {
		return
	}
	limit, ok := intParam(w, q, "limit", 100, 1000)
	if !ok {
		return
	}
	items, next, err := a.svc.Notifications(r.Context(), q.Get("since"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": items, "next_cursor": next})
}

// ---------------------------------------------------------------------------
// Helpers

// kind is the JSON type a top-level key must have.
type kind int

const (
	kString kind = iota
	kObject
)

// body is a decoded request body: the values of the keys given (strings,
// and objects with numbers as int64 or float64) and the problems with them.
type body struct {
	vals     map[string]any
	problems []service.Problem
}

func (b *body) str(k string) string {
	s, _ := b.vals[k].(string)
	return s
}

func (b *body) obj(k string) map[string]any {
	m, _ := b.vals[k].(map[string]any)
	return m
}

// bad reports whether key k already has a problem.
func (b *body) bad(k string) bool {
	for _, p := range b.problems {
		if p.Field == k || strings.HasPrefix(p.Field, k+".") {
			return true
		}
	}
	return false
}

// invalid answers 422 if one of keys (without which the request cannot be
// checked further) has a problem, naming every problem found so far.
func (b *body) invalid(w http.ResponseWriter, keys ...string) bool {
	for _, k := range keys {
		if b.bad(k) {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid request", b.problems)
			return true
		}
	}
	return false
}

// decode reads a JSON object body strictly: malformed JSON, anything but
// one object, trailing data, unknown or repeated keys are 400; a body over
// MaxBody is 413. A known key whose value has the wrong type, or a number
// too large for a float, is a problem for the caller to report (422).
func decode(w http.ResponseWriter, r *http.Request, keys map[string]kind) (*body, bool) {
	if r.ContentLength > MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is over %d bytes", MaxBody), nil)
		return nil, false
	}
	b, err := parse(r.Body, keys)
	if err == nil {
		return b, true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is over %d bytes", MaxBody), nil)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "bad_request", "request body is empty: send a JSON object", nil)
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "malformed request: "+err.Error(), nil)
	}
	return nil, false
}

// parse decodes the body's top-level object key by key (json.go reads
// the values).
func parse(r io.Reader, keys map[string]kind) (*body, error) {
	// Read it all first, so that a body over the limit is a 413 even if
	// it is malformed early on.
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	j := newJSONReader(raw)
	tok, err := j.dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("send a JSON object")
	}
	b := &body{vals: map[string]any{}}
	seen := map[string]bool{}
	for j.dec.More() {
		key, err := j.key("")
		if err != nil {
			return nil, err
		}
		want, known := keys[key]
		if !known {
			return nil, fmt.Errorf("unknown key %q: the keys are %s", key, keyList(keys))
		}
		if seen[key] {
			return nil, fmt.Errorf("key %q is given twice", key)
		}
		seen[key] = true
		v, err := j.value(key)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case nil:
			// null: as if the key were absent
		case string:
			if want != kString {
				b.problems = append(b.problems, service.Problem{Field: key, Message: "must be an object, not a string"})
				continue
			}
			b.vals[key] = x
		case map[string]any:
			if want != kObject {
				b.problems = append(b.problems, service.Problem{Field: key, Message: "must be a string, not an object"})
				continue
			}
			b.problems = append(b.problems, numbers(key, x)...)
			b.vals[key] = x
		default:
			b.problems = append(b.problems, service.Problem{Field: key, Message: fmt.Sprintf("must be %s, not %s", kindName(want), jsonType(x))})
		}
	}
	if _, err := j.dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := j.dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	// Strings that are not text are the request's own fault, but not a
	// malformed request: they are named like any other bad field.
	b.problems = append(b.problems, j.problems...)
	return b, nil
}

// numbers turns the json.Numbers in an object into int64 when integral
// and in range, else float64, the forms ir.Coerce accepts; a number beyond
// float64 is a problem named by its path.
func numbers(path string, obj map[string]any) []service.Problem {
	var problems []service.Problem
	var fix func(path string, x any) any
	fix = func(path string, x any) any {
		switch t := x.(type) {
		case json.Number:
			if i, err := t.Int64(); err == nil {
				return i
			}
			f, err := t.Float64()
			if err != nil || math.IsInf(f, 0) {
				problems = append(problems, service.Problem{Field: path, Message: fmt.Sprintf("the number %s is out of range", t)})
				return nil
			}
			return f
		case map[string]any:
			for k, e := range t {
				t[k] = fix(path+"."+k, e)
			}
		case []any:
			for i, e := range t {
				t[i] = fix(path, e)
			}
		}
		return x
	}
	for k, v := range obj {
		obj[k] = fix(path+"."+k, v)
	}
	// One problem per top field: a nested path names the field it is in.
	for i, p := range problems {
		parts := strings.SplitN(p.Field, ".", 3)
		if len(parts) > 2 {
			problems[i].Field = parts[0] + "." + parts[1]
		}
	}
	return problems
}

func kindName(k kind) string {
	if k == kObject {
		return "an object"
	}
	return "a string"
}

func jsonType(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	}
	return "null"
}

func keyList(keys map[string]kind) string {
	var ks []string
	for k := range keys {
		ks = append(ks, strconv.Quote(k))
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// query returns the URL query if it has only the parameters allowed, each
// at most once; otherwise it answers 400.
func query(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed query: "+err.Error(), nil)
		return nil, false
	}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			msg := fmt.Sprintf("unknown query parameter %q", k)
			if len(allowed) > 0 {
				msg += "; the parameters are " + strings.Join(allowed, ", ")
			}
			writeError(w, http.StatusBadRequest, "bad_request", msg, nil)
			return nil, false
		}
		if len(vs) > 1 {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("query parameter %q is given %d times", k, len(vs)), nil)
			return nil, false
		}
	}
	return q, true
}

func intParam(w http.ResponseWriter, q url.Values, name string, def, max int) (int, bool) {
	s := q.Get(name)
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

// boolParam reads a true/false parameter; nil if it is not given.
func boolParam(w http.ResponseWriter, q url.Values, name string) (*bool, bool) {
	s := q.Get(name)
	if s == "" {
		return nil, true
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", name+" must be true or false", nil)
		return nil, false
	}
	return &b, true
}

func uintParam(w http.ResponseWriter, q url.Values, name string, def uint64) (uint64, bool) {
	s := q.Get(name)
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
	var ie *service.InputError
	switch {
	case errors.As(err, &ie):
		details := ie.Problems
		if details == nil {
			details = []service.Problem{}
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid", ie.Message, details)
	case errors.Is(err, service.ErrNotFound), errors.Is(err, service.ErrUnknownWorkflow):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), nil)
	case errors.Is(err, service.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), nil)
	case errors.Is(err, service.ErrBadRequest):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error(), nil)
	case errors.Is(err, service.ErrNoSpace):
		writeError(w, http.StatusInsufficientStorage, "insufficient_storage", err.Error(), nil)
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
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details []service.Problem `json:"details"`
	// Omitted counts the problems left out of Details beyond the first
	// maxDetails.
	Omitted int `json:"omitted,omitempty"`
}

// maxDetails caps the problems an error lists: a body of thousands of
// unknown fields must not get an answer many times its size.
const maxDetails = 100

func writeError(w http.ResponseWriter, status int, code, msg string, details []service.Problem) {
	if status == http.StatusInsufficientStorage || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "10")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorJSON(code, msg, details))
}

// errorJSON is the API's error body.
func errorJSON(code, msg string, details []service.Problem) []byte {
	d := errorDetail{Code: code, Message: msg, Details: details}
	if d.Details == nil {
		d.Details = []service.Problem{}
	}
	if n := len(d.Details); n > maxDetails {
		d.Details, d.Omitted = d.Details[:maxDetails], n-maxDetails
		d.Message += fmt.Sprintf(" (the first %d of %d problems are listed)", maxDetails, n)
	}
	b, _ := json.Marshal(errorBody{d})
	return append(b, '\n')
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// maxHeaderBytes bounds a request's headers.
const maxHeaderBytes = 64 << 10

// Server returns an http.Server with timeouts on every connection. Serve
// it on JSONErrors(listener), so that the errors net/http writes itself
// are JSON too.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// openapi serves the API's own description.
func openapi(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(docs.OpenAPI)
}
