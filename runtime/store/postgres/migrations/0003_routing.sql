-- Routing changes are compare-and-set (runtime/store/postgres/commit.go):
-- nodes route with their own copies of the rows, and a decision commits
-- only if the rows it read are unchanged. Routing rows hold a team's
-- state (JSON) or an owner's count of open leads (a decimal integer).

-- lead_route applies a commit's routing change in one call: it locks
-- every row named (transaction-scoped advisory locks of class lock_class,
-- in hash order, so two commits cannot deadlock), fails with SQLSTATE
-- LD409 unless each row of exp_names holds the matching value of
-- exp_values (NULL: no such row), writes set_names, deletes gone, and
-- adds add_n to the counts of add_names (a count at or under zero is
-- deleted). Each statement of a volatile function takes a new snapshot,
-- so the check sees every commit that held a lock before this one.
CREATE FUNCTION lead_route(lock_class integer, names text[], exp_names text[], exp_values bytea[],
    set_names text[], set_values bytea[], gone text[], add_names text[], add_n bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_class, h)
        FROM (SELECT DISTINCT hashtext(n) AS h FROM unnest(names) AS n ORDER BY 1) AS x;
    SELECT e.name INTO changed
        FROM unnest(exp_names, exp_values) AS e(name, value) LEFT JOIN routing r ON r.name = e.name
        WHERE r.value IS DISTINCT FROM e.value LIMIT 1;
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LD409',
            MESSAGE = format('routing row %s changed since the step read it', changed);
    END IF;
    IF cardinality(set_names) > 0 THEN
        INSERT INTO routing (name, value) SELECT * FROM unnest(set_names, set_values) AS s(name, value) ORDER BY 1
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
    END IF;
    IF cardinality(gone) > 0 THEN
        DELETE FROM routing WHERE name = ANY(gone);
    END IF;
    IF cardinality(add_names) > 0 THEN
        INSERT INTO routing (name, value)
            SELECT name, convert_to(n::text, 'UTF8') FROM unnest(add_names, add_n) AS a(name, n) ORDER BY 1
            ON CONFLICT (name) DO UPDATE SET value = convert_to(
                (convert_from(routing.value, 'UTF8')::bigint + convert_from(EXCLUDED.value, 'UTF8')::bigint)::text, 'UTF8');
        -- Only a decrease can reach zero. CASE, so that no other row's
        -- value is read as a number (a WHERE clause's conditions may be
        -- tested in any order).
        IF EXISTS (SELECT 1 FROM unnest(add_n) AS d WHERE d <= 0) THEN
            DELETE FROM routing WHERE name = ANY(add_names)
                AND CASE WHEN name = ANY(add_names) THEN convert_from(value, 'UTF8')::bigint <= 0 ELSE false END;
        END IF;
    END IF;
END
$$;
