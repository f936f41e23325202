//! A SQL application on the simulated stream: its schema discovered from
//! the records, every record read once, windows closed by the tick's
//! rowtime bound, and the same run giving the same rows.

use serde_json::{json, Value};
use shardlab_sim::sql::SqlStart;
use shardlab_sim::{open_shards, run_tick, InProcessHost, Scenario, Simulation, Snapshot};

const APP: &str = "
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (action VARCHAR(16), clicks BIGINT);
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"
    SELECT STREAM action, COUNT(*) FROM \"SOURCE_SQL_STREAM_001\"
    GROUP BY action, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);";

fn scenario() -> Scenario {
    serde_json::from_str(include_str!("../../../static/scenarios/clickstream.json"))
        .expect("preset")
}

/// Runs 5 s, starts the application at `start`, runs 35 s more.
fn run(start: SqlStart) -> Snapshot {
    let mut sim = Simulation::new(scenario()).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..50 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    sim.start_sql(APP, start, None).expect("compiles");
    for _ in 0..350 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    sim.snapshot()
}

#[test]
fn counts_per_window_add_up_to_the_records_read() {
    let snap = run(SqlStart::TrimHorizon);
    let view = snap.sql.as_ref().expect("the application runs");
    let names: Vec<(&str, &str)> = view
        .input_columns
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(names[0], ("event_id", "INTEGER"));
    assert!(names.contains(&("action", "VARCHAR(16)")), "{names:?}");
    assert!(names.contains(&("event_time", "TIMESTAMP")), "{names:?}");
    // 40 s at 2,000 records/s, all read from TRIM_HORIZON (the reader
    // polls once a second, so at most the last second is still unread).
    assert!(
        view.rows_in >= 78_000 && view.rows_in <= 80_000,
        "{}",
        view.rows_in
    );
    let dest = view
        .streams
        .iter()
        .find(|s| s.name == "DESTINATION_SQL_STREAM")
        .expect("stream");
    assert_eq!(dest.columns, ["ACTION", "CLICKS"]);
    // Windows end every 10 s of ROWTIME; each closed window has a row per
    // action, and the counts of the closed windows cover what was read
    // before the last boundary.
    let ends: std::collections::BTreeSet<i64> = dest.rows.iter().map(|r| r.rowtime_ms).collect();
    assert!(ends.iter().all(|t| t % 10_000 == 0), "{ends:?}");
    assert!(ends.len() >= 3);
    // The newest window, in the steady state: 10 s of reads at 2,000/s.
    let last = *ends.iter().next_back().expect("a window");
    let clicks: u64 = dest
        .rows
        .iter()
        .filter(|r| r.rowtime_ms == last)
        .map(|r| r.values[1].parse::<u64>().expect("count"))
        .sum();
    assert!(
        (19_000..=21_000).contains(&clicks),
        "{clicks} clicks in the window ending {last}"
    );
    let errors = view
        .streams
        .iter()
        .find(|s| s.name == "error_stream")
        .expect("error stream");
    assert_eq!(errors.total, 0, "{:?}", errors.rows.first());
}

#[test]
fn now_reads_only_what_arrives_after_the_start() {
    let from_start = run(SqlStart::TrimHorizon);
    let from_now = run(SqlStart::Now);
    let a = from_start.sql.as_ref().expect("runs").rows_in;
    let b = from_now.sql.as_ref().expect("runs").rows_in;
    // The first 5 s (10,000 records) are only read from TRIM_HORIZON.
    assert!(a - b >= 9_000 && a - b <= 11_000, "{a} vs {b}");
}

#[test]
fn same_run_same_rows() {
    assert_eq!(run(SqlStart::TrimHorizon), run(SqlStart::TrimHorizon));
}

#[test]
fn a_bad_application_is_refused_with_its_position() {
    let mut sim = Simulation::new(scenario()).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    let early = sim
        .start_sql(APP, SqlStart::Now, None)
        .expect_err("no records yet");
    assert!(early.message.contains("no records"), "{early:?}");
    for _ in 0..5 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let e = sim
        .start_sql(
            "SELECT STREAM actoin FROM SOURCE_SQL_STREAM_001",
            SqlStart::Now,
            None,
        )
        .expect_err("unknown column");
    assert_eq!((e.line, e.column), (1, 15));
    assert!(
        e.message
            .contains("its columns: event_id, user_id, page, action, event_time"),
        "{}",
        e.message
    );
    assert!(sim.snapshot().sql.is_none());
}

#[test]
fn a_restarted_application_never_gets_its_predecessors_reads() {
    use shardlab_sim::host::run_ticks_planning_ahead;
    // A restart (Run again) replaces the reader: the new application reads
    // exactly what one started there for the first time reads, at every
    // tick of a poll interval. No other consumer shares the read limits,
    // so both see the same shards.
    let run = |first: Option<u32>, at: u32| {
        let mut alone = scenario();
        alone.consumers.clear();
        let mut sim = Simulation::new(alone).expect("valid");
        let mut host = InProcessHost::new();
        open_shards(&mut sim, &mut host).expect("open");
        run_ticks_planning_ahead(&mut sim, &mut host, 160, 100, |t, sim| {
            if Some(t) == first || t == at {
                sim.start_sql(APP, SqlStart::TrimHorizon, None)
                    .expect("compiles");
            }
        })
        .expect("ticks");
        sim.snapshot().sql.expect("runs").rows_in
    };
    for at in 100..110 {
        assert_eq!(run(Some(50), at), run(None, at), "restarted at tick {at}");
    }
}

#[test]
fn the_application_as_flink_sql_reads_this_stream() {
    let mut sim = Simulation::new(scenario()).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..5 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let t = sim
        .translate_sql(APP, SqlStart::TrimHorizon)
        .expect("translates");
    assert!(t.sql.contains("'stream' = 'clickstream'"), "{}", t.sql);
    assert!(
        t.sql.contains("'scan.stream.initpos' = 'TRIM_HORIZON'"),
        "{}",
        t.sql
    );
    assert!(t.sql.contains("`action` VARCHAR(16)"), "{}", t.sql);
    assert!(
        t.sql.contains("FROM TABLE(TUMBLE(TABLE `SOURCE_SQL_STREAM_001`, DESCRIPTOR(`proc_time`), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `action`"),
        "{}",
        t.sql
    );
}

#[test]
fn a_reference_table_joins_the_stream() {
    use shardlab_sim::sql::ReferenceData;
    let mut sim = Simulation::new(scenario()).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..5 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let app = "
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (category VARCHAR(16), clicks BIGINT);
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"
    SELECT STREAM c.category, COUNT(*)
    FROM \"SOURCE_SQL_STREAM_001\" LEFT JOIN \"PAGES\" AS c ON \"SOURCE_SQL_STREAM_001\".page = c.page
    GROUP BY c.category, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);";
    let bad = ReferenceData {
        name: "PAGES".into(),
        csv: "page,category\n/,home,extra\n".into(),
    };
    let e = sim
        .start_sql(app, SqlStart::Now, Some(&bad))
        .expect_err("ragged CSV");
    assert!(
        e.message
            .contains("Row 2 of the reference data has 3 values"),
        "{}",
        e.message
    );
    // Every page but /search has a category; its clicks come out as NULL.
    let pages = ReferenceData {
        name: "PAGES".into(),
        csv: "page,category\n/,home\n/products,catalog\n/products/42,catalog\n/cart,checkout\n/checkout,checkout\n".into(),
    };
    sim.start_sql(app, SqlStart::Now, Some(&pages))
        .expect("compiles");
    for _ in 0..200 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let view = sim.snapshot().sql.expect("runs");
    assert_eq!(view.reference, Some(("PAGES".to_string(), 5)));
    let dest = view
        .streams
        .iter()
        .find(|s| s.name == "DESTINATION_SQL_STREAM")
        .expect("stream");
    let cats: std::collections::BTreeSet<&str> =
        dest.rows.iter().map(|r| r.values[0].as_str()).collect();
    assert_eq!(
        cats,
        ["NULL", "catalog", "checkout", "home"]
            .into_iter()
            .collect()
    );
}

const AVERAGES: &str = "
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(4), avg_price DOUBLE);
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"
    SELECT STREAM ticker_symbol, AVG(price) FROM \"SOURCE_SQL_STREAM_001\"
    GROUP BY ticker_symbol, STEP(\"SOURCE_SQL_STREAM_001\".ROWTIME BY INTERVAL '10' SECOND);";

/// A simulation of `s` with two seconds of records in its stream, for an
/// application to discover its schema from.
fn warmed_up(s: Scenario) -> (Simulation, InProcessHost) {
    let mut sim = Simulation::new(s).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..20 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    (sim, host)
}

/// The rows the application has written to DESTINATION_SQL_STREAM.
fn destination_rows(sql: &shardlab_sim::sql::SqlView) -> u64 {
    sql.streams
        .iter()
        .find(|s| s.name == "DESTINATION_SQL_STREAM")
        .unwrap()
        .total
}

#[test]
fn an_output_writes_the_applications_rows_to_firehose() {
    let s: Scenario = serde_json::from_str(include_str!(
        "../../../static/scenarios/ticker-averages-to-s3.json"
    ))
    .expect("preset");
    let (mut sim, mut host) = warmed_up(s.clone());
    // The output names a stream the application must have (exact name).
    let e = sim
        .start_sql(
            &AVERAGES.replace("DESTINATION_SQL_STREAM", "OUT"),
            SqlStart::Now,
            None,
        )
        .unwrap_err();
    assert!(
        e.message.contains("has no stream of that name"),
        "{}",
        e.message
    );
    sim.start_sql(AVERAGES, SqlStart::Now, None)
        .expect("compiles");
    for _ in 0..1300 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let snap = sim.snapshot();
    let sql = snap.sql.as_ref().expect("running");
    let out = &sql.outputs[0];
    let rows = destination_rows(sql);
    assert!(rows > 50, "{rows} rows");
    assert_eq!((out.sent, out.waiting), (rows, 0));
    // Only the application writes to the delivery stream, not the producer.
    let ds = &snap.delivery_streams[0];
    assert_eq!(ds.accounting.incoming_records, rows);
    assert!(ds.accounting.delivered_records > 0, "{ds:?}");
    // KDA's JSON records, made lines by AppendDelimiterToRecord.
    let key = &ds.newest_objects[0].key;
    let preview =
        shardlab_sim::firehose_source::preview(sim.firehose(), "shardlab-lab", key).unwrap();
    // In the stream's column order.
    let line = preview.text.lines().next().unwrap();
    assert!(line.starts_with(r#"{"TICKER_SYMBOL":""#), "{line}");
    let first: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(first["AVG_PRICE"].is_number(), "{first}");
    // A scenario whose output names a delivery stream the producer feeds
    // (or none) is refused, naming the field.
    let mut bad = s.clone();
    bad.sql_outputs[0]
        .firehose
        .as_mut()
        .expect("a Firehose output")
        .resource_arn = "arn:aws:firehose:us-east-1:123456789012:deliverystream/nope".into();
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("sql_outputs[0]: KinesisFirehoseOutput.ResourceARN"),
        "{e}"
    );
}

#[test]
fn a_lambda_output_gets_kdas_events_and_failed_deliveries_are_sent_again() {
    let mut s: Scenario = serde_json::from_str(include_str!(
        "../../../static/scenarios/ticker-averages-to-s3.json"
    ))
    .expect("preset");
    s.lambda_functions = serde_json::from_value(serde_json::json!([
        {"name": "alerts", "code": {"fail_if": {"field": "TICKER_SYMBOL", "equals": "QXZ"}}}
    ]))
    .unwrap();
    s.sql_outputs = serde_json::from_value(serde_json::json!([{
        "Name": "DESTINATION_SQL_STREAM",
        "LambdaOutput": {"ResourceARN": "arn:aws:lambda:us-east-1:123456789012:function:alerts"},
        "DestinationSchema": {"RecordFormatType": "JSON"}
    }]))
    .unwrap();
    let (mut sim, mut host) = warmed_up(s.clone());
    sim.start_sql(AVERAGES, SqlStart::Now, None)
        .expect("compiles");
    for _ in 0..600 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let snap = sim.snapshot();
    let sql = snap.sql.as_ref().expect("running");
    let out = &sql.outputs[0];
    let rows = destination_rows(sql);
    assert_eq!(out.function, "alerts");
    // One invocation per 10-second window (its rows come at once), plus
    // the retries of the QXZ rows, which the function never takes: they
    // wait at the front, with every other row behind them, as KDA's
    // back pressure does.
    assert!(out.invocations >= 5, "{out:?}");
    assert!(out.delivery_failed >= out.invocations - 1, "{out:?}");
    assert_eq!(out.sent + out.waiting, rows, "{out:?}");
    assert!(out.sent > 0 && out.waiting > 0, "{out:?}");
    assert!(
        out.last_error
            .as_deref()
            .is_some_and(|e| e.contains("DeliveryFailed")),
        "{out:?}"
    );
    // A function the scenario does not have, or two destinations, is
    // refused, naming the field.
    let mut bad = s.clone();
    bad.lambda_functions.clear();
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("sql_outputs[0]: LambdaOutput.ResourceARN"),
        "{e}"
    );
    let mut bad = s.clone();
    bad.sql_outputs[0].kinesis = Some(serde_json::from_value(json!({"ResourceARN": "x"})).unwrap());
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("exactly one destination"), "{e}");
}

/// The ticker preset writing its averages to an output stream of
/// `shards` shards, with `app` as the application.
fn to_stream() -> Scenario {
    serde_json::from_str(include_str!(
        "../../../static/scenarios/ticker-to-stream.json"
    ))
    .expect("preset")
}

/// Every record of a stream, read with the console's calls, shard by shard
/// from TRIM_HORIZON: (shard id, partition key, data).
fn read_stream(
    sim: &mut Simulation,
    host: &mut InProcessHost,
    stream: &str,
) -> Vec<(String, String, String)> {
    use base64::Engine as _;
    let (_, shards) = call(sim, host, "ListShards", json!({"StreamName": stream}));
    let mut out = Vec::new();
    for shard in shards["Shards"].as_array().unwrap() {
        let id = shard["ShardId"].as_str().unwrap().to_string();
        let (_, it) = call(
            sim,
            host,
            "GetShardIterator",
            json!({"StreamName": stream, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"}),
        );
        let mut iterator = it["ShardIterator"].as_str().unwrap().to_string();
        loop {
            let (status, page) = call(
                sim,
                host,
                "GetRecords",
                json!({"ShardIterator": iterator, "Limit": 10000}),
            );
            assert_eq!(status, 200, "{page}");
            let records = page["Records"].as_array().unwrap();
            for r in records {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(r["Data"].as_str().unwrap())
                    .unwrap();
                out.push((
                    id.clone(),
                    r["PartitionKey"].as_str().unwrap().to_string(),
                    String::from_utf8(data).unwrap(),
                ));
            }
            if records.is_empty() && page["MillisBehindLatest"] == 0 {
                break;
            }
            iterator = page["NextShardIterator"].as_str().unwrap().to_string();
        }
    }
    out
}

/// A console call, answered now or after an empty tick.
fn call(sim: &mut Simulation, host: &mut InProcessHost, op: &str, body: Value) -> (u16, Value) {
    let reply = match sim.api_call(1, op, body.to_string().as_bytes()) {
        Some(reply) => reply,
        None => {
            run_tick(sim, host, 0).unwrap();
            sim.take_api_replies().remove(0)
        }
    };
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

/// `s` warmed up, then `app` started from NOW with its
/// DESTINATION_SQL_STREAM captured, run for `ticks` ticks.
fn run_capturing(s: Scenario, app: &str, ticks: u32) -> (Simulation, InProcessHost) {
    let (mut sim, mut host) = warmed_up(s);
    sim.start_sql(app, SqlStart::Now, None).expect("compiles");
    sim.sql_runner_mut()
        .unwrap()
        .capture("DESTINATION_SQL_STREAM");
    for _ in 0..ticks {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    (sim, host)
}

/// Reads the output stream ticker-averages and checks it holds exactly
/// the rows the application wrote (as the output counts them), in the
/// order it emitted them, as JSON with these two columns.
fn read_as_captured(
    sim: &mut Simulation,
    host: &mut InProcessHost,
    columns: [&str; 2],
) -> Vec<(String, String, String)> {
    // Reading runs ticks, and the application goes on writing.
    let records = read_stream(sim, host, "ticker-averages");
    let captured = sim.sql_runner().unwrap().captured().unwrap().clone();
    let sent = sim.snapshot().sql.unwrap().outputs[0].sent;
    assert_eq!(records.len() as u64, sent);
    for (i, ((_, _, data), (_, values))) in records.iter().zip(&captured.rows).enumerate() {
        let row: Value = serde_json::from_str(data).unwrap();
        for (c, column) in columns.iter().enumerate() {
            assert_eq!(row[column], values[c], "record {i}: {data}");
        }
    }
    records
}

#[test]
fn a_kinesis_output_writes_the_applications_rows_to_a_data_stream() {
    let (mut sim, mut host) = run_capturing(to_stream(), AVERAGES, 600);
    let snap = sim.snapshot();
    let sql = snap.sql.as_ref().expect("running");
    let out = &sql.outputs[0];
    assert_eq!(out.data_stream, "ticker-averages");
    let rows = destination_rows(sql);
    assert!(rows > 30, "{rows}");
    assert_eq!(out.sent + out.waiting, rows, "{out:?}");
    assert_eq!(out.throttled, 0, "{out:?}");
    let view = &snap.output_streams[0];
    assert_eq!(view.name, "ticker-averages");
    assert_eq!(
        view.arn,
        "arn:aws:kinesis:us-east-1:123456789012:stream/ticker-averages"
    );
    assert_eq!(view.records(), out.sent);
    assert!(view
        .newest
        .last()
        .unwrap()
        .data
        .starts_with(r#"{"TICKER_SYMBOL":""#));
    // The source stream's rows do not count the output stream's records.
    assert_eq!(snap.shards.len(), 2);
    // The stream holds the rows the application emitted, as KDA's JSON
    // records, in order, each once, with a random partition key.
    let records = read_as_captured(&mut sim, &mut host, ["TICKER_SYMBOL", "AVG_PRICE"]);
    for (shard, key, _) in &records {
        assert_eq!(shard, "shardId-000000000000");
        assert_eq!(key.len(), 36, "{key}");
    }
    let keys: std::collections::BTreeSet<&String> = records.iter().map(|r| &r.1).collect();
    assert_eq!(keys.len(), records.len());
}

#[test]
fn a_throttled_output_stream_gets_every_row_in_order() {
    // Every input row out, at 2,000 a second, into one shard (1,000
    // records a second): the shard refuses about half of each call, and
    // the application sends them again first, without end.
    let mut s = to_stream();
    s.rate_per_sec = 2000;
    let app = "
CREATE OR REPLACE STREAM \"DESTINATION_SQL_STREAM\" (ticker_symbol VARCHAR(4), price DOUBLE);
CREATE OR REPLACE PUMP \"STREAM_PUMP\" AS INSERT INTO \"DESTINATION_SQL_STREAM\"
    SELECT STREAM ticker_symbol, price FROM \"SOURCE_SQL_STREAM_001\";";
    let (mut sim, mut host) = run_capturing(s, app, 100);
    let snap = sim.snapshot();
    let sql = snap.sql.as_ref().expect("running");
    let out = &sql.outputs[0];
    let rows = destination_rows(sql);
    assert!(out.throttled > 1000, "{out:?}");
    assert!(out.waiting > 1000, "{out:?}");
    assert_eq!(out.sent + out.waiting, rows, "{out:?}");
    let view = &snap.output_streams[0];
    assert_eq!(view.shards[0].throttled, out.throttled);
    // The source stream's hash-key histogram counts its own records only.
    assert_eq!(snap.key_histogram.iter().sum::<u64>(), 2000);
    // About the shard's 1,000 records a second got in.
    assert!(
        (8_000..=11_000).contains(&out.sent),
        "{} sent in 10 s",
        out.sent
    );
    let _ = read_as_captured(&mut sim, &mut host, ["TICKER_SYMBOL", "PRICE"]);
}

#[test]
fn planning_ahead_gives_the_same_output_stream_as_tick_by_tick() {
    use shardlab_sim::host::run_ticks_planning_ahead;
    // The browser plans a tick before the last one's replies are in when
    // it can; the rows a window releases must still reach the output
    // stream with the tick after, whatever the host does.
    let run = |ahead: bool| {
        let (mut sim, mut host) = warmed_up(to_stream());
        sim.start_sql(AVERAGES, SqlStart::Now, None)
            .expect("compiles");
        if ahead {
            run_ticks_planning_ahead(&mut sim, &mut host, 300, 100, |_, _| {}).expect("ticks");
        } else {
            for _ in 0..300 {
                run_tick(&mut sim, &mut host, 100).expect("tick");
            }
        }
        let snap = sim.snapshot();
        (snap.digest.clone(), snap.output_streams[0].records())
    };
    let (digest, records) = run(false);
    assert!(records > 0);
    assert_eq!(run(true), (digest, records));
}

#[test]
fn output_streams_are_checked_as_createstream_checks_them() {
    let check = |f: &dyn Fn(&mut Scenario)| {
        let mut s = to_stream();
        f(&mut s);
        s.validate().unwrap_err().to_string()
    };
    let e = check(&|s| s.output_streams.clear());
    assert!(
        e.contains("sql_outputs[0]: KinesisStreamsOutput.ResourceARN names the stream ticker-averages, which is not one of the scenario's output_streams"),
        "{e}"
    );
    let e = check(&|s| s.output_streams[0].name = "ticker".into());
    assert!(
        e.contains("output_streams[0]: ResourceInUseException: Stream ticker under account 123456789012 already exists."),
        "{e}"
    );
    let e = check(&|s| s.output_streams[0].name = "bad name".into());
    assert!(
        e.contains("output_streams[0]: ") && e.contains("[a-zA-Z0-9_.-]+"),
        "{e}"
    );
    let e = check(&|s| s.output_streams[0].shard_count = 0);
    assert!(
        e.contains("output_streams[0]: ") && e.contains("shardCount"),
        "{e}"
    );
    let e = check(&|s| {
        s.sql_outputs[0].kinesis.as_mut().unwrap().resource_arn =
            "arn:aws:kinesis:eu-west-1:123456789012:stream/ticker-averages".into()
    });
    assert!(
        e.contains(
            "is not a data stream's ARN (arn:aws:kinesis:us-east-1:123456789012:stream/NAME)"
        ),
        "{e}"
    );
    // The account's shard limit counts every stream's shards.
    let e = check(&|s| {
        s.shard_count = 30;
        s.output_streams[0].shard_count = 3;
    });
    assert!(
        e.contains(
            "LimitExceededException: the stream and its output streams have 33 shards in all"
        ),
        "{e}"
    );
    let e = check(&|s| {
        s.sql_outputs[0].kinesis.as_mut().unwrap().resource_arn =
            "arn:aws:kinesis:us-east-1:123456789012:stream/ticker".into()
    });
    assert!(
        e.contains("(the application cannot write to the stream it reads)"),
        "{e}"
    );
}

#[test]
fn the_flink_translation_writes_a_firehose_output_to_a_firehose_table() {
    let s: Scenario = serde_json::from_str(include_str!(
        "../../../static/scenarios/ticker-averages-to-s3.json"
    ))
    .expect("preset");
    let (sim, _host) = warmed_up(s.clone());
    let t = sim
        .translate_sql(AVERAGES, SqlStart::Now)
        .expect("translates");
    assert!(
        t.sql.contains(
            "CREATE TABLE `DESTINATION_SQL_STREAM` (\n    `TICKER_SYMBOL` VARCHAR(4),\n    `AVG_PRICE` DOUBLE\n) WITH (\n    'connector' = 'firehose',\n    'delivery-stream' = 'ticker-averages',\n    'aws.region' = 'us-east-1',\n    'format' = 'json'\n);"
        ),
        "{}",
        t.sql
    );
    // A Lambda output has no Flink SQL sink: its table stays a stream,
    // with a note.
    let mut s = s;
    s.lambda_functions = serde_json::from_value(serde_json::json!([
        {"name": "alerts", "code": {"select_fields": ["x"]}}
    ]))
    .unwrap();
    s.sql_outputs[0].firehose = None;
    s.sql_outputs[0].lambda = Some(shardlab_sim::sql::OutputResource {
        resource_arn: "arn:aws:lambda:us-east-1:123456789012:function:alerts".into(),
        role_arn: None,
    });
    let (sim, _host) = warmed_up(s);
    let t = sim
        .translate_sql(AVERAGES, SqlStart::Now)
        .expect("translates");
    assert!(
        t.sql
            .contains("'connector' = 'kinesis',\n    'stream' = 'DESTINATION_SQL_STREAM'"),
        "{}",
        t.sql
    );
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("Lambda function alerts is left out")),
        "{:?}",
        t.notes
    );
}
