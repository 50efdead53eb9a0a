package main

import (
	"context"
	"fmt"
	"io"

	"github.com/leadlang/lead/lsp"
)

func init() {
	register(&command{name: "lsp", summary: "language server on stdin/stdout", run: runLSP})
}

const lspDoc = `
Lsp runs Lead's language server, speaking the Language Server Protocol
(JSON-RPC with Content-Length framing) on standard input and output. Editors
start it; see docs/editors.md for VS Code and others.

It checks every .lead file under the editor's workspace folders as
'lead check' does, and answers hover, go to definition, references, rename,
completion, document and workspace symbols, formatting, quick fixes and
folding ranges.

Exit status: 0 after the editor's shutdown and exit; 1 if the stream ends
or the editor exits without shutting the server down first; 2 on a usage
error.`

func runLSP(env *cmdEnv, args []string) int {
	fl := newFlags(env, "lsp", "[--standards DIR]...", lspDoc)
	var standards stringList
	fl.Var(&standards, "standards", "a `DIR` of standards (repeatable)")
	rest, code, ok := fl.parse(args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return fl.usageError("unexpected argument %q", rest[0])
	}
	err := lsp.Serve(context.Background(), stdio{env.stdin, env.stdout}, lsp.Options{StandardsPath: standardsPath(env, standards)})
	if err != nil {
		fmt.Fprintf(env.stderr, "lead lsp: %v\n", err)
		return exitFail
	}
	return exitOK
}

// stdio joins the command's input and output into the one stream the
// protocol runs on.
type stdio struct {
	io.Reader
	io.Writer
}

func (s stdio) Close() error {
	if c, ok := s.Reader.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
