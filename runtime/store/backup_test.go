package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// dump returns every key and value in Badger.
func dump(t *testing.T, s *Badger) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out[string(it.Item().KeyCopy(nil))] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// filledStore is a store with some of everything: leads with timers,
// history, event results, notifications, routing state, meta and a
// version, and a lead deleted from indexes by later steps.
func filledStore(t *testing.T) *Badger {
	s := openAt(t, t.TempDir(), Options{MemTableSize: 1 << 20})
	for i := range 300 {
		l := mkLead(fmt.Sprint("b", i), "w", "new", "ann")
		l.Timers = map[string]time.Time{"sla": t0.Add(time.Duration(i) * time.Minute)}
		commit(t, s, capture(l))
		n := l
		n.Stage, n.Owner, n.Timers = "working", "bob", map[string]time.Time{"after": t0.Add(time.Hour)}
		sw := next(n, 2)
		sw.EventID, sw.Result = "e"+fmt.Sprint(i), []byte("result")
		sw.Notifications = [][]byte{[]byte("moved " + l.ID)}
		if err := commitRows(s, map[string][]byte{"team/w": fmt.Appendf(nil, "%d", i), fmt.Sprint("open/", i): nil}, sw); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutMeta(ctx, "webhook_cursor", []byte("42")); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveVersion(ctx, Version{Workflow: "w", Version: "v1", IR: bytes.Repeat([]byte("ir"), 1000)}); err != nil {
		t.Fatal(err)
	}
	return s
}

func backupOf(t *testing.T, s *Badger) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.Backup(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBackupRestore: a restored store holds exactly what was backed up,
// opens as a store, and takes new commits.
func TestBackupRestore(t *testing.T) {
	s := filledStore(t)
	want := dump(t, s)
	b := backupOf(t, s)
	if _, err := VerifyBackup(bytes.NewReader(b)); err != nil {
		t.Fatalf("VerifyBackup: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	created, err := Restore(ctx, bytes.NewReader(b), dir, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(created) > time.Minute {
		t.Errorf("the backup says it was taken at %v", created)
	}
	r := openAt(t, dir, Options{})
	got := dump(t, r)
	if len(got) != len(want) {
		t.Errorf("%d keys restored, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %q, want %q", k, got[k], v)
		}
	}
	// It goes on: the outbox after the last notification, new commits.
	l := mkLead("after", "w", "s", "")
	sw := capture(l)
	sw.Notifications = [][]byte{[]byte("after")}
	commit(t, r, sw)
	if items, _ := r.Outbox(ctx, 300, 0); len(items) != 1 || string(items[0].Data) != "after" {
		t.Errorf("outbox after the restore: %v", items)
	}
	// An empty existing directory is fine too; leftovers are not.
	empty := t.TempDir()
	if _, err := Restore(ctx, bytes.NewReader(b), empty, Options{Logger: quiet()}); err != nil {
		t.Errorf("restore into an empty directory: %v", err)
	}
	if _, err := Restore(ctx, bytes.NewReader(b), dir, Options{Logger: quiet()}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a store: %v", err)
	}
}

// TestRestoreRefusesPartialBackups: a backup cut short anywhere, or
// damaged anywhere, restores nothing and leaves nothing behind.
func TestRestoreRefusesPartialBackups(t *testing.T) {
	b := backupOf(t, filledStore(t))
	parent := t.TempDir()
	dir := filepath.Join(parent, "restored")
	try := func(name string, data []byte) {
		t.Helper()
		_, err := Restore(ctx, bytes.NewReader(data), dir, Options{Logger: quiet()})
		if err == nil {
			t.Fatalf("%s: restored", name)
		}
		if _, verr := VerifyBackup(bytes.NewReader(data)); verr == nil {
			t.Errorf("%s: VerifyBackup passed", name)
		}
		if ents, _ := os.ReadDir(parent); len(ents) != 0 {
			t.Fatalf("%s: %v left behind (%v)", name, ents, err)
		}
	}
	for _, n := range []int{0, 5, len(backupMagic) + 3, len(b) / 3, len(b) / 2, len(b) - sha256Size - 4, len(b) - 1} {
		try(fmt.Sprintf("cut at %d of %d", n, len(b)), b[:n])
	}
	for _, at := range []int{len(backupMagic) + 2, len(b) / 4, len(b) / 2, len(b) - 10} {
		d := bytes.Clone(b)
		d[at] ^= 0x20
		try(fmt.Sprintf("damaged at %d", at), d)
	}
	try("with data after its end", append(bytes.Clone(b), 'x'))
	if _, err := Restore(ctx, strings.NewReader("not a backup"), dir, Options{Logger: quiet()}); !errors.Is(err, ErrBadBackup) {
		t.Errorf("restore of a text file: %v", err)
	}
}

const sha256Size = 32

// TestBackupWhileCommitting: a backup taken under load holds every commit
// acknowledged before it began, each step whole.
func TestBackupWhileCommitting(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{MemTableSize: 1 << 20})
	const writers = 8
	var acked [writers]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := int64(1); ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				l := mkLead(fmt.Sprint("w", w), "w", fmt.Sprint("s", n), "")
				l.Data = fmt.Appendf(nil, "%d", n)
				sw := next(l, uint64(n))
				sw.Entry = l.Data
				if err := commitRows(s, nil, sw); err != nil {
					t.Error(err)
					return
				}
				acked[w].Store(n)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	var before [writers]int64
	for w := range writers {
		before[w] = acked[w].Load()
	}
	var b bytes.Buffer
	err := s.Backup(ctx, &b)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "r")
	if _, err := Restore(ctx, &b, dir, Options{Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	r := openAt(t, dir, Options{})
	for w := range writers {
		l, err := r.GetLead(ctx, fmt.Sprint("w", w))
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
		var n int64
		fmt.Sscan(string(l.Data), &n)
		if n < before[w] {
			t.Errorf("writer %d: the backup holds step %d, but %d was acknowledged before it began", w, n, before[w])
		}
		if h, _ := r.History(ctx, l.ID, 0, 0); int64(len(h)) != n || l.Stage != fmt.Sprint("s", n) {
			t.Errorf("writer %d: step %d with %d history entries, stage %s: not whole", w, n, len(h), l.Stage)
		}
	}
}
