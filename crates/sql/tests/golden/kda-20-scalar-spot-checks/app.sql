-- Kinesis Data Analytics SQL reference: STEP, POSITION, EXTRACT,
-- TO_TIMESTAMP and UNIX_TIMESTAMP examples.
SELECT STREAM
    STEP(23 BY 5) AS step_int,
    STEP(30 BY 10) AS step_exact,
    STEP(CAST('2004-09-30 13:48:23' AS TIMESTAMP) BY INTERVAL '10' SECOND) AS step_ts,
    POSITION('7' IN '1234567') AS pos,
    POSITION('findme' IN '1234findmeXXX') AS pos2,
    POSITION('' IN 'abc') AS pos_empty,
    EXTRACT(SECOND FROM INTERVAL '2 3:4:5.678' DAY TO SECOND) AS secs,
    EXTRACT(DAY FROM INTERVAL '2 3:4:5.678' DAY TO SECOND) AS days,
    UNIX_TIMESTAMP(TO_TIMESTAMP(1500000000123)) AS round_trip,
    TSDIFF(TIMESTAMP '2026-03-02 12:00:01', TIMESTAMP '2026-03-02 12:00:00') AS diff_ms,
    INITCAP('hello wORLD') AS initcap,
    'a' || 'b' || CAST(1 AS VARCHAR(4)) AS concat,
    CASE WHEN 1 > 2 THEN 'no' ELSE 'yes' END AS case_when,
    COALESCE(NULL, 'x') AS coalesce_x,
    NULLIF(3, 3) AS nullif_null
FROM "SOURCE_SQL_STREAM_001";
