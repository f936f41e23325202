//! A running SQL application: its streams (sources, in-application streams,
//! Flink tables), its pumps, and `error_stream`.
//!
//! Records enter a source stream in ROWTIME order; each row is pushed
//! depth-first through every pump that reads the stream, in the order the
//! pumps were created, so the output is a function of the input alone.
//! Rowtime bounds (from the virtual clock) travel the same way; a stream
//! with several writers passes on the smallest bound they have all reached.

use std::collections::HashMap;

use sqlparser::ast;
use sqlparser::tokenizer::Location;

use crate::error::SqlError;
use crate::expr::{Expr, Row, RowError};
use crate::ops::{Event, Failure, Pipeline};
use crate::parse::{parse_application, Statement};
use crate::plan::{find_name, normalize, plan_query, sql_type, Catalog, Col};
use crate::value::{format_timestamp, SqlType, Value};

/// The name KDA gives the error stream.
pub const ERROR_STREAM: &str = "error_stream";

/// How a source's records are read into columns (KDA's InputSchema).
#[derive(Clone, Debug, PartialEq)]
pub enum RecordFormat {
    /// Each column has a JSONPath mapping (`$.PRICE`), by default `$.NAME`.
    Json,
    /// Columns by position, split on the delimiter.
    Csv { delimiter: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct InputColumn {
    pub name: String,
    pub ty: SqlType,
    /// JSONPath such as `$.ticker` or `$.order.price`.
    pub mapping: Option<String>,
}

/// A source in-application stream and how records map onto it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSchema {
    pub name: String,
    pub columns: Vec<InputColumn>,
    pub format: RecordFormat,
}

/// A reference table loaded before the application runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceTable {
    pub name: String,
    pub columns: Vec<(String, SqlType)>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Clone, Debug, Default)]
pub struct AppConfig {
    pub sources: Vec<SourceSchema>,
    pub tables: Vec<ReferenceTable>,
    /// When the application starts (CURRENT_TIMESTAMP), epoch ms.
    pub start_ms: i64,
}

/// A row an application produced, for the results view and outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputRow {
    pub stream: String,
    pub rowtime: i64,
    pub values: Vec<(String, Value)>,
}

impl OutputRow {
    /// One JSON object: `{"stream": ..., "ROWTIME": ..., columns...}`.
    pub fn to_json_line(&self) -> String {
        let mut s = String::from("{\"stream\":");
        s.push_str(&serde_json::Value::String(self.stream.clone()).to_string());
        // A query that selects ROWTIME has it as a column already.
        if !self.values.iter().any(|(k, _)| k == "ROWTIME") {
            s.push_str(",\"ROWTIME\":");
            s.push_str(&serde_json::Value::String(format_timestamp(self.rowtime)).to_string());
        }
        for (k, v) in &self.values {
            s.push(',');
            s.push_str(&serde_json::Value::String(k.clone()).to_string());
            s.push(':');
            match v {
                // Exact decimals keep their scale: 11.00, not 11.0.
                Value::Decimal(u, sc) => s.push_str(&crate::value::format_decimal(*u, *sc)),
                // A REAL prints as the single it is: 183.57, not
                // 183.57000732421875 (format_float's shortest form).
                Value::Float(f) if f.is_finite() => s.push_str(&crate::value::format_float(*f)),
                v => s.push_str(&v.to_json().to_string()),
            }
        }
        s.push('}');
        s
    }
}

/// A record as it arrives from a source.
#[derive(Clone, Debug)]
pub enum Record<'a> {
    Json(&'a serde_json::Value),
    Text(&'a str),
}

/// A stream as the results view lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamInfo {
    pub name: String,
    pub kind: StreamKind,
    pub columns: Vec<(String, Option<SqlType>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StreamKind {
    /// Fed by records (KDA's SOURCE_SQL_STREAM_001).
    Source,
    /// CREATE STREAM.
    InApp,
    /// A Flink CREATE TABLE ... WITH ('connector' = ...).
    Table,
    /// A query's results.
    Query,
}

struct FlinkSource {
    /// Columns read from the record (by name), then metadata, then computed.
    physical: usize,
    metadata: Vec<(usize, String)>,
    computed: Vec<Expr>,
    watermark: Option<Expr>,
    watermark_ms: i64,
}

struct Stream {
    name: String,
    cols: Vec<Col>,
    kind: StreamKind,
    source: Option<SourceSchema>,
    flink: Option<FlinkSource>,
    /// Pumps reading this stream, in creation order.
    readers: Vec<usize>,
    /// The last bound from each writer (slot 0 is the outside world).
    writer_bounds: Vec<i64>,
    /// Fed from outside (records and clock bounds): a source, or a Flink
    /// table no INSERT writes to.
    external: bool,
    bound: i64,
    last_rowtime: i64,
}

struct Pump {
    name: String,
    pipeline: Pipeline,
    /// None for a side pump (a stream join's window feed).
    target: Option<usize>,
    slot: usize,
    /// Target column for each output column.
    mapping: Vec<usize>,
}

/// A compiled, running application.
pub struct Application {
    streams: Vec<Stream>,
    pumps: Vec<Pump>,
    tables: Vec<ReferenceTable>,
    flink: bool,
    start_ms: i64,
    outputs: Vec<OutputRow>,
    pub rows_in: u64,
}

struct Cat<'a> {
    streams: &'a [Stream],
    tables: &'a [ReferenceTable],
    flink: bool,
    start_ms: i64,
    side: std::cell::RefCell<Vec<(usize, Pipeline)>>,
}

impl Catalog for Cat<'_> {
    fn stream(&self, name: &ast::Ident) -> Option<(usize, Vec<Col>)> {
        let i = find_name(
            name,
            self.flink,
            self.streams
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.as_str(), i)),
        )?;
        Some((i, self.streams[i].cols.clone()))
    }

    fn table(&self, name: &ast::Ident) -> Option<(Vec<Col>, Vec<Vec<Value>>)> {
        let t = find_name(
            name,
            self.flink,
            self.tables.iter().map(|t| (t.name.as_str(), t)),
        )?;
        let cols = t
            .columns
            .iter()
            .map(|(n, ty)| Col::new(n, Some(ty.clone())))
            .collect();
        Some((cols, t.rows.clone()))
    }

    fn flink(&self) -> bool {
        self.flink
    }

    fn start_ms(&self) -> i64 {
        self.start_ms
    }

    fn side_input(&self, stream: usize, pipeline: Pipeline) {
        self.side.borrow_mut().push((stream, pipeline));
    }
}

fn loc_err(at: Location, msg: impl Into<String>) -> SqlError {
    SqlError::at(at, None, msg.into())
}

fn with_qual(mut cols: Vec<Col>, q: &str) -> Vec<Col> {
    for c in &mut cols {
        c.quals = vec![q.to_string()];
    }
    cols
}

impl Application {
    /// Parses and plans an application.
    pub fn compile(sql: &str, config: &AppConfig) -> Result<Application, SqlError> {
        let statements = parse_application(sql)?;
        let flink = statements
            .iter()
            .any(|s| matches!(s, Statement::CreateTable { .. }));
        let mut app = Application {
            streams: Vec::new(),
            pumps: Vec::new(),
            tables: config.tables.clone(),
            flink,
            start_ms: config.start_ms,
            outputs: Vec::new(),
            rows_in: 0,
        };
        for s in &config.sources {
            let mut cols: Vec<Col> = s
                .columns
                .iter()
                .map(|c| Col::new(&c.name, Some(c.ty.clone())))
                .collect();
            cols.push(Col {
                hidden: true,
                ..Col::new("APPROXIMATE_ARRIVAL_TIME", Some(SqlType::Timestamp))
            });
            app.add_stream(&s.name, cols, StreamKind::Source, Some(s.clone()), None);
        }
        // Streams and tables first, so pumps may be written in any order.
        for st in &statements {
            match st {
                Statement::CreateStream { name, columns, at } => {
                    let n = normalize(name, flink);
                    if n.chars().count() > 32 {
                        return Err(loc_err(
                            *at,
                            format!("The stream name {n} is longer than 32 characters."),
                        ));
                    }
                    let mut cols = Vec::new();
                    for c in columns {
                        let ty =
                            sql_type(&c.data_type).map_err(|m| loc_err(c.name.span.start, m))?;
                        cols.push(Col::new(&normalize(&c.name, flink), Some(ty)));
                    }
                    app.replace_or_add(&n, cols, StreamKind::InApp, None, *at)?;
                }
                Statement::CreateTable {
                    name,
                    columns,
                    computed,
                    watermark,
                    at,
                    ..
                } => {
                    let n = normalize(name, flink);
                    let mut cols = Vec::new();
                    let mut metadata = Vec::new();
                    for c in columns {
                        let ty =
                            sql_type(&c.data_type).map_err(|m| loc_err(c.name.span.start, m))?;
                        if let Some(key) = &c.metadata {
                            if key != "timestamp" {
                                return Err(loc_err(c.name.span.start, format!("The only Kinesis metadata column is 'timestamp' (the arrival time), not '{key}'.")));
                            }
                            metadata.push((cols.len(), key.clone()));
                        }
                        cols.push(Col::new(&normalize(&c.name, flink), Some(ty)));
                    }
                    let physical = cols.len();
                    let cat = Cat {
                        streams: &[],
                        tables: &[],
                        flink,
                        start_ms: app.start_ms,
                        side: Default::default(),
                    };
                    let mut comp = Vec::new();
                    for (cn, e) in computed {
                        let qcols = with_qual(cols.clone(), &n);
                        let x = crate::plan::compile_scalar(e, &qcols, &cat)?;
                        let ty = if matches!(x, Expr::Rowtime) {
                            Some(SqlType::Timestamp)
                        } else {
                            None
                        };
                        let proctime = matches!(x, Expr::Rowtime);
                        cols.push(Col {
                            proctime,
                            ..Col::new(&normalize(cn, flink), ty)
                        });
                        comp.push(x);
                    }
                    let wm = match watermark {
                        Some(w) => {
                            let (col, e) = w.as_ref();
                            let qcols = with_qual(cols.clone(), &n);
                            if find_name(col, flink, qcols.iter().map(|c| (c.name.as_str(), ())))
                                .is_none()
                            {
                                return Err(loc_err(
                                    col.span.start,
                                    format!(
                                        "WATERMARK FOR names a column of the table; {} is not one.",
                                        normalize(col, flink)
                                    ),
                                ));
                            }
                            Some(crate::plan::compile_scalar(e, &qcols, &cat)?)
                        }
                        None => None,
                    };
                    let fs = FlinkSource {
                        physical,
                        metadata,
                        computed: comp,
                        watermark: wm,
                        watermark_ms: i64::MIN,
                    };
                    app.replace_or_add(&n, cols, StreamKind::Table, Some(fs), *at)?;
                }
                _ => {}
            }
        }
        let mut queries = 0;
        for st in &statements {
            let (pump_name, target, columns, query, at) = match st {
                Statement::Insert {
                    pump,
                    target,
                    columns,
                    query,
                    at,
                } => (
                    pump.as_ref().map(|p| normalize(p, flink)),
                    Some(target),
                    columns.clone(),
                    query,
                    *at,
                ),
                Statement::Query { query, at } => (None, None, Vec::new(), query, *at),
                _ => continue,
            };
            let cat = Cat {
                streams: &app.streams,
                tables: &app.tables,
                flink,
                start_ms: app.start_ms,
                side: Default::default(),
            };
            let planned = plan_query(query, &cat)?;
            let side = cat.side.take();
            for (stream, pipeline) in side {
                let idx = app.pumps.len();
                app.streams[stream].readers.push(idx);
                app.pumps.push(Pump {
                    name: "(stream join window)".into(),
                    pipeline,
                    target: None,
                    slot: 0,
                    mapping: Vec::new(),
                });
            }
            let target_idx = match target {
                Some(t) => find_name(t, flink, app.streams.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)))
                    .ok_or_else(|| {
                        SqlError::at(t.span.start, Some(t.value.clone()), format!("No stream named {} to insert into; create it first with CREATE STREAM.", normalize(t, flink)))
                    })?,
                None => {
                    queries += 1;
                    let cols = planned.columns.iter().map(|c| Col::new(&c.name, c.ty.clone())).collect();
                    let name = format!("QUERY_{queries}");
                    app.add_stream(&name, cols, StreamKind::Query, None, None)
                }
            };
            if app.streams[target_idx].kind == StreamKind::Source {
                return Err(loc_err(
                    at,
                    format!(
                        "{} is the application's input stream; pumps cannot insert into it.",
                        app.streams[target_idx].name
                    ),
                ));
            }
            let tcols = &app.streams[target_idx].cols;
            // A Flink table's computed columns are not written.
            let writable = app.streams[target_idx]
                .flink
                .as_ref()
                .map_or(tcols.len(), |f| f.physical);
            let mapping: Vec<usize> = if columns.is_empty() {
                (0..writable).collect()
            } else {
                columns
                    .iter()
                    .map(|c| {
                        find_name(
                            c,
                            flink,
                            tcols.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)),
                        )
                        .ok_or_else(|| {
                            SqlError::at(
                                c.span.start,
                                Some(c.value.clone()),
                                format!(
                                    "{} has no column {}.",
                                    app.streams[target_idx].name,
                                    normalize(c, flink)
                                ),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
            if mapping.len() != planned.columns.len() {
                return Err(loc_err(
                    at,
                    format!(
                        "The query produces {} columns but {} takes {}.",
                        planned.columns.len(),
                        app.streams[target_idx].name,
                        mapping.len()
                    ),
                ));
            }
            // A table written by a pump hears from its pumps, not from
            // the outside world.
            if app.streams[target_idx].external {
                app.streams[target_idx].external = false;
                app.streams[target_idx].writer_bounds.clear();
            }
            let slot = app.streams[target_idx].writer_bounds.len();
            app.streams[target_idx].writer_bounds.push(i64::MIN);
            let pump_idx = app.pumps.len();
            app.streams[planned.source].readers.push(pump_idx);
            app.pumps.push(Pump {
                name: pump_name.unwrap_or_else(|| app.streams[target_idx].name.clone()),
                pipeline: planned.pipeline,
                target: Some(target_idx),
                slot,
                mapping,
            });
        }
        app.check_cycles()?;
        if app.pumps.is_empty() {
            return Err(loc_err(Location::new(1, 1), "The application has no pump or query, so it would never produce a row. Add CREATE PUMP ... AS INSERT INTO ... SELECT STREAM ..., or a SELECT."));
        }
        Ok(app)
    }

    fn add_stream(
        &mut self,
        name: &str,
        cols: Vec<Col>,
        kind: StreamKind,
        source: Option<SourceSchema>,
        flink: Option<FlinkSource>,
    ) -> usize {
        let cols = with_qual(cols, name);
        // Sources and tables hear from the outside world (slot 0).
        let writer_bounds = if matches!(kind, StreamKind::Source | StreamKind::Table) {
            vec![i64::MIN]
        } else {
            Vec::new()
        };
        self.streams.push(Stream {
            name: name.to_string(),
            cols,
            kind,
            source,
            flink,
            readers: Vec::new(),
            external: !writer_bounds.is_empty(),
            writer_bounds,
            bound: i64::MIN,
            last_rowtime: i64::MIN,
        });
        self.streams.len() - 1
    }

    fn replace_or_add(
        &mut self,
        name: &str,
        cols: Vec<Col>,
        kind: StreamKind,
        flink: Option<FlinkSource>,
        at: Location,
    ) -> Result<(), SqlError> {
        if let Some(s) = self.streams.iter().find(|s| s.name == name) {
            if s.kind == StreamKind::Source {
                return Err(loc_err(at, format!("{name} is the application's input stream; it is created from the input schema, not with CREATE.")));
            }
            return Err(loc_err(at, format!("{name} is created twice.")));
        }
        self.add_stream(name, cols, kind, None, flink);
        Ok(())
    }

    fn check_cycles(&self) -> Result<(), SqlError> {
        // Stream -> stream edges through pumps; a cycle would loop forever.
        fn visit(app: &Application, s: usize, path: &mut Vec<usize>) -> Option<Vec<usize>> {
            if path.contains(&s) {
                return Some(path.clone());
            }
            path.push(s);
            for &p in &app.streams[s].readers {
                let Some(target) = app.pumps[p].target else {
                    continue;
                };
                if let Some(c) = visit(app, target, path) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        for s in 0..self.streams.len() {
            if let Some(cycle) = visit(self, s, &mut Vec::new()) {
                let names: Vec<&str> = cycle
                    .iter()
                    .map(|&i| self.streams[i].name.as_str())
                    .collect();
                return Err(loc_err(
                    Location::new(1, 1),
                    format!(
                        "Pumps form a loop ({} -> back): a row would circulate forever.",
                        names.join(" -> ")
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn is_flink(&self) -> bool {
        self.flink
    }

    /// The streams a record can be pushed into.
    pub fn input_streams(&self) -> Vec<&str> {
        self.streams
            .iter()
            .filter(|s| s.external)
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Every stream's name, kind and columns.
    pub fn streams(&self) -> Vec<StreamInfo> {
        self.streams
            .iter()
            .map(|s| StreamInfo {
                name: s.name.clone(),
                kind: s.kind.clone(),
                columns: s
                    .cols
                    .iter()
                    .filter(|c| !c.hidden)
                    .map(|c| (c.name.clone(), c.ty.clone()))
                    .collect(),
            })
            .collect()
    }

    fn find_stream(&self, name: &str) -> Option<usize> {
        self.streams
            .iter()
            .position(|s| s.name == name)
            .or_else(|| {
                let mut hits = self
                    .streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.name.eq_ignore_ascii_case(name));
                match (hits.next(), hits.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            })
    }

    /// Feeds one record into an input stream at `rowtime` (when the
    /// application read it) with its source `arrival` time.
    pub fn push_record(
        &mut self,
        stream: &str,
        rowtime: i64,
        arrival: i64,
        record: Record,
    ) -> Result<(), String> {
        let s = self
            .find_stream(stream)
            .ok_or_else(|| format!("The application has no input stream {stream}."))?;
        if !self
            .input_streams()
            .iter()
            .any(|n| *n == self.streams[s].name)
        {
            return Err(format!(
                "{} is not an input stream; rows enter it through its pumps.",
                self.streams[s].name
            ));
        }
        if rowtime < self.streams[s].last_rowtime {
            return Err(format!(
                "ROWTIME {} is earlier than the previous row's ({}); input rows must come in ROWTIME order.",
                format_timestamp(rowtime),
                format_timestamp(self.streams[s].last_rowtime)
            ));
        }
        self.rows_in += 1;
        match self.decode(s, rowtime, arrival, &record) {
            Ok(row) => {
                let mut events = vec![Event::Row(row.clone())];
                if let Some(f) = &mut self.streams[s].flink {
                    if f.watermark.is_none() {
                        // Processing time: it has reached this row's.
                        events.push(Event::Bound(rowtime));
                    }
                    if let Some(wm) = &f.watermark {
                        match wm.eval(&row) {
                            Ok(Value::Timestamp(w)) if w > f.watermark_ms => {
                                f.watermark_ms = w;
                                events.push(Event::Bound(w.saturating_add(1)));
                            }
                            _ => {}
                        }
                    }
                }
                self.deliver(s, 0, events, None);
            }
            Err(e) => {
                let text = match record {
                    Record::Json(v) => v.to_string(),
                    Record::Text(t) => t.to_string(),
                };
                self.error_row(rowtime, e, rowtime, text, "");
            }
        }
        Ok(())
    }

    /// Feeds typed rows (the source's columns, then its arrival time) into
    /// an input stream, skipping record decoding.
    pub fn push_rows(&mut self, stream: &str, rows: Vec<Row>) -> Result<(), String> {
        let s = self
            .find_stream(stream)
            .ok_or_else(|| format!("The application has no input stream {stream}."))?;
        let width = self.streams[s].cols.len();
        let mut last = self.streams[s].last_rowtime;
        for r in &rows {
            if r.values.len() != width {
                return Err(format!(
                    "{stream} rows have {width} values, not {}",
                    r.values.len()
                ));
            }
            if r.rowtime < last {
                return Err("rows must come in ROWTIME order".into());
            }
            last = r.rowtime;
        }
        self.rows_in += rows.len() as u64;
        self.deliver(s, 0, rows.into_iter().map(Event::Row).collect(), None);
        Ok(())
    }

    /// A rowtime bound from the clock: rows from now on are at `t` or later.
    /// Watermarked Flink tables keep their own (event) time and ignore it.
    pub fn push_bound(&mut self, t: i64) {
        for s in 0..self.streams.len() {
            let external = self.streams[s].external;
            let event_time = self.streams[s]
                .flink
                .as_ref()
                .is_some_and(|f| f.watermark.is_some());
            if external && !event_time {
                self.deliver(s, 0, vec![Event::Bound(t)], None);
            }
        }
    }

    /// The end of a bounded input: watermarked tables' watermarks jump to
    /// the end of time, as Flink's do when a bounded source finishes, so
    /// every event-time window fires. KDA streams have no end.
    pub fn finish(&mut self) {
        for s in 0..self.streams.len() {
            if self.streams[s].external
                && self.streams[s]
                    .flink
                    .as_ref()
                    .is_some_and(|f| f.watermark.is_some())
            {
                self.deliver(s, 0, vec![Event::Bound(i64::MAX / 2)], None);
            }
        }
    }

    /// Rows produced since the last call.
    pub fn take_outputs(&mut self) -> Vec<OutputRow> {
        std::mem::take(&mut self.outputs)
    }

    fn decode(
        &self,
        s: usize,
        rowtime: i64,
        arrival: i64,
        record: &Record,
    ) -> Result<Row, RowError> {
        let st = &self.streams[s];
        let coerce = |v: Value, c: &Col| -> Result<Value, RowError> {
            match &c.ty {
                Some(t) => v.coerce(t).map_err(|e| {
                    RowError::new("COERCION_ERROR", format!("column {}: {}", c.name, e.0))
                }),
                None => Ok(v),
            }
        };
        if let Some(f) = &st.flink {
            let obj = match record {
                Record::Json(v) => (*v).clone(),
                Record::Text(t) => serde_json::from_str(t)
                    .map_err(|e| RowError::new("PARSE_ERROR", format!("not JSON: {e}")))?,
            };
            let mut values = Vec::with_capacity(st.cols.len());
            for (i, c) in st.cols.iter().enumerate().take(f.physical) {
                let v = if f.metadata.iter().any(|(m, _)| *m == i) {
                    Value::Timestamp(arrival)
                } else {
                    json_field(&obj, &c.name)
                };
                values.push(coerce(v, c)?);
            }
            let mut row = Row { rowtime, values };
            for e in &f.computed {
                let v = e.eval(&row)?;
                row.values.push(v);
            }
            return Ok(row);
        }
        let schema = st
            .source
            .as_ref()
            .ok_or_else(|| RowError::new("NOT_A_SOURCE", "not a source stream"))?;
        let mut values = Vec::with_capacity(st.cols.len());
        match &schema.format {
            RecordFormat::Json => {
                let parsed;
                let obj = match record {
                    Record::Json(v) => *v,
                    Record::Text(t) => {
                        parsed = serde_json::from_str::<serde_json::Value>(t).map_err(|e| {
                            RowError::new("PARSE_ERROR", format!("the record is not JSON: {e}"))
                        })?;
                        &parsed
                    }
                };
                for (c, ic) in st.cols.iter().zip(&schema.columns) {
                    let v = match &ic.mapping {
                        Some(path) => json_path(obj, path),
                        None => json_field(obj, &ic.name),
                    };
                    values.push(coerce(v, c)?);
                }
            }
            RecordFormat::Csv { delimiter } => {
                let text = match record {
                    Record::Text(t) => t.to_string(),
                    Record::Json(serde_json::Value::String(s)) => s.clone(),
                    Record::Json(v) => v.to_string(),
                };
                let mut parts = text
                    .trim_end_matches(['\n', '\r'])
                    .split(delimiter.as_str());
                for c in st.cols.iter().take(schema.columns.len()) {
                    let v = match parts.next() {
                        Some(p) => Value::Str((p.to_string()).into()),
                        None => Value::Null,
                    };
                    values.push(coerce(v, c)?);
                }
            }
        }
        values.push(Value::Timestamp(arrival));
        Ok(Row { rowtime, values })
    }

    /// Pushes events into stream `s` from writer `slot`, then on to every
    /// pump that reads it.
    fn deliver(&mut self, s: usize, slot: usize, events: Vec<Event>, pump: Option<usize>) {
        let mut forward = Vec::with_capacity(events.len());
        for ev in events {
            match ev {
                Event::Row(r) => {
                    let st = &mut self.streams[s];
                    if r.rowtime < st.last_rowtime {
                        let name = pump.map(|p| self.pumps[p].name.clone()).unwrap_or_default();
                        let data = row_text(&r);
                        let msg = format!(
                            "A row with ROWTIME {} arrived in {} after a row with ROWTIME {}; out-of-order rows are dropped.",
                            format_timestamp(r.rowtime),
                            st.name,
                            format_timestamp(st.last_rowtime)
                        );
                        self.error_row(
                            r.rowtime,
                            RowError::new("OUT_OF_ORDER_ROW", msg),
                            r.rowtime,
                            data,
                            &name,
                        );
                        continue;
                    }
                    st.last_rowtime = r.rowtime;
                    if !st.external {
                        // A Flink table's output is what it stores: not its
                        // computed columns.
                        let stored = st.flink.as_ref().map_or(st.cols.len(), |f| f.physical);
                        let values = st
                            .cols
                            .iter()
                            .take(stored)
                            .filter(|c| !c.hidden)
                            .map(|c| c.name.clone())
                            .zip(r.values.iter().cloned())
                            .collect();
                        self.outputs.push(OutputRow {
                            stream: st.name.clone(),
                            rowtime: r.rowtime,
                            values,
                        });
                    }
                    forward.push(Event::Row(r));
                }
                Event::Bound(t) => {
                    let st = &mut self.streams[s];
                    if let Some(b) = st.writer_bounds.get_mut(slot) {
                        *b = (*b).max(t);
                    }
                    let eff = st.writer_bounds.iter().copied().min().unwrap_or(t);
                    if eff > st.bound {
                        st.bound = eff;
                        forward.push(Event::Bound(eff));
                    }
                }
            }
        }
        if forward.is_empty() {
            return;
        }
        let readers = self.streams[s].readers.clone();
        let mut forward = Some(forward);
        for (n, &p) in readers.iter().enumerate() {
            // The last reader takes the events; the others get copies.
            let events = if n + 1 == readers.len() {
                forward.take().unwrap_or_default()
            } else {
                forward.clone().unwrap_or_default()
            };
            let mut pipeline = std::mem::take(&mut self.pumps[p].pipeline);
            let mut failures: Vec<Failure> = Vec::new();
            let out = pipeline.run(events, &mut failures);
            self.pumps[p].pipeline = pipeline;
            let pname = self.pumps[p].name.clone();
            for (e, row) in failures {
                let data = row_text(&row);
                self.error_row(row.rowtime, e, row.rowtime, data, &pname);
            }
            let Some(target) = self.pumps[p].target else {
                continue;
            };
            let mut mapped = Vec::with_capacity(out.len());
            for ev in out {
                match ev {
                    Event::Row(r) => match self.map_row(p, r) {
                        Ok(r) => mapped.push(Event::Row(r)),
                        Err((e, r)) => {
                            let data = row_text(&r);
                            self.error_row(r.rowtime, e, r.rowtime, data, &pname)
                        }
                    },
                    b => mapped.push(b),
                }
            }
            let slot = self.pumps[p].slot;
            self.deliver(target, slot, mapped, Some(p));
        }
    }

    /// Places a pump's output columns into its target's columns, coercing
    /// to their declared types (strings are truncated to their length, as
    /// KDA's input mapping does).
    fn map_row(&self, p: usize, r: Row) -> Result<Row, (RowError, Row)> {
        let pump = &self.pumps[p];
        let Some(target) = pump.target.map(|t| &self.streams[t]) else {
            return Ok(r);
        };
        let mut values = vec![Value::Null; target.cols.len()];
        for (v, &i) in r.values.iter().zip(&pump.mapping) {
            let col = &target.cols[i];
            values[i] = match &col.ty {
                Some(t) => match v.clone().coerce(t) {
                    Ok(v) => v,
                    Err(e) => {
                        return Err((
                            RowError::new(
                                "COERCION_ERROR",
                                format!("column {} of {}: {}", col.name, target.name, e.0),
                            ),
                            r,
                        ))
                    }
                },
                None => v.clone(),
            };
        }
        // A Flink table's computed columns (`proc AS PROCTIME()`) are
        // computed on the row as written, for the table's readers.
        let mut row = Row {
            rowtime: r.rowtime,
            values,
        };
        if let Some(f) = &target.flink {
            for (i, e) in f.computed.iter().enumerate() {
                let v = e.eval(&row).map_err(|e| (e, r.clone()))?;
                if let Some(slot) = row.values.get_mut(f.physical + i) {
                    *slot = v;
                }
            }
        }
        Ok(row)
    }

    fn error_row(&mut self, at: i64, e: RowError, data_rowtime: i64, data: String, pump: &str) {
        let values = vec![
            ("ERROR_TIME".to_string(), Value::Timestamp(at)),
            ("ERROR_LEVEL".to_string(), Value::Str("Error".into())),
            (
                "ERROR_NAME".to_string(),
                Value::Str((e.name.to_string()).into()),
            ),
            ("MESSAGE".to_string(), Value::Str((e.message).into())),
            ("DATA_ROWTIME".to_string(), Value::Timestamp(data_rowtime)),
            ("DATA_ROW".to_string(), Value::Str((data).into())),
            (
                "PUMP_NAME".to_string(),
                Value::Str((pump.to_string()).into()),
            ),
        ];
        self.outputs.push(OutputRow {
            stream: ERROR_STREAM.to_string(),
            rowtime: at,
            values,
        });
    }
}

fn row_text(r: &Row) -> String {
    let vals: Vec<String> = r.values.iter().map(|v| v.to_json().to_string()).collect();
    format!("[{}]", vals.join(","))
}

/// A JSON field as a SQL value (KDA's JSON-to-SQL rules; the column's type
/// finishes the conversion).
fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => match crate::value::parse_decimal(&n.to_string()) {
                Some((u, s)) => Value::Decimal(u, s),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
        },
        serde_json::Value::String(s) => Value::Str((s.clone()).into()),
        other => Value::Str((other.to_string()).into()),
    }
}

fn json_field(obj: &serde_json::Value, name: &str) -> Value {
    let Some(map) = obj.as_object() else {
        return Value::Null;
    };
    match map.get(name) {
        Some(v) => json_value(v),
        None => {
            let mut hits = map.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
            match (hits.next(), hits.next()) {
                (Some((_, v)), None) => json_value(v),
                _ => Value::Null,
            }
        }
    }
}

/// `$.a.b[0]` paths, the subset KDA's discovered mappings use.
pub fn json_path(obj: &serde_json::Value, path: &str) -> Value {
    let mut cur = obj;
    let rest = path.trim().strip_prefix('$').unwrap_or(path);
    for part in rest.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = match cur.get(name) {
                Some(v) => v,
                None => return Value::Null,
            };
        }
        if let Some(i) = index {
            cur = match cur.get(i) {
                Some(v) => v,
                None => return Value::Null,
            };
        }
    }
    json_value(cur)
}

/// Guesses an input schema from sample JSON records, as DiscoverInputSchema
/// does: integers INTEGER (BIGINT when large), other numbers DOUBLE,
/// timestamps TIMESTAMP, booleans BOOLEAN, the rest VARCHAR sized to fit.
pub fn discover_schema(name: &str, samples: &[&serde_json::Value]) -> SourceSchema {
    let mut order: Vec<String> = Vec::new();
    let mut kinds: HashMap<String, (SqlType, u32)> = HashMap::new();
    for s in samples {
        let Some(map) = s.as_object() else { continue };
        for (k, v) in map {
            if !order.contains(k) {
                order.push(k.clone());
            }
            let guess = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::Bool(_) => SqlType::Boolean,
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) if i32::try_from(i).is_ok() => SqlType::Integer,
                    Some(_) => SqlType::BigInt,
                    None => SqlType::Double,
                },
                serde_json::Value::String(s)
                    if crate::value::parse_timestamp(s).is_some() && s.len() >= 10 =>
                {
                    SqlType::Timestamp
                }
                _ => SqlType::Varchar(None),
            };
            let len = match v {
                serde_json::Value::String(s) => s.chars().count() as u32,
                other => other.to_string().len() as u32,
            };
            let e = kinds.entry(k.clone()).or_insert((guess.clone(), 0));
            e.0 = widen(&e.0, &guess);
            e.1 = e.1.max(len);
        }
    }
    let columns = order
        .into_iter()
        .map(|k| {
            let (ty, len) = kinds
                .get(&k)
                .cloned()
                .unwrap_or((SqlType::Varchar(None), 1));
            let ty = match ty {
                SqlType::Varchar(_) => {
                    SqlType::Varchar(Some(len.max(1).next_power_of_two().max(4)))
                }
                t => t,
            };
            InputColumn {
                mapping: Some(format!("$.{k}")),
                name: k,
                ty,
            }
        })
        .collect();
    SourceSchema {
        name: name.to_string(),
        columns,
        format: RecordFormat::Json,
    }
}

fn widen(a: &SqlType, b: &SqlType) -> SqlType {
    use SqlType::*;
    match (a, b) {
        (x, y) if x == y => x.clone(),
        (Integer, BigInt) | (BigInt, Integer) => BigInt,
        (Integer | BigInt | Double, Integer | BigInt | Double) => Double,
        _ => Varchar(None),
    }
}
