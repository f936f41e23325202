//! Scenario files and headless runs (`shardlab run <scenario> --for 1h`).
//!
//! A scenario file is the JSON form of [`Scenario`]:
//!
//! ```json
//! {
//!   "stream_name": "clickstream",
//!   "shard_count": 4,
//!   "seed": 42,
//!   "rate_per_sec": 2000,
//!   "consumers": [{ "name": "analytics", "poll_ms": 200, "start": "TrimHorizon" }]
//! }
//! ```
//!
//! `consumers` may be left out; `start` is `TrimHorizon` (default) or
//! `Latest`. Unknown fields are refused, so a typo cannot pass silently.
//! A run is the same tick loop as in the browser, with every shard in this
//! thread, so a scenario gives the same digest here and there.

use std::fmt;

use crate::consumer::ConsumerView;
use crate::host::{run_ticks_with, start_in_process};
use crate::{Scenario, SimError, Snapshot, TICK_MS};

/// Reads a scenario file, naming the field and the problem when it is wrong.
pub fn parse_scenario(text: &str) -> Result<Scenario, String> {
    let scenario: Scenario = serde_json::from_str(text).map_err(|e| {
        format!(
            "the scenario is not valid: {e} (fields: stream_name, shard_count, seed, \
             rate_per_sec, keys, rate_shape, record_template, aggregation, consumers, \
             delivery_streams, glue_tables, redshift_statements, sql_outputs, \
             output_streams, lambda_functions, retries, messaging, agent)"
        )
    })?;
    scenario
        .validate()
        .map_err(|e| format!("the scenario is not valid: {e}"))?;
    Ok(scenario)
}

/// A duration such as `90s`, `10m`, `1h`, `1h30m` or `500ms`, in ms.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a duration; write it like 90s, 10m, 1h, 1h30m or 500ms");
    let mut total = 0u64;
    let mut digits = String::new();
    let mut chars = text.trim().chars().peekable();
    if chars.peek().is_none() {
        return Err(bad());
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit_ms = match c {
            'h' => 3_600_000,
            's' => 1000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit_ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// What a headless run prints.
pub struct Report {
    pub scenario: Scenario,
    pub virtual_ms: u64,
    pub snapshot: Snapshot,
}

/// Runs `scenario` for `duration_ms` of virtual time (whole 100 ms ticks),
/// sending no HTTP requests (they fail to connect).
pub fn run_for(scenario: Scenario, duration_ms: u64) -> Result<Report, SimError> {
    run_for_with(scenario, duration_ms, &mut |_| {
        shardlab_firehose::http::HttpOutcome::connection_failed(crate::simulation::NO_HTTP)
    })
}

/// Runs `scenario` for `duration_ms` of virtual time; `send` sends each
/// request to an HTTP endpoint destination, before the next tick applies
/// its outcome (as the browser does with `fetch`).
pub fn run_for_with(
    scenario: Scenario,
    duration_ms: u64,
    send: &mut dyn FnMut(&crate::simulation::HttpCall) -> shardlab_firehose::http::HttpOutcome,
) -> Result<Report, SimError> {
    if let Some(f) = scenario
        .lambda_functions
        .iter()
        .find(|f| matches!(f.code, crate::lambda::FunctionCode::Javascript(_)))
    {
        return Err(SimError::Scenario(format!(
            "the Lambda function {} is JavaScript, which runs in the browser only; \
             open the scenario in the playground",
            f.name
        )));
    }
    let (mut sim, mut host) = start_in_process(scenario.clone())?;
    let ticks = duration_ms.div_ceil(TICK_MS);
    let ticks =
        u32::try_from(ticks).map_err(|_| SimError::Scenario("the duration is too long".into()))?;
    run_ticks_with(
        &mut sim,
        &mut host,
        ticks,
        TICK_MS,
        |_, _| {},
        |sim| {
            for call in sim.take_http_requests() {
                let outcome = send(&call);
                sim.provide_http_outcome(&call.stream, call.request.id, outcome);
            }
        },
    )?;
    Ok(Report {
        scenario,
        virtual_ms: u64::from(ticks) * TICK_MS,
        snapshot: sim.snapshot(),
    })
}

fn consumer_line(c: &ConsumerView) -> String {
    let users = if c.user_records == c.delivered {
        String::new()
    } else {
        format!(" ({} user records)", c.user_records)
    };
    let line = format!(
        "  {}: GetRecords every {} ms; {} records delivered{users}, {} ms behind at most, {} reads throttled",
        c.name, c.poll_ms, c.delivered, c.max_lag_ms, c.throttled
    );
    if let Some(l) = &c.lambda {
        return format!(
            "{line}\n    Lambda {} (batch {}, parallelization {}): {} invocations, {} errors; {} records processed, \
             {} invoked again, {} discarded; IteratorAge {} ms (at most {} ms)",
            l.spec.function,
            l.spec.batch_size,
            l.spec.parallelization_factor,
            l.invocations,
            l.errors,
            l.processed,
            l.invoked_again,
            l.discarded,
            l.iterator_age_ms,
            l.max_iterator_age_ms
        );
    }
    match &c.kcl {
        None => line,
        Some(k) => format!(
            "{line}\n    KCL on {} workers: leases {}; {} taken, {} stolen, {} lost; {} checkpoints; {} duplicates",
            k.workers.len(),
            k.workers
                .iter()
                .map(|w| format!("{} {}{}", w.worker_id, w.leases, if w.alive { "" } else { " (stopped)" }))
                .collect::<Vec<_>>()
                .join(", "),
            k.counts.taken,
            k.counts.stolen,
            k.counts.lost,
            k.counts.checkpoints,
            c.redelivered
        ),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.snapshot;
        let accepted = s.records_accepted();
        let throttled: u64 = s.shards.iter().map(|x| x.records_throttled).sum();
        let bytes: u64 = s.shards.iter().map(|x| x.bytes_accepted).sum();
        writeln!(
            f,
            "stream {} ({} shards, seed {}), {} records/s for {:.1} s of virtual time",
            s.stream_name,
            self.scenario.shard_count,
            s.seed,
            s.rate_per_sec,
            self.virtual_ms as f64 / 1000.0
        )?;
        writeln!(
            f,
            "produced {}, accepted {} ({} bytes), throttled {}",
            s.records_produced, accepted, bytes, throttled
        )?;
        if self.scenario.retries.is_some() {
            writeln!(
                f,
                "retries: {} sends again, {} records given up, {} waiting",
                s.records_retried, s.records_failed, s.records_awaiting_retry
            )?;
        }
        if s.producers.len() > 1 {
            let each: Vec<String> = s
                .producers
                .iter()
                .map(|p| format!("{} {}", p.name, p.produced))
                .collect();
            writeln!(f, "producers: {}", each.join(", "))?;
        }
        if self.scenario.aggregation.is_some()
            && s.records_retried + s.records_failed + s.records_awaiting_retry + s.records_held > 0
        {
            writeln!(
                f,
                "KPL: {} sends again, {} Kinesis records failed (past RecordTtl, or throttled \
                 with FailIfThrottled), {} waiting to be sent again, {} held by RateLimit",
                s.records_retried, s.records_failed, s.records_awaiting_retry, s.records_held
            )?;
        }
        if s.kinesis_records_put != s.records_produced {
            writeln!(
                f,
                "aggregated (KPL): {} user records in {} Kinesis records",
                s.records_produced, s.kinesis_records_put
            )?;
        }
        writeln!(f, "shards:")?;
        for shard in &s.shards {
            writeln!(
                f,
                "  {} {:>6}: {} accepted, {} throttled, latest {}",
                shard.shard_id,
                if shard.open { "open" } else { "closed" },
                shard.records_accepted,
                shard.records_throttled,
                shard.latest_sequence_number.as_deref().unwrap_or("-")
            )?;
        }
        for o in &s.output_streams {
            writeln!(
                f,
                "output stream {} (written by the SQL application):",
                o.name
            )?;
            for shard in &o.shards {
                writeln!(
                    f,
                    "  {}: {} accepted, {} throttled",
                    shard.shard_id, shard.records, shard.throttled
                )?;
            }
        }
        if !s.consumers.is_empty() {
            writeln!(f, "consumers:")?;
            for c in &s.consumers {
                writeln!(f, "{}", consumer_line(c))?;
            }
        }
        if let Some(m) = &s.messaging {
            writeln!(f, "queues:")?;
            if let Some(t) = &m.topic {
                writeln!(f, "  SNS topic {t}: {} published", m.published)?;
            }
            for q in &m.queues {
                let c = &q.counts;
                writeln!(
                    f,
                    "  {} ({}): {} sent, {} received, {} deleted, {} redelivered, {} duplicates, \
                     {} out of order; {} visible, {} in flight, {} delayed",
                    q.name,
                    if q.fifo { "FIFO" } else { "standard" },
                    c.sent,
                    c.received,
                    c.deleted,
                    c.redelivered,
                    c.duplicates,
                    c.out_of_order,
                    q.visible,
                    q.in_flight,
                    q.delayed
                )?;
            }
        }
        if !s.delivery_streams.is_empty() {
            writeln!(f, "firehose:")?;
            for d in &s.delivery_streams {
                let a = &d.accounting;
                let errors = a.error_delivered + a.error_pending + a.error_expired;
                match &d.opensearch {
                    None if d.redshift.is_some() => {
                        let r = d.redshift.as_ref().expect("checked");
                        writeln!(
                            f,
                            "  {} -> Redshift {}.{}.{} (via s3://{}/{}): {} records in, {} in the \
                             intermediate bucket; COPY loaded {} rows from {} records, {} records \
                             waiting for COPY, {} skipped; the table has {} rows",
                            d.name,
                            r.cluster,
                            r.database,
                            r.table,
                            d.bucket,
                            d.prefix,
                            a.incoming_records,
                            a.delivered_records,
                            a.copied_rows,
                            a.copied_records,
                            a.copy_waiting_records,
                            a.copy_skipped_records,
                            r.row_count
                        )?;
                        if let Some((code, message)) =
                            r.last_copy.as_ref().and_then(|c| c.error.as_ref())
                        {
                            writeln!(f, "    last COPY failed: {code}: {message}")?;
                        }
                    }
                    None if d.http.is_some() => {
                        let h = d.http.as_ref().expect("checked");
                        writeln!(
                            f,
                            "  {} -> HTTP endpoint {} (backup s3://{}/): {} records in, {} delivered \
                             in {} requests, {} waiting, {} to the error output, {} rejected (413)",
                            d.name,
                            h.url,
                            d.bucket,
                            a.incoming_records,
                            a.delivered_records,
                            a.http_requests_delivered,
                            a.buffered_records,
                            errors,
                            a.rejected_records
                        )?;
                        if let Some(e) = &h.last_error {
                            writeln!(
                                f,
                                "    last failed attempt: {}: {} ({})",
                                e.code, e.message, e.then
                            )?;
                        }
                    }
                    None => writeln!(
                        f,
                        "  {} -> s3://{}/ (prefix `{}`): {} records in, {} delivered in {} objects \
                         ({} bytes {}), {} waiting, {} to the error output",
                        d.name,
                        d.bucket,
                        d.prefix,
                        a.incoming_records,
                        a.delivered_records,
                        a.delivered_objects,
                        a.delivered_bytes,
                        d.compression,
                        a.buffered_records,
                        errors
                    )?,
                    Some(os) => writeln!(
                        f,
                        "  {} -> OpenSearch domain {} (backup s3://{}/): {} records in, {} indexed \
                         in {}, {} waiting, {} to the error output",
                        d.name,
                        os.domain,
                        d.bucket,
                        a.incoming_records,
                        a.delivered_records,
                        os.indices
                            .iter()
                            .map(|(n, c)| format!("{n} ({c} documents)"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        a.buffered_records,
                        errors
                    )?,
                }
                if let Some(function) = &d.transform_function {
                    writeln!(
                        f,
                        "    Lambda {function}: {} Ok, {} dropped, {} failed, {} in the transform",
                        a.transformed_records,
                        a.dropped_records,
                        a.transform_failed,
                        a.transforming
                    )?;
                }
                if let Some(last) = d.recent.first() {
                    writeln!(
                        f,
                        "    last delivery {} ({} trigger, {} ms after its oldest record arrived)",
                        last.key,
                        last.trigger.as_str(),
                        last.delay_ms
                    )?;
                }
            }
        }
        write!(f, "digest {}", s.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("10m"), Ok(600_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        for bad in ["", "10", "1x", "h", "5 m", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_files_name_the_field_and_the_problem() {
        let err =
            parse_scenario(r#"{"stream_name": "s", "shards": 4, "seed": 1, "rate_per_sec": 1}"#)
                .unwrap_err();
        assert!(err.contains("unknown field `shards`"), "{err}");
        let err = parse_scenario(
            r#"{"stream_name": "s", "shard_count": "4", "seed": 1, "rate_per_sec": 1}"#,
        )
        .unwrap_err();
        assert!(err.contains("invalid type: string \"4\""), "{err}");
        let err =
            parse_scenario(r#"{"stream_name": "s", "seed": 1, "rate_per_sec": 1}"#).unwrap_err();
        assert!(err.contains("missing field `shard_count`"), "{err}");
        let err = parse_scenario(
            r#"{"stream_name": "a b", "shard_count": 1, "seed": 1, "rate_per_sec": 1}"#,
        )
        .unwrap_err();
        assert!(err.contains("ValidationException"), "{err}");
        let err = parse_scenario(
            r#"{"stream_name": "s", "shard_count": 1, "seed": 1, "rate_per_sec": 1,
                "consumers": [{"name": "c", "poll_ms": 200, "start": "Earliest"}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("unknown variant `Earliest`"), "{err}");
    }

    #[test]
    fn a_run_reports_what_the_browser_shows() {
        // The pinned default stream (crates/sim/tests/run.rs) for 0.5 s.
        let scenario = parse_scenario(
            r#"{"stream_name": "clickstream", "shard_count": 4, "seed": 42, "rate_per_sec": 2000}"#,
        )
        .unwrap();
        let report = run_for(scenario, 500).unwrap();
        let text = report.to_string();
        assert!(text.contains("produced 1000, accepted 1000"), "{text}");
        assert!(text.ends_with("digest 099ec34aa352fcc2"), "{text}");
    }
}
