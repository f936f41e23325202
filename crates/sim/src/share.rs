//! Sharing a workspace: its inputs (the scenario, with its seed, and the
//! SQL application's code), never generated data, as a link or a file.
//!
//! A link carries it in the URL fragment, so it never reaches a server:
//! `#w=1.<base64url of the raw-DEFLATE-compressed JSON>`. The `1` is the
//! format's version; a link of a later version is refused with a message
//! that says so. A file holds the same JSON, uncompressed and readable.
//! Reading either checks its size before and after decompressing, its
//! JSON against the format (naming the field that is wrong), and the
//! scenario as CreateStream would.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::Scenario;

/// The format's version, written into every link and file.
pub const VERSION: u32 = 1;
/// The longest link fragment accepted (browsers keep far longer URLs, but
/// a workspace never needs more).
pub const MAX_LINK_CHARS: usize = 64 * 1024;
/// The most a workspace may hold, decompressed or as a file.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// The fragment's key: `#w=...`.
pub const FRAGMENT_KEY: &str = "w=";

/// The key of an exercise link's fragment: `#x=1.…` carries a whole
/// exercise file, for exercises that are not on the site.
pub const EXERCISE_KEY: &str = "x=";

/// A link's fragment carrying `bytes`: `<key><VERSION>.<base64url of the
/// raw-DEFLATE-compressed bytes>`.
pub fn pack(key: &str, bytes: &[u8]) -> String {
    let packed = miniz_oxide::deflate::compress_to_vec(bytes, 9);
    format!(
        "{key}{VERSION}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed)
    )
}

/// Whether a [`pack`]ed fragment is longer than [`unpack`] reads.
pub fn too_long(fragment: &str) -> bool {
    fragment.len() > MAX_LINK_CHARS
}

/// The bytes a [`pack`]ed fragment (with or without its `#`) carries;
/// `what` names them in errors ("workspace", "exercise").
pub fn unpack(fragment: &str, key: &str, what: &str) -> Result<Vec<u8>, String> {
    let fragment = fragment.trim().trim_start_matches('#');
    let Some(body) = fragment.strip_prefix(key) else {
        return Err(format!("this link holds no {what} (it has no #{key}...)"));
    };
    if body.len() > MAX_LINK_CHARS {
        return Err(format!(
            "this link's {what} is {} characters long; at most {MAX_LINK_CHARS} are read",
            body.len()
        ));
    }
    let (version, data) = body.split_once('.').ok_or_else(|| {
        format!("this link is damaged: its {what} has no version (expected #{key}1.…)")
    })?;
    match version.parse::<u32>() {
        Ok(VERSION) => {}
        Ok(v) if v > VERSION => {
            return Err(format!(
                "this link was made by a newer Shardlab ({what} format {v}; this one reads {VERSION}): reload the page to get the newest"
            ))
        }
        _ => {
            return Err(format!(
                "this link is damaged: `{version}` is not a {what} format version"
            ))
        }
    }
    let packed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|e| {
            format!("this link is damaged (cut short or changed?): its data is not base64url: {e}")
        })?;
    miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_JSON_BYTES).map_err(|e| match e
        .status
    {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
            format!("this link's {what} is larger than {MAX_JSON_BYTES} bytes once unpacked")
        }
        _ => "this link is damaged (cut short or changed?): its data does not unpack".to_string(),
    })
}

/// What a shared workspace holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    /// Always [`VERSION`] when written.
    pub version: u32,
    pub scenario: Scenario,
    /// The SQL application's code, if one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

impl Workspace {
    pub fn new(scenario: Scenario, sql: Option<String>) -> Self {
        Workspace {
            version: VERSION,
            scenario,
            sql: sql.filter(|s| !s.trim().is_empty()),
        }
    }

    /// The fragment of a link that opens it (without the `#`).
    pub fn to_fragment(&self) -> String {
        let json = serde_json::to_vec(self).expect("a workspace is JSON");
        pack(FRAGMENT_KEY, &json)
    }

    /// The file's text: indented JSON.
    pub fn to_file(&self) -> String {
        serde_json::to_string_pretty(self).expect("a workspace is JSON") + "\n"
    }

    /// Reads a link's fragment (with or without its `#`).
    pub fn from_fragment(fragment: &str) -> Result<Workspace, String> {
        let json = unpack(fragment, FRAGMENT_KEY, "workspace")?;
        Workspace::parse(&json, "this link's workspace")
    }

    /// Reads a workspace file.
    pub fn from_file(bytes: &[u8]) -> Result<Workspace, String> {
        if bytes.len() > MAX_JSON_BYTES {
            return Err(format!(
                "this file is {} bytes; a workspace file is at most {MAX_JSON_BYTES}",
                bytes.len()
            ));
        }
        Workspace::parse(bytes, "this file")
    }

    fn parse(json: &[u8], what: &str) -> Result<Workspace, String> {
        // Text first (as scenario files are read), then only the version,
        // so that a later format is named as such rather than misread.
        let text =
            std::str::from_utf8(json).map_err(|e| format!("{what} is not UTF-8 text: {e}"))?;
        #[derive(Deserialize)]
        struct Version {
            version: Option<serde_json::Value>,
        }
        let version: Version =
            serde_json::from_str(text).map_err(|e| format!("{what} is not JSON: {e}"))?;
        match version.version.as_ref().and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) if v > u64::from(VERSION) => {
                return Err(format!(
                    "{what} was made by a newer Shardlab (workspace format {v}; this one reads {VERSION})"
                ))
            }
            Some(v) => return Err(format!("{what} has an unknown workspace format {v}")),
            None => {
                return Err(format!(
                    "{what} is not a Shardlab workspace: it has no \"version\" (a scenario file goes in Start from a preset's folder, not here)"
                ))
            }
        }
        let workspace: Workspace = serde_json::from_str(text)
            .map_err(|e| format!("{what} does not fit the workspace format: {e}"))?;
        workspace
            .scenario
            .validate_stream()
            .map_err(|e| format!("{what}'s stream cannot be created: {e}"))?;
        Ok(workspace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> Workspace {
        let path = format!(
            "{}/../../static/scenarios/purchases-to-s3.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let scenario =
            crate::headless::parse_scenario(&std::fs::read_to_string(path).unwrap()).unwrap();
        Workspace::new(
            scenario,
            Some("SELECT STREAM * FROM SOURCE_SQL_STREAM_001;".into()),
        )
    }

    #[test]
    fn a_link_and_a_file_give_back_the_same_workspace() {
        let w = workspace();
        let fragment = w.to_fragment();
        assert!(fragment.starts_with("w=1."));
        assert!(fragment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=._-".contains(&b)));
        // Compressed: shorter than its JSON.
        assert!(fragment.len() < serde_json::to_string(&w).unwrap().len());
        assert_eq!(
            Workspace::from_fragment(&format!("#{fragment}")).unwrap(),
            w
        );
        assert_eq!(Workspace::from_file(w.to_file().as_bytes()).unwrap(), w);
        // An empty SQL application is not kept.
        assert_eq!(
            Workspace::new(w.scenario.clone(), Some("  ".into())).sql,
            None
        );
    }

    #[test]
    fn bad_links_say_what_is_wrong() {
        let good = workspace().to_fragment();
        let err = |f: &str| Workspace::from_fragment(f).unwrap_err();
        assert!(err("#s=abc").contains("holds no workspace"));
        assert!(err("#w=abc").contains("has no version"));
        assert!(err("#w=x.abc").contains("not a workspace format version"));
        assert!(
            err(&good.replacen("w=1.", "w=2.", 1)).contains("newer Shardlab (workspace format 2")
        );
        assert!(err(&format!("{good}*")).contains("not base64url"));
        assert!(
            err(&good[..good.len() / 2]).contains("does not unpack"),
            "{}",
            err(&good[..good.len() / 2])
        );
        let long = format!("w=1.{}", "A".repeat(MAX_LINK_CHARS + 1));
        assert!(err(&long).contains("at most 65536"));
        // A bomb: 2 MiB of spaces packs into a short link but is refused.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 2 * MAX_JSON_BYTES], 9);
        let link = format!(
            "w=1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bomb)
        );
        assert!(link.len() < MAX_LINK_CHARS);
        assert!(err(&link).contains("larger than 1048576 bytes"));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = |t: &str| Workspace::from_file(t.as_bytes()).unwrap_err();
        assert!(err("{").contains("is not JSON"));
        assert!(err(r#"{"stream_name": "s"}"#).contains("no \"version\""));
        assert!(err(r#"{"version": 9}"#).contains("newer Shardlab"));
        assert!(err(r#"{"version": 1, "scenario": {}}"#).contains("missing field `stream_name`"));
        let mut w = serde_json::to_value(workspace()).unwrap();
        w["colour"] = "red".into();
        assert!(err(&w.to_string()).contains("unknown field `colour`"));
        let mut w = serde_json::to_value(workspace()).unwrap();
        w["scenario"]["shard_count"] = 0.into();
        let e = err(&w.to_string());
        assert!(
            e.contains("stream cannot be created") && e.contains("shardCount"),
            "{e}"
        );
        assert!(Workspace::from_file(&vec![b' '; MAX_JSON_BYTES + 1])
            .unwrap_err()
            .contains("at most 1048576"));
    }
}
