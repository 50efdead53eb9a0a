package lsp

import (
	"testing"

	"go.lsp.dev/protocol"
)

func TestMapper(t *testing.T) {
	// é is 2 bytes and 1 UTF-16 unit; 日 3 bytes, 1 unit; 😀 4 bytes, 2 units.
	src := "a é 日 😀 z\r\nline2\n"
	for _, tc := range []struct {
		off       int
		utf16, u8 protocol.Position
		back16    int // offset of utf16 mapped back
		name      string
	}{
		{0, pos(0, 0), pos(0, 0), 0, "start"},
		{2, pos(0, 2), pos(0, 2), 2, "é"},
		{5, pos(0, 4), pos(0, 5), 5, "日"},
		{9, pos(0, 6), pos(0, 9), 9, "😀"},
		{14, pos(0, 9), pos(0, 14), 14, "z"},
		{10, pos(0, 6), pos(0, 9), 9, "inside 😀: its start"},
		{17, pos(1, 0), pos(1, 0), 17, "line 2"},
		{len(src), pos(2, 0), pos(2, 0), len(src), "end"},
	} {
		if got := newMapper(src, false).position(tc.off); got != tc.utf16 {
			t.Errorf("%s: UTF-16 position(%d) = %v, want %v", tc.name, tc.off, got, tc.utf16)
		}
		if got := newMapper(src, true).position(tc.off); got != tc.u8 {
			t.Errorf("%s: UTF-8 position(%d) = %v, want %v", tc.name, tc.off, got, tc.u8)
		}
		if got, err := newMapper(src, false).offset(tc.utf16); err != nil || got != tc.back16 {
			t.Errorf("%s: offset(%v) = %d, %v, want %d", tc.name, tc.utf16, got, err, tc.back16)
		}
	}
	m := newMapper(src, false)
	for _, tc := range []struct {
		p    protocol.Position
		want int
	}{
		{pos(0, 7), 9},   // the second half of 😀's surrogate pair: its start
		{pos(0, 99), 15}, // past the end of a CRLF line: before the \r
		{pos(1, 99), 22},
	} {
		if got, err := m.offset(tc.p); err != nil || got != tc.want {
			t.Errorf("offset(%v) = %d, %v, want %d", tc.p, got, err, tc.want)
		}
	}
	if got, err := newMapper(src, true).offset(pos(0, 11)); err != nil || got != 9 {
		t.Errorf("UTF-8 offset inside 😀 = %d, %v, want 9", got, err)
	}
	if _, err := m.offset(pos(3, 0)); err == nil {
		t.Error("a line past the end is not an error")
	}
	if _, err := m.span(protocol.Range{Start: pos(1, 2), End: pos(1, 1)}); err == nil {
		t.Error("a backwards range is not an error")
	}
}

func pos(line, char uint32) protocol.Position { return protocol.Position{Line: line, Character: char} }
