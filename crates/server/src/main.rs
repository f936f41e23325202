//! `shardlab`: Shardlab's native command.
//!
//! `shardlab serve [--port 4567] [--no-limits]` serves the Kinesis and
//! Firehose APIs (and read-only S3 for Firehose's buckets) on 127.0.0.1 for
//! the AWS CLI, boto3 and the AWS SDKs; `shardlab run
//! <scenario.json> --for 1h` runs a scenario headless and prints a report;
//! `shardlab sql --app app.sql --input records.jsonl` runs a SQL application
//! over a JSON-lines file and prints its output rows; `shardlab aws
//! <scenario.json>` prints the AWS CLI script (or CloudFormation template)
//! that creates the scenario on AWS; `shardlab exercise` grades classroom
//! exercises (a solution, or a student's result file, replayed).

use std::process::ExitCode;

use shardlab_engine::KinesisConfig;
use shardlab_server::Endpoint;

const USAGE: &str = "\
usage: shardlab serve [--port 4567] [--no-limits] [--shard-limit N]
       shardlab run <scenario.json> [--for 1m]
       shardlab receive [--port 9000] [--fail N] [--status 500] [--access-key KEY]
       shardlab sql --app app.sql --input records.jsonl [--schema STREAM=schema.json] [--stream NAME]
       shardlab sql --app app.sql --to-flink [--input records.jsonl] [--kinesis-stream NAME]
       shardlab aws <scenario.json> [--format script|cloudformation|steps]
       shardlab exercise grade <exercise.md> (--sql FILE | --stream SCENARIO.json | RESULT.json)
       shardlab exercise expect <exercise.md> --sql FILE

Serves the Kinesis Data Streams and Firehose APIs (JSON 1.1) on 127.0.0.1, and
read-only S3 (path style) for the buckets Firehose delivers to. Point a client at it:
  aws --endpoint-url http://127.0.0.1:4567 kinesis list-streams
  aws --endpoint-url http://127.0.0.1:4567 firehose list-delivery-streams
  aws --endpoint-url http://127.0.0.1:4567 s3 ls --recursive s3://my-bucket/
Any credentials and region work; signatures are not checked.

  --port N         port to listen on (0 picks a free one; the address is printed)
  --no-limits      do not enforce shard throughput limits (for load tests)
  --shard-limit N  open shards allowed in the account (default 500)

`run` plays a scenario file (the playground's stream, producer and consumers;
see static/scenarios/) for a span of virtual time, as fast as this machine
can, and prints what happened and the run digest, which the playground
shows for the same scenario too.

  --for D          virtual time to run: 90s, 10m, 1h, 1h30m, 500ms (default 1m)

`receive` is an HTTP endpoint for Firehose's HTTP endpoint destination, on
127.0.0.1: it prints each request's records and answers 200 with its requestId,
as Firehose's request and response specification asks. It allows CORS, so the
playground can deliver to http://localhost:9000/ from the browser.

  --port N         port to listen on (default 9000; 0 picks a free one)
  --fail N         answer the first N requests with --status, to watch retries
  --status CODE    the failing answer's status (default 500; 413 is final)
  --access-key K   answer 401 unless X-Amz-Firehose-Access-Key is K

`aws` prints what creates the scenario on AWS: a shell script of AWS CLI
commands (the default), a CloudFormation template (JSON), or the script's steps
as JSON ({\"aws\": [words after aws]}, {\"shell\": ...}, {\"note\": ...}).

`exercise grade` replays an exercise (static/exercises/) with a solution, a SQL
application or a stream's scenario file, and prints the grade; given a student's
result file (downloaded from the playground) it grades the submission in it again
and says whether the file's grade is the replay's. It exits with 1 when the
grade fails or the file's grade is not the replay's.
`exercise expect` prints the ```jsonl expected block of a SQL exercise: every row
the stream named by `expect:` emits when the reference application runs.

`sql` runs a Kinesis Data Analytics or Flink SQL application over records in a
JSON-lines file and prints every row its streams produce, one JSON object per
line. Input lines:
  {\"rowtime\": \"2018-11-01 01:00:00\", \"data\": {\"CITY\": \"Denver\", \"TEMP\": 29}}
  {\"bound\": \"2018-11-04 00:00:00\"}        a rowtime bound: windows up to it close
  {\"table\": \"CompanyName\", \"row\": {\"Ticker\": \"AMZN\", \"Company\": \"Amazon\"}}
A record may name its input \"stream\" (default SOURCE_SQL_STREAM_001, or the only
input) and its \"arrival\" time (APPROXIMATE_ARRIVAL_TIME; default its rowtime).

  --app FILE       the application's SQL
  --input FILE     the JSON-lines input (- for standard input)
  --schema S=FILE  a KDA InputSchema (RecordColumns, RecordFormat) for input stream S;
                   without one the schema is discovered from the records
  --stream NAME    print only this stream's rows (repeatable; error_stream too)
  --to-flink       print the application as Flink SQL instead of running it (the
                   input, when given, supplies the source's discovered columns)
  --kinesis-stream the Kinesis stream the Flink source table reads (default: input)
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
        Some("run") => return run_scenario(&args[1..]),
        Some("receive") => return receive(&args[1..]),
        Some("sql") => return run_sql(&args[1..]),
        Some("aws") => return export_aws(&args[1..]),
        Some("exercise") => return exercise(&args[1..]),
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
    let endpoint = Endpoint::start(port, config)?;
    println!(
        "shardlab: Kinesis, Firehose and S3 endpoint listening on http://127.0.0.1:{}",
        endpoint.port()
    );
    endpoint.wait();
    Ok(())
}

/// `shardlab receive`: a Firehose HTTP endpoint receiver on 127.0.0.1.
fn receive(args: &[String]) -> Result<(), String> {
    let mut port = 9000u16;
    let mut behaviour = shardlab_server::receiver::Behaviour {
        status: 500,
        ..Default::default()
    };
    let mut status_given = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |what: &str| it.next().cloned().ok_or(format!("{flag} needs {what}"));
        match flag.as_str() {
            "--port" => {
                let v = value("a port")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port must be 0 to 65535, not `{v}`"))?;
            }
            "--fail" => {
                let v = value("a count")?;
                behaviour.fail = v
                    .parse()
                    .map_err(|_| format!("--fail must be a whole number, not `{v}`"))?;
            }
            "--status" => {
                let v = value("a status")?;
                behaviour.status = v
                    .parse()
                    .ok()
                    .filter(|s| (200..600).contains(s) && *s != 200)
                    .ok_or_else(|| {
                        format!("--status must be an HTTP status other than 200, not `{v}`")
                    })?;
                status_given = true;
            }
            "--access-key" => behaviour.access_key = Some(value("a key")?),
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    // A status alone fails every request.
    if status_given && behaviour.fail == 0 {
        behaviour.fail = u64::MAX;
    }
    let listener = shardlab_server::http::Server::listen(port)
        .map_err(|e| format!("could not listen on 127.0.0.1:{port}: {e}"))?;
    let log = shardlab_server::receiver::Log::default();
    let server = shardlab_server::http::Server::start(
        listener,
        shardlab_server::receiver::handler(behaviour, log, true),
    )
    .map_err(|e| format!("could not serve on 127.0.0.1:{port}: {e}"))?;
    println!(
        "shardlab: Firehose HTTP endpoint receiver listening on http://localhost:{}/",
        server.port()
    );
    server.wait();
    Ok(())
}

/// A command's one scenario file argument (anything else is refused).
fn scenario_arg(file: &mut Option<String>, arg: &str) -> Result<(), String> {
    if arg.starts_with("--") {
        return Err(format!("unknown option `{arg}`\n\n{USAGE}"));
    }
    if file.is_some() {
        return Err(format!("one scenario file at a time, not also `{arg}`"));
    }
    *file = Some(arg.to_string());
    Ok(())
}

fn read_scenario(file: Option<String>) -> Result<shardlab_sim::Scenario, String> {
    let path = file.ok_or_else(|| format!("which scenario file?\n\n{USAGE}"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("could not read {path}: {e}"))?;
    shardlab_sim::headless::parse_scenario(&text).map_err(|e| format!("{path}: {e}"))
}

fn export_aws(args: &[String]) -> Result<(), String> {
    let (mut file, mut format) = (None, "script".to_string());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" => {
                format = it
                    .next()
                    .ok_or("--format needs script, cloudformation or steps")?
                    .clone()
            }
            other => scenario_arg(&mut file, other)?,
        }
    }
    let scenario = read_scenario(file)?;
    use shardlab_sim::export;
    let out = match format.as_str() {
        "script" => export::cli_script(&scenario).map_err(|e| e.to_string())?,
        "cloudformation" => export::cloudformation_text(&scenario).map_err(|e| e.to_string())?,
        "steps" => {
            let steps = export::cli_steps(&scenario).map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&steps).map_err(|e| e.to_string())? + "\n"
        }
        other => {
            return Err(format!(
                "--format {other}: the formats are script, cloudformation and steps"
            ))
        }
    };
    print!("{out}");
    Ok(())
}

fn exercise(args: &[String]) -> Result<(), String> {
    use shardlab_lessons::exercise::{self, GradeResult, Submission};
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| format!("could not read {path}: {e}"))
    };
    let (verb, rest) = args
        .split_first()
        .ok_or_else(|| format!("exercise grade or exercise expect?\n\n{USAGE}"))?;
    let (path, rest) = rest
        .split_first()
        .ok_or_else(|| format!("which exercise file?\n\n{USAGE}"))?;
    let source = read(path)?;
    let ex = if verb == "expect" {
        exercise::parse_for_authoring(&source)
    } else {
        exercise::parse(&source)
    }
    .map_err(|e| format!("{path}: {e}"))?;
    ex.validate().map_err(|e| format!("{path}: {e}"))?;
    let (mut submission, mut result) = (Submission::default(), None);
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sql" => submission.sql = Some(read(it.next().ok_or("--sql needs a file")?)?),
            "--stream" => {
                let file = it.next().ok_or("--stream needs a scenario file")?;
                submission.scenario = Some(read_scenario(Some(file.clone()))?);
            }
            other if !other.starts_with("--") && result.is_none() => {
                result = Some(
                    GradeResult::from_file(&read(other)?).map_err(|e| format!("{other}: {e}"))?,
                )
            }
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    match verb.as_str() {
        "grade" => {
            let (report, agrees) = match &result {
                Some(r) => {
                    let (report, agrees) = r.regrade(&ex)?;
                    println!("{} by {}", ex.title, r.student);
                    (report, Some(agrees))
                }
                None => (exercise::grade(&ex, &submission), None),
            };
            if let Some(e) = &report.error {
                println!("FAIL: {e}");
            }
            for item in &report.items {
                let mark = if item.passed { "pass" } else { "FAIL" };
                println!("{mark}: {} ({})", item.what, item.detail);
            }
            println!(
                "{}: {} of {}{}",
                if report.passed {
                    "PASSED"
                } else {
                    "NOT PASSED"
                },
                report.score,
                report.items.len(),
                report
                    .run_digest
                    .as_deref()
                    .map(|d| format!(", run digest {d}"))
                    .unwrap_or_default()
            );
            match agrees {
                Some(true) => println!("the result file's grade is the replay's"),
                Some(false) => {
                    println!("the result file's grade is NOT the replay's: it was changed");
                    return Err("the result file does not match its replay".into());
                }
                None => {}
            }
            if !report.passed {
                return Err("the grade failed".into());
            }
        }
        "expect" => {
            if ex.expect.is_none() {
                return Err(format!("{path} has no `expect:` line naming a stream"));
            }
            let run = exercise::run(&ex, &submission)?;
            let capture = run.capture.ok_or_else(|| {
                format!(
                    "the application has no stream {}",
                    ex.expect.as_ref().map_or("", |e| e.stream.as_str())
                )
            })?;
            println!("```jsonl expected");
            for line in exercise::expected_lines(&capture) {
                println!("{line}");
            }
            println!("```");
        }
        other => return Err(format!("`exercise {other}`: grade or expect\n\n{USAGE}")),
    }
    Ok(())
}

fn run_scenario(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut duration_ms = 60_000;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--for" => {
                let v = it.next().ok_or("--for needs a duration, such as 10m")?;
                duration_ms = shardlab_sim::headless::parse_duration(v)?;
            }
            other => scenario_arg(&mut file, other)?,
        }
    }
    let scenario = read_scenario(file)?;
    let started = std::time::Instant::now();
    // HTTP endpoint destinations get real requests, one at a time; the
    // virtual clock waits for each answer.
    let report = shardlab_sim::headless::run_for_with(scenario, duration_ms, &mut |call| {
        shardlab_server::http_client::send(&call.request)
    })
    .map_err(|e| e.to_string())?;
    println!("{report}");
    eprintln!(
        "shardlab: {:.1} s of virtual time in {:.2} s",
        report.virtual_ms as f64 / 1000.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_sql(args: &[String]) -> Result<(), String> {
    let (mut app, mut input, mut schemas, mut only) = (None, None, Vec::new(), Vec::new());
    let (mut to_flink, mut kinesis_stream) = (false, "input".to_string());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |what: &str| it.next().cloned().ok_or(format!("{arg} needs {what}"));
        match arg.as_str() {
            "--app" => app = Some(value("a file")?),
            "--input" => input = Some(value("a file")?),
            "--schema" => {
                let v = value("STREAM=FILE")?;
                let (stream, file) = v.split_once('=').ok_or("--schema takes STREAM=FILE")?;
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("could not read {file}: {e}"))?;
                let json = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
                schemas.push((stream.to_string(), json));
            }
            "--stream" => only.push(value("a stream name")?),
            "--to-flink" => to_flink = true,
            "--kinesis-stream" => kinesis_stream = value("a stream name")?,
            other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
        }
    }
    let app = app.ok_or_else(|| format!("sql needs --app FILE\n\n{USAGE}"))?;
    let sql = std::fs::read_to_string(&app).map_err(|e| format!("could not read {app}: {e}"))?;
    if to_flink {
        let records = match &input {
            Some(f) => {
                std::fs::read_to_string(f).map_err(|e| format!("could not read {f}: {e}"))?
            }
            None => String::new(),
        };
        let t = shardlab_sql::run::to_flink(&sql, &records, &kinesis_stream)
            .map_err(|e| format!("{app}: {e}"))?;
        print!("{}", t.sql);
        for n in t.notes {
            eprintln!("note: {n}");
        }
        return Ok(());
    }
    let input = input.ok_or_else(|| format!("sql needs --input FILE\n\n{USAGE}"))?;
    let records = if input == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
        s
    } else {
        std::fs::read_to_string(&input).map_err(|e| format!("could not read {input}: {e}"))?
    };
    let lines = shardlab_sql::run::run_jsonl(&sql, &records, &schemas)
        .map_err(|e| format!("{app}: {e}"))?;
    for l in lines {
        if only.is_empty()
            || only.iter().any(|s| {
                l.starts_with(&format!(
                    "{{\"stream\":{}",
                    serde_json::Value::String(s.clone())
                ))
            })
        {
            println!("{l}");
        }
    }
    Ok(())
}
