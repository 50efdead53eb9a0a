package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// saveByRename saves as vim, VS Code and JetBrains do: write a temporary
// file beside the original, then rename it over the original.
func saveByRename(t *testing.T, path, src string) {
	t.Helper()
	tmp := path + ".tmp~"
	writeFile(t, tmp, src)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// saveInPlace truncates the file and writes it in two parts, as editors
// that save in place may.
func saveInPlace(t *testing.T, path, src string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := len(src) / 2
	if _, err := f.WriteString(src[:half]); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	time.Sleep(5 * time.Millisecond)
	if _, err := f.WriteString(src[half:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitActive polls GET /v1/workflows until flow's active version is not
// old and returns it with the time from save to active.
func waitActive(t *testing.T, s *server, old string, saved time.Time) (string, time.Duration) {
	t.Helper()
	deadline := saved.Add(10 * time.Second)
	for {
		// Polled often: the time to active is measured and reported.
		if active := s.workflow("flow").Active; active != old {
			return active, time.Since(saved)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new version did not become active within 10s of the save")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestHotReload edits a served workflow: by atomic rename, with broken
// saves, and in place; leads whose stage survives migrate, the others stay
// pinned to their version and keep working, also across a restart.
func TestHotReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "flow.lead")
	writeFile(t, path, testdata(t, "flow_v1.lead"))
	s := newServer(t, serverOpts{paths: []string{dir}})
	v1 := s.workflow("flow").Active

	s.capture("flow", "a", map[string]any{"email": "a@x.example"})
	s.capture("flow", "b", map[string]any{"email": "b@x.example"})
	s.send("b", "accepted", "", nil)
	if v := s.send("b", "ping", "", nil); v["stage"] != "review" || v["version"] != v1 {
		t.Fatalf("b = %v", v)
	}

	// Version 2 by rename: inbox stays, review is gone.
	saved := time.Now()
	saveByRename(t, path, testdata(t, "flow_v2.lead"))
	v2, took := waitActive(t, s, v1, saved)
	t.Logf("save by rename to active: %v", took)
	latencies := []time.Duration{took}

	c := s.capture("flow", "c", map[string]any{"email": "c@x.example"})
	if c["version"] != v2 || c["fields"].(map[string]any)["region"] != "na" {
		t.Errorf("a new lead after the reload: %v, want version %s with region", c, v2)
	}
	eventually(t, 10*time.Second, "a to migrate", func() bool {
		return s.expect(http.StatusOK, "GET", "/v1/leads/a", nil).json(t)["version"] == v2
	})
	checkMigrated(t, s, "a", v1, v2)
	// The reload's migration is logged once, with the leads left pinned.
	logged := regexp.MustCompile(`msg="in-flight leads moved to the active version; pinned leads stay on theirs until they leave a stage it lacks" workflow=flow version=` + v2 + ` migrated=1 pinned=1 stages_gone="review \(1\)"`)
	if s.log.waitFor(logged, 10*time.Second, nil) == nil {
		t.Errorf("the migration is not logged:\n%s", s.log.String())
	}
	a := s.expect(http.StatusOK, "GET", "/v1/leads/a", nil).json(t)
	if a["stage"] != "inbox" || a["fields"].(map[string]any)["region"] != "na" {
		t.Errorf("migrated a = %v, want inbox with the new field's default", a)
	}
	if v := s.send("a", "ping", "", nil); v["fields"].(map[string]any)["score"] != 2.0 {
		t.Errorf("a's ping on v2 = %v, want score 2", v["fields"])
	}
	// b stays pinned to v1 in review, and v1 still runs it.
	b := s.expect(http.StatusOK, "GET", "/v1/leads/b", nil).json(t)
	if b["version"] != v1 || b["stage"] != "review" {
		t.Errorf("pinned b = %v, want v1 in review", b)
	}
	if v := s.send("b", "ping", "", nil); v["fields"].(map[string]any)["score"] != 2.0 || v["version"] != v1 {
		t.Errorf("b's ping on v1 = %v, want score 2 on v1", v)
	}
	w := s.workflow("flow")
	if w.Versions[v1] != 1 || w.Versions[v2] != 2 {
		t.Errorf("versions = %v, want %s: 1 (b) and %s: 2 (a, c)", w.Versions, v1, v2)
	}

	// Broken saves keep v2 serving and show the diagnostics.
	for _, broken := range []struct{ name, src, want string }{
		{"type error", strings.Replace(testdata(t, "flow_v2.lead"), "lead.score + 2", `lead.score + "x"`, 1), "flow.lead:"},
		{"syntax error", strings.Replace(testdata(t, "flow_v2.lead"), "stage triage {", "stage triage {{", 1), "flow.lead:"},
		{"broken header", strings.Replace(testdata(t, "flow_v2.lead"), "workflow flow", "workflw flow", 1), "flow.lead:"},
	} {
		before := s.workflow("flow").LastReload.At
		saveByRename(t, path, broken.src)
		var w workflowInfo
		eventually(t, 10*time.Second, "the broken save ("+broken.name+") to show", func() bool {
			w = s.workflow("flow")
			return w.LastReload.At != before
		})
		if w.LastReload.OK || len(w.LastReload.Diagnostics) == 0 || w.Active != v2 {
			t.Errorf("%s: workflow %+v, want the diagnostics and %s still active", broken.name, w, v2)
		}
		for _, d := range w.LastReload.Diagnostics {
			if !strings.HasSuffix(d.File, "flow.lead") || d.Line <= 0 || d.Column <= 0 || d.Severity != "error" || d.Message == "" {
				t.Errorf("%s: diagnostic %+v, want file:line:col and a message", broken.name, d)
			}
		}
		if v := s.capture("flow", "d-"+strings.ReplaceAll(broken.name, " ", "-"), map[string]any{"email": "d@x.example"}); v["version"] != v2 {
			t.Errorf("%s: a lead captured after the broken save runs on %v, want %s", broken.name, v["version"], v2)
		}
		for _, ws := range s.workflows() {
			if ws.Name != "flow" {
				t.Errorf("%s: GET /v1/workflows lists %q", broken.name, ws.Name)
			}
		}
	}

	// Version 3 in place (truncate and write).
	saved = time.Now()
	saveInPlace(t, path, testdata(t, "flow_v3.lead"))
	v3, took := waitActive(t, s, v2, saved)
	t.Logf("save in place to active: %v", took)
	latencies = append(latencies, took)
	if w := s.workflow("flow"); !w.LastReload.OK || len(w.LastReload.Diagnostics) != 0 {
		t.Errorf("after a good save: %+v", w)
	}
	eventually(t, 10*time.Second, "a to migrate to v3", func() bool {
		return s.expect(http.StatusOK, "GET", "/v1/leads/a", nil).json(t)["version"] == v3
	})
	checkMigrated(t, s, "a", v2, v3)

	// More saves by rename, to measure.
	for i, src := range []string{testdata(t, "flow_v2.lead"), testdata(t, "flow_v3.lead")} {
		old := s.workflow("flow").Active
		saved = time.Now()
		saveByRename(t, path, src)
		_, took := waitActive(t, s, old, saved)
		latencies = append(latencies, took)
		_ = i
	}
	t.Logf("save-to-active latencies: %v", latencies)

	// A new directory with a new workflow in it.
	if err := os.Mkdir(filepath.Join(dir, "more"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the watcher adds the directory
	saveByRename(t, filepath.Join(dir, "more", "timed.lead"), testdata(t, "timed.lead"))
	eventually(t, 10*time.Second, "the workflow in a new directory", func() bool {
		for _, w := range s.workflows() {
			if w.Name == "timed" && w.Active != "" {
				return true
			}
		}
		return false
	})
	s.capture("timed", "in-new-dir", map[string]any{"email": "n@x.example"})

	// Restart: v1 (b) and v3 are both still served.
	if code := s.stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	// lead diff with --data: v1 (stored) against the file, counting the
	// in-flight leads each change affects (b is in review).
	// (lead diff reads the embedded store only.)
	if s.store == "" {
		code, out, errOut := cli(t, nil, "diff", "--data", s.data, v1, path)
		if code != 1 || !regexp.MustCompile(`(?m)^removed +stage.*review.*\(1 in-flight lead\)$`).MatchString(out) {
			t.Errorf("lead diff --data: exit %d\n%s%s", code, out, errOut)
		}
	}
	s.restart()
	w = s.workflow("flow")
	if w.Active != v3 || w.Versions[v1] != 1 {
		t.Errorf("after the restart: %+v, want %s active and b on %s", w, v3, v1)
	}
	if v := s.send("b", "ping", "", nil); v["version"] != v1 || v["fields"].(map[string]any)["score"] != 3.0 {
		t.Errorf("b's ping after the restart = %v, want score 3 on v1", v)
	}
	// b leaves the removed stage for one v3 has: it moves to v3.
	v := s.send("b", "review_done", "", nil)
	if v["stage"] != "inbox" || v["version"] != v3 {
		t.Errorf("b after leaving review = %v, want inbox on %s", v, v3)
	}
	checkMigrated(t, s, "b", v1, v3)
	if v := s.send("b", "ping", "", nil); v["fields"].(map[string]any)["score"] != 6.0 {
		t.Errorf("b's ping on v3 = %v, want score 6", v["fields"])
	}
	if w := s.workflow("flow"); w.Versions[v1] != 0 {
		t.Errorf("versions after b moved = %v", w.Versions)
	}
}

// checkMigrated checks that a lead's history has a migrate step from one
// version to another.
func checkMigrated(t *testing.T, s *server, id, from, to string) {
	t.Helper()
	for _, st := range s.history(id) {
		if st["cause"] != "migrate" {
			continue
		}
		extra, _ := st["extra"].(map[string]any)
		if extra["from_version"] == from && extra["to_version"] == to && st["version"] == to {
			return
		}
	}
	t.Errorf("lead %s has no migrate step from %s to %s: %v", id, from, to, s.history(id))
}
