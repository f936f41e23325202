//! Shardlab's project commands. Run them as `cargo xtask <command>`:
//!
//! - `setup`  install what the other commands need (each step skipped when
//!   already satisfied)
//! - `dist [--base /repo/] [--out DIR]`  build the static site
//! - `serve [--port N] [--base /repo/]`  build it and serve it on 127.0.0.1
//! - `test`   every test: formatting, lints, native tests, wasm tests in
//!   headless Chromium, end-to-end tests of the built site under a sub-path
//! - `bench`  benchmarks, native and in headless Chromium, written to
//!   BENCHMARKS.md
//!
//! Nothing here downloads a prebuilt binary: tools come from crates.io
//! (`cargo install`), Debian (`apt-get`) and the npm registry (`npm ci`).

mod bench;
mod clients;
mod endpoints;
mod serve;
mod setup;
mod site;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(&setup::Needs::all()),
        Some("dist") => Options::parse(&args[1..]).and_then(|o| {
            setup::run(&setup::Needs::build())?;
            site::dist(&o.base, &o.out).map(|_| ())
        }),
        Some("serve") => Options::parse(&args[1..]).and_then(|o| {
            setup::run(&setup::Needs::build())?;
            site::dist(&o.base, &o.out)?;
            serve::serve_forever(&o.out, &o.base, o.port)
        }),
        Some("test") => run_tests(),
        Some("bench") => bench::run(),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "\
usage: cargo xtask <command>

  serve [--port 8000] [--base /]   build the site into dist/ and serve it on 127.0.0.1
  test                             run every test (native, wasm in Chromium, end to end)
  dist [--base /repo/] [--out dist] build the static site (e.g. for GitHub Pages)
  bench                            run benchmarks and write BENCHMARKS.md
  setup                            install the tools the commands above need
";

struct Options {
    base: String,
    out: PathBuf,
    port: u16,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            base: "/".into(),
            out: root().join("dist"),
            port: 8000,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--base" => o.base = normalise_base(&value()?)?,
                "--out" => o.out = PathBuf::from(value()?),
                "--port" => {
                    let v = value()?;
                    o.port = v.parse().map_err(|_| {
                        format!("--port must be a number from 0 to 65535, not `{v}`")
                    })?
                }
                other => return Err(format!("unknown option `{other}`\n\n{USAGE}")),
            }
        }
        Ok(o)
    }
}

/// `/shardlab`, `shardlab/` and `/shardlab/` all become `/shardlab/`.
pub fn normalise_base(base: &str) -> Result<String> {
    let trimmed = base.trim_matches('/');
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || "-_./~".contains(c)))
    {
        return Err(format!(
            "--base `{base}` may only contain letters, digits and - _ . / ~"
        ));
    }
    if trimmed.is_empty() {
        Ok("/".into())
    } else {
        Ok(format!("/{trimmed}/"))
    }
}

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR`, or `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Runs `cmd`, echoing it, and fails if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: $ {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(cmd)))
    }
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    if std::env::var_os("CI").is_some() {
        // A clean clone builds once: incremental caches (2 GB of target/
        // in a full test run) would only take disk.
        c.env("CARGO_INCREMENTAL", "0");
    }
    c
}

fn step(name: &str) {
    eprintln!("\nxtask: ==== {name} ====");
}

fn run_tests() -> Result<()> {
    let started = std::time::Instant::now();
    setup::run(&setup::Needs::all())?;

    step("formatting");
    run(cargo().args(["fmt", "--all", "--check"]))?;

    step("lints");
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "shardlab-ui",
        "-p",
        "shardlab-worker",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("native tests");
    run(cargo().args(["test", "--workspace"]))?;

    step("real AWS clients (boto3, AWS CLI) against the native endpoint");
    clients::test()?;

    step("wasm tests in headless Chromium");
    run(cargo()
        .args([
            "test",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "shardlab-worker",
            "--tests",
        ])
        .env("CHROMEDRIVER", setup::chromedriver()?)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120"))?;

    step("end-to-end tests of the built site under /shardlab/");
    let base = "/shardlab/";
    let out = root().join("target").join("e2e-site");
    site::dist(base, &out)?;
    let server = serve::Server::start(&out, base, 0)?;
    let url = format!("http://127.0.0.1:{}{base}", server.port());
    eprintln!("xtask: serving {} at {url}", out.display());
    let mut suites: Vec<String> = std::fs::read_dir(root().join("web/e2e"))
        .map_err(|e| format!("could not read web/e2e: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .map(|name| format!("web/e2e/{name}"))
        .collect();
    suites.sort();
    if suites.is_empty() {
        return Err("no end-to-end tests found in web/e2e/*.test.mjs".into());
    }
    run(Command::new("node")
        .current_dir(root())
        .args(["--test", "--test-concurrency=1"])
        .args(&suites)
        .env("SHARDLAB_URL", &url))?;
    drop(server);

    eprintln!(
        "\nxtask: all tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalise_base;

    #[test]
    fn base_paths_are_normalised() {
        assert_eq!(normalise_base("/").unwrap(), "/");
        assert_eq!(normalise_base("").unwrap(), "/");
        assert_eq!(normalise_base("shardlab").unwrap(), "/shardlab/");
        assert_eq!(normalise_base("/shardlab").unwrap(), "/shardlab/");
        assert_eq!(normalise_base("/a/b/").unwrap(), "/a/b/");
        assert!(normalise_base("/a b/").is_err());
        assert!(normalise_base("/<x>/").is_err());
    }
}
