//! Classroom exercises: a task an instructor writes, a student solves in
//! the playground, and a grader that replays the exercise's seeded input
//! with the student's solution and checks it.
//!
//! ````markdown
//! ---
//! title: No throttling at 3,000 records per second
//! seed: 7
//! run: 60s
//! submit: stream
//! change: shard_count, keys
//! ---
//!
//! The task, in Markdown, as the student sees it.
//!
//! ```json scenario
//! { "stream_name": "orders", "shard_count": 1, "seed": 7, "rate_per_sec": 3000 }
//! ```
//!
//! grade: records_throttled == 0
//! grade: shards_open <= 4
//! ````
//!
//! An exercise file carries everything it needs (its scenario is a
//! ```` ```json scenario ```` block, not a site file), so it can travel as
//! a link or a file and be graded natively by `shardlab exercise`.
//!
//! - `submit: stream`: the student hands in the stream they created; the
//!   fields named by `change:` are taken from it, everything else (the
//!   seed above all) from the exercise's scenario.
//! - `submit: sql`: the student hands in a SQL application, which runs on
//!   the exercise's stream from its first records (TRIM_HORIZON).
//!
//! Each `grade:` line is a check on the stream at the end of the run, in
//! the lessons' language (see [`crate::MEASURES`]). `expect: STREAM`
//! followed by a ```` ```jsonl expected ```` block lists the rows the
//! application's in-application stream `STREAM` must emit: as a multiset
//! (order within the run does not matter), comparing only the columns the
//! expected rows name (`ROWTIME` included when named), numbers to a
//! millionth of their size. `shardlab exercise expect` writes that block
//! from a reference solution.
//!
//! Grading never panics and always answers: a submission that cannot run
//! fails with the reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shardlab_sim::headless::parse_duration;
use shardlab_sim::host::run_ticks_planning_ahead;
use shardlab_sim::host::start_in_process;
use shardlab_sim::sql::{Capture, SqlStart};
use shardlab_sim::{Scenario, TICK_MS};

use crate::{closes_fence, front_matter, markdown_html_untrusted, opens_fence, Check, LessonError};

/// The longest run an exercise may ask for (graded in the browser, so it
/// must stay quick: a minute of 3,000 records/s, 180,000 records, took
/// 0.32-0.39 s natively with `shardlab exercise grade` on the 2-core
/// development machine).
pub const MAX_RUN_MS: u64 = 10 * 60 * 1000;
/// The most records a grade replays (rate × run), so that grading in the
/// page stays quick and within memory.
pub const MAX_GRADED_RECORDS: u64 = 2_000_000;
/// The most expected rows an exercise may list.
pub const MAX_EXPECTED_ROWS: usize = 10_000;
/// Scenario fields a stream exercise may let the student change. The seed
/// is never one of them: the input is the exercise's.
pub const CHANGEABLE: &[&str] = &[
    "stream_name",
    "shard_count",
    "rate_per_sec",
    "consumers",
    "keys",
    "rate_shape",
    "record_template",
    "aggregation",
    "retries",
    "delivery_streams",
    "glue_tables",
    "lambda_functions",
];

/// What the student hands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Submit {
    /// The stream they created (its scenario).
    Stream,
    /// A SQL application.
    Sql,
}

/// The rows an application must emit.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    /// The in-application stream, e.g. `DESTINATION_SQL_STREAM`.
    pub stream: String,
    pub rows: Vec<serde_json::Map<String, Value>>,
}

/// An exercise, read from its file.
#[derive(Clone, Debug, PartialEq)]
pub struct Exercise {
    pub title: String,
    pub summary: Option<String>,
    pub seed: u64,
    pub run_ms: u64,
    pub submit: Submit,
    /// For `submit: stream`: the scenario fields the student may change.
    pub change: Vec<String>,
    /// The task in Markdown (the file's text without its scenario, grades
    /// and expected rows); see [`Exercise::task_html`].
    pub task: String,
    /// The exercise's stream, with the exercise's seed.
    pub scenario: Scenario,
    pub grades: Vec<Check>,
    pub expect: Option<Expected>,
    /// A fingerprint of the file's text: a result names the exercise it
    /// was graded against.
    pub digest: String,
}

/// A student's solution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

/// One line of a grade.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeItem {
    /// What was checked, e.g. `records_throttled == 0`.
    pub what: String,
    pub passed: bool,
    /// What was found, e.g. `now 0`.
    pub detail: String,
}

/// The grade of one submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeReport {
    pub passed: bool,
    /// Items passed, of `items.len()`.
    pub score: u32,
    pub items: Vec<GradeItem>,
    /// Why the submission could not be run at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The run's digest: the same solution gives the same digest anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_digest: Option<String>,
    pub virtual_ms: u64,
}

impl GradeReport {
    fn failed(error: String) -> GradeReport {
        GradeReport {
            passed: false,
            score: 0,
            items: Vec::new(),
            error: Some(error),
            run_digest: None,
            virtual_ms: 0,
        }
    }
}

/// What a student downloads and the instructor collects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeResult {
    /// Always `shardlab-exercise-result`.
    pub format: String,
    pub version: u32,
    pub exercise: String,
    pub exercise_digest: String,
    pub student: String,
    pub submission: Submission,
    pub report: GradeReport,
}

/// The result file's `format`.
pub const RESULT_FORMAT: &str = "shardlab-exercise-result";

/// The fingerprint of an exercise file's text.
pub fn digest(source: &str) -> String {
    format!(
        "{:016x}",
        shardlab_sim::rng::fnv1a64(source.replace("\r\n", "\n").as_bytes())
    )
}

/// Reads an exercise file; every error names its line.
pub fn parse(source: &str) -> Result<Exercise, LessonError> {
    parse_with(source, false)
}

/// `parse` for an author writing the expected rows: an `expect:` line may
/// have no ```` ```jsonl expected ```` block yet (`shardlab exercise
/// expect` writes it).
pub fn parse_for_authoring(source: &str) -> Result<Exercise, LessonError> {
    parse_with(source, true)
}

/// Whether `scenario` run for `run_ms` stays within what a grade replays.
fn check_volume(scenario: &Scenario, run_ms: u64) -> Result<(), String> {
    let records = scenario.rate_per_sec.saturating_mul(run_ms) / 1000;
    if records > MAX_GRADED_RECORDS {
        return Err(format!(
            "{} records/s for {} s is {records} records; a grade replays at most {MAX_GRADED_RECORDS} (lower the rate or the run)",
            scenario.rate_per_sec,
            run_ms / 1000
        ));
    }
    Ok(())
}

fn parse_with(source: &str, authoring: bool) -> Result<Exercise, LessonError> {
    let err = |line: usize, message: String| LessonError { line, message };
    let lines: Vec<&str> = source.lines().collect();
    let (end, front) = front_matter(
        &lines,
        "an exercise starts with front matter: a line `---`, then `title:`, `seed:`, `run:` and `submit:`, then `---`",
        &["title", "summary", "seed", "run", "submit", "change"],
    )?;
    let front: BTreeMap<&str, (usize, String)> =
        front.into_iter().map(|(n, k, v)| (k, (n, v))).collect();
    let need = |key: &str, what: &str| {
        front
            .get(key)
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .ok_or_else(|| err(1, format!("the front matter needs `{key}:` ({what})")))
    };
    let title = need("title", "the exercise's name")?.1;
    let (line, seed) = need("seed", "the input's seed, a whole number")?;
    let seed: u64 = seed
        .replace('_', "")
        .parse()
        .map_err(|_| err(line, format!("`seed: {seed}` is not a whole number")))?;
    let (line, run) = need("run", "how long the grader runs the stream, e.g. `60s`")?;
    let run_ms = parse_duration(&run).map_err(|m| err(line, m))?;
    if !(TICK_MS..=MAX_RUN_MS).contains(&run_ms) {
        return Err(err(
            line,
            format!(
                "`run: {run}`: an exercise runs from 100ms to {} minutes",
                MAX_RUN_MS / 60_000
            ),
        ));
    }
    let (line, submit) = need("submit", "`stream` or `sql`")?;
    let submit = match submit.as_str() {
        "stream" => Submit::Stream,
        "sql" => Submit::Sql,
        other => {
            return Err(err(
                line,
                format!("`submit: {other}`: a student submits a `stream` or `sql`"),
            ))
        }
    };
    let mut change = Vec::new();
    if let Some((line, list)) = front.get("change") {
        if submit != Submit::Stream {
            return Err(err(
                *line,
                "`change:` names what a student may change in a `submit: stream` exercise".into(),
            ));
        }
        for field in list.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if !CHANGEABLE.contains(&field) {
                return Err(err(
                    *line,
                    format!(
                        "`{field}` is not a scenario field a student may change; they are {}{}",
                        CHANGEABLE.join(", "),
                        if field == "seed" {
                            " (the seed is the exercise's)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            change.push(field.to_string());
        }
    }
    if submit == Submit::Stream && change.is_empty() {
        return Err(err(
            1,
            "a `submit: stream` exercise needs `change:`, the scenario fields the student may change (e.g. `change: shard_count`)".into(),
        ));
    }

    let mut task = String::new();
    let mut scenario: Option<Scenario> = None;
    let mut grades = Vec::new();
    let mut expect: Option<(usize, String)> = None;
    let mut expected_rows: Option<Vec<serde_json::Map<String, Value>>> = None;
    // (marker, info, first line)
    let mut fence: Option<(String, String, usize)> = None;
    let mut fenced = String::new();
    for (i, line) in lines.iter().enumerate().skip(end + 1) {
        let n = i + 1;
        let trimmed = line.trim_start();
        if let Some((marker, info, start)) = &fence {
            if !closes_fence(trimmed, marker) {
                fenced.push_str(line);
                fenced.push('\n');
                continue;
            }
            match info.as_str() {
                "json scenario" => {
                    if scenario.is_some() {
                        return Err(err(*start, "a second scenario block".into()));
                    }
                    // The checks CreateStream makes; the template's and the
                    // delivery streams' are made when the stream is created
                    // (and by `Exercise::validate`), so that reading an
                    // exercise does not need the fake data or Firehose (the
                    // page reads exercises too).
                    let s: Scenario = serde_json::from_str(&fenced)
                        .map_err(|e| err(*start, format!("the scenario is not valid: {e}")))?;
                    s.validate_stream()
                        .map_err(|e| err(*start, format!("the scenario is not valid: {e}")))?;
                    scenario = Some(s);
                }
                "jsonl expected" => {
                    if expect.is_none() || expected_rows.is_some() {
                        return Err(err(
                            *start,
                            "a ```jsonl expected block follows its `expect: STREAM` line, once"
                                .into(),
                        ));
                    }
                    let mut rows = Vec::new();
                    for (k, row) in fenced.lines().enumerate() {
                        if row.trim().is_empty() {
                            continue;
                        }
                        let value: Value = serde_json::from_str(row).map_err(|e| {
                            err(start + 1 + k, format!("this expected row is not JSON: {e}"))
                        })?;
                        let Value::Object(map) = value else {
                            return Err(err(
                                start + 1 + k,
                                "an expected row is a JSON object of column names and values"
                                    .into(),
                            ));
                        };
                        if map.is_empty() {
                            return Err(err(
                                start + 1 + k,
                                "an expected row names no column".into(),
                            ));
                        }
                        rows.push(map);
                    }
                    if rows.len() > MAX_EXPECTED_ROWS {
                        return Err(err(
                            *start,
                            format!(
                                "{} expected rows; an exercise lists at most {MAX_EXPECTED_ROWS}",
                                rows.len()
                            ),
                        ));
                    }
                    expected_rows = Some(rows);
                }
                _ => {
                    // Any other code block is part of the task.
                    task.push_str(&fenced);
                    task.push_str(line);
                    task.push('\n');
                }
            }
            fence = None;
            fenced.clear();
        } else if let Some((marker, info)) = opens_fence(trimmed) {
            if info != "json scenario" && info != "jsonl expected" {
                // Shown: the opening line goes into the task now, the
                // body and closing line when the block ends.
                task.push_str(line);
                task.push('\n');
            }
            fence = Some((marker, info, n));
        } else if let Some(value) = line.strip_prefix("grade:") {
            grades.push(Check::parse(value).map_err(|m| err(n, m))?);
        } else if let Some(value) = line.strip_prefix("expect:") {
            if expect.is_some() {
                return Err(err(
                    n,
                    "an exercise expects the rows of one stream; `expect:` is given twice".into(),
                ));
            }
            if submit != Submit::Sql {
                return Err(err(
                    n,
                    "`expect:` compares a SQL application's rows: it needs `submit: sql`".into(),
                ));
            }
            let stream = value.trim();
            if stream.is_empty() || stream.contains(char::is_whitespace) {
                return Err(err(
                    n,
                    "`expect:` names one in-application stream, e.g. `expect: DESTINATION_SQL_STREAM`".into(),
                ));
            }
            expect = Some((n, stream.to_string()));
        } else {
            task.push_str(line);
            task.push('\n');
        }
    }
    if let Some((_, _, start)) = fence {
        return Err(err(start, "a code block is never closed".into()));
    }
    let mut scenario = scenario.ok_or_else(|| {
        err(
            lines.len(),
            "the exercise has no ```json scenario block (its stream, as a scenario file)".into(),
        )
    })?;
    scenario.seed = seed;
    check_volume(&scenario, run_ms).map_err(|m| err(1, m))?;
    let expect = match (expect, expected_rows) {
        (Some((_, stream)), Some(rows)) => Some(Expected { stream, rows }),
        (Some((_, stream)), None) if authoring => Some(Expected {
            stream,
            rows: Vec::new(),
        }),
        (Some((line, _)), None) => {
            return Err(err(
                line,
                "`expect:` needs a ```jsonl expected block of rows after it".into(),
            ))
        }
        (None, _) => None,
    };
    if grades.is_empty() && expect.is_none() {
        return Err(err(
            lines.len(),
            "the exercise grades nothing: add `grade:` checks or `expect:` rows".into(),
        ));
    }
    Ok(Exercise {
        title,
        summary: front.get("summary").map(|(_, v)| v.clone()),
        seed,
        run_ms,
        submit,
        change,
        task,
        scenario,
        grades,
        expect,
        digest: digest(source),
    })
}

impl Exercise {
    /// The task as HTML, for a file anyone may have written: Markdown
    /// without raw HTML or unsafe links.
    pub fn task_html(&self) -> String {
        markdown_html_untrusted(&self.task)
    }

    /// Every check of the exercise's scenario, its record template and
    /// delivery streams included (`parse` makes CreateStream's only).
    pub fn validate(&self) -> Result<(), String> {
        self.scenario
            .validate()
            .map_err(|e| format!("the scenario is not valid: {e}"))
    }

    /// The scenario a stream submission runs: the exercise's, with the
    /// fields the student may change taken from theirs.
    pub fn submitted_scenario(&self, theirs: &Scenario) -> Result<Scenario, String> {
        let to_map = |s: &Scenario| match serde_json::to_value(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("the scenario could not be read".to_string()),
        };
        let mut base = to_map(&self.scenario)?;
        let theirs = to_map(theirs)?;
        for field in &self.change {
            match theirs.get(field) {
                Some(v) => base.insert(field.clone(), v.clone()),
                None => base.remove(field),
            };
        }
        let mut scenario: Scenario = serde_json::from_value(Value::Object(base))
            .map_err(|e| format!("your stream does not fit the exercise: {e}"))?;
        scenario.seed = self.seed;
        scenario
            .validate()
            .map_err(|e| format!("your stream cannot be created: {e}"))?;
        check_volume(&scenario, self.run_ms)?;
        Ok(scenario)
    }

    /// What the student starts from in the playground: the exercise's
    /// stream.
    pub fn starting_submission(&self) -> Submission {
        match self.submit {
            Submit::Stream => Submission {
                scenario: Some(self.scenario.clone()),
                sql: None,
            },
            Submit::Sql => Submission {
                scenario: None,
                sql: Some(String::new()),
            },
        }
    }
}

/// Runs the exercise with `submission` and grades it.
pub fn grade(ex: &Exercise, submission: &Submission) -> GradeReport {
    let run = match run(ex, submission) {
        Ok(run) => run,
        Err(e) => return GradeReport::failed(e),
    };
    let mut items: Vec<GradeItem> = ex
        .grades
        .iter()
        .map(|check| {
            let progress = check.progress(&run.snapshot);
            GradeItem {
                what: check.text.clone(),
                passed: check.holds(&run.snapshot),
                detail: progress
                    .iter()
                    .filter_map(|(text, _)| {
                        text.rsplit_once(" (")
                            .map(|(_, now)| now.trim_end_matches(')').to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
        .collect();
    if let Some(expected) = &ex.expect {
        items.push(compare(expected, run.capture.as_ref(), &run.streams));
    }
    let score = items.iter().filter(|i| i.passed).count() as u32;
    GradeReport {
        passed: score as usize == items.len(),
        score,
        items,
        error: None,
        run_digest: Some(run.snapshot.digest.clone()),
        virtual_ms: run.snapshot.elapsed_ms,
    }
}

/// The run's end state and the expected stream's rows.
pub struct Run {
    pub snapshot: shardlab_sim::Snapshot,
    pub capture: Option<Capture>,
    /// The application's output streams and columns.
    pub streams: Vec<(String, Vec<String>)>,
}

/// Runs the exercise's stream with `submission` for the exercise's time.
pub fn run(ex: &Exercise, submission: &Submission) -> Result<Run, String> {
    let scenario = match ex.submit {
        Submit::Stream => {
            let theirs = submission.scenario.as_ref().ok_or(
                "this exercise grades a stream: create your stream in the playground, then grade it",
            )?;
            ex.submitted_scenario(theirs)?
        }
        Submit::Sql => ex.scenario.clone(),
    };
    let sql = match ex.submit {
        Submit::Sql => {
            let code = submission.sql.as_deref().unwrap_or("");
            if code.trim().is_empty() {
                return Err(
                    "this exercise grades a SQL application: write it in the SQL panel first"
                        .into(),
                );
            }
            Some(code)
        }
        Submit::Stream => None,
    };
    let (mut sim, mut host) = start_in_process(scenario).map_err(|e| format!("the stream: {e}"))?;
    let ticks = u32::try_from(ex.run_ms.div_ceil(TICK_MS)).map_err(|_| "too long a run")?;
    let mut done = 0;
    let mut streams = Vec::new();
    if let Some(code) = sql {
        // The application starts after the first tick, once records exist
        // to discover the input schema from, and reads from the start.
        run_ticks_planning_ahead(&mut sim, &mut host, 1, TICK_MS, |_, _| {})
            .map_err(|e| e.to_string())?;
        done = 1;
        sim.start_sql(code, SqlStart::TrimHorizon, None)
            .map_err(|e| format!("your SQL does not compile: {e}"))?;
        if let Some(runner) = sim.sql_runner_mut() {
            streams = runner.output_streams();
            if let Some(expected) = &ex.expect {
                runner.capture(&expected.stream);
            }
        }
    }
    run_ticks_planning_ahead(
        &mut sim,
        &mut host,
        ticks.saturating_sub(done),
        TICK_MS,
        |_, _| {},
    )
    .map_err(|e| e.to_string())?;
    Ok(Run {
        snapshot: sim.snapshot(),
        capture: sim.sql_runner().and_then(|r| r.captured().cloned()),
        streams,
    })
}

/// The expected rows as a ```` ```jsonl expected ```` block's lines: every
/// row `stream` emitted, ROWTIME first, then its columns in order.
pub fn expected_lines(capture: &Capture) -> Vec<String> {
    capture
        .rows
        .iter()
        .map(|(rowtime, values)| {
            let mut line = format!(
                "{{\"ROWTIME\":{}",
                Value::String(shardlab_sql::value::format_timestamp(*rowtime))
            );
            for (c, v) in capture.columns.iter().zip(values) {
                line.push_str(&format!(",{}:{v}", Value::String(c.clone())));
            }
            line.push('}');
            line
        })
        .collect()
}

/// Whether two values are the same answer: numbers to a millionth of their
/// size, everything else exactly.
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
            _ => a == b,
        },
        _ => expected == actual,
    }
}

/// Compares the captured rows with the expected ones (as multisets, on the
/// expected columns).
fn compare(
    expected: &Expected,
    capture: Option<&Capture>,
    streams: &[(String, Vec<String>)],
) -> GradeItem {
    let what = format!(
        "{} emits the {} expected rows",
        expected.stream,
        expected.rows.len()
    );
    let fail = |detail: String| GradeItem {
        what: what.clone(),
        passed: false,
        detail,
    };
    let Some(capture) = capture else {
        return fail(format!(
            "your application has no stream {}; it has {}",
            expected.stream,
            if streams.is_empty() {
                "none".to_string()
            } else {
                streams
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    };
    // Where each expected column is in the captured rows (None: ROWTIME).
    let mut names: Vec<String> = expected
        .rows
        .iter()
        .flat_map(|r| r.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let mut place: BTreeMap<String, Option<usize>> = BTreeMap::new();
    for name in &names {
        if name.eq_ignore_ascii_case("ROWTIME") {
            place.insert(name.clone(), None);
            continue;
        }
        match capture
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                place.insert(name.clone(), Some(i));
            }
            None => {
                return fail(format!(
                    "{} has no column {name}; its columns are {}",
                    capture.stream,
                    capture.columns.join(", ")
                ))
            }
        }
    }
    let actual_value = |row: &(i64, Vec<Value>), name: &str| -> Value {
        match place.get(name).copied().flatten() {
            None => Value::String(shardlab_sql::value::format_timestamp(row.0)),
            Some(i) => row.1.get(i).cloned().unwrap_or(Value::Null),
        }
    };
    // Rows are bucketed by their values other than numbers, which are
    // compared with a tolerance within a bucket.
    let key = |get: &dyn Fn(&str) -> Value, cols: &[String]| -> String {
        cols.iter()
            .map(|c| match get(c) {
                Value::Number(_) => "#".to_string(),
                v => v.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut missing: Vec<&serde_json::Map<String, Value>> = Vec::new();
    let mut used = vec![false; capture.rows.len()];
    // Expected rows may name different columns; group the actual rows by
    // each column set's key lazily.
    let mut buckets: BTreeMap<(Vec<String>, String), Vec<usize>> = BTreeMap::new();
    let mut indexed: Vec<Vec<String>> = Vec::new();
    for row in &expected.rows {
        let cols: Vec<String> = row.keys().cloned().collect();
        if !indexed.contains(&cols) {
            for (i, actual) in capture.rows.iter().enumerate() {
                let k = key(&|c| actual_value(actual, c), &cols);
                buckets.entry((cols.clone(), k)).or_default().push(i);
            }
            indexed.push(cols.clone());
        }
        let k = key(&|c| row.get(c).cloned().unwrap_or(Value::Null), &cols);
        let found = buckets.get(&(cols.clone(), k)).and_then(|candidates| {
            candidates.iter().copied().find(|&i| {
                !used[i]
                    && cols
                        .iter()
                        .all(|c| same(&row[c], &actual_value(&capture.rows[i], c)))
            })
        });
        match found {
            Some(i) => used[i] = true,
            None => missing.push(row),
        }
    }
    let extra: Vec<usize> = (0..capture.rows.len()).filter(|i| !used[*i]).collect();
    let found = expected.rows.len() - missing.len();
    if missing.is_empty() && extra.is_empty() && capture.dropped == 0 {
        return GradeItem {
            what,
            passed: true,
            detail: format!("all {found} rows, none missing, none extra"),
        };
    }
    let mut detail = format!(
        "{found} of {} expected rows found, {} rows not expected",
        expected.rows.len(),
        extra.len() as u64 + capture.dropped
    );
    if let Some(row) = missing.first() {
        detail.push_str(&format!("; missing e.g. {}", Value::Object((*row).clone())));
    }
    if let Some(&i) = extra.first() {
        let mut shown = serde_json::Map::new();
        shown.insert(
            "ROWTIME".into(),
            Value::String(shardlab_sql::value::format_timestamp(capture.rows[i].0)),
        );
        for (c, v) in capture.columns.iter().zip(&capture.rows[i].1) {
            shown.insert(c.clone(), v.clone());
        }
        detail.push_str(&format!("; not expected e.g. {}", Value::Object(shown)));
    }
    GradeItem {
        what,
        passed: false,
        detail,
    }
}

impl GradeResult {
    pub fn new(ex: &Exercise, student: &str, submission: Submission, report: GradeReport) -> Self {
        GradeResult {
            format: RESULT_FORMAT.into(),
            version: 1,
            exercise: ex.title.clone(),
            exercise_digest: ex.digest.clone(),
            student: student.trim().to_string(),
            submission,
            report,
        }
    }

    /// The result file's text.
    pub fn to_file(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a result file, saying what is wrong with a bad one.
    pub fn from_file(text: &str) -> Result<GradeResult, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("the result is not JSON: {e}"))?;
        if value.get("format").and_then(Value::as_str) != Some(RESULT_FORMAT) {
            return Err(format!(
                "this is not a Shardlab exercise result (its \"format\" is not \"{RESULT_FORMAT}\")"
            ));
        }
        if value.get("version").and_then(Value::as_u64) != Some(1) {
            return Err("this result was written by another version of Shardlab".into());
        }
        serde_json::from_value(value).map_err(|e| format!("the result is damaged: {e}"))
    }

    /// Grades the result's submission again against `ex` (an instructor
    /// trusts the replay, not the file's claim): the fresh report, and
    /// whether it agrees with the one in the file.
    pub fn regrade(&self, ex: &Exercise) -> Result<(GradeReport, bool), String> {
        if self.exercise_digest != ex.digest {
            return Err(format!(
                "this result was graded against another version of the exercise \
                 (its fingerprint is {}, this file's is {})",
                self.exercise_digest, ex.digest
            ));
        }
        let report = grade(ex, &self.submission);
        let agrees = report == self.report;
        Ok((report, agrees))
    }
}

#[cfg(test)]
mod tests;
