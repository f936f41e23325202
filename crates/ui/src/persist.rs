//! Work in progress kept in this browser's IndexedDB, so a reload (or a
//! closed tab) does not lose it: the workspace's inputs (the scenario the
//! stream was created from, the SQL editor's code), the lesson being
//! followed and its step, and the exercise being worked on with the
//! student's name and last grade. Never generated data: the seed makes it
//! again. One record, written whenever it changes.
//!
//! A link that opens a workspace or an exercise wins over what was saved.

use serde::{Deserialize, Serialize};
use shardlab_sim::share::Workspace;
use wasm_bindgen::JsValue;

const DATABASE: &str = "shardlab";
const STORE: &str = "work";
const KEY: &str = "current";
/// The saved record's format.
const VERSION: u32 = 1;

/// What is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub version: u32,
    pub workspace: Workspace,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<SavedLesson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<SavedExercise>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedLesson {
    pub file: String,
    pub step: usize,
    pub hints: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedExercise {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub student: String,
    /// The last grade's result file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

impl Saved {
    pub fn new(
        workspace: Workspace,
        lesson: Option<SavedLesson>,
        exercise: Option<SavedExercise>,
    ) -> Self {
        Saved {
            version: VERSION,
            workspace,
            lesson,
            exercise,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a saved record; one of another format, or damaged, is `None`
    /// (it is replaced at the next save) — never an error for the learner.
    pub fn from_json(text: &str) -> Option<Saved> {
        let saved: Saved = serde_json::from_str(text).ok()?;
        (saved.version == VERSION && saved.workspace.scenario.validate_stream().is_ok())
            .then_some(saved)
    }
}

/// The localStorage key of projector mode.
const PROJECTOR: &str = "shardlab.projector";

/// Whether projector mode was on in this browser.
pub fn projector() -> bool {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PROJECTOR).ok().flatten())
        .is_some_and(|v| v == "on")
}

/// Remembers projector mode (quietly: without storage it lasts the visit).
pub fn set_projector(on: bool) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(PROJECTOR, if on { "on" } else { "off" });
    }
}

fn error(e: rexie::Error) -> String {
    format!("this browser's storage (IndexedDB) refused: {e}")
}

async fn open() -> Result<rexie::Rexie, String> {
    rexie::Rexie::builder(DATABASE)
        .version(1)
        .add_object_store(rexie::ObjectStore::new(STORE))
        .build()
        .await
        .map_err(error)
}

/// The saved work, if any.
pub async fn load() -> Result<Option<Saved>, String> {
    let db = open().await?;
    let tx = db
        .transaction(&[STORE], rexie::TransactionMode::ReadOnly)
        .map_err(error)?;
    let store = tx.store(STORE).map_err(error)?;
    let value = store.get(JsValue::from_str(KEY)).await.map_err(error)?;
    tx.done().await.map_err(error)?;
    db.close();
    Ok(value
        .and_then(|v| v.as_string())
        .and_then(|text| Saved::from_json(&text)))
}

/// Writes `json` (a [`Saved`] record) as the saved work.
pub async fn save(json: String) -> Result<(), String> {
    let db = open().await?;
    let tx = db
        .transaction(&[STORE], rexie::TransactionMode::ReadWrite)
        .map_err(error)?;
    let store = tx.store(STORE).map_err(error)?;
    store
        .put(&JsValue::from_str(&json), Some(&JsValue::from_str(KEY)))
        .await
        .map_err(error)?;
    tx.done().await.map_err(error)?;
    db.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_record_round_trips_and_a_bad_one_is_ignored() {
        let scenario: shardlab_sim::Scenario = serde_json::from_str(
            r#"{"stream_name": "s", "shard_count": 2, "seed": 7, "rate_per_sec": 10}"#,
        )
        .unwrap();
        let saved = Saved::new(
            Workspace::new(scenario, Some("SELECT 1;".into())),
            Some(SavedLesson {
                file: "hot-shards.md".into(),
                step: 1,
                hints: 2,
            }),
            None,
        );
        assert_eq!(Saved::from_json(&saved.to_json()), Some(saved.clone()));
        assert_eq!(Saved::from_json("{"), None);
        assert_eq!(
            Saved::from_json(&saved.to_json().replace("\"version\":1", "\"version\":2")),
            None
        );
        assert_eq!(
            Saved::from_json(
                &saved
                    .to_json()
                    .replace("\"shard_count\":2", "\"shard_count\":0")
            ),
            None
        );
    }
}
