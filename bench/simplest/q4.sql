-- Q4 disputes of DKI Jakarta (province 31) counted by status, as POLICE of
-- POLDA_METRO_JAYA sees them. Both dialects.
--
-- One statement: a live count over the rows the access rule (Q2's predicate) admits.
-- This is the simplest correct statement, not the fastest plan: Posko's own SQL reads
-- running counters (dispute_tally) and counts live only what this agency sees beyond
-- them, so at large data the captured ceiling may be the higher of the two.
-- Index: idx_dispute_scope_stats (province_code, status, severity, category, stage_code,
-- regency_code, district_code, restricted, reported_by_agency, id) covers every column
-- the predicate and the grouping read, so the scan of the province is index-only.
-- For the two EXISTS, SQLite probes idx_escalation_dispute and the assignments' primary
-- key per row; PostgreSQL 15 hashes, once per statement, the agency's assignments
-- (idx_assignment_agency_dispute, index-only) and every POLICE/GAKKUMDU escalation: that
-- last one is a sequential scan of dispute_escalation, as no index leads with target.
-- An index on dispute_escalation (target, dispute_id) would make it index-only; it is
-- missing (not added here: the benchmark does not change the schema).
SELECT d.status, COUNT(*)
FROM dispute d
WHERE d.province_code = '31'
  AND (
    ((d.regency_code IN ('31.01', '31.71', '31.72', '31.73', '31.74', '31.75', '32.16', '32.75', '32.76', '36.71', '36.74')
      OR (d.regency_code = '36.03' AND d.district_code IN ('36.03.13', '36.03.15', '36.03.16', '36.03.17', '36.03.20', '36.03.22', '36.03.23', '36.03.28')))
     AND (d.restricted = FALSE
          OR EXISTS (SELECT 1 FROM dispute_escalation e WHERE e.dispute_id = d.id AND e.target IN ('POLICE', 'GAKKUMDU'))))
    OR EXISTS (SELECT 1 FROM dispute_assignment a WHERE a.dispute_id = d.id AND a.agency_code = 'POLDA_METRO_JAYA')
    OR d.reported_by_agency = 'POLDA_METRO_JAYA')
GROUP BY d.status
ORDER BY d.status;
