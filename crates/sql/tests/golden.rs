//! Golden tests: each directory under `tests/golden/` holds an application
//! (`app.sql`), its input (`input.jsonl`, the format `shardlab sql` reads),
//! optional KDA input schemas (`schema.<STREAM>.json`) and the exact output
//! expected (`expected.jsonl`), checked against what AWS documents for the
//! published cases. The run goes through `run_jsonl`, the same path as
//! `shardlab sql`.

use std::path::Path;

fn run_case(dir: &Path) -> Result<(), String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"));
    let sql = read("app.sql")?;
    let input = read("input.jsonl")?;
    let mut schemas = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let name = entry
            .map_err(|e| e.to_string())?
            .file_name()
            .to_string_lossy()
            .to_string();
        if let Some(stream) = name
            .strip_prefix("schema.")
            .and_then(|n| n.strip_suffix(".json"))
        {
            let json = serde_json::from_str(&read(&name)?).map_err(|e| format!("{name}: {e}"))?;
            schemas.push((stream.to_string(), json));
        }
    }
    let got = shardlab_sql::run::run_jsonl(&sql, &input, &schemas)?;
    let expected: Vec<String> = read("expected.jsonl")?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if got != expected {
        let mut msg = String::from("output differs\n--- expected\n");
        for l in &expected {
            msg.push_str(&format!("  {l}\n"));
        }
        msg.push_str("--- got\n");
        for l in &got {
            msg.push_str(&format!("  {l}\n"));
        }
        return Err(msg);
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "the golden cases are missing");
    let mut failures = Vec::new();
    for d in &dirs {
        if let Err(e) = run_case(d) {
            failures.push(format!(
                "{}: {e}",
                d.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
