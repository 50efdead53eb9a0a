// Package lang parses Lead source: its lexer, its grammar, the parser
// that runs, and the syntax diagnostics.
//
// The grammar is in ast.go and nowhere else (docs/language/grammar.md
// explains it):
//
//   - each node's participle struct tags are the syntax;
//   - the marker methods at the end of ast.go (`func (*Qualify) stageStmt() {}`)
//     register each statement in its union, in order;
//   - directives in a node's doc comment give the syntax shown in help
//     (//lead:usage), the kind of block its braces hold (//lead:block) and
//     the blocks a statement is listed in when not all of its union's
//     (//lead:in).
//
// go generate ./lang (lang/internal/grammargen) writes grammar_gen.go
// from it: the parser that runs (fastParser: recursive descent, one
// function a node, with recovery inside blocks and the record of what was
// expected at each token), the keyword tables that word syntax errors and
// drive completion (BlockKeywords), the syntax of each statement, the
// declaration keywords that resynchronise after a missing `}`, and the
// keywords that end an expression; and grammar_gen_test.go, the
// participle unions of the grammar test. TestGeneratedGrammar fails when
// the generated files are not what ast.go says.
//
// To add a statement, edit ast.go (the node, its tags, its //lead:usage
// and its marker method), run go generate ./lang, and teach the
// formatter (lang/format/nodes.go) to print it. Participle, which runs
// only in tests, holds the generated parser to the tags: the parity test
// and FuzzParse require both to accept the same declarations with the
// same AST.
//
// The lexer is defined twice, as participle rules (referenceRules, the
// readable specification) and as the hand-written scanner that runs
// (scan); TestLexerParity and FuzzLexerParity fail when they disagree.
package lang

//go:generate go run ./internal/grammargen/cmd/grammargen
