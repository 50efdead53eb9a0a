package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/client"
	"github.com/leadlang/lead/runtime/service"
	"github.com/leadlang/lead/runtime/store"
)

func init() {
	register(&command{name: "diff", summary: "compare two versions of a workflow", run: runDiff})
}

const diffDoc = `
Diff prints what changed between two versions of a workflow: stages, lead
fields and events added or removed, and per stage the transitions, timers,
SLAs and owners that changed. OLD and NEW are workflow files (for instance
an old revision written out with git show).

With --server URL (a running 'lead run'), or --data DIR (the data
directory of a stopped one: Badger admits one process per directory), OLD
and NEW may also be version hashes stored there, and each change shows
how many in-flight leads it affects: the leads of the workflow in the
stage concerned (for a workflow-wide change, all its in-flight leads).

Exit status: 0 no differences; 1 differences found; 2 usage or I/O error.`

// diffSource is where lead diff finds stored versions and in-flight
// leads: a store directory or a running server.
type diffSource interface {
	// version returns a stored version by its hash, nil if there is none.
	version(ctx context.Context, hash string) (*ir.Workflow, error)
	// inFlight counts a workflow's in-flight (non-terminal) leads by stage.
	inFlight(ctx context.Context, workflow string) (map[string]int, error)
	// where names the source for messages.
	where() string
}

func runDiff(env *cmdEnv, args []string) int {
	fl := newFlags(env, "diff", "[--server URL | --data DIR] [--standards DIR]... OLD NEW", diffDoc)
	data := fl.String("data", "", "a stopped lead run's data `DIR`: count affected in-flight leads")
	server := fl.String("server", "", "a running lead run at `URL`: count affected in-flight leads")
	token := fl.String("token", env.getenv("LEAD_TOKEN"), "bearer `TOKEN` for --server (default $LEAD_TOKEN)")
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	pos, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return fl.usageError("expected OLD and NEW, got %d arguments", len(pos))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var src diffSource
	switch {
	case *data != "" && *server != "":
		return fl.usageError("give --server or --data, not both")
	case *data != "":
		b, err := store.Open(*data, store.Options{})
		if err != nil {
			return ioError(env, "diff", fmt.Errorf("open %s: %w (if lead run is serving it, use --server instead)", *data, err))
		}
		defer b.Close()
		src = storeSource{b, *data}
	case *server != "":
		src = &serverSource{c: client.New(*server, *token), base: *server, versions: map[string]*ir.Workflow{}}
	}
	load := func(arg string) (*ir.Workflow, int) {
		if _, err := os.Stat(arg); err == nil || src == nil {
			return compileOne(env, fl, []string{arg}, standards)
		}
		w, err := src.version(ctx, arg)
		if err != nil {
			if _, api := err.(*client.APIError); api {
				fmt.Fprintf(env.stderr, "lead diff: %v\n", err)
				return nil, exitFail
			}
			return nil, ioError(env, "diff", err)
		}
		if w == nil {
			return nil, fl.usageError("%s is neither a file nor a version stored in %s", arg, src.where())
		}
		return w, exitOK
	}
	old, code := load(pos[0])
	if old == nil {
		return code
	}
	cur, code := load(pos[1])
	if cur == nil {
		return code
	}
	if old.Name != cur.Name {
		fmt.Fprintf(env.stderr, "lead diff: note: comparing different workflows %s and %s\n", old.Name, cur.Name)
	}
	changes := ir.Diff(old, cur)
	if len(changes) == 0 {
		fmt.Fprintln(env.stdout, "no differences")
		return exitOK
	}
	var counts map[string]int
	total := 0
	if src != nil {
		var err error
		if counts, err = src.inFlight(ctx, old.Name); err != nil {
			return ioError(env, "diff", err)
		}
		for _, n := range counts {
			total += n
		}
	}
	for _, c := range changes {
		line := c.String()
		if src != nil {
			n := total
			if c.Stage != "" {
				n = counts[c.Stage]
			}
			line += fmt.Sprintf("  (%d in-flight %s)", n, plural(n, "lead", "leads"))
		}
		fmt.Fprintln(env.stdout, line)
	}
	return exitFail
}

// storeSource reads a store no server is using.
type storeSource struct {
	st  store.Store
	dir string
}

func (s storeSource) where() string { return s.dir }

func (s storeSource) version(ctx context.Context, hash string) (*ir.Workflow, error) {
	versions, err := s.st.Versions(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v.Version == hash {
			var w ir.Workflow
			if err := json.Unmarshal(v.IR, &w); err != nil {
				return nil, fmt.Errorf("stored version %s: %w", hash, err)
			}
			return &w, nil
		}
	}
	return nil, nil
}

func (s storeSource) inFlight(ctx context.Context, workflow string) (map[string]int, error) {
	counts := map[string]int{}
	cursor := ""
	for {
		page, next, err := s.st.Leads(ctx, store.Query{Workflow: workflow, Limit: 1000, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			if !l.Terminal {
				counts[l.Stage]++
			}
		}
		if next == "" {
			return counts, nil
		}
		cursor = next
	}
}

// serverSource asks a running server.
type serverSource struct {
	c        *client.Client
	base     string
	versions map[string]*ir.Workflow // by hash, as fetched
}

func (s *serverSource) where() string { return "the server at " + s.base }

// version looks the hash up in each served workflow: a hash names no
// workflow by itself.
func (s *serverSource) version(ctx context.Context, hash string) (*ir.Workflow, error) {
	raw, err := s.c.Workflows(ctx)
	if err != nil {
		return nil, err
	}
	var ws struct {
		Workflows []struct {
			Name string `json:"name"`
		} `json:"workflows"`
	}
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, fmt.Errorf("GET /v1/workflows: %w", err)
	}
	for _, w := range ws.Workflows {
		if v, err := s.fetch(ctx, w.Name, hash); v != nil || err != nil {
			return v, err
		}
	}
	return nil, nil
}

// fetch reads a version of a workflow, nil if the server has none.
func (s *serverSource) fetch(ctx context.Context, workflow, hash string) (*ir.Workflow, error) {
	if w := s.versions[hash]; w != nil {
		return w, nil
	}
	raw, err := s.c.Version(ctx, workflow, hash)
	var api *client.APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var w ir.Workflow
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("version %s of %s: %w", hash, workflow, err)
	}
	s.versions[hash] = &w
	return &w, nil
}

// inFlight lists the workflow's leads; a lead is in flight unless its
// stage is terminal in the version it runs on.
func (s *serverSource) inFlight(ctx context.Context, workflow string) (map[string]int, error) {
	raw, err := s.c.AllLeads(ctx, url.Values{"workflow": {workflow}})
	if err != nil {
		return nil, err
	}
	var page struct {
		Leads []service.LeadView `json:"leads"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("GET /v1/leads: %w", err)
	}
	counts := map[string]int{}
	for _, l := range page.Leads {
		w, err := s.fetch(ctx, workflow, l.Version)
		if err != nil {
			return nil, err
		}
		if w == nil {
			return nil, fmt.Errorf("lead %s runs on version %s, which the server does not have", l.ID, l.Version)
		}
		if st := w.Stage(l.Stage); st == nil || !st.Terminal {
			counts[l.Stage]++
		}
	}
	return counts, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
