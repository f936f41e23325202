//! Builds the static site: the UI and worker wasm (`web` profile: release
//! with panic=abort), their
//! wasm-bindgen glue, optimised by wasm-opt when the npm `binaryen` package
//! is installed, plus `web/` and `static/`.
//!
//! Every URL in the site is relative, so one build works under any path
//! that ends in `/`. `--base /repo/` also writes `<base href="/repo/">`,
//! so `/repo` without the trailing slash still finds its files.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, root, run, setup, Result};

/// The two wasm packages: the UI (main thread) and the workers.
pub const PACKAGES: [&str; 2] = ["shardlab_ui", "shardlab_worker"];

/// A script of `web/editor/` bundled by esbuild into one ES module of the
/// site: the SQL editor (CodeMirror 6) and the console's AWS SDK
/// (@aws-sdk/client-kinesis), both from npm. Without npm the site gets
/// `fallback` instead (the SQL editor stays a textarea; the console says
/// the SDK is missing).
fn bundle(root: &Path, out: &Path, name: &str, fallback: &str) -> Result<()> {
    let esbuild = root.join("node_modules/.bin/esbuild");
    let target = out.join(name);
    if esbuild.exists() {
        run(Command::new(esbuild)
            .arg(root.join("web/editor").join(name))
            .args([
                "--bundle",
                "--format=esm",
                "--minify",
                "--platform=browser",
                "--legal-comments=none",
            ])
            .arg(format!("--outfile={}", target.display())))
    } else {
        eprintln!("xtask: esbuild not installed (npm ci installs it); {name} is a stand-in");
        std::fs::write(&target, fallback)
            .map_err(|e| format!("could not write {}: {e}", target.display()))
    }
}

pub fn dist(base: &str, out: &Path) -> Result<PathBuf> {
    let started = std::time::Instant::now();
    let root = root();
    prepare_out_dir(out)?;

    run(cargo().args([
        "build",
        "--profile",
        "web",
        "--target",
        setup::WASM_TARGET,
        "-p",
        "shardlab-ui",
        "-p",
        "shardlab-worker",
    ]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let built = target_dir.join(setup::WASM_TARGET).join("web");
    let pkg = out.join("pkg");
    for name in PACKAGES {
        run(Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .arg(built.join(format!("{name}.wasm"))))?;
        let wasm = pkg.join(format!("{name}_bg.wasm"));
        match setup::wasm_opt() {
            Some(wasm_opt) => run(Command::new(wasm_opt)
                .arg("-Oz")
                // The features rustc enables by default for this target.
                .args([
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                    "--enable-sign-ext",
                    "--enable-mutable-globals",
                    "--enable-multivalue",
                    "--enable-reference-types",
                ])
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm))?,
            None => eprintln!(
                "xtask: wasm-opt not installed (npm ci installs it); {name} is not optimised"
            ),
        }
        let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
        eprintln!("xtask: {name}_bg.wasm: {} KiB", size / 1024);
    }

    for entry in read_dir(&root.join("web"))? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".js") || name.ends_with(".html") {
            copy(&entry.path(), &out.join(&*name))?;
        }
    }
    bundle(
        &root,
        out,
        "sql-editor.js",
        "// CodeMirror was not bundled (no npm): the SQL editor is the page's textarea.\nexport function watch() {}\n",
    )?;
    bundle(
        &root,
        out,
        "sdk-kinesis.js",
        "// The AWS SDK was not bundled (no npm).\nexport function consoleClientClass() { throw new Error('the AWS SDK for JavaScript was not bundled into this site (its build had no npm)'); }\n",
    )?;
    copy_tree(&root.join("static"), out)?;
    std::fs::write(out.join(".nojekyll"), "")
        .map_err(|e| format!("could not write .nojekyll: {e}"))?;

    if base != "/" {
        let index = out.join("index.html");
        let html = std::fs::read_to_string(&index)
            .map_err(|e| format!("could not read {}: {e}", index.display()))?;
        let tag = format!("<meta charset=\"utf-8\">\n  <base href=\"{base}\">");
        let html = html.replacen("<meta charset=\"utf-8\">", &tag, 1);
        std::fs::write(&index, html)
            .map_err(|e| format!("could not write {}: {e}", index.display()))?;
    }
    write_service_worker(out)?;
    eprintln!(
        "xtask: site built in {} (base {base}) in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(out.to_path_buf())
}

/// Fills in `sw.js`'s list of files to cache (every file of the site but
/// itself and the benchmark page) and its version, a hash of all of them:
/// any change to the site is a new service worker, and a new cache.
fn write_service_worker(out: &Path) -> Result<()> {
    fn walk(dir: &Path, rel: &str, files: &mut Vec<String>) -> Result<()> {
        for entry in read_dir(dir)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if entry.path().is_dir() {
                walk(&entry.path(), &path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(out, "", &mut files)?;
    files.retain(|f| !["sw.js", ".nojekyll", "bench.html", "bench.js"].contains(&f.as_str()));
    files.sort();
    // FNV-1a over names and contents: stable, and enough to tell builds apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in &files {
        let bytes =
            std::fs::read(out.join(file)).map_err(|e| format!("could not read {file}: {e}"))?;
        for b in file
            .as_bytes()
            .iter()
            .chain([0u8].iter())
            .chain(bytes.iter())
        {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let sw = out.join("sw.js");
    let script = std::fs::read_to_string(&sw).map_err(|e| format!("could not read sw.js: {e}"))?;
    let list = format!(
        "[\n{}\n]",
        files
            .iter()
            .map(|f| format!("  {f:?},"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let script = script
        .replace("'__SHARDLAB_VERSION__'", &format!("'{hash:016x}'"))
        .replace("__SHARDLAB_FILES__", &list);
    std::fs::write(&sw, script).map_err(|e| format!("could not write sw.js: {e}"))?;
    eprintln!(
        "xtask: sw.js caches {} files for offline use (version {hash:016x})",
        files.len()
    );
    Ok(())
}

/// Empties `out`, refusing to touch a folder that does not look like a
/// site we built (so a mistyped `--out` cannot delete someone's files).
fn prepare_out_dir(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = read_dir(out)?.is_empty();
        if !empty && !out.join("index.html").exists() {
            return Err(format!(
                "{} exists and is not a Shardlab build; choose another --out",
                out.display()
            ));
        }
        std::fs::remove_dir_all(out)
            .map_err(|e| format!("could not clear {}: {e}", out.display()))?;
    }
    std::fs::create_dir_all(out).map_err(|e| format!("could not create {}: {e}", out.display()))
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("could not read {}: {e}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| format!("could not read {}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("could not copy {} to {}: {e}", from.display(), to.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| format!("could not create {}: {e}", to.display()))?;
    for entry in read_dir(from)? {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}
