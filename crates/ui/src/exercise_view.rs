//! Classroom exercises (see `shardlab_lessons::exercise`): the site's own,
//! listed in `exercises/index.json`, or any exercise file, opened from the
//! disk or from a link (`#exercise=<file>` for the site's, `#x=1.…` for a
//! whole file packed into the link). Opening one creates its stream; the
//! student works in the playground and presses *Grade my solution*: the
//! simulation worker replays the exercise's seeded input with their stream
//! or SQL and answers with the result file, which they download and hand in.

use shardlab_lessons::exercise::{Exercise, GradeResult, Submit};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::lessons_view::raw;
use crate::{App, Msg};

/// One entry of `exercises/index.json`: the same shape as the lessons'.
pub use crate::lessons_view::Entry;

/// The exercise being worked on.
#[derive(Clone, Debug, PartialEq)]
pub struct Active {
    /// The file's text (what is graded and shared).
    pub source: String,
    pub exercise: Exercise,
    /// The site's file it came from, if any (its link is then short).
    pub file: Option<String>,
    pub student: String,
    pub grading: bool,
    pub result: Option<GradeResult>,
    /// The result file's text, to download.
    pub result_file: Option<String>,
    pub link: Option<String>,
}

impl Active {
    pub fn new(source: String, exercise: Exercise, file: Option<String>) -> Self {
        Active {
            source,
            exercise,
            file,
            student: String::new(),
            grading: false,
            result: None,
            result_file: None,
            link: None,
        }
    }
}

/// The exercises the site offers.
pub async fn list() -> Result<Vec<Entry>, String> {
    let text = crate::lessons_view::fetch_text("exercises/index.json").await?;
    serde_json::from_str(&text)
        .map_err(|e| format!("exercises/index.json is not a list of exercises: {e}"))
}

/// A site lesson's or exercise's file name from a link, if it is one (a
/// `.md` name, no paths).
pub fn site_file(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || !name.ends_with(".md") {
        return Err(format!(
            "`{name}` is not a lesson or exercise of this site (a .md file name)"
        ));
    }
    Ok(name.to_string())
}

/// One of the site's exercises: its file name and text.
pub async fn load(file: String) -> Result<(Option<String>, String), String> {
    let file = site_file(&file)?;
    let text = crate::lessons_view::fetch_text(&format!("exercises/{file}")).await?;
    Ok((Some(file), text))
}

/// The slug of a title, for file names: `no-throttling-at-3-000-records`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(48).collect()
}

/// The result file's name.
pub fn result_file_name(active: &Active) -> String {
    let who = slug(&active.student);
    let who = if who.is_empty() {
        "student".into()
    } else {
        who
    };
    format!("{}-{who}.result.json", slug(&active.exercise.title))
}

pub fn card(app: &App, ctx: &Context<App>) -> Html {
    if app.exercises.is_empty() && app.exercise.is_none() {
        return html! {};
    }
    let onchange = ctx.link().callback(|e: Event| {
        let select: HtmlSelectElement = e.target_unchecked_into();
        Msg::StartExercise(select.value())
    });
    let open = ctx.link().callback(|e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::OpenExerciseFile(input)
    });
    let current = app
        .exercise
        .as_ref()
        .and_then(|a| a.file.clone())
        .unwrap_or_default();
    let busy = !app.ready || app.creating;
    html! {
        <section class="card exercise" data-testid="exercise">
            <div class="exercise-pickers">
                <label class="field" for="exercise-picker">
                    <span class="field-label">{"Do a graded exercise"}</span>
                    <select id="exercise-picker" {onchange} disabled={busy} data-testid="exercise-picker">
                        <option value="" selected={current.is_empty()}>{"Choose an exercise…"}</option>
                        { for app.exercises.iter().map(|x| html! {
                            <option value={x.file.clone()} selected={x.file == current}>{ x.title.clone() }</option>
                        }) }
                    </select>
                </label>
                <label class="inline file" title="An exercise file (.md) from your instructor">
                    <span>{"or open an exercise file"}</span>
                    <input type="file" accept=".md,text/markdown,text/plain" onchange={open} disabled={busy} data-testid="exercise-open" />
                </label>
            </div>
            { match &app.exercise {
                Some(active) => exercise(active, app, ctx),
                None => html! {
                    <p class="muted">{"An exercise gives you a stream and a task; when you think you have it, the playground grades your solution by replaying the exercise's seeded input, and you download the result for your instructor."}</p>
                },
            } }
        </section>
    }
}

fn exercise(active: &Active, app: &App, ctx: &Context<App>) -> Html {
    let ex = &active.exercise;
    let student = ctx.link().callback(|e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        Msg::ExerciseStudent(input.value())
    });
    let grade = ctx.link().callback(|_| Msg::GradeExercise);
    let download = ctx.link().callback(|_| Msg::DownloadExerciseResult);
    let share = ctx.link().callback(|_| Msg::ShareExercise);
    let leave = ctx.link().callback(|_| Msg::StartExercise(String::new()));
    let what = match ex.submit {
        Submit::Stream => format!("your stream (you may change: {})", ex.change.join(", ")),
        Submit::Sql => "your SQL application (the SQL panel's code)".to_string(),
    };
    let ready = app.ready && !app.creating && app.live.is_some();
    html! {
        <div class="exercise-text">
            <h2 data-testid="exercise-title">{ ex.title.clone() }</h2>
            <div class="lesson-intro">{ raw(&ex.task_html()) }</div>
            <details class="exercise-grading">
                <summary>{"How it is graded"}</summary>
                <p>{ format!(
                    "The grader replays the exercise's input (seed {}) for {} s of virtual time with {what}, then checks:",
                    ex.seed, ex.run_ms as f64 / 1000.0
                ) }</p>
                <ul>
                    { for ex.grades.iter().map(|g| html! { <li><code>{ g.text.clone() }</code></li> }) }
                    if let Some(e) = &ex.expect {
                        <li>{ format!("{} emits the {} expected rows (in any order)", e.stream, e.rows.len()) }</li>
                    }
                </ul>
            </details>
            <div class="exercise-actions">
                <label class="field" for="exercise-student">
                    <span class="field-label">{"Your name (on the result)"}</span>
                    <input id="exercise-student" type="text" value={active.student.clone()} oninput={student} maxlength="80" data-testid="exercise-student" />
                </label>
                <button onclick={grade} disabled={!ready || active.grading} data-testid="exercise-grade">
                    { if active.grading { "Grading…" } else { "Grade my solution" } }
                </button>
                <button class="secondary" onclick={share} data-testid="exercise-share">{"Share this exercise"}</button>
                <button class="link" onclick={leave}>{"Leave the exercise"}</button>
            </div>
            if let Some(link) = &active.link {
                <label class="field">
                    <span class="field-label">{"Exercise link (copy it)"}</span>
                    <input type="text" readonly=true value={link.clone()} data-testid="exercise-link" />
                </label>
            }
            if let Some(result) = &active.result {
                { report(result, download) }
            }
        </div>
    }
}

fn report(result: &GradeResult, download: Callback<MouseEvent>) -> Html {
    let r = &result.report;
    let total = r.items.len();
    let headline = if r.passed {
        format!("Passed: {} of {total}", r.score)
    } else if r.error.is_some() {
        "Not graded".to_string()
    } else {
        format!("Not passed yet: {} of {total}", r.score)
    };
    html! {
        <div class={classes!("exercise-result", if r.passed { "passed" } else { "failed" })} data-testid="exercise-result" role="status">
            <h3 data-testid="exercise-verdict">{ headline }</h3>
            if let Some(e) = &r.error {
                <p>{ e.clone() }</p>
            }
            <ul class="lesson-check">
                { for r.items.iter().map(|i| html! {
                    <li class={if i.passed { "ok" } else { "waiting" }}>
                        <span aria-hidden="true">{ if i.passed { "✓ " } else { "✗ " } }</span>
                        <span class="sr-only">{ if i.passed { "passed: " } else { "failed: " } }</span>
                        <code>{ i.what.clone() }</code>{ " — " }{ i.detail.clone() }
                    </li>
                }) }
            </ul>
            if let Some(d) = &r.run_digest {
                <p class="muted">{ format!("Run digest {d}: the same solution gives the same digest anywhere, and the instructor's replay checks it.") }</p>
            }
            <button class="secondary" onclick={download} data-testid="exercise-download">{"Download the result"}</button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs_and_links_name_site_files_only() {
        assert_eq!(
            slug("No throttling at 3,000 records/s"),
            "no-throttling-at-3-000-records-s"
        );
        assert_eq!(slug("  Ada Lovelace "), "ada-lovelace");
        assert!(site_file("no-throttling.md").is_ok());
        assert!(site_file("../secret.md").is_err());
        assert!(site_file("https://example.com/x.md").is_err());
        assert!(site_file("x.json").is_err());
    }
}
