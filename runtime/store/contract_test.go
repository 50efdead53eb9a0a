package store_test

import (
	"testing"

	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/storetest"
)

// TestContract runs the Store contract on Badger, with small memtables so
// that commits rotate logs and flush tables as they would over a longer
// life.
func TestContract(t *testing.T) {
	open := func(t *testing.T, dir string) store.Store {
		s, err := store.Open(dir, store.Options{Logger: quiet(), MemTableSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dirs := map[store.Store]string{}
	storetest.Run(t, storetest.Config{
		Open: func(t *testing.T) store.Store {
			dir := t.TempDir()
			s := open(t, dir)
			dirs[s] = dir
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r := open(t, dirs[s])
			dirs[r] = dirs[s]
			return r
		},
	})
}

// TestMemoryContract runs the Store contract on the in-memory store.
func TestMemoryContract(t *testing.T) {
	storetest.Run(t, storetest.Config{Open: func(*testing.T) store.Store { return store.NewMemory() }})
}
