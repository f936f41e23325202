//! A Redshift-like cluster that a delivery stream loads with COPY.
//!
//! Firehose delivers to Redshift in two steps: the records land as objects
//! in an intermediate S3 bucket, then Firehose runs
//! `COPY <table> (<columns>) FROM 's3://<bucket>/<manifest>' ... MANIFEST
//! <CopyOptions>` for them. This module is the second step's other side:
//! tables made with `CREATE TABLE` (parsed by sqlparser), and a COPY that
//! reads the objects as Redshift reads them — `JSON 'auto'` (or `'auto
//! ignorecase'`), `CSV`, or delimited text (`DELIMITER`, `|` by default),
//! `GZIP`, `TIMEFORMAT`, `MAXERROR`, `IGNOREHEADER`, `EMPTYASNULL`,
//! `BLANKSASNULL`, `TRUNCATECOLUMNS` — converting each field to its
//! column's type. A COPY loads all its rows or none: past `MAXERROR` bad
//! rows (0 by default) it fails with Redshift's message, and each bad row
//! is in `stl_load_errors` with Redshift's error code.
//!
//! A table keeps every row it loaded, and `SELECT` queries it (and
//! `stl_load_errors`) with Redshift's rules, through
//! [`shardlab_sql::query`].

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shardlab_engine::time_pattern::{days_from_civil, Civil};

/// Load errors kept, as a window on `stl_load_errors`: the newest.
const LOAD_ERRORS_KEPT: usize = 1_000;

/// A column's type, as `CREATE TABLE` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnType {
    SmallInt,
    Integer,
    BigInt,
    Decimal {
        precision: u32,
        scale: u32,
    },
    Real,
    Double,
    Boolean,
    /// CHAR(n) and VARCHAR(n): at most n bytes.
    Char(u32),
    Varchar(u32),
    Date,
    Timestamp,
}

impl ColumnType {
    /// Reads a type as sqlparser prints it (`VARCHAR(32)`, `BIGINT`,
    /// `DECIMAL(10,2)`, `DOUBLE PRECISION`, `TIMESTAMP`).
    pub fn parse(text: &str) -> Result<ColumnType, String> {
        let t = text.trim().to_ascii_uppercase();
        let (name, args) = match t.split_once('(') {
            Some((n, rest)) => (
                n.trim().to_string(),
                Some(rest.trim_end_matches(')').to_string()),
            ),
            None => (t.clone(), None),
        };
        let nums: Vec<u32> = args
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{text}: not a size"))
            })
            .collect::<Result<_, _>>()?;
        let n = |default: u32| nums.first().copied().unwrap_or(default);
        Ok(match name.as_str() {
            "SMALLINT" | "INT2" => ColumnType::SmallInt,
            "INT" | "INTEGER" | "INT4" => ColumnType::Integer,
            "BIGINT" | "INT8" => ColumnType::BigInt,
            "DECIMAL" | "NUMERIC" => {
                let precision = n(18);
                let scale = nums.get(1).copied().unwrap_or(0);
                if !(1..=38).contains(&precision) || scale > precision {
                    return Err(format!(
                        "{text}: DECIMAL precision is 1 to 38 and scale at most the precision"
                    ));
                }
                ColumnType::Decimal { precision, scale }
            }
            "REAL" | "FLOAT4" => ColumnType::Real,
            "DOUBLE PRECISION" | "DOUBLE" | "FLOAT8" | "FLOAT" => ColumnType::Double,
            "BOOLEAN" | "BOOL" => ColumnType::Boolean,
            "CHAR" | "CHARACTER" | "NCHAR" | "BPCHAR" => ColumnType::Char(n(1).clamp(1, 4096)),
            "VARCHAR" | "CHARACTER VARYING" | "NVARCHAR" => {
                ColumnType::Varchar(n(256).clamp(1, 65535))
            }
            "TEXT" => ColumnType::Varchar(256),
            "DATE" => ColumnType::Date,
            "TIMESTAMP"
            | "TIMESTAMP WITHOUT TIME ZONE"
            | "TIMESTAMPTZ"
            | "TIMESTAMP WITH TIME ZONE" => ColumnType::Timestamp,
            _ => {
                return Err(format!(
                    "type {text} is not supported here (SMALLINT, INTEGER, BIGINT, DECIMAL, \
                     REAL, DOUBLE PRECISION, BOOLEAN, CHAR, VARCHAR, DATE, TIMESTAMP are)"
                ))
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            ColumnType::SmallInt => "smallint".into(),
            ColumnType::Integer => "integer".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::Decimal { precision, scale } => format!("numeric({precision},{scale})"),
            ColumnType::Real => "real".into(),
            ColumnType::Double => "double precision".into(),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::Char(n) => format!("character({n})"),
            ColumnType::Varchar(n) => format!("character varying({n})"),
            ColumnType::Date => "date".into(),
            ColumnType::Timestamp => "timestamp without time zone".into(),
        }
    }
}

/// A value in a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    /// Unscaled value and scale.
    Decimal(i128, u32),
    Float(f64),
    Bool(bool),
    Text(String),
    /// Days since 1970-01-01.
    Date(i64),
    /// Microseconds since 1970-01-01 00:00:00.
    Timestamp(i64),
}

impl Cell {
    /// As `psql` shows it.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Decimal(v, 0) => v.to_string(),
            Cell::Decimal(v, s) => {
                let p = 10i128.pow(*s);
                let sign = if *v < 0 { "-" } else { "" };
                format!(
                    "{sign}{}.{:0w$}",
                    (v / p).abs(),
                    (v % p).abs(),
                    w = *s as usize
                )
            }
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => if *b { "t" } else { "f" }.into(),
            Cell::Text(s) => s.clone(),
            Cell::Date(d) => {
                let c = Civil::at_signed(d * 86_400_000);
                format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
            }
            Cell::Timestamp(us) => {
                let c = Civil::at_signed(us.div_euclid(1000));
                let frac = us.rem_euclid(1_000_000);
                let base = format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    c.year, c.month, c.day, c.hour, c.minute, c.second
                );
                if frac == 0 {
                    base
                } else {
                    let f = format!("{frac:06}");
                    format!("{base}.{}", f.trim_end_matches('0'))
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Rows loaded in all.
    pub row_count: u64,
    /// Every row, in load order.
    pub rows: Vec<Vec<Cell>>,
}

/// A row of `stl_load_errors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadError {
    pub query: u64,
    pub tbl: String,
    pub starttime_ms: u64,
    pub filename: String,
    pub line_number: u64,
    pub colname: String,
    pub col_type: String,
    pub raw_line: String,
    pub raw_field_value: String,
    pub err_code: u32,
    pub err_reason: String,
}

/// A cluster's database: tables and the load errors of its COPYs.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    pub tables: BTreeMap<String, Table>,
    pub load_errors: VecDeque<LoadError>,
    /// The outage switch: COPY cannot connect.
    pub unavailable: bool,
    queries: u64,
}

/// The data format of a COPY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Delimited(char),
    Csv(char),
    Json { ignore_case: bool },
}

/// The `CopyOptions` this COPY understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: Format,
    pub gzip: bool,
    pub max_error: u64,
    pub ignore_header: u64,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub truncate_columns: bool,
    /// `TIMEFORMAT`: None (the default, `YYYY-MM-DD HH:MI:SS`), `auto`,
    /// `epochsecs` or `epochmillisecs`.
    pub time_format: Option<String>,
}

/// A COPY failed: Firehose's error code for it, and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFailure {
    pub code: &'static str,
    pub message: String,
}

impl CopyFailure {
    fn new(code: &'static str, message: impl Into<String>) -> CopyFailure {
        CopyFailure {
            code,
            message: message.into(),
        }
    }
}

/// Splits options text into words, a quoted string being one word.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ';' {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => s.push(c),
                    None => return Err("an unterminated quoted string".into()),
                }
            }
            out.push(s);
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '\'' || c == ';' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            out.push(w.to_ascii_uppercase());
        }
    }
    Ok(out)
}

impl CopyOptions {
    /// Reads `CopyOptions` (e.g. `JSON 'auto' GZIP TIMEFORMAT 'auto'`).
    pub fn parse(text: &str) -> Result<CopyOptions, CopyFailure> {
        let syntax = |m: String| CopyFailure::new("Redshift.SyntaxError", m);
        let w =
            words(text).map_err(|e| syntax(format!("syntax error in the COPY options: {e}")))?;
        let mut o = CopyOptions {
            format: Format::Delimited('|'),
            gzip: false,
            max_error: 0,
            ignore_header: 0,
            empty_as_null: false,
            blanks_as_null: false,
            truncate_columns: false,
            time_format: None,
        };
        let quoted = |i: usize| -> Option<String> {
            w.get(i)
                .and_then(|s| s.strip_prefix('\''))
                .map(str::to_string)
        };
        let mut delimiter = None;
        let mut i = 0;
        while i < w.len() {
            let word = w[i].as_str();
            // FORMAT [AS] JSON ..., DELIMITER [AS] '...'.
            let skip_as = |j: usize| {
                if w.get(j).map(String::as_str) == Some("AS") {
                    j + 1
                } else {
                    j
                }
            };
            match word {
                "FORMAT" => {
                    i = skip_as(i + 1);
                    continue;
                }
                "JSON" => {
                    let arg = quoted(i + 1);
                    match arg.as_deref().map(str::to_ascii_lowercase).as_deref() {
                        Some("auto") => o.format = Format::Json { ignore_case: false },
                        Some("auto ignorecase") => o.format = Format::Json { ignore_case: true },
                        Some(other) => {
                            return Err(syntax(format!(
                                "JSON '{other}': a JSONPaths file is not supported here; use JSON 'auto' or JSON 'auto ignorecase'"
                            )))
                        }
                        None => return Err(syntax("JSON needs 'auto' or 'auto ignorecase'".into())),
                    }
                    i += 2;
                    continue;
                }
                "CSV" => {
                    o.format = Format::Csv(',');
                    if w.get(i + 1).map(String::as_str) == Some("QUOTE") {
                        return Err(syntax("CSV QUOTE is not supported here; the quote is \"".into()));
                    }
                }
                "DELIMITER" => {
                    let j = skip_as(i + 1);
                    let d = quoted(j).ok_or_else(|| syntax("DELIMITER needs a quoted character".into()))?;
                    let mut cs = d.chars();
                    match (cs.next(), cs.next()) {
                        (Some(c), None) if c.is_ascii() => delimiter = Some(c),
                        _ => {
                            return Err(syntax(format!(
                                "DELIMITER '{d}' must be a single ASCII character"
                            )))
                        }
                    }
                    i = j + 1;
                    continue;
                }
                "GZIP" => o.gzip = true,
                "MAXERROR" | "IGNOREHEADER" => {
                    let j = skip_as(i + 1);
                    let n = w
                        .get(j)
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| syntax(format!("{word} needs a number")))?;
                    if word == "MAXERROR" {
                        o.max_error = n;
                    } else {
                        o.ignore_header = n;
                    }
                    i = j + 1;
                    continue;
                }
                "EMPTYASNULL" => o.empty_as_null = true,
                "BLANKSASNULL" => o.blanks_as_null = true,
                "TRUNCATECOLUMNS" => o.truncate_columns = true,
                "TIMEFORMAT" => {
                    let j = skip_as(i + 1);
                    let f = quoted(j).ok_or_else(|| syntax("TIMEFORMAT needs a quoted format".into()))?;
                    let lower = f.to_ascii_lowercase();
                    if !matches!(lower.as_str(), "auto" | "epochsecs" | "epochmillisecs" | "yyyy-mm-dd hh:mi:ss") {
                        return Err(syntax(format!(
                            "TIMEFORMAT '{f}' is not supported here ('auto', 'epochsecs', 'epochmillisecs' are)"
                        )));
                    }
                    o.time_format = (lower != "yyyy-mm-dd hh:mi:ss").then_some(lower);
                    i = j + 1;
                    continue;
                }
                "BZIP2" | "LZOP" | "ZSTD" => {
                    return Err(CopyFailure::new(
                        "Redshift.IncorrectCopyOptions",
                        format!("{word}: Firehose writes GZIP (or uncompressed) objects for Redshift"),
                    ))
                }
                other => {
                    return Err(syntax(format!(
                        "syntax error at or near \"{other}\" (this COPY understands JSON 'auto', CSV, DELIMITER, GZIP, MAXERROR, IGNOREHEADER, EMPTYASNULL, BLANKSASNULL, TRUNCATECOLUMNS, TIMEFORMAT)"
                    )))
                }
            }
            i += 1;
        }
        if let Some(d) = delimiter {
            match &mut o.format {
                Format::Json { .. } => {
                    return Err(CopyFailure::new(
                        "Redshift.IncorrectCopyOptions",
                        "Conflicting or redundant COPY options: DELIMITER with JSON",
                    ))
                }
                Format::Csv(c) | Format::Delimited(c) => *c = d,
            }
        }
        Ok(o)
    }
}

/// A row that did not load, before it is written to `stl_load_errors`.
struct BadRow {
    /// The file cannot be read on (a GZIP or JSON syntax error): the COPY
    /// fails whatever MAXERROR allows.
    fatal: bool,
    line: u64,
    colname: String,
    col_type: String,
    raw_line: String,
    raw_field: String,
    code: u32,
    reason: String,
}

impl Cluster {
    /// Runs a DDL statement: `CREATE TABLE [IF NOT EXISTS]`, `DROP TABLE
    /// [IF EXISTS]` or `TRUNCATE`. Errors read as Redshift's.
    pub fn execute(&mut self, sql: &str) -> Result<(), String> {
        use sqlparser::ast::ColumnOption;
        for statement in parse_ddl(sql)? {
            match statement {
                Ddl::Create(ct) => {
                    let name = table_name(&ct.name.to_string());
                    if self.tables.contains_key(&name) {
                        if ct.if_not_exists {
                            continue;
                        }
                        return Err(format!("ERROR: relation \"{name}\" already exists"));
                    }
                    let mut columns = Vec::new();
                    for c in &ct.columns {
                        let ty = ColumnType::parse(&c.data_type.to_string())
                            .map_err(|e| format!("ERROR: column \"{}\": {e}", c.name.value))?;
                        let cname = c.name.value.to_lowercase();
                        if columns.iter().any(|x: &Column| x.name == cname) {
                            return Err(format!(
                                "ERROR: column \"{cname}\" specified more than once"
                            ));
                        }
                        columns.push(Column {
                            name: cname,
                            ty,
                            not_null: c
                                .options
                                .iter()
                                .any(|o| matches!(o.option, ColumnOption::NotNull)),
                        });
                    }
                    if columns.is_empty() {
                        return Err("ERROR: a table needs at least one column".into());
                    }
                    self.tables.insert(
                        name,
                        Table {
                            columns,
                            ..Table::default()
                        },
                    );
                }
                Ddl::Drop { if_exists, names } => {
                    for n in names {
                        let name = table_name(&n.to_string());
                        if self.tables.remove(&name).is_none() && !if_exists {
                            return Err(format!("ERROR: Table \"{name}\" does not exist"));
                        }
                    }
                }
                Ddl::Truncate(names) => {
                    for t in names {
                        let name = table_name(&t.to_string());
                        let table = self
                            .tables
                            .get_mut(&name)
                            .ok_or_else(|| format!("ERROR: relation \"{name}\" does not exist"))?;
                        table.rows.clear();
                        table.row_count = 0;
                    }
                }
            }
        }
        Ok(())
    }

    /// COPY into `table` (its `columns`, or all) from `files` (name,
    /// stored bytes): every row or none. The number of rows loaded.
    pub fn copy(
        &mut self,
        table: &str,
        columns: Option<&[String]>,
        options: &str,
        files: &[(String, &[u8])],
        now_ms: u64,
    ) -> Result<u64, CopyFailure> {
        if self.unavailable {
            return Err(CopyFailure::new(
                "Redshift.ConnectionFailed",
                "Failed to establish a connection to the cluster (the outage switch is on).",
            ));
        }
        let options = CopyOptions::parse(options)?;
        let name = table_name(table);
        let Some(t) = self.tables.get(&name) else {
            return Err(CopyFailure::new(
                "Redshift.TableNotFound",
                format!(
                    "The table to which to load data was not found. Ensure that the specified \
                     table exists. (ERROR: relation \"{name}\" does not exist)"
                ),
            ));
        };
        // The COPY's columns, in the data's order, as indices into the table.
        let targets: Vec<usize> = match columns {
            None => (0..t.columns.len()).collect(),
            Some(cols) => {
                let mut out = Vec::new();
                for c in cols {
                    let c = c.trim().to_lowercase();
                    let i = t.columns.iter().position(|x| x.name == c).ok_or_else(|| {
                        CopyFailure::new(
                            "Redshift.ColumnNotFound",
                            format!(
                                "A column in the COPY command does not exist in the table. \
                                 Specify a valid column name. (ERROR: column \"{c}\" of relation \
                                 \"{name}\" does not exist)"
                            ),
                        )
                    })?;
                    out.push(i);
                }
                if let Some(missing) = t
                    .columns
                    .iter()
                    .enumerate()
                    .find(|(i, c)| c.not_null && !out.contains(i))
                {
                    return Err(CopyFailure::new(
                        "Redshift.MissingColumn",
                        format!(
                            "There is a column defined in the table schema as NOT NULL without a \
                             DEFAULT value and not included in the column list ({}).",
                            missing.1.name
                        ),
                    ));
                }
                out
            }
        };
        self.queries += 1;
        let query = self.queries;
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        for (file, stored) in files {
            let bytes: std::borrow::Cow<[u8]> = if options.gzip {
                let mut plain = Vec::new();
                match flate2::read::MultiGzDecoder::new(*stored).read_to_end(&mut plain) {
                    Ok(_) => std::borrow::Cow::Owned(plain),
                    Err(e) => {
                        bad.push((
                            file.clone(),
                            BadRow {
                                fatal: true,
                                line: 0,
                                colname: String::new(),
                                col_type: String::new(),
                                raw_line: String::new(),
                                raw_field: String::new(),
                                code: 1216,
                                reason: format!("Invalid GZIP file: {e}"),
                            },
                        ));
                        continue;
                    }
                }
            } else {
                std::borrow::Cow::Borrowed(stored)
            };
            read_rows(t, &targets, &options, &bytes, &mut rows, &mut |b| {
                bad.push((file.clone(), b))
            });
        }
        let failed = bad.iter().any(|(_, b)| b.fatal)
            || !bad.is_empty() && bad.len() as u64 > options.max_error;
        for (file, b) in bad {
            if self.load_errors.len() == LOAD_ERRORS_KEPT {
                self.load_errors.pop_front();
            }
            self.load_errors.push_back(LoadError {
                query,
                tbl: name.clone(),
                starttime_ms: now_ms,
                filename: file,
                line_number: b.line,
                colname: b.colname,
                col_type: b.col_type,
                raw_line: b.raw_line.chars().take(1024).collect(),
                raw_field_value: b.raw_field.chars().take(1024).collect(),
                err_code: b.code,
                err_reason: b.reason,
            });
        }
        if failed {
            return Err(CopyFailure::new(
                "Redshift.DataLoadFailed",
                format!(
                    "Load into table '{name}' failed. Check 'stl_load_errors' system table for \
                     details."
                ),
            ));
        }
        let loaded = rows.len() as u64;
        let t = self.tables.get_mut(&name).expect("checked above");
        t.row_count += loaded;
        t.rows.extend(rows);
        Ok(loaded)
    }
}

/// A DDL statement `Cluster::execute` runs.
enum Ddl {
    Create(Box<sqlparser::ast::CreateTable>),
    Drop {
        if_exists: bool,
        names: Vec<sqlparser::ast::ObjectName>,
    },
    Truncate(Vec<sqlparser::ast::ObjectName>),
}

/// Parses `CREATE TABLE`, `DROP TABLE` and `TRUNCATE` statements with
/// sqlparser's Redshift dialect. Only those statements' grammar is used
/// (not `parse_sql`, whose whole statement grammar made the workers'
/// wasm 566 KB larger).
fn parse_ddl(sql: &str) -> Result<Vec<Ddl>, String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::parser::{Parser, ParserError};
    use sqlparser::tokenizer::Token;
    let dialect = sqlparser::dialect::RedshiftSqlDialect {};
    let err = |e: ParserError| format!("ERROR: {e}");
    let mut p = Parser::new(&dialect).try_with_sql(sql).map_err(err)?;
    let mut out = Vec::new();
    loop {
        while p.consume_token(&Token::SemiColon) {}
        if p.peek_token().token == Token::EOF {
            return Ok(out);
        }
        if p.parse_keyword(Keyword::CREATE) {
            p.expect_keyword_is(Keyword::TABLE).map_err(err)?;
            let ct = p
                .parse_create_table(false, false, false, None, false, false, None)
                .map_err(err)?;
            out.push(Ddl::Create(Box::new(ct)));
        } else if p.parse_keywords(&[Keyword::DROP, Keyword::TABLE]) {
            let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
            let names = p
                .parse_comma_separated(|p| p.parse_object_name(false))
                .map_err(err)?;
            out.push(Ddl::Drop { if_exists, names });
        } else if p.parse_keyword(Keyword::TRUNCATE) {
            // TRUNCATE [TABLE] name: the keyword is optional.
            let _ = p.parse_keyword(Keyword::TABLE);
            let names = p
                .parse_comma_separated(|p| p.parse_object_name(false))
                .map_err(err)?;
            out.push(Ddl::Truncate(names));
        } else {
            return Err(format!(
                "ERROR: only CREATE TABLE, DROP TABLE and TRUNCATE run here, not: {}",
                sql.trim()
            ));
        }
        if !p.consume_token(&Token::SemiColon) && p.peek_token().token != Token::EOF {
            return Err(format!(
                "ERROR: syntax error at or near \"{}\"",
                p.peek_token().token
            ));
        }
    }
}

/// An unquoted name folds to lower case; a quoted one keeps its case.
pub fn table_name(name: &str) -> String {
    // Redshift folds quoted names to lower case too, unless
    // enable_case_sensitive_identifier is on (it is off by default).
    let n = name.trim();
    n.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(n)
        .to_lowercase()
}

/// Reads one file's rows into `rows`, reporting bad ones to `bad`.
fn read_rows(
    t: &Table,
    targets: &[usize],
    o: &CopyOptions,
    bytes: &[u8],
    rows: &mut Vec<Vec<Cell>>,
    bad: &mut dyn FnMut(BadRow),
) {
    let text = String::from_utf8_lossy(bytes);
    match &o.format {
        Format::Json { ignore_case } => {
            let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
            let mut line = 1u64;
            let mut at = 0usize;
            loop {
                // The next value begins after the whitespace past the last.
                let after = stream.byte_offset();
                let rest = &text[after..];
                let start = after + (rest.len() - rest.trim_start().len());
                line += text[at..start].matches('\n').count() as u64;
                at = start;
                match stream.next() {
                    None => break,
                    Some(Ok(Value::Object(m))) => {
                        let raw = &text[start..stream.byte_offset()];
                        let fields: Vec<Option<&Value>> = targets
                            .iter()
                            .map(|&i| {
                                let name = &t.columns[i].name;
                                m.get(name).or_else(|| {
                                    ignore_case
                                        .then(|| {
                                            m.iter()
                                                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                                .map(|(_, v)| v)
                                        })
                                        .flatten()
                                })
                            })
                            .collect();
                        let texts: Vec<Option<String>> = fields
                            .iter()
                            .map(|f| match f {
                                None | Some(Value::Null) => None,
                                Some(Value::String(s)) => Some(s.clone()),
                                Some(v) => Some(v.to_string()),
                            })
                            .collect();
                        convert_row(t, targets, o, &texts, line, raw.trim(), rows, bad);
                    }
                    Some(Ok(other)) => {
                        bad(BadRow {
                            fatal: false,
                            line,
                            colname: String::new(),
                            col_type: String::new(),
                            raw_line: other.to_string(),
                            raw_field: String::new(),
                            code: 1216,
                            reason: "Invalid JSONPath format: the JSON is not an object".into(),
                        });
                    }
                    Some(Err(e)) => {
                        let rest: String = text[start..].chars().take(200).collect();
                        bad(BadRow {
                            fatal: true,
                            line,
                            colname: String::new(),
                            col_type: String::new(),
                            raw_line: rest.trim().to_string(),
                            raw_field: String::new(),
                            code: 1216,
                            reason: format!("Invalid JSON: {e}"),
                        });
                        // The rest of the file cannot be read past this.
                        break;
                    }
                }
            }
        }
        Format::Csv(d) | Format::Delimited(d) => {
            let csv = matches!(o.format, Format::Csv(_));
            for (n, raw) in text.split('\n').enumerate() {
                let line = n as u64 + 1;
                let raw = raw.strip_suffix('\r').unwrap_or(raw);
                if line <= o.ignore_header || raw.is_empty() {
                    continue;
                }
                let fields: Vec<String> = if csv {
                    let mut r = csv::ReaderBuilder::new()
                        .has_headers(false)
                        .delimiter(*d as u8)
                        .from_reader(raw.as_bytes());
                    match r.records().next() {
                        Some(Ok(rec)) => rec.iter().map(str::to_string).collect(),
                        _ => vec![raw.to_string()],
                    }
                } else {
                    raw.split(*d).map(str::to_string).collect()
                };
                if fields.len() > targets.len() {
                    bad(BadRow {
                        fatal: false,
                        line,
                        colname: String::new(),
                        col_type: String::new(),
                        raw_line: raw.to_string(),
                        raw_field: String::new(),
                        code: 1202,
                        reason: "Extra column(s) found".into(),
                    });
                    continue;
                }
                if fields.len() < targets.len() {
                    let c = &t.columns[targets[fields.len()]];
                    bad(BadRow {
                        fatal: false,
                        line,
                        colname: c.name.clone(),
                        col_type: c.ty.name(),
                        raw_line: raw.to_string(),
                        raw_field: String::new(),
                        code: 1214,
                        reason: "Delimiter not found".into(),
                    });
                    continue;
                }
                let texts: Vec<Option<String>> = fields.into_iter().map(Some).collect();
                convert_row(t, targets, o, &texts, line, raw, rows, bad);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn convert_row(
    t: &Table,
    targets: &[usize],
    o: &CopyOptions,
    texts: &[Option<String>],
    line: u64,
    raw_line: &str,
    rows: &mut Vec<Vec<Cell>>,
    bad: &mut dyn FnMut(BadRow),
) {
    let mut row = vec![Cell::Null; t.columns.len()];
    for (&i, text) in targets.iter().zip(texts) {
        let c = &t.columns[i];
        let text = text.as_deref().filter(|s| {
            !(o.empty_as_null && s.is_empty()
                || o.blanks_as_null && !s.is_empty() && s.trim().is_empty())
        });
        let cell = match text {
            None => Ok(Cell::Null),
            Some(s) => convert(&c.ty, s, o),
        };
        match cell {
            Ok(Cell::Null) if c.not_null => {
                return bad(BadRow {
                    fatal: false,
                    line,
                    colname: c.name.clone(),
                    col_type: c.ty.name(),
                    raw_line: raw_line.to_string(),
                    raw_field: String::new(),
                    code: 1213,
                    reason: "Missing data for not-null field".into(),
                })
            }
            Ok(v) => row[i] = v,
            Err((code, reason)) => {
                return bad(BadRow {
                    fatal: false,
                    line,
                    colname: c.name.clone(),
                    col_type: c.ty.name(),
                    raw_line: raw_line.to_string(),
                    raw_field: text.unwrap_or_default().to_string(),
                    code,
                    reason,
                })
            }
        }
    }
    // Columns the COPY does not name are null (a NOT NULL one was refused).
    rows.push(row);
}

/// One field as its column's type: Redshift's error code and reason when
/// it does not fit.
fn convert(ty: &ColumnType, s: &str, o: &CopyOptions) -> Result<Cell, (u32, String)> {
    let digits = |kind: &str| {
        (
            1207,
            format!(
                "Invalid digit, Value '{}', Pos 0, Type: {kind}",
                s.chars().next().unwrap_or(' ')
            ),
        )
    };
    let int = |kind: &str, min: i64, max: i64| -> Result<Cell, (u32, String)> {
        let v = s.trim();
        let ok = !v.is_empty()
            && v.strip_prefix(['-', '+'])
                .unwrap_or(v)
                .bytes()
                .all(|b| b.is_ascii_digit());
        if !ok {
            return Err(digits(kind));
        }
        match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Cell::Int(n)),
            _ => Err((1222, format!("Overflow, Value '{v}', Type: {kind}"))),
        }
    };
    match ty {
        ColumnType::SmallInt => int("Smallint", i16::MIN as i64, i16::MAX as i64),
        ColumnType::Integer => int("Integer", i32::MIN as i64, i32::MAX as i64),
        ColumnType::BigInt => int("Long", i64::MIN, i64::MAX),
        ColumnType::Decimal { precision, scale } => decimal(s.trim(), *precision, *scale)
            .map(|v| Cell::Decimal(v, *scale))
            .ok_or((
                1209,
                format!("Invalid digit or overflow for DECIMAL({precision},{scale}), Value '{s}'"),
            )),
        ColumnType::Real | ColumnType::Double => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| {
                if matches!(ty, ColumnType::Real) {
                    f as f32 as f64
                } else {
                    f
                }
            })
            .filter(|f| f.is_finite())
            .map(Cell::Float)
            .ok_or((1208, format!("Invalid float, Value '{s}'"))),
        ColumnType::Boolean => match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "y" | "yes" => Ok(Cell::Bool(true)),
            "f" | "false" | "0" | "n" | "no" => Ok(Cell::Bool(false)),
            _ => Err((1210, format!("Invalid boolean, Value '{s}'"))),
        },
        ColumnType::Char(n) | ColumnType::Varchar(n) => {
            let max = *n as usize;
            if s.len() <= max {
                Ok(Cell::Text(s.to_string()))
            } else if o.truncate_columns {
                let mut end = max;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                Ok(Cell::Text(s[..end].to_string()))
            } else {
                Err((1204, "String length exceeds DDL length".to_string()))
            }
        }
        ColumnType::Date => date(s.trim(), o.time_format.as_deref() == Some("auto"))
            .map(Cell::Date)
            .ok_or((
                1205,
                "Invalid Date Format - length must be 10 or more".into(),
            )),
        ColumnType::Timestamp => timestamp(s.trim(), o.time_format.as_deref())
            .map(Cell::Timestamp)
            .ok_or((
                1206,
                format!(
                    "Invalid timestamp format or value [{}]",
                    match o.time_format.as_deref() {
                        None => "YYYY-MM-DD HH24:MI:SS",
                        Some(f) => f,
                    }
                ),
            )),
    }
}

/// A decimal text as an unscaled value with `scale` digits (rounded half
/// away from zero); None when it is not a number or needs more than
/// `precision` digits.
fn decimal(s: &str, precision: u32, scale: u32) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() as u32 > precision - scale {
        return None;
    }
    let mut v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut digits = frac.bytes();
    for _ in 0..scale {
        v = v * 10 + digits.next().map_or(0, |b| i128::from(b - b'0'));
    }
    if digits.next().is_some_and(|b| b >= b'5') {
        v += 1;
    }
    if v >= 10i128.pow(precision) {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn num(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn date(s: &str, auto: bool) -> Option<i64> {
    // Fixed byte positions below: other text is not a date anyway.
    if !s.is_ascii() {
        return None;
    }
    let d = if auto && s.len() > 10 { &s[..10] } else { s };
    let mut p = d.split('-');
    let (y, m, day) = (num(p.next()?, 4)?, num(p.next()?, 2)?, num(p.next()?, 2)?);
    if p.next().is_some()
        || !(1..=12).contains(&m)
        || day == 0
        || day > shardlab_engine::time_pattern::days_in_month(i64::from(y), m)
    {
        return None;
    }
    Some(days_from_civil(i64::from(y), m, day))
}

/// A timestamp as microseconds since the epoch: `YYYY-MM-DD HH:MI:SS[.f]`
/// by default; with `auto` also ISO 8601 (`T`, `Z` or an offset) and a
/// bare date; `epochsecs` / `epochmillisecs` numbers.
fn timestamp(s: &str, format: Option<&str>) -> Option<i64> {
    match format {
        Some("epochsecs") => return s.parse::<i64>().ok()?.checked_mul(1_000_000),
        Some("epochmillisecs") => return s.parse::<i64>().ok()?.checked_mul(1000),
        _ => {}
    }
    let auto = format == Some("auto");
    // Fixed byte positions below: other text is not a timestamp anyway.
    if !s.is_ascii() {
        return None;
    }
    if s.len() < 19 {
        return (auto && s.len() == 10)
            .then(|| date(s, false))
            .flatten()
            .map(|d| d * 86_400_000_000);
    }
    let days = date(&s[..10], false)?;
    let sep = s.as_bytes()[10];
    if !(sep == b' ' || auto && sep == b'T') {
        return None;
    }
    let (h, mi, sec) = (
        num(&s[11..13], 2)?,
        num(&s[14..16], 2)?,
        num(&s[17..19], 2)?,
    );
    if &s[13..14] != ":" || &s[16..17] != ":" || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return None;
        }
        micros = f[..n].parse::<i64>().ok()? * 10i64.pow(6 - n as u32);
        rest = &f[n..];
    }
    let offset_s: i64 = match rest {
        "" => 0,
        "Z" if auto => 0,
        o if auto && o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let (oh, om) = (num(&o[1..3], 2)?, num(&o[4..6], 2)?);
            let v = i64::from(oh * 3600 + om * 60);
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_s;
    Some(secs * 1_000_000 + micros)
}

/// A result set: its columns (name, Redshift's type name) and rows.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Cell>>,
}

/// Whether a statement is a query (it returns rows) rather than DDL.
pub fn is_query(sql: &str) -> bool {
    // Past whitespace, comments and opening parentheses.
    let mut head = sql;
    loop {
        let h = head.trim_start().trim_start_matches('(');
        if let Some(rest) = h.strip_prefix("--") {
            head = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = h.strip_prefix("/*") {
            head = rest.split_once("*/").map_or("", |(_, r)| r);
        } else if h.len() != head.len() {
            head = h;
        } else {
            break;
        }
    }
    let word: String = head
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    word.eq_ignore_ascii_case("select") || word.eq_ignore_ascii_case("with")
}

/// The columns of `stl_load_errors` the playground fills, with Redshift's
/// names and types.
const LOAD_ERROR_COLUMNS: [(&str, ColumnType); 10] = [
    ("query", ColumnType::Integer),
    ("starttime", ColumnType::Timestamp),
    ("filename", ColumnType::Char(256)),
    ("line_number", ColumnType::BigInt),
    ("colname", ColumnType::Char(127)),
    ("type", ColumnType::Char(10)),
    ("raw_line", ColumnType::Char(1024)),
    ("raw_field_value", ColumnType::Char(1024)),
    ("err_code", ColumnType::Integer),
    ("err_reason", ColumnType::Char(100)),
];

fn sql_type(t: &ColumnType) -> shardlab_sql::value::SqlType {
    use shardlab_sql::value::SqlType;
    match t {
        ColumnType::SmallInt => SqlType::SmallInt,
        ColumnType::Integer => SqlType::Integer,
        ColumnType::BigInt => SqlType::BigInt,
        ColumnType::Decimal { precision, scale } => SqlType::Decimal {
            precision: (*precision).min(38) as u8,
            scale: (*scale).min(37) as u8,
        },
        ColumnType::Real => SqlType::Real,
        ColumnType::Double => SqlType::Double,
        ColumnType::Boolean => SqlType::Boolean,
        ColumnType::Char(n) => SqlType::Char(*n),
        ColumnType::Varchar(n) => SqlType::Varchar(Some(*n)),
        ColumnType::Date => SqlType::Date,
        ColumnType::Timestamp => SqlType::Timestamp,
    }
}

fn to_value(c: &Cell) -> shardlab_sql::value::Value {
    use shardlab_sql::value::Value;
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Int(*i),
        Cell::Decimal(v, s) => Value::Decimal(*v, *s as u8),
        Cell::Float(f) => Value::Float(*f),
        Cell::Bool(b) => Value::Bool(*b),
        Cell::Text(s) => Value::Str(s.as_str().into()),
        Cell::Date(d) => Value::Date(*d),
        Cell::Timestamp(us) => Value::Timestamp(us.div_euclid(1000)),
    }
}

fn to_cell(v: shardlab_sql::value::Value) -> Cell {
    use shardlab_sql::value::Value;
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(b),
        Value::Int(i) => Cell::Int(i),
        Value::Float(f) => Cell::Float(f),
        Value::Decimal(u, s) => Cell::Decimal(u, s as u32),
        Value::Str(s) => Cell::Text(s.to_string()),
        Value::Timestamp(ms) => Cell::Timestamp(ms.saturating_mul(1000)),
        Value::Date(d) => Cell::Date(d),
        other => Cell::Text(other.to_text()),
    }
}

impl shardlab_sql::query::Tables for Cluster {
    fn columns(&self, name: &str) -> Option<Vec<shardlab_sql::plan::Col>> {
        use shardlab_sql::plan::Col;
        if name == "stl_load_errors" {
            return Some(
                LOAD_ERROR_COLUMNS
                    .iter()
                    .map(|(n, t)| Col::new(n, Some(sql_type(t))))
                    .collect(),
            );
        }
        self.tables.get(name).map(|t| {
            t.columns
                .iter()
                .map(|c| Col::new(&c.name, Some(sql_type(&c.ty))))
                .collect()
        })
    }

    fn scan(
        &self,
        name: &str,
        each: &mut dyn FnMut(Vec<shardlab_sql::value::Value>) -> Result<(), shardlab_sql::SqlError>,
    ) -> Result<(), shardlab_sql::SqlError> {
        use shardlab_sql::value::Value;
        if name == "stl_load_errors" {
            for e in &self.load_errors {
                each(vec![
                    Value::Int(e.query as i64),
                    Value::Timestamp(e.starttime_ms as i64),
                    Value::Str(e.filename.as_str().into()),
                    Value::Int(e.line_number as i64),
                    Value::Str(e.colname.as_str().into()),
                    Value::Str(e.col_type.as_str().into()),
                    Value::Str(e.raw_line.as_str().into()),
                    Value::Str(e.raw_field_value.as_str().into()),
                    Value::Int(e.err_code as i64),
                    Value::Str(e.err_reason.as_str().into()),
                ])?;
            }
            return Ok(());
        }
        if let Some(t) = self.tables.get(name) {
            for r in &t.rows {
                each(r.iter().map(to_value).collect())?;
            }
        }
        Ok(())
    }
}

impl Cluster {
    /// Runs one statement: a `SELECT` gives its rows; DDL gives none.
    /// Errors read as Redshift's (`ERROR: ...`), with the position in the
    /// statement where there is one.
    pub fn run(&mut self, sql: &str, now_ms: u64) -> Result<Option<ResultSet>, String> {
        if is_query(sql) {
            self.query(sql, now_ms).map(Some)
        } else {
            self.execute(sql).map(|()| None)
        }
    }

    /// Runs a `SELECT` over the cluster's tables and `stl_load_errors`.
    pub fn query(&self, sql: &str, now_ms: u64) -> Result<ResultSet, String> {
        let out = shardlab_sql::query::run_query(sql, self, now_ms as i64).map_err(|e| {
            if e.line == 0 {
                format!("ERROR: {}", e.message)
            } else {
                format!(
                    "ERROR: {} (line {}, column {})",
                    e.message, e.line, e.column
                )
            }
        })?;
        Ok(ResultSet {
            columns: out
                .columns
                .iter()
                .map(|(n, t)| {
                    (
                        n.clone(),
                        shardlab_sql::query::pg_type(t.as_ref()).to_string(),
                    )
                })
                .collect(),
            rows: out
                .rows
                .into_iter()
                .map(|r| r.into_iter().map(to_cell).collect())
                .collect(),
        })
    }
}

/// The COPY command Firehose runs, as it shows in the console and logs.
pub fn copy_command(
    table: &str,
    columns: Option<&str>,
    manifest_url: &str,
    role_arn: &str,
    options: &str,
) -> String {
    let cols = columns
        .filter(|c| !c.trim().is_empty())
        .map(|c| format!(" ({})", c.trim()))
        .unwrap_or_default();
    let opts = options.trim().trim_end_matches(';');
    let opts = if opts.is_empty() {
        String::new()
    } else {
        format!(" {opts}")
    };
    format!(
        "COPY {table}{cols} FROM '{manifest_url}' CREDENTIALS 'aws_iam_role={role_arn}' MANIFEST{opts};"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_known_past_comments_and_parentheses() {
        assert!(is_query("SELECT 1"));
        assert!(is_query("  (select 1)"));
        assert!(is_query("-- top pages\nSELECT page FROM clicks"));
        assert!(is_query(
            "/* a note */ with t as (select 1) select * from t"
        ));
        assert!(!is_query("-- a table\nCREATE TABLE t (a INT)"));
        assert!(!is_query("TRUNCATE clicks"));
        assert_eq!(table_name("\"Clicks\""), "clicks");
    }

    fn clicks() -> Cluster {
        let mut c = Cluster::default();
        c.execute(
            "CREATE TABLE clicks (event_id BIGINT NOT NULL, user_id VARCHAR(12), \
             action VARCHAR(16), price DECIMAL(8,2), ok BOOLEAN, event_time TIMESTAMP)",
        )
        .unwrap();
        c
    }

    fn file(text: &str) -> Vec<(String, &[u8])> {
        vec![("s3://b/k".into(), text.as_bytes())]
    }

    #[test]
    fn tables_are_made_and_dropped_as_redshift_does() {
        let mut c = clicks();
        let t = &c.tables["clicks"];
        assert_eq!(t.columns[0].name, "event_id");
        assert!(t.columns[0].not_null);
        assert_eq!(
            t.columns[3].ty,
            ColumnType::Decimal {
                precision: 8,
                scale: 2
            }
        );
        assert_eq!(
            c.execute("CREATE TABLE Clicks (a INT)").unwrap_err(),
            "ERROR: relation \"clicks\" already exists"
        );
        c.execute("CREATE TABLE IF NOT EXISTS clicks (a INT)")
            .unwrap();
        assert!(c
            .execute("CREATE TABLE g (a GEOMETRY)")
            .unwrap_err()
            .contains("not supported"));
        c.execute("DROP TABLE clicks").unwrap();
        assert_eq!(
            c.execute("DROP TABLE clicks").unwrap_err(),
            "ERROR: Table \"clicks\" does not exist"
        );
        c.execute("DROP TABLE IF EXISTS clicks").unwrap();
        // Several statements, TRUNCATE, and what does not run here.
        c.execute("CREATE TABLE a (x INT); CREATE TABLE b (y INT);")
            .unwrap();
        c.copy("a", None, "", &file("1\n2"), 0).unwrap();
        c.execute("TRUNCATE a").unwrap();
        assert_eq!(c.tables["a"].row_count, 0);
        assert!(c
            .execute("TRUNCATE nope")
            .unwrap_err()
            .contains("does not exist"));
        assert!(c
            .execute("SELECT 1")
            .unwrap_err()
            .starts_with("ERROR: only CREATE TABLE, DROP TABLE and TRUNCATE run here"));
        assert!(c
            .execute("CREATE TABLE c (x INT) junk")
            .unwrap_err()
            .starts_with("ERROR:"));
        assert!(c
            .execute("CREATE TABLE d (x INT")
            .unwrap_err()
            .starts_with("ERROR:"));
    }

    #[test]
    fn json_auto_maps_keys_to_columns_and_converts_types() {
        let mut c = clicks();
        let n = c
            .copy(
                "clicks",
                None,
                "JSON 'auto' TIMEFORMAT 'auto'",
                &file(
                    "{\"event_id\":1,\"user_id\":\"u1\",\"action\":\"buy\",\"price\":\"9.995\",\"ok\":true,\"event_time\":\"2026-01-01T00:00:01.250Z\"}\n\
                     {\"event_id\":2,\"USER_ID\":\"u2\",\"extra\":[1]}",
                ),
                0,
            )
            .unwrap();
        assert_eq!(n, 2);
        let t = &c.tables["clicks"];
        let texts: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::text).collect())
            .collect();
        assert_eq!(
            texts[0],
            ["1", "u1", "buy", "10.00", "t", "2026-01-01 00:00:01.25"]
        );
        // 'auto' is case-sensitive: USER_ID is not user_id.
        assert_eq!(texts[1], ["2", "", "", "", "", ""]);
        let n = c
            .copy(
                "clicks",
                None,
                "JSON 'auto ignorecase'",
                &file("{\"EVENT_ID\":3,\"User_Id\":\"u3\"}"),
                0,
            )
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(c.tables["clicks"].rows[2][1], Cell::Text("u3".into()));
    }

    #[test]
    fn a_bad_row_fails_the_whole_copy_unless_maxerror_allows_it() {
        let mut c = clicks();
        let data = "{\"event_id\":1,\"event_time\":\"2026-01-01 00:00:00\"}\n\
                    {\"event_id\":\"x7\"}\n\
                    {\"event_id\":3,\"user_id\":\"a-very-long-user\"}\n\
                    {\"event_id\":4,\"event_time\":\"2026-01-01T00:00:00Z\"}\n\
                    {\"user_id\":\"no-id\"}";
        let e = c
            .copy("clicks", None, "JSON 'auto'", &file(data), 0)
            .unwrap_err();
        assert_eq!(e.code, "Redshift.DataLoadFailed");
        assert_eq!(
            e.message,
            "Load into table 'clicks' failed. Check 'stl_load_errors' system table for details."
        );
        assert_eq!(c.tables["clicks"].row_count, 0, "all or nothing");
        let errors: Vec<(u64, u32, &str, &str)> = c
            .load_errors
            .iter()
            .map(|e| {
                (
                    e.line_number,
                    e.err_code,
                    e.colname.as_str(),
                    e.err_reason.as_str(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                (
                    2,
                    1207,
                    "event_id",
                    "Invalid digit, Value 'x', Pos 0, Type: Long"
                ),
                (3, 1204, "user_id", "String length exceeds DDL length"),
                (
                    4,
                    1206,
                    "event_time",
                    "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]"
                ),
                (5, 1213, "event_id", "Missing data for not-null field"),
            ]
        );
        let n = c
            .copy(
                "clicks",
                None,
                "JSON 'auto' MAXERROR 4 TRUNCATECOLUMNS",
                &file(data),
                0,
            )
            .unwrap();
        assert_eq!(
            n, 2,
            "TRUNCATECOLUMNS cuts the long user id; three rows are still bad"
        );
        assert_eq!(
            c.tables["clicks"].rows[1][1],
            Cell::Text("a-very-long-".into())
        );
    }

    #[test]
    fn delimited_and_csv_text_and_gzip() {
        let mut c = Cluster::default();
        c.execute("CREATE TABLE t (a INT, b VARCHAR(10), d DATE)")
            .unwrap();
        c.copy("t", None, "", &file("1|x|2026-02-03\n2||2026-02-04\n"), 0)
            .unwrap();
        assert_eq!(c.tables["t"].rows[1][1], Cell::Text(String::new()));
        c.copy(
            "t",
            None,
            "DELIMITER ',' EMPTYASNULL",
            &file("3,,2026-02-05"),
            0,
        )
        .unwrap();
        assert_eq!(c.tables["t"].rows[2][1], Cell::Null);
        c.copy(
            "t",
            None,
            "CSV IGNOREHEADER 1",
            &file("a,b,d\n4,\"x,y\",2026-02-06\n"),
            0,
        )
        .unwrap();
        assert_eq!(c.tables["t"].rows[3][1], Cell::Text("x,y".into()));
        let e = c.copy("t", None, "", &file("5|x"), 0).unwrap_err();
        assert_eq!(e.code, "Redshift.DataLoadFailed");
        assert_eq!(c.load_errors.back().unwrap().err_code, 1214);
        let e = c
            .copy("t", None, "", &file("5|x|2026-02-07|extra"), 0)
            .unwrap_err();
        assert_eq!(e.code, "Redshift.DataLoadFailed");
        assert_eq!(c.load_errors.back().unwrap().err_code, 1202);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"6|g|2026-02-08\n").unwrap();
        let body = gz.finish().unwrap();
        let files = vec![("s3://b/k.gz".to_string(), &body[..])];
        c.copy("t", None, "GZIP", &files, 0).unwrap();
        assert_eq!(c.tables["t"].row_count, 5);
        // Without GZIP the compressed bytes are not rows.
        assert!(c.copy("t", None, "", &files, 0).is_err());
    }

    #[test]
    fn copy_problems_carry_firehoses_error_codes() {
        let mut c = clicks();
        assert_eq!(
            c.copy("views", None, "", &file(""), 0).unwrap_err().code,
            "Redshift.TableNotFound"
        );
        let cols = ["event_id".to_string(), "nope".to_string()];
        assert_eq!(
            c.copy("clicks", Some(&cols), "", &file(""), 0)
                .unwrap_err()
                .code,
            "Redshift.ColumnNotFound"
        );
        let cols = ["user_id".to_string()];
        assert_eq!(
            c.copy("clicks", Some(&cols), "", &file(""), 0)
                .unwrap_err()
                .code,
            "Redshift.MissingColumn"
        );
        assert_eq!(
            c.copy("clicks", None, "JSON 'auto' DELIMITER ','", &file(""), 0)
                .unwrap_err()
                .code,
            "Redshift.IncorrectCopyOptions"
        );
        assert_eq!(
            c.copy("clicks", None, "PARQUET", &file(""), 0)
                .unwrap_err()
                .code,
            "Redshift.SyntaxError"
        );
        c.unavailable = true;
        assert_eq!(
            c.copy("clicks", None, "", &file(""), 0).unwrap_err().code,
            "Redshift.ConnectionFailed"
        );
    }

    #[test]
    fn hostile_text_fails_as_load_errors_without_a_panic() {
        let mut c = clicks();
        for text in [
            "{\"event_id\":1,\"event_time\":\"2024-01-0é 00:00:00\"}",
            "{\"event_id\":1,\"event_time\":\"2024-01-01 1é:00:00\"}",
            "{\"event_id\":1,\"event_time\":\"é2024-01-01T00:00:00+01:00\"}",
        ] {
            let e = c
                .copy(
                    "clicks",
                    None,
                    "JSON 'auto' TIMEFORMAT 'auto'",
                    &file(text),
                    0,
                )
                .unwrap_err();
            assert_eq!(e.code, "Redshift.DataLoadFailed");
            assert_eq!(c.load_errors.back().unwrap().err_code, 1206);
        }
        // A JSON syntax error fails the COPY whatever MAXERROR allows:
        // the rest of the file cannot be read.
        let e = c
            .copy(
                "clicks",
                None,
                "JSON 'auto' MAXERROR 100",
                &file("{\"event_id\":1}\n{\"event_id\":2\n{\"event_id\":3}"),
                0,
            )
            .unwrap_err();
        assert_eq!(e.code, "Redshift.DataLoadFailed");
        assert_eq!(c.tables["clicks"].row_count, 0);
        // A REAL overflow is an error, not infinity.
        c.execute("CREATE TABLE r (v REAL)").unwrap();
        assert!(c.copy("r", None, "", &file("1e39"), 0).is_err());
        assert_eq!(c.load_errors.back().unwrap().err_code, 1208);
        assert_eq!(
            c.copy("r", None, "CSV DELIMITER '¦'", &file("1"), 0)
                .unwrap_err()
                .code,
            "Redshift.SyntaxError"
        );
    }

    #[test]
    fn the_command_reads_as_firehose_runs_it() {
        assert_eq!(
            copy_command("clicks", Some("a,b"), "s3://b/manifests/m", "arn:aws:iam::1:role/r", "JSON 'auto' GZIP;"),
            "COPY clicks (a,b) FROM 's3://b/manifests/m' CREDENTIALS 'aws_iam_role=arn:aws:iam::1:role/r' MANIFEST JSON 'auto' GZIP;"
        );
    }
}
