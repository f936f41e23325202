//! Sharing the workspace (see `shardlab_sim::share`): a link that opens
//! the same stream and SQL, a file to download, and opening either.

use shardlab_sim::share::Workspace;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::{App, Msg};

/// The fragment of a link to one of the site's exercises: `#exercise=<file>`.
pub const SITE_EXERCISE_KEY: &str = "exercise=";
/// The fragment of a link to one of the site's lessons: `#lesson=<file>`.
pub const LESSON_KEY: &str = "lesson=";

/// The workspace or exercise link's fragment in the page's URL, if any.
pub fn fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let key = hash.trim_start_matches('#');
    [
        shardlab_sim::share::FRAGMENT_KEY,
        shardlab_sim::share::EXERCISE_KEY,
        SITE_EXERCISE_KEY,
        LESSON_KEY,
    ]
    .iter()
    .any(|k| key.starts_with(k))
    .then_some(hash)
}

/// The link to this page with `fragment` (the address bar is left alone:
/// a link there would win over the saved work at the next reload).
pub fn link_for(fragment: &str) -> Result<String, String> {
    let href = web_sys::window()
        .ok_or("no window")?
        .location()
        .href()
        .map_err(|e| format!("{e:?}"))?;
    let page = href.split('#').next().unwrap_or(&href);
    Ok(format!("{page}#{fragment}"))
}

/// Takes the link the page was opened with out of the address bar once it
/// is read, so that a reload brings back the saved work, not the link.
pub fn clear_fragment() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let (Ok(href), Ok(history)) = (window.location().href(), window.history()) else {
        return;
    };
    let page = href.split('#').next().unwrap_or(&href).to_string();
    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&page));
}

/// The bytes of the file chosen in a file input; `what` names the kind of
/// file in errors ("workspace", "exercise").
pub async fn read_file(input: HtmlInputElement, what: &str) -> Result<Vec<u8>, String> {
    read_file_up_to(input, what, shardlab_sim::share::MAX_JSON_BYTES)
        .await
        .map(|(_, bytes)| bytes)
}

/// The name and bytes of the file chosen in a file input, if it is at
/// most `max` bytes.
pub async fn read_file_up_to(
    input: HtmlInputElement,
    what: &str,
    max: usize,
) -> Result<(String, Vec<u8>), String> {
    let file = input
        .files()
        .and_then(|f| f.get(0))
        .ok_or("no file was chosen")?;
    if file.size() > max as f64 {
        return Err(format!(
            "this file is {} bytes; a {what} file is at most {max}",
            file.size(),
        ));
    }
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("could not read the file: {e:?}"))?;
    Ok((file.name(), js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// The workspace as it stands: the scenario the stream was created from
/// and the SQL editor's code.
pub fn current(app: &App) -> Option<Workspace> {
    let scenario = app.created_scenario.clone()?;
    Some(Workspace::new(scenario, Some(app.sql.code.clone())))
}

pub fn card(app: &App, ctx: &Context<App>) -> Html {
    if app.live.is_none() || app.created_scenario.is_none() {
        return html! {};
    }
    let share = ctx.link().callback(|_| Msg::ShareLink);
    let download = ctx.link().callback(|_| Msg::DownloadWorkspace);
    let open = ctx.link().callback(|e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::OpenWorkspaceFile(input)
    });
    let select = Callback::from(|e: FocusEvent| {
        if let Some(input) = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        {
            input.select();
        }
    });
    html! {
        <div class="card share" data-testid="share">
            <h2>{"Share this workspace"}</h2>
            <p class="muted">{"A link or a file with what you set up — the stream, its producer, consumers, delivery streams and seed, and the SQL you wrote — never the records, which the same seed makes again. The link keeps it after the # of the URL, so it never reaches a server."}</p>
            <div class="controls">
                <button class="secondary" onclick={share} data-testid="share-link-make">{"Make a link"}</button>
                <button class="secondary" onclick={download} data-testid="share-download">{"Download the workspace"}</button>
                <label class="inline file" title="A .shardlab.json file downloaded from here">
                    <span>{"Open a workspace file"}</span>
                    <input type="file" accept=".json,application/json" onchange={open} data-testid="share-open" />
                </label>
            </div>
            if let Some(link) = &app.share_link {
                <label class="field">
                    <span>{"Link (copy it)"}</span>
                    <input type="text" readonly=true value={link.clone()} onfocus={select} data-testid="share-link" />
                </label>
            }
        </div>
    }
}
