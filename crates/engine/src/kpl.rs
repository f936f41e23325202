//! The Kinesis Producer Library's aggregated record format, both ways.
//!
//! The KPL packs many small *user records* into one Kinesis record so that
//! a shard's 1,000 records/s stops being the limit: the 4 magic bytes
//! `F3 89 9A C2`, a protobuf (proto2) `AggregatedRecord`, and the MD5 of
//! the protobuf bytes. Partition keys (and explicit hash keys) sit once in
//! tables that records point into. The KCL (and Firehose reading a stream)
//! unpacks them again; a record without the magic, or whose MD5 does not
//! match, is an ordinary record, as the KCL treats it.
//!
//! The protobuf messages are `prost` structs; `required` fields are always
//! written, as proto2 readers (the KCL's) insist.

use prost::Message;

/// The 4 bytes an aggregated record starts with.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

#[derive(Clone, PartialEq, Message)]
struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    records: Vec<Record>,
}

#[derive(Clone, PartialEq, Message)]
struct Record {
    #[prost(uint64, required, tag = "1")]
    partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
struct Tag {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, optional, tag = "2")]
    value: Option<String>,
}

/// One user record inside an aggregated record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

/// Packs `records` (in order; their data moves in) into one aggregated
/// record's bytes, each partition key written once in the key table.
pub fn aggregate<K: AsRef<str>>(records: impl IntoIterator<Item = (K, Vec<u8>)>) -> Vec<u8> {
    let mut message = AggregatedRecord::default();
    let mut index: std::collections::BTreeMap<String, u64> = Default::default();
    for (key, data) in records {
        let key = key.as_ref();
        let i = match index.get(key) {
            Some(&i) => i,
            None => {
                let i = index.len() as u64;
                index.insert(key.to_string(), i);
                message.partition_key_table.push(key.to_string());
                i
            }
        };
        message.records.push(Record {
            partition_key_index: i,
            explicit_hash_key_index: None,
            data,
            tags: Vec::new(),
        });
    }
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(MAGIC.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&body);
    out.extend_from_slice(&md5_many::md5(&body));
    out
}

/// Bytes an aggregated record of user records with these (key, data)
/// lengths takes at most, each key counted once per record (an upper
/// bound: a repeated key costs nothing in the table): for filling one up
/// to the KPL's `AggregationMaxSize` without encoding it each time.
pub fn aggregated_len_bound(key_len: usize, data_len: usize) -> usize {
    // Table entry: tag + length + key. Record: tag + length + index
    // (tag + varint) + data (tag + length + bytes).
    let varint = |n: usize| (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize;
    let table = 1 + varint(key_len) + key_len;
    let record_body = 1 + 10 + 1 + varint(data_len) + data_len;
    table + 1 + varint(record_body) + record_body
}

/// The fixed part of every aggregated record: magic and checksum.
pub const AGGREGATION_OVERHEAD: usize = MAGIC.len() + DIGEST_LEN;

/// The user records inside `data`, or `None` when it is not an aggregated
/// record (no magic, or an MD5 that does not match: an ordinary record
/// that happens to start so). `Some(Err(..))` is a record whose checksum
/// matches but whose contents are not a valid `AggregatedRecord`.
pub fn deaggregate(data: &[u8]) -> Option<Result<Vec<UserRecord>, String>> {
    let body = aggregated_body(data)?;
    Some(decode(body))
}

/// How many user records `data` holds: 1 for an ordinary record.
pub fn user_record_count(data: &[u8]) -> u64 {
    match aggregated_body(data).map(AggregatedRecord::decode) {
        Some(Ok(m)) => m.records.len() as u64,
        _ => 1,
    }
}

fn aggregated_body(data: &[u8]) -> Option<&[u8]> {
    if data.len() < AGGREGATION_OVERHEAD || data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (body, digest) = data[MAGIC.len()..].split_at(data.len() - AGGREGATION_OVERHEAD);
    (md5_many::md5(body)[..] == *digest).then_some(body)
}

fn decode(body: &[u8]) -> Result<Vec<UserRecord>, String> {
    let message = AggregatedRecord::decode(body)
        .map_err(|e| format!("an aggregated record whose contents do not decode: {e}"))?;
    let lookup = |table: &[String], i: u64, what: &str| {
        table.get(i as usize).cloned().ok_or_else(|| {
            format!(
                "an aggregated record points at {what} {i} of a table of {}",
                table.len()
            )
        })
    };
    message
        .records
        .iter()
        .map(|r| {
            Ok(UserRecord {
                partition_key: lookup(
                    &message.partition_key_table,
                    r.partition_key_index,
                    "partition key",
                )?,
                explicit_hash_key: r
                    .explicit_hash_key_index
                    .map(|i| lookup(&message.explicit_hash_key_table, i, "explicit hash key"))
                    .transpose()?,
                data: r.data.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_a_shared_key_table() {
        let records: Vec<(&str, &[u8])> =
            vec![("user-1", b"first"), ("user-2", b""), ("user-1", b"third")];
        let bytes = aggregate(records.iter().map(|(k, d)| (*k, d.to_vec())));
        assert_eq!(bytes[..4], MAGIC);
        let back = deaggregate(&bytes).unwrap().unwrap();
        let pairs: Vec<(&str, &[u8])> = back
            .iter()
            .map(|r| (r.partition_key.as_str(), r.data.as_slice()))
            .collect();
        assert_eq!(pairs, records);
        assert_eq!(user_record_count(&bytes), 3);
        // The key table holds each key once.
        let body = aggregated_body(&bytes).unwrap();
        let message = AggregatedRecord::decode(body).unwrap();
        assert_eq!(message.partition_key_table, ["user-1", "user-2"]);
    }

    #[test]
    fn the_bytes_are_the_kpl_format() {
        // One record, key "a", data "b": field 1 (key table) "a", field 3
        // (a Record: index 0 always written, data "b").
        let bytes = aggregate([("a", b"b".to_vec())]);
        let body = [0x0a, 0x01, b'a', 0x1a, 0x05, 0x08, 0x00, 0x1a, 0x01, b'b'];
        assert_eq!(&bytes[4..bytes.len() - 16], &body);
        assert_eq!(bytes[bytes.len() - 16..], md5_many::md5(&body));
    }

    #[test]
    fn ordinary_and_damaged_records() {
        assert!(deaggregate(b"{\"json\": true}").is_none());
        assert_eq!(user_record_count(b"plain"), 1);
        let mut bytes = aggregate([("k", b"v".to_vec())]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1; // the checksum no longer matches: an ordinary record
        assert!(deaggregate(&bytes).is_none());
        // A matching checksum over bytes that are not an AggregatedRecord.
        let junk = [0xffu8, 0xff, 0xff];
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&junk);
        bad.extend_from_slice(&md5_many::md5(&junk));
        assert!(deaggregate(&bad).unwrap().is_err());
    }

    #[test]
    fn the_length_bound_holds() {
        for (key, data) in [(1, 0), (36, 100), (256, 1_000_000), (10, 127), (10, 128)] {
            let k = "k".repeat(key);
            let d = vec![7u8; data];
            let real = aggregate([(k.as_str(), d)]).len();
            assert!(
                real <= AGGREGATION_OVERHEAD + aggregated_len_bound(key, data),
                "{key}/{data}: {real}"
            );
        }
    }
}
