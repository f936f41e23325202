//! Scenario presets: `scenarios/index.json` lists them and each is a
//! scenario file (see `shardlab_sim::headless`), fetched from the site
//! itself, so a teacher adds one by dropping a file next to them, without
//! rebuilding anything. `shardlab run` plays the same files natively.

use serde::Deserialize;
use shardlab_sim::Scenario;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::sim_worker::site_url;

/// One entry of `scenarios/index.json`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Preset {
    pub file: String,
    pub title: String,
}

/// Fetches a file of the site (relative to its base URL); an HTTP error
/// is an error.
pub(crate) async fn fetch(relative: &str) -> Result<Response, String> {
    let url = site_url(relative)?;
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(|e| format!("Could not fetch {relative}: {e:?}"))?
        .dyn_into()
        .map_err(|_| format!("Could not fetch {relative}"))?;
    if !response.ok() {
        return Err(format!(
            "Could not fetch {relative}: HTTP {}",
            response.status()
        ));
    }
    Ok(response)
}

async fn fetch_json(relative: &str) -> Result<JsValue, String> {
    let response = fetch(relative).await?;
    let json = response
        .json()
        .map_err(|e| format!("{relative} is not JSON: {e:?}"))?;
    JsFuture::from(json)
        .await
        .map_err(|e| format!("{relative} is not JSON: {e:?}"))
}

/// The presets the site offers.
pub async fn list() -> Result<Vec<Preset>, String> {
    let value = fetch_json("scenarios/index.json").await?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("scenarios/index.json is not a list of presets: {e}"))
}

/// One preset's scenario, checked as the native runner checks it.
pub async fn load(file: String) -> Result<Scenario, String> {
    let relative = format!("scenarios/{file}");
    let value = fetch_json(&relative).await?;
    let scenario: Scenario = serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("{relative} is not a valid scenario: {e}"))?;
    scenario
        .validate_stream()
        .map_err(|e| format!("{relative} is not a valid scenario: {e}"))?;
    Ok(scenario)
}
