-- W2 addNote with expectedVersion, SQLite (run by bench/run.py's threads, each
-- transaction inside BEGIN IMMEDIATE … COMMIT; :did is the thread's own dispute, and a
-- SELECT's columns become parameters of the statements after it). Hand-written, the same
-- minimal guarded transition as w2.postgres.sql: read the version, bump it only if
-- unchanged (the runner fails if no row was updated), append a chained event.
SELECT version FROM dispute WHERE id = :did;
UPDATE dispute SET updated_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), version = version + 1
WHERE id = :did AND version = :version;
INSERT INTO dispute_event (dispute_id, seq, kind, actor_sub, actor_role, actor_agency, at, note, prev_hash, hash, salt)
SELECT dispute_id, seq + 1, 'NOTE', 'bench', 'POLICE', 'POLDA_METRO_JAYA', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'),
       'bench note', hash, lower(hex(randomblob(32))), lower(hex(randomblob(16)))
FROM dispute_event WHERE dispute_id = :did ORDER BY seq DESC LIMIT 1;
