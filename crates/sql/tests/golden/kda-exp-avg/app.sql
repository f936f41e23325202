-- EXP_AVG (SQL reference, "EXP_AVG"): an average over the window in which
-- each price weighs 2^(-age / half-life), its age measured back from the
-- current row: with a 10-second half-life a price 10 s old counts half as
-- much as the newest, one 20 s old a quarter.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ticker_symbol VARCHAR(4),
    price DOUBLE,
    avg_price DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ticker_symbol, price,
        EXP_AVG(price, INTERVAL '10' SECOND) OVER w
    FROM "SOURCE_SQL_STREAM_001"
    WINDOW w AS (PARTITION BY ticker_symbol RANGE INTERVAL '30' SECOND PRECEDING);
