package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/compiler/ir"
)

var update = flag.Bool("update", false, "rewrite the output sections of testdata/*.txtar")

// outputs are the sections of a golden archive and how to produce them.
var outputs = []struct {
	section string
	render  func(*ir.Workflow) ([]byte, error)
}{
	{"graph.dot", func(w *ir.Workflow) ([]byte, error) { return Graph(w, "dot") }},
	{"graph.mermaid", func(w *ir.Workflow) ([]byte, error) { return Graph(w, "mermaid") }},
	{"graph.json", func(w *ir.Workflow) ([]byte, error) { return Graph(w, "json") }},
	{"raci.md", func(w *ir.Workflow) ([]byte, error) { return RACI(w, "md") }},
	{"raci.csv", func(w *ir.Workflow) ([]byte, error) { return RACI(w, "csv") }},
}

// TestGolden renders each testdata archive's workflow in every format. An
// archive holding a flow.lead compiles that; the others are named after an
// example and compile examples/NAME.lead.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			w := compileFor(t, name, ar)
			changed := false
			for _, o := range outputs {
				got, err := o.render(w)
				if err != nil {
					t.Fatalf("%s: %v", o.section, err)
				}
				section := findSection(ar, o.section)
				if section == nil {
					ar.Files = append(ar.Files, txtar.File{Name: o.section})
					section = &ar.Files[len(ar.Files)-1]
				}
				if !bytes.Equal(got, section.Data) {
					if *update {
						section.Data = got
						changed = true
						continue
					}
					t.Errorf("%s:\n--- got\n%s\n--- want\n%s", o.section, got, section.Data)
				}
			}
			if changed {
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func compileFor(t *testing.T, name string, ar *txtar.Archive) *ir.Workflow {
	t.Helper()
	path := filepath.Join("..", "..", "examples", name+".lead")
	var opts compiler.Options
	if f := findSection(ar, "flow.lead"); f != nil {
		path = "flow.lead"
		opts.ReadFile = func(n string) ([]byte, error) {
			if s := findSection(ar, n); s != nil {
				return s.Data, nil
			}
			return nil, fs.ErrNotExist
		}
	}
	r := compiler.CompileFile(path, opts)
	if r.Workflow == nil {
		t.Fatalf("%s does not compile:\n%s", path, r.Diags)
	}
	return r.Workflow
}

func findSection(ar *txtar.Archive, name string) *txtar.File {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			return &ar.Files[i]
		}
	}
	return nil
}

// TestDotParses feeds every golden DOT graph to Graphviz when it is
// installed: the output must be a graph Graphviz accepts.
func TestDotParses(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed")
	}
	paths, _ := filepath.Glob("testdata/*.txtar")
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src := findSection(ar, "graph.dot")
		if src == nil {
			continue
		}
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = bytes.NewReader(src.Data)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: dot rejects the graph: %v\n%s", path, err, stderr.String())
		}
	}
}

// TestJSONRoundTrip checks the JSON is the IR: it decodes back to an equal
// workflow with the same version hash.
func TestJSONRoundTrip(t *testing.T) {
	r := compiler.CompileFile(filepath.Join("..", "..", "examples", "multistep.lead"), compiler.Options{})
	if r.Workflow == nil {
		t.Fatalf("multistep.lead does not compile:\n%s", r.Diags)
	}
	b, err := JSON(r.Workflow)
	if err != nil {
		t.Fatal(err)
	}
	var back ir.Workflow
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Hash() != r.Workflow.Hash() {
		t.Errorf("hash changed over a JSON round trip: %s != %s", back.Hash(), r.Workflow.Hash())
	}
	again, _ := JSON(&back)
	if !bytes.Equal(again, b) {
		t.Error("JSON is not stable over a round trip")
	}
}

// escapes is a hand-built workflow whose names and expressions hold every
// character the formats must escape.
func escapes() *ir.Workflow {
	guard := &ir.Expr{Src: `lead.note == "a\"b" || lead.x.contains("<#1>&|` + "`" + `")`}
	return &ir.Workflow{
		Name: "esc", Title: `Quotes "and" \backslashes\`, Start: "a",
		Roles: []ir.Role{{Name: "ops"}},
		Stages: []ir.Stage{
			{Name: "a", Owner: ir.Owner{Accountable: "ops", Responsible: &ir.Assignee{Kind: ir.AssignUser, User: &ir.Expr{Src: `lead.a || "x,y"`}}},
				When: []ir.Transition{{Guard: guard, Target: "b"}}},
			{Name: "b", Terminal: true},
		},
	}
}

func TestEscaping(t *testing.T) {
	w := escapes()
	dot := Dot(w)
	for _, want := range []string{
		`label="esc: Quotes \"and\" \\backslashes\\"`,
		`"a" -> "b" [label="when lead.note == \"a\\\"b\" || lead.x.contains(\"<#1>&|` + "`" + `\")"];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot lacks %s:\n%s", want, dot)
		}
	}
	mm := Mermaid(w)
	for _, want := range []string{
		`title: "esc: Quotes \"and\" \\backslashes\\"`,
		`s0 -->|"when lead.note == #34;a\#34;b#34; #124;#124; lead.x.contains(#34;#60;#35;1#62;#38;#124;#96;#34;)"| s1`,
	} {
		if !strings.Contains(mm, want) {
			t.Errorf("mermaid lacks %s:\n%s", want, mm)
		}
	}
	md, _ := RACI(w, "md")
	if !strings.Contains(string(md), `user: lead.a \|\| "x,y"`) {
		t.Errorf("markdown does not escape |:\n%s", md)
	}
	raw, _ := RACI(w, "csv")
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"stage", "ops", `user: lead.a || "x,y"`}, {"a", "A", "R"}, {"b", "", ""}}
	if len(rows) != len(want) || strings.Join(rows[0], "\x00") != strings.Join(want[0], "\x00") ||
		strings.Join(rows[1], "\x00") != strings.Join(want[1], "\x00") || strings.Join(rows[2], "\x00") != strings.Join(want[2], "\x00") {
		t.Errorf("csv = %q, want %q", rows, want)
	}
}

func TestRACICombinesLetters(t *testing.T) {
	w := &ir.Workflow{
		Roles: []ir.Role{{Name: "late"}, {Name: "ops"}},
		Stages: []ir.Stage{{
			Name: "s",
			Owner: ir.Owner{
				Responsible: &ir.Assignee{Kind: ir.AssignRole, Name: "ops"},
				Accountable: "ops", Consulted: []string{"late"}, Informed: []string{"ops", "late"},
			},
		}},
	}
	m := RACIMatrix(w)
	if got := strings.Join(m.Columns, ","); got != "late,ops" {
		t.Errorf("columns = %s, want roles in declaration order", got)
	}
	if got := strings.Join(m.Rows[0].Cells, ","); got != "C/I,R/A/I" {
		t.Errorf("cells = %s", got)
	}
}

func TestUnknownFormats(t *testing.T) {
	w := escapes()
	if _, err := Graph(w, "svg"); err == nil {
		t.Error("Graph: want an error for an unknown format")
	}
	if _, err := RACI(w, "xlsx"); err == nil {
		t.Error("RACI: want an error for an unknown format")
	}
}
