-- Q2 the first 50 disputes of DKI Jakarta (province 31) by reported_at descending, with
-- their regency's name, as POLICE of POLDA_METRO_JAYA sees them. Both dialects.
--
-- One statement: the page with the regency joined. The access rule is the predicate of
-- policy::dispute_scope, written by hand for this agency:
--   (inside its jurisdiction: the regencies it holds, plus eight districts of 36.03
--    (Kab. Tangerang) it holds district by district
--    AND (not restricted OR escalated to POLICE or GAKKUMDU))
--   OR assigned to POLDA_METRO_JAYA OR reported by POLDA_METRO_JAYA.
-- The jurisdiction's codes come from data/ (agency_jurisdiction); bench/run.py checks
-- that the answer is the API's, so a change of the data shows up as a failure here.
--
-- Index: idx_dispute_province_reported (province_code, reported_at), read backwards
-- until 50 rows pass the predicate; the two EXISTS probe idx_escalation_dispute
-- (dispute_id, target) and an index of dispute_assignment on both columns
-- (PostgreSQL picks idx_assignment_agency_dispute, SQLite the primary key); the
-- regency comes from regency_pkey. The tie-break on id is not in the index (a sort of
-- the rows that share a reported_at, which are few).
-- The two EXISTS end in `LIMIT 1 OFFSET 0`, as Posko's own scope does: without it
-- PostgreSQL 15 turns each into a hashed subplan that reads every POLICE/GAKKUMDU
-- escalation and every assignment of the agency on each request, a cost that grows with
-- the data (measured at 20 000 disputes: 1.6 ms against 0.8 ms with the fence); with it,
-- only the rows the index scan reaches are probed. SQLite accepts the same clause.
SELECT d.public_id, d.ref_no, d.title, d.status, d.severity, d.reported_at, r.name
FROM dispute d
LEFT JOIN regency r ON r.code = d.regency_code
WHERE d.province_code = '31'
  AND (
    ((d.regency_code IN ('31.01', '31.71', '31.72', '31.73', '31.74', '31.75', '32.16', '32.75', '32.76', '36.71', '36.74')
      OR (d.regency_code = '36.03' AND d.district_code IN ('36.03.13', '36.03.15', '36.03.16', '36.03.17', '36.03.20', '36.03.22', '36.03.23', '36.03.28')))
     AND (d.restricted = FALSE
          OR EXISTS (SELECT 1 FROM dispute_escalation e WHERE e.dispute_id = d.id AND e.target IN ('POLICE', 'GAKKUMDU') LIMIT 1 OFFSET 0)))
    OR EXISTS (SELECT 1 FROM dispute_assignment a WHERE a.dispute_id = d.id AND a.agency_code = 'POLDA_METRO_JAYA' LIMIT 1 OFFSET 0)
    OR d.reported_by_agency = 'POLDA_METRO_JAYA')
ORDER BY d.reported_at DESC, d.id DESC
LIMIT 50;
