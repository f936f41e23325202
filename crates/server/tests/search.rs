//! The OpenSearch domains Firehose delivers to can be searched on the
//! endpoint, in OpenSearch's REST shapes.

use serde_json::{json, Value};
use shardlab_engine::KinesisConfig;
use shardlab_server::Endpoint;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn firehose(base: &str, operation: &str, body: Value) -> Value {
    let mut r = agent()
        .post(base)
        .header("X-Amz-Target", format!("Firehose_20150804.{operation}"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .send(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(r.status(), 200, "{operation}");
    serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap()
}

fn get(url: &str) -> (u16, Value) {
    let mut r = agent().get(url).call().unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap(),
    )
}

#[test]
fn documents_firehose_indexed_are_found_with_opensearch_requests() {
    let endpoint = Endpoint::start(0, KinesisConfig::default()).unwrap();
    let base = format!("http://127.0.0.1:{}/", endpoint.port());
    firehose(
        &base,
        "CreateDeliveryStream",
        json!({"DeliveryStreamName": "to-os", "DeliveryStreamType": "DirectPut",
               "AmazonopensearchserviceDestinationConfiguration": {
                   "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                   "DomainARN": "arn:aws:es:us-east-1:123456789012:domain/logs",
                   "IndexName": "clicks", "IndexRotationPeriod": "NoRotation",
                   "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                   "S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                       "BucketARN": "arn:aws:s3:::backup"}}}),
    );
    let records: Vec<Value> = [
        r#"{"user":"a","action":"buy"}"#,
        r#"{"user":"b","action":"view"}"#,
        r#"{"user":"c","action":"buy"}"#,
    ]
    .iter()
    .map(|r| json!({"Data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, r)}))
    .collect();
    firehose(
        &base,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "to-os", "Records": records}),
    );
    // A zero interval: the next request (this one) sees them indexed.
    let (status, v) = get(&format!(
        "{base}opensearch/logs/clicks/_search?q=action:buy"
    ));
    assert_eq!(status, 200);
    assert_eq!(v["hits"]["total"], json!({"value": 2, "relation": "eq"}));
    let users: Vec<&str> = v["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"]["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["a", "c"]);
    assert_eq!(v["hits"]["hits"][0]["_index"], "clicks");
    // A JSON body, a pattern, a count.
    let mut r = agent()
        .post(&format!("{base}opensearch/logs/click*/_search"))
        .header("Content-Type", "application/json")
        .send(
            json!({"query": {"term": {"action": "view"}}, "size": 5})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let v: Value = serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap();
    assert_eq!(v["hits"]["hits"][0]["_source"]["user"], "b");
    let (_, v) = get(&format!("{base}opensearch/logs/_all/_count"));
    assert_eq!(v["count"], 3);
    let (_, v) = get(&format!("{base}opensearch/logs/_cat/indices?format=json"));
    assert_eq!(v[0]["index"], "clicks");
    assert_eq!(v[0]["docs.count"], "3");
    // Errors in OpenSearch's shape.
    let (status, v) = get(&format!("{base}opensearch/logs/views/_search"));
    assert_eq!(status, 404);
    assert_eq!(v["error"]["type"], "index_not_found_exception");
    assert_eq!(v["error"]["reason"], "no such index [views]");
    let (status, v) = get(&format!("{base}opensearch/other/clicks/_search"));
    assert_eq!(status, 404);
    assert!(v["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("no OpenSearch domain other"));
}
