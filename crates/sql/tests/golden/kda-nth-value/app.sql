-- NTH_VALUE over a sliding window (SQL reference, "NTH_VALUE"): counting
-- starts at 1 from the window's earliest row, or FROM LAST from its latest
-- (the current row); IGNORE NULLS skips NULLs while counting; a window
-- too short gives NULL.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ticker_symbol VARCHAR(4),
    price DOUBLE,
    second_in_window DOUBLE,
    previous_price DOUBLE,
    second_known DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ticker_symbol, price,
        NTH_VALUE(price, 2) OVER w,
        NTH_VALUE(price, 2) FROM LAST OVER w,
        NTH_VALUE(price, 2) FROM FIRST IGNORE NULLS OVER w
    FROM "SOURCE_SQL_STREAM_001"
    WINDOW w AS (PARTITION BY ticker_symbol RANGE INTERVAL '1' MINUTE PRECEDING);
