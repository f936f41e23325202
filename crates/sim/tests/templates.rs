//! Producers with record templates (the Kinesis Data Generator's syntax):
//! every template preset makes the records it promises, the same seed makes
//! the same records, and the KDA ticker demo runs on the ticker preset.

use shardlab_sim::sql::SqlStart;
use shardlab_sim::{open_shards, run_tick, InProcessHost, Scenario, Simulation};

fn preset(file: &str) -> Scenario {
    let path = format!(
        "{}/../../static/scenarios/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("preset file");
    serde_json::from_str(&text).expect("preset parses")
}

fn json_records(file: &str, n: usize) -> Vec<serde_json::Value> {
    preset(file)
        .first_records(n)
        .expect("template compiles")
        .iter()
        .map(|r| serde_json::from_slice(&r.data).expect("a JSON record"))
        .collect()
}

#[test]
fn the_ticker_preset_makes_the_kda_demo_stream() {
    let records = json_records("stock-ticker.json", 500);
    assert_eq!(records.len(), 500);
    for r in &records {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["CHANGE", "PRICE", "SECTOR", "TICKER_SYMBOL"], "{r}");
        let price = r["PRICE"].as_f64().unwrap();
        let change = r["CHANGE"].as_f64().unwrap();
        assert!(
            (10.0..=150.01).contains(&price) && (-5.0..=5.01).contains(&change),
            "{r}"
        );
    }
}

#[test]
fn the_json_presets_make_their_fields() {
    for r in json_records("iot-sensors.json", 200) {
        assert!(r["sensorId"].as_u64().unwrap() <= 50);
        assert!(["OK", "FAIL", "WARN"].contains(&r["status"].as_str().unwrap()));
        assert!(r["event_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:00:"));
    }
    for r in json_records("orders.json", 200) {
        assert_eq!(r["order_id"].as_str().unwrap().len(), 36);
        assert!(r["email"].as_str().unwrap().contains('@'));
        assert!((5.0..=500.0).contains(&r["price"].as_f64().unwrap()));
        assert!((1..=5).contains(&r["quantity"].as_u64().unwrap()));
    }
    let games = json_records("game-events.json", 2_000);
    let purchases = games.iter().filter(|r| r["event"] == "purchase").count();
    // 3% of events are purchases.
    assert!((30..=95).contains(&purchases), "{purchases}");
    assert!(games
        .iter()
        .all(|r| r["ts"].as_u64().unwrap() >= 1_767_225_600_000));
}

#[test]
fn the_log_preset_makes_apache_combined_lines() {
    let records = preset("app-logs.json")
        .first_records(300)
        .expect("compiles");
    for r in &records {
        let line = std::str::from_utf8(&r.data).unwrap();
        // host - - [date] "request" status bytes "referer" "agent"
        let (host, rest) = line.split_once(" - - [").expect(line);
        assert!(host.parse::<std::net::Ipv4Addr>().is_ok(), "{line}");
        let (date, rest) = rest.split_once("] \"").expect(line);
        assert_eq!(&date[2..], "/Jan/2026:00:00:00 +0000", "{line}");
        let (request, rest) = rest.split_once("\" ").expect(line);
        assert!(request.ends_with(" HTTP/1.1"), "{line}");
        let mut fields = rest.splitn(3, ' ');
        let status: u16 = fields.next().unwrap().parse().expect(line);
        assert!([200, 301, 404, 500].contains(&status), "{line}");
        assert!(fields.next().unwrap().parse::<u32>().is_ok(), "{line}");
        // Referer "-", then a quoted user agent.
        let agent = fields.next().unwrap().strip_prefix("\"-\" \"").expect(line);
        assert!(
            agent.len() > 10 && agent.ends_with('"') && !agent[..agent.len() - 1].contains('"'),
            "{line}"
        );
    }
}

#[test]
fn a_template_run_is_reproducible_and_seeded() {
    let run = |seed: u64| {
        let mut s = preset("orders.json");
        s.seed = seed;
        let mut sim = Simulation::new(s).expect("valid");
        let mut host = InProcessHost::new();
        open_shards(&mut sim, &mut host).expect("open");
        for _ in 0..30 {
            run_tick(&mut sim, &mut host, 100).expect("tick");
        }
        sim.snapshot()
    };
    assert_eq!(run(13), run(13));
    assert_ne!(run(13).digest, run(14).digest);
}

#[test]
fn a_bad_template_is_refused_when_the_stream_is_created() {
    let mut s = preset("orders.json");
    s.record_template = Some("{\"a\": {{random.nuber(5)}}}".into());
    let e = Simulation::new(s.clone())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("record template, line 1, column 9: random has no method \"nuber\""),
        "{e}"
    );
    assert!(s.first_records(1).is_err());
}

#[test]
fn the_kda_ticker_demo_runs_on_the_ticker_preset() {
    // The Kinesis Data Analytics getting-started application, on the
    // stream the KDG's ticker template makes.
    const APP: &str = r#"
CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker_symbol VARCHAR(4), avg_price DOUBLE, trades INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
    SELECT STREAM ticker_symbol, AVG(price), COUNT(*)
    FROM "SOURCE_SQL_STREAM_001"
    GROUP BY ticker_symbol, STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND);"#;
    let mut sim = Simulation::new(preset("stock-ticker.json")).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    for _ in 0..10 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    sim.start_sql(APP, SqlStart::TrimHorizon, None)
        .expect("compiles");
    for _ in 0..300 {
        run_tick(&mut sim, &mut host, 100).expect("tick");
    }
    let snap = sim.snapshot();
    let view = snap.sql.expect("runs");
    let columns: Vec<&str> = view.input_columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(columns, ["TICKER_SYMBOL", "SECTOR", "CHANGE", "PRICE"]);
    let dest = view
        .streams
        .iter()
        .find(|s| s.name == "DESTINATION_SQL_STREAM")
        .expect("stream");
    assert!(dest.rows.len() >= 14, "{}", dest.rows.len());
    for row in &dest.rows {
        assert!(
            ["AAPL", "AMZN", "MSFT", "INTC", "TBV", "NFLX", "QXZ"]
                .contains(&row.values[0].as_str()),
            "{row:?}"
        );
        let avg: f64 = row.values[1].parse().unwrap();
        assert!((10.0..=150.01).contains(&avg), "{row:?}");
    }
    // 200 records/s over 7 tickers: about 285 trades per ticker per window.
    let last = dest.rows.iter().map(|r| r.rowtime_ms).max().unwrap();
    let trades: u64 = dest
        .rows
        .iter()
        .filter(|r| r.rowtime_ms == last)
        .map(|r| r.values[2].parse::<u64>().unwrap())
        .sum();
    assert!((1_900..=2_100).contains(&trades), "{trades}");
}

#[test]
fn large_records_are_sent_in_calls_of_at_most_5_mib() {
    // 100 KB records, 120 in a tick: 12 MB, more than one PutRecords may
    // carry (10 MiB), so the producer splits it into calls of 5 MiB; the
    // shard takes what its 1 MiB/s allows and refuses the rest.
    let mut s = preset("orders.json");
    s.shard_count = 1;
    s.rate_per_sec = 1_200;
    s.consumers.clear();
    s.record_template = Some("{{random.alphaNumeric(1024)}}".repeat(100));
    let mut sim = Simulation::new(s).expect("valid");
    let mut host = InProcessHost::new();
    open_shards(&mut sim, &mut host).expect("open");
    run_tick(&mut sim, &mut host, 100).expect("tick");
    let snap = sim.snapshot();
    assert_eq!(snap.records_produced, 120);
    let accepted: u64 = snap.shards.iter().map(|s| s.records_accepted).sum();
    let throttled: u64 = snap.shards.iter().map(|s| s.records_throttled).sum();
    assert_eq!(accepted + throttled, 120);
    assert!((1..=25).contains(&accepted), "{accepted}");
}
