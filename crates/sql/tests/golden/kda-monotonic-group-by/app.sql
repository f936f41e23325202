-- MONOTONIC (SQL reference): declaring that ORDER_ID never goes back lets
-- a streaming GROUP BY close each order's group when the next order's
-- first line item arrives (emitted with that row's ROWTIME). The last
-- order stays open: only a row with another ORDER_ID can close it.
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (
    order_id INTEGER,
    line_items INTEGER,
    total DOUBLE);

CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM MONOTONIC(order_id), COUNT(*), SUM(amount)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY MONOTONIC(order_id);
