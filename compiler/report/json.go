package report

import (
	"encoding/json"
	"io"

	"github.com/leadlang/lead/lang"
)

// jsonReport is the document of `lead check --format json`. Lists are never
// null, so consumers can iterate without checks.
type jsonReport struct {
	Diagnostics []jsonDiag `json:"diagnostics"`
}

type jsonDiag struct {
	File      string        `json:"file"`
	Line      int           `json:"line"`
	Column    int           `json:"column"`
	EndLine   int           `json:"end_line"`
	EndColumn int           `json:"end_column"`
	Severity  string        `json:"severity"`
	Code      string        `json:"code"`
	Message   string        `json:"message"`
	Detail    string        `json:"detail,omitempty"`
	Help      []string      `json:"help"`
	Related   []jsonRelated `json:"related"`
	Fixes     []jsonFix     `json:"fixes"`
}

type jsonRelated struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type jsonFix struct {
	Message string `json:"message"`
	Replace string `json:"replace"`
}

// JSON writes {"diagnostics": [...]}, one object per diagnostic with its
// file, 1-based line and rune column range, severity, code, message, help,
// related places and suggested fixes.
func JSON(w io.Writer, ds lang.Diagnostics) error {
	out := jsonReport{Diagnostics: make([]jsonDiag, 0, len(ds))}
	for _, d := range ds {
		r := subjectRegion(d.File, d.Subject)
		jd := jsonDiag{
			File: d.File.Name, Line: r.line, Column: r.col, EndLine: r.endLine, EndColumn: r.endCol,
			Severity: d.Severity.String(), Code: d.Code, Message: d.Summary, Detail: d.Detail,
			Help: append([]string{}, d.Help...), Related: []jsonRelated{}, Fixes: []jsonFix{},
		}
		for _, rel := range d.Related {
			p := rel.File.Position(rel.Span.Start)
			jd.Related = append(jd.Related, jsonRelated{File: rel.File.Name, Line: p.Line, Column: p.Column, Message: rel.Message})
		}
		for _, f := range d.Fixes {
			jd.Fixes = append(jd.Fixes, jsonFix{Message: f.Message, Replace: f.Replace})
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
