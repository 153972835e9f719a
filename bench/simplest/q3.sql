-- Q3 one dispute (by its public id) and its last 20 timeline events, as POLICE of
-- POLDA_METRO_JAYA sees them. Both dialects. bench/run.py replaces :public_id and
-- :dispute_id with the dispute's public and internal ids (the second statement uses the
-- id the first one returned, as any client of the first would).
--
-- Statement 1, the dispute if the viewer may see it: the access rule of Q2 as the
-- predicate. Index: idx_dispute_public_id (unique), then the two EXISTS probes on
-- idx_escalation_dispute and dispute_assignment_pkey.
SELECT d.id, d.public_id, d.ref_no, d.title, d.status, d.version
FROM dispute d
WHERE d.public_id = :public_id
  AND (
    ((d.regency_code IN ('31.01', '31.71', '31.72', '31.73', '31.74', '31.75', '32.16', '32.75', '32.76', '36.71', '36.74')
      OR (d.regency_code = '36.03' AND d.district_code IN ('36.03.13', '36.03.15', '36.03.16', '36.03.17', '36.03.20', '36.03.22', '36.03.23', '36.03.28')))
     AND (d.restricted = FALSE
          OR EXISTS (SELECT 1 FROM dispute_escalation e WHERE e.dispute_id = d.id AND e.target IN ('POLICE', 'GAKKUMDU'))))
    OR EXISTS (SELECT 1 FROM dispute_assignment a WHERE a.dispute_id = d.id AND a.agency_code = 'POLDA_METRO_JAYA')
    OR d.reported_by_agency = 'POLDA_METRO_JAYA');
-- Statement 2, the last 20 events POLICE may read (policy::can_read_event): those with no
-- audience or an audience that names POLICE; POLICE reads intel notes and
-- classifications always, so no kind is left out. Newest first. Index: ux_event_dispute_seq
-- (dispute_id, seq), read backwards.
SELECT seq, kind, at, actor_role, actor_agency, note
FROM dispute_event
WHERE dispute_id = :dispute_id
  AND (audience IS NULL OR ',' || audience || ',' LIKE '%,POLICE,%')
ORDER BY seq DESC
LIMIT 20;
-- Statement 3, what the answer obliges: statement 2 returned an intelligence note
-- (INTEL_NOTE, which bench/run.py checks the API's answer holds), and the contract logs
-- every read of one (CONTRACT.md, the access log), so the simplest correct client writes
-- the access-log row Posko writes. Without it the SQL is not the same answer's: an
-- unlogged read of police intelligence is the leak the access log exists to catch. Its
-- own transaction, as Posko's; the ceiling without it is in BENCHMARKS.md (session 9).
INSERT INTO access_log (at, viewer_sub, viewer_role, agency_code, dispute_id, dispute_public_id, province_code, regency_code, field, request_id)
VALUES (CURRENT_TIMESTAMP, 'bench', 'POLICE', 'POLDA_METRO_JAYA', :dispute_id, :public_id, :province_code, :regency_code, 'intelNotes', 'bench-simplest');
