package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
	"github.com/leadlang/lead/runtime/store/storetest"
)

// testURL is the database the tests use (.ci/run starts one), or skips.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("LEAD_TEST_POSTGRES")
	if u == "" {
		t.Skip("LEAD_TEST_POSTGRES is not set: no PostgreSQL to test on (.ci/run starts one)")
	}
	return u
}

// newSchema returns a fresh schema name, dropped when the test ends.
func newSchema(t testing.TB, url string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Logf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func open(t testing.TB, url, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContract runs the Store contract on PostgreSQL, each test in a
// schema of its own.
func TestContract(t *testing.T) {
	url := testURL(t)
	schemas := map[store.Store]string{}
	storetest.Run(t, storetest.Config{
		Open: func(t *testing.T) store.Store {
			schema := newSchema(t, url)
			s := open(t, url, schema)
			schemas[s] = schema
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r := open(t, url, schemas[s])
			schemas[r] = schemas[s]
			return r
		},
	})
}
