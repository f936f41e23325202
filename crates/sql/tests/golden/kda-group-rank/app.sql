-- GROUP_RANK (SQL reference, "Sort the Results of a GROUP BY Clause"):
-- counts per ticker per second, then each second's counts ranked, highest
-- first (RANK(): a tie shares its rank and the next rank skips), released
-- 5 ms after the group's ROWTIME on the rowtime bound (maxIdle).
CREATE OR REPLACE STREAM "ticker_grouped" ("group_time" TIMESTAMP, "ticker" VARCHAR(65520), "ticker_count" INTEGER);
CREATE OR REPLACE STREAM "destination_sql_stream" ("group_time" TIMESTAMP, "ticker" VARCHAR(65520), "ticker_count" INTEGER, "group_rank" INTEGER);
CREATE OR REPLACE PUMP "ticker_pump" AS INSERT INTO "ticker_grouped"
  SELECT STREAM FLOOR(SOURCE_SQL_STREAM_001.ROWTIME TO SECOND), "TICKER_SYMBOL", COUNT(TICKER_SYMBOL)
  FROM SOURCE_SQL_STREAM_001
  GROUP BY FLOOR(SOURCE_SQL_STREAM_001.ROWTIME TO SECOND), TICKER_SYMBOL;
CREATE OR REPLACE PUMP DESTINATION_SQL_STREAM_PUMP AS INSERT INTO "destination_sql_stream"
  SELECT STREAM "group_time", "ticker", "ticker_count", "groupRank"
  FROM TABLE(GROUP_RANK(CURSOR(SELECT STREAM * FROM "ticker_grouped"),
       'ticker_count', 'groupRank', 'desc', 'asc', 5, 0));
