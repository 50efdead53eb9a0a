// Package format prints parsed .lead files in the canonical layout: two-space
// indentation, one statement per line in multi-line blocks, one-line blocks
// kept on one line, columns aligned over runs of similar lines, and every
// comment kept next to the statement it was written beside.
//
// The printer walks the AST and takes everything else from the source: the
// text of expressions and literals as written, the comments, where blank
// lines and line breaks were. Alignment is computed per run of one-line
// statements once the run ends, and the padding is inserted into the output
// in one pass at the end, so each statement is printed exactly once.
package format

import (
	"bytes"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/leadlang/lead/lang"
)

// Source formats a file that parsed without errors and returns canonical text.
func Source(f *lang.File) []byte {
	p := &printer{
		src:      f.Src,
		comments: f.Comments,
		out:      make([]byte, 0, len(f.Src)+len(f.Src)/4+64),
	}
	list(p, f.Decls, 0, len(f.Src), true)
	return p.finish()
}

// printer holds the output and the position in the source's comments.
type printer struct {
	src      string
	comments []lang.Comment
	ci       int // index of the next comment not yet printed
	out      []byte
	indent   int // indentation of the statements being printed

	// lines is a stack of pending one-line statements: each block owns the
	// tail from the length it found on entry, and aligns it when a run ends.
	lines []line
	// pads are the spaces (and blank lines) that alignment and the blank
	// line rule add to text already printed; finish inserts them.
	pads []pad

	wantCell bool // the statement being printed should mark its alignment point
	cell     int  // offset of the marked alignment point, or -1
}

// line is one printed one-line statement that may take part in alignment.
type line struct {
	start   int // offset of its first byte, after the indentation
	cell    int // offset of its alignment point, or -1
	end     int // offset after its code, before any trailing comment
	comment bool
	kind    alignKind
	pad     int // spaces added at cell
}

// pad inserts n copies of b before out[off].
type pad struct {
	off int
	n   int
	b   byte
}

// alignKind says which statements align with each other when consecutive.
type alignKind uint8

const (
	alignNone   alignKind = iota
	alignField            // lead and event fields: the type column
	alignEvent            // one-line event declarations: the `{`
	alignRoute            // routing rules: the `->`
	alignArrow            // `on ... -> TARGET` transitions: the `->`
	alignAssess           // `disqualify when` / `qualify when`: the `when`
	alignClause           // one-line `warn at X { }` / `breach { }`: the `{`
	alignOwner            // owner entries: the target after the RACI keyword
	alignStages           // `stages` / `terminal` of a standard: the names
)

func alignKindOf(n any) alignKind {
	switch n := n.(type) {
	case *lang.Field:
		return alignField
	case *lang.Event:
		return alignEvent
	case *lang.RouteRule:
		return alignRoute
	case *lang.On:
		if n.Target != nil {
			return alignArrow
		}
	case *lang.Disqualify, *lang.Qualify:
		return alignAssess
	case *lang.Warn, *lang.Breach:
		return alignClause
	case *lang.OwnerEntry:
		return alignOwner
	case *lang.StandardStages:
		return alignStages
	}
	return alignNone
}

type spanner interface{ Span() lang.Span }

// list prints the statements of a multi-line block, or the declarations of
// a file (top), one per line with the comments and blank lines between them.
// last is the source offset after the block's `{` (or 0); close is the
// offset of its `}` (or the end of the file).
func list[T spanner](p *printer, items []T, last, close int, top bool) {
	base := len(p.lines)
	savedCell := p.cell
	first := true      // nothing printed yet in this block: no blank line
	prevMulti := false // the previous entry was a multi-line declaration
	hasPrev := false   // a declaration has been printed
	for i := 0; i <= len(items); i++ {
		limit := close
		if i < len(items) {
			limit = items[i].Span().Start
		}
		// Comments on their own lines before the next statement (or the `}`).
		// groupStart is where a blank line goes if the statement they lead
		// turns out to be a multi-line declaration.
		groupStart, groupBlank := -1, false
		for p.ci < len(p.comments) && p.comments[p.ci].Span.Start < limit {
			c := p.comments[p.ci]
			p.ci++
			p.flush(base)
			blank := !first && (prevMulti || p.newlines(last, c.Span.Start) >= 2)
			if groupStart < 0 {
				groupStart, groupBlank = len(p.out), blank
			}
			if blank {
				p.nl()
			}
			p.writeIndent()
			p.comment(c)
			last = max(last, c.Span.End)
			p.trailing(&last, limit)
			p.nl()
			first, prevMulti = false, false
		}
		if i == len(items) {
			break
		}
		sp := items[i].Span()
		blank := !first && (prevMulti || p.newlines(last, sp.Start) >= 2)
		if groupStart < 0 {
			groupStart, groupBlank = len(p.out), blank
		}
		if blank {
			p.flush(base)
			p.nl()
		}
		p.writeIndent()
		start := len(p.out)
		kind := alignKindOf(items[i])
		p.wantCell, p.cell = kind != alignNone, -1
		p.node(items[i])
		p.wantCell = false
		p.trimSpace()
		end := len(p.out)
		last = max(last, sp.End)
		next := close
		if i+1 < len(items) {
			next = items[i+1].Span().Start
		}
		trail := p.trailing(&last, next)
		multi := bytes.IndexByte(p.out[start:], '\n') >= 0
		if multi {
			p.flush(base)
			if top && hasPrev && !groupBlank {
				p.pads = append(p.pads, pad{off: groupStart, n: 1, b: '\n'})
			}
		} else {
			p.lines = append(p.lines, line{start: start, cell: p.cell, end: end, comment: trail, kind: kind})
		}
		p.nl()
		first, hasPrev, prevMulti = false, true, top && multi
	}
	p.flush(base)
	p.cell = savedCell
}

// block prints a `{ ... }` block whose braces are at open and close. A block
// written on one line without comments stays on one line, its items joined
// by sep; otherwise it gets one item per line.
func block[T spanner](p *printer, items []T, open, close int, sep string) {
	p.wantCell = false
	p.at(open)
	if p.oneLine(open, close) {
		if len(items) == 0 {
			p.str("{}")
			return
		}
		p.str("{ ")
		for i, it := range items {
			if i > 0 {
				p.str(sep)
			}
			p.node(it)
		}
		p.str(" }")
		return
	}
	if len(items) == 0 && !p.commentBefore(close) {
		p.str("{}")
		return
	}
	p.str("{")
	last := open + 1
	next := close
	if len(items) > 0 {
		next = items[0].Span().Start
	}
	p.trailing(&last, next)
	p.nl()
	p.indent += 2
	list(p, items, last, close, false)
	p.indent -= 2
	p.writeIndent()
	p.str("}")
}

// oneLine reports whether the block between open and close was written on
// one line with no comment inside.
func (p *printer) oneLine(open, close int) bool {
	return strings.IndexByte(p.src[open:close], '\n') < 0 && !p.commentBefore(close)
}

// commentBefore reports whether an unprinted comment starts before off.
func (p *printer) commentBefore(off int) bool {
	return p.ci < len(p.comments) && p.comments[p.ci].Span.Start < off
}

// trailing prints the comments that follow *last on the same source line
// and start before limit, after a space, and advances *last past them.
func (p *printer) trailing(last *int, limit int) bool {
	printed := false
	for p.ci < len(p.comments) {
		c := p.comments[p.ci]
		if c.Span.Start >= limit || c.Span.Start > *last && p.newlines(*last, c.Span.Start) > 0 {
			break
		}
		p.ci++
		p.space()
		p.comment(c)
		*last = max(*last, c.Span.End)
		printed = true
	}
	return printed
}

// at prints the comments that start before the source offset off inside a
// statement, where the token at off is about to be printed. A comment that
// began or ended a source line there (a `//` comment always ends one) can
// only be inside ( ) or [ ], where a line break is whitespace: it begins or
// ends its line in the output too, continuation lines indented 4 more.
func (p *printer) at(off int) {
	for p.ci < len(p.comments) && p.comments[p.ci].Span.Start < off {
		c := p.comments[p.ci]
		p.ci++
		if p.ownLine(c) {
			// Only inside ( ) or [ ] can a comment start a line within a
			// statement; it keeps a line of its own.
			p.trimSpace()
			if n := len(p.out); n > 0 && p.out[n-1] != '\n' {
				p.out = append(p.out, '\n')
			}
			p.spaces(p.indent + 4)
		} else if n := len(p.out); n > 0 {
			switch p.out[n-1] {
			case ' ', '\n', '(', '[':
			default:
				p.out = append(p.out, ' ')
			}
		}
		p.comment(c)
		if p.endsLine(c) {
			p.nl()
			p.spaces(p.indent + 4)
		} else {
			p.out = append(p.out, ' ')
		}
	}
}

// ownLine reports whether only whitespace and separators (`,` `;`, which
// the output puts elsewhere) precede c on its source line.
func (p *printer) ownLine(c lang.Comment) bool {
	for i := c.Span.Start - 1; i >= 0; i-- {
		switch p.src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r', ',', ';':
		default:
			return false
		}
	}
	return true
}

// endsLine reports whether only whitespace and separators follow c on its
// source line.
func (p *printer) endsLine(c lang.Comment) bool {
	for i := c.Span.End; i < len(p.src); i++ {
		switch p.src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r', ',', ';':
		default:
			return false
		}
	}
	return true
}

// comment prints a comment as written, less trailing whitespace on its lines.
func (p *printer) comment(c lang.Comment) {
	text := c.Text
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		p.str(text[:i])
		p.nl()
		text = text[i+1:]
	}
	p.str(strings.TrimRight(text, " \t\r"))
}

// newlines counts the line breaks in the source between from and to.
func (p *printer) newlines(from, to int) int {
	if from >= to {
		return 0
	}
	return strings.Count(p.src[from:to], "\n")
}

func (p *printer) str(s string) { p.out = append(p.out, s...) }
func (p *printer) writeIndent() { p.spaces(p.indent) }
func (p *printer) mark() {
	if p.wantCell {
		p.cell, p.wantCell = len(p.out), false
	}
}

func (p *printer) spaces(n int) {
	for ; n > 0; n-- {
		p.out = append(p.out, ' ')
	}
}

// space writes one space unless the output already ends with one.
func (p *printer) space() {
	if n := len(p.out); n == 0 || p.out[n-1] != ' ' {
		p.out = append(p.out, ' ')
	}
}

// nl ends the output line, dropping trailing whitespace.
func (p *printer) nl() {
	p.trimSpace()
	p.out = append(p.out, '\n')
}

func (p *printer) trimSpace() {
	n := len(p.out)
	for n > 0 && (p.out[n-1] == ' ' || p.out[n-1] == '\t' || p.out[n-1] == '\r') {
		n--
	}
	p.out = p.out[:n]
}

// flush aligns the pending one-line statements of the block whose stack
// base is base, then drops them: first the alignment column of each run of
// one kind, then the trailing comments of each run of commented lines.
func (p *printer) flush(base int) {
	ls := p.lines[base:]
	for i := 0; i < len(ls); {
		j := i + 1
		for j < len(ls) && ls[j].kind == ls[i].kind {
			j++
		}
		if ls[i].kind != alignNone && j-i > 1 {
			w := 0
			for k := i; k < j; k++ {
				if ls[k].cell >= 0 {
					w = max(w, utf8.RuneCount(p.out[ls[k].start:ls[k].cell]))
				}
			}
			for k := i; k < j; k++ {
				if ls[k].cell < 0 {
					continue
				}
				if d := w - utf8.RuneCount(p.out[ls[k].start:ls[k].cell]); d > 0 {
					ls[k].pad = d
					p.pads = append(p.pads, pad{off: ls[k].cell, n: d, b: ' '})
				}
			}
		}
		i = j
	}
	for i := 0; i < len(ls); {
		if !ls[i].comment {
			i++
			continue
		}
		j := i + 1
		for j < len(ls) && ls[j].comment {
			j++
		}
		if j-i > 1 {
			w := 0
			for k := i; k < j; k++ {
				w = max(w, utf8.RuneCount(p.out[ls[k].start:ls[k].end])+ls[k].pad)
			}
			for k := i; k < j; k++ {
				if d := w - utf8.RuneCount(p.out[ls[k].start:ls[k].end]) - ls[k].pad; d > 0 {
					p.pads = append(p.pads, pad{off: ls[k].end, n: d, b: ' '})
				}
			}
		}
		i = j
	}
	p.lines = p.lines[:base]
}

// finish inserts the pads into the output, moving text from the back.
func (p *printer) finish() []byte {
	if len(p.pads) == 0 {
		return p.out
	}
	slices.SortStableFunc(p.pads, func(a, b pad) int { return a.off - b.off })
	total := 0
	for _, d := range p.pads {
		total += d.n
	}
	n := len(p.out)
	p.out = slices.Grow(p.out, total)[:n+total]
	dst, src := n+total, n
	for k := len(p.pads) - 1; k >= 0; k-- {
		d := p.pads[k]
		seg := src - d.off
		copy(p.out[dst-seg:dst], p.out[d.off:src])
		dst -= seg
		for i := 0; i < d.n; i++ {
			dst--
			p.out[dst] = d.b
		}
		src = d.off
	}
	return p.out
}

// expr prints an expression as written, from the source so that its /* */
// comments stay. Tabs outside strings and comments become spaces; when it
// spans lines, continuation lines move by as many columns as its first line
// did, so their alignment with it is kept.
func (p *printer) expr(e *lang.Expr) {
	start, end := e.Pos.Offset, e.EndPos.Offset
	p.at(start)
	for p.ci < len(p.comments) && p.comments[p.ci].Span.Start < end {
		p.ci++
	}
	text := p.src[start:end]
	if strings.IndexAny(text, "\t\r\n") < 0 {
		p.str(text)
		return
	}
	delta := 0
	if strings.IndexByte(text, '\n') >= 0 {
		nl := bytes.LastIndexByte(p.out, '\n')
		srcLine := strings.LastIndexByte(p.src[:start], '\n')
		delta = width(string(p.out[nl+1:])) - width(p.src[srcLine+1:start])
	}
	const (
		code = iota
		str
		lineComment
		blockComment
	)
	state, quote := code, byte(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch state {
		case str:
			p.out = append(p.out, c)
			if c == '\\' && i+1 < len(text) {
				i++
				p.out = append(p.out, text[i])
			} else if c == quote {
				state = code
			}
			continue
		case lineComment:
			if c != '\n' {
				p.out = append(p.out, c)
				continue
			}
			state = code
		case blockComment:
			switch {
			case c == '*' && i+1 < len(text) && text[i+1] == '/':
				p.str("*/")
				i++
				state = code
			case c == '\n':
				p.nl()
			default:
				p.out = append(p.out, c)
			}
			continue
		}
		switch c {
		case '"', '\'':
			state, quote = str, c
			p.out = append(p.out, c)
		case '/':
			p.out = append(p.out, c)
			if i+1 < len(text) && (text[i+1] == '/' || text[i+1] == '*') {
				i++
				p.out = append(p.out, text[i])
				state = lineComment
				if text[i] == '*' {
					state = blockComment
				}
			}
		case '\t', '\r':
			p.out = append(p.out, ' ')
		case '\n':
			p.nl()
			j, w := i+1, 0
			for ; j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'); j++ {
				w = advance(w, text[j])
			}
			if j < len(text) && text[j] != '\n' {
				p.spaces(w + delta)
			}
			i = j - 1
		default:
			p.out = append(p.out, c)
		}
	}
}

// width is the display width of a line prefix: runes, with tab stops every
// 8 columns. Source and output columns are measured the same way, so an
// expression that did not move keeps its continuation lines where they are.
func width(s string) int {
	w := 0
	for _, r := range s {
		if r == '\t' {
			w = advance(w, '\t')
		} else {
			w++
		}
	}
	return w
}

func advance(w int, c byte) int {
	if c == '\t' {
		return (w/8 + 1) * 8
	}
	return w + 1
}

// findOpen returns the offset of the first `{` at or after from, skipping
// comments: the opening brace of a declaration whose header ends at from.
func (p *printer) findOpen(from int) int {
	if i := p.findByte(from, len(p.src), '{'); i >= 0 {
		return i
	}
	return len(p.src)
}

// findByte returns the offset of the first b in the source between from and
// to that is not inside a comment, or -1. The text searched holds only
// punctuation, names, whitespace and comments.
func (p *printer) findByte(from, to int, b byte) int {
	s := p.src[:to]
	for i := from; i < len(s); i++ {
		switch s[i] {
		case b:
			return i
		case '/':
			if i+1 < len(s) && s[i+1] == '/' {
				for i < len(s) && s[i] != '\n' {
					i++
				}
			} else if i+1 < len(s) && s[i+1] == '*' {
				j := strings.Index(s[i+2:], "*/")
				if j < 0 {
					return -1
				}
				i += j + 3
			}
		}
	}
	return -1
}
