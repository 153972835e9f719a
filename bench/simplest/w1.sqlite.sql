-- W1 reportDispute, SQLite (run by bench/run.py's threads, each transaction inside
-- BEGIN IMMEDIATE … COMMIT). Hand-written, the same minimal transaction as
-- w1.postgres.sql: the dispute with fresh public id, reference number and idempotency
-- key (ux_dispute_idempotency checks the key), its first event, the four counters
-- upserted on dispute_tally's primary key. No notification: Posko on SQLite has none.
INSERT INTO dispute (public_id, ref_no, title, description, category, severity, status, province_code,
                     regency_code, occurred_at, reported_at, updated_at, restricted, reported_by_agency,
                     reported_by_sub, idempotency_key, request_hash, version)
VALUES (lower(hex(randomblob(16))), 'B-' || lower(hex(randomblob(10))), 'bench report', 'written by bench/run.py',
        'OTHER', 'LOW', 'REPORTED', '31', '31.71', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-1 day'),
        strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 0,
        'POLDA_METRO_JAYA', 'bench', lower(hex(randomblob(16))), lower(hex(randomblob(32))), 1);
INSERT INTO dispute_event (dispute_id, seq, kind, actor_sub, actor_role, actor_agency, at, changes, prev_hash, hash, salt)
VALUES (last_insert_rowid(), 1, 'REPORTED', 'bench', 'POLICE', 'POLDA_METRO_JAYA',
        strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), '{"status":[null,"REPORTED"]}',
        '0000000000000000000000000000000000000000000000000000000000000000',
        lower(hex(randomblob(32))), lower(hex(randomblob(16))));
INSERT INTO dispute_tally (province_code, regency_code, district_code, dimension, value, audience, count)
VALUES ('31', '31.71', '', 'category', 'OTHER', '', 1), ('31', '31.71', '', 'severity', 'LOW', '', 1),
       ('31', '31.71', '', 'stage', '', '', 1), ('31', '31.71', '', 'status', 'REPORTED', '', 1)
ON CONFLICT (province_code, regency_code, district_code, dimension, value, audience)
DO UPDATE SET count = count + excluded.count;
