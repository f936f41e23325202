//! Moving to AWS: the AWS CLI script and the CloudFormation template that
//! create on AWS what the current stream's scenario makes here (see
//! `shardlab_sim::export`), to read, copy or download. The simulation
//! worker writes them (they need the producer's record generator, which
//! the page does not carry).

use yew::prelude::*;

use crate::{App, Msg};

/// The export of the scenario a stream was created from.
#[derive(Clone, Debug, PartialEq)]
pub struct AwsExport {
    pub stream_name: String,
    pub script: String,
    pub template: String,
}

pub fn card(app: &App, ctx: &Context<App>) -> Html {
    let Some(live) = app.live.as_ref() else {
        return html! {};
    };
    let body = match &app.aws_export {
        Some(Ok(x)) if x.stream_name == live.snapshot.stream_name => x,
        Some(Err(e)) if app.aws_export_of == live.snapshot.stream_name => {
            return html! {
                <div class="card aws" data-testid="aws">
                    <h2>{"Move to AWS"}</h2>
                    <p class="bad">{ format!("This stream cannot be exported: {e}") }</p>
                </div>
            }
        }
        _ => return html! {},
    };
    let save = |file: String, text: String| {
        ctx.link()
            .callback(move |_| Msg::SaveText(file.clone(), text.clone()))
    };
    let script_file = format!("{}-create.sh", body.stream_name);
    let template_file = format!("{}-cloudformation.json", body.stream_name);
    html! {
        <div class="card aws" data-testid="aws">
            <h2>{"Move to AWS"}</h2>
            <p class="muted">{"The same stream, delivery streams, buckets, functions and roles on AWS, as this stream was created (later changes of rate or retention are not in them). Run the script with the AWS CLI v2, or deploy the template with CloudFormation: "}<code>{ format!("aws cloudformation deploy --template-file {template_file} --stack-name {} --capabilities CAPABILITY_IAM", body.stream_name) }</code>{". What they create costs money while it exists."}</p>
            <details data-testid="aws-cli">
                <summary>{"AWS CLI commands"}</summary>
                <button class="secondary" onclick={save(script_file, body.script.clone())} data-testid="aws-cli-download">{"Download the script"}</button>
                <pre class="mono export" data-testid="aws-cli-text">{ &body.script }</pre>
            </details>
            <details data-testid="aws-cloudformation">
                <summary>{"CloudFormation template"}</summary>
                <button class="secondary" onclick={save(template_file, body.template.clone())} data-testid="aws-cloudformation-download">{"Download the template"}</button>
                <pre class="mono export" data-testid="aws-cloudformation-text">{ &body.template }</pre>
            </details>
            <details data-testid="aws-flink">
                <summary>{"Flink SQL (Managed Service for Apache Flink)"}</summary>
                { flink(app, ctx, &body.stream_name) }
            </details>
        </div>
    }
}

/// The SQL application as Flink SQL, for a Managed Service for Apache Flink
/// Studio notebook or application: the SQL panel's translation (its *Show
/// as Flink SQL*), made here too.
fn flink(app: &App, ctx: &Context<App>, stream: &str) -> Html {
    let translate = ctx.link().callback(|_| Msg::SqlTranslate);
    match &app.sql.flink {
        Some((sql, notes)) => {
            let file = format!("{stream}-flink.sql");
            let text = sql.clone();
            let save = ctx
                .link()
                .callback(move |_| Msg::SaveText(file.clone(), text.clone()));
            html! {
                <>
                <p class="muted">{"Kinesis Data Analytics for SQL is retired; its successor runs this. The source table reads the stream above with the columns discovered from its records."}</p>
                <button class="secondary" onclick={save} data-testid="aws-flink-download">{"Download the Flink SQL"}</button>
                <pre class="mono export" data-testid="aws-flink-text">{ sql.clone() }</pre>
                if !notes.is_empty() {
                    <ul class="muted">{ for notes.iter().map(|n| html! { <li>{ n.clone() }</li> }) }</ul>
                }
                </>
            }
        }
        None => html! {
            <>
            <p class="muted">{"The SQL panel's application, translated as AWS's migration guide maps Kinesis Data Analytics SQL to Flink SQL (untranslatable parts are listed)."}</p>
            <button class="secondary" onclick={translate} data-testid="aws-flink-make">{"Translate the SQL panel's application"}</button>
            </>
        },
    }
}
