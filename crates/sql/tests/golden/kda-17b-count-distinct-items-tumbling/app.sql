-- Kinesis Data Analytics SQL reference, "COUNT_DISTINCT_ITEMS_TUMBLING".
CREATE OR REPLACE STREAM DESTINATION_SQL_STREAM (
               NUMBER_OF_DISTINCT_ITEMS BIGINT);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS
   INSERT INTO "DESTINATION_SQL_STREAM"
      SELECT STREAM *
      FROM TABLE(COUNT_DISTINCT_ITEMS_TUMBLING(
                        CURSOR(SELECT STREAM * FROM "SOURCE_SQL_STREAM_001"),
                        'TICKER', -- name of column in single quotes
                         60          -- tumbling window size in seconds
  )
);
