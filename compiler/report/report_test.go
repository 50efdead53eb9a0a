package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/leadlang/lead/compiler"
	"github.com/leadlang/lead/lang"
)

var update = flag.Bool("update", false, "rewrite the want.* sections of testdata/*.txtar")

// TestGolden compiles the .lead files of each testdata archive (workflows
// only; their _test.lead files are loaded by the compiler) and compares
// every format's output with the archive's want.FORMAT section.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ds := compileArchive(ar)
			changed := false
			for _, format := range Formats {
				var b bytes.Buffer
				if err := Write(&b, format, ds, Options{ToolVersion: "v1.2.3"}); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				if format == "json" || format == "sarif" {
					if !json.Valid(b.Bytes()) {
						t.Errorf("%s output is not valid JSON:\n%s", format, b.Bytes())
					}
				}
				if format == "sarif" {
					validateSARIF(t, b.Bytes(), len(ds))
				}
				section := findSection(ar, "want."+format)
				if section == nil {
					t.Fatalf("missing section want.%s", format)
				}
				if got := b.String(); got != string(section.Data) {
					if *update {
						section.Data = []byte(got)
						changed = true
						continue
					}
					t.Errorf("--format %s:\n--- got\n%s\n--- want\n%s", format, got, section.Data)
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

// compileArchive compiles the archive's workflow files, reading every
// source from the archive, and returns all diagnostics in order.
func compileArchive(ar *txtar.Archive) lang.Diagnostics {
	src := map[string][]byte{}
	for _, f := range ar.Files {
		src[f.Name] = f.Data
	}
	opts := compiler.Options{ReadFile: func(name string) ([]byte, error) {
		if b, ok := src[filepath.ToSlash(name)]; ok {
			return b, nil
		}
		return nil, fs.ErrNotExist
	}}
	var ds lang.Diagnostics
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".lead") && !strings.HasSuffix(f.Name, "_test.lead") {
			ds = append(ds, compiler.CompileFile(f.Name, opts).Diags...)
		}
	}
	ds.Sort()
	return ds
}

func findSection(ar *txtar.Archive, name string) *txtar.File {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			return &ar.Files[i]
		}
	}
	return nil
}

// The SARIF members lead must write, as pointers so absence is visible.
// They mirror the required properties of the SARIF 2.1.0 schema plus the
// ones code-scanning services need to place a result.
type (
	checkLog struct {
		Schema  *string    `json:"$schema"`
		Version *string    `json:"version"`
		Runs    []checkRun `json:"runs"`
	}
	checkRun struct {
		Tool *struct {
			Driver *struct {
				Name           *string `json:"name"`
				InformationURI *string `json:"informationUri"`
				Rules          []struct {
					ID               *string       `json:"id"`
					ShortDescription *checkMessage `json:"shortDescription"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []checkResult `json:"results"`
	}
	checkResult struct {
		RuleID           *string         `json:"ruleId"`
		RuleIndex        *int            `json:"ruleIndex"`
		Level            *string         `json:"level"`
		Message          *checkMessage   `json:"message"`
		Locations        []checkLocation `json:"locations"`
		RelatedLocations []checkLocation `json:"relatedLocations"`
	}
	checkMessage struct {
		Text *string `json:"text"`
	}
	checkLocation struct {
		PhysicalLocation *struct {
			ArtifactLocation *struct {
				URI *string `json:"uri"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine   *int `json:"startLine"`
				StartColumn *int `json:"startColumn"`
				EndLine     *int `json:"endLine"`
				EndColumn   *int `json:"endColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
)

// validateSARIF checks the structure of a SARIF log: required members are
// present, lists are lists, every result names a rule of the driver, and
// regions are 1-based and ordered.
func validateSARIF(t *testing.T, raw []byte, results int) {
	t.Helper()
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatalf("sarif: %v", err)
	}
	runs, _ := generic["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("sarif: want one run, got %v", generic["runs"])
	}
	run := runs[0].(map[string]any)
	if _, ok := run["results"].([]any); !ok {
		t.Errorf("sarif: results is %v, want a list", run["results"])
	}
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if _, ok := driver["rules"].([]any); !ok {
		t.Errorf("sarif: rules is %v, want a list", driver["rules"])
	}

	var log checkLog
	if err := json.Unmarshal(raw, &log); err != nil {
		t.Fatalf("sarif: %v", err)
	}
	if log.Schema == nil || *log.Schema != SARIFSchema || log.Version == nil || *log.Version != "2.1.0" {
		t.Errorf("sarif: $schema/version missing or wrong: %v %v", log.Schema, log.Version)
	}
	r := log.Runs[0]
	if r.Tool == nil || r.Tool.Driver == nil || r.Tool.Driver.Name == nil || *r.Tool.Driver.Name != "lead" || r.Tool.Driver.InformationURI == nil {
		t.Fatalf("sarif: tool.driver incomplete")
	}
	rules := r.Tool.Driver.Rules
	seen := map[string]bool{}
	for _, rule := range rules {
		if rule.ID == nil || rule.ShortDescription == nil || rule.ShortDescription.Text == nil || *rule.ShortDescription.Text == "" {
			t.Errorf("sarif: rule without id or shortDescription.text")
			continue
		}
		if seen[*rule.ID] {
			t.Errorf("sarif: rule %s listed twice", *rule.ID)
		}
		seen[*rule.ID] = true
	}
	if len(r.Results) != results {
		t.Errorf("sarif: %d results, want %d", len(r.Results), results)
	}
	checkLoc := func(what string, l checkLocation) {
		p := l.PhysicalLocation
		if p == nil || p.ArtifactLocation == nil || p.ArtifactLocation.URI == nil || *p.ArtifactLocation.URI == "" || p.Region == nil {
			t.Errorf("sarif: %s without physicalLocation.artifactLocation.uri and region", what)
			return
		}
		g := p.Region
		if g.StartLine == nil || g.StartColumn == nil || g.EndLine == nil || g.EndColumn == nil {
			t.Errorf("sarif: %s region incomplete", what)
			return
		}
		if *g.StartLine < 1 || *g.StartColumn < 1 || *g.EndLine < *g.StartLine ||
			(*g.EndLine == *g.StartLine && *g.EndColumn < *g.StartColumn) {
			t.Errorf("sarif: %s region out of order: %d:%d-%d:%d", what, *g.StartLine, *g.StartColumn, *g.EndLine, *g.EndColumn)
		}
	}
	for i, res := range r.Results {
		if res.RuleID == nil || res.RuleIndex == nil || *res.RuleIndex < 0 || *res.RuleIndex >= len(rules) || *rules[*res.RuleIndex].ID != *res.RuleID {
			t.Errorf("sarif: result %d: ruleId/ruleIndex do not name a rule of the driver", i)
		}
		if res.Level == nil || (*res.Level != "error" && *res.Level != "warning" && *res.Level != "note") {
			t.Errorf("sarif: result %d: bad level %v", i, res.Level)
		}
		if res.Message == nil || res.Message.Text == nil || *res.Message.Text == "" {
			t.Errorf("sarif: result %d: no message.text", i)
		}
		if len(res.Locations) != 1 {
			t.Errorf("sarif: result %d: %d locations, want 1", i, len(res.Locations))
		}
		for _, l := range res.Locations {
			checkLoc("location", l)
		}
		for _, l := range res.RelatedLocations {
			checkLoc("related location", l)
		}
	}
}

// handMade is a diagnostic with every part filled in and characters that
// each format must escape.
func handMade() lang.Diagnostics {
	f := &lang.File{Name: "dir,x/a:b.lead", Src: "stage s {\n  after 30 -> é\n}\n"}
	return lang.Diagnostics{{
		Severity: lang.Warning, Code: "W009", File: f,
		Summary: "100% sure, really: yes", Detail: "first line\nsecond line",
		Subject: lang.Span{Start: 18, End: 20},
		Related: []lang.Related{{File: f, Span: lang.Span{Start: 6, End: 7}, Message: "the stage"}},
		Help:    []string{"write a unit"},
		Fixes:   []lang.Fix{{Message: "did you mean `30d`?", Replace: "30d"}},
	}}
}

func TestGitHubEscaping(t *testing.T) {
	var b bytes.Buffer
	if err := GitHub(&b, handMade()); err != nil {
		t.Fatal(err)
	}
	want := "::warning file=dir%2Cx/a%3Ab.lead,line=2,col=9,endLine=2,endColumn=11,title=W009::" +
		"100%25 sure, really: yes%0Afirst line%0Asecond line%0Ahelp: did you mean `30d`?%0Ahelp: write a unit%0Anote: dir,x/a:b.lead:1:7: the stage\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

func TestJSONHandMade(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, handMade()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Diagnostics []map[string]any `json:"diagnostics"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	d := got.Diagnostics[0]
	for k, v := range map[string]any{
		"file": "dir,x/a:b.lead", "line": 2.0, "column": 9.0, "end_line": 2.0, "end_column": 11.0,
		"severity": "warning", "code": "W009", "message": "100% sure, really: yes", "detail": "first line\nsecond line",
	} {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if rel := d["related"].([]any)[0].(map[string]any); rel["line"] != 1.0 || rel["column"] != 7.0 || rel["message"] != "the stage" {
		t.Errorf("related = %v", rel)
	}
	if fix := d["fixes"].([]any)[0].(map[string]any); fix["replace"] != "30d" {
		t.Errorf("fixes = %v", fix)
	}
}

func TestSARIFHandMade(t *testing.T) {
	var b bytes.Buffer
	opts := Options{Describe: func(code string) string { return "described " + code }}
	if err := SARIF(&b, handMade(), opts); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes(), 1)
	for _, want := range []string{`"uri": "dir,x/a:b.lead"`, `"text": "described W009"`, `"insertedContent": {`, `"level": "warning"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("sarif lacks %s:\n%s", want, b.String())
		}
	}
}

func TestFileURI(t *testing.T) {
	for in, want := range map[string]string{
		"examples/simple.lead": "examples/simple.lead",
		"/abs/my flow.lead":    "file:///abs/my%20flow.lead",
		"<std.waterfall>":      "%3Cstd.waterfall%3E",
	} {
		if got := fileURI(in); got != want {
			t.Errorf("fileURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	e := &lang.Diagnostic{Severity: lang.Error}
	w := &lang.Diagnostic{Severity: lang.Warning}
	for _, c := range []struct {
		ds   lang.Diagnostics
		want string
	}{
		{nil, ""},
		{lang.Diagnostics{e}, "1 error"},
		{lang.Diagnostics{w}, "1 warning"},
		{lang.Diagnostics{e, e, w}, "2 errors, 1 warning"},
		{lang.Diagnostics{w, w}, "2 warnings"},
	} {
		if got := Summary(c.ds); got != c.want {
			t.Errorf("Summary = %q, want %q", got, c.want)
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", nil, Options{}); err == nil {
		t.Error("want an error for an unknown format")
	}
}
