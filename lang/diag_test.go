package lang

import (
	"strings"
	"testing"
)

func TestPositionOffsetLine(t *testing.T) {
	// "é" is two bytes and "日" three; each is one column.
	f := &File{Name: "x.lead", Src: "ab\r\nédé日x\n\nlast"}
	for _, tc := range []struct {
		offset int
		want   Position
	}{
		{0, Position{1, 1}},
		{1, Position{1, 2}},
		{2, Position{1, 3}},  // the \r
		{3, Position{1, 4}},  // the \n
		{4, Position{2, 1}},  // é
		{6, Position{2, 2}},  // d
		{7, Position{2, 3}},  // é
		{9, Position{2, 4}},  // 日
		{12, Position{2, 5}}, // x
		{13, Position{2, 6}}, // \n
		{14, Position{3, 1}}, // the empty line
		{15, Position{4, 1}},
		{19, Position{4, 5}}, // end of file
		{100, Position{4, 5}},
		{-3, Position{1, 1}},
	} {
		if got := f.Position(tc.offset); got != tc.want {
			t.Errorf("Position(%d) = %v, want %v", tc.offset, got, tc.want)
		}
		if tc.offset >= 0 && tc.offset <= len(f.Src) {
			if back := f.Offset(tc.want); back != tc.offset && !(tc.offset == 3 && back == 2) {
				t.Errorf("Offset(%v) = %d, want %d", tc.want, back, tc.offset)
			}
		}
	}
	for _, tc := range []struct {
		p    Position
		want int
	}{
		{Position{0, 5}, 0},
		{Position{1, 99}, 2}, // past the end of a CRLF line: before the \r
		{Position{2, 99}, 13},
		{Position{9, 1}, len(f.Src)},
	} {
		if got := f.Offset(tc.p); got != tc.want {
			t.Errorf("Offset(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	for n, want := range map[int]string{0: "", 1: "ab", 2: "édé日x", 3: "", 4: "last", 5: ""} {
		if got := f.Line(n); got != want {
			t.Errorf("Line(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPositionMatchesOffsetEverywhere(t *testing.T) {
	src := GenerateWorkflow(2) + "\r\n// ünïcödé 日本\r\n\tx"
	f := &File{Src: src}
	for off := 0; off <= len(src); off++ {
		p := f.Position(off)
		if off < len(src) && (src[off]&0xC0) == 0x80 {
			continue // inside a multi-byte rune
		}
		if src[max(off-1, 0):off] == "\r" && off < len(src) && src[off] == '\n' {
			continue // the \n of \r\n: the column past the line's end maps before the \r
		}
		if got := f.Offset(p); got != off {
			t.Fatalf("Offset(Position(%d) = %v) = %d", off, p, got)
		}
	}
}

func TestRender(t *testing.T) {
	f := &File{Name: "w.lead", Src: "stage a {\n\tafter 30 -> b\n\t\t// x\n}\n"}
	d := &Diagnostic{
		Code: CodeSyntax, File: f, Subject: Span{17, 19},
		Summary: "expected a duration, found `30`",
		Detail:  "first line\nsecond line",
		Related: []Related{{File: f, Span: Span{8, 9}, Message: "the block opened here"}},
		Fixes:   []Fix{{Message: "did you mean `30d`?", Replace: "30d"}},
		Help:    []string{"durations need a unit"},
	}
	want := "w.lead:2:8: error[E001]: expected a duration, found `30`\n" +
		"  |\n" +
		"2 | \tafter 30 -> b\n" +
		"  | \t      ^^\n" + // the tab is kept so the carets line up
		"  first line\n" +
		"  second line\n" +
		"  w.lead:1:9: note: the block opened here\n" +
		"  help: did you mean `30d`?\n" +
		"  help: durations need a unit\n"
	if got := d.String(); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}

	// A span over several lines is underlined to the end of its first
	// line; an empty span gets one caret; a warning says so.
	d = &Diagnostic{Severity: Warning, Code: "W001", File: f, Subject: Span{8, 30}, Summary: "s"}
	if got, want := d.String(), "w.lead:1:9: warning[W001]: s\n  |\n1 | stage a {\n  |         ^\n"; got != want {
		t.Errorf("multi-line span:\n%q\nwant\n%q", got, want)
	}
	d = &Diagnostic{Code: "E001", File: f, Subject: Span{0, 0}, Summary: "s"}
	if got := d.String(); !strings.HasSuffix(got, "  | ^\n") {
		t.Errorf("empty span:\n%s", got)
	}

	// Two-digit line numbers widen the gutter; multi-byte runes count once.
	f = &File{Name: "u.lead", Src: strings.Repeat("\n", 11) + "role é x"}
	d = &Diagnostic{Code: "E002", File: f, Subject: Span{11 + 8, 11 + 9}, Summary: "s"}
	if got, want := d.String(), "u.lead:12:8: error[E002]: s\n   |\n12 | role é x\n   |        ^\n"; got != want {
		t.Errorf("gutter:\n%q\nwant\n%q", got, want)
	}

	// Without a file there is no position or source line.
	d = &Diagnostic{Code: "E100", Summary: "no file", Help: []string{"h"}}
	if got, want := d.String(), "error[E100]: no file\n  help: h\n"; got != want {
		t.Errorf("no file: %q, want %q", got, want)
	}
}

func TestDiagnosticsSort(t *testing.T) {
	a := &File{Name: "a.lead", Src: strings.Repeat("x", 100)}
	b := &File{Name: "b.lead", Src: strings.Repeat("x", 100)}
	ds := Diagnostics{
		{File: b, Subject: Span{1, 2}, Code: "E001", Summary: "b1"},
		{File: a, Subject: Span{50, 51}, Code: "E001", Summary: "a50"},
		{File: a, Subject: Span{5, 6}, Code: "E008", Summary: "a5-E008"},
		{File: a, Subject: Span{5, 9}, Code: "E002", Summary: "a5-E002"},
		{File: a, Subject: Span{5, 6}, Code: "E008", Summary: "a5-E008-second"},
		{Code: "E100", Summary: "nofile"},
	}
	ds.Sort()
	var got []string
	for _, d := range ds {
		got = append(got, d.Summary)
	}
	want := "nofile a5-E002 a5-E008 a5-E008-second a50 b1"
	if strings.Join(got, " ") != want {
		t.Errorf("Sort = %v, want %s", got, want)
	}
	if !ds.HasErrors() || (Diagnostics{{Severity: Warning}}).HasErrors() {
		t.Error("HasErrors")
	}
}
