//! From parsed queries to operator chains: names resolved to positions,
//! aggregates and analytic functions collected, windows recognised.
//!
//! Every query reads one stream (possibly through subqueries and table
//! functions) and becomes one linear [`Pipeline`]. A KDA `GROUP BY` with a
//! ROWTIME-derived key and a Flink `GROUP BY window_start, window_end` over
//! a window table function both become window aggregates; `agg OVER w`
//! becomes a sliding window; `WINDOWED BY STAGGER` a stagger window.

use sqlparser::ast::{self, Spanned};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use crate::agg::{AggFunc, AggSpec};
use crate::error::SqlError;
use crate::expr::{pattern_regex, BinOp, Expr};
use crate::functions::{Func, TimeUnit, TrimSide};
use crate::ops::{
    Analytic, Filter, Finish, Frame, ItemsTumbling, JoinWindow, JoinWindowFeed, Lookup, Pipeline,
    Project, RandomCutForest, SessionAssign, Sliding, SlidingWindow, SortWithin, Stagger, Tumbling,
    WindowAgg, WindowAssign, WindowJoin, WindowKind,
};
use crate::value::{parse_decimal, parse_time, parse_timestamp, SqlType, Value};

/// A column as a query sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Col {
    pub name: String,
    /// Names that qualify it: its stream's name and alias.
    pub quals: Vec<String>,
    pub ty: Option<SqlType>,
    /// Not part of `SELECT *` (APPROXIMATE_ARRIVAL_TIME).
    pub hidden: bool,
    /// A Flink processing-time column (`AS PROCTIME()`): the row's ROWTIME.
    pub proctime: bool,
}

impl Col {
    pub fn new(name: &str, ty: Option<SqlType>) -> Col {
        Col {
            name: name.to_string(),
            quals: Vec::new(),
            ty,
            hidden: false,
            proctime: false,
        }
    }
}

/// A call's positional arguments that are expressions.
pub(crate) fn unnamed_args(args: &[ast::FunctionArg]) -> Vec<&ast::Expr> {
    args.iter()
        .filter_map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn split_and(e: &ast::Expr) -> Vec<&ast::Expr> {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            let mut v = split_and(left);
            v.extend(split_and(right));
            v
        }
        ast::Expr::Nested(inner) => split_and(inner),
        other => vec![other],
    }
}

/// Flink's interval join on processing time: among `on`'s conjuncts,
/// `right.pt BETWEEN left.pt - INTERVAL 'n' unit AND left.pt` gives the
/// window; the others stay the join condition.
fn interval_join<'a>(
    on: &'a ast::Expr,
    cols: &[Col],
    left_width: usize,
    cat: &dyn Catalog,
) -> Result<Option<(i64, Vec<&'a ast::Expr>)>, SqlError> {
    let proc = |e: &Expr, right: bool| match e {
        Expr::Col(i) => cols.get(*i).is_some_and(|c| c.proctime) && (*i >= left_width) == right,
        _ => false,
    };
    let mut range = None;
    let mut rest = Vec::new();
    for c in split_and(on) {
        if let ast::Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } = c
        {
            if let ast::Expr::BinaryOp {
                left,
                op: ast::BinaryOperator::Minus,
                right,
            } = low.as_ref()
            {
                let mut comp = Compiler::plain(cols, cat);
                let (x, base, hi, size) = (
                    comp.expr(expr)?,
                    comp.expr(left)?,
                    comp.expr(high)?,
                    comp.expr(right)?,
                );
                if let (true, true, true, Expr::Lit(Value::Interval(ms))) =
                    (proc(&x, true), proc(&hi, false), base == hi, size)
                {
                    range = Some(ms.max(0));
                    continue;
                }
            }
        }
        rest.push(c);
    }
    Ok(range.map(|r| (r, rest)))
}

/// What the planner knows about the application's streams and tables.
pub trait Catalog {
    /// A stream (or Flink table) that can be read: its id and columns.
    fn stream(&self, name: &ast::Ident) -> Option<(usize, Vec<Col>)>;
    /// A reference table: its columns and rows.
    fn table(&self, name: &ast::Ident) -> Option<(Vec<Col>, Vec<Vec<Value>>)>;
    /// Flink rules for identifiers (case kept) instead of KDA's (upper).
    fn flink(&self) -> bool;
    /// When the application started: CURRENT_TIMESTAMP and friends.
    fn start_ms(&self) -> i64;
    /// A side pump the plan needs: `pipeline` run on every row of
    /// `stream` (the windowed side of a stream join feeds its window so).
    fn side_input(&self, stream: usize, pipeline: Pipeline);
    /// Redshift's rules (a query over a cluster's tables, see
    /// [`crate::query`]): its function names, no ROWTIME, no streaming
    /// constructs.
    fn redshift(&self) -> bool {
        false
    }
}

/// A planned query.
pub struct Planned {
    pub source: usize,
    pub pipeline: Pipeline,
    pub columns: Vec<Col>,
}

fn err_at(node: &impl Spanned, msg: impl Into<String>) -> SqlError {
    let span = node.span();
    SqlError::at(span.start, None, msg.into())
}

fn err_loc(loc: Location, msg: impl Into<String>) -> SqlError {
    SqlError::at(loc, None, msg.into())
}

/// The name an identifier stands for: KDA upper-cases unquoted names,
/// Flink keeps them; quoted names are exact.
pub fn normalize(id: &ast::Ident, flink: bool) -> String {
    if id.quote_style.is_some() || flink {
        id.value.clone()
    } else {
        id.value.to_uppercase()
    }
}

/// Finds a name among candidates: exactly, or (for an unquoted name)
/// ignoring case when that is unambiguous.
pub fn find_name<'a, T>(
    id: &ast::Ident,
    flink: bool,
    items: impl Iterator<Item = (&'a str, T)> + Clone,
) -> Option<T> {
    let want = normalize(id, flink);
    if let Some((_, t)) = items.clone().find(|(n, _)| *n == want) {
        return Some(t);
    }
    if id.quote_style.is_none() {
        let mut hits = items.filter(|(n, _)| n.eq_ignore_ascii_case(&want));
        if let (Some((_, t)), None) = (hits.next(), hits.next()) {
            return Some(t);
        }
    }
    None
}

pub fn type_from_text(s: &str) -> Option<SqlType> {
    let dialect = GenericDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(s).ok()?;
    sql_type(&p.parse_data_type().ok()?).ok()
}

/// Our type for a declared SQL type.
pub fn sql_type(t: &ast::DataType) -> Result<SqlType, String> {
    use ast::DataType as D;
    let len = |l: &Option<ast::CharacterLength>| match l {
        Some(ast::CharacterLength::IntegerLength { length, .. }) => Some(*length as u32),
        _ => None,
    };
    let dec = |i: &ast::ExactNumberInfo| match i {
        ast::ExactNumberInfo::None => SqlType::Decimal {
            precision: 19,
            scale: 0,
        },
        ast::ExactNumberInfo::Precision(p) => SqlType::Decimal {
            precision: (*p).min(38) as u8,
            scale: 0,
        },
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => SqlType::Decimal {
            precision: (*p).min(38) as u8,
            scale: (*s).clamp(0, 18) as u8,
        },
    };
    Ok(match t {
        D::Boolean | D::Bool => SqlType::Boolean,
        D::TinyInt(_) => SqlType::TinyInt,
        D::SmallInt(_) => SqlType::SmallInt,
        D::Int(_) | D::Integer(_) | D::Int4(_) => SqlType::Integer,
        D::BigInt(_) | D::Int8(_) | D::Int64 => SqlType::BigInt,
        D::Real | D::Float4 => SqlType::Real,
        D::Double(_) | D::DoublePrecision | D::Float8 | D::Float64 => SqlType::Double,
        // FLOAT is single precision in Flink; FLOAT(p) by its precision.
        D::Float(ast::ExactNumberInfo::None) => SqlType::Real,
        D::Float(ast::ExactNumberInfo::Precision(p)) if *p <= 24 => SqlType::Real,
        D::Float(_) => SqlType::Double,
        D::Decimal(i) | D::Numeric(i) | D::Dec(i) => dec(i),
        D::Char(l) | D::Character(l) => SqlType::Char(len(l).unwrap_or(1)),
        D::Varchar(l) | D::CharVarying(l) => SqlType::Varchar(len(l)),
        D::String(_) | D::Text => SqlType::Varchar(None),
        D::Date => SqlType::Date,
        D::Time(..) => SqlType::Time,
        D::Timestamp(..) | D::Datetime(_) => SqlType::Timestamp,
        D::Varbinary(_) | D::Binary(_) | D::Bytes(_) => SqlType::Varbinary(None),
        other => return Err(format!("The type {other} is not supported.")),
    })
}

/// A Redshift date part, written as a word (`hour`) or a string
/// (`'hour'`), with Redshift's abbreviations.
fn date_part(e: &ast::Expr, function: &str) -> Result<TimeUnit, SqlError> {
    let text = match e {
        ast::Expr::Identifier(id) => id.value.clone(),
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    };
    Ok(match text.to_ascii_lowercase().as_str() {
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds"
        | "millisec" | "millisecs" | "millisecon" => TimeUnit::Millisecond,
        "second" | "seconds" | "s" | "sec" | "secs" => TimeUnit::Second,
        "minute" | "minutes" | "m" | "min" | "mins" => TimeUnit::Minute,
        "hour" | "hours" | "h" | "hr" | "hrs" => TimeUnit::Hour,
        "day" | "days" | "d" => TimeUnit::Day,
        "month" | "months" | "mon" | "mons" => TimeUnit::Month,
        "year" | "years" | "y" | "yr" | "yrs" => TimeUnit::Year,
        "week" | "weeks" | "w" | "quarter" | "quarters" | "qtr" | "qtrs" | "decade" | "decades"
        | "century" | "centuries" | "millennium" | "millennia" | "microsecond" | "microseconds"
        | "us" | "epoch" | "dow" | "dayofweek" | "doy" | "dayofyear" => {
            return Err(err_at(
                e,
                format!(
                    "{function} by {text} is not supported in the playground's Redshift; \
                     use millisecond, second, minute, hour, day, month or year."
                ),
            ))
        }
        _ => {
            return Err(err_at(
                e,
                format!("{text} is not a date part {function} knows (e.g. 'hour', 'day')."),
            ))
        }
    })
}

fn time_unit(f: &ast::DateTimeField) -> Option<TimeUnit> {
    use ast::DateTimeField as F;
    Some(match f {
        F::Year | F::Years => TimeUnit::Year,
        F::Month | F::Months => TimeUnit::Month,
        F::Day | F::Days => TimeUnit::Day,
        F::Hour | F::Hours => TimeUnit::Hour,
        F::Minute | F::Minutes => TimeUnit::Minute,
        F::Second | F::Seconds => TimeUnit::Second,
        F::Millisecond | F::Milliseconds => TimeUnit::Millisecond,
        _ => return None,
    })
}

/// `INTERVAL '2 3:4:5.678' DAY TO SECOND`, `INTERVAL '60' SECOND`,
/// `INTERVAL '10 minutes'`: day-time intervals in milliseconds.
fn interval_ms(iv: &ast::Interval) -> Result<i64, String> {
    let text = match iv.value.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            ast::Value::Number(n, _) => n.clone(),
            _ => return Err("An interval's value must be a quoted number.".into()),
        },
        _ => return Err("An interval's value must be a quoted number.".into()),
    };
    let text = text.trim();
    let (neg, text) = match text.strip_prefix('-') {
        Some(t) => (true, t.trim()),
        None => (false, text),
    };
    let bad = || format!("'{text}' is not a valid interval value.");
    let lead = match &iv.leading_field {
        Some(f) => time_unit(f).ok_or_else(|| format!("Intervals of {f} are not supported."))?,
        None => {
            // Flink / PostgreSQL style: '10 minutes'.
            let (n, unit) = text.split_once(char::is_whitespace).ok_or_else(bad)?;
            let unit = unit.trim().to_ascii_uppercase();
            let unit = unit.trim_end_matches('S');
            let u = match unit {
                "SECOND" => 1000,
                "MINUTE" => 60_000,
                "HOUR" => 3_600_000,
                "DAY" => 86_400_000,
                "MILLISECOND" => 1,
                _ => return Err(bad()),
            };
            let v = parse_decimal(n.trim()).ok_or_else(bad)?;
            let ms = v.0 * u as i128 / 10i128.pow(v.1 as u32);
            if ms.unsigned_abs() > 315_576_000_000_000 {
                return Err(format!(
                    "INTERVAL '{text}' is longer than ten thousand years."
                ));
            }
            return Ok(if neg { -(ms as i64) } else { ms as i64 });
        }
    };
    let ms = interval_body(text, lead, iv, bad)?;
    // Ten thousand years is the span timestamps have; more is a typo.
    if ms.unsigned_abs() > 315_576_000_000_000 {
        return Err(format!(
            "INTERVAL '{text}' is longer than ten thousand years."
        ));
    }
    Ok(if neg { -ms } else { ms })
}

fn interval_body(
    text: &str,
    lead: TimeUnit,
    iv: &ast::Interval,
    bad: impl Fn() -> String,
) -> Result<i64, String> {
    if matches!(lead, TimeUnit::Year | TimeUnit::Month) {
        return Err(
            "Year-month intervals are not supported; KDA intervals are day-time only.".into(),
        );
    }
    let unit_ms = lead.ms().unwrap_or(1);
    let ms = match &iv.last_field {
        None => {
            let v = parse_decimal(text).ok_or_else(&bad)?;
            i64::try_from(v.0 * unit_ms as i128 / 10i128.pow(v.1 as u32)).map_err(|_| bad())?
        }
        Some(_) => {
            // 'D H:M:S.f' and its tails, read from the leading unit down.
            let (days, rest) = if lead == TimeUnit::Day {
                match text.split_once(' ') {
                    Some((d, r)) => (d.parse::<i64>().map_err(|_| bad())?, r),
                    None => (text.parse::<i64>().map_err(|_| bad())?, ""),
                }
            } else {
                (0, text)
            };
            let parts: Vec<&str> = if rest.is_empty() {
                vec![]
            } else {
                rest.split(':').collect()
            };
            let mut ms = days * 86_400_000;
            let scales: &[i64] = match lead {
                TimeUnit::Day | TimeUnit::Hour => &[3_600_000, 60_000, 1000],
                TimeUnit::Minute => &[60_000, 1000],
                _ => &[1000],
            };
            for (p, scale) in parts.iter().zip(scales) {
                if *scale == 1000 {
                    let v = parse_decimal(p).ok_or_else(&bad)?;
                    ms += (v.0 * 1000 / 10i128.pow(v.1 as u32)) as i64;
                } else {
                    ms += p.parse::<i64>().map_err(|_| bad())? * scale;
                }
            }
            ms
        }
    };
    Ok(ms)
}

/// Where aggregate calls go while compiling an aggregate query's SELECT.
struct AggCtx {
    keys: Vec<Expr>,
    aggs: Vec<AggSpec>,
    /// KDA's streaming GROUP BY refuses COUNT(DISTINCT ...).
    no_distinct: bool,
}

/// Where analytic calls go while compiling a SELECT with OVER windows.
struct OverCtx {
    named: Vec<(String, ast::WindowSpec)>,
    windows: Vec<(ast::WindowSpec, SlidingWindow)>,
    calls: Vec<(Analytic, usize)>,
    width: usize,
}

struct Compiler<'a> {
    cols: &'a [Col],
    cat: &'a dyn Catalog,
    agg: Option<AggCtx>,
    over: Option<OverCtx>,
}

fn literal(v: &ast::Value, node: &ast::Expr) -> Result<Value, SqlError> {
    Ok(match v {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => match parse_decimal(n) {
                Some((u, s)) => Value::Decimal(u, s),
                None => Value::Float(
                    n.parse()
                        .map_err(|_| err_at(node, format!("{n} is not a number.")))?,
                ),
            },
        },
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            Value::Str((s.clone()).into())
        }
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::Null => Value::Null,
        other => {
            return Err(err_at(
                node,
                format!("The literal {other} is not supported."),
            ))
        }
    })
}

pub(crate) fn fn_args(f: &ast::Function) -> Result<(Vec<&ast::Expr>, bool, bool), SqlError> {
    // (arguments, has `*`, DISTINCT)
    match &f.args {
        ast::FunctionArguments::None => Ok((vec![], false, false)),
        ast::FunctionArguments::List(list) => {
            let distinct = matches!(
                list.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            );
            let mut out = Vec::new();
            let mut star = false;
            for a in &list.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => out.push(e),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                    _ => {
                        return Err(err_at(
                            &f.name,
                            format!(
                                "{}: named or qualified-wildcard arguments are not supported here.",
                                f.name
                            ),
                        ))
                    }
                }
            }
            Ok((out, star, distinct))
        }
        ast::FunctionArguments::Subquery(_) => Err(err_at(
            &f.name,
            format!("{} cannot take a subquery here.", f.name),
        )),
    }
}

fn bin_op(op: &ast::BinaryOperator) -> Option<BinOp> {
    use ast::BinaryOperator as B;
    Some(match op {
        B::Plus => BinOp::Add,
        B::Minus => BinOp::Sub,
        B::Multiply => BinOp::Mul,
        B::Divide => BinOp::Div,
        B::Modulo => BinOp::Mod,
        B::StringConcat => BinOp::Concat,
        B::Eq => BinOp::Eq,
        B::NotEq => BinOp::NotEq,
        B::Lt => BinOp::Lt,
        B::LtEq => BinOp::LtEq,
        B::Gt => BinOp::Gt,
        B::GtEq => BinOp::GtEq,
        B::And => BinOp::And,
        B::Or => BinOp::Or,
        _ => return None,
    })
}

impl<'a> Compiler<'a> {
    fn plain(cols: &'a [Col], cat: &'a dyn Catalog) -> Compiler<'a> {
        Compiler {
            cols,
            cat,
            agg: None,
            over: None,
        }
    }

    fn flink(&self) -> bool {
        self.cat.flink()
    }

    fn column(&self, parts: &[ast::Ident], node: &ast::Expr) -> Result<Expr, SqlError> {
        if self.cat.redshift() && parts.iter().any(|p| p.quote_style.is_some()) {
            // Redshift folds quoted names to lower case too.
            let folded: Vec<ast::Ident> = parts
                .iter()
                .map(|p| ast::Ident {
                    value: p.value.to_lowercase(),
                    quote_style: None,
                    span: p.span,
                })
                .collect();
            return self.column(&folded, node);
        }
        let flink = self.flink();
        let redshift = self.cat.redshift();
        let is_rowtime = |id: &ast::Ident| {
            !redshift
                && id.value.eq_ignore_ascii_case("ROWTIME")
                && (id.quote_style.is_none() || id.value == "ROWTIME")
        };
        let by_name = |id: &ast::Ident, qual: Option<&ast::Ident>| -> Option<usize> {
            let candidates = self.cols.iter().enumerate().filter(|(_, c)| match qual {
                None => true,
                Some(q) => find_name(q, flink, c.quals.iter().map(|n| (n.as_str(), ()))).is_some(),
            });
            find_name(id, flink, candidates.map(|(i, c)| (c.name.as_str(), i)))
        };
        let has_qual = |q: &ast::Ident| {
            self.cols
                .iter()
                .any(|c| find_name(q, flink, c.quals.iter().map(|n| (n.as_str(), ()))).is_some())
        };
        match parts {
            [id] => {
                if let Some(i) = by_name(id, None) {
                    return Ok(Expr::Col(i));
                }
                if is_rowtime(id) {
                    return Ok(Expr::Rowtime);
                }
                if redshift && id.quote_style.is_none() && id.value.eq_ignore_ascii_case("SYSDATE")
                {
                    return Ok(Expr::Lit(Value::Timestamp(self.cat.start_ms())));
                }
                Err(self.unknown_column(id))
            }
            [q, id, rest @ ..] if has_qual(q) => {
                let base = match by_name(id, Some(q)) {
                    Some(i) => Expr::Col(i),
                    None if is_rowtime(id) => Expr::Rowtime,
                    None => return Err(self.unknown_column(id)),
                };
                Ok(rest
                    .iter()
                    .fold(base, |e, f| Expr::Field(Box::new(e), f.value.clone())))
            }
            [first, rest @ ..] => {
                // A ROW column's fields: `r.COLUMN1`; or a schema-qualified
                // name like `AGGTEST.WEATHERSTREAM.CITY`.
                if let Some(i) = by_name(first, None) {
                    return Ok(rest.iter().fold(Expr::Col(i), |e, f| {
                        Expr::Field(Box::new(e), f.value.clone())
                    }));
                }
                if parts.len() >= 3 && has_qual(&parts[1]) {
                    return self.column(&parts[1..], node);
                }
                Err(err_at(
                    node,
                    format!(
                        "Unknown stream or alias {} in {}.",
                        normalize(first, flink),
                        node
                    ),
                ))
            }
            [] => Err(err_at(node, "empty name")),
        }
    }

    fn unknown_column(&self, id: &ast::Ident) -> SqlError {
        let visible: Vec<&str> = self
            .cols
            .iter()
            .filter(|c| !c.hidden)
            .map(|c| c.name.as_str())
            .collect();
        let mut msg = format!(
            "Column {} is not in this query's input",
            normalize(id, self.flink())
        );
        if visible.is_empty() {
            msg.push('.');
        } else {
            msg.push_str(&format!(" (its columns: {}).", visible.join(", ")));
        }
        if id.quote_style.is_some() {
            msg.push_str(" Quoted names are case-sensitive.");
        }
        SqlError::at(id.span.start, Some(id.value.clone()), msg)
    }

    fn expr(&mut self, e: &ast::Expr) -> Result<Expr, SqlError> {
        if self.agg.is_some() {
            if let ast::Expr::Function(f) = e {
                if f.over.is_none() {
                    let name = f.name.to_string();
                    let star = matches!(&f.args, ast::FunctionArguments::List(l) if l.args.iter().any(|a| matches!(a, ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard))));
                    if let Some(func) = AggFunc::lookup(&name) {
                        return self.aggregate(f, func, star);
                    }
                }
            }
            // Same expression as a GROUP BY key: that key's value.
            let saved = self.agg.take();
            let plain = self.expr(e);
            self.agg = saved;
            if let Ok(p) = &plain {
                if let Some(i) = self
                    .agg
                    .as_ref()
                    .and_then(|a| a.keys.iter().position(|k| k == p))
                {
                    return Ok(Expr::Col(i));
                }
                if !p.uses_columns() || matches!(p, Expr::Rowtime) {
                    return Ok(p.clone());
                }
            }
            if matches!(
                e,
                ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)
            ) {
                plain?;
                return Err(err_at(
                    e,
                    format!(
                        "{e} must be in GROUP BY or inside an aggregate function such as MIN({e})."
                    ),
                ));
            }
        }
        if self.over.is_some() {
            if let ast::Expr::Function(f) = e {
                if let Some(w) = &f.over {
                    return self.analytic(f, w);
                }
            }
        }
        self.structural(e)
    }

    fn aggregate(
        &mut self,
        f: &ast::Function,
        func: AggFunc,
        star: bool,
    ) -> Result<Expr, SqlError> {
        let (args, _, distinct) = fn_args(f)?;
        if self.cat.redshift() && matches!(func, AggFunc::Any | AggFunc::Every) {
            return Err(err_at(
                &f.name,
                format!(
                    "Redshift has no {} aggregate; it has BOOL_OR and BOOL_AND, which the \
                     playground does not have yet.",
                    f.name
                ),
            ));
        }
        if self.cat.redshift() && matches!(func, AggFunc::FirstValue | AggFunc::LastValue) {
            return Err(err_at(
                &f.name,
                format!(
                    "{} is a window function in Redshift (it needs OVER), and window functions \
                     are not supported in the playground's Redshift queries.",
                    f.name
                ),
            ));
        }
        let saved = self.agg.take();
        let spec = (|| {
            let func = if star { AggFunc::CountStar } else { func };
            if star && func != AggFunc::CountStar {
                return Err(err_at(
                    &f.name,
                    format!("{}(*) is not allowed; only COUNT(*).", f.name),
                ));
            }
            let arg = match (star, args.as_slice()) {
                (true, []) => None,
                (false, [a]) => Some(self.expr(a)?),
                _ => return Err(err_at(&f.name, format!("{} takes one argument.", f.name))),
            };
            Ok(AggSpec {
                func,
                arg,
                distinct,
            })
        })();
        self.agg = saved;
        let spec = spec?;
        let ctx = self
            .agg
            .as_mut()
            .ok_or_else(|| err_at(&f.name, "aggregate outside an aggregate query"))?;
        if spec.distinct && ctx.no_distinct {
            return Err(err_at(
                &f.name,
                format!(
                    "{}(DISTINCT ...) is not allowed in a streaming GROUP BY in Kinesis Data Analytics; use COUNT_DISTINCT_ITEMS_TUMBLING, or a Flink window TVF.",
                    f.name
                ),
            ));
        }
        let idx = match ctx.aggs.iter().position(|a| *a == spec) {
            Some(i) => i,
            None => {
                ctx.aggs.push(spec);
                ctx.aggs.len() - 1
            }
        };
        Ok(Expr::Col(ctx.keys.len() + idx))
    }

    fn analytic(&mut self, f: &ast::Function, w: &ast::WindowType) -> Result<Expr, SqlError> {
        let name = f.name.to_string();
        let upper = name.to_ascii_uppercase();
        let is_lag = upper == "LAG";
        let special = is_lag || upper == "NTH_VALUE" || upper == "EXP_AVG";
        let func = match AggFunc::lookup(&name) {
            Some(func) => func,
            None if special => AggFunc::LastValue,
            None => return Err(err_at(&f.name, format!("{name} cannot be used with OVER; analytic functions are COUNT, SUM, AVG, MIN, MAX, FIRST_VALUE, LAST_VALUE, ANY, EVERY, the variances, LAG, NTH_VALUE and EXP_AVG."))),
        };
        let (args, star, distinct) = fn_args(f)?;
        let spec_ast = match w {
            ast::WindowType::WindowSpec(s) => s.clone(),
            ast::WindowType::NamedWindow(id) => {
                let ctx = self
                    .over
                    .as_ref()
                    .ok_or_else(|| err_at(&f.name, "OVER outside a query"))?;
                let want = normalize(id, self.flink());
                ctx.named
                    .iter()
                    .find(|(n, _)| *n == want || n.eq_ignore_ascii_case(&want))
                    .map(|(_, s)| s.clone())
                    .ok_or_else(|| {
                        err_loc(
                            id.span.start,
                            format!("No window named {want} in this query's WINDOW clause."),
                        )
                    })?
            }
        };
        let saved = self.over.take();
        let compiled = (|| {
            if is_lag {
                // LAG(expr [, offset [, default]]): over its window's rows,
                // or, with no frame, over the partition's last offset + 1.
                let (arg, rest) = match args.split_first() {
                    Some((a, rest)) if !star && rest.len() <= 2 => (self.expr(a)?, rest),
                    _ => {
                        return Err(err_at(
                            &f.name,
                            "LAG takes an expression, then optionally an offset and a default.",
                        ))
                    }
                };
                let offset = match rest.first() {
                    Some(o) => int_arg(o, "LAG's offset", 0, 100_000)? as usize,
                    None => 1,
                };
                let default = rest.get(1).map(|d| self.expr(d)).transpose()?;
                let frame = spec_ast
                    .window_frame
                    .is_none()
                    .then_some(Frame::Rows(offset));
                let call = Analytic::Lag {
                    arg,
                    offset,
                    default,
                };
                return Ok((call, self.window(&spec_ast, &f.name, frame)?));
            }
            if upper == "NTH_VALUE" {
                // The parser moved FROM FIRST|LAST and RESPECT|IGNORE NULLS
                // into marker arguments after x and n.
                let [x, n, markers @ ..] = args.as_slice() else {
                    return Err(err_at(&f.name, "NTH_VALUE takes an expression and n."));
                };
                let (mut from_last, mut ignore_nulls) = (false, false);
                for m in markers {
                    match m {
                        ast::Expr::Identifier(id) if id.value == "__FROM_LAST" => from_last = true,
                        ast::Expr::Identifier(id) if id.value == "__IGNORE_NULLS" => {
                            ignore_nulls = true
                        }
                        ast::Expr::Identifier(id)
                            if id.value == "__FROM_FIRST" || id.value == "__RESPECT_NULLS" => {}
                        other => {
                            return Err(err_at(
                                *other,
                                "NTH_VALUE takes an expression and n, then optionally FROM FIRST or FROM LAST and RESPECT NULLS or IGNORE NULLS.",
                            ))
                        }
                    }
                }
                let call = Analytic::Nth {
                    arg: self.expr(x)?,
                    n: int_arg(n, "NTH_VALUE's n", 1, 100_000)? as usize,
                    from_last,
                    ignore_nulls,
                };
                return Ok((call, self.window(&spec_ast, &f.name, None)?));
            }
            if upper == "EXP_AVG" {
                let [x, half] = args.as_slice() else {
                    return Err(err_at(
                        &f.name,
                        "EXP_AVG takes an expression and a half-life: EXP_AVG(price, INTERVAL '10' SECOND).",
                    ));
                };
                let arg = self.expr(x)?;
                let Expr::Lit(Value::Interval(half_life_ms)) = self.expr(half)? else {
                    return Err(err_at(
                        *half,
                        "EXP_AVG's half-life is an INTERVAL literal, such as INTERVAL '10' SECOND.",
                    ));
                };
                if half_life_ms <= 0 {
                    return Err(err_at(*half, "EXP_AVG's half-life must be positive."));
                }
                let call = Analytic::ExpAvg { arg, half_life_ms };
                return Ok((call, self.window(&spec_ast, &f.name, None)?));
            }
            let arg = match (star, args.as_slice()) {
                (true, []) => None,
                (false, [a]) => Some(self.expr(a)?),
                _ => return Err(err_at(&f.name, format!("{name} takes one argument."))),
            };
            let spec = AggSpec {
                func: if star { AggFunc::CountStar } else { func },
                arg,
                distinct,
            };
            Ok((Analytic::Agg(spec), self.window(&spec_ast, &f.name, None)?))
        })();
        self.over = saved;
        let (spec, window) = compiled?;
        // A frameless LAG's window is its own (its size is its offset).
        let own = is_lag && spec_ast.window_frame.is_none();
        let ctx = self
            .over
            .as_mut()
            .ok_or_else(|| err_at(&f.name, "OVER outside a query"))?;
        let w = match ctx
            .windows
            .iter()
            .position(|(s, _)| *s == spec_ast)
            .filter(|_| !own)
        {
            Some(i) => i,
            None => {
                ctx.windows.push((spec_ast, window));
                ctx.windows.len() - 1
            }
        };
        ctx.calls.push((spec, w));
        Ok(Expr::Col(ctx.width + ctx.calls.len() - 1))
    }

    /// A window spec's operator state; `implied` is the frame to use when
    /// the spec has none (LAG's).
    fn window(
        &mut self,
        s: &ast::WindowSpec,
        at: &ast::ObjectName,
        implied: Option<Frame>,
    ) -> Result<SlidingWindow, SqlError> {
        let partition = s
            .partition_by
            .iter()
            .map(|p| self.expr(p))
            .collect::<Result<Vec<_>, _>>()?;
        let time = match s.order_by.as_slice() {
            [] => Expr::Rowtime,
            [o] => self.expr(&o.expr)?,
            _ => return Err(err_at(at, "A sliding window orders by one time column.")),
        };
        let frame =
            match (s.window_frame.as_ref(), implied) {
                (Some(f), _) => f,
                (None, Some(frame)) => return Ok(SlidingWindow::new(partition, frame, time)),
                (None, None) => return Err(err_at(
                    at,
                    "A sliding window needs RANGE INTERVAL 'n' unit PRECEDING or ROWS n PRECEDING.",
                )),
            };
        if let Some(end) = &frame.end_bound {
            if *end != ast::WindowFrameBound::CurrentRow {
                return Err(err_at(
                    at,
                    "A window must end at the current row (… AND CURRENT ROW).",
                ));
            }
        }
        let bound = match &frame.start_bound {
            ast::WindowFrameBound::CurrentRow => None,
            ast::WindowFrameBound::Preceding(Some(e)) => Some(e.as_ref()),
            ast::WindowFrameBound::Preceding(None) => {
                return Err(err_at(
                    at,
                    "UNBOUNDED PRECEDING would keep every row forever; give a size.",
                ))
            }
            ast::WindowFrameBound::Following(_) => {
                return Err(err_at(
                    at,
                    "Windows cannot look at FOLLOWING rows; they end at the current row.",
                ))
            }
        };
        let frame = match frame.units {
            ast::WindowFrameUnits::Rows => Frame::Rows(match bound {
                None => 0,
                Some(ast::Expr::Value(v)) => match &v.value {
                    ast::Value::Number(n, _) => match n.parse::<usize>() {
                        Ok(0) => {
                            return Err(err_at(
                                at,
                                "0 PRECEDING is not allowed; write CURRENT ROW.",
                            ))
                        }
                        Ok(n) => n,
                        Err(_) => {
                            return Err(err_at(
                                at,
                                format!("ROWS {n} PRECEDING needs a non-negative integer."),
                            ))
                        }
                    },
                    _ => return Err(err_at(at, "ROWS n PRECEDING needs an integer.")),
                },
                Some(e) => return Err(err_at(e, "ROWS n PRECEDING needs an integer.")),
            }),
            ast::WindowFrameUnits::Range => Frame::Range(match bound {
                None => 0,
                Some(ast::Expr::Interval(iv)) => interval_ms(iv).map_err(|m| err_at(at, m))?,
                Some(e) => return Err(err_at(e, "RANGE needs INTERVAL 'n' unit PRECEDING.")),
            }),
            ast::WindowFrameUnits::Groups => {
                return Err(err_at(at, "GROUPS windows are not supported."))
            }
        };
        Ok(SlidingWindow::new(partition, frame, time))
    }

    fn function(&mut self, f: &ast::Function, node: &ast::Expr) -> Result<Expr, SqlError> {
        let name = f.name.to_string().to_ascii_uppercase();
        if self.cat.redshift() {
            return self.redshift_function(&name, f, node);
        }
        if f.over.is_some() {
            return Err(err_at(
                node,
                format!("{name} … OVER is allowed in a SELECT list only."),
            ));
        }
        if AggFunc::lookup(&name).is_some() {
            return Err(err_at(
                &f.name,
                format!("{name} is an aggregate: use it with a GROUP BY window (e.g. GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE)) or OVER a sliding window."),
            ));
        }
        let (args, _, _) = fn_args(f)?;
        match name.as_str() {
            "PROCTIME" | "CURRENT_ROW_TIMESTAMP" if args.is_empty() => return Ok(Expr::Rowtime),
            "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "NOW" => {
                return Ok(Expr::Lit(Value::Timestamp(self.cat.start_ms())))
            }
            "CURRENT_DATE" => {
                return Ok(Expr::Lit(Value::Date(
                    self.cat.start_ms().div_euclid(86_400_000),
                )))
            }
            "CURRENT_TIME" | "LOCALTIME" => {
                return Ok(Expr::Lit(Value::Time(
                    self.cat.start_ms().rem_euclid(86_400_000),
                )))
            }
            "LAG" | "NTH_VALUE" | "EXP_AVG" => {
                return Err(err_at(
                    node,
                    format!("{name} needs a window: {name}(...) OVER (PARTITION BY ... RANGE INTERVAL ... PRECEDING), or OVER a named WINDOW."),
                ))
            }
            "__STAGGER" => {
                return Err(err_at(
                    node,
                    "WINDOWED BY STAGGER goes after WHERE, in place of GROUP BY.",
                ))
            }
            "TOP_K_ITEMS_TUMBLING"
            | "COUNT_DISTINCT_ITEMS_TUMBLING"
            | "RANDOM_CUT_FOREST"
            | "RANDOM_CUT_FOREST_WITH_EXPLANATION"
            | "HOTSPOTS"
            | "GROUP_RANK"
            | "TUMBLE"
            | "HOP"
            | "CUMULATE"
            | "SESSION" => {
                return Err(err_at(
                    node,
                    format!("{name} is a table function: use it as FROM TABLE({name}(...))."),
                ))
            }
            _ => {}
        }
        let mut compiled = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(unit) = name.strip_prefix("__INTERVAL_") {
            let u = match unit {
                "SECOND" => TimeUnit::Second,
                "MINUTE" => TimeUnit::Minute,
                "HOUR" => TimeUnit::Hour,
                _ => TimeUnit::Day,
            };
            return Ok(Expr::Call(Func::IntervalQualifier(u), compiled));
        }
        let func = Func::lookup(&name, compiled.len()).map_err(|m| err_at(&f.name, m))?;
        if func == Func::Step {
            let by = compiled.pop().unwrap_or(Expr::Lit(Value::Null));
            let x = compiled.pop().unwrap_or(Expr::Lit(Value::Null));
            if !matches!(by, Expr::Lit(Value::Interval(i)) if i > 0)
                && !matches!(by, Expr::Lit(Value::Int(i)) if i > 0)
            {
                return Err(err_at(node, "STEP(x BY n): n must be a positive INTERVAL literal (for a time) or a positive integer literal."));
            }
            return Ok(Expr::Call(Func::Step, vec![x, by]));
        }
        Ok(Expr::Call(func, compiled))
    }

    /// A function call in a Redshift query: Redshift's names for what the
    /// engine has (NVL, LEN, DATE_TRUNC, DATE_PART, DATEADD, DATEDIFF,
    /// GETDATE, ...), and a plain refusal for the rest, including the
    /// Kinesis Data Analytics functions Redshift does not have.
    fn redshift_function(
        &mut self,
        name: &str,
        f: &ast::Function,
        node: &ast::Expr,
    ) -> Result<Expr, SqlError> {
        if f.over.is_some() {
            return Err(err_at(
                node,
                "Window functions (... OVER (...)) are not supported in the playground's Redshift \
                 queries; use GROUP BY.",
            ));
        }
        if AggFunc::lookup(name).is_some() {
            return Err(err_at(
                &f.name,
                format!(
                    "{name} is an aggregate: it is not allowed in WHERE or GROUP BY (filter groups \
                     with HAVING)."
                ),
            ));
        }
        let (args, _, _) = fn_args(f)?;
        let lower = name.to_ascii_lowercase();
        if let Some(want) = match name {
            "GETDATE" | "SYSDATE" | "CURRENT_TIMESTAMP" | "CURRENT_DATE" => Some(0),
            "NVL" | "DATE_TRUNC" | "DATE_PART" => Some(2),
            "LEN" | "LENGTH" | "LOG" | "DLOG10" | "DLOG1" | "DEXP" => Some(1),
            "DATEADD" | "DATEDIFF" => Some(3),
            _ => None,
        } {
            if args.len() != want {
                return Err(err_at(
                    &f.name,
                    format!("{lower} takes {want} argument(s), not {}.", args.len()),
                ));
            }
        }
        let now = self.cat.start_ms();
        // The date functions read a DATE or a string as a TIMESTAMP.
        let ts = |e: Expr| Expr::Cast(Box::new(e), SqlType::Timestamp);
        let lit = |v: Value| Expr::Lit(v);
        let call = |func: Func, a: Vec<Expr>| Expr::Call(func, a);
        let bin = |op: BinOp, a: Expr, b: Expr| Expr::Bin(op, Box::new(a), Box::new(b));
        Ok(match name {
            "GETDATE" | "SYSDATE" => lit(Value::Timestamp(now.div_euclid(1000) * 1000)),
            "CURRENT_TIMESTAMP" => lit(Value::Timestamp(now)),
            "CURRENT_DATE" => lit(Value::Date(now.div_euclid(86_400_000))),
            "NVL" => call(
                Func::Coalesce,
                vec![self.expr(args[0])?, self.expr(args[1])?],
            ),
            "LEN" | "LENGTH" => call(Func::CharLength, vec![self.expr(args[0])?]),
            "LOG" | "DLOG10" => call(Func::Log10, vec![self.expr(args[0])?]),
            "DLOG1" => call(Func::Ln, vec![self.expr(args[0])?]),
            "DEXP" => call(Func::Exp, vec![self.expr(args[0])?]),
            "DATE_TRUNC" => {
                let u = date_part(args[0], &lower)?;
                call(Func::FloorTo(u), vec![ts(self.expr(args[1])?)])
            }
            "DATE_PART" => {
                // Redshift's DATE_PART is a DOUBLE PRECISION.
                let u = date_part(args[0], &lower)?;
                Expr::Cast(
                    Box::new(call(Func::Extract(u), vec![ts(self.expr(args[1])?)])),
                    SqlType::Double,
                )
            }
            "DATEADD" => {
                let u = date_part(args[0], &lower)?;
                let Some(ms) = u.ms() else {
                    return Err(err_at(
                        args[0],
                        "dateadd by months or years is not supported in the playground's \
                         Redshift; add days, hours, minutes or seconds.",
                    ));
                };
                let n = self.expr(args[1])?;
                let t = ts(self.expr(args[2])?);
                bin(BinOp::Add, t, bin(BinOp::Mul, lit(Value::Interval(ms)), n))
            }
            "DATEDIFF" => {
                // The boundaries of the unit crossed from the first to the
                // second: DATEDIFF(hour, '10:59', '11:00') is 1.
                let u = date_part(args[0], &lower)?;
                let a = ts(self.expr(args[1])?);
                let b = ts(self.expr(args[2])?);
                match u.ms() {
                    Some(ms) => bin(
                        BinOp::Div,
                        call(
                            Func::Tsdiff,
                            vec![
                                call(Func::FloorTo(u), vec![b]),
                                call(Func::FloorTo(u), vec![a]),
                            ],
                        ),
                        lit(Value::Int(ms)),
                    ),
                    None => {
                        let months = |t: Expr| {
                            let y = call(Func::Extract(TimeUnit::Year), vec![t.clone()]);
                            if u == TimeUnit::Year {
                                y
                            } else {
                                let m = call(Func::Extract(TimeUnit::Month), vec![t]);
                                bin(BinOp::Add, bin(BinOp::Mul, y, lit(Value::Int(12))), m)
                            }
                        };
                        bin(BinOp::Sub, months(b), months(a))
                    }
                }
            }
            "ABS" | "CEIL" | "CEILING" | "FLOOR" | "EXP" | "LN" | "MOD" | "POWER" | "SQRT"
            | "ROUND" | "UPPER" | "LOWER" | "INITCAP" | "CHAR_LENGTH" | "CHARACTER_LENGTH"
            | "COALESCE" | "NULLIF" => {
                let compiled = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let func = Func::lookup(name, compiled.len()).map_err(|m| err_at(&f.name, m))?;
                Expr::Call(func, compiled)
            }
            _ => {
                return Err(err_at(
                    &f.name,
                    format!(
                        "function {lower} does not exist in the playground's Redshift. It has \
                         abs, ceil, floor, round, mod, power, sqrt, exp, ln, log, upper, lower, \
                         initcap, len, char_length, substring, position, trim, coalesce, nvl, \
                         nullif, cast, extract, date_part, date_trunc, dateadd, datediff, \
                         getdate and sysdate, and the aggregates count, sum, avg, min, max, \
                         stddev and variance."
                    ),
                ))
            }
        })
    }

    /// In a Redshift query, a string literal compared with a value of a
    /// known type is read as that type, as Redshift reads it:
    /// `event_time < '2026-01-01 00:01:00'`, `price > '9.5'`.
    fn redshift_literal(&self, lit: &mut Expr, other: &Expr) -> Result<(), String> {
        if !self.cat.redshift() {
            return Ok(());
        }
        let Expr::Lit(Value::Str(text)) = lit else {
            return Ok(());
        };
        if matches!(other, Expr::Lit(Value::Str(_))) {
            return Ok(());
        }
        let Some(ty) = self.static_type(other) else {
            // Known only when the query runs.
            *lit = Expr::Call(Func::AsTypeOf, vec![lit.clone(), other.clone()]);
            return Ok(());
        };
        let ty = Some(ty);
        let (value, pg) = match &ty {
            Some(SqlType::Timestamp) => (
                parse_timestamp(text.trim()).map(Value::Timestamp),
                "timestamp",
            ),
            Some(SqlType::Date) => (
                parse_timestamp(text.trim()).map(|t| Value::Date(t.div_euclid(86_400_000))),
                "date",
            ),
            Some(t) if t.is_numeric() => (
                parse_decimal(text.trim()).map(|(u, s)| Value::Decimal(u, s)),
                "numeric",
            ),
            Some(SqlType::Boolean) => (
                match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "y" | "1" => Some(Value::Bool(true)),
                    "false" | "f" | "no" | "n" | "0" => Some(Value::Bool(false)),
                    _ => None,
                },
                "boolean",
            ),
            _ => return Ok(()),
        };
        match value {
            Some(v) => {
                *lit = Expr::Lit(v);
                Ok(())
            }
            None => Err(format!("invalid input syntax for type {pg}: \"{text}\"")),
        }
    }

    /// An expression's type where the plan knows it (a Redshift query's
    /// columns, casts, literals and date functions); None inside an
    /// aggregate's output, whose columns are its keys and aggregates.
    fn static_type(&self, e: &Expr) -> Option<SqlType> {
        match e {
            Expr::Col(i) if self.agg.is_none() => self.cols.get(*i).and_then(|c| c.ty.clone()),
            Expr::Cast(_, t) => Some(t.clone()),
            Expr::Call(Func::FloorTo(_) | Func::CeilTo(_), _) => Some(SqlType::Timestamp),
            Expr::Call(Func::CharLength | Func::Position, _) => Some(SqlType::Integer),
            Expr::Call(Func::Upper | Func::Lower | Func::Initcap | Func::Substring, _) => {
                Some(SqlType::Varchar(None))
            }
            Expr::Lit(Value::Timestamp(_)) => Some(SqlType::Timestamp),
            Expr::Lit(Value::Date(_)) => Some(SqlType::Date),
            Expr::Lit(Value::Int(_)) => Some(SqlType::BigInt),
            Expr::Lit(Value::Decimal(_, s)) => Some(SqlType::Decimal {
                precision: 38,
                scale: *s,
            }),
            Expr::Lit(Value::Float(_)) => Some(SqlType::Double),
            Expr::Lit(Value::Bool(_)) => Some(SqlType::Boolean),
            Expr::Bin(BinOp::Add | BinOp::Sub, a, b) => {
                match (self.static_type(a), self.static_type(b)) {
                    (Some(SqlType::Timestamp), _) | (_, Some(SqlType::Timestamp)) => {
                        Some(SqlType::Timestamp)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn structural(&mut self, e: &ast::Expr) -> Result<Expr, SqlError> {
        use ast::Expr as A;
        Ok(match e {
            A::Identifier(id) => self.column(std::slice::from_ref(id), e)?,
            A::CompoundIdentifier(parts) => self.column(parts, e)?,
            A::Value(v) => Expr::Lit(literal(&v.value, e)?),
            A::TypedString(ts) => {
                let text = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                let bad = || err_at(e, format!("'{text}' is not a valid {}.", ts.data_type));
                match &ts.data_type {
                    ast::DataType::Timestamp(..) | ast::DataType::Datetime(_) => {
                        Expr::Lit(Value::Timestamp(parse_timestamp(&text).ok_or_else(bad)?))
                    }
                    ast::DataType::Date => Expr::Lit(Value::Date(
                        parse_timestamp(&text)
                            .ok_or_else(bad)?
                            .div_euclid(86_400_000),
                    )),
                    ast::DataType::Time(..) => {
                        Expr::Lit(Value::Time(parse_time(&text).ok_or_else(bad)?))
                    }
                    other => {
                        let ty = sql_type(other).map_err(|m| err_at(e, m))?;
                        Expr::Lit(
                            Value::Str((text.clone()).into())
                                .coerce(&ty)
                                .map_err(|c| err_at(e, c.0))?,
                        )
                    }
                }
            }
            A::Interval(iv) => {
                Expr::Lit(Value::Interval(interval_ms(iv).map_err(|m| err_at(e, m))?))
            }
            A::Nested(inner) => self.expr(inner)?,
            A::UnaryOp { op, expr } => {
                let x = self.expr(expr)?;
                match op {
                    ast::UnaryOperator::Not => Expr::Not(Box::new(x)),
                    ast::UnaryOperator::Minus => Expr::Neg(Box::new(x)),
                    ast::UnaryOperator::Plus => x,
                    other => {
                        return Err(err_at(e, format!("The operator {other} is not supported.")))
                    }
                }
            }
            A::BinaryOp { left, op, right } => {
                let o = bin_op(op)
                    .ok_or_else(|| err_at(e, format!("The operator {op} is not supported.")))?;
                let (mut l, mut r) = (self.expr(left)?, self.expr(right)?);
                if matches!(
                    o,
                    BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
                ) {
                    self.redshift_literal(&mut l, &r)
                        .and_then(|()| self.redshift_literal(&mut r, &l))
                        .map_err(|m| err_at(e, m))?;
                }
                // Redshift: a DATE plus or minus an integer is that many
                // days later or earlier, still a DATE.
                if self.cat.redshift()
                    && matches!(o, BinOp::Add | BinOp::Sub)
                    && self.static_type(&l) == Some(SqlType::Date)
                    && self.static_type(&r).is_some_and(|t| {
                        matches!(t, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
                    })
                {
                    let day = if o == BinOp::Add {
                        86_400_000
                    } else {
                        -86_400_000
                    };
                    let days = Expr::Bin(
                        BinOp::Mul,
                        Box::new(Expr::Lit(Value::Interval(day))),
                        Box::new(r),
                    );
                    return Ok(Expr::Cast(
                        Box::new(Expr::Bin(BinOp::Add, Box::new(l), Box::new(days))),
                        SqlType::Date,
                    ));
                }
                Expr::Bin(o, Box::new(l), Box::new(r))
            }
            A::Function(f) => self.function(f, e)?,
            A::Cast {
                expr, data_type, ..
            } => {
                let ty = sql_type(data_type).map_err(|m| err_at(e, m))?;
                let mut x = self.expr(expr)?;
                if self.cat.redshift() {
                    // Redshift rounds a number cast to an integer, and reads
                    // t/f/yes/no/1/0 as booleans (anything else is an error).
                    if matches!(ty, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
                        && matches!(
                            self.static_type(&x),
                            Some(SqlType::Decimal { .. } | SqlType::Real | SqlType::Double)
                        )
                    {
                        x = Expr::Call(Func::Round, vec![x]);
                    } else if ty == SqlType::Boolean {
                        x = Expr::Call(Func::AsTypeOf, vec![x, Expr::Lit(Value::Bool(true))]);
                    }
                }
                Expr::Cast(Box::new(x), ty)
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(self.expr(o)?)),
                    None => None,
                };
                let mut whens = conditions
                    .iter()
                    .map(|c| Ok((self.expr(&c.condition)?, self.expr(&c.result)?)))
                    .collect::<Result<Vec<_>, SqlError>>()?;
                if let Some(o) = &operand {
                    for (w, _) in &mut whens {
                        self.redshift_literal(w, o).map_err(|m| err_at(e, m))?;
                    }
                }
                Expr::Case {
                    operand,
                    whens,
                    otherwise: match else_result {
                        Some(x) => Some(Box::new(self.expr(x)?)),
                        None => None,
                    },
                }
            }
            A::IsNull(x) => Expr::IsNull(Box::new(self.expr(x)?), false),
            A::IsNotNull(x) => Expr::IsNull(Box::new(self.expr(x)?), true),
            A::InList {
                expr,
                list,
                negated,
            } => {
                let x = self.expr(expr)?;
                let mut items = list
                    .iter()
                    .map(|x| self.expr(x))
                    .collect::<Result<Vec<_>, _>>()?;
                for item in &mut items {
                    self.redshift_literal(item, &x).map_err(|m| err_at(e, m))?;
                }
                Expr::InList(Box::new(x), items, *negated)
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.expr(expr)?;
                let (mut lo, mut hi) = (self.expr(low)?, self.expr(high)?);
                self.redshift_literal(&mut lo, &x)
                    .and_then(|()| self.redshift_literal(&mut hi, &x))
                    .map_err(|m| err_at(e, m))?;
                Expr::Between(Box::new(x), Box::new(lo), Box::new(hi), *negated)
            }
            A::Like {
                negated,
                expr,
                pattern,
                escape_char: None,
                any: false,
            } => self.matches(expr, pattern, false, *negated)?,
            A::ILike {
                negated,
                expr,
                pattern,
                escape_char: None,
                any: false,
            } => {
                let x = Expr::Call(Func::Upper, vec![self.expr(expr)?]);
                let p = Expr::Call(Func::Upper, vec![self.expr(pattern)?]);
                Expr::MatchesDynamic(Box::new(x), Box::new(p), false, *negated)
            }
            A::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char: None,
            } => self.matches(expr, pattern, true, *negated)?,
            A::Floor { expr, field } | A::Ceil { expr, field } => {
                let up = matches!(e, A::Ceil { .. });
                let x = self.expr(expr)?;
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        Expr::Call(if up { Func::Ceil } else { Func::Floor }, vec![x])
                    }
                    ast::CeilFloorKind::DateTimeField(_) if self.cat.redshift() => {
                        return Err(err_at(
                            e,
                            "Redshift has no FLOOR(x TO unit); use DATE_TRUNC('minute', x).",
                        ))
                    }
                    ast::CeilFloorKind::DateTimeField(f) => {
                        let u = time_unit(f).ok_or_else(|| {
                            err_at(e, format!("FLOOR/CEIL TO {f} is not supported."))
                        })?;
                        Expr::Call(
                            if up {
                                Func::CeilTo(u)
                            } else {
                                Func::FloorTo(u)
                            },
                            vec![x],
                        )
                    }
                    ast::CeilFloorKind::Scale(_) => {
                        return Err(err_at(e, "FLOOR/CEIL with a scale is not supported."))
                    }
                }
            }
            A::Position { expr, r#in } => {
                Expr::Call(Func::Position, vec![self.expr(expr)?, self.expr(r#in)?])
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let s = self.expr(expr)?;
                let from = match substring_from {
                    Some(f) => self.expr(f)?,
                    None => Expr::Lit(Value::Int(1)),
                };
                // SUBSTRING(s FROM 'regex') takes a pattern, not a position.
                if substring_for.is_none() && matches!(from, Expr::Lit(Value::Str(_))) {
                    Expr::Call(Func::SubstringRegex, vec![s, from])
                } else {
                    let mut args = vec![s, from];
                    if let Some(f) = substring_for {
                        args.push(self.expr(f)?);
                    }
                    Expr::Call(Func::Substring, args)
                }
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                let side = match trim_where {
                    Some(ast::TrimWhereField::Leading) => TrimSide::Leading,
                    Some(ast::TrimWhereField::Trailing) => TrimSide::Trailing,
                    _ => TrimSide::Both,
                };
                let mut args = vec![self.expr(expr)?];
                if let Some(w) = trim_what {
                    args.push(self.expr(w)?);
                } else if let Some(chars) = trim_characters {
                    if let Some(c) = chars.first() {
                        args.push(self.expr(c)?);
                    }
                }
                Expr::Call(Func::Trim(side), args)
            }
            A::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.expr(expr)?,
                    self.expr(overlay_what)?,
                    self.expr(overlay_from)?,
                ];
                if let Some(f) = overlay_for {
                    args.push(self.expr(f)?);
                }
                Expr::Call(Func::Overlay, args)
            }
            A::Extract { field, expr, .. } => {
                let u = time_unit(field)
                    .ok_or_else(|| err_at(e, format!("EXTRACT({field} ...) is not supported.")))?;
                Expr::Call(Func::Extract(u), vec![self.expr(expr)?])
            }
            A::Subquery(_) | A::InSubquery { .. } | A::Exists { .. } if self.cat.redshift() => {
                return Err(err_at(
                    e,
                    "Subqueries are not supported in the playground's Redshift queries.",
                ))
            }
            A::Subquery(_) => {
                return Err(err_at(
                    e,
                    "A subquery is allowed in FROM, or as a table function's CURSOR(...) argument.",
                ))
            }
            other => {
                return Err(err_at(
                    e,
                    format!("This expression is not supported: {other}"),
                ))
            }
        })
    }

    fn matches(
        &mut self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        similar: bool,
        negated: bool,
    ) -> Result<Expr, SqlError> {
        let x = self.expr(expr)?;
        let p = self.expr(pattern)?;
        Ok(match p {
            Expr::Lit(Value::Str(s)) => {
                let re = pattern_regex(&s, similar).map_err(|m| err_at(pattern, m))?;
                Expr::Matches(Box::new(x), re, negated)
            }
            p => Expr::MatchesDynamic(Box::new(x), Box::new(p), similar, negated),
        })
    }
}

/// Output column name of a SELECT item.
fn item_name(e: &ast::Expr, i: usize, flink: bool) -> String {
    match e {
        ast::Expr::Identifier(id) => normalize(id, flink),
        ast::Expr::CompoundIdentifier(parts) => parts
            .last()
            .map(|p| normalize(p, flink))
            .unwrap_or_default(),
        _ => format!("EXPR${i}"),
    }
}

pub(crate) fn expand_select(
    items: &[ast::SelectItem],
    cols: &[Col],
    flink: bool,
) -> Result<Vec<(ast::Expr, String)>, SqlError> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            ast::SelectItem::UnnamedExpr(e) => out.push((e.clone(), item_name(e, i, flink))),
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                out.push((expr.clone(), normalize(alias, flink)))
            }
            ast::SelectItem::Wildcard(_) => {
                for c in cols.iter().filter(|c| !c.hidden) {
                    out.push((column_ref(c), c.name.clone()));
                }
            }
            ast::SelectItem::QualifiedWildcard(kind, _) => {
                let q = kind.to_string();
                let q = q.trim_end_matches(".*").trim_matches('"').to_string();
                let mut any = false;
                for c in cols
                    .iter()
                    .filter(|c| !c.hidden && c.quals.iter().any(|x| x.eq_ignore_ascii_case(&q)))
                {
                    any = true;
                    out.push((column_ref(c), c.name.clone()));
                }
                if !any {
                    return Err(err_at(item, format!("No stream or alias {q} in FROM.")));
                }
            }
            other => {
                return Err(err_at(
                    other,
                    format!("This SELECT item is not supported: {other}"),
                ))
            }
        }
    }
    Ok(out)
}

/// A quoted reference to a column, for `*` expansion.
fn column_ref(c: &Col) -> ast::Expr {
    let col = ast::Ident::with_quote('"', c.name.clone());
    match c.quals.first() {
        Some(q) => ast::Expr::CompoundIdentifier(vec![ast::Ident::with_quote('"', q.clone()), col]),
        None => ast::Expr::Identifier(col),
    }
}

fn with_quals(cols: Vec<Col>, quals: Vec<String>) -> Vec<Col> {
    cols.into_iter()
        .map(|c| Col {
            quals: quals.clone(),
            ..c
        })
        .collect()
}

/// Plans a query over the catalog's streams.
pub fn plan_query(q: &ast::Query, cat: &dyn Catalog) -> Result<Planned, SqlError> {
    if let Some(w) = &q.with {
        return Err(err_at(
            w,
            "WITH is not supported; use a subquery in FROM or a second in-application stream.",
        ));
    }
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err(err_at(q, "LIMIT has no meaning on an endless stream."));
    }
    let select = match q.body.as_ref() {
        ast::SetExpr::Select(s) => s,
        ast::SetExpr::Query(inner) if q.order_by.is_none() => return plan_query(inner, cat),
        other => return Err(err_at(other, "UNION and other set operations are not supported; write into one stream from two pumps.")),
    };
    let order_by = match &q.order_by {
        Some(o) => match &o.kind {
            ast::OrderByKind::Expressions(list) => list.clone(),
            ast::OrderByKind::All(_) => return Err(err_at(q, "ORDER BY ALL is not supported.")),
        },
        None => Vec::new(),
    };
    plan_select(select, &order_by, cat)
}

fn plan_select(
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
    cat: &dyn Catalog,
) -> Result<Planned, SqlError> {
    let flink = cat.flink();
    if s.distinct.is_some() {
        return Err(err_at(
            &s.select_token.0,
            "SELECT DISTINCT on a stream is not supported; use GROUP BY with a window.",
        ));
    }
    let from = match s.from.as_slice() {
        [one] => one,
        [] => {
            return Err(err_at(
                &s.select_token.0,
                "A streaming query reads FROM a stream.",
            ))
        }
        [_, second, ..] => {
            return Err(err_at(
                &second.relation,
                "Read one stream per query (join reference tables with JOIN ... ON).",
            ))
        }
    };
    let (source, mut ops, mut cols) = plan_relation(&from.relation, cat)?;
    for j in &from.joins {
        let (left, constraint) =
            match &j.join_operator {
                ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (true, c),
                ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (false, c),
                _ => return Err(err_at(
                    &j.relation,
                    "Only [INNER] JOIN and LEFT [OUTER] JOIN with a reference table are supported.",
                )),
            };
        let ast::TableFactor::Table {
            name, alias, args, ..
        } = &j.relation
        else {
            return Err(err_at(&j.relation, "Join a reference table by name."));
        };
        // What is joined: a reference table, a stream's window (KDA's
        // `JOIN s OVER (...)`), or a stream bounded in time (Flink's
        // interval join). Each adds its columns, then a condition.
        enum Joined {
            Table(Vec<Vec<Value>>),
            Window(usize, Frame),
            Interval(usize),
        }
        let fname = name.to_string();
        let (id, jcols, joined) =
            if let (Some(args), true) = (args, fname.starts_with("__WINDOWED")) {
                let exprs = unnamed_args(&args.args);
                let (Some(ast::Expr::Identifier(rid)), Some(size)) = (exprs.first(), exprs.get(1))
                else {
                    return Err(err_at(
                        &j.relation,
                        "JOIN stream OVER (window) names one stream.",
                    ));
                };
                let (rsid, rcols) = cat.stream(rid).ok_or_else(|| {
                    SqlError::at(
                        rid.span.start,
                        Some(rid.value.clone()),
                        format!("No stream named {}.", normalize(rid, flink)),
                    )
                })?;
                let frame = if fname == "__WINDOWED_ROWS" {
                    Frame::Rows(int_arg(size, "ROWS n PRECEDING", 0, 100_000)? as usize)
                } else {
                    match Compiler::plain(&[], cat).expr(size)? {
                        Expr::Lit(Value::Interval(ms)) if ms >= 0 => Frame::Range(ms),
                        _ => return Err(err_at(*size, "RANGE takes INTERVAL 'n' unit.")),
                    }
                };
                (rid.clone(), rcols, Joined::Window(rsid, frame))
            } else {
                let id = name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .cloned()
                    .unwrap_or_else(|| ast::Ident::new(""));
                match (cat.table(&id), cat.stream(&id)) {
                    (Some((tcols, rows)), _) => (id, tcols, Joined::Table(rows)),
                    (None, Some((rsid, rcols))) => (id, rcols, Joined::Interval(rsid)),
                    (None, None) => {
                        return Err(err_at(
                            &j.relation,
                            format!("No reference table named {}.", normalize(&id, flink)),
                        ))
                    }
                }
            };
        let mut quals = vec![normalize(&id, flink)];
        if let Some(a) = alias {
            quals.push(normalize(&a.name, flink));
        }
        let left_width = cols.len();
        let width = jcols.len();
        cols.extend(with_quals(jcols, quals));
        let on_ast = match constraint {
            ast::JoinConstraint::On(e) => Some(e),
            ast::JoinConstraint::None => None,
            _ => {
                return Err(err_at(
                    &j.relation,
                    "Join ON a condition (USING and NATURAL are not supported).",
                ))
            }
        };
        // An interval join's time bound becomes its window; the rest of
        // ON stays its condition.
        let (conditions, window, table) = match joined {
            Joined::Interval(rsid) => {
                let bounded = match on_ast {
                    Some(e) => interval_join(e, &cols, left_width, cat)?,
                    None => None,
                };
                let Some((ms, rest)) = bounded else {
                    return Err(err_at(
                        &j.relation,
                        if flink {
                            "A join of two streams needs a time bound on processing time: ON ... AND r.proc_time BETWEEN l.proc_time - INTERVAL '1' MINUTE AND l.proc_time (an interval join)."
                        } else {
                            "A join of two streams needs a window on the joined stream: JOIN s OVER (RANGE INTERVAL '1' MINUTE PRECEDING) AS t ON ..."
                        },
                    ));
                };
                (rest, Some((rsid, Frame::Range(ms))), Vec::new())
            }
            Joined::Window(rsid, frame) => (
                on_ast.into_iter().collect(),
                Some((rsid, frame)),
                Vec::new(),
            ),
            Joined::Table(rows) => (on_ast.into_iter().collect(), None, rows),
        };
        let mut comp = Compiler::plain(&cols, cat);
        let mut on: Option<Expr> = None;
        for c in conditions {
            let x = comp.expr(c)?;
            on = Some(match on {
                None => x,
                Some(prev) => Expr::Bin(BinOp::And, Box::new(prev), Box::new(x)),
            });
        }
        match window {
            Some((rsid, frame)) => {
                let window = JoinWindow::new(frame);
                cat.side_input(
                    rsid,
                    Pipeline {
                        ops: vec![Box::new(JoinWindowFeed(window.clone()))],
                    },
                );
                ops.push(Box::new(WindowJoin {
                    window,
                    width,
                    on,
                    left,
                }));
            }
            None => ops.push(Box::new(Lookup {
                table,
                width,
                on,
                left,
            })),
        }
    }
    if let Some(w) = &s.selection {
        let cond = Compiler::plain(&cols, cat).expr(w)?;
        ops.push(Box::new(Filter(cond)));
    }
    let items = expand_select(&s.projection, &cols, flink)?;
    let group: Vec<ast::Expr> = match &s.group_by {
        ast::GroupByExpr::Expressions(v, m) if m.is_empty() => v.clone(),
        ast::GroupByExpr::Expressions(..) | ast::GroupByExpr::All(_) => {
            return Err(err_at(
                &s.select_token.0,
                "GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS are not supported.",
            ))
        }
    };
    let has_agg = items.iter().any(|(e, _)| contains_aggregate(e))
        || s.having.as_ref().is_some_and(contains_aggregate);
    let names: Vec<String> = items.iter().map(|(_, n)| n.clone()).collect();
    let out_cols = |types: Vec<Option<SqlType>>| -> Vec<Col> {
        names
            .iter()
            .zip(types)
            .map(|(n, t)| Col::new(n, t))
            .collect()
    };
    let stagger = match group.as_slice() {
        [ast::Expr::Function(f)] if f.name.to_string().eq_ignore_ascii_case("__STAGGER") => Some(f),
        _ => None,
    };
    if !order_by.is_empty() && (has_agg || !group.is_empty()) {
        return Err(err_at(&order_by[0].expr, "ORDER BY on an aggregate query is not supported; ORDER BY in a second pump that reads its output."));
    }
    if let Some(f) = stagger {
        let (args, _, _) = fn_args(f)?;
        let mut c = Compiler::plain(&cols, cat);
        let range = match c.expr(args[0])? {
            Expr::Lit(Value::Interval(ms)) if ms > 0 => ms,
            _ => {
                return Err(err_at(
                    args[0],
                    "A stagger window's RANGE is a positive INTERVAL.",
                ))
            }
        };
        let keys = args[1..]
            .iter()
            .map(|a| c.expr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let (finish, types) = finish(&items, s.having.as_ref(), keys.clone(), &cols, cat, false)?;
        ops.push(Box::new(Stagger::new(keys, range, finish)));
        return Ok(Planned {
            source,
            pipeline: Pipeline { ops },
            columns: out_cols(types),
        });
    }
    if has_agg || !group.is_empty() {
        let mut c = Compiler::plain(&cols, cat);
        let keys = group
            .iter()
            .map(|g| c.expr(g))
            .collect::<Result<Vec<_>, _>>()?;
        let end_col = cols
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case("window_end"));
        let start_col = cols
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case("window_start"));
        if let (Some(e), Some(st)) = (end_col, start_col) {
            let has = |i: usize| keys.iter().any(|k| matches!(k, Expr::Col(x) if *x == i));
            if has(e) && has(st) {
                let (finish, types) =
                    finish(&items, s.having.as_ref(), keys.clone(), &cols, cat, false)?;
                ops.push(Box::new(WindowAgg::new(keys, e, finish)));
                return Ok(Planned {
                    source,
                    pipeline: Pipeline { ops },
                    columns: out_cols(types),
                });
            }
            return Err(err_at(
                &s.select_token.0,
                "Aggregating a window table function needs GROUP BY window_start, window_end (and any other keys).",
            ));
        }
        let mut window_keys: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.rowtime_only())
            .map(|(i, _)| i)
            .collect();
        let time_keys = window_keys.len();
        window_keys.extend(
            keys.iter()
                .enumerate()
                .filter(|(_, k)| matches!(k, Expr::Call(Func::Monotonic, _)) && !k.rowtime_only())
                .map(|(i, _)| i),
        );
        if window_keys.is_empty() {
            let at = group
                .first()
                .map(|g| g.span().start)
                .unwrap_or(s.select_token.0.span.start);
            return Err(err_loc(
                at,
                "A streaming GROUP BY needs a key derived from ROWTIME, such as STEP(ROWTIME BY INTERVAL '1' MINUTE) or FLOOR(ROWTIME TO MINUTE), or one declared MONOTONIC(...): without one the group never closes and nothing is ever emitted. (In Flink SQL, aggregate over TABLE(TUMBLE(...)) instead.)",
            ));
        }
        let (finish, types) = finish(&items, s.having.as_ref(), keys.clone(), &cols, cat, !flink)?;
        ops.push(Box::new(Tumbling::new(
            keys,
            window_keys,
            time_keys,
            finish,
        )));
        return Ok(Planned {
            source,
            pipeline: Pipeline { ops },
            columns: out_cols(types),
        });
    }
    if let Some(h) = &s.having {
        return Err(err_at(
            h,
            "HAVING needs a GROUP BY; use WHERE to filter rows.",
        ));
    }
    // Plain or analytic projection.
    let named: Vec<(String, ast::WindowSpec)> = s
        .named_window
        .iter()
        .map(|ast::NamedWindowDefinition(name, w)| match w {
            ast::NamedWindowExpr::WindowSpec(spec) => Ok((normalize(name, flink), spec.clone())),
            ast::NamedWindowExpr::NamedWindow(_) => Err(err_loc(
                name.span.start,
                "A window defined as another window is not supported.",
            )),
        })
        .collect::<Result<_, _>>()?;
    let mut c = Compiler::plain(&cols, cat);
    c.over = Some(OverCtx {
        named,
        windows: Vec::new(),
        calls: Vec::new(),
        width: cols.len(),
    });
    let exprs = items
        .iter()
        .map(|(e, _)| c.expr(e))
        .collect::<Result<Vec<_>, _>>()?;
    let over = c.over.take().unwrap_or_else(|| OverCtx {
        named: vec![],
        windows: vec![],
        calls: vec![],
        width: 0,
    });
    if !order_by.is_empty() {
        let mut keys = Vec::new();
        let mut c = Compiler::plain(&cols, cat);
        for o in order_by {
            keys.push((
                c.expr(&o.expr)?,
                matches!(o.options.sort, Some(ast::OrderBySort::Desc)),
            ));
        }
        if !keys[0].0.rowtime_only() {
            return Err(err_at(&order_by[0].expr, "A streaming ORDER BY starts with a key derived from ROWTIME, such as FLOOR(ROWTIME TO SECOND); rows are sorted within each of its values."));
        }
        ops.push(Box::new(SortWithin::new(keys)));
    }
    if !over.calls.is_empty() {
        ops.push(Box::new(Sliding {
            windows: over.windows.into_iter().map(|(_, w)| w).collect(),
            calls: over.calls,
        }));
    }
    let types: Vec<Option<SqlType>> = exprs
        .iter()
        .map(|e| match e {
            Expr::Col(i) => cols.get(*i).and_then(|c| c.ty.clone()),
            Expr::Rowtime => Some(SqlType::Timestamp),
            Expr::Cast(_, t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    ops.push(Box::new(Project(exprs)));
    Ok(Planned {
        source,
        pipeline: Pipeline { ops },
        columns: out_cols(types),
    })
}

/// Whether an expression calls an aggregate (outside OVER). A walk of its
/// own rather than sqlparser's visitor feature, which would add the
/// visitor's code for the whole AST to every worker's wasm.
pub(crate) fn contains_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as A;
    let any = |xs: &[&ast::Expr]| xs.iter().any(|x| contains_aggregate(x));
    match e {
        A::Function(f) => {
            if f.over.is_none() && AggFunc::lookup(&f.name.to_string()).is_some() {
                return true;
            }
            match &f.args {
                ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))
                    | ast::FunctionArg::Named {
                        arg: ast::FunctionArgExpr::Expr(x),
                        ..
                    } => contains_aggregate(x),
                    _ => false,
                }),
                _ => false,
            }
        }
        A::BinaryOp { left, right, .. } => any(&[left, right]),
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::Cast { expr, .. }
        | A::IsNull(expr)
        | A::IsNotNull(expr) => contains_aggregate(expr),
        A::Floor { expr, .. } | A::Ceil { expr, .. } | A::Extract { expr, .. } => {
            contains_aggregate(expr)
        }
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || conditions
                    .iter()
                    .any(|c| contains_aggregate(&c.condition) || contains_aggregate(&c.result))
                || else_result.as_deref().is_some_and(contains_aggregate)
        }
        A::InList { expr, list, .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        A::Between {
            expr, low, high, ..
        } => any(&[expr, low, high]),
        A::Like { expr, pattern, .. }
        | A::ILike { expr, pattern, .. }
        | A::SimilarTo { expr, pattern, .. } => any(&[expr, pattern]),
        A::Position { expr, r#in } => any(&[expr, r#in]),
        A::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            contains_aggregate(expr)
                || substring_from.as_deref().is_some_and(contains_aggregate)
                || substring_for.as_deref().is_some_and(contains_aggregate)
        }
        A::Trim {
            expr, trim_what, ..
        } => contains_aggregate(expr) || trim_what.as_deref().is_some_and(contains_aggregate),
        A::Overlay {
            expr,
            overlay_what,
            overlay_from,
            overlay_for,
        } => {
            any(&[expr, overlay_what, overlay_from])
                || overlay_for.as_deref().is_some_and(contains_aggregate)
        }
        _ => false,
    }
}

pub(crate) fn finish(
    items: &[(ast::Expr, String)],
    having: Option<&ast::Expr>,
    keys: Vec<Expr>,
    cols: &[Col],
    cat: &dyn Catalog,
    no_distinct: bool,
) -> Result<(Finish, Vec<Option<SqlType>>), SqlError> {
    let nkeys = keys.len();
    let key_types: Vec<Option<SqlType>> = keys
        .iter()
        .map(|k| match k {
            Expr::Col(i) => cols.get(*i).and_then(|c| c.ty.clone()),
            _ => None,
        })
        .collect();
    let mut c = Compiler::plain(cols, cat);
    c.agg = Some(AggCtx {
        keys,
        aggs: Vec::new(),
        no_distinct,
    });
    let select = items
        .iter()
        .map(|(e, _)| c.expr(e))
        .collect::<Result<Vec<_>, _>>()?;
    let having = having.map(|h| c.expr(h)).transpose()?;
    let ctx = c.agg.take().unwrap_or(AggCtx {
        keys: vec![],
        aggs: vec![],
        no_distinct,
    });
    let types = select
        .iter()
        .map(|e| match e {
            Expr::Col(i) if *i < nkeys => key_types[*i].clone(),
            Expr::Col(i) => ctx.aggs.get(i - nkeys).and_then(|a| {
                let input = match &a.arg {
                    Some(Expr::Col(j)) => cols.get(*j).and_then(|c| c.ty.clone()),
                    _ => None,
                };
                crate::agg::result_type(a.func, input.as_ref())
            }),
            Expr::Rowtime => Some(SqlType::Timestamp),
            _ => None,
        })
        .collect();
    Ok((
        Finish {
            aggs: ctx.aggs,
            having,
            select,
        },
        types,
    ))
}

type Relation = (usize, Vec<Box<dyn crate::ops::Operator>>, Vec<Col>);

fn plan_relation(rel: &ast::TableFactor, cat: &dyn Catalog) -> Result<Relation, SqlError> {
    let flink = cat.flink();
    match rel {
        ast::TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => {
            let id = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .unwrap_or_else(|| ast::Ident::new(""));
            let Some((sid, cols)) = cat.stream(&id) else {
                if cat.table(&id).is_some() {
                    return Err(err_at(rel, format!("{} is a reference table: JOIN it to a stream rather than reading FROM it.", normalize(&id, flink))));
                }
                return Err(SqlError::at(
                    id.span.start,
                    Some(id.value.clone()),
                    format!("No stream named {}. Create it with CREATE STREAM, or check the name (quoted names are case-sensitive).", normalize(&id, flink)),
                ));
            };
            let mut quals = vec![cols
                .first()
                .and_then(|c| c.quals.first().cloned())
                .unwrap_or_else(|| normalize(&id, flink))];
            if let Some(a) = alias {
                quals.push(normalize(&a.name, flink));
            }
            Ok((sid, Vec::new(), with_quals(cols, quals)))
        }
        ast::TableFactor::Derived {
            subquery, alias, ..
        } => {
            let p = plan_query(subquery, cat)?;
            let mut cols = p.columns;
            let mut quals = Vec::new();
            if let Some(a) = alias {
                quals.push(normalize(&a.name, flink));
                if !a.columns.is_empty() {
                    if a.columns.len() != cols.len() {
                        return Err(err_at(
                            rel,
                            format!(
                                "The alias names {} columns; the subquery has {}.",
                                a.columns.len(),
                                cols.len()
                            ),
                        ));
                    }
                    for (c, n) in cols.iter_mut().zip(&a.columns) {
                        c.name = normalize(&n.name, flink);
                    }
                }
            }
            Ok((p.source, p.pipeline.ops, with_quals(cols, quals)))
        }
        ast::TableFactor::TableFunction {
            expr: ast::Expr::Function(f),
            alias,
        } => {
            let (source, mut ops, cols) = table_function(f, cat)?;
            let quals = alias.iter().map(|a| normalize(&a.name, flink)).collect();
            let _ = &mut ops;
            Ok((source, ops, with_quals(cols, quals)))
        }
        other => Err(err_at(
            other,
            format!("This FROM item is not supported: {other}"),
        )),
    }
}

fn int_arg(e: &ast::Expr, what: &str, lo: i64, hi: i64) -> Result<i64, SqlError> {
    if let ast::Expr::UnaryOp {
        op: ast::UnaryOperator::Minus,
        expr,
    } = e
    {
        // A negative literal: out of every range here.
        if matches!(&**expr, ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..))) {
            return Err(err_at(
                &**expr,
                format!("{what} must be an integer from {lo} to {hi}."),
            ));
        }
    }
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => match n.parse::<i64>() {
                Ok(i) if (lo..=hi).contains(&i) => Ok(i),
                _ => Err(err_at(
                    e,
                    format!("{what} must be an integer from {lo} to {hi}."),
                )),
            },
            _ => Err(err_at(
                e,
                format!("{what} must be an integer from {lo} to {hi}."),
            )),
        },
        _ => Err(err_at(e, format!("{what} must be an integer literal."))),
    }
}

fn table_function(f: &ast::Function, cat: &dyn Catalog) -> Result<Relation, SqlError> {
    let flink = cat.flink();
    let name = f.name.to_string().to_ascii_uppercase();
    // Positional or `NAME => value` arguments.
    let mut positional: Vec<&ast::Expr> = Vec::new();
    let mut named: Vec<(String, &ast::Expr)> = Vec::new();
    if let ast::FunctionArguments::List(list) = &f.args {
        for a in &list.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => positional.push(e),
                ast::FunctionArg::Named {
                    name,
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => named.push((name.value.to_ascii_uppercase(), e)),
                _ => return Err(err_at(&f.name, format!("Unsupported argument to {name}."))),
            }
        }
    }
    let arg = |i: usize, key: &str| -> Option<&ast::Expr> {
        named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(key))
            .map(|(_, e)| *e)
            .or_else(|| {
                if named.is_empty() {
                    positional.get(i).copied()
                } else {
                    None
                }
            })
    };
    let need = |i: usize, key: &str| -> Result<&ast::Expr, SqlError> {
        arg(i, key).ok_or_else(|| err_at(&f.name, format!("{name} is missing its {key} argument.")))
    };
    let cursor = |e: &ast::Expr| -> Result<Planned, SqlError> {
        match e {
            ast::Expr::Subquery(q) => plan_query(q, cat),
            ast::Expr::Identifier(id) => {
                let (sid, cols) = cat.stream(id).ok_or_else(|| {
                    err_at(e, format!("No stream named {}.", normalize(id, flink)))
                })?;
                let quals = vec![normalize(id, flink)];
                Ok(Planned {
                    source: sid,
                    pipeline: Pipeline::default(),
                    columns: with_quals(cols, quals),
                })
            }
            _ => Err(err_at(
                e,
                format!("{name}'s first argument is CURSOR(SELECT STREAM ...) or TABLE name."),
            )),
        }
    };
    match name.as_str() {
        "TOP_K_ITEMS_TUMBLING" | "COUNT_DISTINCT_ITEMS_TUMBLING" => {
            let top = name == "TOP_K_ITEMS_TUMBLING";
            let input = cursor(need(0, "CURSOR")?)?;
            let col_arg = need(1, "COLUMNNAME")?;
            let col_name = match col_arg {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let id = ast::Ident::with_quote('"', col_name.clone());
            let column = find_name(&id, flink, input.columns.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)))
                .or_else(|| input.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&col_name)))
                .ok_or_else(|| err_at(col_arg, format!("The column name, in single quotes, must be a column of the cursor: '{col_name}' is not.")))?;
            let (k, window_arg) = if top {
                (
                    Some(int_arg(need(2, "K")?, "K", 1, 100_000)? as usize),
                    need(3, "WINDOWSIZE")?,
                )
            } else {
                (None, need(2, "WINDOWSIZE")?)
            };
            let window = int_arg(window_arg, "The window size in seconds", 1, 3600)? * 1000;
            let mut ops = input.pipeline.ops;
            ops.push(Box::new(ItemsTumbling::new(column, window, k)));
            let cols = if top {
                vec![
                    input.columns[column].clone(),
                    Col::new("MOST_FREQUENT_VALUES", Some(SqlType::BigInt)),
                ]
            } else {
                vec![Col::new("NUMBER_OF_DISTINCT_ITEMS", Some(SqlType::BigInt))]
            };
            Ok((input.source, ops, cols))
        }
        "TUMBLE" | "HOP" | "CUMULATE" | "SESSION" => {
            let input = cursor(need(0, "DATA")?)?;
            // SESSION(TABLE t PARTITION BY k, ...) arrives as
            // SESSION(t, __PARTITION(k), ...): the rest shift by one.
            let mut partition = Vec::new();
            let mut shift = 0;
            if let Some(ast::Expr::Function(p)) = positional.get(1) {
                if p.name.to_string().eq_ignore_ascii_case("__PARTITION") {
                    if name != "SESSION" {
                        return Err(err_at(
                            &f.name,
                            format!("{name} takes no PARTITION BY; SESSION does."),
                        ));
                    }
                    let (keys, _, _) = fn_args(p)?;
                    let mut c = Compiler::plain(&input.columns, cat);
                    partition = keys
                        .iter()
                        .map(|k| c.expr(k))
                        .collect::<Result<Vec<_>, _>>()?;
                    shift = 1;
                }
            }
            let need = |i: usize, key: &str| need(i + shift, key);
            let arg = |i: usize, key: &str| arg(i + shift, key);
            let desc = need(1, "TIMECOL")?;
            let time_col = match desc {
                ast::Expr::Function(d) if d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") => {
                    let (a, _, _) = fn_args(d)?;
                    match a.as_slice() {
                        [ast::Expr::Identifier(id)] => id.clone(),
                        _ => return Err(err_at(desc, "DESCRIPTOR names one time column.")),
                    }
                }
                _ => {
                    return Err(err_at(
                        desc,
                        format!("{name}'s time column is given as DESCRIPTOR(column)."),
                    ))
                }
            };
            let c = Compiler::plain(&input.columns, cat);
            let time = c.column(std::slice::from_ref(&time_col), desc)?;
            let ms = |e: &ast::Expr, what: &str| -> Result<i64, SqlError> {
                match Compiler::plain(&[], cat).expr(e)? {
                    Expr::Lit(Value::Interval(ms)) if ms > 0 || what == "OFFSET" => Ok(ms),
                    _ => Err(err_at(
                        e,
                        format!("{name}'s {what} must be a positive INTERVAL."),
                    )),
                }
            };
            if name == "SESSION" {
                let gap = ms(need(2, "GAP")?, "GAP")?;
                let mut ops = input.pipeline.ops;
                ops.push(Box::new(SessionAssign::new(partition, time, gap)));
                let mut cols = input.columns;
                for n in ["window_start", "window_end", "window_time"] {
                    cols.push(Col::new(n, Some(SqlType::Timestamp)));
                }
                return Ok((input.source, ops, cols));
            }
            let kind = match name.as_str() {
                "TUMBLE" => {
                    let size = ms(need(2, "SIZE")?, "SIZE")?;
                    let offset = arg(3, "OFFSET")
                        .map(|o| ms(o, "OFFSET"))
                        .transpose()?
                        .unwrap_or(0);
                    WindowKind::Tumble { size, offset }
                }
                "HOP" => {
                    let slide = ms(need(2, "SLIDE")?, "SLIDE")?;
                    let size = ms(need(3, "SIZE")?, "SIZE")?;
                    let offset = arg(4, "OFFSET")
                        .map(|o| ms(o, "OFFSET"))
                        .transpose()?
                        .unwrap_or(0);
                    WindowKind::Hop {
                        slide,
                        size,
                        offset,
                    }
                }
                _ => {
                    let step = ms(need(2, "STEP")?, "STEP")?;
                    let size = ms(need(3, "SIZE")?, "SIZE")?;
                    if size % step != 0 {
                        return Err(err_at(
                            &f.name,
                            "CUMULATE's SIZE must be a whole multiple of its STEP.",
                        ));
                    }
                    let offset = arg(4, "OFFSET")
                        .map(|o| ms(o, "OFFSET"))
                        .transpose()?
                        .unwrap_or(0);
                    WindowKind::Cumulate { step, size, offset }
                }
            };
            let mut ops = input.pipeline.ops;
            ops.push(Box::new(WindowAssign::new(kind, time)));
            let mut cols = input.columns;
            for n in ["window_start", "window_end", "window_time"] {
                cols.push(Col::new(n, Some(SqlType::Timestamp)));
            }
            Ok((input.source, ops, cols))
        }
        "RANDOM_CUT_FOREST" | "RANDOM_CUT_FOREST_WITH_EXPLANATION" => {
            // RANDOM_CUT_FOREST(cursor [, numberOfTrees, subSampleSize,
            // timeDecay, shingleSize]), AWS's defaults and ranges.
            let input = cursor(need(0, "CURSOR")?)?;
            let num =
                |i: usize, what: &str, lo: i64, hi: i64, default: i64| -> Result<i64, SqlError> {
                    match arg(i, what) {
                        Some(e) => int_arg(e, what, lo, hi),
                        None => Ok(default),
                    }
                };
            let trees = num(1, "numberOfTrees", 1, 1000, 100)? as usize;
            let sample = num(2, "subSampleSize", 10, 1000, 256)? as usize;
            let decay = num(3, "timeDecay", 1, i64::from(i32::MAX), 100_000)? as f64;
            let shingle = num(4, "shingleSize", 1, 30, 1)? as usize;
            let columns = numeric_columns(&input.columns, f)?;
            let explain = name == "RANDOM_CUT_FOREST_WITH_EXPLANATION";
            // withDirectionality: FALSE by default.
            let directional = match arg(5, "withDirectionality") {
                None => false,
                Some(e) => match Compiler::plain(&[], cat).expr(e)? {
                    Expr::Lit(Value::Bool(b)) if explain => b,
                    _ if explain => {
                        return Err(err_at(e, "withDirectionality is TRUE or FALSE."))
                    }
                    _ => {
                        return Err(err_at(
                            e,
                            "RANDOM_CUT_FOREST takes at most four arguments after the cursor; withDirectionality is RANDOM_CUT_FOREST_WITH_EXPLANATION's.",
                        ))
                    }
                },
            };
            let mut forest = RandomCutForest::new(columns.clone(), trees, sample, decay, shingle);
            if explain {
                let names = columns
                    .iter()
                    .map(|&i| input.columns[i].name.clone())
                    .collect();
                forest = forest.explained(names, directional);
            }
            let mut ops = input.pipeline.ops;
            ops.push(Box::new(forest));
            let mut cols = input.columns;
            cols.push(Col::new("ANOMALY_SCORE", Some(SqlType::Double)));
            if explain {
                cols.push(Col::new(
                    "ANOMALY_EXPLANATION",
                    Some(SqlType::Varchar(Some(20480))),
                ));
            }
            Ok((input.source, ops, cols))
        }
        "HOTSPOTS" => {
            // HOTSPOTS(cursor, windowSize, scanRadius,
            // minimumNumberOfPointsInAHotspot), AWS's ranges.
            let input = cursor(need(0, "CURSOR")?)?;
            let window = int_arg(need(1, "windowSize")?, "windowSize", 100, 1000)? as usize;
            let radius_arg = need(2, "scanRadius")?;
            let radius = match Compiler::plain(&[], cat).expr(radius_arg)? {
                Expr::Lit(v) => v.as_f64(),
                _ => None,
            }
            .filter(|r| r.is_finite() && *r >= 1e-9)
            .ok_or_else(|| {
                err_at(
                    radius_arg,
                    "HOTSPOTS' scanRadius is a number greater than 0 (at least 1e-9).",
                )
            })?;
            let min_points = int_arg(
                need(3, "minimumNumberOfPointsInAHotspot")?,
                "minimumNumberOfPointsInAHotspot",
                2,
                window as i64,
            )? as usize;
            let columns = numeric_columns(&input.columns, f)?;
            let mut ops = input.pipeline.ops;
            ops.push(Box::new(crate::ops::Hotspots::new(
                columns, window, radius, min_points,
            )));
            let mut cols = input.columns;
            cols.push(Col::new(
                "HOTSPOTS_RESULT",
                Some(SqlType::Varchar(Some(10000))),
            ));
            Ok((input.source, ops, cols))
        }
        "GROUP_RANK" => {
            // GROUP_RANK(cursor, rankByColumnName, rankOutColumnName,
            // sortOrder, outputOrder, maxIdle, outputMax), as KDA declares it.
            let input = cursor(need(0, "CURSOR")?)?;
            let text = |i: usize, what: &str| -> Result<(String, &ast::Expr), SqlError> {
                let e = need(i, what)?;
                match e {
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(s) => Ok((s.clone(), e)),
                        _ => Err(err_at(
                            e,
                            format!("GROUP_RANK's {what} is a string in single quotes."),
                        )),
                    },
                    _ => Err(err_at(
                        e,
                        format!("GROUP_RANK's {what} is a string in single quotes."),
                    )),
                }
            };
            let (by, by_arg) = text(1, "rankByColumnName")?;
            let visible = || input.columns.iter().enumerate().filter(|(_, c)| !c.hidden);
            let column = visible()
                .find(|(_, c)| c.name == by)
                .or_else(|| visible().find(|(_, c)| c.name.eq_ignore_ascii_case(&by)))
                .map(|(i, _)| i)
                .ok_or_else(|| {
                    let names: Vec<&str> = visible().map(|(_, c)| c.name.as_str()).collect();
                    err_at(
                        by_arg,
                        format!(
                            "GROUP_RANK's rankByColumnName must name a column of the cursor: '{by}' is not one of {}.",
                            names.join(", ")
                        ),
                    )
                })?;
            if let Some(ty) = &input.columns[column].ty {
                let rankable = matches!(
                    ty,
                    SqlType::TinyInt
                        | SqlType::SmallInt
                        | SqlType::Integer
                        | SqlType::BigInt
                        | SqlType::Char(_)
                        | SqlType::Varchar(_)
                );
                if !rankable {
                    return Err(err_at(
                        by_arg,
                        format!(
                            "GROUP_RANK ranks by an INTEGER, CHAR or VARCHAR column, as KDA's does; '{by}' is {}.",
                            ty.name()
                        ),
                    ));
                }
            }
            let (out_name, out_arg) = text(2, "rankOutColumnName")?;
            if out_name.is_empty() || input.columns.iter().any(|c| c.name == out_name) {
                return Err(err_at(
                    out_arg,
                    format!("GROUP_RANK's rankOutColumnName names the rank's new column: '{out_name}' is empty or a column of the cursor already."),
                ));
            }
            let order = |i: usize, what: &str| -> Result<bool, SqlError> {
                let (v, e) = text(i, what)?;
                match v.to_ascii_lowercase().as_str() {
                    "asc" => Ok(false),
                    "desc" => Ok(true),
                    _ => Err(err_at(
                        e,
                        format!("GROUP_RANK's {what} is 'asc' or 'desc', not '{v}'."),
                    )),
                }
            };
            let rank_desc = order(3, "sortOrder")?;
            let output_desc = order(4, "outputOrder")?;
            let max_idle = int_arg(need(5, "maxIdle")?, "maxIdle", 0, i64::from(i32::MAX))?;
            let output_max =
                int_arg(need(6, "outputMax")?, "outputMax", 0, i64::from(i32::MAX))? as usize;
            let mut ops = input.pipeline.ops;
            ops.push(Box::new(crate::ops::GroupRank::new(
                column,
                rank_desc,
                output_desc,
                max_idle,
                output_max,
            )));
            let mut cols = input.columns;
            cols.push(Col::new(&out_name, Some(SqlType::Integer)));
            Ok((input.source, ops, cols))
        }
        _ => Err(err_at(&f.name, format!("Unknown table function {name}."))),
    }
}

/// The cursor's numeric columns (not DECIMAL), as AWS's machine learning
/// functions read them; none is an error naming the function.
fn numeric_columns(cols: &[Col], f: &ast::Function) -> Result<Vec<usize>, SqlError> {
    let columns: Vec<usize> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !c.hidden
                && c.ty
                    .as_ref()
                    .is_some_and(|t| t.is_numeric() && !matches!(t, SqlType::Decimal { .. }))
        })
        .map(|(i, _)| i)
        .collect();
    if columns.is_empty() {
        return Err(err_at(
            &f.name,
            format!(
                "{} reads the cursor's numeric columns (DOUBLE, REAL, INTEGER, BIGINT, SMALLINT, \
                 TINYINT); this cursor has none.",
                f.name.to_string().to_ascii_uppercase()
            ),
        ));
    }
    Ok(columns)
}

/// Compiles one expression over the given columns (a table's computed
/// columns and watermark).
pub fn compile_scalar(e: &ast::Expr, cols: &[Col], cat: &dyn Catalog) -> Result<Expr, SqlError> {
    Compiler::plain(cols, cat).expr(e)
}
