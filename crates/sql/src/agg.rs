//! Aggregate functions: the accumulators GROUP BY windows keep per group,
//! and the same functions over a sliding window's rows.

use std::collections::HashSet;

use crate::expr::{binary, BinOp, Expr, Row, RowError};
use crate::value::{SqlType, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    VarPop,
    VarSamp,
    StddevPop,
    StddevSamp,
    FirstValue,
    LastValue,
    /// KDA's boolean aggregates: true when the condition holds in any row
    /// (ANY) or in every row (EVERY); NULLs are skipped.
    Any,
    Every,
}

impl AggFunc {
    pub fn lookup(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_uppercase().as_str() {
            "COUNT" => AggFunc::Count,
            "SUM" => AggFunc::Sum,
            "AVG" => AggFunc::Avg,
            "MIN" => AggFunc::Min,
            "MAX" => AggFunc::Max,
            "VAR_POP" => AggFunc::VarPop,
            "VAR_SAMP" | "VARIANCE" => AggFunc::VarSamp,
            "STDDEV_POP" => AggFunc::StddevPop,
            "STDDEV_SAMP" | "STDDEV" => AggFunc::StddevSamp,
            "FIRST_VALUE" => AggFunc::FirstValue,
            "LAST_VALUE" => AggFunc::LastValue,
            "ANY" => AggFunc::Any,
            "EVERY" => AggFunc::Every,
            _ => return None,
        })
    }
}

/// One aggregate call in a query: `SUM(DISTINCT price)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub distinct: bool,
}

/// The running state of one aggregate in one group.
#[derive(Clone, Debug)]
pub struct Acc {
    func: AggFunc,
    n: i64,
    /// SUM / AVG: exact while the inputs are exact.
    sum: Option<Value>,
    /// MIN / MAX / FIRST / LAST.
    pick: Option<Value>,
    /// Welford's running mean and squared deviations, for the variances.
    mean: f64,
    m2: f64,
    seen: Option<HashSet<Value>>,
}

impl Acc {
    pub fn new(spec: &AggSpec) -> Acc {
        Acc {
            func: spec.func,
            n: 0,
            sum: None,
            pick: None,
            mean: 0.0,
            m2: 0.0,
            seen: spec.distinct.then(HashSet::new),
        }
    }

    pub fn add(&mut self, spec: &AggSpec, row: &Row) -> Result<(), RowError> {
        if self.func == AggFunc::CountStar {
            self.n += 1;
            return Ok(());
        }
        let v = match &spec.arg {
            Some(e) => e.eval(row)?,
            None => Value::Null,
        };
        self.add_value(v)
    }

    pub fn add_value(&mut self, v: Value) -> Result<(), RowError> {
        if self.func == AggFunc::CountStar {
            self.n += 1;
            return Ok(());
        }
        // Aggregates ignore NULLs (COUNT(x) counts the others).
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            if !seen.insert(v.clone()) {
                return Ok(());
            }
        }
        self.n += 1;
        match self.func {
            AggFunc::CountStar | AggFunc::Count => {}
            AggFunc::Sum | AggFunc::Avg => {
                self.sum = Some(match self.sum.take() {
                    None => {
                        if v.as_f64().is_none() {
                            return Err(RowError::new(
                                "TYPE_ERROR",
                                format!("{:?} needs numbers, not {}", self.func, v.type_name()),
                            ));
                        }
                        v
                    }
                    Some(s) => binary(BinOp::Add, s, v)?,
                });
            }
            AggFunc::Min | AggFunc::Max => {
                let replace = match &self.pick {
                    None => true,
                    Some(cur) => {
                        let o = v.sql_cmp(cur);
                        if self.func == AggFunc::Min {
                            o == Some(std::cmp::Ordering::Less)
                        } else {
                            o == Some(std::cmp::Ordering::Greater)
                        }
                    }
                };
                if replace {
                    self.pick = Some(v);
                }
            }
            AggFunc::FirstValue => {
                if self.pick.is_none() {
                    self.pick = Some(v);
                }
            }
            AggFunc::LastValue => self.pick = Some(v),
            AggFunc::Any | AggFunc::Every => {
                let Value::Bool(b) = v else {
                    return Err(RowError::new(
                        "TYPE_ERROR",
                        format!(
                            "{} takes a BOOLEAN condition, not {}",
                            if self.func == AggFunc::Any {
                                "ANY"
                            } else {
                                "EVERY"
                            },
                            v.type_name()
                        ),
                    ));
                };
                let so_far = match &self.pick {
                    Some(Value::Bool(p)) => Some(*p),
                    _ => None,
                };
                self.pick = Some(Value::Bool(match (self.func, so_far) {
                    (_, None) => b,
                    (AggFunc::Any, Some(p)) => p || b,
                    (_, Some(p)) => p && b,
                }));
            }
            AggFunc::VarPop | AggFunc::VarSamp | AggFunc::StddevPop | AggFunc::StddevSamp => {
                let x = v.as_f64().ok_or_else(|| {
                    RowError::new("TYPE_ERROR", format!("{:?} needs numbers", self.func))
                })?;
                let d = x - self.mean;
                self.mean += d / self.n as f64;
                self.m2 += d * (x - self.mean);
            }
        }
        Ok(())
    }

    pub fn result(&self) -> Value {
        match self.func {
            AggFunc::CountStar | AggFunc::Count => Value::Int(self.n),
            AggFunc::Sum => self.sum.clone().unwrap_or(Value::Null),
            AggFunc::Avg => match &self.sum {
                None => Value::Null,
                // AVG keeps its input's type: over integers it truncates
                // (KDA: AVG of 29 and 32 is 30).
                Some(Value::Int(s)) => Value::Int(s / self.n),
                Some(Value::Decimal(u, s)) => Value::Decimal(u / self.n as i128, *s),
                Some(v) => Value::Float(v.as_f64().unwrap_or(0.0) / self.n as f64),
            },
            AggFunc::Min
            | AggFunc::Max
            | AggFunc::FirstValue
            | AggFunc::LastValue
            | AggFunc::Any
            | AggFunc::Every => self.pick.clone().unwrap_or(Value::Null),
            AggFunc::VarPop | AggFunc::StddevPop if self.n > 0 => {
                let var = self.m2 / self.n as f64;
                Value::Float(if self.func == AggFunc::VarPop {
                    var
                } else {
                    var.sqrt()
                })
            }
            AggFunc::VarSamp | AggFunc::StddevSamp if self.n > 1 => {
                let var = self.m2 / (self.n - 1) as f64;
                Value::Float(if self.func == AggFunc::VarSamp {
                    var
                } else {
                    var.sqrt()
                })
            }
            _ => Value::Null,
        }
    }
}

/// The type an aggregate's result has for an input of type `input`.
pub fn result_type(func: AggFunc, input: Option<&SqlType>) -> Option<SqlType> {
    match func {
        AggFunc::CountStar | AggFunc::Count => Some(SqlType::BigInt),
        AggFunc::VarPop | AggFunc::VarSamp | AggFunc::StddevPop | AggFunc::StddevSamp => {
            Some(SqlType::Double)
        }
        AggFunc::Any | AggFunc::Every => Some(SqlType::Boolean),
        _ => input.cloned(),
    }
}
