//! An in-memory S3-like bucket: what a delivery stream writes to, what the
//! bucket browser lists. Keys sort as S3 lists them (UTF-8 byte order).

use std::collections::BTreeMap;

use crate::compression::Compression;

/// One object, as delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Object {
    pub body: Vec<u8>,
    /// Virtual time of the PUT.
    pub last_modified_ms: u64,
    /// How the body is compressed, so a preview can undo it.
    pub compression: Compression,
    /// User records inside (for the browser; S3 itself does not know).
    pub records: u64,
    /// Which delivery stream wrote it.
    pub writer: String,
    /// Order of the PUTs into this bucket (1, 2, ...), for "newest first"
    /// and for checking delivery order.
    pub sequence: u64,
    /// A Parquet object's first rows, rendered when it was written, for
    /// the bucket browser (the workers need not carry a Parquet reader).
    pub rows: Option<RowsShown>,
}

impl S3Object {
    /// A small text object Firehose writes itself (a manifest).
    pub fn text(body: String, writer: &str, now_ms: u64) -> S3Object {
        S3Object {
            body: body.into_bytes(),
            last_modified_ms: now_ms,
            compression: Compression::Uncompressed,
            records: 0,
            writer: writer.to_string(),
            sequence: 0,
            rows: None,
        }
    }
}

/// The first rows of a Parquet object as JSON lines, and how many rows it
/// holds (a record of several JSON objects makes several rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowsShown {
    pub text: String,
    pub total: u64,
}

/// A bucket, addressed by name (`arn:aws:s3:::name`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub objects: BTreeMap<String, S3Object>,
    /// The destination-outage switch: PUTs fail while it is set.
    pub unavailable: bool,
    /// The keys PUT, in order (the n-th PUT is at n - 1), so that "newest"
    /// and "since" cost what they return, not the bucket's size.
    journal: Vec<String>,
    /// Bytes stored, kept as objects come and are replaced.
    bytes: u64,
}

/// A listing under a prefix, folded at a delimiter, as ListObjectsV2 does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub common_prefixes: Vec<String>,
    pub keys: Vec<String>,
}

impl Bucket {
    /// Stores an object (replacing one under the same key, as S3 does).
    pub fn put(&mut self, key: String, mut object: S3Object) {
        self.journal.push(key.clone());
        object.sequence = self.journal.len() as u64;
        self.bytes += object.body.len() as u64;
        if let Some(old) = self.objects.insert(key, object) {
            self.bytes -= old.body.len() as u64;
        }
    }

    /// The objects PUT after the first `puts`, in PUT order (an object
    /// replaced since is given once, where its last PUT was).
    pub fn puts_since(&self, puts: u64) -> impl Iterator<Item = (&String, &S3Object)> {
        let from = (puts as usize).min(self.journal.len());
        self.journal[from..]
            .iter()
            .enumerate()
            .filter_map(move |(i, key)| {
                let o = self.objects.get(key)?;
                (o.sequence == (from + i + 1) as u64).then_some((key, o))
            })
    }

    /// The `n` newest objects, newest first.
    pub fn newest(&self, n: usize) -> Vec<(&String, &S3Object)> {
        let mut out = Vec::with_capacity(n);
        for (i, key) in self.journal.iter().enumerate().rev() {
            if out.len() == n {
                break;
            }
            if let Some(o) = self.objects.get(key).filter(|o| o.sequence == i as u64 + 1) {
                out.push((key, o));
            }
        }
        out
    }

    pub fn list(&self, prefix: &str, delimiter: Option<char>) -> Listing {
        let mut listing = Listing::default();
        for key in self
            .objects
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
        {
            let rest = &key[prefix.len()..];
            match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len_utf8())) {
                Some(end) => {
                    let folded = format!("{prefix}{}", &rest[..end]);
                    if listing.common_prefixes.last() != Some(&folded) {
                        listing.common_prefixes.push(folded);
                    }
                }
                None => listing.keys.push(key.clone()),
            }
        }
        listing
    }

    /// PUTs so far (each gave an object its `sequence`).
    pub fn puts(&self) -> u64 {
        self.journal.len() as u64
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The bucket name in an S3 bucket ARN.
pub fn bucket_name(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:aws:s3:::")
        .filter(|n| (3..=63).contains(&n.len()) && !n.contains('/'))
        .filter(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_folds_at_the_delimiter() {
        let mut b = Bucket::default();
        for k in [
            "2018/08/27/10/a",
            "2018/08/27/11/b",
            "2018/09/01/00/c",
            "errors/x",
            "top",
        ] {
            b.objects.insert(
                k.into(),
                S3Object {
                    body: vec![],
                    last_modified_ms: 0,
                    compression: Compression::Uncompressed,
                    records: 0,
                    writer: "s".into(),
                    sequence: 0,
                    rows: None,
                },
            );
        }
        let root = b.list("", Some('/'));
        assert_eq!(root.common_prefixes, ["2018/", "errors/"]);
        assert_eq!(root.keys, ["top"]);
        let aug = b.list("2018/08/", Some('/'));
        assert_eq!(aug.common_prefixes, ["2018/08/27/"]);
        assert_eq!(b.list("2018/", None).keys.len(), 3);
    }

    #[test]
    fn newest_and_since_follow_put_order() {
        let mut b = Bucket::default();
        let object = |n: usize| S3Object {
            body: vec![0; n],
            last_modified_ms: 0,
            compression: Compression::Uncompressed,
            records: 1,
            writer: "s".into(),
            sequence: 0,
            rows: None,
        };
        b.put("b".into(), object(1));
        b.put("a".into(), object(2));
        b.put("b".into(), object(4));
        let keys = |v: Vec<(&String, &S3Object)>| {
            v.into_iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
        };
        assert_eq!(keys(b.newest(5)), ["b", "a"]);
        assert_eq!(keys(b.puts_since(0).collect()), ["a", "b"]);
        assert_eq!(keys(b.puts_since(2).collect()), ["b"]);
        assert_eq!(b.puts_since(3).count(), 0);
        assert_eq!((b.puts(), b.bytes()), (3, 6));
    }

    #[test]
    fn bucket_arns() {
        assert_eq!(bucket_name("arn:aws:s3:::my-bucket"), Some("my-bucket"));
        assert_eq!(bucket_name("arn:aws:s3:::My_Bucket"), None);
        assert_eq!(bucket_name("my-bucket"), None);
    }
}
