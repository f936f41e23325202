//! Real AWS clients (boto3 and the AWS CLI, from PyPI) against the native
//! endpoint: `shardlab serve --port 0` in release, then the Python tests in
//! `crates/server/tests/clients/`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::{cargo, root, run, Result};

const REQUIREMENTS: &str = "crates/server/tests/clients/requirements.txt";

fn venv() -> PathBuf {
    root().join("target").join("pyenv")
}

/// A virtualenv in target/ with the pinned client packages; reinstalled
/// only when requirements.txt is newer than the environment.
pub fn setup() -> Result<()> {
    let python = venv().join("bin").join("python");
    let stamp = venv().join("requirements.installed");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if python.exists() {
        if let (Some(s), Some(r)) = (modified(&stamp), modified(&root().join(REQUIREMENTS))) {
            if s >= r {
                return Ok(());
            }
        }
    }
    let have_venv = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !have_venv {
        crate::setup::apt_install(&["python3", "python3-venv"])?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(venv()))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(root().join(REQUIREMENTS)))?;
    std::fs::write(&stamp, "").map_err(|e| format!("could not write {}: {e}", stamp.display()))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn test() -> Result<()> {
    setup()?;
    run(cargo().args(["build", "--release", "-p", "shardlab-server"]))?;
    let mut child = Command::new(crate::target_dir().join("release").join("shardlab"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start shardlab serve: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout from shardlab serve")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("could not read shardlab's address: {e}"))?;
    let endpoint = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("shardlab serve printed `{}`, not its address", line.trim()))?
        .to_string();
    eprintln!("xtask: shardlab serve is at {endpoint}");
    let bin = venv().join("bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.clone()];
    dirs.extend(std::env::split_paths(&path));
    let result = run(Command::new(bin.join("python"))
        .current_dir(root().join("crates/server/tests/clients"))
        .args(["-m", "unittest", "-v", "test_real_clients"])
        .env("SHARDLAB_ENDPOINT", &endpoint)
        .env(
            "SHARDLAB_BIN",
            crate::target_dir().join("release").join("shardlab"),
        )
        .env(
            "PATH",
            std::env::join_paths(dirs).map_err(|e| e.to_string())?,
        ));
    drop(server);
    result
}
