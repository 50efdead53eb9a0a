package web

import (
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// api stands for the API behind the dashboards: it answers 299 so that
// a test sees which requests reached it.
var api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })

func get(t *testing.T, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	Handler(api).ServeHTTP(w, r)
	return w
}

// TestSecurityHeaders: every answer of the dashboards, the page, its
// assets and a 404, carries the CSP and the other headers.
func TestSecurityHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, p := range []string{"/", Prefix + Version() + "/app.js", Prefix + Version() + "/nope.js"} {
		w := get(t, "GET", p)
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", p, k, got, v)
			}
		}
	}
	// The policy allows no inline script or style, and nothing from
	// another origin.
	for _, d := range strings.Split(CSP, ";") {
		if strings.Contains(d, "unsafe") || strings.Contains(d, "http") || strings.Contains(d, "*") {
			t.Errorf("CSP directive %q lets in more than this origin", d)
		}
	}
	if !strings.Contains(CSP, "script-src 'self'") || !strings.Contains(CSP, "default-src 'none'") || !strings.Contains(CSP, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", CSP)
	}
}

// TestPage: / is the page, revalidated on every load, naming the assets
// under the current version; each asset it names is served, cacheable
// for good, with its type.
func TestPage(t *testing.T) {
	w := get(t, "GET", "/")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q, want no-cache (revalidate)", cc)
	}
	page := w.Body.String()
	if strings.Contains(page, "{{ui}}") {
		t.Error("the page still holds {{ui}}")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("the page names %d assets: %v", len(refs), refs)
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "ui/"+Version()+"/") {
			t.Errorf("the page names %q, not an asset of this version (relative, under ui/%s/)", ref, Version())
			continue
		}
		a := get(t, "GET", "/"+ref)
		if a.Code != http.StatusOK {
			t.Errorf("GET /%s: %d", ref, a.Code)
			continue
		}
		if cc := a.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET /%s: Cache-Control %q", ref, cc)
		}
		if ct, want := a.Header().Get("Content-Type"), mime.TypeByExtension(path.Ext(ref)); ct != want || ct == "" {
			t.Errorf("GET /%s: Content-Type %q, want %q", ref, ct, want)
		}
		if a.Header().Get("ETag") == "" {
			t.Errorf("GET /%s: no ETag", ref)
		}
	}
}

// TestRevalidate: a client that has the page or an asset gets a 304.
func TestRevalidate(t *testing.T) {
	for _, p := range []string{"/", Prefix + Version() + "/app.css"} {
		first := get(t, "GET", p)
		tag := first.Header().Get("ETag")
		if !strings.HasPrefix(tag, `"`) {
			t.Fatalf("GET %s: ETag %q", p, tag)
		}
		if again := get(t, "GET", p, "If-None-Match", tag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d with %d bytes, want 304", p, again.Code, again.Body.Len())
		}
		if other := get(t, "GET", p, "If-None-Match", `"other"`); other.Code != http.StatusOK {
			t.Errorf("GET %s with another ETag: %d", p, other.Code)
		}
		if head := get(t, "HEAD", p); head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD %s: %d, %d bytes, Content-Length %q", p, head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
		}
	}
}

// TestNotFound: an unknown asset, an asset of another version, or the
// asset directory itself is a 404 in the API's error shape; nothing
// under /ui/ reaches the API.
func TestNotFound(t *testing.T) {
	for _, p := range []string{
		Prefix + Version() + "/nope.js",
		Prefix + "0000000000000000/app.js",
		Prefix,
		Prefix + Version() + "/",
		Prefix + Version() + "/../" + Version() + "/app.js",
		Prefix + Version() + "/index.html",
		"/ui",
	} {
		w := get(t, "GET", p)
		if p == "/ui" {
			if w.Code != 299 {
				t.Errorf("GET /ui: %d, want the API's answer", w.Code)
			}
			continue
		}
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
			continue
		}
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != "not_found" || e.Error.Message == "" {
			t.Errorf("GET %s: %s", p, w.Body)
		}
	}
}

// TestPassThrough: what is not the dashboards' goes to the API: its
// paths, and any method but GET and HEAD, even on /.
func TestPassThrough(t *testing.T) {
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/leads"},
		{"GET", "/healthz"},
		{"GET", "/index.html"},
		{"GET", "/favicon.ico"},
		{"POST", "/"},
		{"DELETE", "/"},
		{"POST", Prefix + Version() + "/app.js"},
		{"OPTIONS", "/"},
	} {
		if w := get(t, c.method, c.path); w.Code != 299 {
			t.Errorf("%s %s: %d, want the API's answer", c.method, c.path, w.Code)
		}
	}
}

// TestStatic checks the embedded files as the browser will use them: no
// inline script, style attribute or event handler attribute (the CSP
// refuses them), every module import names an embedded file, and no
// script writes HTML from strings (innerHTML, insertAdjacentHTML,
// document.write), so that no lead field can become markup.
func TestStatic(t *testing.T) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(sub, "*")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := fs.ReadFile(sub, "index.html")
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(page), -1) {
		if !strings.Contains(m, `src="`) || !strings.Contains(m, `type="module"`) {
			t.Errorf("index.html: %s is not an external module", m)
		}
	}
	if regexp.MustCompile(`<script[^>]*>[^<\s]`).Match(page) {
		t.Error("index.html has an inline script")
	}
	if regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=`).Match(page) {
		t.Error("index.html has a style or event handler attribute")
	}
	importRE := regexp.MustCompile(`(?:from|import\()\s*'\./([^']+)'`)
	for _, n := range names {
		if path.Ext(n) != ".js" {
			continue
		}
		raw, _ := fs.ReadFile(sub, n)
		// The SVG namespace is a name, not a place anything is fetched from.
		src := strings.ReplaceAll(string(raw), "http://www.w3.org/2000/svg", "")
		for _, m := range importRE.FindAllStringSubmatch(src, -1) {
			if !slices.Contains(names, m[1]) {
				t.Errorf("%s imports %s, which is not embedded", n, m[1])
			}
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "'style'", `"style"`, "http://", "https://"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", n, bad)
			}
		}
	}
}

// TestVersion: the version, and so the assets' path, changes with any
// file's content.
func TestVersion(t *testing.T) {
	a, err := load(fstest.MapFS{"static/index.html": {Data: []byte(`<script type="module" src="{{ui}}/app.js"></script>`)}, "static/app.js": {Data: []byte("1")}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := load(fstest.MapFS{"static/index.html": {Data: []byte(`<script type="module" src="{{ui}}/app.js"></script>`)}, "static/app.js": {Data: []byte("2")}})
	if err != nil {
		t.Fatal(err)
	}
	if a.version == b.version {
		t.Error("two different app.js have the same version")
	}
	if _, ok := a.assets[Prefix+a.version+"/app.js"]; !ok {
		t.Errorf("app.js is not served under %s%s/", Prefix, a.version)
	}
	if !strings.Contains(string(a.assets["/"].body), `src="ui/`+a.version+`/app.js"`) {
		t.Errorf("the page: %s", a.assets["/"].body)
	}
	if _, err := load(fstest.MapFS{"static/app.js": {Data: []byte("1")}}); err == nil {
		t.Error("no error without index.html")
	}
}
