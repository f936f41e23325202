use super::*;

const T0: u64 = 1_700_000_000_000;
const DAY: u64 = 24 * 3_600_000;
const ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";

fn record(shard: u32, i: u64, key: &str, data: &str, at: u64) -> RecordJson {
    RecordJson {
        approximate_arrival_timestamp: at as f64 / 1000.0,
        data: data.as_bytes().to_vec(),
        partition_key: key.to_string(),
        sequence_number: SequenceNumber {
            shard_created_secs: T0 / 1000,
            shard_index: shard,
            sequence_index: i,
            arrival_secs: at / 1000,
        },
    }
}

fn records(shard: u32, n: u64, at: u64) -> Vec<RecordJson> {
    (0..n)
        .map(|i| record(shard, i, &format!("k{i}"), &format!("{{\"n\":{i}}}"), at))
        .collect()
}

/// The sequence numbers' indexes in an invocation's event.
fn indexes(call: &EsmInvocation) -> Vec<u64> {
    let v: Value = serde_json::from_str(&call.event).unwrap();
    v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            SequenceNumber::parse(r["kinesis"]["sequenceNumber"].as_str().unwrap())
                .unwrap()
                .sequence_index
        })
        .collect()
}

/// Advances to `now` and answers every invocation with `answer`.
fn step(
    esm: &mut Esm,
    now: u64,
    answer: &mut dyn FnMut(&EsmInvocation) -> Result<Vec<u8>, String>,
) -> Vec<EsmInvocation> {
    esm.advance(now, DAY);
    let calls = esm.take_invocations();
    for c in &calls {
        esm.complete(c.id, answer(c));
    }
    calls
}

fn ok(_: &EsmInvocation) -> Result<Vec<u8>, String> {
    Ok(Vec::new())
}

#[test]
fn batches_hold_at_most_batch_size_records_of_one_shard_one_at_a_time() {
    let mut esm = Esm::new(EsmSpec::new("f"), "m", ARN);
    esm.received(0, &records(0, 250, T0), T0);
    assert!(!esm.wants(0), "250 records fill its one batch of 100");
    let mut sizes = Vec::new();
    for t in 0..10 {
        for c in step(&mut esm, T0 + t * 100, &mut ok) {
            sizes.push(indexes(&c));
        }
    }
    assert_eq!(sizes.len(), 3);
    assert_eq!(sizes[0], (0..100).collect::<Vec<_>>());
    assert_eq!(sizes[2], (200..250).collect::<Vec<_>>());
    let v = esm.view();
    assert_eq!((v.invocations, v.processed, v.errors), (3, 250, 0));
    assert!(esm.wants(0));
    // The event is Lambda's Kinesis event.
    esm.received(0, &[record(0, 250, "user-1", "hi", T0 + 5)], T0 + 5);
    let call = step(&mut esm, T0 + 2000, &mut ok).remove(0);
    let e: Value = serde_json::from_str(&call.event).unwrap();
    let r = &e["Records"][0];
    assert_eq!(r["eventSource"], "aws:kinesis");
    assert_eq!(r["eventName"], "aws:kinesis:record");
    assert_eq!(r["kinesis"]["partitionKey"], "user-1");
    assert_eq!(r["kinesis"]["data"], "aGk=");
    assert_eq!(
        r["kinesis"]["approximateArrivalTimestamp"],
        1_700_000_000.005
    );
    assert_eq!(r["eventSourceARN"], ARN);
    let seq = r["kinesis"]["sequenceNumber"].as_str().unwrap();
    assert_eq!(r["eventID"], format!("shardId-000000000000:{seq}"));
    // IteratorAge: from the last record's arrival to the invocation.
    assert_eq!(esm.view().iterator_age_ms, 1995);
}

#[test]
fn a_batching_window_waits_for_a_full_batch_or_the_window() {
    let mut spec = EsmSpec::new("f");
    spec.maximum_batching_window_s = 5;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 10, T0), T0);
    assert!(step(&mut esm, T0 + 4_900, &mut ok).is_empty());
    let calls = step(&mut esm, T0 + 5_000, &mut ok);
    assert_eq!(calls.len(), 1);
    assert_eq!(indexes(&calls[0]).len(), 10);
    // A full batch goes at once.
    let mut more = records(0, 100, T0 + 6_000);
    for (i, r) in more.iter_mut().enumerate() {
        r.sequence_number.sequence_index = 10 + i as u64;
    }
    esm.received(0, &more, T0 + 6_000);
    assert_eq!(step(&mut esm, T0 + 6_000, &mut ok).len(), 1);
}

#[test]
fn an_error_retries_the_batch_until_the_retries_run_out_then_discards_it() {
    let mut spec = EsmSpec::new("f");
    spec.maximum_retry_attempts = 2;
    spec.on_failure = Some("failed-batches".into());
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 5, T0), T0);
    let mut calls = 0;
    for t in 0..60 {
        calls += step(&mut esm, T0 + t * 100, &mut |_| Err("Error: boom".into())).len();
    }
    // One try and two retries, a second apart.
    assert_eq!(calls, 3);
    let v = esm.view();
    assert_eq!((v.errors, v.discarded, v.processed), (3, 5, 0));
    assert_eq!(v.invoked_again, 5);
    assert_eq!(
        v.log.iter().map(|l| l.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(v.log[0].result, "Error: boom");
    let d = esm.take_discards();
    assert_eq!(d.len(), 1);
    esm.sent_to_destination(1);
    assert_eq!(esm.view().discards, 1);
    let doc: Value = serde_json::from_str(&d[0].document).unwrap();
    assert_eq!(doc["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(doc["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(
        doc["requestContext"]["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:f"
    );
    assert_eq!(doc["responseContext"]["functionError"], "Unhandled");
    let info = &doc["KinesisBatchInfo"];
    assert_eq!(info["batchSize"], 5);
    assert_eq!(info["shardId"], "shardId-000000000000");
    assert_eq!(info["streamArn"], ARN);
    assert_eq!(
        info["approximateArrivalOfFirstRecord"],
        "2023-11-14T22:13:20.000Z"
    );
    // The shard moves on.
    assert!(esm.wants(0));
}

#[test]
fn bisecting_isolates_a_bad_record_without_spending_retries() {
    let mut spec = EsmSpec::new("f");
    spec.bisect_batch_on_function_error = true;
    spec.maximum_retry_attempts = 0;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 8, T0), T0);
    let mut sizes = Vec::new();
    for t in 0..40 {
        for c in step(&mut esm, T0 + t * 100, &mut |c| {
            if indexes(c).contains(&5) {
                Err("Error: bad record".into())
            } else {
                Ok(Vec::new())
            }
        }) {
            sizes.push(indexes(&c));
        }
    }
    // 8 fails; 0–3 ok; 4–7 fails; 4–5 fails; 4 ok; 5 fails alone and,
    // with no retries, is discarded; 6–7 ok.
    assert_eq!(
        sizes,
        [
            (0..8).collect::<Vec<_>>(),
            (0..4).collect(),
            (4..8).collect(),
            vec![4, 5],
            vec![4],
            vec![5],
            vec![6, 7]
        ]
    );
    let v = esm.view();
    assert_eq!((v.processed, v.discarded), (7, 1));
    assert_eq!(v.failures[0].records, 1);
}

#[test]
fn reported_item_failures_keep_the_records_before_the_lowest_one() {
    let mut spec = EsmSpec::new("f");
    spec.report_batch_item_failures = true;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 10, T0), T0);
    let mut tries = Vec::new();
    for t in 0..40 {
        for c in step(&mut esm, T0 + t * 100, &mut |c| {
            let v: Value = serde_json::from_str(&c.event).unwrap();
            let first = &v["Records"][0]["kinesis"]["sequenceNumber"];
            if indexes(c)[0] == 0 {
                // Records 3 and 7 failed.
                let seq = |i: usize| v["Records"][i]["kinesis"]["sequenceNumber"].clone();
                Ok(json!({"batchItemFailures": [{"itemIdentifier": seq(7)}, {"itemIdentifier": seq(3)}]})
                    .to_string()
                    .into_bytes())
            } else {
                assert!(first.is_string());
                Ok(br#"{"batchItemFailures": []}"#.to_vec())
            }
        }) {
            tries.push(indexes(&c));
        }
    }
    assert_eq!(tries, [(0..10).collect::<Vec<_>>(), (3..10).collect()]);
    let v = esm.view();
    // A partial response is not a function error (AWS's Errors metric).
    assert_eq!((v.processed, v.errors, v.invoked_again), (10, 0, 7));
    assert_eq!(v.log[0].result, "Partial: 2 reported, retrying 7");
}

#[test]
fn an_item_failure_that_names_no_record_fails_the_whole_batch() {
    let mut spec = EsmSpec::new("f");
    spec.report_batch_item_failures = true;
    spec.maximum_retry_attempts = 0;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 3, T0), T0);
    step(&mut esm, T0, &mut |_| {
        Ok(br#"{"batchItemFailures":[{"itemIdentifier":"123"}]}"#.to_vec())
    });
    step(&mut esm, T0 + 100, &mut ok);
    let v = esm.view();
    assert_eq!((v.processed, v.discarded), (0, 3));
    assert!(
        v.log[0].result.contains("not a sequence number"),
        "{:?}",
        v.log
    );
    // Without ReportBatchItemFailures the same response is a success.
    let mut esm = Esm::new(EsmSpec::new("f"), "m", ARN);
    esm.received(0, &records(0, 3, T0), T0);
    step(&mut esm, T0, &mut |_| {
        Ok(br#"{"batchItemFailures":[{"itemIdentifier":"123"}]}"#.to_vec())
    });
    step(&mut esm, T0 + 100, &mut ok);
    assert_eq!(esm.view().processed, 3);
}

#[test]
fn a_parallelization_factor_runs_batches_at_once_keeping_each_keys_order() {
    let mut spec = EsmSpec::new("f");
    spec.parallelization_factor = 4;
    spec.batch_size = 10;
    spec.invocation_ms = 1000;
    let mut esm = Esm::new(spec, "m", ARN);
    let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let batch: Vec<RecordJson> = (0..200)
        .map(|i| record(0, i, keys[i as usize % keys.len()], "x", T0))
        .collect();
    esm.received(0, &batch, T0);
    let first = step(&mut esm, T0, &mut ok);
    assert!(first.len() > 1, "{} batches at once", first.len());
    assert_eq!(esm.view().concurrent, first.len() as u32);
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut all = first;
    for t in 1..400 {
        all.extend(step(&mut esm, T0 + t * 100, &mut ok));
    }
    for c in &all {
        let v: Value = serde_json::from_str(&c.event).unwrap();
        for (r, i) in v["Records"].as_array().unwrap().iter().zip(indexes(c)) {
            let key = r["kinesis"]["partitionKey"].as_str().unwrap().to_string();
            seen.entry(key).or_default().push(i);
        }
    }
    for (key, order) in &seen {
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{key}: {order:?}");
        assert_eq!(order.len(), 25);
    }
    assert_eq!(esm.view().processed, 200);
}

#[test]
fn an_invocation_past_the_timeout_fails() {
    let mut spec = EsmSpec::new("f");
    spec.invocation_ms = 5_000;
    spec.maximum_retry_attempts = 0;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 2, T0), T0);
    step(&mut esm, T0, &mut ok);
    step(&mut esm, T0 + 2_900, &mut ok);
    assert_eq!(esm.view().concurrent, 1);
    step(&mut esm, T0 + 3_000, &mut ok);
    let v = esm.view();
    assert_eq!(v.log[0].result, "Task timed out after 3.00 seconds");
    assert_eq!(v.log[0].duration_ms, 3_000);
    assert_eq!(v.discarded, 2);
}

#[test]
fn records_older_than_the_maximum_age_are_discarded_unprocessed() {
    let mut spec = EsmSpec::new("f");
    spec.maximum_record_age_s = 60;
    spec.on_failure = Some("dlq".into());
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 3, T0), T0);
    // Failing for two minutes: the retries stop when the records are a
    // minute old.
    for t in 0..1200 {
        step(&mut esm, T0 + t * 100, &mut |_| Err("Error".into()));
    }
    let v = esm.view();
    assert_eq!(v.discarded, 3);
    assert!((50..=61).contains(&v.invocations), "{}", v.invocations);
    let d = esm.take_discards();
    let doc: Value = serde_json::from_str(&d[0].document).unwrap();
    assert_eq!(doc["requestContext"]["condition"], "RecordAgeExceeded");
}

#[test]
fn children_wait_for_their_parents_to_be_processed() {
    let mut esm = Esm::new(EsmSpec::new("f"), "m", ARN);
    esm.received(0, &records(0, 3, T0), T0);
    esm.shard_ended(0, &[(1, vec![0]), (2, vec![0])]);
    assert!(!esm.wants(1));
    step(&mut esm, T0, &mut ok);
    assert!(!esm.wants(1), "the parent's batch is still running");
    step(&mut esm, T0 + 100, &mut ok);
    assert!(esm.wants(1) && esm.wants(2));
}

#[test]
fn settings_are_checked_with_awss_ranges() {
    let check = |f: &dyn Fn(&mut EsmSpec)| {
        let mut s = EsmSpec::new("f");
        f(&mut s);
        s.validate("m")
    };
    assert!(check(&|_| {}).is_ok());
    assert!(check(&|s| s.batch_size = 10_001)
        .unwrap_err()
        .contains("1–10,000"));
    assert!(check(&|s| s.parallelization_factor = 11).is_err());
    assert!(check(&|s| s.maximum_batching_window_s = 301).is_err());
    assert!(check(&|s| s.maximum_record_age_s = 59).is_err());
    assert!(check(&|s| s.maximum_record_age_s = 604_801).is_err());
    assert!(check(&|s| s.maximum_retry_attempts = -2).is_err());
    assert!(check(&|s| s.timeout_s = 0).is_err());
}

#[test]
fn a_new_parallelization_factor_applies_between_batches_keeping_each_keys_order() {
    let mut spec = EsmSpec::new("f");
    spec.batch_size = 10;
    spec.invocation_ms = 500;
    let mut esm = Esm::new(spec.clone(), "m", ARN);
    let batch: Vec<RecordJson> = (0..100)
        .map(|i| record(0, i, &format!("key-{}", i % 20), "x", T0))
        .collect();
    esm.received(0, &batch, T0);
    let mut all = step(&mut esm, T0, &mut ok);
    assert_eq!(all.len(), 1);
    esm.update(
        EsmUpdate {
            parallelization_factor: Some(3),
            ..Default::default()
        }
        .apply(&spec),
    );
    // The running batch finishes first; then up to 3 run at once.
    let mut most = 0;
    for t in 1..200 {
        all.extend(step(&mut esm, T0 + t * 100, &mut ok));
        most = most.max(esm.view().concurrent);
    }
    assert_eq!(most, 3);
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for c in &all {
        let v: Value = serde_json::from_str(&c.event).unwrap();
        for (r, i) in v["Records"].as_array().unwrap().iter().zip(indexes(c)) {
            let key = r["kinesis"]["partitionKey"].as_str().unwrap().to_string();
            seen.entry(key).or_default().push(i);
        }
    }
    for order in seen.values() {
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    }
    assert_eq!(esm.view().processed, 100);
}

#[test]
fn a_partial_response_failing_the_first_record_is_retried_not_bisected() {
    let mut spec = EsmSpec::new("f");
    spec.report_batch_item_failures = true;
    spec.bisect_batch_on_function_error = true;
    let mut esm = Esm::new(spec, "m", ARN);
    esm.received(0, &records(0, 6, T0), T0);
    let mut tries = Vec::new();
    for t in 0..40 {
        for c in step(&mut esm, T0 + t * 100, &mut |c| {
            let v: Value = serde_json::from_str(&c.event).unwrap();
            if tries.is_empty() {
                let first = v["Records"][0]["kinesis"]["sequenceNumber"].clone();
                Ok(json!({"batchItemFailures": [{"itemIdentifier": first}]})
                    .to_string()
                    .into_bytes())
            } else {
                Ok(Vec::new())
            }
        }) {
            tries.push(indexes(&c));
        }
    }
    // The whole batch again, from its first record: no halves.
    assert_eq!(tries, [(0..6).collect::<Vec<_>>(), (0..6).collect()]);
    assert_eq!(esm.view().log[1].attempt, 2);
}

#[test]
fn a_batch_stays_under_the_payload_limit_counted_as_the_event_is() {
    let mut spec = EsmSpec::new("f");
    spec.batch_size = 10_000;
    let mut esm = Esm::new(spec, "m", ARN);
    // 1,000 records of 9,000 bytes: 9 MB of data, 12 MB in base64.
    let big = "x".repeat(9_000);
    let batch: Vec<RecordJson> = (0..1000).map(|i| record(0, i, "k", &big, T0)).collect();
    esm.received(0, &batch, T0);
    let calls = step(&mut esm, T0, &mut ok);
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].event.len() <= MAX_PAYLOAD_BYTES,
        "{}",
        calls[0].event.len()
    );
    assert!(
        indexes(&calls[0]).len() > 400,
        "{}",
        indexes(&calls[0]).len()
    );
}

#[test]
fn a_new_parallelization_factor_applies_under_a_steady_load() {
    let mut spec = EsmSpec::new("f");
    spec.batch_size = 10;
    spec.parallelization_factor = 4;
    let mut esm = Esm::new(spec.clone(), "m", ARN);
    let mut next = 0;
    let mut most = 0;
    for t in 0..300 {
        let now = T0 + t * 100;
        // Always more waiting than the lanes take; lanes of different
        // speeds never all idle at once by chance.
        let batch: Vec<RecordJson> = (0..40)
            .map(|i| record(0, next + i, &format!("key-{}", (next + i) % 37), "x", now))
            .collect();
        next += 40;
        esm.received(0, &batch, now);
        if t == 50 {
            esm.update(
                EsmUpdate {
                    parallelization_factor: Some(10),
                    ..Default::default()
                }
                .apply(&spec),
            );
        }
        step(&mut esm, now, &mut ok);
        most = most.max(esm.view().concurrent);
    }
    assert_eq!(most, 10);
}

/// Tumbling windows: batches stay inside a window of arrival times, each
/// invocation gets the state the last returned, and after the window's
/// records a final invocation (no records) gets it with
/// isFinalInvokeForWindow; a response without state is a failure.
#[test]
fn a_tumbling_window_carries_state_to_a_final_invocation() {
    let spec = EsmSpec {
        tumbling_window_s: 10,
        batch_size: 2,
        ..EsmSpec::new("f")
    };
    assert!(spec.validate("m").is_ok());
    let mut esm = Esm::new(spec.clone(), "m", ARN);
    // T0 is 1,700,000,000,000: windows start at multiples of 10 s.
    let w0 = T0 - T0 % 10_000;
    let mut recs = records(0, 3, w0 + 1_000);
    recs.push(record(0, 3, "k3", "{\"n\":3}", w0 + 12_000));
    esm.received(0, &recs, w0 + 12_500);
    let mut events: Vec<Value> = Vec::new();
    // The function adds each batch's records to its state's count.
    let mut count = |c: &EsmInvocation| {
        let e: Value = serde_json::from_str(&c.event).unwrap();
        let n =
            e["state"]["n"].as_u64().unwrap_or(0) + e["Records"].as_array().unwrap().len() as u64;
        events.push(e);
        Ok(json!({"state": {"n": n}}).to_string().into_bytes())
    };
    for t in 0..100 {
        // Each step reads the shard up to its tip.
        esm.caught_up(0, 0, w0 + 12_500 + t * 100);
        step(&mut esm, w0 + 12_500 + t * 100, &mut count);
    }
    let shape: Vec<(usize, bool, u64, String)> = events
        .iter()
        .map(|e| {
            (
                e["Records"].as_array().unwrap().len(),
                e["isFinalInvokeForWindow"].as_bool().unwrap(),
                e["state"]["n"].as_u64().unwrap_or(0),
                e["window"]["start"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let start0 = shardlab_engine::time::iso8601(w0);
    let start0 = format!(
        "{}Z",
        start0.split('.').next().unwrap().trim_end_matches('Z')
    );
    // Window 0: a batch of 2, a batch of 1 (never the next window's
    // record), then its final invocation with the count of 3.
    assert_eq!(shape[0], (2, false, 0, start0.clone()));
    assert_eq!(shape[1], (1, false, 2, start0.clone()));
    assert_eq!(shape[2], (0, true, 3, start0));
    // Window 1 starts with a fresh state; its end (w0 + 20 s) has passed
    // by the last step, so it has had its final invocation too.
    assert_eq!((shape[3].0, shape[3].1, shape[3].2), (1, false, 0));
    assert_eq!((shape[4].0, shape[4].1, shape[4].2), (0, true, 1));
    assert_eq!(events.len(), 5);
    let e = &events[0];
    assert_eq!(e["shardId"], "shardId-000000000000");
    assert_eq!(e["eventSourceARN"], ARN);
    assert_eq!(e["isWindowTerminatedEarly"], false);
    let end = shardlab_engine::time::iso8601(w0 + 10_000);
    assert_eq!(
        e["window"]["end"],
        format!("{}Z", end.split('.').next().unwrap().trim_end_matches('Z'))
    );
    assert_eq!(esm.view().processed, 4);
    // A response without state fails the batch, which is retried.
    let mut esm = Esm::new(spec.clone(), "m", ARN);
    esm.received(0, &records(0, 1, w0 + 1_000), w0 + 1_500);
    let mut tries = 0;
    for t in 0..30 {
        step(&mut esm, w0 + 1_500 + t * 100, &mut |_| {
            tries += 1;
            Ok(b"{}".to_vec())
        });
    }
    let v = esm.view();
    assert!(tries >= 2 && v.errors >= 2 && v.processed == 0, "{v:?}");
    assert!(v.log.last().unwrap().result.contains("no state"), "{v:?}");
    // One state per shard: no parallelization with a window.
    let bad = EsmSpec {
        parallelization_factor: 2,
        ..spec
    };
    assert!(bad
        .validate("m")
        .unwrap_err()
        .contains("parallelization_factor 1"));
}

/// A window closes only once the shard has been read past its end: a
/// read before the end and one after it still make one window, one final
/// invocation, with every record counted.
#[test]
fn a_tumbling_window_waits_for_the_reads_past_its_end() {
    let spec = EsmSpec {
        tumbling_window_s: 5,
        ..EsmSpec::new("f")
    };
    let mut esm = Esm::new(spec, "m", ARN);
    let w0 = T0 - T0 % 5_000;
    let mut finals = Vec::new();
    let mut answer = |c: &EsmInvocation| {
        let e: Value = serde_json::from_str(&c.event).unwrap();
        let n =
            e["state"]["n"].as_u64().unwrap_or(0) + e["Records"].as_array().unwrap().len() as u64;
        if e["isFinalInvokeForWindow"] == true {
            finals.push((e["window"]["start"].as_str().unwrap().to_string(), n));
        }
        Ok(json!({"state": {"n": n}}).to_string().into_bytes())
    };
    // A poll at 4.3 s reads 3 records; the next, at 5.3 s, reads 2 more of
    // the same window (arrived 4.3–5.0 s) and 1 of the next.
    esm.received(0, &records(0, 3, w0 + 4_000), w0 + 4_300);
    esm.caught_up(0, 0, w0 + 4_300);
    for t in 0..10 {
        step(&mut esm, w0 + 4_300 + t * 100, &mut answer);
    }
    let mut late: Vec<RecordJson> = (3..5)
        .map(|i| record(0, i, "k", "{}", w0 + 4_600))
        .collect();
    late.push(record(0, 5, "k", "{}", w0 + 5_100));
    esm.received(0, &late, w0 + 5_300);
    esm.caught_up(0, 0, w0 + 5_300);
    for t in 0..60 {
        esm.caught_up(0, 0, w0 + 5_300 + t * 100);
        step(&mut esm, w0 + 5_300 + t * 100, &mut answer);
    }
    let start = |ms: u64| {
        let t = shardlab_engine::time::iso8601(ms);
        format!("{}Z", t.split('.').next().unwrap().trim_end_matches('Z'))
    };
    assert_eq!(finals, [(start(w0), 5), (start(w0 + 5_000), 1)]);
}
