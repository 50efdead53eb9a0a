package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// closedStore writes n leads into a new store with small memtables and
// closes it, so that its data is in several table files.
func closedStore(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := openAt(t, dir, Options{MemTableSize: 1 << 20})
	for i := range n {
		commit(t, s, capture(storedLead(i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if tables, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(tables) == 0 {
		t.Fatal("no table files")
	}
	return dir
}

// storedLead is lead i of closedStore.
func storedLead(i int) Lead {
	l := mkLead(fmt.Sprintf("lead-%05d", i), "w", "s", "ann")
	l.Seq = 1
	l.Data = fmt.Appendf(nil, "%d:%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, 600))
	return l
}

// allThere checks that the n leads of closedStore read back unchanged.
func allThere(n int) func(*Badger) error {
	return func(s *Badger) error {
		for i := range n {
			want := storedLead(i)
			got, err := s.GetLead(ctx, want.ID)
			if err != nil || !equalLead(got, &want) {
				return fmt.Errorf("the store opened, and lead %s reads %.200q, %v", want.ID, fmt.Sprint(got), err)
			}
		}
		return nil
	}
}

// snapshot returns every file of dir with a hash of its contents.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = sha256.Sum256(b)
	}
	return out
}

// refused opens dir, expecting ErrDamaged with every string of want in
// the message, and checks that the refusal changed no file.
func refused(t *testing.T, dir string, want ...string) {
	t.Helper()
	if err := refusedOr(t, dir, nil, want...); err != nil {
		t.Fatal(err)
	}
}

// refusedOr is refused, except that if Open succeeds, intact is called
// on the store: the damage changed nothing that is read (a compressed
// block can decode the same after a change, say).
func refusedOr(t *testing.T, dir string, intact func(*Badger) error, want ...string) error {
	t.Helper()
	before := snapshot(t, dir)
	s, err := Open(dir, Options{Logger: quiet(), MemTableSize: 1 << 20})
	if err == nil {
		defer s.Close()
		if intact == nil {
			return fmt.Errorf("Open succeeded, want it refused (%q)", want)
		}
		return intact(s)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("Open: %v, want ErrDamaged", err)
	}
	for _, w := range append(want, "lead restore") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open: %v\nwant it to say %q", err, w)
		}
	}
	after := snapshot(t, dir)
	for name, h := range before {
		if a, ok := after[name]; !ok {
			t.Errorf("refusing to open deleted %s", name)
		} else if a != h {
			t.Errorf("refusing to open changed %s", name)
		}
	}
	return nil
}

func tableFiles(t *testing.T, dir string) []string {
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	slices.Sort(tables)
	return tables
}

// TestOpenRefusesMissingManifest: without its MANIFEST, Badger would
// start an empty store and delete every table.
func TestOpenRefusesMissingManifest(t *testing.T) {
	dir := closedStore(t, 3000)
	if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	refused(t, dir, "MANIFEST is missing", "table files")
}

// TestOpenRefusesDamagedManifest flips a byte inside the MANIFEST's
// first record: Badger would stop reading there and drop the tables that
// later records add.
func TestOpenRefusesDamagedManifest(t *testing.T) {
	dir := closedStore(t, 3000)
	path := filepath.Join(dir, "MANIFEST")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[8+8+2] ^= 0x40 // past the magic and the first record's length and checksum
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	refused(t, dir, "MANIFEST does not read")
}

func TestOpenRefusesMissingTable(t *testing.T) {
	dir := closedStore(t, 3000)
	tables := tableFiles(t, dir)
	if err := os.Remove(tables[0]); err != nil {
		t.Fatal(err)
	}
	refused(t, dir, filepath.Base(tables[0]), "missing")
}

// TestOpenRefusesDamagedTables flips bytes at random places of table
// files, one place at a time: every damage is found before Badger opens
// the store (it would panic on some, and leave a table whose checksum
// fails out of the store, with its data), and nothing panics.
func TestOpenRefusesDamagedTables(t *testing.T) {
	dir := closedStore(t, 3000)
	tables := tableFiles(t, dir)
	rng := rand.New(rand.NewPCG(1, 2))
	places := 40
	if testing.Short() {
		places = 8
	}
	for i := range places {
		path := tables[rng.IntN(len(tables))]
		orig, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(orig)
		// The end of a table (index, checksum lengths) at times, else
		// anywhere.
		at := rng.IntN(len(b))
		if i%4 == 0 {
			at = len(b) - 1 - rng.IntN(min(64, len(b)))
		}
		b[at] ^= byte(1 + rng.IntN(255))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%s@%d", filepath.Base(path), at), func(t *testing.T) {
			if err := refusedOr(t, dir, allThere(3000), filepath.Base(path)); err != nil {
				t.Fatal(err)
			}
		})
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Undamaged again, it opens with everything in it.
	if err := allThere(3000)(openAt(t, dir, Options{MemTableSize: 1 << 20})); err != nil {
		t.Error(err)
	}
}
