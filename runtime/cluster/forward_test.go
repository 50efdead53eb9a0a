package cluster_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadlang/lead/runtime/cluster"
	"github.com/leadlang/lead/runtime/store/postgres"
)

// TestForwardAcrossHandover: a request forwarded to a lead's owner while
// the lead's partition leaves that owner gets the owner's own answer if
// the owner gives one soon after (a definite outcome, where abandoning it
// would leave the client to guess), and a 503 saying the outcome is
// unknown if the owner never answers, without waiting for it.
func TestForwardAcrossHandover(t *testing.T) {
	sa, sb := twoStores(t)
	const lease = 2 * time.Second
	var b *cluster.Node
	arrived := make(chan string, 2)
	quit := make(chan struct{})
	// a's address: the owner's side of the two requests.
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v1/leads/")
		arrived <- id
		if strings.HasPrefix(id, "late") {
			for o, _ := b.OwnerOf(id); o.Node != "b"; o, _ = b.OwnerOf(id) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(lease / 8)
			io.WriteString(w, "the owner's answer")
			return
		}
		select { // never answers
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	defer owner.Close()
	defer close(quit)
	a, err := cluster.Join(ctx, sa, cluster.Options{ID: "a", Addr: owner.URL, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b = join(t, sb, "b", lease)
	defer b.Close(ctx)
	deadline := time.Now().Add(5 * lease)
	for len(b.Parts()) < postgres.Partitions/2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// One lead of a's partitions for each case, as b sees them.
	onA := func(prefix string) string {
		for i := range 10000 {
			if id := fmt.Sprint(prefix, i); func() bool { o, _ := b.OwnerOf(id); return o.Node == "a" }() {
				return id
			}
		}
		t.Fatalf("b sees no partition of a's: a holds %d, b %d", len(a.Parts()), len(b.Parts()))
		return ""
	}
	late, lost := onA("late"), onA("lost")
	front := httptest.NewServer(b.Forward(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("b served %s itself", r.URL.Path)
	})))
	defer front.Close()
	type answer struct {
		status int
		body   string
	}
	answers := map[string]answer{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range []string{late, lost} {
		wg.Go(func() {
			resp, err := http.Get(front.URL + "/v1/leads/" + id)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			mu.Lock()
			answers[id] = answer{resp.StatusCode, string(body)}
			mu.Unlock()
		})
	}
	for range 2 {
		<-arrived
	}
	a.SetLive(func() error { return errors.New("a commit failed") }) // a gives every partition up
	wg.Wait()
	if got := answers[late]; got.status != http.StatusOK || got.body != "the owner's answer" {
		t.Errorf("owner answered after the handover: the client got %d %s, want 200 and the owner's answer", got.status, got.body)
	}
	if got := answers[lost]; got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, "may or may not have been applied") {
		t.Errorf("owner never answered: the client got %d %s, want 503 saying the outcome is unknown", got.status, got.body)
	}
}
