-- Q1 provinces (PUBLIC reference data). Both dialects.
-- The whole need is one statement: every province's code and name in code order, read
-- from the primary key (province_pkey / SQLite's automatic index on code). No access
-- rule: provinces are public. It is the statement Posko issues itself; the issue's goal
-- for Q1 is to serve it from memory, above this ceiling.
SELECT code, name FROM province ORDER BY code;
