-- FAST_REGEX_LOG_PARSE (SQL reference): the page's lines and patterns.
-- Each top-level group is a column, taking the fewest characters after
-- which the rest can go on; between groups as many as match; no going
-- back; every character must be matched, or the result is NULL.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    pattern VARCHAR(16),
    first_part VARCHAR(32),
    second_part VARCHAR(32));

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM 'B', t.b.COLUMN1, t.b.COLUMN2
    FROM (SELECT STREAM FAST_REGEX_LOG_PARSE("LINE", '(.*)_+(.*)') AS b FROM "SOURCE_SQL_STREAM_001") AS t;

CREATE OR REPLACE PUMP "STREAM_PUMP_A" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM 'A', t.a.COLUMN1, t.a.COLUMN2
    FROM (SELECT STREAM FAST_REGEX_LOG_PARSE("LINE", '(.*)_+(._.*)') AS a FROM "SOURCE_SQL_STREAM_001") AS t;

CREATE OR REPLACE PUMP "STREAM_PUMP_C" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM 'C', t.c.COLUMN1, t.c.COLUMN2
    FROM (SELECT STREAM FAST_REGEX_LOG_PARSER("LINE", '(.*)_+(<Alpha>.*)') AS c FROM "SOURCE_SQL_STREAM_001") AS t;
