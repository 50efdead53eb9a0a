package lang

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

var referenceLexer = lexer.MustStateful(referenceRules())

// lexed is a token as the parity test compares it.
type lexed struct {
	Name   string
	Value  string
	Offset int
}

func (l lexed) String() string { return fmt.Sprintf("%s %q @%d", l.Name, l.Value, l.Offset) }

func scanTokens(src string) []lexed {
	names := symbolNames(tokenNames)
	var out []lexed
	for _, t := range scan("x.lead", src) {
		out = append(out, lexed{names[t.Type], t.Value, t.Pos.Offset})
	}
	return out
}

func referenceTokens(t testing.TB, src string) []lexed {
	names := symbolNames(referenceLexer.Symbols())
	lx, err := referenceLexer.LexString("x.lead", src)
	if err != nil {
		t.Fatal(err)
	}
	var out []lexed
	for {
		tok, err := lx.Next()
		if err != nil {
			t.Fatalf("reference lexer failed on %q: %v", src, err)
		}
		out = append(out, lexed{names[tok.Type], tok.Value, tok.Pos.Offset})
		if tok.EOF() {
			return out
		}
	}
}

func symbolNames(symbols map[string]lexer.TokenType) map[lexer.TokenType]string {
	names := make(map[lexer.TokenType]string, len(symbols))
	for name, tt := range symbols {
		names[tt] = name
	}
	return names
}

func checkLexerParity(t testing.TB, src string) {
	t.Helper()
	got, want := scanTokens(src), referenceTokens(t, src)
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w lexed
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("scan and the reference lexer differ on %q at token %d:\nscan:      %v\nreference: %v", src, i, g, w)
		}
	}
}

func TestLexerParity(t *testing.T) {
	for _, src := range lexerParityCases {
		t.Run("", func(t *testing.T) { checkLexerParity(t, src) })
	}
	for name, src := range seedSources(t) {
		t.Run(filepath.Base(name), func(t *testing.T) { checkLexerParity(t, src) })
	}
	checkLexerParity(t, GenerateWorkflow(10))
}

// TestScanTokens pins down the classification of tricky input, which the
// parity test alone would not (both sides could agree on a mistake).
func TestScanTokens(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"30days", "Int 30|Ident days"},
		{"1ms 1m30s 90s 2w 500ms 1h30m", "Duration 1ms|Duration 1m30s|Duration 90s|Duration 2w|Duration 500ms|Duration 1h30m"},
		{"1h30", "Int 1|Ident h30"},
		{"09:00 9:00", "Clock 09:00|Int 9|Punct :|Int 00"},
		{"09:00-17:00", "Clock 09:00|Punct -|Clock 17:00"},
		{"0..100 0.5 1e3 2.5e-3", "Int 0|DotDot ..|Int 100|Float 0.5|Float 1e3|Float 2.5e-3"},
		{"75% -5", "Percent 75%|Punct -|Int 5"},
		{"a->b == c != d && e || f", "Ident a|Arrow ->|Ident b|Op ==|Ident c|Op !=|Ident d|Op &&|Ident e|Op |||Ident f"},
		{`"a\"b" 'c'`, `String "a\"b"|SQString 'c'`},
		{`"abc` + "\nx", "BadString \"abc|EOL \n|Ident x"},
		{"a // c\nb /* d */ e", "Ident a|Comment // c|EOL \n|Ident b|Comment /* d */|Ident e"},
		{"a /* d", "Ident a|BadComment /* d"},
		{"(a\nb) c\nd", "Open (|Ident a|Ident b|Close )|Ident c|EOL \n|Ident d"},
		{"[a;b]", "Open [|Ident a|EOL ;|Ident b|Close ]"},
		{") x\ny", "Close )|Ident x|EOL \n|Ident y"},
		{"é # & @", "Invalid é|Invalid #|Invalid &|Invalid @"},
		{"\xff", "Invalid \xff"},
	} {
		var parts []string
		for _, tok := range scanTokens(tc.src) {
			if tok.Name != "EOF" {
				parts = append(parts, tok.Name+" "+tok.Value)
			}
		}
		if got := strings.Join(parts, "|"); got != tc.want {
			t.Errorf("scan(%q)\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

var lexerParityCases = []string{
	"",
	"30days 1ms 1m30s 1m 1h30m 90s 2w 500ms 4h 180d 1msx 1m5 1h30 1h30m5 5dé 2e3d 1e5ms 5.5h 1.5% 10ms%",
	"09:00 9:00 123:45 09:000 09:00x 12:30m 00:00 24:60",
	"0..100 1.5.3 1.5e 1.5e+3 1e5 1E-2 0.5 3. .5 1..2",
	"-> - > == = != ! <= < >= > && & || | ? : . , { } ( ) [ ] + * / %",
	`"plain" "esc \" \\ \n \t \u00e9" "\q" "" "a\` + "\n" + `"unterminated` + "\n'single' 'a\\'b' 'open\n",
	"\"trailing backslash\\",
	"// line comment\n/* block */ /* multi\nline */ /*/ x */ /**/ /* unterminated",
	"/* unterminated\nfor ever",
	"when (a &&\n   b) -> c\n[x,\ny]\n(a\n(b\n)\n)\n",
	"a;b ;; (c;d)\n",
	"unicode ünï ✓ 日本 \u00a0 \t\r\n",
	"bad bytes \xff\xfe \xc3",
	"x\r\ny\r\n",
	") ] ) stray\n(",
	"((((deep\n))))\n]\n",
	"lead.x-1 a-b 3-2 -3 --4",
	"#!/bin/lead\n@user &x",
}

func FuzzLexerParity(f *testing.F) {
	for _, src := range lexerParityCases {
		f.Add(src)
	}
	for _, src := range seedSources(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkLexerParity(t, src)
	})
}
