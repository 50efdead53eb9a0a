package lang

import (
	"fmt"
	"reflect"
	"strings"
)

// Dump renders a file's declarations as an indented tree, one node per line,
// for golden tests and debugging. With positions, each node shows its range
// as line:col-line:col; without, two parses of differently formatted text
// dump identically exactly when their ASTs are equal.
func Dump(f *File, positions bool) string {
	var b strings.Builder
	d := dumper{f: f, b: &b, positions: positions}
	for _, decl := range f.Decls {
		d.value(reflect.ValueOf(decl), 0)
	}
	return b.String()
}

type dumper struct {
	f         *File
	b         *strings.Builder
	positions bool
}

var nodeType = reflect.TypeOf(Node{})

func (d *dumper) value(v reflect.Value, depth int) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	t := v.Type()
	indent := strings.Repeat("  ", depth)
	fmt.Fprintf(d.b, "%s%s", indent, t.Name())
	if d.positions {
		n := v.FieldByName("Node").Interface().(Node)
		s, e := d.f.Position(n.Pos.Offset), d.f.Position(n.EndPos.Offset)
		fmt.Fprintf(d.b, " @%d:%d-%d:%d", s.Line, s.Column, e.Line, e.Column)
	}
	if e, ok := v.Addr().Interface().(*Expr); ok {
		fmt.Fprintf(d.b, " %s\n", exprTokens(e.Text))
		return
	}
	// Scalars first on the node's line, then children below it.
	var children []reflect.Value
	var names []string
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if sf.Type == nodeType || !sf.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			if fv.String() != "" {
				fmt.Fprintf(d.b, " %s=%q", sf.Name, fv.String())
			}
		case reflect.Bool:
			if fv.Bool() {
				fmt.Fprintf(d.b, " %s", sf.Name)
			}
		case reflect.Pointer, reflect.Interface:
			if !fv.IsNil() {
				children = append(children, fv)
				names = append(names, sf.Name)
			}
		case reflect.Slice:
			for j := 0; j < fv.Len(); j++ {
				children = append(children, fv.Index(j))
				names = append(names, sf.Name)
			}
		}
	}
	d.b.WriteByte('\n')
	for i, c := range children {
		var sub strings.Builder
		(&dumper{f: d.f, b: &sub, positions: d.positions}).value(c, depth+2)
		text := sub.String()
		if strings.Count(text, "\n") == 1 { // a leaf: keep it on the label's line
			fmt.Fprintf(d.b, "%s  .%s: %s", indent, names[i], strings.TrimLeft(text, " "))
			continue
		}
		fmt.Fprintf(d.b, "%s  .%s:\n%s", indent, names[i], text)
	}
}

// exprTokens renders expression text as its tokens separated by single
// spaces, so layout and comments do not count as AST differences.
func exprTokens(text string) string {
	var parts []string
	for _, t := range scan("", text) {
		switch t.Type {
		case tokComment, tokEOL:
		default:
			if !t.EOF() {
				parts = append(parts, t.Value)
			}
		}
	}
	return "`" + strings.Join(parts, " ") + "`"
}
