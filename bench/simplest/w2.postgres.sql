-- W2 addNote with expectedVersion, PostgreSQL (a pgbench script). Hand-written: the
-- minimal guarded transition, not the statements Posko captured. Each pgbench client
-- works on a dispute of its own (internal id 1 + client number), as each wrk connection
-- does, so no update is refused. It reads the dispute's version (Posko reads the whole
-- row through the access rule, by public id), bumps it only if unchanged (the guarded
-- update, on dispute_pkey), appends an event chained to the previous one's hash (read
-- backwards on ux_event_dispute_seq), and notifies subscribers as Posko does.
\set did 1 + :client_id
BEGIN;
SELECT version FROM dispute WHERE id = :did \gset
UPDATE dispute SET updated_at = now(), version = version + 1 WHERE id = :did AND version = :version;
INSERT INTO dispute_event (dispute_id, seq, kind, actor_sub, actor_role, actor_agency, at, note, prev_hash, hash, salt)
SELECT dispute_id, seq + 1, 'NOTE', 'bench', 'POLICE', 'POLDA_METRO_JAYA', now(), 'bench note', hash,
       md5(random()::text) || md5(random()::text), md5(random()::text)
FROM dispute_event WHERE dispute_id = :did ORDER BY seq DESC LIMIT 1;
SELECT pg_notify('posko_dispute', 'bench');
COMMIT;
