-- Q1 provinces (PUBLIC reference data). Both dialects.
-- The whole need is one statement: every province's code and name in code order (38
-- rows: PostgreSQL reads the table and sorts it, cheaper than province_pkey at this
-- size; SQLite reads its automatic index on the primary key). No access
-- rule: provinces are public. It is the statement Posko issues itself; the issue's goal
-- for Q1 is to serve it from memory, above this ceiling.
SELECT code, name FROM province ORDER BY code;
