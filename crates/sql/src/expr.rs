//! Compiled scalar expressions and their evaluation on a row.
//!
//! Columns are resolved to positions when a query is planned, so evaluating
//! never looks a name up. A failure while evaluating (division by zero, a
//! bad cast) is a [`RowError`]: the row goes to `error_stream`, as KDA does,
//! and the application keeps running.

use std::cmp::Ordering;

use regex_lite::Regex;

use crate::functions::{self, Func};
use crate::value::{align, rescale, SqlType, Value};

/// One row of a stream: its ROWTIME and its column values.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub rowtime: i64,
    pub values: Vec<Value>,
}

/// Why a row could not be processed; it goes to `error_stream`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub name: &'static str,
    pub message: String,
}

impl RowError {
    pub fn new(name: &'static str, message: impl Into<String>) -> RowError {
        RowError {
            name,
            message: message.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub enum Expr {
    Lit(Value),
    Col(usize),
    Rowtime,
    /// A field of a ROW value (`l.r.COLUMN1`).
    Field(Box<Expr>, String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    Cast(Box<Expr>, SqlType),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    IsNull(Box<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// LIKE / SIMILAR TO with a literal pattern, compiled once.
    Matches(Box<Expr>, Regex, bool),
    /// LIKE / SIMILAR TO with a computed pattern.
    MatchesDynamic(Box<Expr>, Box<Expr>, bool, bool),
}

/// Two expressions are the same when they compile to the same thing; this
/// is how a SELECT item is matched to a GROUP BY key.
impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Expr {
    /// Whether the value depends on ROWTIME and nothing else from the row:
    /// such a GROUP BY key is monotonic, and closes windows.
    pub fn rowtime_only(&self) -> bool {
        let mut uses_rowtime = false;
        let mut uses_columns = false;
        self.visit(&mut |e| match e {
            Expr::Rowtime => uses_rowtime = true,
            Expr::Col(_) => uses_columns = true,
            _ => {}
        });
        uses_rowtime && !uses_columns
    }

    pub fn uses_columns(&self) -> bool {
        let mut used = false;
        self.visit(&mut |e| used |= matches!(e, Expr::Col(_) | Expr::Rowtime));
        used
    }

    fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Lit(_) | Expr::Col(_) | Expr::Rowtime => {}
            Expr::Field(e, _)
            | Expr::Not(e)
            | Expr::Neg(e)
            | Expr::Cast(e, _)
            | Expr::IsNull(e, _) => e.visit(f),
            Expr::Matches(e, _, _) => e.visit(f),
            Expr::MatchesDynamic(a, b, _, _) | Expr::Bin(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit(f)),
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.visit(f);
                }
                for (w, t) in whens {
                    w.visit(f);
                    t.visit(f);
                }
                if let Some(o) = otherwise {
                    o.visit(f);
                }
            }
            Expr::InList(e, list, _) => {
                e.visit(f);
                list.iter().for_each(|a| a.visit(f));
            }
            Expr::Between(a, b, c, _) => {
                a.visit(f);
                b.visit(f);
                c.visit(f);
            }
        }
    }

    pub fn eval(&self, row: &Row) -> Result<Value, RowError> {
        Ok(match self {
            Expr::Lit(v) => v.clone(),
            Expr::Col(i) => row.values.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Rowtime => Value::Timestamp(row.rowtime),
            Expr::Field(e, name) => match e.eval(row)? {
                Value::Row(fields) => fields
                    .into_iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
                    .unwrap_or(Value::Null),
                Value::Null => Value::Null,
                other => {
                    return Err(RowError::new(
                        "TYPE_ERROR",
                        format!("{} has no field {name}", other.type_name()),
                    ))
                }
            },
            Expr::Not(e) => match truth(&e.eval(row)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expr::Neg(e) => match e.eval(row)? {
                Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
                Value::Float(f) => Value::Float(-f),
                Value::Decimal(u, s) => Value::Decimal(u.checked_neg().ok_or_else(overflow)?, s),
                Value::Interval(i) => Value::Interval(i.checked_neg().ok_or_else(overflow)?),
                Value::Null => Value::Null,
                v => return Err(type_error("-", &v)),
            },
            Expr::Bin(BinOp::And, a, b) => {
                let l = truth(&a.eval(row)?);
                if l == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (l, truth(&b.eval(row)?)) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Expr::Bin(BinOp::Or, a, b) => {
                let l = truth(&a.eval(row)?);
                if l == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (l, truth(&b.eval(row)?)) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            Expr::Bin(op, a, b) => binary(*op, a.eval(row)?, b.eval(row)?)?,
            // One and two arguments (most calls) without a heap vector.
            Expr::Call(f, args) => match args.as_slice() {
                [a] => functions::call(*f, &[a.eval(row)?], row)?,
                [a, b] => functions::call(*f, &[a.eval(row)?, b.eval(row)?], row)?,
                _ => {
                    let mut vals = Vec::with_capacity(args.len());
                    for a in args {
                        vals.push(a.eval(row)?);
                    }
                    functions::call(*f, &vals, row)?
                }
            },
            Expr::Cast(e, ty) => {
                let v = e.eval(row)?;
                functions::cast(v, ty)?
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let op = match operand {
                    Some(o) => Some(o.eval(row)?),
                    None => None,
                };
                for (w, then) in whens {
                    let hit = match &op {
                        Some(o) => o.sql_cmp(&w.eval(row)?) == Some(Ordering::Equal),
                        None => truth(&w.eval(row)?) == Some(true),
                    };
                    if hit {
                        return then.eval(row);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row)?,
                    None => Value::Null,
                }
            }
            Expr::IsNull(e, negated) => Value::Bool(e.eval(row)?.is_null() != *negated),
            Expr::InList(e, list, negated) => {
                let v = e.eval(row)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                for item in list {
                    let x = item.eval(row)?;
                    match v.sql_cmp(&x) {
                        Some(Ordering::Equal) => return Ok(Value::Bool(!negated)),
                        None => saw_null |= x.is_null(),
                        _ => {}
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Expr::Between(e, lo, hi, negated) => {
                let v = e.eval(row)?;
                let (lo, hi) = (lo.eval(row)?, hi.eval(row)?);
                match (v.sql_cmp(&lo), v.sql_cmp(&hi)) {
                    (Some(a), Some(b)) => {
                        Value::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Expr::Matches(e, re, negated) => match e.eval(row)? {
                Value::Null => Value::Null,
                v => Value::Bool(re.is_match(&v.to_text()) != *negated),
            },
            Expr::MatchesDynamic(e, p, similar, negated) => {
                let (v, p) = (e.eval(row)?, p.eval(row)?);
                if v.is_null() || p.is_null() {
                    return Ok(Value::Null);
                }
                let re = pattern_regex(&p.to_text(), *similar)
                    .map_err(|m| RowError::new("PATTERN_ERROR", m))?;
                Value::Bool(re.is_match(&v.to_text()) != *negated)
            }
        })
    }
}

/// SQL's three-valued truth of a value.
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        Value::Int(i) => Some(*i != 0),
        _ => None,
    }
}

fn overflow() -> RowError {
    RowError::new("OVERFLOW", "Numeric overflow")
}

fn type_error(op: &str, v: &Value) -> RowError {
    RowError::new(
        "TYPE_ERROR",
        format!("operator {op} cannot take a {} value", v.type_name()),
    )
}

/// LIKE (`%`, `_`) or SIMILAR TO (also `|`, `*`, `+`, `?`, `[...]`,
/// `(...)`, `{m,n}`) as an anchored regular expression.
pub fn pattern_regex(p: &str, similar: bool) -> Result<Regex, String> {
    let mut out = String::from("(?s)^(?:");
    for c in p.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '|' | '*' | '+' | '?' | '[' | ']' | '(' | ')' | '{' | '}' if similar => out.push(c),
            '^' | '-' if similar => out.push(c),
            c => out.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    Regex::new(&out).map_err(|e| format!("bad pattern '{p}': {e}"))
}

pub(crate) fn binary(op: BinOp, a: Value, b: Value) -> Result<Value, RowError> {
    use Value::*;
    if a.is_null() || b.is_null() {
        return Ok(Null);
    }
    let cmp = |f: fn(Ordering) -> bool| -> Result<Value, RowError> {
        match a.sql_cmp(&b) {
            Some(o) => Ok(Bool(f(o))),
            None => Err(RowError::new(
                "TYPE_ERROR",
                format!("cannot compare {} with {}", a.type_name(), b.type_name()),
            )),
        }
    };
    match op {
        BinOp::Eq => return cmp(|o| o == Ordering::Equal),
        BinOp::NotEq => return cmp(|o| o != Ordering::Equal),
        BinOp::Lt => return cmp(|o| o == Ordering::Less),
        BinOp::LtEq => return cmp(|o| o != Ordering::Greater),
        BinOp::Gt => return cmp(|o| o == Ordering::Greater),
        BinOp::GtEq => return cmp(|o| o != Ordering::Less),
        BinOp::Concat => return Ok(Str((a.to_text() + &b.to_text()).into())),
        BinOp::And | BinOp::Or => unreachable!("handled lazily"),
        _ => {}
    }
    let div0 = || RowError::new("DIVISION_BY_ZERO", "Division by zero");
    Ok(match (op, &a, &b) {
        (BinOp::Add, Int(x), Int(y)) => Int(x.checked_add(*y).ok_or_else(overflow)?),
        (BinOp::Sub, Int(x), Int(y)) => Int(x.checked_sub(*y).ok_or_else(overflow)?),
        (BinOp::Mul, Int(x), Int(y)) => Int(x.checked_mul(*y).ok_or_else(overflow)?),
        // Integer division truncates, as KDA's SUM(TEMP)/COUNT(TEMP) shows.
        (BinOp::Div, Int(_), Int(0)) | (BinOp::Mod, Int(_), Int(0)) => return Err(div0()),
        (BinOp::Div, Int(x), Int(y)) => Int(x.checked_div(*y).ok_or_else(overflow)?),
        (BinOp::Mod, Int(x), Int(y)) => Int(x.wrapping_rem(*y)),
        // Times and intervals, kept within the years 0001..9999.
        (BinOp::Sub, Timestamp(x), Timestamp(y)) => Interval(x - y),
        (BinOp::Add, Timestamp(t), Interval(i)) | (BinOp::Add, Interval(i), Timestamp(t)) => {
            Timestamp(in_range(t.checked_add(*i))?)
        }
        (BinOp::Sub, Timestamp(t), Interval(i)) => Timestamp(in_range(t.checked_sub(*i))?),
        (BinOp::Add, Date(d), Interval(i)) => {
            Timestamp(in_range((d * 86_400_000).checked_add(*i))?)
        }
        (BinOp::Sub, Date(x), Date(y)) => Interval((x - y) * 86_400_000),
        (BinOp::Add, Interval(x), Interval(y)) => Interval(x.checked_add(*y).ok_or_else(overflow)?),
        (BinOp::Sub, Interval(x), Interval(y)) => Interval(x.checked_sub(*y).ok_or_else(overflow)?),
        (BinOp::Mul, Interval(i), n) | (BinOp::Mul, n, Interval(i)) if n.as_f64().is_some() => {
            let v = *i as f64 * n.as_f64().unwrap_or(0.0);
            if !v.is_finite() || v.abs() >= 9.2e18 {
                return Err(overflow());
            }
            Interval(v as i64)
        }
        (BinOp::Div, Interval(i), n) if n.as_f64().is_some() => {
            let d = n.as_f64().unwrap_or(0.0);
            if d == 0.0 {
                return Err(div0());
            }
            Interval((*i as f64 / d) as i64)
        }
        // Exact decimals stay exact where they can.
        (_, Decimal(..) | Int(_), Decimal(..) | Int(_)) => {
            let (x, sx) = dec(&a);
            let (y, sy) = dec(&b);
            match op {
                BinOp::Add | BinOp::Sub => {
                    let s = sx.max(sy);
                    let (x, y) = align(x, sx, y, sy);
                    let v = if op == BinOp::Add {
                        x.checked_add(y)
                    } else {
                        x.checked_sub(y)
                    };
                    Decimal(v.ok_or_else(overflow)?, s)
                }
                BinOp::Mul => {
                    let s = (sx + sy).min(18);
                    Decimal(
                        rescale(x.checked_mul(y).ok_or_else(overflow)?, sx + sy, s),
                        s,
                    )
                }
                BinOp::Div => {
                    if y == 0 {
                        return Err(div0());
                    }
                    // Six more digits than the dividend, at most 18.
                    let s = (sx.max(sy) + 6).min(18);
                    let num = rescale(x, sx, s + sy);
                    Decimal(num.checked_div(y).ok_or_else(overflow)?, s)
                }
                BinOp::Mod => {
                    if y == 0 {
                        return Err(div0());
                    }
                    let s = sx.max(sy);
                    let (x, y) = align(x, sx, y, sy);
                    Decimal(x.checked_rem(y).ok_or_else(overflow)?, s)
                }
                _ => unreachable!(),
            }
        }
        _ => {
            let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
                return Err(RowError::new(
                    "TYPE_ERROR",
                    format!(
                        "cannot apply {op:?} to {} and {}",
                        a.type_name(),
                        b.type_name()
                    ),
                ));
            };
            match op {
                BinOp::Add => Float(x + y),
                BinOp::Sub => Float(x - y),
                BinOp::Mul => Float(x * y),
                BinOp::Div => {
                    if y == 0.0 {
                        return Err(div0());
                    }
                    Float(x / y)
                }
                BinOp::Mod => {
                    if y == 0.0 {
                        return Err(div0());
                    }
                    Float(x % y)
                }
                _ => unreachable!(),
            }
        }
    })
}

fn in_range(t: Option<i64>) -> Result<i64, RowError> {
    t.and_then(crate::value::checked_timestamp).ok_or_else(|| {
        RowError::new(
            "OUT_OF_RANGE",
            "The timestamp is outside the years 0001 to 9999",
        )
    })
}

fn dec(v: &Value) -> (i128, u8) {
    match v {
        Value::Decimal(u, s) => (*u, *s),
        Value::Int(i) => (*i as i128, 0),
        _ => (0, 0),
    }
}
