-- ANY and EVERY, KDA's boolean aggregates (SQL reference, "Boolean
-- Functions"): per minute, whether any trade and whether every trade was
-- below 1; NULL prices are skipped.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    any_below_one BOOLEAN,
    every_below_one BOOLEAN,
    trades INTEGER);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ANY(price < 1), EVERY(price < 1), COUNT(*)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY FLOOR("SOURCE_SQL_STREAM_001".ROWTIME TO MINUTE);
