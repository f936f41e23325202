//! Read-only S3 for the buckets Firehose delivers to: ListBuckets,
//! ListObjectsV2, GetObject and HeadObject, path-style
//! (`http://127.0.0.1:4567/<bucket>/<key>`), so boto3 or the AWS CLI can
//! see what a delivery stream wrote. Anything that would change a bucket
//! is refused with S3's `NotImplemented`.

use percent_encoding::percent_decode_str;
use shardlab_firehose::{Bucket, Firehose};

/// An S3 answer: status, content type, body, extra headers.
pub struct S3Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

const XML: &str = "application/xml";

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn error(status: u16, code: &str, message: &str, resource: &str) -> S3Response {
    S3Response {
        status,
        content_type: XML,
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{}</Message><Resource>{}</Resource></Error>",
            xml_escape(message),
            xml_escape(resource)
        )
        .into_bytes(),
        headers: Vec::new(),
    }
}

pub fn internal_error(resource: &str) -> S3Response {
    error(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        resource,
    )
}

/// S3's timestamp format in listings: `2018-08-27T10:30:00.000Z`.
fn iso(ms: u64) -> String {
    shardlab_engine::time::iso8601(ms)
}

/// An HTTP date for Last-Modified: `Mon, 27 Aug 2018 10:30:00 GMT`.
fn http_date(ms: u64) -> String {
    shardlab_firehose::timestamp::TimestampPattern::parse("EEE, dd MMM yyyy HH:mm:ss 'GMT'")
        .map(|p| p.format(ms))
        .unwrap_or_default()
}

fn etag(body: &[u8]) -> String {
    format!("\"{:016x}\"", shardlab_engine::fnv::fnv1a64(body))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Answers a GET or HEAD on a path-style S3 URL.
pub fn answer(firehose: &Firehose, method: &str, url: &str) -> S3Response {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let path = path.trim_start_matches('/');
    let (bucket_name, key) = path.split_once('/').unwrap_or((path, ""));
    let key = percent_decode_str(key).decode_utf8_lossy().into_owned();
    if method != "GET" && method != "HEAD" {
        return error(
            501,
            "NotImplemented",
            "Shardlab's buckets are written by Firehose delivery streams only; this endpoint \
             serves ListBuckets, ListObjectsV2, GetObject and HeadObject.",
            url,
        );
    }
    if bucket_name.is_empty() {
        return list_buckets(firehose);
    }
    let Some(bucket) = firehose.bucket(bucket_name) else {
        return error(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist",
            bucket_name,
        );
    };
    if key.is_empty() {
        return list_objects(bucket_name, bucket, query);
    }
    match bucket.objects.get(&key) {
        Some(o) => S3Response {
            status: 200,
            content_type: "application/octet-stream",
            body: if method == "HEAD" {
                Vec::new()
            } else {
                o.body.clone()
            },
            headers: vec![
                ("ETag", etag(&o.body)),
                ("Last-Modified", http_date(o.last_modified_ms)),
            ],
        },
        None => error(404, "NoSuchKey", "The specified key does not exist.", &key),
    }
}

fn list_buckets(firehose: &Firehose) -> S3Response {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult>\
         <Owner><ID>shardlab</ID><DisplayName>shardlab</DisplayName></Owner><Buckets>",
    );
    for name in firehose.buckets().keys() {
        xml.push_str(&format!(
            "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
            xml_escape(name),
            iso(0)
        ));
    }
    xml.push_str("</Buckets></ListAllMyBucketsResult>");
    S3Response {
        status: 200,
        content_type: XML,
        body: xml.into_bytes(),
        headers: Vec::new(),
    }
}

fn list_objects(name: &str, bucket: &Bucket, query: &str) -> S3Response {
    let prefix = query_param(query, "prefix").unwrap_or_default();
    let delimiter = query_param(query, "delimiter").and_then(|d| d.chars().next());
    let max_keys = query_param(query, "max-keys")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000)
        .min(1000);
    let after = query_param(query, "continuation-token")
        .or_else(|| query_param(query, "start-after"))
        .unwrap_or_default();
    let listing = bucket.list(&prefix, delimiter);
    // Keys and folded prefixes interleave in key order, as S3 pages them.
    let mut entries: Vec<(String, bool)> = listing
        .keys
        .into_iter()
        .map(|k| (k, false))
        .chain(listing.common_prefixes.into_iter().map(|p| (p, true)))
        .filter(|(k, _)| k.as_str() > after.as_str())
        .collect();
    entries.sort();
    let truncated = entries.len() > max_keys;
    entries.truncate(max_keys);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>\
         <Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys>\
         <IsTruncated>{truncated}</IsTruncated>",
        xml_escape(name),
        xml_escape(&prefix),
        entries.len()
    );
    if let Some(d) = delimiter {
        xml.push_str(&format!(
            "<Delimiter>{}</Delimiter>",
            xml_escape(&d.to_string())
        ));
    }
    if truncated {
        if let Some((last, _)) = entries.last() {
            xml.push_str(&format!(
                "<NextContinuationToken>{}</NextContinuationToken>",
                xml_escape(last)
            ));
        }
    }
    for (key, folded) in &entries {
        if *folded {
            xml.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                xml_escape(key)
            ));
        } else if let Some(o) = bucket.objects.get(key) {
            xml.push_str(&format!(
                "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag>\
                 <Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(key),
                iso(o.last_modified_ms),
                xml_escape(&etag(&o.body)),
                o.body.len()
            ));
        }
    }
    xml.push_str("</ListBucketResult>");
    S3Response {
        status: 200,
        content_type: XML,
        body: xml.into_bytes(),
        headers: Vec::new(),
    }
}
