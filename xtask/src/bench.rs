//! `cargo xtask bench`: the same workloads natively (release build) and as
//! wasm in headless Chromium, in one run, with the ratio; the figures are
//! printed and written to BENCHMARKS.md with the command and the machine.
//! Both runs must reach the same digest, or the benchmark fails: a fast
//! wrong answer is not a result.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

use crate::{cargo, describe, root, serve, setup, site, Result};

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

fn native() -> Result<Vec<Figure>> {
    let text = output(cargo().args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "shardlab-sim",
        "--example",
        "bench",
    ]))?;
    text.lines()
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
        .collect()
}

fn browser() -> Result<(String, Vec<Figure>)> {
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
    Ok((json["browser"].as_str().unwrap_or("?").to_string(), figures))
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
    let mut figures = native()?;
    let (browser, in_browser) = browser()?;
    figures.extend(in_browser);

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
         batches of 500 into a 16-shard stream through the engine's typed API, limits off: MD5 routing, \
         sequence numbers and storage. Target: at least 5 M records/s per core natively, wasm at least 0.7× native.\n\
         - `put-records-json`: the same records through the JSON dispatch the endpoint uses \
         (JSON parsing, base64, validation, response building).\n\
         - `ingest-16-shards`: 16 shards, one producer at 16,000 records/s with random partition keys, \
         60 virtual seconds (600 ticks of 100 ms): MD5 routing, sequence numbers, write limits and storage.\n\
         - hosts: `native-in-process` and `wasm-in-process` keep every shard in one thread; \
         `wasm-workers` puts each shard in its own Web Worker with one transferred message per shard \
         per tick and a barrier.\n\n{table}",
        machine()
    );
    println!("\n{table}");
    std::fs::write(root().join("BENCHMARKS.md"), doc)
        .map_err(|e| format!("could not write BENCHMARKS.md: {e}"))?;
    eprintln!("xtask: wrote BENCHMARKS.md");
    Ok(())
}
