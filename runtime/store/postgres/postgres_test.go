package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/leadlang/lead/internal/pgtest"
	"github.com/leadlang/lead/runtime/store"
	"github.com/leadlang/lead/runtime/store/postgres"
	"github.com/leadlang/lead/runtime/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testURL is the database the tests use (pgtest starts one if
// LEAD_TEST_POSTGRES does not name one).
func testURL(t testing.TB) string { return pgtest.URL(t) }

// newSchema returns a fresh schema name, dropped when the test ends.
func newSchema(t testing.TB, url string) string { return pgtest.Schema(t, url) }

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
		Share: func(t *testing.T, s store.Store) store.Store { return open(t, url, schemas[s]) },
	})
}
