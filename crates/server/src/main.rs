//! `shardlab`: Shardlab's native command.
//!
//! `shardlab serve [--port 4567] [--no-limits]` serves the Kinesis API on
//! 127.0.0.1 for the AWS CLI, boto3 and the AWS SDKs.

use std::process::ExitCode;

use shardlab_engine::KinesisConfig;
use shardlab_server::Endpoint;

const USAGE: &str = "\
usage: shardlab serve [--port 4567] [--no-limits] [--shard-limit N]

Serves the Kinesis Data Streams API (JSON 1.1) on 127.0.0.1. Point a client at it with
  aws --endpoint-url http://127.0.0.1:4567 kinesis list-streams
Any credentials and region work; signatures are not checked.

  --port N         port to listen on (0 picks a free one; the address is printed)
  --no-limits      do not enforce shard throughput limits (for load tests)
  --shard-limit N  open shards allowed in the account (default 500)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shardlab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("serve") => {}
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            return Ok(());
        }
        Some(other) => return Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
    let mut port = 4567u16;
    let mut config = KinesisConfig::default();
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--port" => {
                let v = it.next().ok_or("--port needs a value")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port must be 0 to 65535, not `{v}`"))?;
            }
            "--shard-limit" => {
                let v = it.next().ok_or("--shard-limit needs a value")?;
                config.shard_limit = v
                    .parse()
                    .map_err(|_| format!("--shard-limit must be a whole number, not `{v}`"))?;
            }
            "--no-limits" => config.enforce_limits = false,
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let endpoint = Endpoint::start(port, config, threads)?;
    println!(
        "shardlab: Kinesis endpoint listening on http://127.0.0.1:{}",
        endpoint.port()
    );
    endpoint.wait();
    Ok(())
}
