package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
	"github.com/leadlang/lead/runtime/engine"
	"github.com/leadlang/lead/runtime/store"
)

// registry holds the loaded workflows: each one's active version, every
// version any lead still runs on, and the outcome of its last reload.
type registry struct {
	mu        sync.RWMutex
	workflows map[string]*workflow       // by name
	byFile    map[string]string          // workflow file → name
	machines  map[string]*engine.Machine // by version hash
	opts      compiler.Options
}

type workflow struct {
	name   string
	file   string
	active *engine.Machine
	reload ReloadStatus
}

// ReloadStatus is the outcome of a workflow's last (re)load.
type ReloadStatus struct {
	At          time.Time        `json:"at"`
	OK          bool             `json:"ok"`
	Version     string           `json:"version,omitempty"`
	Diagnostics []DiagnosticView `json:"diagnostics"`
}

// DiagnosticView is a compiler diagnostic in API form.
type DiagnosticView = compiler.Located

func newRegistry(opts compiler.Options) *registry {
	opts.SkipTests = true
	return &registry{
		workflows: map[string]*workflow{}, byFile: map[string]string{},
		machines: map[string]*engine.Machine{}, opts: opts,
	}
}

// machine returns the machine of a version.
func (r *registry) machine(version string) *engine.Machine {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.machines[version]
}

// active returns a workflow's active machine.
func (r *registry) active(name string) *engine.Machine {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if w := r.workflows[name]; w != nil {
		return w.active
	}
	return nil
}

// names lists the workflows the registry knows, served or not, sorted.
func (r *registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.workflows))
	for n := range r.workflows {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// machines returns every loaded version of a workflow ("" for all).
func (r *registry) machinesOf(workflow string) []*engine.Machine {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*engine.Machine
	for _, m := range r.machines {
		if workflow == "" || m.W.Name == workflow {
			out = append(out, m)
		}
	}
	return out
}

// loadStored loads every version saved in the store, so leads pinned to an
// old version keep running after a restart.
func (r *registry) loadStored(ctx context.Context, st store.Store) error {
	versions, err := st.Versions(ctx)
	if err != nil {
		return fmt.Errorf("read stored versions: %w", err)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i].SavedAt.Before(versions[j].SavedAt) })
	for _, v := range versions {
		var w ir.Workflow
		if err := json.Unmarshal(v.IR, &w); err != nil {
			return fmt.Errorf("stored version %s of %s: %w", v.Version, v.Workflow, err)
		}
		m, err := engine.Load(&w)
		if err != nil {
			return fmt.Errorf("stored version %s of %s: %w", v.Version, v.Workflow, err)
		}
		r.mu.Lock()
		r.machines[v.Version] = m
		// Until the files compile, the newest stored version serves.
		if r.workflows[v.Workflow] == nil {
			r.workflows[v.Workflow] = &workflow{name: v.Workflow}
		}
		r.workflows[v.Workflow].active = m
		r.mu.Unlock()
	}
	// The version that was active when the service stopped, which is not
	// the newest one stored after a save reverted to an older version.
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, w := range r.workflows {
		raw, ok, err := st.Meta(ctx, activeKey(name))
		if err != nil {
			return fmt.Errorf("read the active version of %s: %w", name, err)
		}
		if m := r.machines[string(raw)]; ok && m != nil {
			w.active = m
		}
	}
	return nil
}

// activeKey is the store's meta key for a workflow's active version.
func activeKey(workflow string) string { return "active/" + workflow }

// compileFile compiles one workflow file; on success the new version is
// saved to the store and becomes active atomically. On failure the last good
// version keeps serving and the diagnostics are kept for GET /v1/workflows.
func (r *registry) compileFile(ctx context.Context, st store.Store, path string, now time.Time) (name string, activated bool, err error) {
	res := compiler.CompileFile(path, r.opts)
	status := ReloadStatus{At: now, Diagnostics: compiler.Locate(res.Diags)}
	r.mu.RLock()
	known := r.byFile[path]
	r.mu.RUnlock()
	name = workflowName(res, path, known)
	if res.Workflow == nil {
		r.setStatus(name, path, status)
		return name, false, nil
	}
	w := res.Workflow
	// Two files declaring one workflow: the one served first goes on
	// serving, and the clash shows in its status whichever file changed.
	if other := r.servedFrom(w.Name); other != "" && other != path && declares(other, w.Name) {
		status.Diagnostics = append(status.Diagnostics, res.DeclaredTwice(other))
		r.mu.Lock()
		r.workflows[w.Name].reload = status // the file that serves it goes on
		r.byFile[path] = w.Name
		r.mu.Unlock()
		return name, false, fmt.Errorf("%s: %s", path, status.Diagnostics[len(status.Diagnostics)-1].Message)
	}
	for _, other := range r.filesOf(w.Name) {
		if other != path && declares(other, w.Name) {
			status.Diagnostics = append(status.Diagnostics, res.DeclaredTwice(other))
		}
	}
	m := r.machine(w.Version)
	if m == nil {
		if m, err = engine.Load(w); err != nil {
			status.Diagnostics = append(status.Diagnostics, DiagnosticView{File: path, Severity: "error", Message: err.Error()})
			r.setStatus(name, path, status)
			return name, false, nil
		}
	}
	activated, err = r.activate(ctx, st, m, path, status, now)
	return w.Name, activated, err
}

// add serves a compiled workflow (Config.Machines: `lead test`'s).
func (r *registry) add(ctx context.Context, st store.Store, m *engine.Machine, now time.Time) error {
	_, err := r.activate(ctx, st, m, "", ReloadStatus{At: now, Diagnostics: []DiagnosticView{}}, now)
	return err
}

// activate stores a workflow's version and makes it the active one;
// status is its reload's. A failure to store it shows in GET
// /v1/workflows like a compile error, and the last good version keeps
// serving.
func (r *registry) activate(ctx context.Context, st store.Store, m *engine.Machine, path string, status ReloadStatus, now time.Time) (activated bool, err error) {
	w := m.W
	status.OK, status.Version = true, w.Version
	failed := func(err error) (bool, error) {
		r.setStatus(w.Name, path, ReloadStatus{At: now, Diagnostics: []DiagnosticView{{File: path, Line: 1, Column: 1, Severity: "error", Message: err.Error()}}})
		return false, err
	}
	if err := st.SaveVersion(ctx, store.Version{Workflow: w.Name, Version: w.Version, IR: m.IR(), SavedAt: now}); err != nil {
		return failed(fmt.Errorf("the store did not take version %s of %s: %w", w.Version, w.Name, err))
	}
	// Reloads run one at a time (at start, then from the watcher), so the
	// active version read here is still the active one below; the store
	// write happens outside the lock every request reads under.
	if old := r.active(w.Name); old == nil || old.Version() != w.Version {
		activated = true
		if err := st.PutMeta(ctx, activeKey(w.Name), []byte(w.Version)); err != nil {
			return failed(fmt.Errorf("the store did not take the active version of %s: %w", w.Name, err))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.machines[w.Version] = m
	wf := r.workflows[w.Name]
	if wf == nil {
		wf = &workflow{name: w.Name}
		r.workflows[w.Name] = wf
	}
	wf.active, wf.file, wf.reload = m, path, status
	if path != "" {
		r.byFile[path] = w.Name
	}
	return activated, nil
}

func (r *registry) setStatus(name, path string, s ReloadStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wf := r.workflows[name]
	if wf == nil {
		wf = &workflow{name: name}
		r.workflows[name] = wf
	}
	wf.file, wf.reload = path, s
	r.byFile[path] = name
}

// filesOf returns the files the registry has seen declare a workflow.
func (r *registry) filesOf(name string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for f, n := range r.byFile {
		if n == name {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// servedFrom returns the file a workflow is served from, "" if none.
func (r *registry) servedFrom(name string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if w := r.workflows[name]; w != nil && w.active != nil {
		return w.file
	}
	return ""
}

// declares reports whether the file at path still starts with
// `workflow NAME`.
func declares(path, name string) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	got, ok := compiler.WorkflowHeader(path, src)
	return ok && got == name
}

// workflowName names a compile result's workflow even when it failed: the
// header's name, else the workflow the file served before (known), else
// the file's base name.
func workflowName(res *compiler.Result, path, known string) string {
	if n := res.DeclaredName(); n != "" {
		return n
	}
	if known != "" {
		return known
	}
	return strings.TrimSuffix(filepath.Base(path), ".lead")
}

// files returns the workflow files the registry has seen in dir.
func (r *registry) files(dir string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for f := range r.byFile {
		if filepath.Dir(f) == dir {
			out = append(out, f)
		}
	}
	return out
}

// WorkflowInfo describes a loaded workflow for GET /v1/workflows.
type WorkflowInfo struct {
	Name       string         `json:"name"`
	File       string         `json:"file,omitempty"`
	Active     string         `json:"active_version"`
	Versions   map[string]int `json:"versions"` // in-flight leads per version
	LastReload ReloadStatus   `json:"last_reload"`
}

func (r *registry) infos() []WorkflowInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []WorkflowInfo
	for _, w := range r.workflows {
		info := WorkflowInfo{Name: w.name, File: w.file, LastReload: w.reload, Versions: map[string]int{}}
		if info.LastReload.Diagnostics == nil {
			info.LastReload.Diagnostics = []DiagnosticView{}
		}
		if w.active != nil {
			info.Active = w.active.Version()
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// discover lists the workflow files under paths (compiler.WorkflowFiles).
func discover(paths []string) ([]string, error) {
	files, errs := compiler.WorkflowFiles(paths, compiler.Options{})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Strings(files)
	return files, nil
}
