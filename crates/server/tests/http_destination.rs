//! Firehose's HTTP endpoint destination sends real requests: a scenario
//! run headless delivers to `shardlab receive`'s receiver on this machine,
//! through its failures and retries.

use shardlab_server::http::Server;
use shardlab_server::receiver::{handler, Behaviour, Log};

fn scenario(port: u16) -> shardlab_sim::Scenario {
    let text = serde_json::json!({
        "stream_name": "clickstream",
        "shard_count": 2,
        "seed": 7,
        "rate_per_sec": 40,
        "delivery_streams": [{
            "DeliveryStreamName": "clicks-to-http",
            "HttpEndpointDestinationConfiguration": {
                "EndpointConfiguration": {"Url": format!("http://127.0.0.1:{port}/in"),
                                          "Name": "receiver", "AccessKey": "lab-key"},
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 10},
                "RequestConfiguration": {"ContentEncoding": "GZIP",
                    "CommonAttributes": [{"AttributeName": "team", "AttributeValue": "blue"}]},
                "RetryOptions": {"DurationInSeconds": 60},
                "S3BackupMode": "FailedDataOnly",
                "S3Configuration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose-delivery",
                    "BucketARN": "arn:aws:s3:::shardlab-backup"
                }
            }
        }]
    })
    .to_string();
    shardlab_sim::headless::parse_scenario(&text).expect("a valid scenario")
}

/// Runs the scenario for `ms` against a receiver behaving as told.
fn run_for(ms: u64, behaviour: Behaviour) -> (shardlab_sim::headless::Report, Log) {
    let log = Log::default();
    let server = Server::start(
        Server::listen(0).unwrap(),
        handler(behaviour, log.clone(), false),
    )
    .unwrap();
    let report = shardlab_sim::headless::run_for_with(scenario(server.port()), ms, &mut |c| {
        shardlab_server::http_client::send(&c.request)
    })
    .unwrap();
    (report, log)
}

/// A minute.
fn run(behaviour: Behaviour) -> (shardlab_sim::headless::Report, Log) {
    run_for(60_000, behaviour)
}

#[test]
fn records_reach_the_endpoint_through_failures_with_firehose_headers() {
    let (report, log) = run(Behaviour {
        fail: 2,
        status: 503,
        access_key: Some("lab-key".into()),
    });
    let log = log.lock().unwrap().clone();
    assert!(log.len() >= 5, "{} requests", log.len());
    // The first request failed twice and went again with the same id.
    assert_eq!(
        log[..3].iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    assert!(log[..3].iter().all(|r| r.request_id == log[0].request_id));
    assert!(log[3..].iter().all(|r| r.status == 200));
    let header = |name: &str| {
        log[0]
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("X-Amz-Firehose-Protocol-Version").as_deref(),
        Some("1.0")
    );
    assert_eq!(header("Content-Encoding").as_deref(), Some("gzip"));
    assert_eq!(header("Content-Type").as_deref(), Some("application/json"));
    assert_eq!(
        header("X-Amz-Firehose-Common-Attributes").as_deref(),
        Some(r#"{"commonAttributes":{"team":"blue"}}"#)
    );
    assert_eq!(
        header("X-Amz-Firehose-Source-Arn").as_deref(),
        Some("arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks-to-http")
    );
    // Every record delivered once, each a click as the producer made it.
    let delivered: Vec<&Vec<u8>> = log
        .iter()
        .filter(|r| r.status == 200)
        .flat_map(|r| &r.records)
        .collect();
    let ds = &report.snapshot.delivery_streams[0];
    assert_eq!(delivered.len() as u64, ds.accounting.delivered_records);
    assert!(ds.accounting.delivered_records > 1000);
    assert!(ds.accounting.balanced());
    for r in &delivered {
        let click: serde_json::Value = serde_json::from_slice(r).unwrap();
        assert!(click["user_id"].is_string(), "{click}");
    }
    let text = report.to_string();
    assert!(
        text.contains("clicks-to-http -> HTTP endpoint http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("last failed attempt: HttpEndpoint.DestinationException"),
        "{text}"
    );
}

#[test]
fn the_same_answers_give_the_same_digest() {
    let behaviour = Behaviour {
        fail: 1,
        status: 500,
        access_key: None,
    };
    let (a, _) = run(behaviour.clone());
    let (b, _) = run(behaviour);
    assert_eq!(a.snapshot.digest, b.snapshot.digest);
}

#[test]
fn a_wrong_access_key_is_retried_then_the_records_go_to_the_backup_bucket() {
    let (report, log) = run_for(
        90_000,
        Behaviour {
            fail: 0,
            status: 500,
            access_key: Some("another-key".into()),
        },
    );
    assert!(log.lock().unwrap().iter().all(|r| r.status == 401));
    let ds = &report.snapshot.delivery_streams[0];
    let a = &ds.accounting;
    // Sealed at 10 s and retried for 60 s (1, 2, 4, ... 32 s apart): the
    // first batch is out of time at its attempt at 73 s, and its records
    // go to the backup bucket.
    assert_eq!(a.delivered_records, 0);
    assert!(a.delivery_failed > 0, "{a:?}");
    assert!(a.balanced(), "{a:?}");
    let e = ds.http.as_ref().unwrap().last_error.as_ref().unwrap();
    assert_eq!(e.code, "HttpEndpoint.DestinationException");
    assert!(e.message.contains("401: "), "{}", e.message);
}
