// Package lsp is Lead's language server: a protocol adapter over the lang
// parser and the compiler, which it reuses for every answer (there is no
// second analysis). `lead lsp` runs it on stdin and stdout.
//
// Messages are read by the JSON-RPC connection and handled one at a time,
// in the order they arrived, by one worker goroutine that owns the
// session's state (open documents, compiled workflows, published
// diagnostics), so no lock guards that state. Only $/cancelRequest is
// handled on arrival: it cancels the context of the request it names,
// which the worker checks before and during work. Diagnostics are
// published after a pause in typing (the debounce); a request that needs
// a document's analysis compiles it at once.
package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Options configure a server.
type Options struct {
	// Debounce is how long diagnostics wait after the last change to a
	// document; 0 means DefaultDebounce.
	Debounce time.Duration
	// StandardsPath lists directories searched for `conforms NAME` after
	// the workflow's own directory.
	StandardsPath []string
}

// DefaultDebounce is the pause in typing after which diagnostics are
// published.
const DefaultDebounce = 150 * time.Millisecond

// Serve speaks LSP over rwc until the client sends `exit` or closes the
// stream. It returns nil after a `shutdown` then `exit`, and an error
// otherwise (the caller exits with status 1, as the protocol asks).
func Serve(ctx context.Context, rwc io.ReadWriteCloser, opts Options) error {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var s *session
	conn := jsonrpc2.NewConn(tolerantStream{Stream: jsonrpc2.NewStream(rwc), logf: func(format string, args ...any) { s.logf(format, args...) }})
	s = newSession(conn, opts)
	q := &queue{wake: make(chan struct{}, 1), cancels: map[string]context.CancelFunc{}}
	conn.Go(ctx, q.handler(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.run(ctx, s)
	}()
	select {
	case <-conn.Done():
	case <-s.exited:
	}
	cancel()
	<-done
	s.stop()
	conn.Close()
	// Closing the stream stops the reader, so no goroutine outlives Serve;
	// but a read of a blocking file descriptor (stdin from a pipe) cannot
	// be interrupted, and then the process's exit ends it.
	select {
	case <-conn.Done():
	case <-time.After(time.Second):
	}
	if s.shutdown {
		return nil
	}
	if err := conn.Err(); err != nil && !errors.Is(err, io.EOF) && !s.exitSeen {
		return fmt.Errorf("lsp: connection: %w", err)
	}
	return errors.New("lsp: exit without shutdown")
}

// tolerantStream drops a message that is framed correctly but is not
// JSON-RPC (a client's bug), logging it, instead of ending the session;
// a broken frame still ends it, as nothing after it can be trusted.
type tolerantStream struct {
	jsonrpc2.Stream
	logf func(format string, args ...any)
}

func (t tolerantStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	for {
		msg, n, err := t.Stream.Read(ctx)
		if err != nil && (errors.Is(err, jsonrpc2.ErrInvalidRequest) || strings.HasPrefix(err.Error(), "unmarshaling jsonrpc message")) {
			t.logf("dropped a message that is not JSON-RPC: %v", err)
			continue
		}
		return msg, n, err
	}
}

// message is one request or notification waiting for the worker, or a
// task the session scheduled (a debounced publication).
type message struct {
	ctx    context.Context
	req    jsonrpc2.Request
	reply  jsonrpc2.Replier
	id     string
	task   func(*session)
	cancel context.CancelFunc
}

// queue is the unbounded, ordered queue between the connection's reader
// and the worker.
type queue struct {
	mu      sync.Mutex
	msgs    []message
	wake    chan struct{}
	cancels map[string]context.CancelFunc // by request id, until answered
}

func (q *queue) push(m message) {
	q.mu.Lock()
	q.msgs = append(q.msgs, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) pop() (message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) == 0 {
		return message{}, false
	}
	m := q.msgs[0]
	q.msgs[0] = message{}
	q.msgs = q.msgs[1:]
	return m, true
}

// handler is the connection's handler: it queues every message, except
// $/cancelRequest, which it applies at once.
func (q *queue) handler(ctx context.Context) jsonrpc2.Handler {
	return func(_ context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if req.Method() == "$/cancelRequest" {
			var p struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(req.Params(), &p) == nil {
				q.mu.Lock()
				if c, ok := q.cancels[string(p.ID)]; ok {
					c()
				}
				q.mu.Unlock()
			}
			return nil
		}
		m := message{ctx: ctx, req: req, reply: reply}
		if call, ok := req.(*jsonrpc2.Call); ok {
			callID := call.ID()
			id, _ := json.Marshal(&callID) // ID marshals through its pointer: 5 or "abc", as $/cancelRequest writes it
			m.id = string(id)
			m.ctx, m.cancel = context.WithCancel(ctx)
			q.mu.Lock()
			q.cancels[m.id] = m.cancel
			q.mu.Unlock()
		}
		q.push(m)
		return nil
	}
}

// run is the worker: it handles messages in order until ctx ends.
func (q *queue) run(ctx context.Context, s *session) {
	s.schedule = func(task func(*session)) { q.push(message{task: task}) }
	for {
		m, ok := q.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if m.task != nil {
			m.task(s)
			continue
		}
		q.handle(s, m)
	}
}

func (q *queue) handle(s *session, m message) {
	if m.cancel != nil {
		defer func() {
			q.mu.Lock()
			delete(q.cancels, m.id)
			q.mu.Unlock()
			m.cancel()
		}()
	}
	result, err := s.dispatch(m.ctx, m.req)
	if _, isCall := m.req.(*jsonrpc2.Call); !isCall {
		if err != nil {
			s.logf("%s: %v", m.req.Method(), err)
		}
		return
	}
	if m.ctx.Err() != nil && err == nil && m.req.Method() != "shutdown" {
		err = errCancelled
	}
	if err != nil {
		result = nil
	}
	// Reply outside the request's context: a cancelled request is still
	// answered (with RequestCancelled), and the stream refuses writes
	// under a done context.
	if rerr := m.reply(context.Background(), result, err); rerr != nil {
		s.logf("reply to %s: %v", m.req.Method(), rerr)
	}
}

// LSP error codes beyond JSON-RPC's.
var (
	errCancelled      = jsonrpc2.NewError(-32800, "request cancelled")
	errNotInitialized = jsonrpc2.NewError(-32002, "the server is not initialized: send `initialize` first")
	errShutDown       = jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is shutting down: only `exit` is accepted")
)

func invalidParams(format string, args ...any) error {
	return jsonrpc2.NewError(jsonrpc2.InvalidParams, fmt.Sprintf(format, args...))
}

// decode unmarshals a message's params, or reports them as invalid.
func decode(req jsonrpc2.Request, v any) error {
	if err := json.Unmarshal(req.Params(), v); err != nil {
		return invalidParams("%s: invalid params: %v", req.Method(), err)
	}
	return nil
}

// dispatch runs one message on the session and returns the result of a
// request. It recovers from a panic in a handler, so one bad request
// becomes an error response and the session goes on.
func (s *session) dispatch(ctx context.Context, req jsonrpc2.Request) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, jsonrpc2.NewError(jsonrpc2.InternalError, fmt.Sprintf("%s: internal error: %v", req.Method(), r))
		}
	}()
	method := req.Method()
	switch {
	case method == "exit":
		s.exitSeen = true
		close(s.exited)
		return nil, nil
	case s.shutdown:
		return nil, errShutDown
	case method == "initialize":
		return s.initialize(req)
	case !s.initialized:
		if _, isCall := req.(*jsonrpc2.Call); isCall {
			return nil, errNotInitialized
		}
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, errCancelled
	}
	h, ok := handlers[method]
	if !ok {
		if _, isCall := req.(*jsonrpc2.Call); isCall {
			return nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, fmt.Sprintf("method %q is not supported", method))
		}
		return nil, nil // notifications we do not use, such as $/setTrace
	}
	return h(s, ctx, req)
}

// handlers maps each supported method to its handler.
var handlers map[string]func(*session, context.Context, jsonrpc2.Request) (any, error)

func init() {
	handlers = map[string]func(*session, context.Context, jsonrpc2.Request) (any, error){
		"initialized": func(*session, context.Context, jsonrpc2.Request) (any, error) { return nil, nil },
		"shutdown": func(s *session, _ context.Context, _ jsonrpc2.Request) (any, error) {
			s.shutdown = true
			return nil, nil
		},
		"textDocument/didOpen":                (*session).didOpen,
		"textDocument/didChange":              (*session).didChange,
		"textDocument/didClose":               (*session).didClose,
		"textDocument/didSave":                (*session).didSave,
		"workspace/didChangeWatchedFiles":     (*session).didChangeWatchedFiles,
		"workspace/didChangeWorkspaceFolders": (*session).didChangeWorkspaceFolders,
		"textDocument/hover":                  (*session).hover,
		"textDocument/definition":             (*session).definition,
		"textDocument/references":             (*session).references,
		"textDocument/prepareRename":          (*session).prepareRename,
		"textDocument/rename":                 (*session).rename,
		"textDocument/documentSymbol":         (*session).documentSymbol,
		"workspace/symbol":                    (*session).workspaceSymbol,
		"textDocument/completion":             (*session).completion,
		"textDocument/formatting":             (*session).formatting,
		"textDocument/codeAction":             (*session).codeAction,
		"textDocument/foldingRange":           (*session).foldingRange,
	}
}

// initializeParams is the part of InitializeParams the server reads,
// with LSP 3.17's positionEncodings, which protocol's types predate.
type initializeParams struct {
	RootURI          protocol.DocumentURI       `json:"rootUri"`
	WorkspaceFolders []protocol.WorkspaceFolder `json:"workspaceFolders"`
	Capabilities     struct {
		General struct {
			PositionEncodings []string `json:"positionEncodings"`
		} `json:"general"`
	} `json:"capabilities"`
}

// serverCapabilities adds LSP 3.17's positionEncoding to protocol's
// ServerCapabilities.
type serverCapabilities struct {
	protocol.ServerCapabilities
	PositionEncoding string `json:"positionEncoding"`
}

type initializeResult struct {
	Capabilities serverCapabilities  `json:"capabilities"`
	ServerInfo   protocol.ServerInfo `json:"serverInfo"`
}

func (s *session) initialize(req jsonrpc2.Request) (any, error) {
	if s.initialized {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "the server is already initialized")
	}
	var p initializeParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	encoding := "utf-16"
	for _, e := range p.Capabilities.General.PositionEncodings {
		if e == "utf-8" {
			encoding, s.utf8 = "utf-8", true
		}
	}
	for _, f := range p.WorkspaceFolders {
		s.addRoot(protocol.DocumentURI(f.URI))
	}
	if len(p.WorkspaceFolders) == 0 && p.RootURI != "" {
		s.addRoot(p.RootURI)
	}
	s.initialized = true
	// Check the workspace after answering, so the editor is not kept
	// waiting; requests that arrive first compile what they need.
	s.schedule((*session).indexWorkspace)
	return initializeResult{
		ServerInfo: protocol.ServerInfo{Name: "lead lsp"},
		Capabilities: serverCapabilities{
			PositionEncoding: encoding,
			ServerCapabilities: protocol.ServerCapabilities{
				TextDocumentSync: protocol.TextDocumentSyncOptions{
					OpenClose: true,
					Change:    protocol.TextDocumentSyncKindIncremental,
					Save:      &protocol.SaveOptions{},
				},
				HoverProvider:      true,
				DefinitionProvider: true,
				ReferencesProvider: true,
				RenameProvider:     protocol.RenameOptions{PrepareProvider: true},
				CompletionProvider: &protocol.CompletionOptions{
					TriggerCharacters: []string{".", ">", " "},
				},
				DocumentSymbolProvider:     true,
				WorkspaceSymbolProvider:    true,
				DocumentFormattingProvider: true,
				CodeActionProvider: protocol.CodeActionOptions{
					CodeActionKinds: []protocol.CodeActionKind{protocol.QuickFix},
				},
				FoldingRangeProvider: true,
				Workspace: &protocol.ServerCapabilitiesWorkspace{
					WorkspaceFolders: &protocol.ServerCapabilitiesWorkspaceFolders{Supported: true, ChangeNotifications: true},
				},
			},
		},
	}, nil
}
