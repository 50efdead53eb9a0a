package lang

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Span is a half-open byte range [Start, End) in one file.
type Span struct {
	Start, End int
}

// Severity says whether a diagnostic fails a check.
type Severity int

const (
	// Error fails `lead check`.
	Error Severity = iota
	// Warning fails `lead check` only under --deny-warnings.
	Warning
	// Note informs and never fails a check, such as a standard's waiver
	// with its justification.
	Note
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Note:
		return "note"
	}
	return "error"
}

// MarshalText renders the severity in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Related points at another place that explains a diagnostic, such as the
// first declaration of a duplicate name.
type Related struct {
	File    *File
	Span    Span
	Message string
}

// Fix is a suggested replacement of the diagnostic's subject.
type Fix struct {
	Message string // "did you mean `score`?"
	Replace string // the replacement text for the subject span
}

// Diagnostic is one finding about a source file, after hashicorp/hcl's
// Diagnostic: a stable code, a one-line summary, a tight subject range,
// optional detail, related ranges, help and suggested fixes.
type Diagnostic struct {
	Severity Severity
	Code     string // stable: E001..., W001...
	Summary  string
	Detail   string
	File     *File
	Subject  Span
	Related  []Related
	Help     []string
	Fixes    []Fix
}

// Diagnostics is a list of diagnostics, usually for several files.
type Diagnostics []*Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Sort orders diagnostics by file name, then position, then code; the
// order among equal ones is kept. Diagnostics without a file come first.
func (ds Diagnostics) Sort() {
	name := func(d *Diagnostic) string {
		if d.File == nil {
			return ""
		}
		return d.File.Name
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if an, bn := name(a), name(b); an != bn {
			return an < bn
		}
		if a.Subject.Start != b.Subject.Start {
			return a.Subject.Start < b.Subject.Start
		}
		return a.Code < b.Code
	})
}

// Position is a human position: 1-based line and 1-based column in runes.
type Position struct {
	Line, Column int
}

// Position converts a byte offset to a 1-based line and rune column. The
// offset is clamped to the file.
func (f *File) Position(offset int) Position {
	offset = max(0, min(offset, len(f.Src)))
	line := f.lineIndex(offset)
	start := f.lineStarts()[line]
	return Position{Line: line + 1, Column: utf8.RuneCountInString(f.Src[start:offset]) + 1}
}

// Offset converts a 1-based line and rune column back to a byte offset,
// clamped to the file; a column past the end of its line gives the offset
// of the line's end (before its "\r\n" or "\n").
func (f *File) Offset(p Position) int {
	starts := f.lineStarts()
	if p.Line < 1 {
		return 0
	}
	if p.Line > len(starts) {
		return len(f.Src)
	}
	off := starts[p.Line-1]
	for col := 1; col < p.Column && off < len(f.Src) && f.Src[off] != '\n' && !strings.HasPrefix(f.Src[off:], "\r\n"); col++ {
		_, n := utf8.DecodeRuneInString(f.Src[off:])
		off += n
	}
	return off
}

// Line returns the text of the 1-based line, without its newline.
func (f *File) Line(n int) string {
	starts := f.lineStarts()
	if n < 1 || n > len(starts) {
		return ""
	}
	end := len(f.Src)
	if n < len(starts) {
		end = starts[n] - 1
	}
	return strings.TrimSuffix(f.Src[starts[n-1]:end], "\r")
}

func (f *File) lineStarts() []int {
	if f.lines == nil {
		f.lines = append(f.lines, 0)
		for i := 0; i < len(f.Src); i++ {
			if f.Src[i] == '\n' {
				f.lines = append(f.lines, i+1)
			}
		}
	}
	return f.lines
}

func (f *File) lineIndex(offset int) int {
	starts := f.lineStarts()
	return sort.Search(len(starts), func(i int) bool { return starts[i] > offset }) - 1
}

// Render writes the diagnostic as text: the `file:line:col: severity[CODE]:
// summary` header, the source line with the subject underlined, then detail,
// related places and help lines.
func (d *Diagnostic) Render(b *strings.Builder) {
	if d.File == nil {
		fmt.Fprintf(b, "%s[%s]: %s\n", d.Severity, d.Code, d.Summary)
		d.renderNotes(b)
		return
	}
	p := d.File.Position(d.Subject.Start)
	fmt.Fprintf(b, "%s:%d:%d: %s[%s]: %s\n", d.File.Name, p.Line, p.Column, d.Severity, d.Code, d.Summary)
	d.File.underline(b, d.Subject)
	d.renderNotes(b)
}

func (d *Diagnostic) renderNotes(b *strings.Builder) {
	if d.Detail != "" {
		for _, l := range strings.Split(d.Detail, "\n") {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
	for _, r := range d.Related {
		f := r.File
		if f == nil {
			f = d.File
		}
		if f == nil {
			fmt.Fprintf(b, "  note: %s\n", r.Message)
			continue
		}
		rp := f.Position(r.Span.Start)
		fmt.Fprintf(b, "  %s:%d:%d: note: %s\n", f.Name, rp.Line, rp.Column, r.Message)
	}
	for _, f := range d.Fixes {
		fmt.Fprintf(b, "  help: %s\n", f.Message)
	}
	for _, h := range d.Help {
		fmt.Fprintf(b, "  help: %s\n", h)
	}
}

// String renders the diagnostic as Render does.
func (d *Diagnostic) String() string {
	var b strings.Builder
	d.Render(&b)
	return b.String()
}

// underline prints the first line of span with carets under its subject,
// terraform style:
//
//	   |
//	12 |   after 30 -> dormant
//	   |         ^^
func (f *File) underline(b *strings.Builder, s Span) {
	p := f.Position(s.Start)
	text := f.Line(p.Line)
	gutter := fmt.Sprint(p.Line)
	pad := strings.Repeat(" ", len(gutter))
	width := 1
	if s.End > s.Start {
		endLine := f.Position(s.End)
		if endLine.Line == p.Line {
			width = endLine.Column - p.Column
		} else {
			width = utf8.RuneCountInString(text) - (p.Column - 1)
		}
	}
	if width < 1 {
		width = 1
	}
	// Keep tabs so the carets line up under tab-indented text.
	var lead strings.Builder
	col := 1
	for _, r := range text {
		if col >= p.Column {
			break
		}
		if r == '\t' {
			lead.WriteByte('\t')
		} else {
			lead.WriteByte(' ')
		}
		col++
	}
	fmt.Fprintf(b, "%s |\n%s | %s\n%s | %s%s\n", pad, gutter, text, pad, lead.String(), strings.Repeat("^", width))
}
