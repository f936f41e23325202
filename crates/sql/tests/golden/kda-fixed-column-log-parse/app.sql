-- FIXED_COLUMN_LOG_PARSE (SQL reference): fields at fixed positions,
-- counted from 0, converted to their declared types; a date pattern after
-- the type reads a timestamp; a field that starts past the end of a short
-- line is NULL.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    a INTEGER,
    b BOOLEAN,
    c DECIMAL(5,2),
    at_time TIMESTAMP);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM t.r.A, t.r.B, t.r.C, t.r.AT_TIME
    FROM (SELECT STREAM FIXED_COLUMN_LOG_PARSE("LINE",
            'A TYPE INTEGER START 0 FOR 3, B TYPE BOOLEAN START 4 FOR 6, C TYPE DECIMAL(5,2) START 10 FOR 7, AT_TIME TYPE TIMESTAMP ''dd/MMM/yyyy:HH:mm:ss'' START 18') AS r
          FROM "SOURCE_SQL_STREAM_001") AS t;
