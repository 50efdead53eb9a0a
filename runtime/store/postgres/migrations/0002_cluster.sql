-- Several nodes on one database: leads hash into a fixed number of
-- partitions, each leased by at most one node at a time.

-- The nodes that run or ran, with the address they are reached at and
-- until when their last heartbeat holds (the database's clock).
CREATE TABLE nodes (
    id         text COLLATE "C" PRIMARY KEY,
    addr       text NOT NULL,
    started_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- One row per partition: its owner, the epoch of the owner's lease (one
-- more at every change of hands), and until when the lease holds. A
-- commit checks the epoch of every partition it writes to, under a share
-- lock (lead_fence), so that no write of a node that lost a partition can
-- land after another node took it.
CREATE TABLE partitions (
    part       integer PRIMARY KEY,
    owner      text COLLATE "C",
    epoch      bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO partitions (part) SELECT generate_series(0, 255);

-- lead_fence fails with SQLSTATE LD410 unless node holds each partition
-- of parts at the matching epoch of epochs and the lease has not run out,
-- and share-locks those rows until the transaction ends: a takeover
-- (an UPDATE of the row) waits for the commit that checked it.
CREATE FUNCTION lead_fence(node text, parts integer[], epochs bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    held integer;
BEGIN
    -- Rows are locked in partition order, as every statement that
    -- changes partitions locks them (runtime/cluster): two transactions
    -- that lock in one order cannot deadlock.
    SELECT count(*) INTO held FROM (
        SELECT 1 FROM partitions p JOIN unnest(parts, epochs) AS h(part, epoch) ON p.part = h.part
        WHERE p.owner = node AND p.epoch = h.epoch AND p.expires_at > clock_timestamp()
        ORDER BY p.part
        FOR SHARE OF p
    ) locked;
    IF held <> cardinality(parts) THEN
        RAISE EXCEPTION USING ERRCODE = 'LD410',
            MESSAGE = format('node %s no longer holds every partition it writes to', node);
    END IF;
END
$$;
