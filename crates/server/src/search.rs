//! A search API for the OpenSearch domains Firehose delivers to, on the
//! endpoint under `/opensearch/<domain>/`, in OpenSearch's REST shapes:
//!
//! - `GET|POST /opensearch/<domain>/<index>/_search` with `?q=` (query
//!   string) and `?size=`, or a JSON body with `query` (`query_string`,
//!   `match_all`, `match` or `term`) and `size`. `<index>` may be a name, a
//!   pattern with `*` (`clicks-*`), a comma list, or `_all`.
//! - `GET /opensearch/<domain>/<index>/_count` (same queries).
//! - `GET /opensearch/<domain>/_cat/indices?format=json`.
//! - `GET /opensearch/<domain>/`: the domain's cluster information.
//!
//! Queries are the playground's search: `field:value` matches a top-level
//! field exactly; other text matches anywhere in the document, ignoring
//! case. An OpenSearch client reaches a domain with the endpoint as its
//! host and `opensearch/<domain>` as its URL prefix.

use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use shardlab_firehose::opensearch::Domain;
use shardlab_firehose::Firehose;

/// Where the API lives on the endpoint.
pub const PREFIX: &str = "/opensearch/";

/// Default and largest page of hits, as OpenSearch's `size` and
/// `index.max_result_window`.
const DEFAULT_SIZE: usize = 10;
const MAX_SIZE: usize = 10_000;

/// (status, JSON body).
pub fn answer(firehose: &Firehose, method: &str, target: &str, body: &[u8]) -> (u16, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let rest = path.strip_prefix(PREFIX).unwrap_or("");
    let mut parts = rest.splitn(2, '/');
    let domain_name = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default().trim_end_matches('/');
    let Some(domain) = firehose.domain(domain_name) else {
        return error(
            404,
            "resource_not_found_exception",
            &format!(
                "There is no OpenSearch domain {domain_name}: a delivery stream makes one when \
                 its AmazonopensearchserviceDestinationConfiguration names it."
            ),
        );
    };
    if !matches!(method, "GET" | "POST" | "HEAD") {
        return error(
            405,
            "method_not_allowed_exception",
            "Shardlab's domains are written by Firehose; this API only searches them.",
        );
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if rest.is_empty() {
        return (
            200,
            json!({
                "name": domain_name,
                "cluster_name": format!("123456789012:{domain_name}"),
                "version": {"distribution": "opensearch", "number": "2.11.0"},
                "tagline": "The OpenSearch Project: https://opensearch.org/",
            }),
        );
    }
    if rest == "_cat/indices" {
        let rows: Vec<Value> = domain
            .indices
            .iter()
            .map(|(name, docs)| {
                json!({"health": "green", "status": "open", "index": name,
                       "docs.count": docs.len().to_string()})
            })
            .collect();
        return (200, Value::Array(rows));
    }
    let (index, action) = rest.rsplit_once('/').unwrap_or((rest, ""));
    if !matches!(action, "_search" | "_count") {
        return error(
            400,
            "illegal_argument_exception",
            &format!(
                "Shardlab's OpenSearch API has _search, _count and _cat/indices; not /{rest}."
            ),
        );
    }
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    "parsing_exception",
                    &format!("The request body is not JSON: {e}"),
                )
            }
        }
    };
    let text = match param("q") {
        Some(q) => q.to_string(),
        None => match query_text(&request["query"]) {
            Ok(t) => t,
            Err(e) => return error(400, "parsing_exception", &e),
        },
    };
    let size = match param("size").map(str::parse::<usize>) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return error(400, "illegal_argument_exception", "size must be a number"),
        None => request["size"]
            .as_u64()
            .map_or(DEFAULT_SIZE, |n| n as usize),
    }
    .min(MAX_SIZE);
    let names = match indices(domain, index) {
        Ok(names) => names,
        Err(missing) => {
            return error(
                404,
                "index_not_found_exception",
                &format!("no such index [{missing}]"),
            )
        }
    };
    let mut total = 0;
    let mut hits = Vec::new();
    for name in &names {
        let (docs, n) = domain.search(name, &text, size.saturating_sub(hits.len()));
        total += n;
        hits.extend(
            docs.into_iter()
                .map(|d| json!({"_index": name, "_id": d.id, "_score": 1.0, "_source": d.source})),
        );
    }
    if action == "_count" {
        return (
            200,
            json!({"count": total, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
        );
    }
    (
        200,
        json!({
            "took": 0,
            "timed_out": false,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": if hits.is_empty() { Value::Null } else { json!(1.0) },
                "hits": hits,
            }
        }),
    )
}

/// The indices an index expression names; a plain name that is not
/// there is an error (a pattern that matches none is not).
fn indices(domain: &Domain, expression: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in expression.split(',').map(str::trim) {
        if part == "_all" || part == "*" {
            out.extend(domain.indices.keys().cloned());
        } else if part.contains('*') {
            out.extend(domain.indices.keys().filter(|n| wildcard(part, n)).cloned());
        } else if domain.indices.contains_key(part) {
            out.push(part.to_string());
        } else {
            return Err(part.to_string());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The playground's query text for an OpenSearch query object.
fn query_text(query: &Value) -> Result<String, String> {
    let unsupported = || {
        "Shardlab's search understands the query_string, match_all, match and term queries \
         (one field each), or ?q=."
            .to_string()
    };
    let Some(obj) = query.as_object() else {
        return if query.is_null() {
            Ok(String::new())
        } else {
            Err(unsupported())
        };
    };
    let Some((kind, spec)) = obj.iter().next().filter(|_| obj.len() == 1) else {
        return Err(unsupported());
    };
    match kind.as_str() {
        "match_all" => Ok(String::new()),
        "query_string" => spec["query"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(unsupported),
        "match" | "term" => {
            let Some((field, value)) = spec.as_object().and_then(|m| m.iter().next()) else {
                return Err(unsupported());
            };
            // {"match": {"f": {"query": v}}} and {"term": {"f": {"value": v}}}.
            let value = match value {
                Value::Object(m) => m
                    .get("query")
                    .or(m.get("value"))
                    .cloned()
                    .unwrap_or(Value::Null),
                v => v.clone(),
            };
            let value = match value {
                Value::String(s) => s,
                Value::Null => return Err(unsupported()),
                other => other.to_string(),
            };
            Ok(format!("{field}:{value}"))
        }
        _ => Err(unsupported()),
    }
}

fn error(status: u16, kind: &str, reason: &str) -> (u16, Value) {
    (
        status,
        json!({
            "error": {
                "root_cause": [{"type": kind, "reason": reason}],
                "type": kind,
                "reason": reason,
            },
            "status": status,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_queries() {
        assert!(wildcard("clicks-*", "clicks-2026-01-01-00"));
        assert!(wildcard("*-01-*", "clicks-2026-01-01-00"));
        assert!(!wildcard("views-*", "clicks-2026"));
        assert!(wildcard("*", "x"));
        assert_eq!(query_text(&json!({"match_all": {}})).unwrap(), "");
        assert_eq!(
            query_text(&json!({"term": {"action": {"value": "buy"}}})).unwrap(),
            "action:buy"
        );
        assert_eq!(query_text(&json!({"match": {"n": 3}})).unwrap(), "n:3");
        assert_eq!(
            query_text(&json!({"query_string": {"query": "checkout"}})).unwrap(),
            "checkout"
        );
        assert!(query_text(&json!({"bool": {"must": []}})).is_err());
    }
}
