-- Q5 the dashboard, as POLICE of POLDA_METRO_JAYA sees it: statistics of DKI Jakarta
-- (total, by status, by severity; the list's totalCount is the same total) and its first
-- 20 disputes by reported_at descending with regency, province and assigned agencies.
-- Both dialects (string_agg with ORDER BY needs SQLite 3.44 or later: Posko bundles 3.51,
-- the ceiling runs on pysqlite3's).
--
-- Statement 1, counts by status (the total and totalCount are their sum): Q4's live
-- count over idx_dispute_scope_stats; see q4.sql for why it is not the fastest plan.
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
-- Statement 2, counts by severity: the same scan grouped by severity (also in
-- idx_dispute_scope_stats).
SELECT d.severity, COUNT(*)
FROM dispute d
WHERE d.province_code = '31'
  AND (
    ((d.regency_code IN ('31.01', '31.71', '31.72', '31.73', '31.74', '31.75', '32.16', '32.75', '32.76', '36.71', '36.74')
      OR (d.regency_code = '36.03' AND d.district_code IN ('36.03.13', '36.03.15', '36.03.16', '36.03.17', '36.03.20', '36.03.22', '36.03.23', '36.03.28')))
     AND (d.restricted = FALSE
          OR EXISTS (SELECT 1 FROM dispute_escalation e WHERE e.dispute_id = d.id AND e.target IN ('POLICE', 'GAKKUMDU'))))
    OR EXISTS (SELECT 1 FROM dispute_assignment a WHERE a.dispute_id = d.id AND a.agency_code = 'POLDA_METRO_JAYA')
    OR d.reported_by_agency = 'POLDA_METRO_JAYA')
GROUP BY d.severity
ORDER BY d.severity;
-- Statement 3, the page with its regions joined and each dispute's assigned agencies
-- aggregated into one column: Q2's plan (idx_dispute_province_reported backwards) plus
-- regency_pkey, province_pkey, and per row dispute_assignment_pkey (dispute_id, …)
-- and the agency table (nine rows, read whole). Its EXISTS are fenced as in q2.sql, for the
-- same reason; the counts above are not: over the whole province, hashing the agency's
-- escalations and assignments once is as good as probing for each row.
SELECT d.public_id, d.ref_no, d.title, d.status, d.severity, d.reported_at,
       r.code, r.name, p.code, p.name,
       (SELECT string_agg(ag.code || ':' || ag.name, ',' ORDER BY ag.code)
          FROM dispute_assignment a JOIN agency ag ON ag.code = a.agency_code
         WHERE a.dispute_id = d.id) AS agencies
FROM dispute d
LEFT JOIN regency r ON r.code = d.regency_code
JOIN province p ON p.code = d.province_code
WHERE d.province_code = '31'
  AND (
    ((d.regency_code IN ('31.01', '31.71', '31.72', '31.73', '31.74', '31.75', '32.16', '32.75', '32.76', '36.71', '36.74')
      OR (d.regency_code = '36.03' AND d.district_code IN ('36.03.13', '36.03.15', '36.03.16', '36.03.17', '36.03.20', '36.03.22', '36.03.23', '36.03.28')))
     AND (d.restricted = FALSE
          OR EXISTS (SELECT 1 FROM dispute_escalation e WHERE e.dispute_id = d.id AND e.target IN ('POLICE', 'GAKKUMDU') LIMIT 1 OFFSET 0)))
    OR EXISTS (SELECT 1 FROM dispute_assignment a WHERE a.dispute_id = d.id AND a.agency_code = 'POLDA_METRO_JAYA' LIMIT 1 OFFSET 0)
    OR d.reported_by_agency = 'POLDA_METRO_JAYA')
ORDER BY d.reported_at DESC, d.id DESC
LIMIT 20;
