//! "Show as Flink SQL": a KDA application rewritten for Managed Service for
//! Apache Flink, following AWS's migration guide — in-application streams
//! become Kinesis-backed tables, ROWTIME becomes a processing-time column,
//! `GROUP BY ..., STEP(ROWTIME BY ...)` becomes a `TUMBLE` window table
//! function, `WINDOW ... RANGE ... PRECEDING` an OVER window ordered by
//! that column, a stream join an interval join.
//!
//! What has no faithful translation is not guessed at: the statement is
//! left out and a note says why (a stagger window, TOP_K_ITEMS_TUMBLING,
//! two different OVER windows in one SELECT, ...).

use sqlparser::ast;

use crate::error::SqlError;
use crate::parse::{parse_application, Statement};
use crate::plan::{sql_type, unnamed_args};
use crate::value::SqlType;

/// The processing-time column the source table gets (KDA's ROWTIME).
pub const PROC_TIME: &str = "proc_time";

/// What the translation knows about the application's input.
#[derive(Clone, Debug, Default)]
pub struct FlinkSource {
    /// The Kinesis data stream the application reads.
    pub kinesis_stream: String,
    /// `LATEST` or `TRIM_HORIZON`.
    pub initial_position: String,
    /// The input columns, as discovered.
    pub columns: Vec<(String, SqlType)>,
    /// The application's outputs (KDA's `Outputs`).
    pub outputs: Vec<FlinkOutput>,
}

/// A KDA application output, for the translation: an in-application
/// stream written to a Firehose delivery stream (or a Lambda function,
/// which Flink SQL cannot write to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlinkOutput {
    pub stream: String,
    /// The delivery stream of a Firehose output.
    pub delivery_stream: Option<String>,
    /// The function of a Lambda output.
    pub function: Option<String>,
    /// The data stream of a Kinesis output.
    pub data_stream: Option<String>,
    /// `json` or `csv`.
    pub format: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlinkTranslation {
    pub sql: String,
    /// What was changed in meaning, or left out, and why.
    pub notes: Vec<String>,
}

/// Flink's name for a type.
fn flink_type(t: &SqlType) -> String {
    match t {
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::TinyInt => "TINYINT".into(),
        SqlType::SmallInt => "SMALLINT".into(),
        SqlType::Integer => "INT".into(),
        SqlType::BigInt => "BIGINT".into(),
        SqlType::Real => "FLOAT".into(),
        SqlType::Double => "DOUBLE".into(),
        SqlType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        SqlType::Char(n) => format!("CHAR({n})"),
        SqlType::Varchar(Some(n)) => format!("VARCHAR({n})"),
        SqlType::Varchar(None) => "STRING".into(),
        SqlType::Date => "DATE".into(),
        SqlType::Time => "TIME".into(),
        SqlType::Timestamp => "TIMESTAMP(3)".into(),
        SqlType::Varbinary(_) => "BYTES".into(),
        SqlType::Interval => "INTERVAL DAY TO SECOND".into(),
    }
}

/// Why a construct has no translation.
struct Untranslatable(String);

type R<T> = Result<T, Untranslatable>;

fn no<T>(why: impl Into<String>) -> R<T> {
    Err(Untranslatable(why.into()))
}

struct Translator {
    /// Every stream and column name known, exactly as stored.
    names: Vec<String>,
    /// Each stream's columns.
    streams: Vec<(String, Vec<String>)>,
    notes: Vec<String>,
    /// The OVER windows of the SELECT being translated (Flink allows one).
    windows_used: Vec<String>,
}

/// How ROWTIME and the window key read inside one SELECT.
#[derive(Clone, Default)]
struct Scope {
    /// Inside an aggregate over a TUMBLE: ROWTIME is the window's end, and
    /// this window-key text is `window_start`.
    window_key: Option<String>,
    /// Single-source query: the source's name and alias qualify columns
    /// needlessly (the window function renames the source anyway).
    drop_qualifiers: Vec<String>,
    /// The columns the FROM clause provides, when known.
    columns: Vec<String>,
    /// The SELECT's named windows.
    named: Vec<(String, ast::WindowSpec)>,
}

fn is_rowtime(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Identifier(id) => id.value.eq_ignore_ascii_case("ROWTIME"),
        ast::Expr::CompoundIdentifier(p) => p
            .last()
            .is_some_and(|id| id.value.eq_ignore_ascii_case("ROWTIME")),
        _ => false,
    }
}

fn fn_args(f: &ast::Function) -> Vec<&ast::Expr> {
    match &f.args {
        ast::FunctionArguments::List(l) => unnamed_args(&l.args),
        _ => Vec::new(),
    }
}

impl Translator {
    /// A column as Flink needs it: resolved among the query's own columns
    /// first (KDA's rules), backticked.
    fn column(&self, id: &ast::Ident, s: &Scope) -> String {
        if id.quote_style.is_none() && !s.columns.is_empty() {
            let upper = id.value.to_uppercase();
            let hit = if s.columns.contains(&upper) {
                Some(upper)
            } else {
                let mut hits = s
                    .columns
                    .iter()
                    .filter(|n| n.eq_ignore_ascii_case(&id.value));
                match (hits.next(), hits.next()) {
                    (Some(n), None) => Some(n.clone()),
                    _ => None,
                }
            };
            if let Some(n) = hit {
                return format!("`{}`", n.replace('`', "``"));
            }
        }
        self.ident(id)
    }

    fn stream_columns(&self, id: &ast::Ident) -> Vec<String> {
        let want = if id.quote_style.is_some() {
            id.value.clone()
        } else {
            id.value.to_uppercase()
        };
        self.streams
            .iter()
            .find(|(n, _)| *n == want)
            .or_else(|| {
                self.streams
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&id.value))
            })
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    }

    /// An identifier as Flink needs it: the exact stored name, backticked.
    fn ident(&self, id: &ast::Ident) -> String {
        // KDA's rule: unquoted names are upper-cased; failing that, the
        // one name that matches ignoring case (a discovered column).
        let upper = id.value.to_uppercase();
        let name = if id.quote_style.is_some() {
            id.value.clone()
        } else if self.names.contains(&upper) {
            upper
        } else {
            let mut hits = self
                .names
                .iter()
                .filter(|n| n.eq_ignore_ascii_case(&id.value));
            match (hits.next(), hits.next()) {
                (Some(n), None) => n.clone(),
                _ => upper,
            }
        };
        format!("`{}`", name.replace('`', "``"))
    }

    /// A GROUP BY key that is a tumbling window on ROWTIME: its size.
    fn window_size(&self, e: &ast::Expr) -> Option<String> {
        match e {
            ast::Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("STEP") => {
                let args = fn_args(f);
                match args.as_slice() {
                    [t, ast::Expr::Interval(iv)] if is_rowtime(t) => Some(iv.to_string()),
                    _ => None,
                }
            }
            ast::Expr::Floor {
                expr,
                field: ast::CeilFloorKind::DateTimeField(unit),
            } if is_rowtime(expr) => Some(format!("INTERVAL '1' {unit}")),
            ast::Expr::Floor {
                expr,
                field: ast::CeilFloorKind::DateTimeField(ast::DateTimeField::Second),
            } => {
                // FLOOR((ROWTIME - TIMESTAMP '1970-01-01 00:00:00') SECOND / n TO SECOND)
                if let ast::Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Divide,
                    right,
                } = expr.as_ref()
                {
                    if let (ast::Expr::Function(q), ast::Expr::Value(n)) =
                        (left.as_ref(), right.as_ref())
                    {
                        let inner = fn_args(q);
                        let over_rowtime = matches!(inner.first(), Some(ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Minus, .. }) if is_rowtime(left));
                        if q.name.to_string() == "__INTERVAL_SECOND" && over_rowtime {
                            return Some(format!(
                                "INTERVAL '{}' SECOND",
                                n.value.to_string().trim_matches('\'')
                            ));
                        }
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn expr(&mut self, e: &ast::Expr, s: &Scope) -> R<String> {
        use ast::Expr as A;
        if let Some(k) = &s.window_key {
            if self.window_size(e).is_some_and(|_| &e.to_string() == k) {
                return Ok("window_start".into());
            }
        }
        Ok(match e {
            A::Identifier(id) if id.value.eq_ignore_ascii_case("ROWTIME") => {
                if s.window_key.is_some() {
                    "window_end".into()
                } else {
                    format!("`{PROC_TIME}`")
                }
            }
            A::Identifier(id) => self.column(id, s),
            A::CompoundIdentifier(parts) => {
                let last = parts.last().map(|p| p.value.clone()).unwrap_or_default();
                if last.eq_ignore_ascii_case("ROWTIME") {
                    let base = if s.window_key.is_some() {
                        "window_end".to_string()
                    } else {
                        format!("`{PROC_TIME}`")
                    };
                    if parts.len() == 2
                        && !s
                            .drop_qualifiers
                            .iter()
                            .any(|q| q.eq_ignore_ascii_case(&parts[0].value))
                    {
                        return Ok(format!("{}.{base}", self.ident(&parts[0])));
                    }
                    return Ok(base);
                }
                let keep: Vec<&ast::Ident> = parts
                    .iter()
                    .enumerate()
                    .filter(|(i, p)| {
                        !(*i == 0
                            && parts.len() > 1
                            && s.drop_qualifiers
                                .iter()
                                .any(|q| q.eq_ignore_ascii_case(&p.value)))
                    })
                    .map(|(_, p)| p)
                    .collect();
                let n = keep.len();
                keep.iter()
                    .enumerate()
                    .map(|(i, p)| {
                        if i + 1 == n {
                            self.column(p, s)
                        } else {
                            self.ident(p)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            }
            A::Value(_) | A::TypedString(_) | A::Interval(_) => e.to_string(),
            A::Nested(x) => format!("({})", self.expr(x, s)?),
            A::UnaryOp { op, expr } => format!(
                "{op}{}",
                if *op == ast::UnaryOperator::Not {
                    format!(" {}", self.expr(expr, s)?)
                } else {
                    self.expr(expr, s)?
                }
            ),
            A::BinaryOp { left, op, right } => {
                format!("{} {op} {}", self.expr(left, s)?, self.expr(right, s)?)
            }
            A::Cast {
                expr, data_type, ..
            } => {
                let ty = sql_type(data_type).map_err(Untranslatable)?;
                format!("CAST({} AS {})", self.expr(expr, s)?, flink_type(&ty))
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let mut out = String::from("CASE");
                if let Some(o) = operand {
                    out.push_str(&format!(" {}", self.expr(o, s)?));
                }
                for c in conditions {
                    out.push_str(&format!(
                        " WHEN {} THEN {}",
                        self.expr(&c.condition, s)?,
                        self.expr(&c.result, s)?
                    ));
                }
                if let Some(x) = else_result {
                    out.push_str(&format!(" ELSE {}", self.expr(x, s)?));
                }
                out + " END"
            }
            A::IsNull(x) => format!("{} IS NULL", self.expr(x, s)?),
            A::IsNotNull(x) => format!("{} IS NOT NULL", self.expr(x, s)?),
            A::InList {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|x| self.expr(x, s)).collect::<R<_>>()?;
                format!(
                    "{} {}IN ({})",
                    self.expr(expr, s)?,
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => format!(
                "{} {}BETWEEN {} AND {}",
                self.expr(expr, s)?,
                if *negated { "NOT " } else { "" },
                self.expr(low, s)?,
                self.expr(high, s)?
            ),
            A::Like {
                negated,
                expr,
                pattern,
                ..
            } => {
                format!(
                    "{} {}LIKE {}",
                    self.expr(expr, s)?,
                    if *negated { "NOT " } else { "" },
                    self.expr(pattern, s)?
                )
            }
            A::SimilarTo {
                negated,
                expr,
                pattern,
                ..
            } => {
                format!(
                    "{} {}SIMILAR TO {}",
                    self.expr(expr, s)?,
                    if *negated { "NOT " } else { "" },
                    self.expr(pattern, s)?
                )
            }
            A::Floor { expr, field } | A::Ceil { expr, field } => {
                let name = if matches!(e, A::Floor { .. }) {
                    "FLOOR"
                } else {
                    "CEIL"
                };
                if self.window_size(e).is_some() {
                    return no("a ROWTIME window key outside GROUP BY");
                }
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        format!("{name}({})", self.expr(expr, s)?)
                    }
                    ast::CeilFloorKind::DateTimeField(u) => {
                        format!("{name}({} TO {u})", self.expr(expr, s)?)
                    }
                    ast::CeilFloorKind::Scale(_) => return no("FLOOR with a scale"),
                }
            }
            A::Position { expr, r#in } => format!(
                "POSITION({} IN {})",
                self.expr(expr, s)?,
                self.expr(r#in, s)?
            ),
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut out = format!("SUBSTRING({}", self.expr(expr, s)?);
                if let Some(f) = substring_from {
                    out.push_str(&format!(" FROM {}", self.expr(f, s)?));
                }
                if let Some(f) = substring_for {
                    out.push_str(&format!(" FOR {}", self.expr(f, s)?));
                }
                out + ")"
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                ..
            } => {
                let side = trim_where.map(|w| format!("{w} ")).unwrap_or_default();
                match trim_what {
                    Some(w) => format!(
                        "TRIM({side}{} FROM {})",
                        self.expr(w, s)?,
                        self.expr(expr, s)?
                    ),
                    None => format!("TRIM({side}FROM {})", self.expr(expr, s)?),
                }
            }
            A::Extract { field, expr, .. } => {
                format!("EXTRACT({field} FROM {})", self.expr(expr, s)?)
            }
            A::Function(f) => self.function(f, s)?,
            other => return no(format!("the expression {other}")),
        })
    }

    fn function(&mut self, f: &ast::Function, s: &Scope) -> R<String> {
        if let Some(w) = &f.over {
            let spec = match w {
                ast::WindowType::WindowSpec(spec) => spec.clone(),
                ast::WindowType::NamedWindow(n) => s
                    .named
                    .iter()
                    .find(|(x, _)| x.eq_ignore_ascii_case(&n.value))
                    .map(|(_, spec)| spec.clone())
                    .ok_or_else(|| Untranslatable(format!("the window {n}")))?,
            };
            let is_lag = f.name.to_string().eq_ignore_ascii_case("LAG");
            let over = if is_lag {
                // Flink's LAG counts rows back in the partition; KDA's
                // within its frame, which is the same while the frame
                // reaches that far back.
                let offset = match fn_args(f).get(1) {
                    Some(ast::Expr::Value(v)) => {
                        v.value.to_string().parse::<u64>().unwrap_or(u64::MAX)
                    }
                    Some(_) => u64::MAX,
                    None => 1,
                };
                let reaches = match &spec.window_frame {
                    None => true,
                    Some(fr) => {
                        matches!((&fr.units, &fr.start_bound), (ast::WindowFrameUnits::Rows, ast::WindowFrameBound::Preceding(Some(n))) if n.to_string().parse::<u64>().is_ok_and(|n| n >= offset))
                    }
                };
                if !reaches {
                    return no("LAG reaching past its window's frame");
                }
                self.over(
                    &ast::WindowSpec {
                        window_frame: None,
                        ..spec
                    },
                    s,
                )?
            } else {
                self.over(&spec, s)?
            };
            if !self.windows_used.contains(&over) {
                self.windows_used.push(over.clone());
            }
            let plain = ast::Function {
                over: None,
                ..f.clone()
            };
            return Ok(format!("{} OVER {over}", self.function(&plain, s)?));
        }
        let name = f.name.to_string().to_ascii_uppercase();
        let args = fn_args(f);
        let star = matches!(&f.args, ast::FunctionArguments::List(l) if l.args.iter().any(|a| matches!(a, ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard))));
        let distinct = matches!(&f.args, ast::FunctionArguments::List(l) if matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)));
        let rendered: Vec<String> = args.iter().map(|a| self.expr(a, s)).collect::<R<_>>()?;
        let call = match name.as_str() {
            "TIMESTAMP_TO_CHAR" | "DATE_TO_CHAR" if rendered.len() == 2 => {
                format!("DATE_FORMAT({}, {})", rendered[1], rendered[0])
            }
            "CHAR_TO_TIMESTAMP" | "CHAR_TO_DATE" | "CHAR_TO_TIME" => {
                return no(
                    "CHAR_TO_TIMESTAMP and its kin: KDA reads the start of the text as \
                     SimpleDateFormat does, Flink's TO_TIMESTAMP the whole of it with java.time \
                     patterns (NULL where KDA reads a prefix), so the results would differ",
                )
            }
            "REGEX_REPLACE" => {
                let whole = rendered.len() == 3
                    || (rendered.len() == 5 && rendered[3] == "1" && rendered[4] == "0");
                if !whole {
                    return no("REGEX_REPLACE with a position or a single occurrence (Flink's REGEXP_REPLACE replaces every match)");
                }
                format!(
                    "REGEXP_REPLACE({}, {}, {})",
                    rendered[0], rendered[1], rendered[2]
                )
            }
            "CURRENT_ROW_TIMESTAMP" => format!("`{PROC_TIME}`"),
            "TO_TIMESTAMP" if rendered.len() == 1 => {
                format!("TO_TIMESTAMP_LTZ({}, 3)", rendered[0])
            }
            "STEP" => return no("STEP outside a GROUP BY on ROWTIME"),
            "COUNT" if star => "COUNT(*)".into(),
            "ABS" | "CEIL" | "CEILING" | "FLOOR" | "EXP" | "LN" | "LOG10" | "MOD" | "POWER"
            | "SQRT" | "ROUND" | "UPPER" | "LOWER" | "INITCAP" | "CHAR_LENGTH"
            | "CHARACTER_LENGTH" | "COALESCE" | "NULLIF" | "COUNT" | "SUM" | "AVG" | "MIN"
            | "MAX" | "STDDEV_POP" | "STDDEV_SAMP" | "VAR_POP" | "VAR_SAMP" | "FIRST_VALUE"
            | "LAST_VALUE" | "LAG" => {
                format!(
                    "{name}({}{})",
                    if distinct { "DISTINCT " } else { "" },
                    rendered.join(", ")
                )
            }
            other => return no(format!("the function {other}")),
        };
        Ok(call)
    }

    fn over(&mut self, spec: &ast::WindowSpec, s: &Scope) -> R<String> {
        let mut parts = Vec::new();
        if !spec.partition_by.is_empty() {
            let keys: Vec<String> = spec
                .partition_by
                .iter()
                .map(|p| self.expr(p, s))
                .collect::<R<_>>()?;
            parts.push(format!("PARTITION BY {}", keys.join(", ")));
        }
        parts.push(format!("ORDER BY `{PROC_TIME}`"));
        if let Some(frame) = &spec.window_frame {
            let size = match &frame.start_bound {
                ast::WindowFrameBound::Preceding(Some(n)) => n.to_string(),
                ast::WindowFrameBound::CurrentRow => "0".into(),
                _ => return no("an unbounded window"),
            };
            let units = match frame.units {
                ast::WindowFrameUnits::Range => "RANGE",
                ast::WindowFrameUnits::Rows => "ROWS",
                ast::WindowFrameUnits::Groups => return no("GROUPS windows"),
            };
            parts.push(format!("{units} BETWEEN {size} PRECEDING AND CURRENT ROW"));
        }
        Ok(format!("({})", parts.join(" ")))
    }

    fn query(&mut self, q: &ast::Query) -> R<String> {
        if q.order_by.is_some() {
            return no(
                "a streaming ORDER BY (Flink sorts a stream only by an ascending time attribute)",
            );
        }
        let ast::SetExpr::Select(sel) = q.body.as_ref() else {
            return no("a set operation");
        };
        self.select(sel)
    }

    fn select(&mut self, sel: &ast::Select) -> R<String> {
        let [from] = sel.from.as_slice() else {
            return no("a query over several sources");
        };
        let mut scope = Scope::default();
        let mut source = match &from.relation {
            ast::TableFactor::Table { name, alias, args: None, .. } => {
                let id = name.0.last().and_then(|p| p.as_ident()).cloned().unwrap_or_else(|| ast::Ident::new(""));
                scope.drop_qualifiers.push(id.value.clone());
                scope.columns = self.stream_columns(&id);
                let mut text = self.ident(&id);
                if let Some(a) = alias {
                    if from.joins.is_empty() {
                        scope.drop_qualifiers.push(a.name.value.clone());
                    } else {
                        text.push_str(&format!(" AS {}", self.ident(&a.name)));
                    }
                }
                text
            }
            ast::TableFactor::Derived { subquery, alias, .. } => {
                let inner = self.query(subquery)?;
                match alias {
                    Some(a) if a.columns.is_empty() => format!("({inner}) AS {}", self.ident(&a.name)),
                    Some(_) => return no("a subquery alias with a column list (a log parser's ROW)"),
                    None => format!("({inner})"),
                }
            }
            ast::TableFactor::TableFunction { .. } => {
                return no("KDA's table functions (TOP_K_ITEMS_TUMBLING, COUNT_DISTINCT_ITEMS_TUMBLING, RANDOM_CUT_FOREST): AWS's guide rebuilds top-K with ROW_NUMBER() over a TUMBLE aggregate")
            }
            other => return no(format!("the source {other}")),
        };
        // Joins.
        for j in &from.joins {
            let (kind, c) = match &j.join_operator {
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => ("JOIN", c),
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => ("LEFT JOIN", c),
                _ => return no("this kind of join"),
            };
            let ast::JoinConstraint::On(on) = c else {
                return no("a join without ON");
            };
            let ast::TableFactor::Table {
                name, alias, args, ..
            } = &j.relation
            else {
                return no("a join with a subquery");
            };
            let alias_text = alias
                .as_ref()
                .map(|a| format!(" AS {}", self.ident(&a.name)))
                .unwrap_or_default();
            // The left side's name, as both kinds of join qualify its time.
            let left = match &from.relation {
                ast::TableFactor::Table { alias: Some(a), .. } => self.ident(&a.name),
                ast::TableFactor::Table { name, .. } => self.ident(
                    name.0
                        .last()
                        .and_then(|p| p.as_ident())
                        .unwrap_or(&ast::Ident::new("")),
                ),
                _ => return no("a join on a subquery"),
            };
            let fname = name.to_string();
            if let (Some(args), true) = (args, fname == "__WINDOWED") {
                // KDA's window on the joined stream becomes an interval join.
                let parts = unnamed_args(&args.args);
                let (Some(ast::Expr::Identifier(rid)), Some(size)) = (parts.first(), parts.get(1))
                else {
                    return no("this stream join");
                };
                let right = alias
                    .as_ref()
                    .map(|a| self.ident(&a.name))
                    .unwrap_or_else(|| self.ident(rid));
                // The joined stream's columns resolve its names in ON.
                scope.columns.extend(self.stream_columns(rid));
                let on_text = self.expr(on, &scope)?;
                if kind != "JOIN" {
                    self.notes.push("A LEFT interval join in Flink emits an unmatched row only when the window has passed, not at once as KDA does.".into());
                }
                source.push_str(&format!(
                    " {kind} {}{alias_text} ON {on_text} AND {right}.`{PROC_TIME}` BETWEEN {left}.`{PROC_TIME}` - {size} AND {left}.`{PROC_TIME}`",
                    self.ident(rid)
                ));
                continue;
            }
            if args.is_some() {
                return no("a stream join over ROWS (Flink's interval joins are by time)");
            }
            // A reference table becomes a lookup join at processing time.
            let on_text = self.expr(on, &scope)?;
            self.notes.push(format!("{} becomes a lookup join: in Flink the reference table is a lookup source (for instance JDBC or a file) queried as of each row's processing time.", name));
            let id = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .unwrap_or_else(|| ast::Ident::new(""));
            source.push_str(&format!(
                " {kind} {} FOR SYSTEM_TIME AS OF {left}.`{PROC_TIME}`{alias_text} ON {on_text}",
                self.ident(&id)
            ));
        }
        if !from.joins.is_empty() {
            scope.drop_qualifiers.clear();
        }
        let group: Vec<ast::Expr> = match &sel.group_by {
            ast::GroupByExpr::Expressions(v, _) => v.clone(),
            ast::GroupByExpr::All(_) => return no("GROUP BY ALL"),
        };
        if group
            .iter()
            .any(|g| matches!(g, ast::Expr::Function(f) if f.name.to_string() == "__STAGGER"))
        {
            return no("a stagger window (AWS's guide: an event-time TUMBLE with a watermark as late as the stagger's range comes closest)");
        }
        let window = group
            .iter()
            .find_map(|g| self.window_size(g).map(|size| (g.to_string(), size)));
        let mut group_text = Vec::new();
        if let Some((key, size)) = &window {
            if !matches!(from.relation, ast::TableFactor::Table { .. }) || !from.joins.is_empty() {
                return no("a window over a subquery or a join");
            }
            source = format!("TABLE(TUMBLE(TABLE {source}, DESCRIPTOR(`{PROC_TIME}`), {size}))");
            scope.window_key = Some(key.clone());
            group_text.push("window_start".to_string());
            group_text.push("window_end".to_string());
            for g in group.iter().filter(|g| &g.to_string() != key) {
                if self.window_size(g).is_some() {
                    return no("two ROWTIME window keys in one GROUP BY");
                }
                group_text.push(self.expr(g, &scope)?);
            }
        } else if !group.is_empty() {
            return no("a GROUP BY without a ROWTIME window key");
        }
        // Select items, and their OVER windows (Flink: one per SELECT).
        let named: Vec<(String, ast::WindowSpec)> = sel
            .named_window
            .iter()
            .filter_map(|ast::NamedWindowDefinition(n, w)| match w {
                ast::NamedWindowExpr::WindowSpec(spec) => {
                    Some((n.value.to_uppercase(), spec.clone()))
                }
                _ => None,
            })
            .collect();
        scope.named = named;
        self.windows_used.clear();
        let mut items = Vec::new();
        for item in &sel.projection {
            let (e, alias) = match item {
                ast::SelectItem::UnnamedExpr(e) => (e, None),
                ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
                ast::SelectItem::Wildcard(_) => {
                    items.push("*".to_string());
                    continue;
                }
                other => return no(format!("the select item {other}")),
            };
            let text = self.expr(e, &scope)?;
            items.push(match alias {
                Some(a) => format!("{text} AS {}", self.ident(a)),
                None => text,
            });
        }
        if self.windows_used.len() > 1 {
            return no("two different OVER windows in one SELECT (Flink needs one window per SELECT: split it into two queries)");
        }
        let mut out = format!("SELECT {}\nFROM {source}", items.join(", "));
        if let Some(w) = &sel.selection {
            let where_scope = Scope {
                window_key: None,
                ..scope.clone()
            };
            out.push_str(&format!("\nWHERE {}", self.expr(w, &where_scope)?));
        }
        if !group_text.is_empty() {
            out.push_str(&format!("\nGROUP BY {}", group_text.join(", ")));
        }
        if let Some(h) = &sel.having {
            out.push_str(&format!("\nHAVING {}", self.expr(h, &scope)?));
        }
        Ok(out)
    }
}

/// Whether a query or pump of the application reads the in-application
/// stream `name`: any of its words names it, by KDA's rules (unquoted
/// names upper-cased). A column of that name counts too, which keeps the
/// stream a stream: the safe side.
fn read_back(statements: &[Statement], name: &str) -> bool {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::GenericDialect {};
    statements.iter().any(|st| {
        let query = match st {
            Statement::Insert { query, .. } | Statement::Query { query, .. } => query,
            _ => return false,
        };
        let text = query.to_string();
        Tokenizer::new(&dialect, &text)
            .tokenize()
            .unwrap_or_default()
            .iter()
            .any(|t| match t {
                Token::Word(w) if w.quote_style.is_some() => w.value == name,
                Token::Word(w) => w.value.to_uppercase() == name,
                _ => false,
            })
    })
}

/// Translates a KDA application; a Flink application is returned as is.
pub fn translate(sql: &str, source: &FlinkSource) -> Result<FlinkTranslation, SqlError> {
    let statements = parse_application(sql)?;
    if statements
        .iter()
        .any(|s| matches!(s, Statement::CreateTable { .. }))
    {
        return Ok(FlinkTranslation {
            sql: sql.to_string(),
            notes: vec!["This application is Flink SQL already.".into()],
        });
    }
    let mut names: Vec<String> = source.columns.iter().map(|(n, _)| n.clone()).collect();
    names.push("SOURCE_SQL_STREAM_001".into());
    names.push("APPROXIMATE_ARRIVAL_TIME".into());
    for s in &statements {
        if let Statement::CreateStream { name, columns, .. } = s {
            names.push(crate::plan::normalize(name, false));
            names.extend(
                columns
                    .iter()
                    .map(|c| crate::plan::normalize(&c.name, false)),
            );
        }
    }
    let mut streams = vec![(
        "SOURCE_SQL_STREAM_001".to_string(),
        source
            .columns
            .iter()
            .map(|(n, _)| n.clone())
            .chain(["APPROXIMATE_ARRIVAL_TIME".to_string()])
            .collect(),
    )];
    for s in &statements {
        if let Statement::CreateStream { name, columns, .. } = s {
            let cols = columns
                .iter()
                .map(|c| crate::plan::normalize(&c.name, false))
                .collect();
            streams.push((crate::plan::normalize(name, false), cols));
        }
    }
    let mut t = Translator {
        names,
        streams,
        notes: Vec::new(),
        windows_used: Vec::new(),
    };
    let mut out = Vec::new();
    let cols: Vec<String> = source
        .columns
        .iter()
        .map(|(n, ty)| format!("    `{n}` {}", flink_type(ty)))
        .chain([
            "    `APPROXIMATE_ARRIVAL_TIME` TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL"
                .to_string(),
            format!("    `{PROC_TIME}` AS PROCTIME()"),
        ])
        .collect();
    out.push(format!(
        "-- The application's input: KDA's SOURCE_SQL_STREAM_001, ROWTIME as {PROC_TIME}.\nCREATE TABLE `SOURCE_SQL_STREAM_001` (\n{}\n) WITH (\n    'connector' = 'kinesis',\n    'stream' = '{}',\n    'aws.region' = 'us-east-1',\n    'scan.stream.initpos' = '{}',\n    'format' = 'json'\n);",
        cols.join(",\n"),
        source.kinesis_stream,
        source.initial_position
    ));
    let mut queries = 0;
    for s in &statements {
        match s {
            Statement::CreateStream { name, columns, .. } => {
                let n = crate::plan::normalize(name, false);
                let mut defs = Vec::new();
                for c in columns {
                    let ty = sql_type(&c.data_type)
                        .map_err(|m| SqlError::at(c.name.span.start, None, m))?;
                    defs.push(format!("    {} {}", t.ident(&c.name), flink_type(&ty)));
                }
                // KDA's application outputs: one Firehose output of a
                // stream no query reads back makes its table a Firehose
                // sink; otherwise the table stays a stream, with notes.
                let outputs: Vec<&FlinkOutput> =
                    source.outputs.iter().filter(|o| o.stream == n).collect();
                let firehose: Vec<&str> = outputs
                    .iter()
                    .filter_map(|o| o.delivery_stream.as_deref())
                    .collect();
                for o in outputs.iter().filter(|o| o.function.is_some()) {
                    t.notes.push(format!(
                        "{n}'s output to the Lambda function {} is left out: Flink SQL has no Lambda sink. Its table is a Kinesis stream; an event source mapping on that stream can invoke the function.",
                        o.function.as_deref().unwrap_or_default()
                    ));
                }
                // A Kinesis output: the table is that stream, in the
                // output's format (queries may read it back too).
                let mut streams = outputs.iter().filter_map(|o| o.data_stream.as_deref());
                let kinesis = outputs.iter().find(|o| o.data_stream.is_some());
                streams.next();
                for ds in streams {
                    t.notes.push(format!(
                        "{n} is also written to the Kinesis data stream {ds}: its table is the first output's stream; add a table with 'connector' = 'kinesis', 'stream' = '{ds}' and INSERT INTO it from {n}."
                    ));
                }
                if let ([ds], Some(o), None) = (
                    firehose.as_slice(),
                    outputs.iter().find(|o| o.delivery_stream.is_some()),
                    kinesis,
                ) {
                    if !read_back(&statements, &n) {
                        out.push(format!(
                            "-- KDA's application output: its rows go to the Firehose delivery stream {ds}.\nCREATE TABLE `{n}` (\n{}\n) WITH (\n    'connector' = 'firehose',\n    'delivery-stream' = '{ds}',\n    'aws.region' = 'us-east-1',\n    'format' = '{}'\n);",
                            defs.join(",\n"),
                            o.format
                        ));
                        continue;
                    }
                }
                for ds in &firehose {
                    t.notes.push(format!(
                        "{n} is written to the delivery stream {ds}: its table stays a Kinesis stream (a query reads it, or it has several outputs); add a table with 'connector' = 'firehose', 'delivery-stream' = '{ds}' and INSERT INTO it from {n}."
                    ));
                }
                // Readers of an in-application stream see its rows' ROWTIME.
                defs.push(format!("    `{PROC_TIME}` AS PROCTIME()"));
                let (stream, format, comment) = match kinesis {
                    Some(o) => {
                        let ds = o.data_stream.as_deref().unwrap_or_default();
                        (
                            ds,
                            o.format.as_str(),
                            format!("-- KDA's application output: its rows go to the Kinesis data stream {ds}.\n"),
                        )
                    }
                    None => (n.as_str(), "json", String::new()),
                };
                out.push(format!(
                    "{comment}CREATE TABLE `{n}` (\n{}\n) WITH (\n    'connector' = 'kinesis',\n    'stream' = '{stream}',\n    'aws.region' = 'us-east-1',\n    'format' = '{format}'\n);",
                    defs.join(",\n")
                ));
            }
            Statement::Insert {
                pump,
                target,
                columns,
                query,
                ..
            } => {
                let label = pump.as_ref().map(|p| p.value.clone()).unwrap_or_default();
                match t.query(query) {
                    Ok(q) => {
                        let cols = if columns.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " ({})",
                                columns
                                    .iter()
                                    .map(|c| t.ident(c))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        out.push(format!(
                            "-- pump {label}\nINSERT INTO {}{cols}\n{q};",
                            t.ident(target)
                        ));
                    }
                    Err(Untranslatable(why)) => t.notes.push(format!(
                        "Pump {label} is left out: Flink SQL has no direct equivalent of {why}."
                    )),
                }
            }
            Statement::Query { query, .. } => {
                queries += 1;
                match t.query(query) {
                    Ok(q) => out.push(format!("{q};")),
                    Err(Untranslatable(why)) => t.notes.push(format!(
                        "Query {queries} is left out: Flink SQL has no direct equivalent of {why}."
                    )),
                }
            }
            Statement::CreateTable { .. } => {}
        }
    }
    t.notes.push(format!(
        "Windows are on processing time ({PROC_TIME}), as KDA's ROWTIME is; for event time, declare a WATERMARK on a time column and window on it."
    ));
    Ok(FlinkTranslation {
        sql: out.join("\n\n") + "\n",
        notes: t.notes,
    })
}
