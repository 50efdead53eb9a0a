package layers

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/leadlang/lead/"

// rules: a package (or a prefix ending in "/") and the module packages
// (prefixes ending in "/" included) it may import; nil: none.
var rules = []struct {
	pkg     string
	allowed []string
	why     string
}{
	{"lang", []string{"internal/"}, "lang is the bottom: tokens, grammar, AST, diagnostics"},
	{"lang/", []string{"lang", "lang/", "internal/"}, "lang's packages see only lang"},
	{"compiler", []string{"lang", "lang/", "compiler/", "stdlib", "stdlib/", "internal/"}, "the compiler never touches the runtime"},
	{"compiler/", []string{"lang", "lang/", "compiler/", "stdlib", "stdlib/", "internal/"}, "the compiler never touches the runtime"},
	{"stdlib", []string{"stdlib/", "compiler/ir", "internal/"}, "the standard library never depends on the runtime"},
	{"stdlib/", []string{"stdlib", "stdlib/", "compiler/ir", "internal/"}, "the standard library never depends on the runtime"},
	{"runtime/engine", []string{"compiler/ir", "stdlib/", "internal/"}, "the engine runs the IR: it needs neither the parser nor the compiler"},
	{"runtime/store", []string{"internal/"}, "the store keeps bytes; it knows no engine"},
	{"runtime/store/postgres", []string{"runtime/store", "internal/"}, "a second store keeps the same bytes: it knows the Store interface, no engine or service"},
	{"runtime/cluster", []string{"runtime/store", "runtime/store/postgres", "internal/"}, "the cluster leases partitions of the PostgreSQL store; the service sees it as an Ownership"},
	{"runtime/service", []string{"compiler", "compiler/ir", "runtime/engine", "runtime/store", "runtime/report", "internal/"}, "the service never parses .lead text: it asks the compiler"},
	{"runtime/httpapi", []string{"runtime/service", "runtime/web", "docs"}, "the HTTP API speaks to the service only (and serves the dashboards' files)"},
	{"runtime/web", nil, "the dashboards' files read the API like any client"},
}

// TestLayers: every module package imports only what its layer allows.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/leadlang/lead/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		for _, r := range rules {
			if !match(pkg, r.pkg) {
				continue
			}
			checked[r.pkg] = true
			for _, imp := range p.Imports {
				dep, ours := strings.CutPrefix(imp, module)
				if !ours {
					continue
				}
				ok := false
				for _, a := range r.allowed {
					ok = ok || match(dep, a)
				}
				if !ok {
					t.Errorf("%s imports %s: %s", pkg, dep, r.why)
				}
			}
			break
		}
	}
	for _, r := range rules {
		if !checked[r.pkg] {
			t.Errorf("no package matches the rule for %s: is the rule stale?", r.pkg)
		}
	}
}

// match reports whether pkg is p, or under p when p ends in "/".
func match(pkg, p string) bool {
	if strings.HasSuffix(p, "/") {
		return strings.HasPrefix(pkg, p)
	}
	return pkg == p
}
