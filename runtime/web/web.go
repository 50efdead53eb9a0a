// Package web serves the dashboards `lead run` shows at /: an executive
// view (the funnel by lifecycle with conversion rates, velocity, SLA
// attainment and its trend, a breakdown by a lead field), a practitioner
// view (an owner's leads, SLAs at risk by deadline, stuck leads, each
// with an override and a reassign form) and a workflow view (the compiled
// graph with live counts per stage). docs/dashboards.md says what each
// number means.
//
// The pages are hand-written HTML, CSS and JavaScript modules in static/,
// embedded in the binary: no build step, no framework, nothing fetched
// from another origin, so they work offline. They hold no data: they read
// everything from the HTTP API with the token the user gives them once.
// So the server serves them without a token (behind the same Host check
// as the API, which keeps DNS-rebinding pages out), while every API call
// they make needs it.
//
// Caching: the assets are served under /ui/VERSION/, VERSION being a hash
// of every embedded file, and may be cached for good; the page at / is
// revalidated on every load (its ETag is the same hash), so a new binary's
// page is seen at once and names the new assets.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is the path under which the assets are served, before VERSION.
const Prefix = "/ui/"

// CSP is the Content-Security-Policy of every answer: scripts, styles and
// images from this origin only (no inline script or style attribute), API
// calls to this origin only, no frames, no plugins, no form posts to
// elsewhere, no <base> tricks.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
	// immutable: the path names the content (under /ui/VERSION/).
	immutable bool
}

// site is the embedded files by the path they are served at.
type site struct {
	version string
	assets  map[string]*asset
}

// load reads the embedded files. The page's references to its assets
// are written {{ui}}/NAME; they become the versioned path, relative to
// the page so that the dashboards also work behind a proxy that serves
// the API under a path prefix.
func load(fsys fs.FS) (*site, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		raw[strings.TrimPrefix(p, "static/")] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	if raw["index.html"] == nil {
		return nil, fmt.Errorf("web: static/index.html is missing")
	}
	// The version covers every file's name and content, in a fixed order.
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(raw[n]))
		h.Write(raw[n])
	}
	s := &site{version: hex.EncodeToString(h.Sum(nil))[:16], assets: map[string]*asset{}}
	for _, n := range names {
		body := raw[n]
		if n == "index.html" {
			body = bytes.ReplaceAll(body, []byte("{{ui}}"), []byte(strings.TrimPrefix(Prefix, "/")+s.version))
			s.assets["/"] = &asset{body: body, ctype: "text/html; charset=utf-8", etag: etag(body)}
			continue
		}
		ctype := mime.TypeByExtension(path.Ext(n))
		if ctype == "" {
			return nil, fmt.Errorf("web: no content type for static/%s", n)
		}
		s.assets[Prefix+s.version+"/"+n] = &asset{body: body, ctype: ctype, etag: etag(body), immutable: true}
	}
	return s, nil
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// embedded is the site of the embedded files. They are fixed at build
// time, so an error here is a broken build, which every test shows.
var embedded = func() *site {
	s, err := load(static)
	if err != nil {
		panic(err)
	}
	return s
}()

// Version is the hash the assets are served under: it changes with any
// embedded file.
func Version() string { return embedded.version }

// Handler serves the dashboards' GET and HEAD requests (/ and the assets
// under /ui/) and hands every other request to next (the API), so that
// the API answers its own paths, and any method but GET or HEAD, as it
// did before. An unknown path under /ui/ is a 404 in the API's error
// shape.
func Handler(next http.Handler) http.Handler {
	s := embedded
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		a := s.assets[r.URL.Path]
		switch {
		case a != nil:
			serve(w, r, a)
		case strings.HasPrefix(r.URL.Path, Prefix):
			notFound(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// securityHeaders are set on every answer of the dashboards.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	if a.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// The page names the current assets: always ask whether it changed
		// (a 304 when it did not).
		h.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match (304), Range and HEAD; the zero
	// time leaves Last-Modified out, the ETag is the validator.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	msg := fmt.Sprintf("no dashboard file %s: the dashboards are at / (a page from an older server names assets this one does not have: reload it)", r.URL.Path)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "not_found", "message": msg, "details": []any{}}})
	w.Write(append(b, '\n'))
}
