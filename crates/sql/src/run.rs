//! Running an application over a JSON-lines input, the path both
//! `shardlab sql` and the golden tests take.
//!
//! Each input line is one of:
//! - a record: `{"rowtime": "2018-11-01 01:00:00", "stream": "WEATHERSTREAM",
//!   "arrival": "...", "data": {...}}` (`stream` defaults to the only input
//!   stream, or SOURCE_SQL_STREAM_001; `arrival`, the record's
//!   APPROXIMATE_ARRIVAL_TIME, defaults to its rowtime; `rowtime` defaults
//!   to `arrival`; `data` is a JSON object, or a string holding the raw
//!   record, e.g. a CSV line);
//! - a rowtime bound: `{"bound": "2018-11-04 00:00:00"}`;
//! - a reference-table row: `{"table": "CompanyName", "row": {...}}`.
//!
//! Times are `yyyy-MM-dd HH:mm:ss[.fff]` (a `T` and a `Z` are accepted) or
//! epoch milliseconds. Output lines are JSON objects with the stream's
//! name, the row's ROWTIME and its columns, in the order produced.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::app::{
    discover_schema, AppConfig, Application, InputColumn, Record, RecordFormat, ReferenceTable,
    SourceSchema,
};
use crate::error::SqlError;
use crate::value::{parse_timestamp, SqlType, Value};

/// A JSON object with its keys in the order written (column order).
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

enum Line {
    Record {
        stream: Option<String>,
        rowtime: i64,
        arrival: i64,
        data: serde_json::Value,
        keys: Vec<String>,
    },
    Bound(i64),
    TableRow {
        table: String,
        row: Vec<(String, serde_json::Value)>,
    },
}

fn time(v: &serde_json::Value, what: &str, n: usize) -> Result<i64, String> {
    match v {
        serde_json::Value::Number(x) => {
            x.as_i64().and_then(crate::value::checked_timestamp).ok_or_else(|| {
                format!("line {n}: {what} must be whole epoch milliseconds within the years 0001 to 9999")
            })
        }
        serde_json::Value::String(s) => parse_timestamp(s).ok_or_else(|| {
            format!("line {n}: {what} '{s}' is not a timestamp (yyyy-MM-dd HH:mm:ss.fff)")
        }),
        _ => Err(format!(
            "line {n}: {what} must be a timestamp string or epoch milliseconds"
        )),
    }
}

fn parse_line(text: &str, n: usize) -> Result<Option<Line>, String> {
    let t = text.trim();
    if t.is_empty() || t.starts_with("//") {
        return Ok(None);
    }
    let Ordered(fields) =
        serde_json::from_str(t).map_err(|e| format!("line {n}: not a JSON object: {e}"))?;
    let get = |k: &str| fields.iter().find(|(x, _)| x == k).map(|(_, v)| v);
    if let Some(b) = get("bound") {
        return Ok(Some(Line::Bound(time(b, "bound", n)?)));
    }
    if let Some(table) = get("table") {
        let table = table
            .as_str()
            .ok_or_else(|| format!("line {n}: table must be a name"))?
            .to_string();
        let row_text = get("row")
            .ok_or_else(|| format!("line {n}: a table line needs \"row\""))?
            .to_string();
        let Ordered(row) =
            serde_json::from_str(&row_text).map_err(|e| format!("line {n}: row: {e}"))?;
        return Ok(Some(Line::TableRow { table, row }));
    }
    let data = get("data")
        .ok_or_else(|| {
            format!("line {n}: a record line needs \"data\" (or use \"bound\" or \"table\")")
        })?
        .clone();
    let (rowtime, arrival) = match (get("rowtime"), get("arrival")) {
        (Some(r), Some(a)) => (time(r, "rowtime", n)?, time(a, "arrival", n)?),
        (Some(r), None) => {
            let r = time(r, "rowtime", n)?;
            (r, r)
        }
        (None, Some(a)) => {
            let a = time(a, "arrival", n)?;
            (a, a)
        }
        (None, None) => {
            return Err(format!(
                "line {n}: a record needs \"rowtime\" or \"arrival\""
            ))
        }
    };
    // Column order as the line wrote it (serde_json's map sorts keys).
    let keys = match &data {
        serde_json::Value::Object(_) => {
            let start = t.find("\"data\"").unwrap_or(0);
            order_from_text(&t[start..])
        }
        _ => Vec::new(),
    };
    let stream = get("stream").and_then(|s| s.as_str()).map(str::to_string);
    Ok(Some(Line::Record {
        stream,
        rowtime,
        arrival,
        data,
        keys,
    }))
}

/// The keys of the first object in `text`, in written order.
fn order_from_text(text: &str) -> Vec<String> {
    let Some(brace) = text.find('{') else {
        return Vec::new();
    };
    let mut de = serde_json::Deserializer::from_str(&text[brace..]);
    match Ordered::deserialize(&mut de) {
        Ok(Ordered(f)) => f.into_iter().map(|(k, _)| k).collect(),
        Err(_) => Vec::new(),
    }
}

/// Reads a KDA `InputSchema` JSON document.
pub fn parse_input_schema(name: &str, v: &serde_json::Value) -> Result<SourceSchema, String> {
    let cols = v
        .get("RecordColumns")
        .and_then(|c| c.as_array())
        .ok_or("InputSchema needs RecordColumns (a list)")?;
    if cols.is_empty() || cols.len() > 1000 {
        return Err("RecordColumns must have 1 to 1,000 columns".into());
    }
    let mut columns = Vec::new();
    for c in cols {
        let n = c
            .get("Name")
            .and_then(|x| x.as_str())
            .ok_or("each RecordColumn needs a Name")?;
        let t = c
            .get("SqlType")
            .and_then(|x| x.as_str())
            .ok_or("each RecordColumn needs a SqlType")?;
        let ty = crate::plan::type_from_text(t)
            .ok_or_else(|| format!("column {n}: unknown SqlType {t}"))?;
        let mapping = c
            .get("Mapping")
            .and_then(|x| x.as_str())
            .map(str::to_string);
        columns.push(InputColumn {
            name: n.to_string(),
            ty,
            mapping,
        });
    }
    let fmt = v.get("RecordFormat");
    let kind = fmt
        .and_then(|f| f.get("RecordFormatType"))
        .and_then(|x| x.as_str())
        .unwrap_or("JSON");
    let format = match kind {
        "JSON" => RecordFormat::Json,
        "CSV" => {
            let delim = fmt
                .and_then(|f| {
                    f.pointer("/MappingParameters/CSVMappingParameters/RecordColumnDelimiter")
                })
                .and_then(|x| x.as_str())
                .unwrap_or(",");
            RecordFormat::Csv {
                delimiter: delim.to_string(),
            }
        }
        other => return Err(format!("RecordFormatType must be JSON or CSV, not {other}")),
    };
    Ok(SourceSchema {
        name: name.to_string(),
        columns,
        format,
    })
}

/// Shows an error under the line it points at.
pub fn format_error(sql: &str, e: &SqlError) -> String {
    let mut out = format!("error: {}:{}: {}", e.line, e.column, e.message);
    if let Some(line) = sql.lines().nth(e.line.saturating_sub(1) as usize) {
        if e.line > 0 {
            out.push_str(&format!(
                "\n  {line}\n  {}^",
                " ".repeat(e.column.saturating_sub(1) as usize)
            ));
        }
    }
    out
}

/// Runs `sql` over a JSON-lines input; returns the output lines.
/// `schemas` are KDA InputSchemas by stream name; streams without one get
/// a schema discovered from their records.
pub fn run_jsonl(
    sql: &str,
    input: &str,
    schemas: &[(String, serde_json::Value)],
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for (i, l) in input.lines().enumerate() {
        if let Some(line) = parse_line(l, i + 1)? {
            lines.push(line);
        }
    }
    // Which streams records go to, their schemas, and the tables.
    let mut config = AppConfig::default();
    let flink_probe = crate::parse::parse_application(sql).map_err(|e| format_error(sql, &e))?;
    let flink = flink_probe
        .iter()
        .any(|s| matches!(s, crate::parse::Statement::CreateTable { .. }));
    let default_stream = "SOURCE_SQL_STREAM_001".to_string();
    let mut samples: Vec<(String, Vec<&serde_json::Value>, Vec<String>)> = Vec::new();
    for l in &lines {
        if let Line::Record {
            stream, data, keys, ..
        } = l
        {
            let name = stream.clone().unwrap_or_else(|| default_stream.clone());
            match samples.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, v, k)) => {
                    v.push(data);
                    for key in keys {
                        if !k.contains(key) {
                            k.push(key.clone());
                        }
                    }
                }
                None => samples.push((name, vec![data], keys.clone())),
            }
        }
    }
    if !flink {
        for (name, s) in schemas {
            config
                .sources
                .push(parse_input_schema(name, s).map_err(|m| format!("schema for {name}: {m}"))?);
        }
        for (name, data, keys) in &samples {
            if config.sources.iter().any(|s| s.name == *name) {
                continue;
            }
            let mut schema = discover_schema(name, data);
            schema
                .columns
                .sort_by_key(|c| keys.iter().position(|k| *k == c.name).unwrap_or(usize::MAX));
            config.sources.push(schema);
        }
        if config.sources.is_empty() {
            config.sources.push(SourceSchema {
                name: default_stream.clone(),
                columns: vec![InputColumn {
                    name: "DATA".into(),
                    ty: SqlType::Varchar(None),
                    mapping: None,
                }],
                format: RecordFormat::Json,
            });
        }
    }
    for l in &lines {
        if let Line::TableRow { table, row } = l {
            let t = match config.tables.iter_mut().position(|t| t.name == *table) {
                Some(i) => &mut config.tables[i],
                None => {
                    let columns = row
                        .iter()
                        .map(|(k, v)| {
                            let ty = match v {
                                serde_json::Value::Number(n) if n.is_i64() => SqlType::BigInt,
                                serde_json::Value::Number(_) => SqlType::Double,
                                serde_json::Value::Bool(_) => SqlType::Boolean,
                                _ => SqlType::Varchar(None),
                            };
                            (k.clone(), ty)
                        })
                        .collect();
                    config.tables.push(ReferenceTable {
                        name: table.clone(),
                        columns,
                        rows: Vec::new(),
                    });
                    config.tables.last_mut().expect("just pushed")
                }
            };
            let mut values = Vec::new();
            for (name, ty) in &t.columns {
                let v = row
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| crate::app::json_path(v, "$"))
                    .unwrap_or(Value::Null);
                values.push(
                    v.coerce(ty)
                        .map_err(|e| format!("table {table}: {}", e.0))?,
                );
            }
            t.rows.push(values);
        }
    }
    config.start_ms = lines
        .iter()
        .find_map(|l| match l {
            Line::Record { rowtime, .. } => Some(*rowtime),
            Line::Bound(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(0);
    let mut app = Application::compile(sql, &config).map_err(|e| format_error(sql, &e))?;
    let inputs: Vec<String> = app.input_streams().iter().map(|s| s.to_string()).collect();
    let fallback = if inputs.len() == 1 {
        inputs[0].clone()
    } else {
        default_stream
    };
    let mut out = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        match l {
            Line::Record {
                stream,
                rowtime,
                arrival,
                data,
                ..
            } => {
                let name = stream.clone().unwrap_or_else(|| fallback.clone());
                let rec = match data {
                    serde_json::Value::String(s) => Record::Text(s),
                    v => Record::Json(v),
                };
                app.push_record(&name, *rowtime, *arrival, rec)
                    .map_err(|m| format!("input record {}: {m}", n + 1))?;
            }
            Line::Bound(t) => app.push_bound(*t),
            Line::TableRow { .. } => {}
        }
        out.extend(app.take_outputs().iter().map(|r| r.to_json_line()));
    }
    app.finish();
    out.extend(app.take_outputs().iter().map(|r| r.to_json_line()));
    Ok(out)
}

/// "Show as Flink SQL" from the command line: the source table's columns
/// are discovered from the input's SOURCE_SQL_STREAM_001 records, if any.
pub fn to_flink(
    sql: &str,
    input: &str,
    kinesis_stream: &str,
) -> Result<crate::flink::FlinkTranslation, String> {
    let mut data = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (i, l) in input.lines().enumerate() {
        if let Some(Line::Record {
            stream,
            data: d,
            keys: k,
            ..
        }) = parse_line(l, i + 1)?
        {
            if stream
                .as_deref()
                .is_none_or(|s| s == "SOURCE_SQL_STREAM_001")
            {
                data.push(d);
                for key in k {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
    }
    let refs: Vec<&serde_json::Value> = data.iter().collect();
    let mut schema = discover_schema("SOURCE_SQL_STREAM_001", &refs);
    schema
        .columns
        .sort_by_key(|c| keys.iter().position(|k| *k == c.name).unwrap_or(usize::MAX));
    let source = crate::flink::FlinkSource {
        kinesis_stream: kinesis_stream.to_string(),
        initial_position: "TRIM_HORIZON".into(),
        columns: schema.columns.into_iter().map(|c| (c.name, c.ty)).collect(),
        outputs: Vec::new(),
    };
    crate::flink::translate(sql, &source).map_err(|e| format_error(sql, &e))
}
