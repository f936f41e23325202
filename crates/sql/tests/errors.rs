//! A bad application gets the position of the offending token and a plain
//! explanation; SQL we do not support says what is unsupported.

use shardlab_sql::app::{AppConfig, InputColumn, RecordFormat, SourceSchema};
use shardlab_sql::value::SqlType;
use shardlab_sql::{Application, SqlError};

fn config() -> AppConfig {
    let col = |n: &str, ty: SqlType| InputColumn {
        name: n.into(),
        ty,
        mapping: None,
    };
    AppConfig {
        sources: vec![SourceSchema {
            name: "SOURCE_SQL_STREAM_001".into(),
            columns: vec![
                col("TICKER_SYMBOL", SqlType::Varchar(Some(4))),
                col("PRICE", SqlType::Double),
            ],
            format: RecordFormat::Json,
        }],
        ..AppConfig::default()
    }
}

fn error(sql: &str) -> SqlError {
    match Application::compile(sql, &config()) {
        Ok(_) => panic!("compiled, but should not have: {sql}"),
        Err(e) => e,
    }
}

#[track_caller]
fn check(sql: &str, line: u64, column: u64, needle: &str) {
    let e = error(sql);
    assert_eq!((e.line, e.column), (line, column), "{e:?}");
    assert!(
        e.message.contains(needle),
        "{:?} does not say {needle:?}",
        e.message
    );
}

#[test]
fn syntax_errors_point_at_the_token() {
    let e =
        error("SELECT STREAM ticker_symbol\n  FROM \"SOURCE_SQL_STREAM_001\" GROUP ticker_symbol");
    assert_eq!((e.line, e.column), (2, 32), "{e:?}");
    assert_eq!(
        e.message,
        "Unexpected GROUP after the end of the statement."
    );
    assert_eq!(e.token.as_deref(), Some("GROUP"));
    let e = error("SELECT STREAM (price\n  FROM SOURCE_SQL_STREAM_001");
    assert_eq!((e.line, e.column), (2, 3), "{e:?}");
    assert_eq!(e.message, "Syntax error: expected ), found FROM.");
    assert_eq!(e.token.as_deref(), Some("FROM"));
    // At the end of the text: the position just after the last token.
    check(
        "SELECT STREAM price FROM \"SOURCE_SQL_STREAM_001\" WHERE price >",
        1,
        63,
        "expected an expression, found the end of the statement",
    );
}

#[test]
fn names_that_do_not_resolve() {
    check(
        "SELECT STREAM tickr FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        15,
        "Column TICKR is not in this query's input (its columns: TICKER_SYMBOL, PRICE)",
    );
    check(
        "SELECT STREAM \"price\" FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        15,
        "Quoted names are case-sensitive",
    );
    check(
        "SELECT STREAM price FROM \"source_sql_stream_001\"",
        1,
        26,
        "No stream named source_sql_stream_001",
    );
    check(
        "CREATE PUMP p AS INSERT INTO DEST SELECT STREAM price FROM SOURCE_SQL_STREAM_001",
        1,
        30,
        "No stream named DEST to insert into",
    );
    check(
        "SELECT STREAM PRICEY(price) FROM SOURCE_SQL_STREAM_001",
        1,
        15,
        "Unknown function PRICEY",
    );
    check(
        "SELECT STREAM UPPER(price, 2) FROM SOURCE_SQL_STREAM_001",
        1,
        15,
        "UPPER takes 1 argument, not 2",
    );
}

#[test]
fn streaming_rules_are_explained() {
    check(
        "SELECT STREAM ticker_symbol, COUNT(*) FROM SOURCE_SQL_STREAM_001\nGROUP BY ticker_symbol",
        2,
        10,
        "needs a key derived from ROWTIME",
    );
    check(
        "SELECT STREAM COUNT(DISTINCT ticker_symbol) FROM SOURCE_SQL_STREAM_001 GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE)",
        1,
        15,
        "COUNT_DISTINCT_ITEMS_TUMBLING",
    );
    check(
        "SELECT STREAM price, COUNT(*) FROM SOURCE_SQL_STREAM_001 GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE)",
        1,
        15,
        "price must be in GROUP BY or inside an aggregate",
    );
    check(
        "SELECT STREAM MAX(price) OVER (ROWS UNBOUNDED PRECEDING) FROM SOURCE_SQL_STREAM_001",
        1,
        15,
        "UNBOUNDED PRECEDING",
    );
    check(
        "SELECT STREAM SUM(price) OVER w FROM SOURCE_SQL_STREAM_001",
        1,
        31,
        "No window named W",
    );
    check(
        "SELECT STREAM STEP(ROWTIME BY price) FROM SOURCE_SQL_STREAM_001",
        1,
        15,
        "must be a positive INTERVAL literal",
    );
    check(
        "CREATE STREAM D (a VARCHAR(4), b DOUBLE);\nCREATE PUMP P AS INSERT INTO D SELECT STREAM ticker_symbol FROM SOURCE_SQL_STREAM_001;",
        2,
        1,
        "The query produces 1 columns but D takes 2",
    );
    check(
        "CREATE STREAM A (x DOUBLE); CREATE STREAM B (x DOUBLE);\nCREATE PUMP P1 AS INSERT INTO B SELECT STREAM x FROM A;\nCREATE PUMP P2 AS INSERT INTO A SELECT STREAM x FROM B;",
        1,
        1,
        "loop",
    );
}

#[test]
fn unsupported_sql_says_so() {
    check(
        "SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS a JOIN SOURCE_SQL_STREAM_001 AS b ON a.price = b.price",
        1,
        54,
        "A join of two streams needs a window on the joined stream",
    );
    check(
        "SELECT STREAM * FROM SOURCE_SQL_STREAM_001 AS a JOIN SOURCE_SQL_STREAM_001 OVER w AS b ON a.price = b.price",
        1,
        76,
        "written inline",
    );
    check(
        "SELECT STREAM * FROM SOURCE_SQL_STREAM_001 UNION ALL SELECT STREAM * FROM SOURCE_SQL_STREAM_001",
        1,
        1,
        "UNION",
    );
    check(
        "SELECT STREAM DISTINCT price FROM SOURCE_SQL_STREAM_001",
        1,
        1,
        "SELECT DISTINCT",
    );
    check("SELECT STREAM * FROM TABLE(RANDOM_CUT_FOREST(CURSOR(SELECT STREAM * FROM SOURCE_SQL_STREAM_001), 100, 256, 100000, 1, true))", 1, 119, "withDirectionality is RANDOM_CUT_FOREST_WITH_EXPLANATION's");
    check(
        "DELETE FROM SOURCE_SQL_STREAM_001",
        1,
        1,
        "A statement starts with",
    );
    check(
        "SELECT STREAM CAST(price AS GEOGRAPHY) FROM SOURCE_SQL_STREAM_001",
        1,
        20,
        "The type GEOGRAPHY is not supported",
    );
}

#[test]
fn streaming_functions_say_how_they_are_used() {
    check(
        "SELECT STREAM EXP_AVG(price, INTERVAL '10' SECOND) FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        15,
        "EXP_AVG needs a window",
    );
    check(
        "SELECT STREAM EXP_AVG(price, 10) OVER (RANGE INTERVAL '1' MINUTE PRECEDING) FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        30,
        "half-life is an INTERVAL literal",
    );
    check(
        "SELECT STREAM NTH_VALUE(price, 0) OVER (RANGE INTERVAL '1' MINUTE PRECEDING) FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        32,
        "NTH_VALUE's n",
    );
    check(
        "SELECT STREAM NTH_VALUE(price) OVER (RANGE INTERVAL '1' MINUTE PRECEDING) FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        15,
        "NTH_VALUE takes an expression and n",
    );
    check(
        "SELECT STREAM ticker_symbol, COUNT(*) FROM \"SOURCE_SQL_STREAM_001\" GROUP BY ticker_symbol",
        1,
        77,
        "or one declared MONOTONIC(...)",
    );
}

#[test]
fn hotspots_arguments_are_checked() {
    check(
        "SELECT STREAM * FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 1000, 0, 17))",
        1,
        97,
        "scanRadius is a number greater than 0",
    );
    check(
        "SELECT STREAM * FROM TABLE(HOTSPOTS(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), 50, 0.2, 17))",
        1,
        91,
        "windowSize must be an integer from 100 to 1000",
    );
}

#[test]
fn group_rank_arguments_are_checked() {
    let call = |args: &str| {
        format!("SELECT STREAM * FROM TABLE(GROUP_RANK(CURSOR(SELECT STREAM * FROM \"SOURCE_SQL_STREAM_001\"), {args}))")
    };
    check(
        &call("'VOLUME', 'r', 'desc', 'asc', 0, 0"),
        1,
        93,
        "'VOLUME' is not one of TICKER_SYMBOL, PRICE",
    );
    check(
        &call("'PRICE', 'r', 'desc', 'asc', 0, 0"),
        1,
        93,
        "ranks by an INTEGER, CHAR or VARCHAR column, as KDA's does; 'PRICE' is DOUBLE",
    );
    check(
        &call("'TICKER_SYMBOL', 'r', 'down', 'asc', 0, 0"),
        1,
        115,
        "sortOrder is 'asc' or 'desc', not 'down'",
    );
    check(
        &call("'TICKER_SYMBOL', 'PRICE', 'desc', 'asc', 0, 0"),
        1,
        110,
        "'PRICE' is empty or a column of the cursor already",
    );
    check(
        &call("'TICKER_SYMBOL', 'r', 'desc', 'asc', -1, 0"),
        1,
        131,
        "maxIdle must be an integer from 0 to 2147483647",
    );
    check(
        "SELECT STREAM GROUP_RANK(price) FROM \"SOURCE_SQL_STREAM_001\"",
        1,
        15,
        "GROUP_RANK is a table function",
    );
}
