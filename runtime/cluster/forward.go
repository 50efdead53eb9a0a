package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// ForwardedHeader marks a request one node forwarded to another: the
// receiving node serves it itself, so a request never goes round in
// circles while partitions change hands.
const ForwardedHeader = "Lead-Forwarded-By"

// maxCaptureBody bounds the capture bodies the forwarder reads to find
// the lead id (the API's own limit is lower).
const maxCaptureBody = 64 << 20

// Forward serves the requests for a lead on the node that holds the
// lead's partition: those under /v1/leads/{id}, and captures with an id
// (POST /v1/workflows/{wf}/leads; a capture without one is served here,
// with an id in a partition this node holds). The others, and the
// requests for leads of its own partitions, go to next.
func (n *Node) Forward(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := leadOf(r)
		if id == "" || r.Header.Get(ForwardedHeader) != "" {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := n.Holds(id); ok {
			next.ServeHTTP(w, r)
			return
		}
		o, ok := n.OwnerOf(id)
		if !ok || o.Node == n.id {
			n.refreshOwners() // the next try may find the new owner
			// No node holds it now (it is changing hands), or this node's
			// lease is being renewed: the client retries.
			n.met.forwarded.WithLabelValues("unavailable").Inc()
			unavailable(w, fmt.Sprintf("lead %s: no node holds its partition right now (it is changing hands); retry", id))
			return
		}
		target, err := url.Parse(o.Addr)
		if err != nil {
			n.met.forwarded.WithLabelValues("unavailable").Inc()
			unavailable(w, fmt.Sprintf("lead %s: its partition's owner %s advertises an invalid address %q", id, o.Node, o.Addr))
			return
		}
		n.met.forwarded.WithLabelValues("forwarded").Inc()
		// An owner that stops answering (stopped, or cut off) loses the
		// partition once its lease runs out: the forwarded request is
		// abandoned then, and the client told to retry (this node, or
		// another, holds it by then). An owner that is alive answers for
		// itself even after the partition left it (a commit it makes from
		// then on is fenced: refused, nothing applied), so the request is
		// abandoned only a tick after the owner changed, if it has not
		// answered by then: an answer from the owner is a definite
		// outcome, an abandoned request an unknown one.
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		go func() {
			t := time.NewTicker(n.lease / 4)
			defer t.Stop()
			moved := false
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if now, ok := n.OwnerOf(id); moved {
					cancel(errAbandoned)
					return
				} else if !ok || now != o {
					moved = true
				}
			}
		}()
		r = r.WithContext(ctx)
		p := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set(ForwardedHeader, n.id)
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				n.refreshOwners()
				if errors.Is(context.Cause(ctx), errAbandoned) {
					unavailable(w, fmt.Sprintf("lead %s: its partition left node %s (%s) while that node had this request, and it did not answer: the request may or may not have been applied; retry it with the same lead id or event id", id, o.Node, o.Addr))
					return
				}
				unavailable(w, fmt.Sprintf("lead %s: its partition's owner %s (%s) did not answer: %v; retry", id, o.Node, o.Addr, err))
			},
		}
		p.ServeHTTP(w, r)
	})
}

// errAbandoned is the cause of a forwarded request's cancellation when
// its lead's partition left the node it was forwarded to.
var errAbandoned = errors.New("the partition changed hands")

// refreshOwners reads the partitions' owners again, in the background,
// at most once per ownersEvery: a request that found no owner, or an
// owner that did not answer, is retried by its client, and the retry
// should find the node that took the partition over without waiting for
// the next renewal.
func (n *Node) refreshOwners() {
	n.mu.Lock()
	if n.refreshing || time.Since(n.refreshed) < ownersEvery {
		n.mu.Unlock()
		return
	}
	n.refreshing = true
	n.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.lease/2)
		defer cancel()
		if err := n.readOwners(ctx); err != nil {
			n.log.Warn("cluster: read the partitions' owners", "err", err)
		}
		n.mu.Lock()
		n.refreshing = false
		n.mu.Unlock()
	}()
}

// ownersEvery bounds how often requests make a node read the owners.
const ownersEvery = 100 * time.Millisecond

// leadOf returns the lead a request is about, "" for none.
func leadOf(r *http.Request) string {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v1/leads/"); ok {
		id, _, _ := strings.Cut(rest, "/")
		if id, err := url.PathUnescape(id); err == nil {
			return id
		}
		return ""
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1/workflows/") || !strings.HasSuffix(r.URL.Path, "/leads") ||
		strings.Count(r.URL.Path, "/") != 4 {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCaptureBody))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &c) != nil {
		return "" // the API answers what is wrong with it
	}
	return c.ID
}

// unavailable answers 503 as the API does (runtime/httpapi: its header,
// its error body).
func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Lead-Api", "v1")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "unavailable", "message": msg, "details": []any{}}})
}
