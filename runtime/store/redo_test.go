package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// redoAt opens the redo log in dir, returning what it replayed.
func redoAt(t *testing.T, dir string, segSize int64) (*redoLog, []string) {
	t.Helper()
	var got []string
	l, err := openRedo(dir, segSize, func(p []byte) error {
		got = append(got, string(p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, got
}

// logRecords appends records "r<from>" … "r<to>" of size bytes each,
// switching segments as they fill, each synced, as the committer does.
func logRecords(t *testing.T, l *redoLog, from, to, size int) {
	t.Helper()
	for i := from; i <= to; i++ {
		p := fmt.Sprintf("r%d", i)
		p += string(bytes.Repeat([]byte{'.'}, size-len(p)))
		if !l.fits(len(p)) {
			if !l.canSwitch() {
				t.Fatalf("record %d: no segment to switch to", i)
			}
			if err := l.switchSeg(); err != nil {
				t.Fatal(err)
			}
		}
		seq, err := l.append([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) {
			t.Fatalf("record %d got sequence number %d", i, seq)
		}
		if err := l.sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func names(rs []string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(bytes.TrimRight([]byte(r), "."))
	}
	return out
}

func span(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("r%d", i))
	}
	return out
}

// TestRedoRecovery checks which records Open replays: all of the chain
// still needed, across segments, after segments were released and
// reused, up to a torn record, and none after a clean close.
func TestRedoRecovery(t *testing.T) {
	const seg = 4096 // 35 records of 100 bytes a segment
	dir := t.TempDir()
	l, got := redoAt(t, dir, seg)
	if len(got) != 0 {
		t.Fatalf("a new log replayed %v", got)
	}
	logRecords(t, l, 1, 100, 100) // three segments
	l.close()

	l, got = redoAt(t, dir, seg)
	if !slices.Equal(names(got), span(1, 100)) {
		t.Fatalf("replayed %v, want r1…r100", names(got))
	}
	// Badger holds up to 40 durably: the first segment (r1…r35) goes and
	// is reused after the fourth.
	l.release(40)
	logRecords(t, l, 101, 160, 100)
	if len(l.segs) != redoSegments {
		t.Fatalf("%d segment files, want %d", len(l.segs), redoSegments)
	}
	l.close()
	l, got = redoAt(t, dir, seg)
	if !slices.Equal(names(got), span(36, 160)) {
		t.Fatalf("after reuse, replayed %v, want r36…r160", names(got))
	}

	// A torn record ends the chain: flip a byte of the last one.
	cur := l.live[len(l.live)-1]
	b := make([]byte, 1)
	cur.f.ReadAt(b, cur.end-5)
	b[0] ^= 0xff
	cur.f.WriteAt(b, cur.end-5)
	l.close()
	l, got = redoAt(t, dir, seg)
	if !slices.Equal(names(got), span(36, 159)) {
		t.Fatalf("with r160 torn, replayed %v, want r36…r159", names(got))
	}
	// r160 is rewritten where the torn one was; the chain goes on.
	logRecords(t, l, 160, 170, 100)
	if err := l.closeClean(); err != nil {
		t.Fatal(err)
	}

	l, got = redoAt(t, dir, seg)
	if len(got) != 0 {
		t.Fatalf("after a clean close, replayed %v", names(got))
	}
	logRecords(t, l, 171, 175, 100)
	l.close()
	// Without a clean close since, the chain runs back through the old
	// segments, which still link up; replaying them again is harmless.
	_, got = redoAt(t, dir, seg)
	if g := names(got); len(g) < 5 || !slices.Equal(g[len(g)-5:], span(171, 175)) {
		t.Fatalf("replayed %v, want it to end with r171…r175", g)
	}
}

// TestDecodeOps: a record's writes decode as written, and a truncated one
// is an error, not a shorter transaction.
func TestDecodeOps(t *testing.T) {
	rec := appendOp(appendOp(nil, opSet, []byte("k1"), []byte("v1")), opDel, []byte("k2"), nil)
	var got []string
	err := decodeOps(rec, func(op byte, k, v []byte) error {
		got = append(got, fmt.Sprintf("%d %s %s", op, k, v))
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"1 k1 v1", "2 k2 "}) {
		t.Fatalf("decoded %q, %v", got, err)
	}
	for i := 1; i < len(rec); i++ {
		if i == 7 {
			continue // a whole first op: valid on its own
		}
		if err := decodeOps(rec[:i], func(byte, []byte, []byte) error { return nil }); err == nil {
			t.Errorf("%d of %d bytes decoded", i, len(rec))
		}
	}
}

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

// copyDir copies a directory, keeping sparse files sparse: an open
// store's logs are mostly holes (Badger's value log alone is 1 GiB).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-R", "--sparse=always", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

// TestRedoRestoresLostBadgerWrites simulates a power failure that loses
// Badger's unsynced writes: a store directory whose Badger files are from
// an earlier clean close, with the redo log of a later moment. Open must
// replay every step since, and a torn last record must leave exactly the
// state before its commit.
func TestRedoRestoresLostBadgerWrites(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	leads := map[string]Lead{}
	seq := map[string]uint64{}
	step := func(id, stage, owner string, timers map[string]time.Time, event string) {
		l := mkLead(id, "w", stage, owner)
		l.Timers = timers
		var sw StepWrite
		if prev, ok := leads[id]; ok {
			seq[id]++
			sw = next(prev, l, seq[id])
		} else {
			seq[id] = 1
			sw = capture(l)
		}
		sw.EventID, sw.Result = event, []byte("result of "+event)
		sw.Notifications = [][]byte{[]byte(id + " in " + stage)}
		commit(t, s, sw)
		leads[id] = l
	}
	for i := range 20 {
		step(fmt.Sprint("a", i), "new", "ann", map[string]time.Time{"sla": t0.Add(time.Hour)}, "")
	}
	s.Close()
	old := t.TempDir()
	copyDir(t, dir, old) // Badger as of the clean close

	s = openAt(t, dir, Options{})
	for i := range 20 {
		step(fmt.Sprint("a", i), "working", "bob", map[string]time.Time{"follow": t0.Add(time.Duration(i) * time.Minute)}, fmt.Sprint("e", i))
	}
	for i := range 5 {
		step(fmt.Sprint("b", i), "new", "", nil, "")
	}
	before := dump(t, s) // the state before the last commit
	step("a3", "won", "", nil, "e-last")
	redo := t.TempDir()
	copyDir(t, filepath.Join(dir, redoDir), redo) // the log, all synced
	s.Close()
	want := dump(t, openAt(t, dir, Options{}))

	for _, c := range []struct {
		name string
		torn bool
		want map[string]string
	}{{"whole log", false, want}, {"torn last record", true, before}} {
		t.Run(c.name, func(t *testing.T) {
			crashed := t.TempDir()
			copyDir(t, old, crashed)
			copyDir(t, redo, filepath.Join(crashed, redoDir))
			if c.torn {
				tear(t, filepath.Join(crashed, redoDir))
			}
			s := openAt(t, crashed, Options{})
			if s.stats.replayed.Load() == 0 {
				t.Fatal("Open replayed nothing")
			}
			got := dump(t, s)
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%q = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := c.want[k]; !ok {
					t.Errorf("%q is there and should not be", k)
				}
			}
			if t.Failed() {
				t.Logf("keys: %q", slices.Sorted(maps.Keys(got)))
			}
		})
	}
}

// tear flips a byte of the last record in the log in dir.
func tear(t *testing.T, dir string) {
	t.Helper()
	l, _ := redoAt(t, dir, 1<<30)
	defer l.close()
	cur := l.live[len(l.live)-1]
	b := make([]byte, 1)
	cur.f.ReadAt(b, cur.end-1)
	b[0] ^= 0xff
	if _, err := cur.f.WriteAt(b, cur.end-1); err != nil {
		t.Fatal(err)
	}
}

// TestRedoAcrossCrashes takes crash images (copies of an open store's
// directory: what a SIGKILL leaves) twice in a row: the store opened from
// the first image replays its log and goes on writing, including a
// transaction with no writes (a version saved again), and the second
// image must hold everything. The log must continue the chain after a
// replay; it once ended at the first empty record.
func TestRedoAcrossCrashes(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	v := Version{Workflow: "w", Version: "v1", IR: []byte("ir")}
	if err := s.SaveVersion(ctx, v); err != nil {
		t.Fatal(err)
	}
	a := mkLead("a", "w", "s1", "")
	commit(t, s, capture(a))
	img1 := t.TempDir()
	copyDir(t, dir, img1)

	s1 := openAt(t, img1, Options{})
	if s1.stats.replayed.Load() == 0 {
		t.Fatal("the first crash image replayed nothing")
	}
	if err := s1.SaveVersion(ctx, v); err != nil { // already there: no writes
		t.Fatal(err)
	}
	prev := a
	for seq := uint64(2); seq <= 5; seq++ {
		l := mkLead("a", "w", fmt.Sprint("s", seq), "")
		commit(t, s1, next(prev, l, seq))
		prev = l
	}
	want := dump(t, s1)
	img2 := t.TempDir()
	copyDir(t, img1, img2)

	s2 := openAt(t, img2, Options{})
	if got := dump(t, s2); !maps.Equal(got, want) {
		t.Errorf("after the second crash:\n got %q\nwant %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if l, err := s2.GetLead(ctx, "a"); err != nil || l.Stage != "s5" {
		t.Errorf("lead a after the second crash: %+v %v", l, err)
	}
}

// TestRedoEmptyRecord: a record with no payload is a record, not the end
// of the log.
func TestRedoEmptyRecord(t *testing.T) {
	dir := t.TempDir()
	l, _ := redoAt(t, dir, 1<<20)
	logRecords(t, l, 1, 1, 10)
	if _, err := l.append(nil); err != nil {
		t.Fatal(err)
	}
	logRecords(t, l, 3, 3, 10)
	l.close()
	_, got := redoAt(t, dir, 1<<20)
	if g := names(got); !slices.Equal(g, []string{"r1", "", "r3"}) {
		t.Fatalf("replayed %q", g)
	}
}

// TestRedoTornCleanMarker: a marker a crash cut short is no marker; Open
// replays instead of refusing the directory.
func TestRedoTornCleanMarker(t *testing.T) {
	dir := t.TempDir()
	l, _ := redoAt(t, dir, 1<<20)
	logRecords(t, l, 1, 3, 10)
	l.close()
	if err := os.WriteFile(filepath.Join(dir, redoClean), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, got := redoAt(t, dir, 1<<20)
	if g := names(got); !slices.Equal(g, span(1, 3)) {
		t.Fatalf("replayed %q", g)
	}
	if _, err := os.Stat(filepath.Join(dir, redoClean)); err == nil {
		t.Error("the torn marker is still there")
	}
}

// FuzzRedoSegment: whatever bytes follow a valid segment header, Open
// neither fails nor panics, and replays exactly the records that chain
// from the header, each intact.
func FuzzRedoSegment(f *testing.F) {
	valid := func(recs ...string) []byte {
		dir := f.TempDir()
		l, err := openRedo(dir, 1<<20, func([]byte) error { return nil })
		if err != nil {
			f.Fatal(err)
		}
		defer l.close()
		if err := l.switchSeg(); err != nil {
			f.Fatal(err)
		}
		for _, r := range recs {
			if _, err := l.append([]byte(r)); err != nil {
				f.Fatal(err)
			}
		}
		cur := l.live[0]
		b := make([]byte, cur.end)
		cur.f.ReadAt(b, 0)
		return b[segHeader:]
	}
	f.Add(valid("a", "bb", ""))
	f.Add(valid("x")[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(segPath(dir, 0), append(segHeaderFor(1), body...), 0o644); err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		l, err := openRedo(dir, 1<<20, func(p []byte) error {
			got = append(got, bytes.Clone(p))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.close()
		// The same records, read independently.
		off, seq := 0, uint64(1)
		for i, p := range got {
			n := int(binary.BigEndian.Uint32(body[off:]))
			if n != len(p) || binary.BigEndian.Uint64(body[off+8:]) != seq || !bytes.Equal(body[off+recHeader:off+recHeader+n], p) {
				t.Fatalf("record %d replayed as %q does not match the bytes at %d", i, p, off)
			}
			off += recHeader + n
			seq++
		}
		if l.next != seq {
			t.Errorf("next sequence number %d after %d records", l.next, len(got))
		}
	})
}

// FuzzDecodeOps: a malformed payload is an error, never a panic.
func FuzzDecodeOps(f *testing.F) {
	f.Add(appendOp(appendOp(nil, opSet, []byte("k"), []byte("v")), opDel, []byte("d"), nil))
	f.Add([]byte{opSet, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeOps(b, func(byte, []byte, []byte) error { return nil })
	})
}

// TestValueLog: values over ValueThreshold go to Badger's value log,
// which a memtable flush does not make durable; they survive a clean
// reopen and a crash image alike.
func TestValueLog(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ValueThreshold: 64}
	s := openAt(t, dir, opts)
	l := mkLead("big", "w", "s", "")
	l.Data = bytes.Repeat([]byte("0123456789"), 100)
	commit(t, s, capture(l))
	img := t.TempDir()
	copyDir(t, dir, img)
	s.Close()
	for _, d := range []string{dir, img} {
		got, err := openAt(t, d, opts).GetLead(ctx, "big")
		if err != nil || !bytes.Equal(got.Data, l.Data) {
			t.Errorf("%s: lead %+v, %v", d, got, err)
		}
	}
}

// TestRedoFiller: the filler zero-fills a segment ahead of the records
// while they are written, never over them.
func TestRedoFiller(t *testing.T) {
	dir := t.TempDir()
	const seg = 8 << 20
	l, _ := redoAt(t, dir, seg)
	logRecords(t, l, 1, 3000, 2000) // 6 MB
	cur := l.live[len(l.live)-1]
	l.fill.mu.Lock()
	size, end := cur.size, cur.end
	l.fill.mu.Unlock()
	if size < end {
		t.Fatalf("allocated %d bytes, written %d", size, end)
	}
	l.close()
	_, got := redoAt(t, dir, seg)
	if g := names(got); !slices.Equal(g, span(1, 3000)) {
		t.Fatalf("replayed %d records, want r1…r3000", len(g))
	}
	for i, r := range got {
		if len(r) != 2000 {
			t.Fatalf("record %d is %d bytes", i+1, len(r))
		}
	}
}

// TestCheckpoint: when every segment still holds records Badger has not
// flushed (here: segments far smaller than the memtable), the committer
// syncs Badger's memtable logs and reuses a segment; the log stays within
// its segments, and a crash image still replays to the committed state.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	s.redo.segSize = 64 << 10 // before any commit: the committer is idle
	l := mkLead("a", "w", "s", "")
	l.Data = bytes.Repeat([]byte{'x'}, 2000)
	commit(t, s, capture(l))
	for seq := uint64(2); seq <= 500; seq++ { // 1 MB of records, no flush
		l.Data = fmt.Appendf(bytes.Repeat([]byte{'x'}, 2000), "%d", seq)
		commit(t, s, next(l, l, seq))
	}
	if n := s.stats.checkpoints.Load(); n == 0 {
		t.Fatal("no checkpoint, though no memtable was flushed")
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, redoDir, "*"+redoExt)); len(segs) > redoSegments {
		t.Errorf("%d segment files, more than %d", len(segs), redoSegments)
	}
	want := dump(t, s)
	img := t.TempDir()
	copyDir(t, dir, img)
	if got := dump(t, openAt(t, img, Options{})); !maps.Equal(got, want) {
		t.Error("the crash image does not replay to the committed state")
	}
}
