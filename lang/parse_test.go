package lang

import (
	"github.com/rogpeppe/go-internal/txtar"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestParseGolden parses each testdata/parse/*.txtar's input.lead, which
// must have no errors, and compares the AST dump with its ast section.
// go test -run TestParseGolden -update rewrites the sections.
func TestParseGolden(t *testing.T) {
	runGolden(t, "testdata/parse", "ast", func(t *testing.T, name, src string) string {
		f, ds := Parse(name, src)
		for _, d := range ds {
			t.Errorf("unexpected diagnostic:\n%s", d)
		}
		return Dump(f, true)
	})
}

// TestErrorGolden parses each testdata/errors/*.txtar's input.lead, which
// must have errors, and compares every rendered diagnostic with its
// diagnostics section.
func TestErrorGolden(t *testing.T) {
	runGolden(t, "testdata/errors", "diagnostics", func(t *testing.T, name, src string) string {
		_, ds := Parse(name, src)
		if len(ds) == 0 {
			t.Errorf("no diagnostics")
		}
		return renderAll(ds)
	})
}

func runGolden(t *testing.T, dir, want string, run func(t *testing.T, name, src string) string) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no golden files in %s", dir)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			a, err := readArchive(path)
			if err != nil {
				t.Fatal(err)
			}
			in := section(a, "input.lead")
			if in == nil {
				t.Fatal("no input.lead section")
			}
			got := run(t, "input.lead", string(in))
			checkParse(t, string(in))
			if *update {
				files := []archiveFile{{Name: "input.lead", Data: in}, {Name: want, Data: []byte(got)}}
				a.Files = files
				if err := os.WriteFile(path, txtar.Format(a), 0o666); err != nil {
					t.Fatal(err)
				}
				return
			}
			if exp := string(section(a, want)); got != exp {
				t.Errorf("%s differs (go test -run %s -update rewrites it)\n--- got\n%s\n--- want\n%s", want, t.Name(), got, exp)
			}
		})
	}
}

func renderAll(ds Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		d.Render(&b)
	}
	return b.String()
}

// leak matches grammar and participle wording that must never reach users.
var leak = regexp.MustCompile(`unexpected token|\(expected|more input|syntax error in this|` +
	`(^|[^a-z])<(ident|eol|string|int|float|eof|EOF)>|` +
	`\b(Ident|Ref|StringLit|Number|Literal|TypeExpr|Field|FieldValue|ObjectLit|MemberAttr|DayRange|` +
	`Assignee|OwnerEntry|ActionBlock|Expr|Decl|StageStmt|TeamStmt|CalStmt|ScoreStmt|CellPart|` +
	`StandardStmt|TestStmt|SLAClause|Action|EOL|DotDot|Arrow|SQString|BadString|Punct|Open|Close|Op)\b`)

// checkParse checks the properties every parse must have: no panic, the
// same result twice, every range inside the input, no grammar jargon in a
// message, and the fast parser agreeing with participle.
func checkParse(t testing.TB, src string) {
	t.Helper()
	f, ds := Parse("x.lead", src)
	f2, ds2 := Parse("x.lead", src)
	if Dump(f, true) != Dump(f2, true) || renderAll(ds) != renderAll(ds2) {
		t.Fatalf("Parse is not deterministic on %q", src)
	}
	inside := func(what string, s Span) {
		if s.Start < 0 || s.Start > s.End || s.End > len(src) {
			t.Fatalf("%s range %v is outside the input (%d bytes): %q", what, s, len(src), src)
		}
	}
	for _, d := range ds {
		inside("diagnostic "+d.Code, d.Subject)
		for _, r := range d.Related {
			inside("related note of "+d.Code, r.Span)
		}
		for _, text := range append(append([]string{d.Summary, d.Detail}, d.Help...), fixMessages(d)...) {
			if m := leak.FindString(text); m != "" {
				t.Fatalf("message leaks grammar wording %q: %q (input %q)", m, text, src)
			}
		}
		if d.String() == "" {
			t.Fatal("empty rendering")
		}
	}
	for _, c := range f.Comments {
		inside("comment", c.Span)
	}
	for _, d := range f.Decls {
		walkNodes(reflect.ValueOf(d), func(n *Node) { inside("node", n.Span()) })
	}
	checkParserParity(t, src)
}

func fixMessages(d *Diagnostic) []string {
	var out []string
	for _, f := range d.Fixes {
		out = append(out, f.Message)
	}
	return out
}

func walkNodes(v reflect.Value, fn func(*Node)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkNodes(v.Elem(), fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkNodes(v.Index(i), fn)
		}
	case reflect.Struct:
		if n, ok := v.Addr().Interface().(*Node); ok {
			fn(n)
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkNodes(v.Field(i), fn)
			}
		}
	}
}

// checkParserParity checks that the fast parser accepts exactly the
// declarations participle accepts, with the same AST and ranges.
func checkParserParity(t testing.TB, src string) {
	t.Helper()
	toks, chunks := splitDecls("x.lead", src)
	f := &File{Name: "x.lead", Src: src}
	for _, c := range chunks {
		if len(lexicalErrors(f, toks[c.start:c.end])) > 0 {
			continue
		}
		eof := toks[len(toks)-1]
		eof.Pos.Offset = c.stop
		fast, ok, _ := parseDeclFast(toks[c.start:c.end], eof)
		if !ok && fast != nil {
			checkPartial(t, src, fast)
		}
		root, err := parseDeclParticiple(toks[c.start:c.end], eof)
		text := src[toks[c.start].Pos.Offset:c.stop]
		if ok != (err == nil) {
			t.Fatalf("on %q the fast parser says ok=%v, participle says %v", text, ok, err)
		}
		if !ok {
			continue
		}
		trimEnds(reflect.ValueOf(root.Decl), src)
		want := Dump(&File{Src: src, Decls: []Decl{root.Decl}}, true)
		got := Dump(&File{Src: src, Decls: []Decl{fast}}, true)
		if got != want {
			t.Fatalf("on %q the fast parser's AST differs from participle's:\n--- fast\n%s\n--- participle\n%s", text, got, want)
		}
	}
}

func TestParseExamples(t *testing.T) {
	for name, src := range seedSources(t) {
		if strings.HasPrefix(name, "../examples/") {
			t.Run(filepath.Base(name), func(t *testing.T) {
				_, ds := Parse(name, src)
				for _, d := range ds {
					t.Error(d)
				}
				checkParse(t, src)
			})
		}
	}
	checkParse(t, GenerateWorkflow(30))
}

func FuzzParse(f *testing.F) {
	for _, src := range seedSources(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkParse(t, src)
	})
}

// checkPartial checks the partial AST of a declaration with errors: every
// node lies inside the input and inside its parent.
func checkPartial(t testing.TB, src string, d Decl) {
	t.Helper()
	outer := d.Span()
	walkNodes(reflect.ValueOf(d), func(n *Node) {
		if s := n.Span(); s.Start < outer.Start || s.End > outer.End || s.Start > s.End || s.End > len(src) {
			t.Fatalf("partial node %v outside its declaration %v in %q", s, outer, src)
		}
	})
}

// TestPartialDecl: a declaration with broken statements keeps the ones
// that parse, the broken ones as BadStmt, and a block the file ends in.
func TestPartialDecl(t *testing.T) {
	src := "stage a {\n  lifecycle mql\n  after 30 -> b\n  sla s within 4h {\n    breach { escalate x; notify }\n  }\n  frobnicate now\n  on e -> c\n}\nstage b {\n  owner { accountable ops }\n  on e when lead.fit >"
	f, ds := Parse("x.lead", src)
	if len(ds) != 2 {
		t.Errorf("want one diagnostic per broken declaration, got %d: %v", len(ds), ds)
	}
	got := Dump(f, false)
	for _, want := range []string{
		"Stage Braces\n  .Name: Ident Name=\"a\"\n  .Stmts:\n    Lifecycle",
		"  .Stmts: BadStmt\n  .Stmts:\n    SLA",
		"Escalate\n                  .Role: Ident Name=\"x\"\n              .Actions: BadStmt",
		"  .Stmts: BadStmt\n  .Stmts:\n    On",
		"Stage Braces\n  .Name: Ident Name=\"b\"\n  .Stmts:\n    OwnerBlock",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("partial AST lacks\n%s\nin\n%s", want, got)
		}
	}
	checkParse(t, src)
}
