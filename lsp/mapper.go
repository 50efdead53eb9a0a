package lsp

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/leadlang/lead/lang"
)

// mapper converts between byte offsets, the canonical positions of lang
// and the compiler, and LSP positions: a 0-based line and a character
// counted in UTF-16 code units, or in bytes when the client negotiated
// UTF-8 (LSP 3.17 positionEncoding). gopls' protocol.Mapper is the model.
type mapper struct {
	src   string
	lines []int // offset of the start of each line
	utf8  bool
}

func newMapper(src string, utf8 bool) *mapper {
	m := &mapper{src: src, utf8: utf8, lines: []int{0}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			m.lines = append(m.lines, i+1)
		}
	}
	return m
}

// lineEnd is the offset of the end of line l, before its "\r\n" or "\n".
func (m *mapper) lineEnd(l int) int {
	end := len(m.src)
	if l+1 < len(m.lines) {
		end = m.lines[l+1] - 1
		if end > m.lines[l] && m.src[end-1] == '\r' {
			end--
		}
	}
	return end
}

// position converts an offset (clamped to the text, moved back to the
// start of the code point it is inside) to an LSP position.
func (m *mapper) position(off int) protocol.Position {
	off = max(0, min(off, len(m.src)))
	for off > 0 && off < len(m.src) && !utf8.RuneStart(m.src[off]) {
		off--
	}
	l := sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > off }) - 1
	start := m.lines[l]
	if m.utf8 {
		return protocol.Position{Line: uint32(l), Character: uint32(off - start)}
	}
	units := 0
	for _, r := range m.src[start:off] {
		units += utf16Len(r)
	}
	return protocol.Position{Line: uint32(l), Character: uint32(units)}
}

func utf16Len(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// offset converts an LSP position to an offset. A character past the end
// of its line means the line's end, as the protocol says; one inside a
// code point (half of a surrogate pair, a byte inside a UTF-8 sequence)
// means the start of that code point. A line past the end of the text is
// an error, except the line just after a text that ends with a newline.
func (m *mapper) offset(p protocol.Position) (int, error) {
	l := int(p.Line)
	if l >= len(m.lines) {
		return 0, fmt.Errorf("position %d:%d is past the end of the document (%d lines)", p.Line, p.Character, len(m.lines))
	}
	start, end := m.lines[l], m.lineEnd(l)
	want := int(p.Character)
	if m.utf8 {
		off := min(start+want, end)
		for off > start && !utf8.RuneStart(m.src[off]) {
			off--
		}
		return off, nil
	}
	units, off := 0, start
	for off < end {
		r, n := utf8.DecodeRuneInString(m.src[off:end])
		if units+utf16Len(r) > want {
			break
		}
		units += utf16Len(r)
		off += n
	}
	return off, nil
}

func (m *mapper) rng(s lang.Span) protocol.Range {
	return protocol.Range{Start: m.position(s.Start), End: m.position(s.End)}
}

// span converts an LSP range to offsets.
func (m *mapper) span(r protocol.Range) (lang.Span, error) {
	start, err := m.offset(r.Start)
	if err != nil {
		return lang.Span{}, err
	}
	end, err := m.offset(r.End)
	if err != nil {
		return lang.Span{}, err
	}
	if end < start {
		return lang.Span{}, fmt.Errorf("range ends (%d:%d) before it starts (%d:%d)", r.End.Line, r.End.Character, r.Start.Line, r.Start.Character)
	}
	return lang.Span{Start: start, End: end}, nil
}
