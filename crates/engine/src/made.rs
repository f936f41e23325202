//! Records a shard host makes itself, from a recipe.
//!
//! The simulation's built-in producer writes small clickstream events,
//! keyed by random UUIDs by default. Its coordinator draws everything
//! random about a record (the user, the page, the action; the key's 16
//! bytes) and sends the shard host those few numbers, a [`Made`], in place
//! of the record's key and bytes; the shard host writes them, with the same
//! functions the coordinator would have used, before it stores the record.
//! A record is a pure function of its recipe, so a host that replays its
//! log makes the same records again, and the coordinator knows a record's
//! size without writing it (limits, metrics and PutRecords' 5 MiB are
//! checked on the coordinator, as before). The coordinator still writes a
//! made key's text, on the stack, to hash it: routing needs its MD5.
//!
//! Made on the shard hosts, the records no longer cross to them as bytes,
//! nor sit in the journal as bytes, and the shard hosts (Web Workers, in
//! parallel) write them rather than the one coordinator.

use serde::{Deserialize, Serialize};

use crate::fnv::fold_bytes;
use crate::time::write_iso8601;

/// The pages a clickstream event visits.
pub const PAGES: [&str; 6] = [
    "/",
    "/products",
    "/products/42",
    "/cart",
    "/checkout",
    "/search",
];

/// What a clickstream event does on its page.
pub const ACTIONS: [&str; 4] = ["view", "click", "add_to_cart", "purchase"];

/// The first epoch millisecond of the year 10000, from which a timestamp
/// has more than four digits of year.
const YEAR_10000_MS: u64 = 253_402_300_800_000;

/// A record a shard host makes: its event, and its partition key when the
/// key is a random UUID (sent as its 16 bytes; the entry's partition key
/// is then empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Made {
    pub key: Option<UuidKey>,
    pub event: Clickstream,
}

impl Made {
    /// Bytes the recipe takes in a batch (postcard's varints, and the tag
    /// of the `Option` it travels in).
    pub fn encoded_len(&self) -> usize {
        1 + self.key.map_or(1, |_| 17) + self.event.encoded_len()
    }
}

/// Bytes a record counts against limits: its partition key's and its
/// data's, or what its recipe makes.
pub fn record_size(partition_key: &str, data: &[u8], made: Option<&Made>) -> usize {
    match made {
        None => partition_key.len() + data.len(),
        Some(m) => m.key.map_or(partition_key.len(), |_| UuidKey::LEN) + m.event.len(),
    }
}

/// A random (version 4) UUID, as partition keys are by default: the AWS
/// SDK examples' and the Kinesis Data Generator's way to spread records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UuidKey(pub [u8; 16]);

impl UuidKey {
    /// The length of its text.
    pub const LEN: usize = 36;

    /// The UUID these random bytes make: version 4, RFC 4122 variant.
    pub fn from_random(mut b: [u8; 16]) -> UuidKey {
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        UuidKey(b)
    }

    /// Its usual text form: 8-4-4-4-12 lowercase hex digits.
    pub fn text(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Written into a buffer of the text's shape (a character pushed at
        // a time cost a twentieth of a fast-forward in Chromium).
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (i, x) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            text[at] = HEX[usize::from(x >> 4)];
            text[at + 1] = HEX[usize::from(x & 0x0f)];
            at += 2;
        }
        text
    }

    /// Its text as a `&str`, in `buffer`.
    pub fn as_str<'a>(&self, buffer: &'a mut [u8; 36]) -> &'a str {
        *buffer = self.text();
        // Hex digits and dashes: always UTF-8.
        std::str::from_utf8(buffer).unwrap_or_default()
    }
}

/// A clickstream event as its producer drew it:
/// `{"event_id":N,"user_id":"user-N","page":"...","action":"...","event_time":"..."}`,
/// padded with a `pad` field of x's to `pad_to` bytes when that is given
/// and leaves room for the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Clickstream {
    pub event_id: u64,
    pub user: u32,
    /// An index into [`PAGES`].
    pub page: u8,
    /// An index into [`ACTIONS`].
    pub action: u8,
    /// Virtual time the producer made the event (its `event_time`).
    pub event_ms: u64,
    /// 0: no padding.
    pub pad_to: u32,
}

const EVENT_ID: &[u8] = br#"{"event_id":"#;
const USER_ID: &[u8] = br#","user_id":"user-"#;
const PAGE: &[u8] = br#"","page":""#;
const ACTION: &[u8] = br#"","action":""#;
const EVENT_TIME: &[u8] = br#"","event_time":""#;
const PAD: &[u8] = br#"","pad":""#;
const END: &[u8] = br#""}"#;

impl Clickstream {
    fn page(&self) -> &'static str {
        PAGES[usize::from(self.page) % PAGES.len()]
    }

    fn action(&self) -> &'static str {
        ACTIONS[usize::from(self.action) % ACTIONS.len()]
    }

    /// The event's length without padding.
    fn bare_len(&self) -> usize {
        let time = if self.event_ms < YEAR_10000_MS {
            24
        } else {
            let mut out = Vec::new();
            write_iso8601(&mut out, self.event_ms);
            out.len()
        };
        // Decimal digits counted, not written (writing them to count them
        // cost the coordinator a twentieth of a fast-forward, profiled in
        // Chromium).
        let digits = |v: u64| v.checked_ilog10().map_or(1, |d| d as usize + 1);
        EVENT_ID.len()
            + digits(self.event_id)
            + USER_ID.len()
            + digits(self.user.into())
            + PAGE.len()
            + self.page().len()
            + ACTION.len()
            + self.action().len()
            + EVENT_TIME.len()
            + time
            + END.len()
    }

    /// How many bytes [`Clickstream::write`] writes.
    pub fn len(&self) -> usize {
        let bare = self.bare_len();
        if self.padded(bare - END.len()) {
            self.pad_to as usize
        } else {
            bare
        }
    }

    /// Whether an event of `written` bytes before its closing `"}` is
    /// padded: `","pad":"`, at least one x and `"}` must fit in `pad_to`.
    fn padded(&self, written: usize) -> bool {
        self.pad_to as usize > written + PAD.len() + END.len()
    }

    /// Never: an event has at least its field names.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the event's bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let mut digits = itoa::Buffer::new();
        out.extend_from_slice(EVENT_ID);
        out.extend_from_slice(digits.format(self.event_id).as_bytes());
        out.extend_from_slice(USER_ID);
        out.extend_from_slice(digits.format(self.user).as_bytes());
        out.extend_from_slice(PAGE);
        out.extend_from_slice(self.page().as_bytes());
        out.extend_from_slice(ACTION);
        out.extend_from_slice(self.action().as_bytes());
        out.extend_from_slice(EVENT_TIME);
        write_iso8601(out, self.event_ms);
        let size = self.pad_to as usize;
        let written = out.len() - start;
        if self.padded(written) {
            out.reserve_exact(size - written);
            out.extend_from_slice(PAD);
            let xs = size - (out.len() - start) - END.len();
            out.resize(out.len() + xs, b'x');
        }
        out.extend_from_slice(END);
    }

    /// Bytes the event takes in a batch (postcard's varints).
    pub fn encoded_len(&self) -> usize {
        fn varint(v: u64) -> usize {
            (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
        }
        varint(self.event_id)
            + varint(self.user.into())
            + 2
            + varint(self.event_ms)
            + varint(self.pad_to.into())
    }

    /// The event's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.write(&mut out);
        out
    }
}

/// A record's part of a run digest: its producer's arrival time, partition
/// key and data (then its explicit hash key, if any), folded in that order.
/// The coordinator folds the records it sends as bytes, a shard host those
/// it makes, with this one function.
pub fn fingerprint(arrival_ms: u64, partition_key: &str, data: &[u8]) -> u64 {
    fold_bytes(fold_bytes(arrival_ms, partition_key.as_bytes()), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_id: u64, user: u32, pad_to: u32) -> Clickstream {
        Clickstream {
            event_id,
            user,
            page: 2,
            action: 3,
            event_ms: 1_767_225_601_250,
            pad_to,
        }
    }

    #[test]
    fn uuid_keys_are_version_4_in_the_usual_text_form() {
        let key = UuidKey::from_random([0xab; 16]);
        let mut buffer = [0; 36];
        assert_eq!(
            key.as_str(&mut buffer),
            "abababab-abab-4bab-abab-abababababab"
        );
        let made = Made {
            key: Some(key),
            event: event(1, 2, 0),
        };
        assert_eq!(
            postcard::to_allocvec(&Some(made)).unwrap().len(),
            made.encoded_len()
        );
        assert_eq!(record_size("", &[], Some(&made)), 36 + made.event.len());
        let keyless = Made { key: None, ..made };
        assert_eq!(
            postcard::to_allocvec(&Some(keyless)).unwrap().len(),
            keyless.encoded_len()
        );
        assert_eq!(
            record_size("abc", &[], Some(&keyless)),
            3 + made.event.len()
        );
    }

    #[test]
    fn events_are_json_with_their_fields_in_order() {
        let text = String::from_utf8(event(7, 4321, 0).to_vec()).unwrap();
        assert_eq!(
            text,
            r#"{"event_id":7,"user_id":"user-4321","page":"/products/42","action":"purchase","event_time":"2026-01-01T00:00:01.250Z"}"#
        );
    }

    #[test]
    fn the_length_is_known_before_the_bytes_are_written() {
        for (id, user) in [
            (0, 0),
            (9, 9),
            (10, 4999),
            (123_456_789_012, 1),
            (u64::MAX, 42),
        ] {
            for pad in [0, 1, 100, 120, 121, 122, 130, 200, 2048, 1_048_320] {
                let e = event(id, user, pad);
                let bytes = e.to_vec();
                assert_eq!(bytes.len(), e.len(), "{e:?}");
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(v["user_id"], format!("user-{user}"));
                if pad as usize > e.bare_len() + 10 {
                    assert_eq!(bytes.len(), pad as usize, "{e:?}");
                    assert!(bytes.ends_with(br#"xx"}"#));
                }
            }
        }
        // What a recipe takes encoded is known too.
        for id in [0, 127, 128, 1 << 40, u64::MAX] {
            let e = event(id, id as u32, id as u32);
            assert_eq!(postcard::to_allocvec(&e).unwrap().len(), e.encoded_len());
        }
        // Past the year 9999 the time has more digits, and still fits.
        let far = Clickstream {
            event_ms: YEAR_10000_MS + 5,
            ..event(1, 1, 0)
        };
        assert_eq!(far.to_vec().len(), far.len());
    }
}
