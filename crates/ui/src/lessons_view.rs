//! Lessons: `lessons/index.json` lists them and each is a Markdown file
//! (see `shardlab_lessons`), fetched from the site, so a teacher adds one
//! without rebuilding anything. Starting a lesson creates its stream; the
//! current step's check is evaluated on every snapshot the worker posts,
//! and the lesson moves on when it holds.

use serde::Deserialize;
use shardlab_lessons::Lesson;
use shardlab_sim::Snapshot;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::{App, LiveStream, Msg};

/// One entry of `lessons/index.json`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Entry {
    pub file: String,
    pub title: String,
}

/// The lesson being followed.
#[derive(Clone, Debug, PartialEq)]
pub struct Active {
    pub file: String,
    pub lesson: Lesson,
    /// The stream the lesson created (its scenario's stream name).
    pub stream_name: String,
    /// Set once a snapshot of the lesson's new stream has arrived: until
    /// then, snapshots are the previous stream's.
    pub armed: bool,
    /// The step being worked on (`steps.len()`: all done).
    pub step: usize,
    /// Hints shown for the current step.
    pub hints: usize,
    /// The lesson's link, once asked for.
    pub link: Option<String>,
}

impl Active {
    pub fn new(file: String, lesson: Lesson, stream_name: String) -> Self {
        Active {
            file,
            lesson,
            stream_name,
            armed: false,
            step: 0,
            hints: 0,
            link: None,
        }
    }

    /// Moves past every step whose check `snap` satisfies (one snapshot
    /// may complete several, e.g. after a fast-forward).
    pub fn observe(&mut self, snap: &Snapshot) {
        if snap.stream_name != self.stream_name {
            return;
        }
        if !self.armed {
            if snap.elapsed_ms != 0 {
                return;
            }
            self.armed = true;
        }
        while let Some(step) = self.lesson.steps.get(self.step) {
            if !step.check.holds(snap) {
                break;
            }
            self.step += 1;
            self.hints = 0;
        }
    }
}

pub(crate) async fn fetch_text(relative: &str) -> Result<String, String> {
    use wasm_bindgen_futures::JsFuture;
    let response = crate::presets::fetch(relative).await?;
    let text = response
        .text()
        .map_err(|e| format!("Could not read {relative}: {e:?}"))?;
    JsFuture::from(text)
        .await
        .map_err(|e| format!("Could not read {relative}: {e:?}"))?
        .as_string()
        .ok_or_else(|| format!("{relative} is not text"))
}

/// The lessons the site offers.
pub async fn list() -> Result<Vec<Entry>, String> {
    let text = fetch_text("lessons/index.json").await?;
    serde_json::from_str(&text)
        .map_err(|e| format!("lessons/index.json is not a list of lessons: {e}"))
}

/// One lesson, read and checked, with its starting scenario.
pub async fn load(file: String) -> Result<(String, Lesson, shardlab_sim::Scenario), String> {
    let relative = format!("lessons/{file}");
    let text = fetch_text(&relative).await?;
    let lesson = shardlab_lessons::parse(&text).map_err(|e| format!("{relative}, {e}"))?;
    let scenario = crate::presets::load(lesson.scenario.clone()).await?;
    Ok((file, lesson, scenario))
}

/// The lessons card: a picker, then the lesson being followed.
pub fn card(app: &App, ctx: &Context<App>) -> Html {
    if app.lessons.is_empty() {
        return html! {};
    }
    let onchange = ctx.link().callback(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Msg::StartLesson(select.value())
    });
    let current = app
        .lesson
        .as_ref()
        .map(|a| a.file.clone())
        .unwrap_or_default();
    let busy = !app.ready || app.creating;
    html! {
        <section class="card lesson" data-testid="lesson">
            <label class="field" for="lesson-picker">
                <span class="field-label">{"Follow a lesson"}</span>
                <select id="lesson-picker" {onchange} disabled={busy} data-testid="lesson-picker">
                    <option value="" selected={current.is_empty()}>{"Choose a lesson…"}</option>
                    { for app.lessons.iter().map(|l| html! {
                        <option value={l.file.clone()} selected={l.file == current}>{ l.title.clone() }</option>
                    }) }
                </select>
            </label>
            { match &app.lesson {
                Some(active) => lesson(active, app.live.as_ref(), busy, ctx),
                None => html! {
                    <p class="muted">{"Each lesson creates its stream and walks you through it, one step at a time; the playground checks each step as you do it."}</p>
                },
            } }
        </section>
    }
}

pub(crate) fn raw(html_text: &str) -> Html {
    Html::from_html_unchecked(AttrValue::from(html_text.to_string()))
}

/// The lesson being followed; `busy`: a stream is being created.
fn lesson(active: &Active, live: Option<&LiveStream>, busy: bool, ctx: &Context<App>) -> Html {
    let snap = live.map(|l| &l.snapshot);
    // A solution already under way (a fast-forward) is not sent twice.
    let solving = busy || live.is_some_and(|l| l.fast_forward_ms > 0);
    let l = &active.lesson;
    let total = l.steps.len();
    let steps = l.steps.iter().enumerate().map(|(i, step)| {
        let state = if i < active.step {
            "done"
        } else if i == active.step {
            "current"
        } else {
            "todo"
        };
        let mark = match state {
            "done" => "✓",
            "current" => "→",
            _ => "·",
        };
        html! {
            <li class={classes!("lesson-step", state)} data-testid={format!("lesson-step-{i}")} data-state={state}>
                <span class="lesson-mark" aria-hidden="true">{ mark }</span>{ step.title.clone() }
            </li>
        }
    });
    let body = match l.steps.get(active.step) {
        None => html! {
            <div class="lesson-body" data-testid="lesson-complete">
                <h3>{"Lesson complete"}</h3>
                <p>{ format!("You did all {total} steps. Pick another lesson, or keep playing with this stream.") }</p>
            </div>
        },
        Some(step) => {
            let progress = match snap.filter(|_| active.armed) {
                Some(s) => step.check.progress(s),
                None => Vec::new(),
            };
            let hint = ctx.link().callback(|_| Msg::LessonHint);
            let solve = ctx.link().callback(|_| Msg::LessonSolve);
            html! {
                <div class="lesson-body">
                    <h3 data-testid="lesson-step-title">{ format!("Step {} of {total}: {}", active.step + 1, step.title) }</h3>
                    { raw(&step.html) }
                    <ul class="lesson-check" data-testid="lesson-check" title="The playground moves on when all of these hold">
                        { for progress.into_iter().map(|(text, ok)| html! {
                            <li class={if ok { "ok" } else { "waiting" }}>{ if ok { "✓ " } else { "… " } }<code>{ text }</code></li>
                        }) }
                    </ul>
                    { for step.hints.iter().take(active.hints).map(|h| html! {
                        <div class="lesson-hint" data-testid="lesson-hint-text">{ raw(h) }</div>
                    }) }
                    <div class="lesson-actions">
                        if active.hints < step.hints.len() {
                            <button class="secondary" onclick={hint} data-testid="lesson-hint">{"Show a hint"}</button>
                        }
                        <button class="secondary" onclick={solve} disabled={!active.armed || solving} data-testid="lesson-solve" title="Performs this step's solution">{"Do it for me"}</button>
                    </div>
                </div>
            }
        }
    };
    html! {
        <div class="lesson-text">
            <h2 data-testid="lesson-title">{ l.title.clone() }</h2>
            if let Some(link) = &active.link {
                <label class="field lesson-link">
                    <span class="field-label">{"Link to this lesson (copy it)"}</span>
                    <input type="text" readonly=true value={link.clone()} data-testid="lesson-link" />
                </label>
            } else {
                <button class="link lesson-link" onclick={ctx.link().callback(|_| Msg::LessonLink)} title="A link that opens this lesson, for a course page or a tutorial" data-testid="lesson-link-make">{"Link to this lesson"}</button>
            }
            if active.step == 0 {
                <div class="lesson-intro">{ raw(&l.intro_html) }</div>
            }
            <ol class="lesson-steps">{ for steps }</ol>
            { body }
        </div>
    }
}
