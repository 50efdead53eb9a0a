package service

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
)

// reference is the reflective encoding appendStoredLead replaces.
func reference(l *engine.Lead, names []string, fields []any) ([]byte, error) {
	m := map[string]any{}
	for i, v := range fields {
		if v != nil {
			m[names[i]] = ir.Export(v)
		}
	}
	return json.Marshal(storedLead{Lead: *l, Fields: m})
}

func randString(r *rand.Rand) string {
	pieces := []string{"a", "é", "\"", "\\", "\n", "\t", "\x01", "<&>", "\u2028", "\xff", "日本", " ", "}"}
	var b strings.Builder
	for i := r.Intn(6); i > 0; i-- {
		b.WriteString(pieces[r.Intn(len(pieces))])
	}
	return b.String()
}

// TestAppendStoredLead: the hand-written encoding decodes to exactly what
// the reflective one does, for leads with every kind of value.
func TestAppendStoredLead(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	names := []string{"s", "i", "f", "b", "ts", "d", "list", "map", "absent"}
	loc := time.FixedZone("x", -5*3600)
	for n := 0; n < 2000; n++ {
		at := time.Unix(r.Int63n(4e9), r.Int63n(1e9)).In(loc)
		l := &engine.Lead{
			ID: randString(r), Workflow: "w", Version: randString(r), Stage: randString(r), Owner: randString(r),
			CreatedAt: at, EnteredAt: at.Add(time.Hour), Seq: uint64(r.Int63()),
		}
		if r.Intn(2) == 0 {
			l.Stuck = &engine.Stuck{Kind: "eval_error", Reason: randString(r), At: at}
		}
		if r.Intn(2) == 0 {
			l.SLAs = []engine.SLAState{{Name: randString(r), Started: at, Deadline: at.Add(time.Minute), State: "running"}}
		}
		if r.Intn(2) == 0 {
			l.Timers = map[string]time.Time{"after:0": at, randString(r): at.Add(time.Second)}
		}
		if r.Intn(2) == 0 {
			l.ScoreChanged = map[string]time.Time{"score": at}
		}
		if r.Intn(2) == 0 {
			l.Reached = map[string]time.Time{"mql": at, randString(r): at.Add(time.Hour)}
		}
		floats := []float64{0, -0.5, 1e-7, 1e21, 123456.789, 3, -2e-9}
		fields := []any{
			randString(r), r.Int63() - r.Int63(), floats[r.Intn(len(floats))], r.Intn(2) == 0,
			at, time.Duration(r.Int63n(1e15)), []any{randString(r), "x"}, map[string]any{randString(r): int64(1)}, nil,
		}
		got, err := appendStoredLead(nil, l, names, fields)
		if err != nil {
			t.Fatal(err)
		}
		want, err := reference(l, names, fields)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, got)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("differs:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := appendValue(nil, []any{1.0}); err != nil {
		t.Error(err)
	}
}

// TestLeadViewJSON: the hand-written view decodes like the reflective one.
func TestLeadViewJSON(t *testing.T) {
	type plain LeadView // no MarshalJSON
	at := time.Date(2026, 3, 2, 9, 0, 0, 5, time.UTC)
	for _, v := range []LeadView{
		{ID: "a", Fields: map[string]any{}, SLAs: []SLAView{}},
		{ID: "b\"<x>", Workflow: "w", Version: "v", Stage: "s", Lifecycle: "mql", Owner: "é",
			Fields:    map[string]any{"n": int64(3), "f": 0.5, "t": "x\n", "l": []any{"a"}, "ok": true},
			CreatedAt: at, EnteredAt: at, Stuck: &Stuck{Kind: "loop", Reason: "r", At: at},
			SLAs: []SLAView{{Name: "s", Deadline: at, State: "running"}}},
	} {
		got, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(plain(v))
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("differs:\n got %s\nwant %s", got, want)
		}
	}
}

// TestAppendEntry: the hand-written history entry decodes like the
// reflective encoding, with and without every optional part.
func TestAppendEntry(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 7, time.FixedZone("x", 3600))
	full := engine.Entry{
		Seq: 9, At: at, Cause: "timer", Event: "e\"", EventID: "id", Timer: "breach:x", Late: 1500 * time.Millisecond,
		From: "a", To: "b", Owner: "ö", Version: "v",
		Moves:       []engine.Move{{From: "a", To: "b", Edge: "a#on0"}},
		Actions:     []string{"set x", "notify ops"},
		SLAs:        []engine.SLAOutcome{{Name: "s", Stage: "a", State: "met", Deadline: at}},
		Escalations: []string{"boss"}, Notifications: 2,
		Exceptions: []engine.ExceptionRecord{{Kind: "no_owner", Reason: "r", Stage: "a", Handler: "stuck"}},
		Fields:     map[string]any{"n": int64(1), "t": "x", "f": 1.25, "l": []any{"a"}},
		Override:   &engine.OverrideRecord{Stage: "b", Reason: "why"},
		Assign:     &engine.AssignRecord{Owner: "ana", Previous: "", Reason: "cover", Actor: "ops"},
		Extra:      map[string]string{"to_version": "v2", "from_version": "v1"},
	}
	for _, e := range []engine.Entry{{Seq: 1, At: at, Cause: "capture"}, full} {
		got, err := appendEntry(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(e)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("not JSON: %s", got)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("differs:\n got %s\nwant %s", got, want)
		}
	}
}
