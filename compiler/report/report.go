// Package report renders diagnostics for `lead check --format`: text for
// people, JSON for scripts, GitHub Actions workflow commands for pull
// request annotations, and SARIF 2.1.0 for code-scanning tools.
//
// Every format reports the same facts: a diagnostic's file, its subject as
// 1-based lines and 1-based columns counted in runes (lang.File.Position),
// its severity, stable code, summary, help, related places and fixes.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/leadlang/lead/lang"
)

// Formats lists the output formats Write accepts, the default first.
var Formats = []string{"text", "json", "github", "sarif"}

// Options tune the machine-readable formats.
type Options struct {
	// ToolVersion is the version of lead reported in SARIF; empty leaves it out.
	ToolVersion string
	// Describe returns a one-line description of a diagnostic code for
	// SARIF's rules; nil, or an empty result, falls back to the summary of
	// the first diagnostic with that code.
	Describe func(code string) string
}

// Write renders ds in format (one of Formats) to w. Text output carries no
// summary line: callers print Summary where they want it.
func Write(w io.Writer, format string, ds lang.Diagnostics, opts Options) error {
	switch format {
	case "text":
		return Text(w, ds)
	case "json":
		return JSON(w, ds)
	case "github":
		return GitHub(w, ds)
	case "sarif":
		return SARIF(w, ds, opts)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Text writes each diagnostic as lang.Diagnostic.Render does: the
// `file:line:col: severity[CODE]: summary` header, the source line with the
// subject underlined, then detail, related places and help.
func Text(w io.Writer, ds lang.Diagnostics) error {
	var b strings.Builder
	for _, d := range ds {
		d.Render(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary counts errors and warnings, e.g. "2 errors, 1 warning"; it is
// empty when there are no diagnostics.
func Summary(ds lang.Diagnostics) string {
	errs, warns, notes := 0, 0, 0
	for _, d := range ds {
		switch d.Severity {
		case lang.Warning:
			warns++
		case lang.Note:
			notes++
		default:
			errs++
		}
	}
	var parts []string
	if errs > 0 {
		parts = append(parts, plural(errs, "error"))
	}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning"))
	}
	if notes > 0 {
		parts = append(parts, plural(notes, "note"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// region is a diagnostic's subject in human coordinates.
type region struct {
	line, col, endLine, endCol int
}

// subjectRegion converts a span to 1-based lines and rune columns; an empty
// span ends where it starts.
func subjectRegion(f *lang.File, s lang.Span) region {
	start := f.Position(s.Start)
	end := start
	if s.End > s.Start {
		end = f.Position(s.End)
	}
	return region{start.Line, start.Column, end.Line, end.Column}
}

// Message is the one-text form of a diagnostic used where a format (or an
// editor) has a single message field: the summary, then the detail, the
// suggested fixes and the help lines.
func Message(d *lang.Diagnostic) string {
	var b strings.Builder
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString("\n" + d.Detail)
	}
	for _, f := range d.Fixes {
		b.WriteString("\nhelp: " + f.Message)
	}
	for _, h := range d.Help {
		b.WriteString("\nhelp: " + h)
	}
	return b.String()
}
