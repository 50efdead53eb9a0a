package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// cli runs a lead client command and returns its exit code and output.
func cli(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(leadBin, args...)
	cmd.Env = append(append(os.Environ(), "LEAD_TOKEN=", "LEAD_SERVER="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run lead %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// TestClientCommands drives capture, send, show, history, override and
// stuck (--format json) against a running server: exit codes 0 (done), 1
// (the server rejected the request, with its reasons) and 2 (usage, or no
// Lead server). Their text output is in cmd/lead's scripts.
func TestClientCommands(t *testing.T) {
	t.Parallel()
	s := newServer(t, serverOpts{args: []string{"--token", "tok"}})
	srv := []string{"--server", s.url(""), "--token", "tok"}
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		full := append([]string{args[0], "--format", "json"}, srv...)
		full = append(full, args[1:]...)
		code, out, errOut := cli(t, nil, full...)
		if code != wantCode {
			t.Fatalf("lead %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out, errOut
	}
	lead := func(out string) map[string]any {
		t.Helper()
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("output is not a JSON object: %v\n%s", err, out)
		}
		return v
	}

	out, _ := run(0, "capture", "--id", "c1", "deals", "email=c1@x.example", "segment=enterprise", `tags=["a","b"]`)
	if v := lead(out); v["id"] != "c1" || v["stage"] != "inbox" || v["fields"].(map[string]any)["segment"] != "enterprise" {
		t.Errorf("capture printed %s", out)
	}
	// Again: the existing lead, exit 0.
	run(0, "capture", "--id", "c1", "deals", "email=other@x.example")

	// A 422: exit 1 and every bad field on stderr.
	_, errOut := run(1, "capture", "deals", "engagement=x", "nope=1")
	for _, want := range []string{"lead capture: ", "422", "fields.email: is required", "fields.engagement: ", "fields.nope: "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("capture with bad fields: stderr has no %q:\n%s", want, errOut)
		}
	}

	out, _ = run(0, "send", "--id", "e1", "c1", "ping", "n=3")
	first := out
	if v := lead(out); v["fields"].(map[string]any)["engagement"] != 3.0 {
		t.Errorf("send printed %s", out)
	}
	out, _ = run(0, "send", "--id", "e1", "c1", "ping", "n=3")
	if out != first {
		t.Errorf("a repeated send --id printed\n%s\nwant\n%s", out, first)
	}
	_, errOut = run(1, "send", "c1", "ping", "n=x")
	if !strings.Contains(errOut, "data.n: ") {
		t.Errorf("send with a bad payload: stderr %s", errOut)
	}
	_, errOut = run(1, "send", "c1", "exploded")
	if !strings.Contains(errOut, "type: ") {
		t.Errorf("send of an unknown event: stderr %s", errOut)
	}
	run(2, "send", "c1")

	out, _ = run(0, "show", "c1")
	if v := lead(out); v["id"] != "c1" || v["fields"].(map[string]any)["engagement"] != 3.0 {
		t.Errorf("show printed %s", out)
	}
	_, errOut = run(1, "show", "nobody")
	if !strings.Contains(errOut, "404") {
		t.Errorf("show of an unknown lead: stderr %s", errOut)
	}
	run(2, "show")

	out, _ = run(0, "history", "c1")
	var h struct {
		Steps []map[string]any `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil || len(h.Steps) != 2 || h.Steps[1]["event_id"] != "e1" {
		t.Errorf("history printed %s", out)
	}

	// stuck: poke reads an absent field.
	run(0, "capture", "--id", "st", "deals", "email=st@x.example")
	run(0, "send", "st", "poke")
	out, _ = run(0, "stuck")
	if !strings.Contains(out, `"id": "st"`) || strings.Contains(out, `"id": "c1"`) {
		t.Errorf("stuck printed %s", out)
	}
	out, _ = run(0, "stuck", "--workflow", "deals", "--stage", "working")
	if strings.Contains(out, `"id": "st"`) {
		t.Errorf("stuck --workflow deals --stage working printed %s", out)
	}
	_, errOut = run(1, "stuck", "--workflow", "quick")
	if !strings.Contains(errOut, `unknown workflow "quick"; the served workflows are deals`) {
		t.Errorf("stuck --workflow quick: stderr %s", errOut)
	}

	run(2, "override", "st", "working") // no --reason
	_, errOut = run(1, "override", "--reason", "checked", "st", "moon")
	if !strings.Contains(errOut, "stage: ") {
		t.Errorf("override to an unknown stage: stderr %s", errOut)
	}
	out, _ = run(0, "override", "--reason", "checked", "--actor", "ops", "st", "working")
	if v := lead(out); v["stage"] != "working" || v["stuck"] != nil {
		t.Errorf("override printed %s", out)
	}
	out, _ = run(0, "stuck")
	if strings.Contains(out, `"id": "st"`) {
		t.Errorf("stuck after the override printed %s", out)
	}

	// The wrong token: the server rejects (1); no server: 2.
	code, _, errOut := cli(t, nil, "show", "--server", s.url(""), "--token", "wrong", "c1")
	if code != 1 || !strings.Contains(errOut, "401") {
		t.Errorf("show with the wrong token: exit %d, stderr %s", code, errOut)
	}
	code, _, errOut = cli(t, nil, "show", "--server", "http://127.0.0.1:1", "c1")
	if code != 2 || !strings.Contains(errOut, "cannot reach") {
		t.Errorf("show without a server: exit %d, stderr %s", code, errOut)
	}
	// Something else at the address: exit 2, named as not a Lead server.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	code, _, errOut = cli(t, nil, "show", "--server", other.URL, "c1")
	if code != 2 || !strings.Contains(errOut, "not a Lead server at "+other.URL) {
		t.Errorf("show against another server: exit %d, stderr %s", code, errOut)
	}
	// LEAD_SERVER and LEAD_TOKEN.
	code, out, errOut = cli(t, []string{"LEAD_SERVER=" + s.url(""), "LEAD_TOKEN=tok"}, "show", "--format", "json", "c1")
	if code != 0 || lead(out)["id"] != "c1" {
		t.Errorf("show with LEAD_SERVER and LEAD_TOKEN: exit %d\n%s%s", code, out, errOut)
	}
}
