package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/leadlang/lead/lang"
)

// GitHub writes one GitHub Actions workflow command per diagnostic,
// `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`,
// which the Actions runner turns into annotations on the pull request.
// Warnings use `::warning`. The message carries the detail, help and
// related places.
func GitHub(w io.Writer, ds lang.Diagnostics) error {
	var b strings.Builder
	for _, d := range ds {
		r := subjectRegion(d.File, d.Subject)
		level := "error"
		switch d.Severity {
		case lang.Warning:
			level = "warning"
		case lang.Note:
			level = "notice"
		}
		msg := Message(d)
		for _, rel := range d.Related {
			p := rel.File.Position(rel.Span.Start)
			msg += fmt.Sprintf("\nnote: %s:%d:%d: %s", rel.File.Name, p.Line, p.Column, rel.Message)
		}
		fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s::%s\n",
			level, escapeProperty(d.File.Name), r.line, r.col, r.endLine, r.endCol,
			escapeProperty(d.Code), escapeData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a workflow command's message as the Actions toolkit
// does (@actions/core's escapeData).
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a property value, where ':' and ',' would end it.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
