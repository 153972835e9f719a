-- W1 reportDispute, PostgreSQL (a pgbench script). Hand-written: the minimal transaction
-- that records a new report, not the statements Posko captured. It inserts the dispute
-- (a fresh public id, reference number and idempotency key each time; the unique index
-- ux_dispute_idempotency (reported_by_agency, idempotency_key) does the idempotency check
-- that Posko also makes with a read first), its first timeline event, and the four
-- running counters (dispute_tally, upserted on its primary key), then notifies
-- subscribers as Posko does. Posko's reads of reference data (region alias, regency,
-- election, stage in force) are left out: they could be served from memory.
BEGIN;
INSERT INTO dispute (public_id, ref_no, title, description, category, severity, status, province_code,
                     regency_code, occurred_at, reported_at, updated_at, restricted, reported_by_agency,
                     reported_by_sub, idempotency_key, request_hash, version)
VALUES (md5(random()::text), 'B-' || substr(md5(random()::text), 1, 20), 'bench report', 'written by bench/run.py',
        'OTHER', 'LOW', 'REPORTED', '31', '31.71', now() - interval '1 day', now(), now(), FALSE,
        'POLDA_METRO_JAYA', 'bench', gen_random_uuid()::text, md5(random()::text), 1)
RETURNING id \gset
INSERT INTO dispute_event (dispute_id, seq, kind, actor_sub, actor_role, actor_agency, at, changes, prev_hash, hash, salt)
VALUES (:id, 1, 'REPORTED', 'bench', 'POLICE', 'POLDA_METRO_JAYA', now(), '{"status":[null,"REPORTED"]}',
        repeat('0', 64), md5(random()::text) || md5(random()::text), md5(random()::text));
INSERT INTO dispute_tally (province_code, regency_code, district_code, dimension, value, audience, count)
VALUES ('31', '31.71', '', 'category', 'OTHER', '', 1), ('31', '31.71', '', 'severity', 'LOW', '', 1),
       ('31', '31.71', '', 'stage', '', '', 1), ('31', '31.71', '', 'status', 'REPORTED', '', 1)
ON CONFLICT (province_code, regency_code, district_code, dimension, value, audience)
DO UPDATE SET count = dispute_tally.count + excluded.count;
SELECT pg_notify('posko_dispute', 'bench');
COMMIT;
