-- LAG over a row window: each ticker's price change since its previous
-- trade, and the price two trades back (0 until there is one).
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    ticker_symbol VARCHAR(4),
    price DOUBLE,
    change_since_last DOUBLE,
    price_two_back DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ticker_symbol, price,
        price - LAG(price, 1) OVER (PARTITION BY ticker_symbol ROWS 1 PRECEDING),
        LAG(price, 2, 0.0) OVER (PARTITION BY ticker_symbol)
    FROM "SOURCE_SQL_STREAM_001";
