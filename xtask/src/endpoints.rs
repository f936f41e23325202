//! The endpoint comparison of `cargo xtask bench`: `shardlab serve
//! --no-limits` against two other Kinesis emulators, kinesalite (npm, in
//! memory, `--createStreamMs 0`) and ferrokinesis (crates.io,
//! `--create-stream-ms 0`), under the same HTTP load from `wrk` (Debian),
//! one after the other in the same run:
//!
//! - PutRecords of 500 records × 100 bytes (16-character keys) into a
//!   16-shard stream, keys spread over every shard;
//! - GetRecords with `Limit` 1,000 from one shard's TRIM_HORIZON iterator,
//!   re-used (an iterator may be read from any number of times while it
//!   lives).
//!
//! The other emulators are measured, never copied from. They are installed
//! for the benchmark only, under `target/bench-tools/`, pinned; nothing of
//! them is part of the build or the tests. Every response must be a 2xx, or
//! the figure is reported as failed rather than as a rate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, root, run, setup, Result};

const KINESALITE: &str = "3.3.3";
const FERROKINESIS: &str = "0.7.0";
const SHARDS: u32 = 16;
const SECONDS: u32 = 10;
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// One server's figures (records/s), or why there is none.
pub struct Measured {
    pub server: String,
    pub put: std::result::Result<f64, String>,
    pub get: std::result::Result<f64, String>,
}

fn tools() -> PathBuf {
    root().join("target").join("bench-tools")
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// One Kinesis call over plain HTTP; returns (status, body).
fn call(port: u16, op: &str, body: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: Kinesis_20131202.{op}\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: {AUTH}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn ok_call(port: u16, op: &str, body: &str) -> Result<serde_json::Value> {
    let (status, text) = call(port, op, body)?;
    if !(200..300).contains(&status) {
        return Err(format!("{op} answered {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

struct Server {
    name: String,
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &str, mut cmd: Command, port: u16) -> Result<Server> {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start {name}: {e}"))?;
    let server = Server {
        name: name.to_string(),
        child,
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while call(port, "ListStreams", "{}").is_err() {
        if Instant::now() > deadline {
            return Err(format!("{name} did not answer on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// Installs what the comparison needs; None (with a note) when a tool
/// cannot be had here.
fn kinesalite() -> Result<PathBuf> {
    let dir = tools().join("kinesalite");
    let bin = dir.join("node_modules/kinesalite/cli.js");
    if !bin.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // Its own package.json, so npm installs here and not in the repo.
        std::fs::write(dir.join("package.json"), "{\"private\": true}\n")
            .map_err(|e| e.to_string())?;
        run(Command::new("npm").current_dir(&dir).args([
            "install",
            "--no-audit",
            "--no-fund",
            &format!("kinesalite@{KINESALITE}"),
        ]))?;
    }
    Ok(bin)
}

fn ferrokinesis() -> Result<PathBuf> {
    let bin = tools().join("bin").join("ferrokinesis");
    if !bin.exists() {
        run(cargo()
            .args([
                "install",
                "ferrokinesis",
                "--version",
                FERROKINESIS,
                "--locked",
                "--root",
            ])
            .arg(tools()))?;
    }
    Ok(bin)
}

fn wrk_script(dir: &Path, name: &str, body: &str, op: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    let script = format!(
        "wrk.method = \"POST\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.1\"\n\
         wrk.headers[\"X-Amz-Target\"] = \"Kinesis_20131202.{op}\"\n\
         wrk.headers[\"X-Amz-Date\"] = \"20260101T000000Z\"\n\
         wrk.headers[\"Authorization\"] = \"{AUTH}\"\n\
         wrk.body = [[{body}]]\n"
    );
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Runs wrk for SECONDS and returns requests/s, or why not.
fn wrk(port: u16, script: &Path) -> std::result::Result<f64, String> {
    let out = Command::new("wrk")
        .args(["-t1", "-c4", &format!("-d{SECONDS}s"), "-s"])
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // wrk prints these lines only when something went wrong: a response
    // that is not a 2xx (or a 3xx), or a socket error or timeout.
    if let Some(line) = text
        .lines()
        .find(|l| l.contains("Non-2xx or 3xx responses") || l.contains("Socket errors"))
    {
        return Err(line.trim().to_string());
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("wrk printed no rate: {text}"))
}

/// The PutRecords body: 500 records, 16-character keys spread over the
/// hash space, 100 bytes of data each.
fn put_body() -> String {
    let data = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODlBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWmFiY2RlZmdoaWprbG1u";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let records: Vec<String> = (0..500)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            format!("{{\"PartitionKey\":\"{:016x}\",\"Data\":\"{data}\"}}", x)
        })
        .collect();
    format!(
        "{{\"StreamName\":\"bench\",\"Records\":[{}]}}",
        records.join(",")
    )
}

fn measure(server: &Server, dir: &Path) -> Measured {
    let figures = || -> Result<(std::result::Result<f64, String>, std::result::Result<f64, String>)> {
        ok_call(
            server.port,
            "CreateStream",
            &format!("{{\"StreamName\":\"bench\",\"ShardCount\":{SHARDS}}}"),
        )?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = ok_call(server.port, "DescribeStreamSummary", "{\"StreamName\":\"bench\"}")?;
            if d["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE" {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{}: the stream never became ACTIVE", server.name));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let body = put_body();
        let check = ok_call(server.port, "PutRecords", &body)?;
        if check["FailedRecordCount"] != 0 {
            return Err(format!("{}: PutRecords failed records: {check}", server.name));
        }
        let put = wrk(server.port, &wrk_script(dir, "put.lua", &body, "PutRecords")?)
            .map(|requests| requests * 500.0);
        let it = ok_call(
            server.port,
            "GetShardIterator",
            "{\"StreamName\":\"bench\",\"ShardId\":\"shardId-000000000000\",\"ShardIteratorType\":\"TRIM_HORIZON\"}",
        )?;
        let iterator = it["ShardIterator"].as_str().unwrap_or_default();
        let get_body = format!("{{\"ShardIterator\":\"{iterator}\",\"Limit\":1000}}");
        let first = ok_call(server.port, "GetRecords", &get_body)?;
        let n = first["Records"].as_array().map_or(0, Vec::len);
        let get = if n == 1000 {
            wrk(server.port, &wrk_script(dir, "get.lua", &get_body, "GetRecords")?)
                .map(|requests| requests * 1000.0)
        } else {
            Err(format!("the first GetRecords returned {n} records, not 1,000"))
        };
        Ok((put, get))
    };
    match figures() {
        Ok((put, get)) => Measured {
            server: server.name.clone(),
            put,
            get,
        },
        Err(e) => Measured {
            server: server.name.clone(),
            put: Err(e.clone()),
            get: Err(e),
        },
    }
}

/// A server's command line, given the port it is to listen on.
type Launch<'a> = Box<dyn Fn(&str) -> Command + 'a>;

/// Measures the three endpoints one after the other.
pub fn compare() -> Result<Vec<Measured>> {
    if Command::new("wrk").arg("-v").output().is_err() {
        setup::apt_install(&["wrk"])?;
    }
    run(cargo().args(["build", "--release", "--quiet", "-p", "shardlab-server"]))?;
    let kinesalite = kinesalite()?;
    let ferrokinesis = ferrokinesis()?;
    let dir = tools().join("wrk");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    // Each server, told which port to listen on.
    let shardlab = crate::target_dir().join("release").join("shardlab");
    let servers: [(String, Launch); 3] = [
        (
            "shardlab serve --no-limits".into(),
            Box::new(|port| {
                let mut cmd = Command::new(&shardlab);
                cmd.args(["serve", "--no-limits", "--port", port]);
                cmd
            }),
        ),
        (
            format!("kinesalite {KINESALITE}"),
            Box::new(|port| {
                let mut cmd = Command::new("node");
                cmd.arg(&kinesalite).args([
                    "--port",
                    port,
                    "--createStreamMs",
                    "0",
                    "--shardLimit",
                    "100",
                ]);
                cmd
            }),
        ),
        (
            format!("ferrokinesis {FERROKINESIS}"),
            Box::new(|port| {
                let mut cmd = Command::new(&ferrokinesis);
                cmd.args([
                    "--port",
                    port,
                    "--create-stream-ms",
                    "0",
                    "--shard-limit",
                    "100",
                ]);
                cmd
            }),
        ),
    ];
    let mut results = Vec::new();
    for (name, command) in &servers {
        let port = free_port()?;
        let server = start(name, command(&port.to_string()), port)?;
        results.push(measure(&server, &dir));
    }
    Ok(results)
}
