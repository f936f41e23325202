//! S3 object keys: custom prefixes with `!{namespace:value}` expressions,
//! the error-output prefix, and the fixed object-name suffix.
//!
//! The rules are AWS's (Firehose developer guide, "Custom prefixes for S3
//! objects"): a Prefix without a timestamp expression gets the default
//! `yyyy/MM/dd/HH/` appended (unless it partitions by keys); all timestamps in one key use the arrival
//! time of the oldest record in the object; `firehose:random-string` is 11
//! random characters, new at each occurrence; `firehose:error-output-type`
//! belongs in the ErrorOutputPrefix only, and `partitionKeyFrom*` in the
//! Prefix only, with dynamic partitioning on; a Prefix with expressions
//! needs an ErrorOutputPrefix.

use std::collections::BTreeMap;

use shardlab_engine::ApiError;

use crate::timestamp::TimestampPattern;

/// The default time prefix, in UTC.
pub const DEFAULT_TIME_PATTERN: &str = "yyyy/MM/dd/HH/";
/// A prefix may be up to 1,024 characters as written. (AWS also caps the
/// evaluated prefix at 512; Shardlab does not check that yet.)
pub const MAX_PREFIX_CHARS: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Timestamp(TimestampPattern),
    RandomString,
    ErrorOutputType,
    FromQuery(String),
    FromLambda(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Template {
    parts: Vec<Part>,
}

impl Template {
    fn parse(text: &str, member: &str) -> Result<Template, ApiError> {
        let bad = |why: String| ApiError::invalid_argument(format!("{member} '{text}' {why}"));
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("!{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| bad("has a '!{' without its closing '}'".into()))?;
            let expr = &after[..end];
            let (namespace, value) = expr.split_once(':').ok_or_else(|| {
                bad(format!(
                    "has the expression '!{{{expr}}}', which is not of the form !{{namespace:value}}"
                ))
            })?;
            parts.push(match (namespace, value) {
                ("timestamp", pattern) => {
                    Part::Timestamp(TimestampPattern::parse(pattern).map_err(bad)?)
                }
                ("firehose", "random-string") => Part::RandomString,
                ("firehose", "error-output-type") => Part::ErrorOutputType,
                ("partitionKeyFromQuery", key) if !key.is_empty() => {
                    Part::FromQuery(key.to_string())
                }
                ("partitionKeyFromLambda", key) if !key.is_empty() => {
                    Part::FromLambda(key.to_string())
                }
                _ => {
                    return Err(bad(format!(
                        "has the expression '!{{{expr}}}'; the namespaces are timestamp, \
                         firehose (random-string, error-output-type), partitionKeyFromQuery \
                         and partitionKeyFromLambda"
                    )))
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    fn has_expressions(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    fn any(&self, f: impl Fn(&Part) -> bool) -> bool {
        self.parts.iter().any(f)
    }
}

/// What a key is evaluated with.
pub struct KeyContext<'a> {
    /// Approximate arrival time of the oldest record in the object.
    pub oldest_arrival_ms: u64,
    /// Dynamic-partitioning keys of the object's partition.
    pub query_keys: &'a BTreeMap<String, String>,
    pub lambda_keys: &'a BTreeMap<String, String>,
}

/// A delivery stream's rules for naming objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRules {
    prefix: Template,
    /// The Prefix as given ("" when none).
    raw_prefix: String,
    error_prefix: Option<Template>,
}

impl KeyRules {
    /// Checks a Prefix / ErrorOutputPrefix pair against AWS's rules.
    pub fn new(
        prefix: Option<&str>,
        error_prefix: Option<&str>,
        dynamic_partitioning: bool,
    ) -> Result<KeyRules, ApiError> {
        let raw_prefix = prefix.unwrap_or("").to_string();
        let error_prefix = error_prefix.filter(|e| !e.is_empty());
        let template = Template::parse(&raw_prefix, "Prefix")?;
        let error = error_prefix
            .map(|e| Template::parse(e, "ErrorOutputPrefix"))
            .transpose()?;
        if template.any(|p| matches!(p, Part::ErrorOutputType)) {
            return Err(ApiError::invalid_argument(
                "The '!{firehose:error-output-type}' expression is only allowed in the \
                 ErrorOutputPrefix.",
            ));
        }
        let partitioned = template.any(|p| matches!(p, Part::FromQuery(_) | Part::FromLambda(_)));
        if partitioned && !dynamic_partitioning {
            return Err(ApiError::invalid_argument(
                "The Prefix uses partitionKeyFromQuery or partitionKeyFromLambda expressions, \
                 which need dynamic partitioning to be enabled.",
            ));
        }
        if dynamic_partitioning && !partitioned {
            return Err(ApiError::invalid_argument(
                "Dynamic partitioning is enabled, so the Prefix must use at least one \
                 partitionKeyFromQuery or partitionKeyFromLambda expression.",
            ));
        }
        if let Some(e) = &error {
            if e.any(|p| matches!(p, Part::FromQuery(_) | Part::FromLambda(_))) {
                return Err(ApiError::invalid_argument(
                    "partitionKeyFromQuery and partitionKeyFromLambda expressions are not \
                     allowed in the ErrorOutputPrefix.",
                ));
            }
            if e.has_expressions() && !e.any(|p| matches!(p, Part::ErrorOutputType)) {
                return Err(ApiError::invalid_argument(
                    "An ErrorOutputPrefix with expressions must contain \
                     '!{firehose:error-output-type}'.",
                ));
            }
        }
        if error.is_none() && (template.has_expressions() || dynamic_partitioning) {
            return Err(ApiError::invalid_argument(
                "ErrorOutputPrefix cannot be null or empty when the Prefix contains \
                 expressions or dynamic partitioning is enabled.",
            ));
        }
        Ok(KeyRules {
            prefix: template,
            raw_prefix,
            error_prefix: error,
        })
    }

    pub fn raw_prefix(&self) -> &str {
        &self.raw_prefix
    }

    /// The `partitionKeyFromQuery` keys the prefix uses.
    pub fn query_keys_used(&self) -> impl Iterator<Item = &str> {
        self.prefix.parts.iter().filter_map(|p| match p {
            Part::FromQuery(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// The `partitionKeyFromLambda` keys the prefix uses.
    pub fn lambda_keys_used(&self) -> impl Iterator<Item = &str> {
        self.prefix.parts.iter().filter_map(|p| match p {
            Part::FromLambda(k) => Some(k.as_str()),
            _ => None,
        })
    }

    /// The evaluated prefix of a delivered object.
    pub fn object_prefix(
        &self,
        ctx: &KeyContext,
        random: &mut dyn FnMut() -> String,
    ) -> Result<String, String> {
        let mut out = evaluate(&self.prefix, ctx, None, random)?;
        // The default time prefix, unless the prefix says where time goes
        // or partitions by keys (AWS's dynamic-partitioning example has
        // none: customer_id=…/device=…/year=…/<object name>).
        let partitioned = self
            .prefix
            .any(|p| matches!(p, Part::FromQuery(_) | Part::FromLambda(_)));
        if !partitioned && !self.prefix.any(|p| matches!(p, Part::Timestamp(_))) {
            if !self.prefix.has_expressions() && !out.is_empty() && !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(&default_time(ctx.oldest_arrival_ms));
        }
        Ok(out)
    }

    /// The evaluated prefix for records that failed with `error_type`.
    pub fn error_prefix(
        &self,
        error_type: &str,
        oldest_arrival_ms: u64,
        random: &mut dyn FnMut() -> String,
    ) -> String {
        let empty = BTreeMap::new();
        let ctx = KeyContext {
            oldest_arrival_ms,
            query_keys: &empty,
            lambda_keys: &empty,
        };
        match &self.error_prefix {
            Some(t) => evaluate(t, &ctx, Some(error_type), random)
                .unwrap_or_else(|_| format!("{error_type}/")),
            None => {
                let mut out = self.raw_prefix.clone();
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                format!("{out}{error_type}/{}", default_time(oldest_arrival_ms))
            }
        }
    }
}

fn default_time(ms: u64) -> String {
    TimestampPattern::parse(DEFAULT_TIME_PATTERN)
        .map(|p| p.format(ms))
        .unwrap_or_default()
}

fn evaluate(
    template: &Template,
    ctx: &KeyContext,
    error_type: Option<&str>,
    random: &mut dyn FnMut() -> String,
) -> Result<String, String> {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Timestamp(p) => out.push_str(&p.format(ctx.oldest_arrival_ms)),
            Part::RandomString => out.push_str(&random()),
            Part::ErrorOutputType => out.push_str(error_type.unwrap_or("")),
            Part::FromQuery(k) => out.push_str(
                ctx.query_keys
                    .get(k)
                    .ok_or_else(|| format!("partitionKeyFromQuery:{k} has no value"))?,
            ),
            Part::FromLambda(k) => out.push_str(
                ctx.lambda_keys
                    .get(k)
                    .ok_or_else(|| format!("partitionKeyFromLambda:{k} has no value"))?,
            ),
        }
    }
    Ok(out)
}

/// The object name after the prefix, which AWS does not let one change:
/// `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`.
pub fn object_name(
    stream: &str,
    version: u64,
    oldest_arrival_ms: u64,
    uuid: &str,
    extension: &str,
) -> String {
    let t = crate::timestamp::Civil::at(oldest_arrival_ms);
    format!("{stream}-{version}-{}-{uuid}{extension}", t.dashed())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUG_27: u64 = 1_535_365_800_000; // 2018-08-27 10:30 UTC
    const JUL_6: u64 = 1_530_918_000_000; // 2018-07-06 23:00 UTC

    fn keys(prefix: Option<&str>, error: Option<&str>, at: u64) -> (String, String) {
        let rules = KeyRules::new(prefix, error, false).unwrap();
        let empty = BTreeMap::new();
        let ctx = KeyContext {
            oldest_arrival_ms: at,
            query_keys: &empty,
            lambda_keys: &empty,
        };
        let mut rnd = || "5abf82daaa5".to_string();
        (
            rules.object_prefix(&ctx, &mut rnd).unwrap(),
            rules.error_prefix("processing-failed", at, &mut rnd),
        )
    }

    #[test]
    fn the_developer_guide_examples() {
        assert_eq!(
            keys(
                None,
                Some("myFirehoseFailures/!{firehose:error-output-type}/"),
                AUG_27
            ),
            (
                "2018/08/27/10/".to_string(),
                "myFirehoseFailures/processing-failed/".to_string()
            )
        );
        let e = KeyRules::new(Some("!{timestamp:yyyy/MM/dd}"), None, false).unwrap_err();
        assert_eq!(e.name(), "InvalidArgumentException");
        assert_eq!(
            keys(
                Some("myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/rand=!{firehose:random-string}"),
                Some("myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}"),
                AUG_27
            ),
            (
                "myFirehose/DeliveredYear=2018/anyMonth/rand=5abf82daaa5".to_string(),
                "myFirehoseFailures/processing-failed/2018/anyMonth/27".to_string()
            )
        );
        assert_eq!(
            keys(
                Some("myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"),
                Some("myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/!{firehose:error-output-type}"),
                JUL_6
            ),
            (
                "myPrefix/year=2018/month=07/day=06/hour=23/".to_string(),
                "myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed".to_string()
            )
        );
        assert_eq!(
            keys(Some("myFirehosePrefix"), None, AUG_27),
            (
                "myFirehosePrefix/2018/08/27/10/".to_string(),
                "myFirehosePrefix/processing-failed/2018/08/27/10/".to_string()
            )
        );
    }

    #[test]
    fn misplaced_expressions_are_refused() {
        let err = |p: Option<&str>, e: Option<&str>, dp: bool| {
            KeyRules::new(p, e, dp).unwrap_err().message().to_string()
        };
        assert!(err(
            Some("a/!{firehose:error-output-type}/"),
            Some("e/!{firehose:error-output-type}"),
            false
        )
        .contains("only allowed in the ErrorOutputPrefix"));
        assert!(err(
            Some("a/!{timestamp:yyyy}/"),
            Some("e/!{timestamp:yyyy}/"),
            false
        )
        .contains("must contain '!{firehose:error-output-type}'"));
        assert!(
            err(Some("c=!{partitionKeyFromQuery:c}/"), Some("e/"), false)
                .contains("need dynamic partitioning")
        );
        assert!(err(Some("a/"), Some("e/"), true).contains("at least one partitionKeyFromQuery"));
        assert!(err(Some("a/!{timestamp:yyyy"), None, false).contains("without its closing"));
        assert!(err(Some("a/!{nope:x}/"), Some("e/"), false).contains("namespaces are"));
        // A literal error prefix is fine: errors land under it as written.
        assert!(KeyRules::new(Some("a/!{timestamp:yyyy}/"), Some("errors/"), false).is_ok());
    }

    #[test]
    fn object_names_follow_the_fixed_suffix() {
        assert_eq!(
            object_name(
                "my-delivery-stream",
                1,
                AUG_27,
                "a9fa96af-e4e4-409f-bac3-1f804714faaa",
                ".gz"
            ),
            "my-delivery-stream-1-2018-08-27-10-30-00-a9fa96af-e4e4-409f-bac3-1f804714faaa.gz"
        );
    }
}
