//! Sequence numbers in the 56-digit layout AWS uses today.
//!
//! A Kinesis sequence number is a decimal string, but inside it is a packed
//! 188-bit value (47 hex digits, "version 2"), from the most significant end:
//!
//! | hex digits | field                                          |
//! |------------|------------------------------------------------|
//! | 1          | always `2`                                     |
//! | 9          | shard creation time, epoch seconds             |
//! | 1          | low nibble of the shard index                  |
//! | 16         | sequence index within the shard (top bit 0)    |
//! | 2          | unknown byte, `00`                             |
//! | 9          | record arrival time, epoch seconds             |
//! | 8          | shard index, 32 bits                           |
//! | 1          | version nibble `2`                             |
//!
//! Encoding the same fields makes our numbers look and sort like AWS's, lets
//! GetShardIterator check that a number belongs to the shard it is used on,
//! and makes numbers unique per stream (the shard index is inside) and
//! increasing per shard (the sequence index is).

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// Index of the sequence number that closes a shard (`EndingSequenceNumber`).
pub const CLOSING_SEQUENCE_INDEX: u64 = 0x7fff_ffff_ffff_ffff;

/// The fields of a sequence number; formats as AWS's decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SequenceNumber {
    pub shard_created_secs: u64,
    pub shard_index: u32,
    pub sequence_index: u64,
    pub arrival_secs: u64,
}

/// 192 bits as three big-endian 64-bit limbs; enough for 47 hex digits.
type U192 = [u64; 3];

impl SequenceNumber {
    fn to_bits(self) -> U192 {
        // The hex digits of the layout table above, most significant
        // first, shifted into a 192-bit value (47 nibbles, right-aligned).
        let fields: [(u64, u32); 8] = [
            (2, 1),
            (self.shard_created_secs & 0xf_ffff_ffff, 9),
            (u64::from(self.shard_index) & 0xf, 1),
            (self.sequence_index & CLOSING_SEQUENCE_INDEX, 16),
            (0, 2),
            (self.arrival_secs & 0xf_ffff_ffff, 9),
            (u64::from(self.shard_index), 8),
            (2, 1),
        ];
        let mut bits = [0u64; 3];
        for (value, digits) in fields {
            let shift = 4 * digits;
            let value = if shift == 64 {
                value
            } else {
                value & ((1u64 << shift) - 1)
            };
            // bits = bits << shift | value, with 0 < shift <= 64.
            let carry = |hi: u64, lo: u64| {
                if shift == 64 {
                    lo
                } else {
                    (hi << shift) | (lo >> (64 - shift))
                }
            };
            bits = [
                carry(bits[0], bits[1]),
                carry(bits[1], bits[2]),
                carry(bits[2], 0) | value,
            ];
        }
        bits
    }

    fn from_bits(bits: U192) -> Option<SequenceNumber> {
        let nibble = |i: usize| (bits[(i + 1) / 16] >> (4 * (15 - (i + 1) % 16))) & 0xf;
        let field = |start: usize, len: usize| {
            (start..start + len).fold(0u64, |acc, i| (acc << 4) | nibble(i))
        };
        if bits[0] >> 60 != 0 || field(0, 1) != 2 || field(46, 1) != 2 {
            return None;
        }
        let sequence_index = field(11, 16);
        if sequence_index > CLOSING_SEQUENCE_INDEX {
            return None;
        }
        let shard_index = u32::try_from(field(38, 8)).ok()?;
        if u64::from(shard_index) & 0xf != field(10, 1) {
            return None;
        }
        Some(SequenceNumber {
            shard_created_secs: field(1, 9),
            shard_index,
            sequence_index,
            arrival_secs: field(29, 9),
        })
    }

    /// Parses a 56-digit (version 2) sequence number. Older, shorter formats
    /// and malformed strings give `None`.
    pub fn parse(text: &str) -> Option<SequenceNumber> {
        if text.is_empty() || text.len() > 58 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut bits: U192 = [0; 3];
        for digit in text.bytes() {
            // bits = bits * 10 + digit, failing on overflow past 192 bits.
            let mut carry = u128::from(digit - b'0');
            for limb in bits.iter_mut().rev() {
                let v = u128::from(*limb) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return None;
            }
        }
        SequenceNumber::from_bits(bits)
    }
}

impl fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Decimal by repeated division of six 32-bit limbs by 10^9: u64
        // arithmetic by a constant, which compilers turn into multiplies.
        const BILLION: u64 = 1_000_000_000;
        let bits = self.to_bits();
        let mut limbs = [0u32; 6];
        for (i, limb) in bits.iter().enumerate() {
            limbs[2 * i] = (limb >> 32) as u32;
            limbs[2 * i + 1] = *limb as u32;
        }
        // 192 bits are at most 58 decimal digits: 7 groups of 9.
        let mut groups = [0u32; 7];
        let mut n = 0;
        let mut start = 0;
        while n < groups.len() {
            // Leading limbs that reached zero stay zero.
            while start < limbs.len() && limbs[start] == 0 {
                start += 1;
            }
            if start == limbs.len() {
                break;
            }
            let mut rem = 0u64;
            for limb in limbs[start..].iter_mut() {
                let v = (rem << 32) | u64::from(*limb);
                *limb = (v / BILLION) as u32;
                rem = v % BILLION;
            }
            groups[n] = rem as u32;
            n += 1;
        }
        let mut out = [b'0'; 63];
        let mut len = 0;
        for (i, &group) in groups[..n.max(1)].iter().rev().enumerate() {
            let mut digits = [b'0'; 9];
            let mut g = group;
            for d in digits.iter_mut().rev() {
                *d = b'0' + (g % 10) as u8;
                g /= 10;
            }
            // The leading group without its leading zeros.
            let skip = if i == 0 {
                digits.iter().take(8).take_while(|&&d| d == b'0').count()
            } else {
                0
            };
            let part = &digits[skip..];
            out[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        // Only ASCII digits were written.
        f.write_str(std::str::from_utf8(&out[..len]).unwrap_or_default())
    }
}

impl PartialOrd for SequenceNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SequenceNumber {
    /// Numeric order of the decimal strings, which is the order of the packed
    /// bits.
    fn cmp(&self, other: &Self) -> Ordering {
        self.to_bits().cmp(&other.to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_aws_lambda_example() {
        // A real sequence number from AWS's Lambda documentation: shard 6,
        // arrival 1545084650 (2018-12-17T22:10:50Z).
        let text = "49590338271490256608559692538361571095921575989136588898";
        let seq = SequenceNumber::parse(text).unwrap();
        assert_eq!(seq.shard_index, 6);
        assert_eq!(seq.arrival_secs, 1_545_084_650);
        assert_eq!(seq.shard_created_secs, 0x05bf4e5c2);
        assert_eq!(seq.sequence_index, 0x67648a17);
        assert_eq!(seq.to_string(), text);
    }

    #[test]
    fn fifty_six_digits_and_round_trip() {
        let seq = SequenceNumber {
            shard_created_secs: 1_767_225_600,
            shard_index: 3,
            sequence_index: 0,
            arrival_secs: 1_767_225_600,
        };
        let text = seq.to_string();
        assert_eq!(text.len(), 56, "{text}");
        assert_eq!(SequenceNumber::parse(&text), Some(seq));
    }

    /// The decimal digits, computed the slow way: 192-bit value by value.
    fn reference_decimal(seq: SequenceNumber) -> String {
        let bits = seq.to_bits();
        let mut digits = Vec::new();
        let mut n = bits;
        while n != [0; 3] {
            let mut rem: u128 = 0;
            for limb in n.iter_mut() {
                let v = (rem << 64) | u128::from(*limb);
                *limb = (v / 10) as u64;
                rem = v % 10;
            }
            digits.push(b'0' + rem as u8);
        }
        digits.reverse();
        String::from_utf8(digits).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn display_is_the_decimal_value_and_parses_back(
            created in 0u64..0xf_ffff_ffff,
            shard in 0u32..u32::MAX,
            index in 0u64..=CLOSING_SEQUENCE_INDEX,
            arrival in 0u64..0xf_ffff_ffff,
        ) {
            let seq = SequenceNumber {
                shard_created_secs: created,
                shard_index: shard,
                sequence_index: index,
                arrival_secs: arrival,
            };
            let text = seq.to_string();
            proptest::prop_assert_eq!(&text, &reference_decimal(seq));
            proptest::prop_assert_eq!(SequenceNumber::parse(&text), Some(seq));
        }
    }

    #[test]
    fn consecutive_shards_differ_by_the_aws_constant() {
        // In a new stream, shard i+1's starting number exceeds shard i's by
        // 0x1 * 16^36 + 0x1 * 16^1 (kinesalite's AWS-checked test).
        let start = |i| SequenceNumber {
            shard_created_secs: 1_767_225_600,
            shard_index: i,
            sequence_index: 0,
            arrival_secs: 1_767_225_600,
        };
        let diff = decimal_sub(&start(1).to_string(), &start(0).to_string());
        assert_eq!(diff, "22300745198530623141535718272648361505980432");
    }

    #[test]
    fn orders_within_a_shard_by_index() {
        let mk = |sequence_index, arrival_secs| SequenceNumber {
            shard_created_secs: 100,
            shard_index: 1,
            sequence_index,
            arrival_secs,
        };
        assert!(mk(1, 500) < mk(2, 400));
        assert!(mk(7, 0) < mk(CLOSING_SEQUENCE_INDEX, 0));
        let (a, b) = (mk(9, 10).to_string(), mk(10, 10).to_string());
        assert!(a.len() == b.len() && a < b);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "abc",
            "21269319989900637946712965403778482371",
            "0",
            &"9".repeat(60),
        ] {
            assert_eq!(SequenceNumber::parse(bad), None, "{bad}");
        }
    }

    /// Subtraction of non-negative decimal strings, a >= b, for checking
    /// differences larger than u128.
    fn decimal_sub(a: &str, b: &str) -> String {
        let a: Vec<u8> = a.bytes().rev().map(|d| d - b'0').collect();
        let b: Vec<u8> = b.bytes().rev().map(|d| d - b'0').collect();
        let mut out = Vec::new();
        let mut borrow = 0i8;
        for (i, &digit) in a.iter().enumerate() {
            let mut d = digit as i8 - borrow - *b.get(i).unwrap_or(&0) as i8;
            borrow = i8::from(d < 0);
            if d < 0 {
                d += 10;
            }
            out.push(b'0' + d as u8);
        }
        while out.len() > 1 && out.last() == Some(&b'0') {
            out.pop();
        }
        out.reverse();
        String::from_utf8(out).unwrap()
    }
}
