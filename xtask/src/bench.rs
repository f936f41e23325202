//! `cargo xtask bench`: the same workloads natively (release build) and as
//! wasm in headless Chromium, in one run, with the ratio; the figures are
//! printed and written to BENCHMARKS.md with the command and the machine.
//! Both runs must reach the same digest, or the benchmark fails: a fast
//! wrong answer is not a result.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

use crate::{cargo, describe, endpoints, root, serve, setup, site, Result};

struct Figure {
    workload: String,
    host: String,
    records: u64,
    seconds: f64,
    digest: String,
}

impl Figure {
    fn per_second(&self) -> f64 {
        self.records as f64 / self.seconds
    }
}

fn output(cmd: &mut Command) -> Result<String> {
    eprintln!("xtask: $ {}", describe(cmd));
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed ({})", describe(cmd), out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn native() -> Result<(Vec<Figure>, Option<f64>)> {
    let text = output(cargo().args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "shardlab-sim",
        "--example",
        "bench",
    ]))?;
    let mut memory = None;
    let figures = text
        .lines()
        .filter(|line| match line.strip_prefix("memory-per-record ") {
            Some(rest) => {
                memory = rest.split_whitespace().nth(1).and_then(|v| v.parse().ok());
                false
            }
            None => true,
        })
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [name, records, seconds, digest] => Ok(Figure {
                    workload: name.to_string(),
                    host: "native-in-process".into(),
                    records: records.parse().map_err(|_| format!("bad line: {line}"))?,
                    seconds: seconds.parse().map_err(|_| format!("bad line: {line}"))?,
                    digest: digest.to_string(),
                }),
                _ => Err(format!(
                    "unexpected output from the native benchmark: {line}"
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((figures, memory))
}

/// What the browser run measured besides the workloads.
struct BrowserExtras {
    barrier: Value,
    ui: Value,
    fast_forward: Value,
    fast_forward_consumer: Value,
}

fn browser() -> Result<(String, Vec<Figure>, BrowserExtras)> {
    let out = root().join("target").join("bench-site");
    site::dist("/", &out)?;
    let server = serve::Server::start(&out, "/", 0)?;
    let url = format!("http://127.0.0.1:{}/", server.port());
    let text = output(
        Command::new("node")
            .current_dir(root())
            .arg("web/e2e/bench-driver.mjs")
            .env("SHARDLAB_URL", &url),
    )?;
    drop(server);
    let json: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("the browser benchmark printed something unexpected ({e}): {text}"))?;
    let errors = json["errors"].as_array().cloned().unwrap_or_default();
    if !errors.is_empty() {
        return Err(format!("the browser reported errors: {errors:?}"));
    }
    let results = json["results"]
        .as_array()
        .ok_or_else(|| format!("the browser benchmark failed: {}", json["results"]))?;
    let figures = results
        .iter()
        .map(|r| Figure {
            workload: r["name"].as_str().unwrap_or("?").into(),
            host: r["host"].as_str().unwrap_or("?").into(),
            records: r["records"].as_f64().unwrap_or(0.0) as u64,
            seconds: r["seconds"].as_f64().unwrap_or(f64::NAN),
            digest: r["digest"].as_str().unwrap_or("").into(),
        })
        .collect();
    let extras = BrowserExtras {
        barrier: json["barrier"].clone(),
        ui: json["ui"].clone(),
        fast_forward: json["fast_forward"].clone(),
        fast_forward_consumer: json["fast_forward_consumer"].clone(),
    };
    Ok((
        json["browser"].as_str().unwrap_or("?").to_string(),
        figures,
        extras,
    ))
}

/// The playground's "+1 h" (measured by the browser run) against
/// `shardlab run --for 1h` of the same scenario, natively: a paragraph for
/// BENCHMARKS.md. The digests must agree when the browser finished.
fn fast_forward(browser: &Value, name: &str, consumers: &str) -> Result<String> {
    let scenario = browser["scenario"].clone();
    if scenario.is_null() {
        return Err(format!("the browser measured no fast-forward: {browser}"));
    }
    let file = crate::target_dir().join(format!("bench-{name}.json"));
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(&scenario).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("could not write {}: {e}", file.display()))?;
    crate::run(cargo().args(["build", "--release", "-p", "shardlab-server"]))?;
    let started = std::time::Instant::now();
    let report = output(
        Command::new(crate::target_dir().join("release").join("shardlab"))
            .arg("run")
            .arg(&file)
            .args(["--for", "1h"]),
    )?;
    let native_s = started.elapsed().as_secs_f64();
    let native_digest = report
        .trim_end()
        .rsplit_once("digest ")
        .map(|(_, d)| d.trim().to_string())
        .ok_or_else(|| format!("`shardlab run` printed no digest: {report}"))?;
    let finished = browser["finished"].as_bool().unwrap_or(false);
    let wall_s = browser["wall_s"].as_f64().unwrap_or(f64::NAN);
    let virtual_s = browser["virtual_s"].as_f64().unwrap_or(f64::NAN);
    let digest = browser["digest"].as_str().unwrap_or("");
    if finished && digest != native_digest {
        return Err(format!(
            "the playground's hour reached digest {digest}, `shardlab run` {native_digest}: they disagree"
        ));
    }
    let browser_text = if finished {
        format!("{wall_s:.1} s in Chromium (digest {digest}, the same)")
    } else {
        format!(
            "not finished in Chromium after {wall_s:.0} s: {virtual_s:.0} virtual seconds of 3,600 \
             ({:.1} virtual s per wall s)",
            virtual_s / wall_s
        )
    };
    Ok(format!(
        "- Fast-forward: the playground's **+1 h** on a 4-shard stream at 4,000 records/s (14.4 M \
         records; random keys, {consumers}; the shards in 4 workers, each batch journaled), one \
         run each: {browser_text}; `shardlab run --for 1h` of the same scenario natively (one \
         thread): {native_s:.1} s (digest {native_digest}). Target: ≤ 10 s in Chromium.\n"
    ))
}

fn first_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|s| s.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown OS".into());
    let rustc = first_line(Command::new("rustc").arg("--version"));
    format!("{cpu}, {cores} cores; {os}; {rustc}")
}

pub fn run() -> Result<()> {
    setup::run(&setup::Needs::all())?;
    let (mut figures, memory) = native()?;
    let (browser, in_browser, extras) = browser()?;
    figures.extend(in_browser);
    let fast_forward_text = fast_forward(&extras.fast_forward, "fast-forward", "no consumer")?
        + &fast_forward(
            &extras.fast_forward_consumer,
            "fast-forward-consumer",
            "one consumer polling every 200 ms",
        )?;
    // The comparison needs tools a machine may not have (wrk comes from
    // apt, which needs root): without them it is reported, not fatal.
    let (endpoints, endpoints_missing) = match endpoints::compare() {
        Ok(m) => (m, None),
        Err(e) => {
            eprintln!("xtask: the endpoint comparison could not run: {e}");
            (Vec::new(), Some(e))
        }
    };

    let mut table = String::from(
        "| workload | host | records | best of 3 (s) | records/s | vs native |\n|---|---|---:|---:|---:|---:|\n",
    );
    for f in &figures {
        let native = figures
            .iter()
            .find(|n| n.workload == f.workload && n.host == "native-in-process")
            .ok_or_else(|| format!("no native figure for {}", f.workload))?;
        if f.digest != native.digest {
            return Err(format!(
                "{} on {} reached digest {}, native reached {}: the hosts disagree",
                f.workload, f.host, f.digest, native.digest
            ));
        }
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.3} | {:.0} | {:.2}× |",
            f.workload,
            f.host,
            f.records,
            f.seconds,
            f.per_second(),
            f.per_second() / native.per_second()
        );
    }
    let ingest = |host: &str| {
        figures
            .iter()
            .find(|f| f.workload == "ingest-16-shards" && f.host == host)
            .map(Figure::per_second)
    };
    let mut workers = String::from(
        "| shard workers | records/s | vs 1 worker | vs wasm in-process |\n|---:|---:|---:|---:|\n",
    );
    if let (Some(one), Some(local)) = (ingest("wasm-workers-1"), ingest("wasm-in-process")) {
        for n in [1, 2, 4, 8] {
            if let Some(rate) = ingest(&format!("wasm-workers-{n}")) {
                let _ = writeln!(
                    workers,
                    "| {n} | {rate:.0} | {:.2}× | {:.2}× |",
                    rate / one,
                    rate / local
                );
            }
        }
    }
    // Firehose's figure in MB/s of record data, natively and in the browser.
    let firehose_mb = |host: &str| {
        figures
            .iter()
            .find(|f| f.workload == "firehose-gzip-s3" && f.host == host)
            .map(|f| f.records as f64 * 1000.0 / f.seconds / 1e6)
            .unwrap_or(f64::NAN)
    };
    let (fh_native, fh_wasm) = (
        firehose_mb("native-in-process"),
        firehose_mb("wasm-in-process"),
    );
    // The SQL workload in M rows/s.
    let sql_rate = |host: &str| {
        figures
            .iter()
            .find(|f| f.workload == "sql-tumbling-10k-keys" && f.host == host)
            .map(|f| f.records as f64 / f.seconds / 1e6)
            .unwrap_or(f64::NAN)
    };
    let (sql_native, sql_wasm) = (sql_rate("native-in-process"), sql_rate("wasm-in-process"));
    let barrier = extras.barrier["micros_per_tick"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let ui = &extras.ui;
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let extras_text = format!(
        "- Firehose buffer + GZIP + bucket write: {fh_native:.1} MB/s natively, {fh_wasm:.1} MB/s \
         in Chromium ({:.2}×), of record data.\n\
         - SQL, a 10-second tumbling GROUP BY over 10,000 keys: {sql_native:.2} M rows/s natively, \
         {sql_wasm:.2} M rows/s in Chromium ({:.2}×); targets ≥ 2 M rows/s per core natively, wasm ≥ 0.7×.\n\
         - Memory: {:.1} bytes per stored record beyond its key and data, after 1,000,000 \
         records of the engine workloads in 16 shards (a 16-byte slot per record, the slot \
         deques' spare capacity and the 64 KiB chunks' unused tails; target ≤ 32).\n\
         - Barrier overhead: {barrier:.1} µs per tick with 8 shard workers and empty batches \
         (2,000 ticks, best of three): one message to each worker and every reply back.\n\
         - UI thread while the playground simulates {} shards at {} records/s in total, at 1×, \
         over {} display frames: p95 frame work {:.2} ms (from a frame's requestAnimationFrame \
         callback until the thread is free again; target ≤ 16.7 ms), p95 frame interval {:.2} ms; \
         the simulation kept {:.2} virtual ms per wall ms.\n{fast_forward_text}",
        fh_wasm / fh_native,
        sql_wasm / sql_native,
        memory.unwrap_or(f64::NAN),
        num(&ui["shards"]),
        num(&ui["records_per_sec"]),
        num(&ui["frames"]),
        num(&ui["p95_frame_work_ms"]),
        num(&ui["p95_frame_interval_ms"]),
        num(&ui["virtual_ms_per_wall_ms"]),
    );
    let rate = |r: &std::result::Result<f64, String>| match r {
        Ok(v) => format!("{v:.0}"),
        Err(e) => format!("failed: {e}"),
    };
    let ratio = |mine: &std::result::Result<f64, String>,
                 theirs: &std::result::Result<f64, String>| {
        match (mine, theirs) {
            (Ok(a), Ok(b)) if *b > 0.0 => format!("{:.1}×", a / b),
            _ => "—".into(),
        }
    };
    let mut endpoint_table = String::from(
        "| server | PutRecords records/s | GetRecords records/s | shardlab vs it (put) | shardlab vs it (get) |\n|---|---:|---:|---:|---:|\n",
    );
    if let Some(why) = &endpoints_missing {
        let _ = writeln!(
            endpoint_table,
            "| not measured: {} | | | | |",
            why.replace('\n', " ")
        );
    }
    if let Some(mine) = endpoints.first() {
        for m in &endpoints {
            let _ = writeln!(
                endpoint_table,
                "| {} | {} | {} | {} | {} |",
                m.server,
                rate(&m.put),
                rate(&m.get),
                ratio(&mine.put, &m.put),
                ratio(&mine.get, &m.get)
            );
        }
    }
    let date = first_line(Command::new("date").args(["-u", "+%Y-%m-%d"]));
    let doc = format!(
        "# Benchmarks\n\n\
         Produced by `cargo xtask bench` on {date}.\n\n\
         Machine: {}.  \nBrowser: {browser} (headless).\n\n\
         Every workload runs natively (release build) and as wasm in headless Chromium in the same run; \
         each figure is the best of three runs after one warm-up. Compare the ratios within one run, \
         not absolute times across runs or machines. Every host must reach the same digest of the \
         final state, or the benchmark fails.\n\n\
         - `put-records-typed`: 500,000 records (16-byte partition keys, 100-byte data) in PutRecords \
         batches of 500 into a 16-shard stream through the engine's typed API, limits off: MD5 routing \
         (a batch's keys hashed side by side in SIMD lanes: `md5-many` with AVX2/AVX-512 natively, \
         two interleaved `simd128` vectors in wasm), sequence numbers and storage. Target: at least 5 M records/s per core natively, wasm at least 0.7× native.\n\
         - `put-records-json`: the same records through the JSON dispatch the endpoint uses \
         (JSON parsing, base64, validation, response building).\n\
         - `get-records-json`: the same records read back through the JSON dispatch, shard by shard: \
         GetShardIterator at TRIM_HORIZON, then GetRecords with `Limit` 10,000 until caught up (limits off); \
         the GetRecords calls are timed from request bytes to response bytes, as the endpoint serves them.\n\
         - `firehose-gzip-s3`: 50,000 JSON log lines of 1,000 bytes (50 MB) by Direct PUT in batches \
         of 500 into a delivery stream with a 5 MiB / 900 s buffer and GZIP: buffering, sealing at the \
         size hint, compression (flate2's pure-Rust backend, level 6), object names and bucket writes.\n\
         - `sql-tumbling-10k-keys`: 2,000,000 typed rows (ticker of 10,000, price) at 20,000 rows per \
         second of ROWTIME through `SELECT STREAM ticker, COUNT(*), SUM(price), MIN(price), MAX(price) \
         ... GROUP BY ticker, STEP(ROWTIME BY INTERVAL '10' SECOND)` into an in-application stream: \
         grouping, aggregates, windows closing on the next window's first row, output rows; the rows \
         are made outside the timed part.\n\
         - `ingest-16-shards`: 16 shards, one producer at 16,000 records/s with random partition keys, \
         60 virtual seconds (600 ticks of 100 ms): the simulation's producer, PutRecords planned by the \
         control plane (MD5 routing), shard operations (sequence numbers, write limits, storage) and, \
         on workers, the journal that makes them durable (checkpoint + log).\n\
         - hosts: `native-in-process` and `wasm-in-process` keep every shard in one thread; \
         `wasm-workers-N` spreads the 16 shards over N Web Workers, one transferred message per worker \
         per tick and a barrier.\n\n{table}\n\
         ## Shard workers\n\n\
         `ingest-16-shards` in Chromium with the shards on 1, 2, 4 and 8 workers (same run). \
         Target: 4 workers at least 1.8× one worker on a 2-core machine.\n\n{workers}\n{extras_text}\n\
         ## The endpoint against other emulators\n\n\
         `shardlab serve --no-limits`, kinesalite (npm, in memory, `--createStreamMs 0`) and ferrokinesis \
         (crates.io, `--create-stream-ms 0`), one after the other, each under the same load from `wrk` \
         (1 thread, 4 connections, 10 s; on the same 2 cores as the server): PutRecords of 500 records × 100 bytes \
         with keys spread over a 16-shard stream, then GetRecords with `Limit` 1,000 from one shard's \
         TRIM_HORIZON iterator. Every response must be a 2xx, or the figure reads \"failed\". \
         Targets: at least 20× kinesalite and 3× ferrokinesis. The other emulators are installed for the \
         benchmark only, under `target/bench-tools/`.\n\n{endpoint_table}",
        machine()
    );
    println!("\n{table}\n{workers}\n{extras_text}\n{endpoint_table}");
    std::fs::write(root().join("BENCHMARKS.md"), doc)
        .map_err(|e| format!("could not write BENCHMARKS.md: {e}"))?;
    eprintln!("xtask: wrote BENCHMARKS.md");
    Ok(())
}
