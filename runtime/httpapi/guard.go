package httpapi

// What stands between the network and the handlers: a web page must not
// be able to act on a server listening on loopback (cross-site requests,
// DNS rebinding), and every refusal, even the ones net/http writes on its
// own, is JSON like every other error.

import (
	"bytes"
	"fmt"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/leadlang/lead/runtime/service"
)

// checkHost answers 421 to a request whose Host header names a host the
// server does not serve. A page on evil.example whose name an attacker
// points at 127.0.0.1 (DNS rebinding) reaches a loopback server with
// "Host: evil.example"; the browser's same-origin rule does not stop it,
// this does. Served: localhost and *.localhost, IP literals (a page can
// only reach an IP literal from that same origin), and the names in
// allowed (the --addr host and --allowed-host).
func checkHost(allowed []string, next http.Handler) http.Handler {
	names := map[string]bool{}
	for _, h := range allowed {
		names[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
		if host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil || names[host] {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusMisdirectedRequest, "misdirected",
			fmt.Sprintf("this server does not answer to the host %q; if it should, start lead run with --allowed-host %s (the check keeps web pages from reaching the server through DNS rebinding)", r.Host, host), nil)
	})
}

// requireJSON answers 415 to a write with a body (POST, PUT, PATCH) whose
// Content-Type is not application/json. A web page can send a cross-site
// "simple request" (a form, or fetch with text/plain) without the
// browser asking the server first; it cannot send application/json.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			ct := r.Header.Get("Content-Type")
			mt, params, err := mime.ParseMediaType(ct)
			charset := strings.ToLower(params["charset"])
			if err != nil || mt != "application/json" || (charset != "" && charset != "utf-8") {
				got := "no Content-Type"
				if ct != "" {
					got = fmt.Sprintf("Content-Type %q", ct)
				}
				writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
					fmt.Sprintf("send the body as JSON with Content-Type: application/json (got %s)", got), nil)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkPath answers a path that is not in canonical form (".", "..",
// "//") itself: ServeMux would redirect it, with an HTML body, and a
// lead id "." or ".." would become another endpoint ("lead show ." once
// listed every lead). A lead id of dots is a 422, anything else a 404.
func checkPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == path.Clean(p) || (strings.HasSuffix(p, "/") && p[:len(p)-1] == path.Clean(p)) {
			next.ServeHTTP(w, r)
			return
		}
		if rest, ok := strings.CutPrefix(p, "/v1/leads/"); ok {
			id, _, _ := strings.Cut(rest, "/")
			if id == "." || id == ".." {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid request",
					[]service.Problem{{Field: "id", Message: fmt.Sprintf("%q is not a lead id: use 1 to %d characters: letters, digits and . _ - : @, not . or .. alone", id, service.MaxIDLength)}})
				return
			}
		}
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s (paths take no empty, . or .. segments)", r.Method, p), nil)
	})
}

// JSONErrors wraps a listener so that the errors net/http answers by
// itself, before any handler runs (431 headers too large, 400 a malformed
// request, 501 an unsupported transfer encoding), are JSON in the API's
// error shape too, not text/plain.
func JSONErrors(ln net.Listener) net.Listener { return jsonErrListener{ln} }

type jsonErrListener struct{ net.Listener }

func (l jsonErrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrConn{Conn: c}, nil
}

// serverErrHeaders is how net/http ends the headers of the responses it
// writes itself, in one Write of the whole response: its handlers' own
// responses never hold these two headers in this order (it sorts them).
const serverErrHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

type jsonErrConn struct{ net.Conn }

func (c *jsonErrConn) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) || len(p) < 12 {
		return c.Conn.Write(p)
	}
	end := bytes.Index(p, []byte(serverErrHeaders))
	if end < 0 {
		return c.Conn.Write(p)
	}
	code, err := strconv.Atoi(string(p[9:12]))
	if err != nil {
		return c.Conn.Write(p)
	}
	status := string(p[9:end]) // "431 Request Header Fields Too Large[: detail]"
	msg := strings.TrimSpace(strings.TrimPrefix(string(p[end+len(serverErrHeaders):]), string(p[9:12])))
	if code == http.StatusRequestHeaderFieldsTooLarge {
		msg = fmt.Sprintf("the request's headers are over %d bytes", maxHeaderBytes)
	}
	body := errorJSON(errorCode(code), msg, nil)
	resp := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: application/json\r\n%s: v1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", statusLine(status), APIHeader, len(body), body)
	if _, err := c.Conn.Write([]byte(resp)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// statusLine keeps the code and reason of a status line, dropping the
// detail net/http appends to some ("400 Bad Request: missing ...").
func statusLine(s string) string {
	if i := strings.Index(s, ":"); i >= 0 {
		return s[:i]
	}
	return s
}

// errorCode is the API's error code for an HTTP status.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusRequestHeaderFieldsTooLarge:
		return "headers_too_large"
	case http.StatusNotImplemented:
		return "not_implemented"
	}
	return strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
}
