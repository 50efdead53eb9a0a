-- The store's tables. Names are compared byte by byte (COLLATE "C"), as
-- every other store orders them; times are Unix nanoseconds (bigint), the
-- precision the contract keeps.

-- A lead: the attributes the lookups need, its pending timers (encoded:
-- per timer, uvarint name length, name, 8-byte due), and the whole
-- encoded lead. part is the partition its id hashes to (runtime/cluster).
CREATE TABLE leads (
    id       text COLLATE "C" PRIMARY KEY,
    part     integer NOT NULL,
    workflow text COLLATE "C" NOT NULL,
    version  text COLLATE "C" NOT NULL,
    stage    text COLLATE "C" NOT NULL,
    owner    text COLLATE "C" NOT NULL,
    terminal boolean NOT NULL,
    stuck    boolean NOT NULL,
    seq      bigint NOT NULL,
    timers   bytea NOT NULL,
    data     bytea NOT NULL
) WITH (fillfactor = 80); -- room on each page for HOT updates: most steps change no indexed column
CREATE INDEX leads_workflow ON leads (workflow, id);
CREATE INDEX leads_stage ON leads (workflow, stage, id);
CREATE INDEX leads_owner ON leads (owner, id) WHERE owner <> '';
CREATE INDEX leads_stuck ON leads (id) WHERE stuck;
CREATE INDEX leads_in_flight ON leads (workflow, version) WHERE NOT terminal;

-- History is append-only: a row is never updated or deleted.
CREATE TABLE history (
    lead_id text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    entry   bytea NOT NULL,
    PRIMARY KEY (lead_id, seq)
);

-- The answer to each event id of a lead: the unique key is what makes a
-- repeated delivery of an event id unable to apply twice.
CREATE TABLE events (
    lead_id  text COLLATE "C" NOT NULL,
    event_id text COLLATE "C" NOT NULL,
    result   bytea NOT NULL,
    PRIMARY KEY (lead_id, event_id)
);

-- The due-time index: one row per pending timer, claimed by a scheduler
-- until claimed_until (NULL: never claimed).
CREATE TABLE timers (
    lead_id       text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    due           bigint NOT NULL,
    claimed_until bigint,
    part          integer NOT NULL,
    PRIMARY KEY (lead_id, name)
);
CREATE INDEX timers_due ON timers (due, lead_id, name);
CREATE INDEX timers_claimed ON timers (claimed_until) WHERE claimed_until IS NOT NULL;

-- The outbox and the step stream, numbered from sequences. A reader reads
-- them only up to a committed-through watermark (stream.go).
CREATE SEQUENCE outbox_seq;
CREATE TABLE outbox (
    seq  bigint PRIMARY KEY,
    data bytea NOT NULL
);
CREATE SEQUENCE steps_seq;
CREATE TABLE steps (
    seq      bigint PRIMARY KEY,
    lead_id  text COLLATE "C" NOT NULL,
    lead_seq bigint NOT NULL
);

-- The reports' counters, one row per counter and shard: each writer (a
-- node) adds to its own shard, so that two nodes committing steps never
-- wait for each other's row locks; a counter is the sum of its shards.
CREATE TABLE counters (
    name  text COLLATE "C" NOT NULL,
    shard integer NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (name, shard)
);

CREATE TABLE routing (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE versions (
    workflow text COLLATE "C" NOT NULL,
    version  text COLLATE "C" NOT NULL,
    ir       bytea NOT NULL,
    saved_at bigint NOT NULL,
    PRIMARY KEY (workflow, version)
);

-- lead_check fails the statement (and so the whole commit) with SQLSTATE
-- code unless ok: a commit is one pipelined round trip, so the checks
-- that must stop it are made on the server.
CREATE FUNCTION lead_check(ok boolean, code text, msg text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    END IF;
END
$$;
