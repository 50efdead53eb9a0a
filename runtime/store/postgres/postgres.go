// Package postgres is the runtime's Store on PostgreSQL (pgx and its
// pool): what several `lead run` nodes share, where Badger is one
// machine's. It keeps the contract of runtime/store (the suite in
// runtime/store/storetest runs on it unchanged) with PostgreSQL's own
// durability: a commit returns once the database has made it durable
// (synchronous_commit, the server's default).
//
// Layout (migrations/, applied in order at Open under an advisory lock,
// so that nodes starting together do not race): a table per kind of
// record (leads, history, events, timers, outbox, steps, counters,
// routing, meta, versions) and the cluster's (nodes, partitions). Names
// are compared byte by byte (COLLATE "C") and times kept as Unix
// nanoseconds, as the other stores do.
//
// Commits (commit.go) are grouped: whatever callers queue while a commit
// is on its way goes into the next one, a single transaction sent as one
// pipelined round trip. Conditions the commit must check (each lead's
// sequence number, the partition leases of a node that shares the
// database: fence.go, runtime/cluster) are checked on the server, in that transaction.
// The outbox and the step stream are numbered from sequences, and read
// only up to a committed-through watermark (stream.go), so that a reader
// never skips a number that a slower transaction commits later.
package postgres

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/leadlang/lead/internal/batchq"
	"github.com/leadlang/lead/runtime/store"
)

// Options configure a Store.
type Options struct {
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the pool's connections (default 16).
	MaxConns int32
	// Schema overrides the URL's schema parameter (default "lead").
	Schema string
}

// Store is the Store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	schema string
	// keys are this schema's advisory lock keys (migrations, the
	// watermark of the outbox and step stream).
	migrateKey, streamKey int64
	dbOID                 uint32

	fence atomic.Pointer[fenceHolder] // nil: one writer, nothing to fence
	shard int32                       // this writer's counter shard

	pending batchq.Queue[*request]
	done    sync.WaitGroup
	mu      sync.RWMutex // closed, against submissions
	closed  bool

	health atomic.Pointer[error] // the last health check's failure, nil if none
	stop   chan struct{}

	wm      watermark
	lookups lookups

	stats Stats
}

// Stats count what the store did, for benchmarks and metrics.
type Stats struct {
	Commits atomic.Int64 // transactions that committed steps
	Steps   atomic.Int64 // steps committed
	Fenced  atomic.Int64 // commits refused by a partition's fence
}

// Stats returns the store's counts so far.
func (s *Store) Stats() *Stats { return &s.stats }

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultSchema is the schema a Store keeps its tables in unless the URL
// names another (?schema=NAME).
const DefaultSchema = "lead"

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://), as `lead run --store` takes it.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at rawURL (postgres://USER@HOST/DB?...,
// with an optional schema=NAME), creates the schema if it does not exist,
// and brings it to the current migration.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	connURL, schema, err := splitURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.Schema != "" {
		schema = opts.Schema
	}
	if err := store.CheckName("schema", schema, true); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redact(rawURL), err)
	}
	cfg.MaxConns = opts.MaxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = quoteIdent(schema)
	// A commit is one pipelined round trip and never leaves a
	// transaction open while the client thinks; this bounds how long a
	// client that stopped midway (a paused process) can hold locks.
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "5s"
	cfg.ConnConfig.RuntimeParams["application_name"] = "lead"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redact(rawURL), err)
	}
	s := &Store{pool: pool, log: opts.Logger, schema: schema, stop: make(chan struct{})}
	s.migrateKey = lockKey(schema, "migrate")
	s.streamKey = lockKey(schema, "stream")
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&s.dbOID); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.done.Add(2)
	go func() { defer s.done.Done(); s.commitLoop() }()
	go func() { defer s.done.Done(); s.healthLoop() }()
	return s, nil
}

// splitURL takes the schema parameter out of a postgres:// URL, which
// pgx would otherwise send to the server as a setting.
func splitURL(raw string) (conn, schema string, err error) {
	if !IsURL(raw) {
		return "", "", fmt.Errorf("postgres: %q is not a postgres:// URL", redact(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("postgres: invalid URL %s: %w", redact(raw), err)
	}
	q := u.Query()
	schema = q.Get("schema")
	if schema == "" {
		schema = DefaultSchema
	}
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// redact hides a URL's password, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// lockKey is the advisory lock key of one purpose in one schema: two
// Lead schemas in one database never share a lock.
func lockKey(schema, purpose string) int64 {
	h := fnv.New64a()
	io.WriteString(h, "lead\x00"+schema+"\x00"+purpose)
	return int64(h.Sum64())
}

// migrate applies the migrations the schema lacks, in order, each in a
// transaction with its record in schema_migrations, under a session
// advisory lock: a node that starts while another migrates waits for it.
// A schema migrated by a newer Lead (a version this one does not know) is
// refused rather than misread.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", s.migrateKey); err != nil {
		return fmt.Errorf("postgres: lock the schema for migrations: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", s.migrateKey)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(s.schema)); err != nil {
		return fmt.Errorf("postgres: create schema %s: %w (create it, or grant CREATE on the database, to the user Lead connects as)", s.schema, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations")
	var v int
	if _, err := pgx.ForEachRow(rows, []any{&v}, func() error { applied[v] = true; return nil }); err != nil {
		return fmt.Errorf("postgres: read schema_migrations: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
	}
	for v := range applied {
		if !known[v] {
			return fmt.Errorf("postgres: schema %s has migration %d, which this version of Lead does not know: it was migrated by a newer Lead; run that one", s.schema, v)
		}
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
		}
		s.log.Info("schema migrated", "schema", s.schema, "migration", m.Version, "name", m.Name)
	}
	return nil
}

// Migration is one step of the schema, from migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the schema's migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("postgres: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Schema returns the schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// Pool returns the store's connection pool (the cluster's leases use it).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// healthLoop checks the database every two seconds, so that Health,
// called before every step, costs nothing.
func (s *Store) healthLoop() {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s.pool.Exec(ctx, "SELECT 1")
		cancel()
		if err != nil {
			err = fmt.Errorf("postgres: the database does not answer: %w", err)
			if s.health.Swap(&err) == nil {
				s.log.Error("database unreachable: writes are refused until it answers", "err", err)
			}
		} else if s.health.Swap(nil) != nil {
			s.log.Info("database reachable again")
		}
	}
}

// Health reports nil while the database answers; the store has no disk
// of its own to run short of.
func (s *Store) Health() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	if err := s.health.Load(); err != nil {
		return *err
	}
	return nil
}

// Close waits for the commits queued and closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.pending.Close()
	close(s.stop)
	s.done.Wait()
	s.pool.Close()
	return nil
}

// live fails with ErrClosed once the store is closed.
func (s *Store) live(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// Partitions is how many partitions lead ids hash into (the partitions
// table has one row for each).
const Partitions = 256

// Partition returns the partition of a lead id.
func Partition(id string) int {
	h := fnv.New32a()
	io.WriteString(h, id)
	return int(h.Sum32() % Partitions)
}

// leadCols are the columns readLead scans.
const leadCols = "id, workflow, version, stage, owner, terminal, stuck, seq, timers, data"

// scanLead reads a row of leadCols.
func scanLead(row pgx.Row) (*store.Lead, error) {
	var l store.Lead
	var seq int64
	var timers []byte
	if err := row.Scan(&l.ID, &l.Workflow, &l.Version, &l.Stage, &l.Owner, &l.Terminal, &l.Stuck, &seq, &timers, &l.Data); err != nil {
		return nil, err
	}
	l.Seq = uint64(seq)
	var err error
	if l.Timers, err = decodeTimers(timers); err != nil {
		return nil, fmt.Errorf("lead %s: %w", l.ID, err)
	}
	if l.Data == nil {
		l.Data = []byte{}
	}
	return &l, nil
}

// encodeTimers encodes a lead's timers, in name order: per timer its
// name's length (uvarint), the name, and its due (8 bytes, big-endian
// Unix nanoseconds).
func encodeTimers(ts map[string]time.Time) []byte {
	b := []byte{}
	for _, name := range slices.Sorted(mapsKeys(ts)) {
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.BigEndian.AppendUint64(b, uint64(ts[name].UnixNano()))
	}
	return b
}

func decodeTimers(b []byte) (map[string]time.Time, error) {
	if len(b) == 0 {
		return nil, nil
	}
	ts := map[string]time.Time{}
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n+8 {
			return nil, errors.New("corrupt timers")
		}
		name := string(b[k : k+int(n)])
		b = b[k+int(n):]
		ts[name] = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
		b = b[8:]
	}
	return ts, nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// GetLead returns a lead, or ErrNotFound.
func (s *Store) GetLead(ctx context.Context, id string) (*store.Lead, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	if store.CheckName("lead id", id, true) != nil {
		return nil, fmt.Errorf("lead %q: %w", id, store.ErrNotFound)
	}
	l, err := scanLead(s.pool.QueryRow(ctx, "SELECT "+leadCols+" FROM leads WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("lead %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read lead %s: %w", id, err)
	}
	return l, nil
}

// EventResult returns the stored result of an event id of a lead.
func (s *Store) EventResult(ctx context.Context, leadID, eventID string) ([]byte, bool, error) {
	if err := s.live(ctx); err != nil {
		return nil, false, err
	}
	if store.CheckName("lead id", leadID, true) != nil || store.CheckName("event id", eventID, true) != nil {
		return nil, false, nil
	}
	return s.eventResult(ctx, leadID, eventID)
}

// History returns up to limit history entries of a lead after afterSeq.
func (s *Store) History(ctx context.Context, leadID string, afterSeq uint64, limit int) ([][]byte, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	if afterSeq >= math.MaxInt64 || store.CheckName("lead id", leadID, true) != nil {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, "SELECT entry FROM history WHERE lead_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		leadID, int64(afterSeq), sqlLimit(limit))
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]byte, error) {
		var e []byte
		err := r.Scan(&e)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the history of lead %s: %w", leadID, err)
	}
	return out, nil
}

// sqlLimit is a LIMIT for limit (<= 0: none).
func sqlLimit(limit int) any {
	if limit <= 0 {
		return nil // LIMIT NULL is no limit
	}
	return int64(limit)
}

// Leads returns a page of leads matching q, in id order.
func (s *Store) Leads(ctx context.Context, q store.Query) ([]store.Lead, string, error) {
	for _, c := range []struct{ what, v string }{{"workflow", q.Workflow}, {"stage", q.Stage}, {"owner", q.Owner}} {
		if err := store.CheckName(c.what, c.v, false); err != nil {
			return nil, "", fmt.Errorf("leads: %w", err)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	after := ""
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || store.CheckName("cursor", string(b), true) != nil {
			return nil, "", fmt.Errorf("leads: invalid cursor %q: pass the cursor of the previous page unchanged", q.Cursor)
		}
		after = string(b)
	}
	if err := s.live(ctx); err != nil {
		return nil, "", err
	}
	sql := "SELECT " + leadCols + " FROM leads WHERE id > $1"
	args := []any{after}
	add := func(cond string, v any) {
		args = append(args, v)
		sql += fmt.Sprintf(" AND %s $%d", cond, len(args))
	}
	if q.Workflow != "" {
		add("workflow =", q.Workflow)
	}
	if q.Stage != "" {
		add("stage =", q.Stage)
	}
	if q.Owner != "" {
		add("owner =", q.Owner)
	}
	if q.Stuck != nil {
		add("stuck =", *q.Stuck)
	}
	args = append(args, limit+1)
	sql += fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args))
	rows, _ := s.pool.Query(ctx, sql, args...)
	page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Lead, error) {
		l, err := scanLead(r)
		if err != nil {
			return store.Lead{}, err
		}
		return *l, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("leads: %w", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(page[limit-1].ID))
	}
	return page, next, nil
}

// Counters calls fn with every counter in [from, to), in name order: the
// sum of its shards, where not zero.
func (s *Store) Counters(ctx context.Context, from, to string, fn func(string, int64)) error {
	if err := s.live(ctx); err != nil {
		return err
	}
	// Bounds that are not valid UTF-8 (store.PrefixEnd of a name ending
	// in a multi-byte character) cannot be text parameters: they are
	// compared as bytes instead, which is the same order.
	sql := "SELECT name, sum(n)::bigint FROM counters WHERE "
	var args []any
	if utf8.ValidString(from) && !strings.ContainsRune(from, 0) {
		sql += "name >= $1"
		args = append(args, from)
	} else {
		sql += "convert_to(name, 'UTF8') >= $1"
		args = append(args, []byte(from))
	}
	switch {
	case to == "":
	case utf8.ValidString(to) && !strings.ContainsRune(to, 0):
		sql += " AND name < $2"
		args = append(args, to)
	default:
		sql += " AND convert_to(name, 'UTF8') < $2"
		args = append(args, []byte(to))
	}
	sql += " GROUP BY name HAVING sum(n) <> 0 ORDER BY name"
	rows, _ := s.pool.Query(ctx, sql, args...)
	type counter struct {
		name string
		n    int64
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (counter, error) {
		var c counter
		err := r.Scan(&c.name, &c.n)
		return c, err
	})
	if err != nil {
		return fmt.Errorf("read counters: %w", err)
	}
	for _, c := range cs { // after the rows are closed: fn may call the store
		fn(c.name, c.n)
	}
	return nil
}

// Routing returns the named routing state rows, or every row.
func (s *Store) Routing(ctx context.Context, names ...string) (map[string][]byte, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	return readRouting(ctx, s.pool, names)
}

// readRouting reads the named routing rows, or every row, through q (the
// pool, or a transaction).
func readRouting(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, names []string) (map[string][]byte, error) {
	sql, args := "SELECT name, value FROM routing", []any(nil)
	if len(names) > 0 {
		sql, args = sql+" WHERE name = ANY($1::text[])", []any{names}
	}
	rows, _ := q.Query(ctx, sql, args...)
	out := map[string][]byte{}
	var name string
	var v []byte
	if _, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error {
		out[name] = slices.Clone(v)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read routing state: %w", err)
	}
	return out, nil
}

// SaveVersion stores a compiled workflow version (idempotent).
func (s *Store) SaveVersion(ctx context.Context, v store.Version) error {
	if err := store.CheckVersion(&v); err != nil {
		return err
	}
	if err := s.live(ctx); err != nil {
		return err
	}
	ir := v.IR
	if ir == nil {
		ir = []byte{}
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO versions (workflow, version, ir, saved_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
		v.Workflow, v.Version, ir, v.SavedAt.UnixNano()); err != nil {
		return fmt.Errorf("save version %s of %s: %w", v.Version, v.Workflow, err)
	}
	return nil
}

// Versions returns every stored version, by workflow and then version.
func (s *Store) Versions(ctx context.Context) ([]store.Version, error) {
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, "SELECT workflow, version, ir, saved_at FROM versions ORDER BY workflow, version")
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Version, error) {
		var v store.Version
		var at int64
		err := r.Scan(&v.Workflow, &v.Version, &v.IR, &at)
		v.SavedAt = time.Unix(0, at).UTC()
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	return out, nil
}

// InFlight counts the non-terminal leads of a workflow per version.
func (s *Store) InFlight(ctx context.Context, workflow string) (map[string]int, error) {
	if err := store.CheckName("workflow", workflow, true); err != nil {
		return nil, fmt.Errorf("in flight: %w", err)
	}
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, "SELECT version, count(*) FROM leads WHERE workflow = $1 AND NOT terminal GROUP BY version", workflow)
	out := map[string]int{}
	var v string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&v, &n}, func() error { out[v] = n; return nil }); err != nil {
		return nil, fmt.Errorf("in flight: %w", err)
	}
	return out, nil
}

// Meta reads a small named value.
func (s *Store) Meta(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.live(ctx); err != nil {
		return nil, false, err
	}
	if store.CheckName("meta key", key, true) != nil {
		return nil, false, nil
	}
	var v []byte
	err := s.pool.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read meta %s: %w", key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// PutMeta writes a small named value, durably.
func (s *Store) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := store.CheckName("meta key", key, true); err != nil {
		return fmt.Errorf("put meta: %w", err)
	}
	if err := s.live(ctx); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", key, value); err != nil {
		return fmt.Errorf("put meta %s: %w", key, err)
	}
	return nil
}

// ReplaceCounters replaces every counter under prefix (every shard of
// it) with counts, in one transaction.
func (s *Store) ReplaceCounters(ctx context.Context, prefix string, counts map[string]int64) error {
	for name := range counts {
		if err := store.CheckRowName("counter", name); err != nil {
			return fmt.Errorf("replace counters: %w", err)
		}
	}
	if err := s.live(ctx); err != nil {
		return err
	}
	var names []string
	var ns []int64
	for _, name := range slices.Sorted(mapsKeys(counts)) {
		if n := counts[name]; n != 0 {
			names = append(names, name)
			ns = append(ns, n)
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM counters WHERE starts_with(name, $1)", prefix); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO counters (name, shard, n) SELECT name, 0, n FROM unnest($1::text[], $2::bigint[]) AS c(name, n)", names, ns)
		return err
	})
	if err != nil {
		return fmt.Errorf("replace counters: %w", err)
	}
	return nil
}

// sqlState returns the SQLSTATE of a server error, "" for another error.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
