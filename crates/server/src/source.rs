//! The endpoint's Firehose: the service, plus a reader per delivery stream
//! whose source is a Kinesis stream of this endpoint.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use shardlab_firehose::http::HttpOutcome;

use shardlab_engine::{ApiError, Kinesis};
use shardlab_firehose::Firehose;
use shardlab_sim::firehose_source::{stream_name_of, SourceReader};

/// Outcomes of HTTP requests sent from their own threads, waiting for the
/// next advance: (delivery stream, request id, outcome).
type HttpOutcomes = Arc<Mutex<Vec<(String, u64, HttpOutcome)>>>;

pub struct FirehoseSide {
    pub firehose: Firehose,
    readers: BTreeMap<String, SourceReader>,
    http_outcomes: HttpOutcomes,
}

impl FirehoseSide {
    pub fn new(firehose: Firehose) -> Self {
        FirehoseSide {
            firehose,
            readers: BTreeMap::new(),
            http_outcomes: HttpOutcomes::default(),
        }
    }

    /// Brings the delivery streams up to `now_ms`: sources read, buffers
    /// sealed when due, objects delivered.
    pub fn advance(&mut self, kinesis: &mut Kinesis, now_ms: u64) {
        let sources = self.firehose.kinesis_sources();
        self.readers
            .retain(|name, _| sources.iter().any(|(ds, _)| ds == name));
        for (ds, arn) in sources {
            if !self.readers.contains_key(&ds) {
                let stream = stream_name_of(&arn).unwrap_or_default();
                let start_ms = match self.firehose.stream(&ds).map(|s| &s.source) {
                    Some(shardlab_firehose::Source::Kinesis { start_ms, .. }) => *start_ms,
                    _ => now_ms,
                };
                self.readers.insert(
                    ds.clone(),
                    SourceReader::new(&ds, stream, kinesis, start_ms, now_ms),
                );
            }
        }
        for reader in self.readers.values_mut() {
            reader.poll(kinesis, &mut self.firehose, now_ms);
        }
        let answered = std::mem::take(&mut *self.http_outcomes.lock().expect("not poisoned"));
        for (stream, id, outcome) in answered {
            self.firehose.complete_http(&stream, id, &outcome, now_ms);
        }
        self.firehose.tick(now_ms);
        // Each request on a thread of its own, so a slow endpoint holds up
        // only its own delivery stream (one request per stream is out).
        for (stream, request) in self.firehose.take_http_requests() {
            let outcomes = self.http_outcomes.clone();
            std::thread::spawn(move || {
                let outcome = crate::http_client::send(&request);
                outcomes
                    .lock()
                    .expect("not poisoned")
                    .push((stream, request.id, outcome));
            });
        }
    }

    /// A Firehose call. A Kinesis source must name a stream of this
    /// endpoint, as AWS requires of a source stream.
    pub fn serve(
        &mut self,
        kinesis: &Kinesis,
        operation: &str,
        body: &[u8],
        now_ms: u64,
    ) -> Result<Vec<u8>, ApiError> {
        if matches!(operation, "CreateDeliveryStream" | "UpdateDestination") {
            let request = shardlab_engine::api::request::parse_json(body)?;
            let uses_lambda = request
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .filter_map(|d| d["ProcessingConfiguration"]["Processors"].as_array())
                .flatten()
                .any(|p| p["Type"] == "Lambda");
            if uses_lambda {
                return Err(ApiError::invalid_argument(
                    "This endpoint has no Lambda service, so a Lambda processor's function \
                     cannot run here; Lambda transforms run in the playground (see the README).",
                ));
            }
            if let Some(arn) =
                request["KinesisStreamSourceConfiguration"]["KinesisStreamARN"].as_str()
            {
                let name = stream_name_of(arn).unwrap_or_default();
                if kinesis.shard_infos(name).is_none() {
                    return Err(ApiError::invalid_argument(format!(
                        "The source stream {arn} does not exist: create it with \
                         Kinesis CreateStream first."
                    )));
                }
            }
        }
        self.firehose.serve_bytes(operation, body, now_ms)
    }
}
