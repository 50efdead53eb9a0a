package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDuplicateWorkflow: two files declaring one workflow are an error
// that GET /v1/workflows shows, not one file silently dropped; the first
// found goes on serving.
func TestDuplicateWorkflow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyTestdata(t, dir, "deals.lead")
	src, _ := os.ReadFile(filepath.Join(dir, "deals.lead"))
	writeFile(t, filepath.Join(dir, "more.lead"), strings.Replace(string(src), `"Integration test workflow"`, `"Another copy"`, 1))
	s := newServer(t, serverOpts{paths: []string{dir}})
	w := s.workflow("deals")
	if w.File != filepath.Join(dir, "deals.lead") {
		t.Errorf("deals is served from %s", w.File)
	}
	found := false
	for _, d := range w.LastReload.Diagnostics {
		found = found || (d.Code == "E117" && strings.Contains(d.Message, "deals.lead") && d.File == filepath.Join(dir, "more.lead"))
	}
	if !found {
		t.Errorf("no E117 diagnostic in the last reload: %+v", w.LastReload)
	}
	s.capture("deals", "d1", map[string]any{"email": "a@x.example"})
}

// TestSymlinkedWorkflows: lead run follows a link to a directory as lead
// check does.
func TestSymlinkedWorkflows(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	copyTestdata(t, shared, "deals.lead")
	dir := t.TempDir()
	if err := os.Symlink(shared, filepath.Join(dir, "shared")); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, serverOpts{paths: []string{dir}})
	if w := s.workflow("deals"); w.File != filepath.Join(dir, "shared", "deals.lead") || !w.LastReload.OK {
		t.Errorf("deals: %+v", w)
	}
	if code, out := lead(t, nil, "check", dir); code != 0 {
		t.Errorf("lead check on the same directory: exit %d: %s", code, out)
	}
}
