package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/leadlang/lead/runtime/store"
)

const testWorkflow = `workflow w
start a

lead {
  email string
  n     int = 0
}

event ping { by int }

role ops

stage a {
  owner { accountable ops  responsible role ops }
  on ping { set lead.n = lead.n + event.by }
}
`

// start runs a service over the workflow file path and a Badger store in
// dir; stop closes both.
func start(t *testing.T, dir, path string) (svc *Service, stop func()) {
	t.Helper()
	return startWith(t, dir, Config{Paths: []string{path}})
}

// startWith is start with a configuration (its Store is set here).
func startWith(t *testing.T, dir string, cfg Config) (svc *Service, stop func()) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = st
	svc = New(cfg)
	if err := svc.Start(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	return svc, func() {
		if err := svc.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	}
}

func writeWorkflow(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEventIDsOnce sends every event id many times at once: each is
// applied once, every answer to an id is the same, in flight and after.
func TestEventIDsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	svc, stop := start(t, dir, path)
	defer stop()
	ctx := context.Background()
	if _, _, err := svc.Capture(ctx, "w", "x", map[string]any{"email": "x@y.example"}); err != nil {
		t.Fatal(err)
	}
	const ids, copies = 20, 16
	answers := make([][]string, ids)
	var wg sync.WaitGroup
	for i := range ids {
		answers[i] = make([]string, copies)
		for c := range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, err := svc.Send(ctx, "x", "ping", fmt.Sprintf("e%d", i), map[string]any{"by": int64(1)})
				if err != nil {
					t.Error(err)
					return
				}
				answers[i][c] = string(raw)
			}()
		}
	}
	wg.Wait()
	for i := range ids {
		for c := 1; c < copies; c++ {
			if answers[i][c] != answers[i][0] {
				t.Errorf("e%d: answers differ: %s / %s", i, answers[i][0], answers[i][c])
			}
		}
		raw, err := svc.Send(ctx, "x", "ping", fmt.Sprintf("e%d", i), map[string]any{"by": int64(1)})
		if err != nil || string(raw) != answers[i][0] {
			t.Errorf("e%d after commit: %s %v, want %s", i, raw, err, answers[i][0])
		}
	}
	v, err := svc.Lead(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if v.Fields["n"] != int64(ids) {
		t.Errorf("n = %v, want %d", v.Fields["n"], ids)
	}
	steps, err := svc.History(ctx, "x", 0, 0)
	if err != nil || len(steps) != ids+1 {
		t.Errorf("history has %d steps (%v), want %d", len(steps), err, ids+1)
	}
}

// TestColdLeadsUnderEviction runs steps of many leads at once through a
// cache of two, so that nearly every step loads its lead from the store
// (outside the service lock) while other steps load, step and drop the same
// lead: every event is applied exactly once, repeats included.
func TestColdLeadsUnderEviction(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	svc, stop := startWith(t, dir, Config{Paths: []string{path}, CacheSize: 2})
	defer stop()
	ctx := context.Background()
	// Per lead: ids events, each sent copies times, and plain events
	// without an id; all of them shuffled across the leads and sent by
	// workers at once.
	const leads, ids, copies, plain, workers = 32, 10, 3, 2, 16
	type send struct{ lead, id string }
	var sends []send
	for l := range leads {
		lead := fmt.Sprintf("l%d", l)
		if _, _, err := svc.Capture(ctx, "w", lead, map[string]any{"email": "x@y.example"}); err != nil {
			t.Fatal(err)
		}
		for k := range ids {
			for range copies {
				sends = append(sends, send{lead, fmt.Sprintf("e%d", k)})
			}
		}
		for range plain {
			sends = append(sends, send{lead, ""})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
	work := make(chan send)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				if _, err := svc.Send(ctx, s.lead, "ping", s.id, map[string]any{"by": int64(1)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, s := range sends {
		work <- s
	}
	close(work)
	wg.Wait()
	const want = ids + plain
	for l := range leads {
		id := fmt.Sprintf("l%d", l)
		v, err := svc.Lead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Fields["n"] != int64(want) {
			t.Errorf("%s: n = %v, want %d", id, v.Fields["n"], want)
		}
		if steps, err := svc.History(ctx, id, 0, 0); err != nil || len(steps) != 1+want {
			t.Errorf("%s: %d steps in history (%v), want %d", id, len(steps), err, 1+want)
		}
	}
	svc.mu.Lock()
	evicted := svc.evicted
	svc.mu.Unlock()
	if evicted < uint64(len(sends)/4) {
		t.Errorf("only %d leads dropped from the cache for %d events: the test did not load cold leads", evicted, len(sends))
	}
}

// TestRejectedChangesNothing: a request with problems found by the caller
// and by the step is rejected as a whole, naming all of them.
func TestRejectedChangesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	svc, stop := start(t, dir, path)
	defer stop()
	ctx := context.Background()
	_, _, err := svc.Capture(ctx, "w", "bad id", map[string]any{"n": "x"})
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("capture: %v", err)
	}
	var fields []string
	for _, p := range ie.Problems {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, " "); got != "fields.email fields.n id" {
		t.Errorf("problems %v", ie.Problems)
	}
	if _, _, err := svc.Capture(ctx, "w", "ok", map[string]any{"email": "a"}); err != nil {
		t.Fatal(err)
	}
	err = svc.Reject(ctx, Request{Op: OpEvent, ID: "ok", Type: "ping", EventID: "e1", Fields: map[string]any{"by": "x"}}, []Problem{{Field: "extra", Message: "from the caller"}})
	if !errors.As(err, &ie) || len(ie.Problems) != 2 || ie.Problems[0].Field != "data.by" || ie.Problems[1].Field != "extra" {
		t.Fatalf("a rejected send names the caller's problem and the payload's: %v", err)
	}
	// The event id was not used up.
	raw, err := svc.Send(ctx, "ok", "ping", "e1", map[string]any{"by": int64(2)})
	if err != nil || !strings.Contains(string(raw), `"n":2`) {
		t.Errorf("send: %s %v", raw, err)
	}
}

// TestCloseRefusesWork: after Close, requests are refused as unavailable.
func TestCloseRefusesWork(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	svc, stop := start(t, dir, path)
	ctx := context.Background()
	if _, _, err := svc.Capture(ctx, "w", "x", map[string]any{"email": "a"}); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := svc.Send(ctx, "x", "ping", "", map[string]any{"by": int64(1)}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("send after Close: %v, want ErrUnavailable", err)
	}
}

// TestActiveVersionAfterRestart: after a save that reverts to an older
// version, a restart whose file does not compile serves the version that
// was active, not the newest stored.
func TestActiveVersionAfterRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	v1 := testWorkflow
	v2 := strings.Replace(testWorkflow, "n     int = 0", "n     int = 5", 1)
	writeWorkflow(t, path, v1)
	svc, stop := start(t, dir, path)
	first := svc.reg.active("w").Version()
	stop()
	writeWorkflow(t, path, v2)
	svc, stop = start(t, dir, path)
	second := svc.reg.active("w").Version()
	stop()
	writeWorkflow(t, path, v1) // the revert
	svc, stop = start(t, dir, path)
	if got := svc.reg.active("w").Version(); got != first || got == second {
		t.Fatalf("after the revert: active %s, want %s", got, first)
	}
	stop()
	writeWorkflow(t, path, "workflow w\nstart nowhere\n") // broken
	svc, stop = start(t, dir, path)
	defer stop()
	if got := svc.reg.active("w").Version(); got != first {
		t.Errorf("with a broken file after the revert: active %s, want %s (the newest stored is %s)", got, first, second)
	}
	infos, err := svc.Workflows(context.Background())
	if err != nil || len(infos) != 1 || infos[0].LastReload.OK || len(infos[0].LastReload.Diagnostics) == 0 {
		t.Errorf("workflows = %+v, %v", infos, err)
	}
}

// TestOverridePinnedLead: a lead pinned to an old version (its stage is gone
// from the active one) can be overridden into a stage only the active
// version has; it moves to that version.
func TestOverridePinnedLead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	v1 := testWorkflow + "\nstage old {\n  owner { accountable ops  responsible role ops }\n  on ping -> a\n}\n"
	v1 = strings.Replace(v1, "start a", "start old", 1)
	v2 := testWorkflow + "\nstage fresh {\n  owner { accountable ops  responsible role ops }\n  on ping -> a\n}\n"
	v2 = strings.Replace(v2, "start a", "start fresh", 1)
	writeWorkflow(t, path, v1)
	svc, stop := start(t, dir, path)
	ctx := context.Background()
	if _, _, err := svc.Capture(ctx, "w", "L", map[string]any{"email": "a@b.example"}); err != nil {
		t.Fatal(err)
	}
	old := svc.reg.active("w").Version()
	stop()
	writeWorkflow(t, path, v2)
	svc, stop = start(t, dir, path)
	defer stop()
	v, err := svc.Lead(ctx, "L")
	if err != nil || v.Version != old || v.Stage != "old" {
		t.Fatalf("before: %+v, %v (want pinned to %s in stage old)", v, err, old)
	}
	v, err = svc.Override(ctx, "L", "fresh", "moved by hand", "ops")
	if err != nil {
		t.Fatal(err)
	}
	if v.Stage != "fresh" || v.Version != svc.reg.active("w").Version() {
		t.Errorf("after: stage %s version %s, want fresh on %s", v.Stage, v.Version, svc.reg.active("w").Version())
	}
}

// refusingStore is a real store whose SaveVersion fails.
type refusingStore struct{ store.Store }

func (refusingStore) SaveVersion(context.Context, store.Version) error {
	return errors.New("the disk said no")
}

// TestReloadFailureShows: a reload that fails after compiling (the store
// refuses the version) shows in Workflows like a compile error.
func TestReloadFailureShows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := New(Config{Paths: []string{path}, Store: refusingStore{st}})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	infos, err := svc.Workflows(context.Background())
	if err != nil || len(infos) != 1 {
		t.Fatalf("Workflows: %v %v", infos, err)
	}
	r := infos[0].LastReload
	if r.OK || len(r.Diagnostics) != 1 || !strings.Contains(r.Diagnostics[0].Message, "the disk said no") || r.Diagnostics[0].File != path {
		t.Errorf("last reload %+v, want the store's refusal", r)
	}
}

// failingStore is a real store whose commits fail, as after an I/O error.
type failingStore struct{ store.Store }

func (failingStore) Commit(context.Context, []store.Prepared, store.RoutingChange) error {
	return errors.New("input/output error")
}

// TestFailedCommitNamesTheLead: a capture without an id whose commit
// failed may still be in the store after a restart; the answer names the
// id the server chose, so that the client retries it without making a
// second lead. The service then refuses work and says it is not live.
func TestFailedCommitNamesTheLead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.lead")
	writeWorkflow(t, path, testWorkflow)
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := New(Config{Paths: []string{path}, Store: failingStore{st}})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	_, _, err = svc.Capture(context.Background(), "w", "", map[string]any{"email": "a@b.example"})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `capture again with "id": "ld_`) {
		t.Fatalf("capture: %v", err)
	}
	if svc.Live() == nil || svc.Ready() == nil {
		t.Errorf("Live %v, Ready %v after a failed commit", svc.Live(), svc.Ready())
	}
	if _, _, err := svc.Capture(context.Background(), "w", "given", map[string]any{"email": "a@b.example"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a capture after the failure: %v", err)
	}
}
