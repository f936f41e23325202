-- SYS_LOG_PARSE (SQL reference): a syslog line `Mon DD HH:MM:SS server
-- message` as COLUMN1, the timestamp (a syslog line has no year: read as
-- Java reads a pattern without one, 1970), and COLUMN2, the rest.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    logged_at TIMESTAMP,
    message VARCHAR(64));

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM t.r.COLUMN1, t.r.COLUMN2
    FROM (SELECT STREAM SYS_LOG_PARSE("LINE") AS r FROM "SOURCE_SQL_STREAM_001") AS t;
