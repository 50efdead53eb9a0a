package lsp

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

func (s *session) didOpen(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DidOpenTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	path := pathOf(p.TextDocument.URI)
	s.docs[path] = &document{uri: p.TextDocument.URI, version: p.TextDocument.Version, text: p.TextDocument.Text}
	s.changed(path)
	return nil, nil
}

// changeEvent is protocol's TextDocumentContentChangeEvent with an
// optional range: without one, the text replaces the whole document.
type changeEvent struct {
	Range *protocol.Range `json:"range"`
	Text  string          `json:"text"`
}

type didChangeParams struct {
	TextDocument   protocol.VersionedTextDocumentIdentifier `json:"textDocument"`
	ContentChanges []changeEvent                            `json:"contentChanges"`
}

func (s *session) didChange(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p didChangeParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	path := pathOf(p.TextDocument.URI)
	d, ok := s.docs[path]
	if !ok {
		return nil, invalidParams("didChange: %s is not open", p.TextDocument.URI)
	}
	var firstErr error
	for _, c := range p.ContentChanges {
		if c.Range == nil {
			d.text = c.Text
			continue
		}
		m := newMapper(d.text, s.utf8)
		sp, err := m.span(*c.Range)
		if err != nil {
			// The edit does not fit the document: keep the text as it
			// is rather than guess, and say so.
			if firstErr == nil {
				firstErr = invalidParams("didChange %s: %v; the edit was not applied", p.TextDocument.URI, err)
			}
			continue
		}
		d.text = d.text[:sp.Start] + c.Text + d.text[sp.End:]
	}
	d.version = p.TextDocument.Version
	s.changed(path)
	return nil, firstErr
}

func (s *session) didClose(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	path := pathOf(p.TextDocument.URI)
	if _, ok := s.docs[path]; !ok {
		return nil, nil
	}
	uri := s.uriOf(path)
	delete(s.docs, path)
	if _, err := s.read(path); err != nil || !s.files[path] {
		// An unsaved buffer, or a file outside the workspace: forget it.
		delete(s.units, path)
		delete(s.loose, path)
		if s.shown[path] {
			delete(s.shown, path)
			_ = s.conn.Notify(context.Background(), "textDocument/publishDiagnostics",
				&protocol.PublishDiagnosticsParams{URI: uri, Diagnostics: []protocol.Diagnostic{}})
		}
		for _, p := range s.unitsReading(path) {
			s.units[p].stale = true
		}
		s.flush()
		return nil, nil
	}
	s.changed(path) // the file on disk is the truth again
	return nil, nil
}

func (s *session) didSave(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DidSaveTextDocumentParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	if path := pathOf(p.TextDocument.URI); strings.HasSuffix(path, ".lead") {
		s.files[path] = true
	}
	return nil, nil
}

// didChangeWatchedFiles picks up changes on disk to files the editor does
// not have open (another tool, a git checkout).
func (s *session) didChangeWatchedFiles(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DidChangeWatchedFilesParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	for _, c := range p.Changes {
		if c == nil {
			continue
		}
		path := pathOf(c.URI)
		if !strings.HasSuffix(path, ".lead") {
			continue
		}
		if c.Type == protocol.FileChangeTypeDeleted {
			delete(s.files, path)
		} else {
			s.files[path] = true
		}
		if _, open := s.docs[path]; open {
			continue // the editor's buffer wins until it is closed
		}
		s.changed(path)
		if c.Type == protocol.FileChangeTypeDeleted {
			delete(s.loose, path)
			s.publish(path)
		}
	}
	return nil, nil
}

func (s *session) didChangeWorkspaceFolders(_ context.Context, req jsonrpc2.Request) (any, error) {
	var p protocol.DidChangeWorkspaceFoldersParams
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	for _, f := range p.Event.Removed {
		root := pathOf(protocol.DocumentURI(f.URI))
		s.roots = slices.DeleteFunc(s.roots, func(r string) bool { return r == root })
		for path := range s.files {
			if _, open := s.docs[path]; !open && strings.HasPrefix(path, root+string(filepath.Separator)) {
				s.forget(path)
			}
		}
	}
	for _, f := range p.Event.Added {
		s.addRoot(protocol.DocumentURI(f.URI))
	}
	s.indexWorkspace()
	return nil, nil
}

// forget drops a file that left the workspace, with its diagnostics.
func (s *session) forget(path string) {
	delete(s.files, path)
	delete(s.loose, path)
	var touched []string
	if u := s.units[path]; u != nil && u.result != nil {
		for _, f := range u.result.Files {
			touched = append(touched, f.Name)
		}
	}
	delete(s.units, path)
	for _, p := range append(touched, path) {
		s.publish(p)
	}
}
