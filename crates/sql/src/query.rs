//! One-off queries over tables, as Redshift runs them: the Redshift-like
//! cluster that Firehose loads by COPY is queried with a plain `SELECT`.
//!
//! A query reads one table (or none: `SELECT 1`) to its end, so a GROUP BY
//! needs no window; then HAVING, DISTINCT, ORDER BY and LIMIT apply to the
//! whole result. Expressions, functions and aggregates are the streaming
//! engine's own, compiled with Redshift's rules (see
//! [`Catalog::redshift`]): Redshift's function names, NULLs sorted last
//! ascending and first descending, PostgreSQL's names for unnamed columns.
//! What Redshift has and the playground does not (joins, subqueries,
//! window functions) is refused by name, never guessed at.

use rustc_hash::FxHashMap;
use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::agg::{Acc, AggFunc};
use crate::error::SqlError;
use crate::expr::{truth, Expr, Row};
use crate::ops::Pipeline;
use crate::plan::{
    compile_scalar, contains_aggregate, expand_select, find_name, finish, Catalog, Col,
};
use crate::value::{sort_cmp, SqlType, Value};

/// The tables a query can read.
pub trait Tables {
    /// A table's columns, by its name as written in the query.
    fn columns(&self, name: &str) -> Option<Vec<Col>>;
    /// Calls `each` on every row of the table, in load order, until it
    /// fails.
    fn scan(
        &self,
        name: &str,
        each: &mut dyn FnMut(Vec<Value>) -> Result<(), SqlError>,
    ) -> Result<(), SqlError>;
}

/// A query's answer: its columns (name and, where known, type) and rows.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOutput {
    pub columns: Vec<(String, Option<SqlType>)>,
    pub rows: Vec<Vec<Value>>,
}

struct RedshiftCatalog {
    now_ms: i64,
}

impl Catalog for RedshiftCatalog {
    fn stream(&self, _: &ast::Ident) -> Option<(usize, Vec<Col>)> {
        None
    }
    fn table(&self, _: &ast::Ident) -> Option<(Vec<Col>, Vec<Vec<Value>>)> {
        None
    }
    // Names keep their case; unquoted ones then match ignoring case.
    fn flink(&self) -> bool {
        true
    }
    fn start_ms(&self) -> i64 {
        self.now_ms
    }
    fn side_input(&self, _: usize, _: Pipeline) {}
    fn redshift(&self) -> bool {
        true
    }
}

fn at(node: &impl sqlparser::ast::Spanned, msg: impl Into<String>) -> SqlError {
    SqlError::at(node.span().start, None, msg.into())
}

/// An error found while running (division by zero, a bad cast): it has no
/// position, and fails the whole query, as in Redshift.
fn runtime(message: impl Into<String>) -> SqlError {
    SqlError::at(Location::new(0, 0), None, message.into())
}

/// Where one ORDER BY key comes from: an output column (by position or
/// name), or an expression over the input, computed as a hidden column.
struct SortKey {
    column: usize,
    desc: bool,
    nulls_first: bool,
}

/// Runs one `SELECT` (a trailing `;` allowed) over `tables`;
/// `now_ms` is what GETDATE() and CURRENT_TIMESTAMP return.
pub fn run_query(sql: &str, tables: &dyn Tables, now_ms: i64) -> Result<QueryOutput, SqlError> {
    let dialect = GenericDialect {};
    let mut tokens: Vec<TokenWithSpan> = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::at(e.location, None, e.message.clone()))?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    while tokens.last().is_some_and(|t| t.token == Token::SemiColon) {
        tokens.pop();
    }
    let end = tokens
        .last()
        .map(|t| t.span.end)
        .unwrap_or(Location::new(1, 1));
    if let Some(t) = tokens.iter().find(|t| t.token == Token::SemiColon) {
        return Err(SqlError::at(
            t.span.start,
            Some(";".into()),
            "One statement at a time: run each query on its own.".into(),
        ));
    }
    let mut p = Parser::new(&dialect).with_tokens_with_locations(tokens);
    let query = p.parse_query().map_err(|e| {
        let mut e = SqlError::from_parser(e);
        if e.line == 0 {
            e.line = end.line;
            e.column = end.column;
        }
        e
    })?;
    let next = p.peek_token();
    if next.token != Token::EOF {
        return Err(SqlError::at(
            next.span.start,
            Some(next.token.to_string()),
            format!("Unexpected {} after the end of the query.", next.token),
        ));
    }
    let cat = RedshiftCatalog { now_ms };
    query_output(&query, tables, &cat)
}

fn query_output(
    q: &ast::Query,
    tables: &dyn Tables,
    cat: &RedshiftCatalog,
) -> Result<QueryOutput, SqlError> {
    if let Some(w) = &q.with {
        return Err(at(
            w,
            "WITH is not supported in the playground's Redshift queries.",
        ));
    }
    if q.fetch.is_some() {
        return Err(at(q, "FETCH is not supported; use LIMIT."));
    }
    let select = match q.body.as_ref() {
        ast::SetExpr::Select(s) => s,
        ast::SetExpr::Query(inner) if q.order_by.is_none() && q.limit_clause.is_none() => {
            return query_output(inner, tables, cat)
        }
        other => {
            return Err(at(
                other,
                "UNION, INTERSECT and EXCEPT are not supported in the playground's Redshift \
                 queries.",
            ))
        }
    };
    let order_by = match &q.order_by {
        Some(o) => match &o.kind {
            ast::OrderByKind::Expressions(list) => list.clone(),
            ast::OrderByKind::All(_) => return Err(at(q, "ORDER BY ALL is not supported.")),
        },
        None => Vec::new(),
    };
    let (mut limit, offset) = match &q.limit_clause {
        None => (None, 0),
        Some(ast::LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if let Some(b) = limit_by.first() {
                return Err(at(b, "LIMIT ... BY is not supported."));
            }
            (
                limit
                    .as_ref()
                    .map(|l| count(l, "LIMIT"))
                    .transpose()?
                    .flatten(),
                offset
                    .as_ref()
                    .map(|o| count(&o.value, "OFFSET"))
                    .transpose()?
                    .flatten()
                    .unwrap_or(0),
            )
        }
        Some(ast::LimitClause::OffsetCommaLimit { limit, .. }) => {
            return Err(at(limit, "Write LIMIT n OFFSET m."))
        }
    };
    if let Some(top) = &select.top {
        let n = match &top.quantity {
            Some(ast::TopQuantity::Constant(n)) => *n,
            Some(ast::TopQuantity::Expr(e)) => count(e, "TOP")?.unwrap_or(u64::MAX),
            None => u64::MAX,
        };
        if top.percent || top.with_ties {
            return Err(at(
                &select.select_token.0,
                "TOP ... PERCENT and WITH TIES are not supported.",
            ));
        }
        if limit.is_some() {
            return Err(at(
                &select.select_token.0,
                "TOP and LIMIT cannot be used together.",
            ));
        }
        limit = Some(n);
    }
    run_select(select, &order_by, limit, offset, tables, cat)
}

/// A LIMIT, OFFSET or TOP count: a non-negative integer, or ALL (None).
fn count(e: &ast::Expr, what: &str) -> Result<Option<u64>, SqlError> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            if let Ok(n) = n.parse::<u64>() {
                return Ok(Some(n));
            }
        }
    }
    if let ast::Expr::Identifier(id) = e {
        if id.value.eq_ignore_ascii_case("ALL") && what == "LIMIT" {
            return Ok(None);
        }
    }
    Err(at(e, format!("{what} takes a non-negative integer.")))
}

/// PostgreSQL's name for an output column written without AS: the
/// column's or function's name, else `?column?`.
fn pg_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => ident_name(id),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(ident_name).unwrap_or_default(),
        ast::Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(ident_name)
            .unwrap_or_else(|| "?column?".into()),
        ast::Expr::Cast {
            expr, data_type, ..
        } => match pg_name(expr) {
            n if n == "?column?" => crate::plan::sql_type(data_type)
                .map(|t| pg_type(Some(&t)).to_string())
                .unwrap_or(n),
            n => n,
        },
        ast::Expr::Nested(expr) => pg_name(expr),
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::Floor { .. } => "floor".into(),
        ast::Expr::Ceil { .. } => "ceil".into(),
        ast::Expr::Substring { .. } => "substring".into(),
        ast::Expr::Trim { .. } => "btrim".into(),
        ast::Expr::Position { .. } => "position".into(),
        ast::Expr::Extract { .. } => "date_part".into(),
        _ => "?column?".into(),
    }
}

/// PostgreSQL's name for a type, as Redshift reports a result column's
/// type (and names a cast's column).
pub fn pg_type(t: Option<&SqlType>) -> &'static str {
    match t {
        Some(SqlType::Boolean) => "bool",
        Some(SqlType::TinyInt | SqlType::SmallInt) => "int2",
        Some(SqlType::Integer) => "int4",
        Some(SqlType::BigInt) => "int8",
        Some(SqlType::Real) => "float4",
        Some(SqlType::Double) => "float8",
        Some(SqlType::Decimal { .. }) => "numeric",
        Some(SqlType::Char(_)) => "bpchar",
        Some(SqlType::Date) => "date",
        Some(SqlType::Time) => "time",
        Some(SqlType::Timestamp) => "timestamp",
        Some(SqlType::Interval) => "interval",
        Some(SqlType::Varbinary(_)) => "varbyte",
        Some(SqlType::Varchar(_)) | None => "varchar",
    }
}

/// Redshift folds names to lower case, quoted ones too (unless
/// enable_case_sensitive_identifier is on; it is off by default).
fn ident_name(id: &ast::Ident) -> String {
    id.value.to_lowercase()
}

fn run_select(
    s: &ast::Select,
    order_by: &[ast::OrderByExpr],
    limit: Option<u64>,
    offset: u64,
    tables: &dyn Tables,
    cat: &RedshiftCatalog,
) -> Result<QueryOutput, SqlError> {
    if s.into.is_some() {
        return Err(at(&s.select_token.0, "SELECT INTO is not supported."));
    }
    if let Some(q) = &s.qualify {
        return Err(at(q, "QUALIFY is not supported."));
    }
    if !s.named_window.is_empty() {
        return Err(at(
            &s.select_token.0,
            "Window functions (WINDOW, OVER) are not supported in the playground's Redshift \
             queries; use GROUP BY.",
        ));
    }
    let distinct = match &s.distinct {
        None | Some(ast::Distinct::All) => false,
        Some(ast::Distinct::Distinct) => true,
        Some(ast::Distinct::On(list)) => {
            let first = list.first().cloned();
            return Err(match first {
                Some(e) => at(&e, "DISTINCT ON is not supported in Redshift."),
                None => at(
                    &s.select_token.0,
                    "DISTINCT ON is not supported in Redshift.",
                ),
            });
        }
    };
    // FROM: one table, or none.
    let (table, cols) =
        match s.from.as_slice() {
            [] => (None, Vec::new()),
            [one] => {
                if let Some(j) = one.joins.first() {
                    return Err(at(
                        &j.relation,
                        "Joins are not supported in the playground's Redshift queries; query one \
                     table at a time.",
                    ));
                }
                let ast::TableFactor::Table {
                    name, alias, args, ..
                } = &one.relation
                else {
                    return Err(at(
                        &one.relation,
                        "Read FROM a table by name (subqueries are not supported here).",
                    ));
                };
                if args.is_some() {
                    return Err(at(&one.relation, "Table functions are not supported here."));
                }
                let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
                let Some(last) = parts.last() else {
                    return Err(at(&one.relation, "Name a table."));
                };
                if let [schema, _] = parts.as_slice() {
                    let sch = ident_name(schema);
                    if sch != "public" && sch != "pg_catalog" {
                        return Err(SqlError::at(
                            schema.span.start,
                            Some(schema.value.clone()),
                            format!(
                                "schema \"{sch}\" does not exist (the playground's tables are in \
                             public)."
                            ),
                        ));
                    }
                } else if parts.len() > 2 {
                    return Err(at(&one.relation, "Name a table as table or schema.table."));
                }
                let tname = ident_name(last);
                let tcols = tables.columns(&tname).ok_or_else(|| {
                    SqlError::at(
                        last.span.start,
                        Some(last.value.clone()),
                        format!("relation \"{tname}\" does not exist"),
                    )
                })?;
                let mut quals = vec![tname.clone()];
                if let Some(a) = alias {
                    quals = vec![ident_name(&a.name)];
                }
                let cols = tcols
                    .into_iter()
                    .map(|c| Col {
                        quals: quals.clone(),
                        ..c
                    })
                    .collect::<Vec<_>>();
                (Some(tname), cols)
            }
            [_, second, ..] => return Err(at(
                &second.relation,
                "Joins are not supported in the playground's Redshift queries; query one table \
                 at a time.",
            )),
        };
    let filter = s
        .selection
        .as_ref()
        .map(|w| compile_scalar(w, &cols, cat))
        .transpose()?;

    // The SELECT list, named as Redshift names it.
    let mut items: Vec<(ast::Expr, String)> = Vec::new();
    for item in &s.projection {
        match item {
            ast::SelectItem::UnnamedExpr(e) => items.push((e.clone(), pg_name(e))),
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                items.push((expr.clone(), ident_name(alias)))
            }
            other => {
                if table.is_none() {
                    return Err(at(other, "SELECT * needs a FROM clause."));
                }
                items.extend(expand_select(std::slice::from_ref(other), &cols, true)?)
            }
        }
    }
    let visible = items.len();
    let names: Vec<String> = items.iter().map(|(_, n)| n.clone()).collect();
    let output_index = |id: &ast::Ident| {
        let want = ident_name(id);
        let mut hits = names.iter().enumerate().filter(|(_, n)| **n == want);
        match (hits.next(), hits.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    };
    let is_input_column =
        |id: &ast::Ident| find_name(id, true, cols.iter().map(|c| (c.name.as_str(), ()))).is_some();
    // GROUP BY: expressions, output positions (`GROUP BY 1`), or output
    // names that are not input columns.
    let group: Vec<ast::Expr> = match &s.group_by {
        ast::GroupByExpr::Expressions(v, m) if m.is_empty() => v
            .iter()
            .map(|g| {
                if let Some(n) = position(g)? {
                    return items[..visible]
                        .get(n.wrapping_sub(1))
                        .map(|(e, _)| e.clone())
                        .ok_or_else(|| {
                            at(g, format!("GROUP BY position {n} is not in select list"))
                        });
                }
                if let ast::Expr::Identifier(id) = g {
                    if !is_input_column(id) {
                        if let Some(i) = output_index(id) {
                            return Ok(items[i].0.clone());
                        }
                    }
                }
                Ok(g.clone())
            })
            .collect::<Result<_, SqlError>>()?,
        _ => {
            return Err(at(
                &s.select_token.0,
                "GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS are not supported here.",
            ))
        }
    };
    // ORDER BY: output positions and names first (PostgreSQL's rule),
    // else an expression computed as a hidden column.
    let mut sort = Vec::new();
    for o in order_by {
        let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
        let nulls_first = o.options.nulls_first.unwrap_or(desc);
        let column = if let Some(n) = position(&o.expr)? {
            if n == 0 || n > visible {
                return Err(at(
                    &o.expr,
                    format!("ORDER BY position {n} is not in select list"),
                ));
            }
            n - 1
        } else if let Some(i) = match &o.expr {
            ast::Expr::Identifier(id) => output_index(id),
            _ => None,
        } {
            i
        } else if let Some(i) = items[..visible].iter().position(|(e, _)| *e == o.expr) {
            // The same expression as an output column.
            i
        } else {
            if distinct {
                return Err(at(
                    &o.expr,
                    "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                ));
            }
            items.push((o.expr.clone(), String::new()));
            items.len() - 1
        };
        sort.push(SortKey {
            column,
            desc,
            nulls_first,
        });
    }
    let has_agg = items.iter().any(|(e, _)| contains_aggregate(e))
        || s.having.as_ref().is_some_and(contains_aggregate);
    let scan = |each: &mut dyn FnMut(Row) -> Result<(), SqlError>| -> Result<(), SqlError> {
        let mut keep = |values: Vec<Value>| -> Result<(), SqlError> {
            let row = Row { rowtime: 0, values };
            if let Some(f) = &filter {
                match f.eval(&row) {
                    Ok(v) if truth(&v) == Some(true) => {}
                    Ok(_) => return Ok(()),
                    Err(e) => return Err(runtime(e.message)),
                }
            }
            each(row)
        };
        match &table {
            Some(t) => tables.scan(t, &mut keep),
            None => keep(Vec::new()),
        }
    };
    let (mut rows, types) = if has_agg || !group.is_empty() {
        let keys: Vec<Expr> = group
            .iter()
            .map(|g| compile_scalar(g, &cols, cat))
            .collect::<Result<_, _>>()?;
        let (fin, mut types) = finish(&items, s.having.as_ref(), keys.clone(), &cols, cat, false)?;
        // SUM and AVG of integers are BIGINT in Redshift.
        for (t, e) in types.iter_mut().zip(&fin.select) {
            if let Expr::Col(j) = e {
                let agg = j.checked_sub(keys.len()).and_then(|a| fin.aggs.get(a));
                if agg.is_some_and(|a| matches!(a.func, AggFunc::Sum | AggFunc::Avg))
                    && matches!(t, Some(SqlType::SmallInt | SqlType::Integer))
                {
                    *t = Some(SqlType::BigInt);
                }
            }
        }
        let mut index: FxHashMap<Vec<Value>, usize> = FxHashMap::default();
        let mut groups: Vec<(Vec<Value>, Vec<Acc>)> = Vec::new();
        scan(&mut |row| {
            let key = keys
                .iter()
                .map(|k| k.eval(&row))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| runtime(e.message))?;
            let g = match index.get(&key) {
                Some(&g) => g,
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, fin.aggs.iter().map(Acc::new).collect()));
                    groups.len() - 1
                }
            };
            for (acc, spec) in groups[g].1.iter_mut().zip(&fin.aggs) {
                acc.add(spec, &row).map_err(|e| runtime(e.message))?;
            }
            Ok(())
        })?;
        // Without GROUP BY an aggregate query has one group, even over no
        // rows: SELECT COUNT(*) of an empty table is 0.
        if groups.is_empty() && group.is_empty() {
            groups.push((Vec::new(), fin.aggs.iter().map(Acc::new).collect()));
        }
        let mut out = Vec::with_capacity(groups.len());
        for (key, accs) in groups {
            let mut values = key;
            values.extend(accs.iter().map(Acc::result));
            let row = Row { rowtime: 0, values };
            if let Some(h) = &fin.having {
                if truth(&h.eval(&row).map_err(|e| runtime(e.message))?) != Some(true) {
                    continue;
                }
            }
            out.push(
                fin.select
                    .iter()
                    .map(|e| e.eval(&row))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| runtime(e.message))?,
            );
        }
        (out, types)
    } else {
        if let Some(h) = &s.having {
            return Err(at(h, "HAVING needs GROUP BY or an aggregate."));
        }
        let exprs: Vec<Expr> = items
            .iter()
            .map(|(e, _)| compile_scalar(e, &cols, cat))
            .collect::<Result<_, _>>()?;
        let types = exprs
            .iter()
            .map(|e| match e {
                Expr::Col(i) => cols.get(*i).and_then(|c| c.ty.clone()),
                Expr::Cast(_, t) => Some(t.clone()),
                // An integer literal is an INTEGER when it fits one.
                Expr::Lit(Value::Int(i)) if i32::try_from(*i).is_ok() => Some(SqlType::Integer),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        // Without ORDER BY or DISTINCT, the scan may stop at the limit.
        let stop = (sort.is_empty() && !distinct)
            .then_some(limit.map(|l| l.saturating_add(offset)))
            .flatten();
        let full = runtime("");
        let result = scan(&mut |row| {
            if stop.is_some_and(|n| out.len() as u64 >= n) {
                return Err(full.clone());
            }
            out.push(
                exprs
                    .iter()
                    .map(|e| e.eval(&row))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| runtime(e.message))?,
            );
            Ok(())
        });
        match result {
            Err(e) if e != full => return Err(e),
            _ => {}
        }
        (out, types)
    };
    if distinct {
        let mut seen = rustc_hash::FxHashSet::default();
        rows.retain(|r| seen.insert(r.clone()));
    }
    if !sort.is_empty() {
        rows.sort_by(|a, b| {
            for k in &sort {
                let (x, y) = (&a[k.column], &b[k.column]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) if k.nulls_first => std::cmp::Ordering::Less,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) if k.nulls_first => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if k.desc => sort_cmp(y, x),
                    _ => sort_cmp(x, y),
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let mut rows: Vec<Vec<Value>> = rows
        .into_iter()
        .skip(offset.min(usize::MAX as u64) as usize)
        .take(limit.unwrap_or(u64::MAX).min(usize::MAX as u64) as usize)
        .collect();
    for r in &mut rows {
        r.truncate(visible);
        if r.iter()
            .any(|v| matches!(v, Value::Float(f) if !f.is_finite()))
        {
            return Err(runtime(
                "value out of range: a result is not a finite number (NaN or infinity)",
            ));
        }
    }
    let columns = items
        .into_iter()
        .take(visible)
        .zip(types.into_iter().chain(std::iter::repeat(None)))
        .enumerate()
        .map(|(i, ((_, name), ty))| {
            // A type the plan did not know: the first non-NULL value's.
            let ty = ty.or_else(|| {
                rows.iter()
                    .map(|r| &r[i])
                    .find(|v| !v.is_null())
                    .and_then(value_type)
            });
            (name, ty)
        })
        .collect();
    Ok(QueryOutput { columns, rows })
}

/// `GROUP BY 2` / `ORDER BY 2`: an output position.
fn position(e: &ast::Expr) -> Result<Option<usize>, SqlError> {
    if let ast::Expr::Value(v) = e {
        if let ast::Value::Number(n, _) = &v.value {
            return n
                .parse::<usize>()
                .map(Some)
                .map_err(|_| at(e, format!("{n} is not a column position.")));
        }
    }
    Ok(None)
}

fn value_type(v: &Value) -> Option<SqlType> {
    Some(match v {
        Value::Bool(_) => SqlType::Boolean,
        Value::Int(_) => SqlType::BigInt,
        Value::Float(_) => SqlType::Double,
        Value::Decimal(_, s) => SqlType::Decimal {
            precision: 38,
            scale: *s,
        },
        Value::Str(_) => SqlType::Varchar(None),
        Value::Timestamp(_) => SqlType::Timestamp,
        Value::Date(_) => SqlType::Date,
        Value::Time(_) => SqlType::Time,
        Value::Interval(_) => SqlType::Interval,
        Value::Binary(_) => SqlType::Varbinary(None),
        Value::Null | Value::Row(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::parse_timestamp;

    /// `clicks(page varchar(32), user_id integer, price decimal(10,2), ts timestamp)`.
    struct Db {
        rows: Vec<Vec<Value>>,
    }

    impl Tables for Db {
        fn columns(&self, name: &str) -> Option<Vec<Col>> {
            (name == "clicks").then(|| {
                vec![
                    Col::new("page", Some(SqlType::Varchar(Some(32)))),
                    Col::new("user_id", Some(SqlType::Integer)),
                    Col::new(
                        "price",
                        Some(SqlType::Decimal {
                            precision: 10,
                            scale: 2,
                        }),
                    ),
                    Col::new("ts", Some(SqlType::Timestamp)),
                ]
            })
        }
        fn scan(
            &self,
            _: &str,
            each: &mut dyn FnMut(Vec<Value>) -> Result<(), SqlError>,
        ) -> Result<(), SqlError> {
            for r in &self.rows {
                each(r.clone())?;
            }
            Ok(())
        }
    }

    fn ts(s: &str) -> Value {
        Value::Timestamp(parse_timestamp(s).unwrap())
    }

    fn db() -> Db {
        let row = |page: &str, user: Option<i64>, cents: i128, t: &str| {
            vec![
                Value::Str(page.into()),
                user.map(Value::Int).unwrap_or(Value::Null),
                Value::Decimal(cents, 2),
                ts(t),
            ]
        };
        Db {
            rows: vec![
                row("/home", Some(1), 1050, "2026-12-05 10:00:01"),
                row("/cart", Some(2), 2000, "2026-12-05 10:00:59"),
                row("/home", Some(2), 999, "2026-12-05 10:01:30"),
                row("/home", None, 1, "2026-12-05 11:15:00"),
                row("/checkout", Some(1), 12345, "2026-12-05 11:59:59"),
            ],
        }
    }

    const NOW: i64 = 1_796_464_800_123; // 2026-12-05 10:00:00.123

    fn q(sql: &str) -> QueryOutput {
        run_query(sql, &db(), NOW).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn text(out: &QueryOutput) -> Vec<String> {
        out.rows
            .iter()
            .map(|r| r.iter().map(Value::to_text).collect::<Vec<_>>().join("|"))
            .collect()
    }

    fn names(out: &QueryOutput) -> Vec<&str> {
        out.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn err(sql: &str) -> SqlError {
        match run_query(sql, &db(), NOW) {
            Ok(o) => panic!("{sql} ran: {:?}", text(&o)),
            Err(e) => e,
        }
    }

    #[test]
    fn select_where_order_limit() {
        let out =
            q("select page, user_id from clicks where price > 10 order by price desc limit 2;");
        assert_eq!(names(&out), ["page", "user_id"]);
        assert_eq!(text(&out), ["/checkout|1", "/cart|2"]);
        let out = q("SELECT * FROM public.clicks ORDER BY ts LIMIT 1 OFFSET 1");
        assert_eq!(names(&out), ["page", "user_id", "price", "ts"]);
        assert_eq!(text(&out), ["/cart|2|20.00|2026-12-05 10:00:59.000"]);
        assert_eq!(
            out.columns[2].1,
            Some(SqlType::Decimal {
                precision: 10,
                scale: 2
            })
        );
        let out = q("select top 2 c.page from clicks c");
        assert_eq!(text(&out), ["/home", "/cart"]);
        assert_eq!(q("select page from clicks limit all").rows.len(), 5);
        assert_eq!(q("select page from clicks limit 0").rows.len(), 0);
    }

    #[test]
    fn group_by_having_and_ordinals() {
        let out = q("SELECT page, COUNT(*), SUM(price) AS Total, AVG(user_id) \
                     FROM clicks GROUP BY page HAVING COUNT(*) >= 1 ORDER BY 2 DESC, page");
        assert_eq!(names(&out), ["page", "count", "total", "avg"]);
        assert_eq!(
            text(&out),
            ["/home|3|20.50|1", "/cart|1|20.00|2", "/checkout|1|123.45|1"]
        );
        assert_eq!(out.columns[1].1, Some(SqlType::BigInt));
        let out = q("select page as p, count(distinct user_id) n from clicks group by 1 having count(distinct user_id) > 1");
        assert_eq!(text(&out), ["/home|2"]);
        let out = q("select page as p, max(ts) from clicks group by p order by count(*), p");
        assert_eq!(
            text(&out),
            [
                "/cart|2026-12-05 10:00:59.000",
                "/checkout|2026-12-05 11:59:59.000",
                "/home|2026-12-05 11:15:00.000"
            ]
        );
    }

    #[test]
    fn aggregates_over_no_rows() {
        let out = q("select count(*), sum(price), max(page) from clicks where page = 'none'");
        assert_eq!(text(&out), ["0|NULL|NULL"]);
        let out = q("select page, count(*) from clicks where page = 'none' group by page");
        assert!(out.rows.is_empty());
    }

    #[test]
    fn nulls_sort_last_ascending_and_first_descending() {
        let users =
            |sql: &str| -> Vec<String> { q(sql).rows.iter().map(|r| r[0].to_text()).collect() };
        assert_eq!(
            users("select user_id from clicks order by user_id"),
            ["1", "1", "2", "2", "NULL"]
        );
        assert_eq!(
            users("select user_id from clicks order by user_id desc"),
            ["NULL", "2", "2", "1", "1"]
        );
        assert_eq!(
            users("select user_id from clicks order by user_id nulls first"),
            ["NULL", "1", "1", "2", "2"]
        );
        assert_eq!(
            users("select distinct user_id from clicks order by 1 desc nulls last"),
            ["2", "1", "NULL"]
        );
    }

    #[test]
    fn redshift_date_functions() {
        let out =
            q("select date_trunc('hour', ts) as hr, count(*) from clicks group by 1 order by 1");
        assert_eq!(
            text(&out),
            ["2026-12-05 10:00:00.000|3", "2026-12-05 11:00:00.000|2"]
        );
        let out = q(
            "select datediff(minute, ts, '2026-12-05 10:01:00'::timestamp), \
                     dateadd(hour, 2, ts), date_part('minute', ts), extract(hour from ts) \
                     from clicks limit 2",
        );
        assert_eq!(
            names(&out),
            ["datediff", "dateadd", "date_part", "date_part"]
        );
        assert_eq!(
            text(&out),
            [
                "1|2026-12-05 12:00:01.000|0.0|10",
                "1|2026-12-05 12:00:59.000|0.0|10"
            ]
        );
        let out = q(
            "select getdate(), sysdate, datediff(month, '2025-11-30'::timestamp, ts), \
                     datediff(year, '2025-11-30'::timestamp, ts) from clicks limit 1",
        );
        assert_eq!(
            text(&out),
            ["2026-12-05 10:00:00.000|2026-12-05 10:00:00.123|13|1"]
        );
        let out =
            q("select nvl(user_id, 0), len(page), upper(page) from clicks where user_id is null");
        assert_eq!(text(&out), ["0|5|/HOME"]);
        assert_eq!(names(&out), ["nvl", "len", "upper"]);
    }

    #[test]
    fn string_literals_compare_as_the_other_side_s_type() {
        let n = |sql: &str| q(sql).rows.len();
        assert_eq!(
            n("select * from clicks where ts < '2026-12-05 10:01:00'"),
            2
        );
        assert_eq!(n("select * from clicks where ts between '2026-12-05 10:00:30' and '2026-12-05 11:15:00'"), 3);
        assert_eq!(
            n("select * from clicks where '2026-12-05 11:00' <= date_trunc('hour', ts)"),
            2
        );
        assert_eq!(n("select * from clicks where price > '10.5'"), 2);
        assert_eq!(n("select * from clicks where user_id in ('1', 2)"), 4);
        let e = err("select * from clicks where ts > 'yesterday'");
        assert_eq!(
            e.message,
            "invalid input syntax for type timestamp: \"yesterday\""
        );
        assert_eq!(e.column, 28);
    }

    #[test]
    fn review_cases_answer_as_redshift_does() {
        let one = |sql: &str| text(&q(sql));
        // Overflow and NaN are errors, never a panic or a silent NaN.
        for sql in [
            "select mod(-9223372036854775807 - 1, -1)",
            "select (-9223372036854775807 - 1) / -1",
            "select sqrt(-1.0)",
        ] {
            assert!(run_query(sql, &db(), NOW).is_err(), "{sql}");
        }
        // Dates and strings where the date functions take timestamps.
        assert_eq!(
            one(
                "select datediff(day, '2026-12-01', ts), date_trunc('day', current_date), \
                 current_date - 7, current_date + 1 from clicks limit 1"
            ),
            ["4|2026-12-05 00:00:00.000|2026-11-28|2026-12-06"]
        );
        assert_eq!(
            one("select dateadd(day, 1, '2026-12-05') as d"),
            ["2026-12-06 00:00:00.000"]
        );
        // String literals read as the other side's type, wherever it is.
        assert_eq!(
            one("select page from clicks group by page having max(ts) > '2026-12-05 11:00' order by 1"),
            ["/checkout", "/home"]
        );
        assert_eq!(
            one("select count(*) from clicks where extract(hour from ts) in ('10')"),
            ["3"]
        );
        assert_eq!(
            one("select case user_id when '1' then 'one' else 'other' end from clicks limit 2"),
            ["one", "other"]
        );
        // Quoted names fold to lower case, as Redshift folds them.
        let out = q("select \"PAGE\" as \"Total\" from \"CLICKS\" limit 1");
        assert_eq!(names(&out), ["total"]);
        // Casts round to integers; booleans read t/f.
        assert_eq!(
            one("select price::int, cast(1.5 as int), '42'::int, 't'::boolean from clicks limit 1"),
            ["11|2|42|TRUE"]
        );
        assert!(run_query("select 'maybe'::boolean", &db(), NOW).is_err());
        assert_eq!(
            one("select round(1234.5, -2), round(1250, -2)"),
            ["1200|1300"]
        );
        // ORDER BY the same expression as a DISTINCT output column.
        assert_eq!(
            one("select distinct upper(page) from clicks order by upper(page)"),
            ["/CART", "/CHECKOUT", "/HOME"]
        );
        let out = q(
            "select floor(price), extract(hour from ts), cast(1.5 as int), \
                     substring(page from 2), sum(user_id) from clicks group by 1, 2, 3, 4",
        );
        assert_eq!(
            names(&out),
            ["floor", "date_part", "int4", "substring", "sum"]
        );
        assert_eq!(out.columns[4].1, Some(SqlType::BigInt));
    }

    #[test]
    fn select_without_from_and_case() {
        let out = q("select 1 + 1, 'a' || 'b' as ab");
        assert_eq!(names(&out), ["?column?", "ab"]);
        assert_eq!(text(&out), ["2|ab"]);
        let out = q(
            "select case when price > 100 then 'big' else 'small' end, count(*) \
                     from clicks group by 1 order by 1",
        );
        assert_eq!(names(&out), ["case", "count"]);
        assert_eq!(text(&out), ["big|1", "small|4"]);
    }

    #[test]
    fn errors_name_the_problem_and_where() {
        let e = err("select nope from clicks");
        assert_eq!((e.line, e.column), (1, 8));
        assert!(e.message.contains("nope"), "{e}");
        let e = err("select * from views");
        assert_eq!(e.message, "relation \"views\" does not exist");
        assert_eq!((e.line, e.column), (1, 15));
        for (sql, says) in [
            (
                "select * from clicks a join clicks b on a.page = b.page",
                "Joins are not supported",
            ),
            ("select rowtime from clicks", "rowtime"),
            (
                "select step(ts, 60) from clicks",
                "does not exist in the playground's Redshift",
            ),
            ("select count(*) over () from clicks", "Window functions"),
            (
                "select page from clicks where count(*) > 1",
                "not allowed in WHERE",
            ),
            ("select first_value(page) from clicks", "window function"),
            ("select floor(ts to minute) from clicks", "DATE_TRUNC"),
            ("select page, count(*) from clicks", "GROUP BY"),
            (
                "select * from clicks where page in (select page from clicks)",
                "Subqueries",
            ),
            ("select 1; select 2", "One statement"),
            (
                "select distinct page from clicks order by ts",
                "must appear in select list",
            ),
            ("select page from clicks order by 3", "position 3"),
            ("select date_trunc('week', ts) from clicks", "week"),
        ] {
            let e = err(sql);
            assert!(e.message.contains(says), "{sql}: {e}");
        }
        let e = err("select user_id / 0 from clicks");
        assert_eq!(e.line, 0, "a runtime error has no position: {e}");
        let e = err("select page from clicks where");
        assert!(e.message.starts_with("Syntax error"), "{e}");
        assert!(e.line >= 1);
    }
}
