-- Kinesis Data Analytics developer guide, "Streaming Data Operations: Stream Joins":
-- each order meets the trades of the minute before it.
CREATE OR REPLACE STREAM "ORDER_STREAM" (order_id INTEGER, ticker VARCHAR(4), amount INTEGER);
CREATE OR REPLACE PUMP "ORDER_PUMP" AS INSERT INTO "ORDER_STREAM"
    SELECT STREAM oid, ticker, amount FROM "SOURCE_SQL_STREAM_001" WHERE kind = 'order';

CREATE OR REPLACE STREAM "TRADE_STREAM" (order_id INTEGER, amount INTEGER);
CREATE OR REPLACE PUMP "TRADE_PUMP" AS INSERT INTO "TRADE_STREAM"
    SELECT STREAM oid, amount FROM "SOURCE_SQL_STREAM_001" WHERE kind = 'trade';

CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (order_time TIMESTAMP, order_id INTEGER, ticker VARCHAR(4), order_amount INTEGER, trade_amount INTEGER);
CREATE OR REPLACE PUMP "JOIN_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM o.ROWTIME, o.order_id, o.ticker, o.amount, t.amount
    FROM "ORDER_STREAM" AS o
    JOIN "TRADE_STREAM" OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t
    ON o.order_id = t.order_id;
