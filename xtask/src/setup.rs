//! Installs what the build and the tests need. Every step checks first and
//! is skipped when already satisfied, so running it twice costs a second.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run as run_cmd;
use crate::{cargo, root, Result};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Needs {
    /// wasm target, wasm-bindgen CLI, npm packages (for wasm-opt).
    pub build: bool,
    /// Chromium, ChromeDriver, Node.js and the end-to-end test packages.
    pub browser: bool,
}

impl Needs {
    pub fn build() -> Needs {
        Needs {
            build: true,
            browser: false,
        }
    }
    pub fn all() -> Needs {
        Needs {
            build: true,
            browser: true,
        }
    }
}

pub fn run(needs: &Needs) -> Result<()> {
    put_cargo_bin_on_path();
    if needs.build {
        wasm_target()?;
        wasm_bindgen_cli()?;
    }
    if needs.browser {
        chromium()?;
    }
    node_packages(needs.browser)?;
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo install` puts tools in `$CARGO_HOME/bin`; make sure we (and the
/// processes we start, such as cargo's wasm test runner) find them.
fn put_cargo_bin_on_path() {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(bin) = home.map(|h| h.join("bin")) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        if !dirs.contains(&bin) {
            dirs.insert(0, bin);
            if let Ok(joined) = std::env::join_paths(dirs) {
                // Single-threaded at this point: nothing else reads the
                // environment concurrently.
                std::env::set_var("PATH", joined);
            }
        }
    }
}

fn wasm_target() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run rustc: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).exists() {
        return Ok(());
    }
    run_cmd(Command::new("rustup").args(["target", "add", WASM_TARGET])).map_err(|e| {
        format!("{e}\nthe Rust target {WASM_TARGET} is missing; install it with rustup")
    })
}

/// The exact wasm-bindgen version in Cargo.lock; the CLI must match it.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("could not read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(v.trim_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

fn wasm_bindgen_cli() -> Result<()> {
    let want = locked_wasm_bindgen_version()?;
    let have = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let ok = |out: Option<String>| {
        out.is_some_and(|s| s.split_whitespace().nth(1) == Some(want.as_str()))
    };
    if ok(have("wasm-bindgen")) && ok(have("wasm-bindgen-test-runner")) {
        return Ok(());
    }
    eprintln!("xtask: installing wasm-bindgen-cli {want} (matches Cargo.lock; a few minutes)");
    // Not `--locked`: its lock file pins a dependency crates.io no longer
    // serves (see ../shared/reference/toolchain.md).
    run_cmd(cargo().args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &format!("={want}"),
        "--force",
    ]))
}

pub fn chromedriver() -> Result<String> {
    if Path::new(CHROMEDRIVER).exists() {
        Ok(CHROMEDRIVER.into())
    } else {
        Err(format!(
            "{CHROMEDRIVER} is missing; run `cargo xtask setup`"
        ))
    }
}

fn chromium() -> Result<()> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push("chromium");
    }
    if !Path::new(CHROMEDRIVER).exists() {
        missing.push("chromium-driver");
    }
    if !on_path("node") || !on_path("npm") {
        missing.extend(["nodejs", "npm"]);
    }
    apt_install(&missing)
}

pub fn apt_install(packages: &[&str]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let list = packages.join(" ");
    if !is_root() {
        return Err(format!(
            "the tests need Debian's {list}; install them with\n\n    sudo apt-get install -y {list}\n\nand run the command again"
        ));
    }
    eprintln!("xtask: installing Debian's {list}");
    run_cmd(Command::new("apt-get").arg("update"))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
/// For a build alone the packages are optional (only wasm-opt comes from
/// there); the tests need them.
fn node_packages(required: bool) -> Result<()> {
    let root = root();
    let lock = root.join("package-lock.json");
    let stamp = root.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(l), Some(s)) = (modified(&lock), modified(&stamp)) {
        if s >= l {
            return Ok(());
        }
    }
    if !on_path("npm") {
        if required {
            return Err("npm is missing; install Debian's nodejs and npm".into());
        }
        eprintln!("xtask: npm is missing, so the build skips wasm-opt (the site still works, only larger)");
        return Ok(());
    }
    run_cmd(
        Command::new("npm")
            .current_dir(&root)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
}

/// The npm `binaryen` package's wasm-opt, if installed. Debian's binaryen
/// is too old for current rustc output and is never used.
pub fn wasm_opt() -> Option<PathBuf> {
    let p = root().join("node_modules/.bin/wasm-opt");
    p.exists().then_some(p)
}
