//! An OpenSearch-like destination: a domain of indices that a delivery
//! stream bulk-indexes its records into, with AWS's index rotation and
//! document ids, and a small search for the UI.
//!
//! Records must be single JSON objects (OpenSearch documents); anything
//! else fails and goes, with AWS's error envelope, to the backup bucket
//! under `AmazonOpenSearchService-failed/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timestamp::{days_from_civil, Civil};

/// `IndexRotationPeriod`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    NoRotation,
    OneHour,
    OneDay,
    OneWeek,
    OneMonth,
}

pub const ROTATIONS: &[&str] = &["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"];

impl Rotation {
    pub fn parse(s: &str) -> Option<Rotation> {
        Some(match s {
            "NoRotation" => Rotation::NoRotation,
            "OneHour" => Rotation::OneHour,
            "OneDay" => Rotation::OneDay,
            "OneWeek" => Rotation::OneWeek,
            "OneMonth" => Rotation::OneMonth,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        ROTATIONS[self as usize]
    }

    /// The index a record arriving at `arrival_ms` goes to (UTC):
    /// `myindex`, `myindex-2016-02-25-13`, `myindex-2016-02-25`,
    /// `myindex-2016-w08`, `myindex-2016-02`.
    pub fn index(self, name: &str, arrival_ms: u64) -> String {
        let t = Civil::at(arrival_ms);
        match self {
            Rotation::NoRotation => name.to_string(),
            Rotation::OneHour => format!(
                "{name}-{:04}-{:02}-{:02}-{:02}",
                t.year, t.month, t.day, t.hour
            ),
            Rotation::OneDay => format!("{name}-{:04}-{:02}-{:02}", t.year, t.month, t.day),
            Rotation::OneWeek => {
                let (year, week) = iso_week(t.year, t.month, t.day);
                format!("{name}-{year:04}-w{week:02}")
            }
            Rotation::OneMonth => format!("{name}-{:04}-{:02}", t.year, t.month),
        }
    }
}

/// The ISO 8601 week-numbering year and week of a date.
fn iso_week(year: i64, month: u32, day: u32) -> (i64, u32) {
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday; Monday = 0.
    let weekday = (days + 3).rem_euclid(7);
    let thursday = days - weekday + 3;
    let (y, _, _) = shardlab_engine::time::civil_from_days(thursday);
    let week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
    (y, week as u32)
}

/// Where a delivery stream's documents go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSearchTarget {
    pub domain_arn: String,
    pub domain: String,
    pub index_name: String,
    pub rotation: Rotation,
    /// DocumentIdOptions FIREHOSE_DEFAULT (a stable id per record, so a
    /// retry does not duplicate) or NO_DOCUMENT_ID (the domain makes one).
    pub firehose_ids: bool,
    /// S3BackupMode AllDocuments (else FailedDocumentsOnly).
    pub backup_all: bool,
    /// RetryOptions.DurationInSeconds: 0–7,200, default 300.
    pub retry_seconds: u32,
}

/// The domain name in `arn:aws:es:<region>:<account>:domain/<name>`.
pub fn domain_name(arn: &str) -> Option<&str> {
    let name = arn.strip_prefix("arn:")?.split_once(":domain/")?.1;
    (3..=28).contains(&name.len()).then_some(name).filter(|n| {
        n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// One indexed document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub source: Value,
    pub indexed_ms: u64,
}

/// A domain: its indices, and the outage switch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Domain {
    pub indices: BTreeMap<String, BTreeMap<String, Document>>,
    pub unavailable: bool,
    generated_ids: u64,
}

impl Domain {
    /// Indexes a document (replacing one with the same id, as `index`
    /// does); `id` None lets the domain make one.
    pub fn index(&mut self, index: &str, id: Option<String>, source: Value, now_ms: u64) -> String {
        let id = id.unwrap_or_else(|| {
            self.generated_ids += 1;
            format!("auto-{:012}", self.generated_ids)
        });
        self.indices.entry(index.to_string()).or_default().insert(
            id.clone(),
            Document {
                id: id.clone(),
                source,
                indexed_ms: now_ms,
            },
        );
        id
    }

    pub fn documents(&self) -> usize {
        self.indices.values().map(BTreeMap::len).sum()
    }

    /// Documents of `index` matching `query`, at most `limit`, and how many
    /// match in all. `field:value` matches a top-level field's value
    /// (text or number, exactly); other text matches anywhere in the
    /// document, ignoring case; an empty query matches everything.
    pub fn search(&self, index: &str, query: &str, limit: usize) -> (Vec<Document>, usize) {
        let Some(docs) = self.indices.get(index) else {
            return (Vec::new(), 0);
        };
        let query = query.trim();
        let matches = |d: &Document| -> bool {
            if query.is_empty() {
                return true;
            }
            if let Some((field, value)) = query.split_once(':') {
                let (field, value) = (field.trim(), value.trim().trim_matches('"'));
                if !field.is_empty() && !field.contains(' ') {
                    return match d.source.get(field) {
                        Some(Value::String(s)) => s == value,
                        // A number or true/false: compare as JSON.
                        Some(other) => {
                            serde_json::from_str::<Value>(value).ok().as_ref() == Some(other)
                        }
                        None => false,
                    };
                }
            }
            d.source
                .to_string()
                .to_lowercase()
                .contains(&query.to_lowercase())
        };
        let all: Vec<&Document> = docs.values().filter(|d| matches(d)).collect();
        let total = all.len();
        (all.into_iter().take(limit).cloned().collect(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_as_the_developer_guide_shows_it() {
        // 2016-02-25T13:00:00Z
        let t = days_from_civil(2016, 2, 25) as u64 * 86_400_000 + 13 * 3_600_000;
        let names: Vec<String> = ROTATIONS
            .iter()
            .map(|r| Rotation::parse(r).unwrap().index("myindex", t))
            .collect();
        assert_eq!(
            names,
            [
                "myindex",
                "myindex-2016-02-25-13",
                "myindex-2016-02-25",
                "myindex-2016-w08",
                "myindex-2016-02"
            ]
        );
        // ISO weeks cross years: 2021-01-03 is in 2020's week 53.
        assert_eq!(iso_week(2021, 1, 3), (2020, 53));
        assert_eq!(iso_week(2024, 12, 30), (2025, 1));
    }

    #[test]
    fn search_by_field_or_text() {
        let mut d = Domain::default();
        d.index(
            "logs",
            Some("1".into()),
            serde_json::json!({"level": "ERROR", "code": 500, "msg": "Disk full"}),
            0,
        );
        d.index(
            "logs",
            None,
            serde_json::json!({"level": "INFO", "code": 200, "msg": "ok"}),
            0,
        );
        assert_eq!(d.search("logs", "level:ERROR", 10).1, 1);
        assert_eq!(d.search("logs", "code:200", 10).1, 1);
        assert_eq!(d.search("logs", "disk", 10).1, 1);
        assert_eq!(
            d.search("logs", "", 1),
            (vec![d.indices["logs"]["1"].clone()], 2)
        );
        assert_eq!(d.search("nope", "", 10).1, 0);
        assert_eq!(
            domain_name("arn:aws:es:us-east-1:123456789012:domain/logs-domain"),
            Some("logs-domain")
        );
        assert_eq!(
            domain_name("arn:aws:es:us-east-1:123456789012:domain/Bad_Name"),
            None
        );
    }
}
