//! Incremental operators. Each takes one event at a time (a row, or a
//! rowtime bound: "no later row will be earlier than t") and pushes what it
//! can emit now. Windows close on rows and bounds alone, never on a clock,
//! so the same input gives the same output at any speed.

use std::collections::{BTreeMap, VecDeque};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;

use crate::agg::{Acc, AggSpec};
use crate::expr::{truth, Expr, Row, RowError};
use crate::value::{sort_cmp, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Row(Row),
    /// Rows that follow have a time (ROWTIME, or the event time of a
    /// watermarked table) at or after this.
    Bound(i64),
}

/// A row that failed, and why.
pub type Failure = (RowError, Row);

pub trait Operator {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>);
}

/// Runs events through a chain of operators.
#[derive(Default)]
pub struct Pipeline {
    pub ops: Vec<Box<dyn Operator>>,
}

impl Pipeline {
    pub fn run(&mut self, input: Vec<Event>, errors: &mut Vec<Failure>) -> Vec<Event> {
        let mut cur = input;
        for op in &mut self.ops {
            let mut next = Vec::with_capacity(cur.len());
            for ev in cur {
                op.process(ev, &mut next, errors);
            }
            cur = next;
        }
        cur
    }
}

pub struct Filter(pub Expr);

impl Operator for Filter {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => match self.0.eval(&r) {
                Ok(v) if truth(&v) == Some(true) => out.push(Event::Row(r)),
                Ok(_) => {}
                Err(e) => errors.push((e, r)),
            },
            b => out.push(b),
        }
    }
}

pub struct Project(pub Vec<Expr>);

pub fn project(exprs: &[Expr], r: &Row) -> Result<Row, RowError> {
    let mut values = Vec::with_capacity(exprs.len());
    for e in exprs {
        values.push(e.eval(r)?);
    }
    Ok(Row {
        rowtime: r.rowtime,
        values,
    })
}

impl Operator for Project {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => match project(&self.0, &r) {
                Ok(row) => out.push(Event::Row(row)),
                Err(e) => errors.push((e, r)),
            },
            b => out.push(b),
        }
    }
}

/// A join with a reference table (a fixed set of rows): each stream row is
/// matched against every table row; LEFT keeps unmatched rows with NULLs.
pub struct Lookup {
    pub table: Vec<Vec<Value>>,
    pub width: usize,
    pub on: Option<Expr>,
    pub left: bool,
}

impl Operator for Lookup {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => join_row(
                r,
                self.table.iter().map(Vec::as_slice),
                self.on.as_ref(),
                self.left,
                self.width,
                out,
                errors,
            ),
            b => out.push(b),
        }
    }
}

/// Joins one row with candidate rows: the row's values then a candidate's,
/// kept where `on` holds; LEFT keeps an unmatched row with `width` NULLs.
fn join_row<'a>(
    r: Row,
    candidates: impl Iterator<Item = &'a [Value]>,
    on: Option<&Expr>,
    left: bool,
    width: usize,
    out: &mut Vec<Event>,
    errors: &mut Vec<Failure>,
) {
    let mut matched = false;
    for c in candidates {
        let mut values = r.values.clone();
        values.extend(c.iter().cloned());
        let joined = Row {
            rowtime: r.rowtime,
            values,
        };
        let hit = match on {
            None => true,
            Some(on) => match on.eval(&joined) {
                Ok(v) => truth(&v) == Some(true),
                Err(e) => return errors.push((e, r)),
            },
        };
        if hit {
            matched = true;
            out.push(Event::Row(joined));
        }
    }
    if !matched && left {
        let mut values = r.values;
        values.extend(std::iter::repeat_n(Value::Null, width));
        out.push(Event::Row(Row {
            rowtime: r.rowtime,
            values,
        }));
    }
}

/// What an aggregate query does with each finished group: the groups'
/// accumulators, then HAVING and the SELECT list over (keys ++ aggregates).
pub struct Finish {
    pub aggs: Vec<AggSpec>,
    pub having: Option<Expr>,
    pub select: Vec<Expr>,
}

impl Finish {
    fn new_accs(&self) -> Vec<Acc> {
        self.aggs.iter().map(Acc::new).collect()
    }

    fn add(&self, accs: &mut [Acc], r: &Row) -> Result<(), RowError> {
        for (acc, spec) in accs.iter_mut().zip(&self.aggs) {
            acc.add(spec, r)?;
        }
        Ok(())
    }

    fn emit(
        &self,
        rowtime: i64,
        keys: Vec<Value>,
        accs: &[Acc],
        out: &mut Vec<Event>,
        errors: &mut Vec<Failure>,
    ) {
        let mut values = keys;
        values.extend(accs.iter().map(Acc::result));
        let row = Row { rowtime, values };
        if let Some(h) = &self.having {
            match h.eval(&row) {
                Ok(v) if truth(&v) == Some(true) => {}
                Ok(_) => return,
                Err(e) => return errors.push((e, row)),
            }
        }
        match project(&self.select, &row) {
            Ok(r) => out.push(Event::Row(r)),
            Err(e) => errors.push((e, row)),
        }
    }
}

fn sort_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| sort_cmp(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// KDA's streaming GROUP BY: the keys that depend on ROWTIME alone (STEP,
/// FLOOR TO, the interval idiom) define the window; a row or bound whose
/// window key differs closes the open window, whose groups are emitted in
/// key order with ROWTIME = the window's end. A key declared
/// `MONOTONIC(expr)` is a window key too, but only a row can show that it
/// changed: a window of monotonic keys alone closes at the next row with
/// another value, and is emitted with that row's ROWTIME.
pub struct Tumbling {
    pub keys: Vec<Expr>,
    /// Positions in `keys` of the window keys: ROWTIME-only, then
    /// MONOTONIC ones.
    pub window_keys: Vec<usize>,
    /// How many of `window_keys` (its first ones) are ROWTIME-only.
    pub time_keys: usize,
    pub finish: Finish,
    /// The open window's key, and its first row's ROWTIME.
    open: Option<(Vec<Value>, i64)>,
    groups: HashMap<Vec<Value>, Vec<Acc>>,
    last: i64,
    scratch: Vec<Value>,
}

impl Tumbling {
    pub fn new(
        keys: Vec<Expr>,
        window_keys: Vec<usize>,
        time_keys: usize,
        finish: Finish,
    ) -> Tumbling {
        Tumbling {
            keys,
            window_keys,
            time_keys,
            finish,
            open: None,
            groups: HashMap::default(),
            last: i64::MIN,
            scratch: Vec::new(),
        }
    }

    /// Whether a row's keys fall in the open window.
    fn in_open_window(&self, keys: &[Value]) -> bool {
        match &self.open {
            Some((wk, _)) => self.window_keys.iter().zip(wk).all(|(&i, v)| keys[i] == *v),
            None => false,
        }
    }

    fn window_key(&self, rowtime: i64) -> Result<Vec<Value>, RowError> {
        let probe = Row {
            rowtime,
            values: Vec::new(),
        };
        self.window_keys[..self.time_keys]
            .iter()
            .map(|&i| self.keys[i].eval(&probe))
            .collect()
    }

    /// The first instant after `from` (within `(from, to]`) whose window key
    /// differs from `key`: the end of the window. Keys are monotonic in
    /// ROWTIME, so a binary search finds it.
    fn window_end(&self, key: &[Value], from: i64, to: i64) -> i64 {
        let (mut lo, mut hi) = (from, to);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match self.window_key(mid) {
                Ok(k) if k == key => lo = mid,
                _ => hi = mid,
            }
        }
        hi
    }

    fn close(&mut self, trigger: i64, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        let Some((key, _)) = self.open.take() else {
            return;
        };
        let end = if self.time_keys == 0 {
            trigger
        } else {
            self.window_end(&key[..self.time_keys], self.last, trigger)
        };
        let mut groups: Vec<(Vec<Value>, Vec<Acc>)> = self.groups.drain().collect();
        groups.sort_by(|a, b| sort_keys(&a.0, &b.0));
        for (k, accs) in groups {
            self.finish.emit(end, k, &accs, out, errors);
        }
    }
}

impl Operator for Tumbling {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                // Keys are evaluated into a reused buffer; a group's own
                // copy is made only when the group is new.
                let mut keys = std::mem::take(&mut self.scratch);
                keys.clear();
                for k in &self.keys {
                    match k.eval(&r) {
                        Ok(v) => keys.push(v),
                        Err(e) => {
                            self.scratch = keys;
                            return errors.push((e, r));
                        }
                    }
                }
                if self.open.is_some() && !self.in_open_window(&keys) {
                    self.close(r.rowtime, out, errors);
                }
                if self.open.is_none() {
                    let wk = self.window_keys.iter().map(|&i| keys[i].clone()).collect();
                    self.open = Some((wk, r.rowtime));
                }
                self.last = self.last.max(r.rowtime);
                let accs = match self.groups.get_mut(keys.as_slice()) {
                    Some(a) => a,
                    None => self
                        .groups
                        .entry(keys.clone())
                        .or_insert_with(|| self.finish.new_accs()),
                };
                if let Err(e) = self.finish.add(accs, &r) {
                    errors.push((e, r));
                }
                self.scratch = keys;
            }
            Event::Bound(t) => {
                if let Some((k, _)) = &self.open {
                    if self.time_keys > 0
                        && t > self.last
                        && self
                            .window_key(t)
                            .is_ok_and(|wk| wk[..] != k[..self.time_keys])
                    {
                        self.close(t, out, errors);
                    }
                }
                out.push(Event::Bound(t));
            }
        }
    }
}

/// KDA's stagger window: one window per partition key, opened by its first
/// row and closed RANGE later; emitted with ROWTIME = open + range.
pub struct Stagger {
    pub keys: Vec<Expr>,
    pub range: i64,
    pub finish: Finish,
    open: HashMap<Vec<Value>, (i64, u64, Vec<Acc>)>,
    closing: BTreeMap<(i64, u64), Vec<Value>>,
    seq: u64,
}

impl Stagger {
    pub fn new(keys: Vec<Expr>, range: i64, finish: Finish) -> Stagger {
        Stagger {
            keys,
            range,
            finish,
            open: HashMap::default(),
            closing: BTreeMap::new(),
            seq: 0,
        }
    }

    fn close_until(&mut self, t: i64, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        while let Some((&(close, seq), _)) = self.closing.first_key_value() {
            if close > t {
                break;
            }
            let key = self.closing.remove(&(close, seq)).unwrap_or_default();
            if let Some((_, _, accs)) = self.open.remove(&key) {
                self.finish.emit(close, key, &accs, out, errors);
            }
        }
    }
}

impl Operator for Stagger {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                self.close_until(r.rowtime, out, errors);
                let keys: Result<Vec<Value>, RowError> =
                    self.keys.iter().map(|k| k.eval(&r)).collect();
                let keys = match keys {
                    Ok(k) => k,
                    Err(e) => return errors.push((e, r)),
                };
                if !self.open.contains_key(&keys) {
                    self.seq += 1;
                    let close = r.rowtime.saturating_add(self.range);
                    self.closing.insert((close, self.seq), keys.clone());
                    self.open
                        .insert(keys.clone(), (r.rowtime, self.seq, self.finish.new_accs()));
                }
                if let Some((_, _, accs)) = self.open.get_mut(&keys) {
                    if let Err(e) = self.finish.add(accs, &r) {
                        errors.push((e, r));
                    }
                }
            }
            Event::Bound(t) => {
                self.close_until(t, out, errors);
                out.push(Event::Bound(t));
            }
        }
    }
}

/// How a sliding window bounds its rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// Rows whose time is within this many ms of the current row's,
    /// inclusive (KDA keeps the row exactly one interval old).
    Range(i64),
    /// This many rows before the current one.
    Rows(usize),
}

/// One sliding window definition.
pub struct SlidingWindow {
    pub partition: Vec<Expr>,
    pub frame: Frame,
    /// The time the RANGE frame measures: ROWTIME or an ORDER BY column.
    pub time: Expr,
    state: HashMap<Vec<Value>, VecDeque<(i64, Row)>>,
}

impl SlidingWindow {
    pub fn new(partition: Vec<Expr>, frame: Frame, time: Expr) -> SlidingWindow {
        SlidingWindow {
            partition,
            frame,
            time,
            state: HashMap::default(),
        }
    }
}

/// An analytic function: an aggregate over the window's rows, or LAG.
#[derive(Clone, Debug, PartialEq)]
pub enum Analytic {
    Agg(AggSpec),
    /// The value `offset` rows before the current one in its window, or
    /// `default` (NULL without one).
    Lag {
        arg: Expr,
        offset: usize,
        default: Option<Expr>,
    },
    /// `NTH_VALUE(x, n) [FROM FIRST | FROM LAST] [RESPECT | IGNORE NULLS]`:
    /// the window's nth value counted from its earliest row (or from its
    /// latest, the current one), NULL when the window is shorter.
    Nth {
        arg: Expr,
        n: usize,
        from_last: bool,
        ignore_nulls: bool,
    },
    /// `EXP_AVG(x, half-life)`: the window's values weighted by
    /// 2^(-age / half-life), age measured back from the current row.
    ExpAvg {
        arg: Expr,
        half_life_ms: i64,
    },
}

/// Analytic functions (`agg OVER w`): one output row per input row, the
/// input's columns followed by each function's value over its window.
pub struct Sliding {
    pub windows: Vec<SlidingWindow>,
    pub calls: Vec<(Analytic, usize)>,
}

impl Sliding {
    fn compute(&mut self, r: &Row) -> Result<Vec<Value>, RowError> {
        // Each window takes the row; then each call reads its window's
        // rows in place (no copy of the window per row).
        let mut keys: Vec<Vec<Value>> = Vec::with_capacity(self.windows.len());
        for w in &mut self.windows {
            let mut key = Vec::with_capacity(w.partition.len());
            for p in &w.partition {
                key.push(p.eval(r)?);
            }
            let t = match w.time.eval(r)? {
                Value::Timestamp(t) => t,
                v => v.as_i64().unwrap_or(r.rowtime),
            };
            let rows = w.state.entry(key.clone()).or_default();
            rows.push_back((t, r.clone()));
            match w.frame {
                Frame::Range(ms) => {
                    while rows.front().is_some_and(|(ft, _)| *ft < t - ms) {
                        rows.pop_front();
                    }
                }
                Frame::Rows(n) => {
                    while rows.len() > n.saturating_add(1) {
                        rows.pop_front();
                    }
                }
            }
            keys.push(key);
        }
        let mut values = Vec::with_capacity(self.calls.len());
        for (call, w) in &self.calls {
            let entries: Vec<&(i64, Row)> = self.windows[*w]
                .state
                .get(&keys[*w])
                .map(|d| d.iter().collect())
                .unwrap_or_default();
            let rows: Vec<&Row> = entries.iter().map(|(_, r)| r).collect();
            match call {
                Analytic::Agg(spec) => {
                    let mut acc = Acc::new(spec);
                    for row in rows {
                        acc.add(spec, row)?;
                    }
                    values.push(acc.result());
                }
                Analytic::Lag {
                    arg,
                    offset,
                    default,
                } => {
                    // The current row is the window's last.
                    let v = match rows.len().checked_sub(1 + offset) {
                        Some(i) => arg.eval(rows[i])?,
                        None => match default {
                            Some(d) => d.eval(r)?,
                            None => Value::Null,
                        },
                    };
                    values.push(v);
                }
                Analytic::Nth {
                    arg,
                    n,
                    from_last,
                    ignore_nulls,
                } => {
                    let mut seen = 0;
                    let mut found = Value::Null;
                    let mut look = |row: &Row| -> Result<bool, RowError> {
                        let v = arg.eval(row)?;
                        if *ignore_nulls && v.is_null() {
                            return Ok(false);
                        }
                        seen += 1;
                        if seen == *n {
                            found = v;
                            return Ok(true);
                        }
                        Ok(false)
                    };
                    if *from_last {
                        for row in rows.iter().rev() {
                            if look(row)? {
                                break;
                            }
                        }
                    } else {
                        for row in &rows {
                            if look(row)? {
                                break;
                            }
                        }
                    }
                    values.push(found);
                }
                Analytic::ExpAvg { arg, half_life_ms } => {
                    let now = entries.last().map_or(r.rowtime, |(t, _)| *t);
                    let (mut sum, mut weights) = (0.0, 0.0);
                    for (t, row) in &entries {
                        let v = arg.eval(row)?;
                        if v.is_null() {
                            continue;
                        }
                        let x = v.as_f64().ok_or_else(|| {
                            RowError::new(
                                "TYPE_ERROR",
                                format!("EXP_AVG needs numbers, not {}", v.type_name()),
                            )
                        })?;
                        let w = (-((now - t) as f64) / *half_life_ms as f64).exp2();
                        sum += w * x;
                        weights += w;
                    }
                    values.push(if weights > 0.0 {
                        Value::Float(sum / weights)
                    } else {
                        Value::Null
                    });
                }
            }
        }
        Ok(values)
    }
}

impl Operator for Sliding {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => match self.compute(&r) {
                Ok(extra) => {
                    let mut values = r.values;
                    values.extend(extra);
                    out.push(Event::Row(Row {
                        rowtime: r.rowtime,
                        values,
                    }));
                }
                Err(e) => errors.push((e, r)),
            },
            b => out.push(b),
        }
    }
}

/// Flink's window table functions: each row is copied into every window it
/// belongs to, with `window_start`, `window_end` and `window_time` added.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowKind {
    Tumble { size: i64, offset: i64 },
    Hop { slide: i64, size: i64, offset: i64 },
    Cumulate { step: i64, size: i64, offset: i64 },
}

pub struct WindowAssign {
    pub kind: WindowKind,
    pub time: Expr,
    /// Rows at or before the last bound are late: their windows have fired.
    bound: i64,
}

impl WindowAssign {
    pub fn new(kind: WindowKind, time: Expr) -> WindowAssign {
        WindowAssign {
            kind,
            time,
            bound: i64::MIN,
        }
    }

    fn windows(&self, t: i64) -> Vec<(i64, i64)> {
        let start_of = |t: i64, size: i64, offset: i64| t - (t - offset).rem_euclid(size);
        match self.kind {
            WindowKind::Tumble { size, offset } => {
                let s = start_of(t, size, offset);
                vec![(s, s + size)]
            }
            WindowKind::Hop {
                slide,
                size,
                offset,
            } => {
                let last = start_of(t, slide, offset);
                let mut out = Vec::new();
                let mut s = last;
                while s > t - size {
                    out.push((s, s + size));
                    s -= slide;
                }
                out.reverse();
                out
            }
            WindowKind::Cumulate { step, size, offset } => {
                let s = start_of(t, size, offset);
                let mut out = Vec::new();
                let mut e = s + step;
                while e <= s + size {
                    if t < e {
                        out.push((s, e));
                    }
                    e += step;
                }
                out
            }
        }
    }
}

impl Operator for WindowAssign {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                let t = match self.time.eval(&r) {
                    Ok(Value::Timestamp(t)) => t,
                    Ok(Value::Null) => return,
                    Ok(v) => {
                        return errors.push((
                            RowError::new(
                                "TYPE_ERROR",
                                format!(
                                    "a window's time column must be a TIMESTAMP, not {}",
                                    v.type_name()
                                ),
                            ),
                            r,
                        ))
                    }
                    Err(e) => return errors.push((e, r)),
                };
                for (s, e) in self.windows(t) {
                    // A window the watermark has passed has fired: Flink
                    // drops late rows rather than fire it twice.
                    if e <= self.bound {
                        continue;
                    }
                    let mut values = r.values.clone();
                    values.extend([
                        Value::Timestamp(s),
                        Value::Timestamp(e),
                        Value::Timestamp(e - 1),
                    ]);
                    out.push(Event::Row(Row {
                        rowtime: r.rowtime,
                        values,
                    }));
                }
            }
            Event::Bound(t) => {
                self.bound = self.bound.max(t);
                out.push(Event::Bound(t));
            }
        }
    }
}

/// Flink's window aggregation: groups keyed by (window, keys) fire when the
/// watermark passes the window's end, in (end, keys) order.
pub struct WindowAgg {
    pub keys: Vec<Expr>,
    /// The position of `window_end` in the input row.
    pub end_col: usize,
    pub finish: Finish,
    windows: BTreeMap<i64, HashMap<Vec<Value>, Vec<Acc>>>,
    last_rowtime: i64,
}

impl WindowAgg {
    pub fn new(keys: Vec<Expr>, end_col: usize, finish: Finish) -> WindowAgg {
        WindowAgg {
            keys,
            end_col,
            finish,
            windows: BTreeMap::new(),
            last_rowtime: i64::MIN,
        }
    }
}

impl Operator for WindowAgg {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                self.last_rowtime = self.last_rowtime.max(r.rowtime);
                let Some(Value::Timestamp(end)) = r.values.get(self.end_col).cloned() else {
                    return;
                };
                let keys: Result<Vec<Value>, RowError> =
                    self.keys.iter().map(|k| k.eval(&r)).collect();
                let keys = match keys {
                    Ok(k) => k,
                    Err(e) => return errors.push((e, r)),
                };
                let group = self.windows.entry(end).or_default();
                let accs = group.entry(keys).or_insert_with(|| self.finish.new_accs());
                if let Err(e) = self.finish.add(accs, &r) {
                    errors.push((e, r));
                }
            }
            Event::Bound(t) => {
                while let Some(entry) = self.windows.first_entry() {
                    if *entry.key() > t {
                        break;
                    }
                    let mut groups: Vec<(Vec<Value>, Vec<Acc>)> =
                        entry.remove().into_iter().collect();
                    groups.sort_by(|a, b| sort_keys(&a.0, &b.0));
                    for (k, accs) in groups {
                        self.finish
                            .emit(self.last_rowtime.max(0), k, &accs, out, errors);
                    }
                }
                out.push(Event::Bound(t));
            }
        }
    }
}

/// KDA's `TOP_K_ITEMS_TUMBLING` and `COUNT_DISTINCT_ITEMS_TUMBLING`: per
/// tumbling ROWTIME window of `window` ms, the K most frequent values of
/// one column (ties by value), or the number of distinct values. Exact.
pub struct ItemsTumbling {
    pub column: usize,
    pub window: i64,
    /// `Some(k)`: top-K rows (value, count); `None`: one distinct count.
    pub top_k: Option<usize>,
    open: Option<i64>,
    counts: HashMap<Value, i64>,
}

impl ItemsTumbling {
    pub fn new(column: usize, window: i64, top_k: Option<usize>) -> ItemsTumbling {
        ItemsTumbling {
            column,
            window,
            top_k,
            open: None,
            counts: HashMap::default(),
        }
    }

    fn close(&mut self, out: &mut Vec<Event>) {
        let Some(start) = self.open.take() else {
            return;
        };
        let end = start + self.window;
        let counts = std::mem::take(&mut self.counts);
        match self.top_k {
            Some(k) => {
                let mut items: Vec<(Value, i64)> = counts.into_iter().collect();
                items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| sort_cmp(&a.0, &b.0)));
                for (v, n) in items.into_iter().take(k) {
                    out.push(Event::Row(Row {
                        rowtime: end,
                        values: vec![v, Value::Int(n)],
                    }));
                }
            }
            None => out.push(Event::Row(Row {
                rowtime: end,
                values: vec![Value::Int(counts.len() as i64)],
            })),
        }
    }
}

impl Operator for ItemsTumbling {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, _errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                let start = r.rowtime.div_euclid(self.window) * self.window;
                if self.open.is_some_and(|s| s != start) {
                    self.close(out);
                }
                self.open = Some(start);
                let v = r.values.get(self.column).cloned().unwrap_or(Value::Null);
                if !v.is_null() {
                    *self.counts.entry(v).or_default() += 1;
                }
            }
            Event::Bound(t) => {
                if self.open.is_some_and(|s| t >= s + self.window) {
                    self.close(out);
                }
                out.push(Event::Bound(t));
            }
        }
    }
}

/// KDA's streaming ORDER BY: rows are sorted within each value of the
/// first (monotonic) key and released when that value changes.
pub struct SortWithin {
    pub keys: Vec<(Expr, bool)>,
    bucket: Option<Value>,
    rows: Vec<(Vec<Value>, Row)>,
}

impl SortWithin {
    pub fn new(keys: Vec<(Expr, bool)>) -> SortWithin {
        SortWithin {
            keys,
            bucket: None,
            rows: Vec::new(),
        }
    }

    fn flush(&mut self, out: &mut Vec<Event>) {
        let keys = &self.keys;
        self.rows.sort_by(|a, b| {
            for (i, (_, desc)) in keys.iter().enumerate() {
                let o = sort_cmp(&a.0[i], &b.0[i]);
                let o = if *desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        let last = self.rows.iter().map(|(_, r)| r.rowtime).max().unwrap_or(0);
        for (_, mut r) in self.rows.drain(..) {
            // Released together, at the bucket's last ROWTIME, so the
            // stream stays in ROWTIME order.
            r.rowtime = last;
            out.push(Event::Row(r));
        }
        self.bucket = None;
    }
}

impl Operator for SortWithin {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                let keys: Result<Vec<Value>, RowError> =
                    self.keys.iter().map(|(k, _)| k.eval(&r)).collect();
                let keys = match keys {
                    Ok(k) => k,
                    Err(e) => return errors.push((e, r)),
                };
                if self.bucket.as_ref().is_some_and(|b| *b != keys[0]) {
                    self.flush(out);
                }
                self.bucket = Some(keys[0].clone());
                self.rows.push((keys, r));
            }
            Event::Bound(t) => {
                if let Some(b) = &self.bucket {
                    let probe = Row {
                        rowtime: t,
                        values: Vec::new(),
                    };
                    if self.keys[0].0.eval(&probe).is_ok_and(|k| k != *b) {
                        self.flush(out);
                    }
                }
                out.push(Event::Bound(t));
            }
        }
    }
}

/// One open session of `SessionAssign`.
struct Session {
    start: i64,
    /// The last row's time plus the gap.
    end: i64,
    rows: Vec<Row>,
}

/// Flink's `SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), gap)`: rows of
/// a key closer than `gap` share a session; when the watermark passes a
/// session's end its rows go on with `window_start`, `window_end` and
/// `window_time` added (a later aggregate groups them). A row whose session
/// would already have closed is late and dropped, as Flink drops it.
pub struct SessionAssign {
    pub keys: Vec<Expr>,
    pub time: Expr,
    pub gap: i64,
    sessions: BTreeMap<Vec<SortKey>, Vec<Session>>,
    bound: i64,
    last_rowtime: i64,
}

/// A key ordered by SQL's sort order, so sessions close in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortKey(pub Value);

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        sort_cmp(&self.0, &other.0)
    }
}

impl SessionAssign {
    pub fn new(keys: Vec<Expr>, time: Expr, gap: i64) -> SessionAssign {
        SessionAssign {
            keys,
            time,
            gap,
            sessions: BTreeMap::new(),
            bound: i64::MIN,
            last_rowtime: i64::MIN,
        }
    }

    fn add(&mut self, r: Row) -> Result<(), (RowError, Row)> {
        let t = match self.time.eval(&r) {
            Ok(Value::Timestamp(t)) => t,
            Ok(Value::Null) => return Ok(()),
            Ok(v) => {
                let e = RowError::new(
                    "TYPE_ERROR",
                    format!(
                        "a window's time column must be a TIMESTAMP, not {}",
                        v.type_name()
                    ),
                );
                return Err((e, r));
            }
            Err(e) => return Err((e, r)),
        };
        if t.saturating_add(self.gap) <= self.bound {
            return Ok(());
        }
        let mut key = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            match k.eval(&r) {
                Ok(v) => key.push(SortKey(v)),
                Err(e) => return Err((e, r)),
            }
        }
        let sessions = self.sessions.entry(key).or_default();
        let (mut start, mut end) = (t, t.saturating_add(self.gap));
        let mut rows = Vec::new();
        // Every session this row touches merges into one.
        let mut i = 0;
        while i < sessions.len() {
            if sessions[i].start < end && t < sessions[i].end {
                let s = sessions.remove(i);
                start = start.min(s.start);
                end = end.max(s.end);
                rows.extend(s.rows);
            } else {
                i += 1;
            }
        }
        rows.push(r);
        sessions.push(Session { start, end, rows });
        Ok(())
    }
}

impl Operator for SessionAssign {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                self.last_rowtime = self.last_rowtime.max(r.rowtime);
                if let Err(f) = self.add(r) {
                    errors.push(f);
                }
            }
            Event::Bound(t) => {
                self.bound = self.bound.max(t);
                let mut closed: Vec<(i64, Vec<SortKey>, Session)> = Vec::new();
                for (key, sessions) in self.sessions.iter_mut() {
                    let mut i = 0;
                    while i < sessions.len() {
                        if sessions[i].end <= t {
                            closed.push((sessions[i].end, key.clone(), sessions.remove(i)));
                        } else {
                            i += 1;
                        }
                    }
                }
                self.sessions.retain(|_, s| !s.is_empty());
                closed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                for (_, _, s) in closed {
                    for mut r in s.rows {
                        // Emitted now: at the latest ROWTIME seen.
                        r.rowtime = self.last_rowtime;
                        r.values.extend([
                            Value::Timestamp(s.start),
                            Value::Timestamp(s.end),
                            Value::Timestamp(s.end - 1),
                        ]);
                        out.push(Event::Row(r));
                    }
                }
                out.push(Event::Bound(t));
            }
        }
    }
}

/// The windowed side of a KDA stream join: the right stream's recent rows,
/// filled by a side pump that reads that stream.
pub struct JoinWindow {
    pub frame: Frame,
    rows: VecDeque<Row>,
}

impl JoinWindow {
    pub fn new(frame: Frame) -> std::rc::Rc<std::cell::RefCell<JoinWindow>> {
        std::rc::Rc::new(std::cell::RefCell::new(JoinWindow {
            frame,
            rows: VecDeque::new(),
        }))
    }
}

/// Fills a `JoinWindow` from the right stream. Rows older than the window
/// reaches go: every later left row is at least as late as the newest
/// right row, so none of them could match.
pub struct JoinWindowFeed(pub std::rc::Rc<std::cell::RefCell<JoinWindow>>);

impl Operator for JoinWindowFeed {
    fn process(&mut self, ev: Event, _out: &mut Vec<Event>, _errors: &mut Vec<Failure>) {
        if let Event::Row(r) = ev {
            let mut w = self.0.borrow_mut();
            let t = r.rowtime;
            w.rows.push_back(r);
            match w.frame {
                Frame::Range(ms) => {
                    while w
                        .rows
                        .front()
                        .is_some_and(|f| f.rowtime < t.saturating_sub(ms))
                    {
                        w.rows.pop_front();
                    }
                }
                Frame::Rows(n) => {
                    while w.rows.len() > n.saturating_add(1) {
                        w.rows.pop_front();
                    }
                }
            }
        }
    }
}

/// `left JOIN right OVER (window) ON ...`: each left row meets the right
/// rows in the window ending at its ROWTIME (RANGE: those at most the
/// interval older, inclusive; ROWS n: the last n + 1). Rows come out when
/// a left row arrives; LEFT keeps a left row without a match, with NULLs.
pub struct WindowJoin {
    pub window: std::rc::Rc<std::cell::RefCell<JoinWindow>>,
    pub width: usize,
    pub on: Option<Expr>,
    pub left: bool,
}

impl Operator for WindowJoin {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, errors: &mut Vec<Failure>) {
        let r = match ev {
            Event::Row(r) => r,
            b => return out.push(b),
        };
        let w = self.window.borrow();
        let from = match w.frame {
            Frame::Range(ms) => r.rowtime.saturating_sub(ms),
            Frame::Rows(_) => i64::MIN,
        };
        let until = r.rowtime;
        let candidates = w
            .rows
            .iter()
            .filter(|x| x.rowtime >= from && x.rowtime <= until)
            .map(|x| x.values.as_slice());
        join_row(
            r,
            candidates,
            self.on.as_ref(),
            self.left,
            self.width,
            out,
            errors,
        );
    }
}

/// Uniform in (0, 1), from the project's seeded generator.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// One tree's sample: points kept by time-decayed reservoir sampling
/// (the smallest keys `ln(-ln u) - t / timeDecay` win, so newer points are
/// favoured as RCF's time decay says).
struct RcfTree {
    rng: ChaCha8Rng,
    sample: Vec<(f64, Vec<f64>)>,
}

/// KDA's `RANDOM_CUT_FOREST(cursor, numberOfTrees, subSampleSize,
/// timeDecay, shingleSize)`, in its spirit: each tree keeps a decayed
/// reservoir sample; a point's score is the average, over the trees, of its
/// collusive displacement in a random cut tree of the sample — at each cut
/// on its path (dimension chosen in proportion to its range, position
/// uniform) the points cut away divided by the points left with it, the
/// largest such ratio. An isolated point is cut away alone early: a large
/// score. A point is scored before the forest learns it; until the samples
/// hold 64 points (or the sample size) the score is 0.
pub struct RandomCutForest {
    pub columns: Vec<usize>,
    /// RANDOM_CUT_FOREST_WITH_EXPLANATION: the columns' names, and
    /// whether to give each column's direction.
    explain: Option<(Vec<String>, bool)>,
    sample_size: usize,
    time_decay: f64,
    shingle: usize,
    trees: Vec<RcfTree>,
    recent: VecDeque<Vec<f64>>,
    seen: u64,
    scratch: Vec<usize>,
}

impl RandomCutForest {
    pub fn new(
        columns: Vec<usize>,
        trees: usize,
        sample_size: usize,
        time_decay: f64,
        shingle: usize,
    ) -> RandomCutForest {
        RandomCutForest {
            columns,
            explain: None,
            sample_size,
            time_decay,
            shingle,
            trees: (0..trees)
                .map(|i| RcfTree {
                    rng: ChaCha8Rng::seed_from_u64(0x5EED_0000 + i as u64),
                    sample: Vec::new(),
                })
                .collect(),
            recent: VecDeque::new(),
            seen: 0,
            scratch: Vec::new(),
        }
    }

    /// With ANOMALY_EXPLANATION: the columns' names (as the output's
    /// keys), and whether to give directions.
    pub fn explained(mut self, names: Vec<String>, directional: bool) -> RandomCutForest {
        self.explain = Some((names, directional));
        self
    }

    /// `p`'s collusive displacement in a random cut tree of `sample`,
    /// walking only its own path; `idx` is scratch space (no allocation).
    /// Also the cut that gave it: its dimension, and whether `p` was on
    /// its high side.
    fn codisp(
        rng: &mut ChaCha8Rng,
        sample: &[(f64, Vec<f64>)],
        p: &[f64],
        idx: &mut Vec<usize>,
        lo: &mut [f64],
        hi: &mut [f64],
    ) -> (f64, usize, bool) {
        idx.clear();
        idx.extend(0..sample.len());
        let mut len = idx.len();
        let mut worst = (0.0f64, 0usize, false);
        let dims = p.len();
        lo.copy_from_slice(p);
        hi.copy_from_slice(p);
        for (_, x) in sample {
            for d in 0..dims {
                lo[d] = lo[d].min(x[d]);
                hi[d] = hi[d].max(x[d]);
            }
        }
        // Each cut keeps p's side; the walk ends when p is alone. The
        // partition also measures the kept side's bounding box.
        for _ in 0..64 {
            if len == 0 {
                break;
            }
            let total: f64 = (0..dims).map(|d| hi[d] - lo[d]).sum();
            if total.is_nan() || total <= 0.0 {
                break;
            }
            let mut r = unit(rng) * total;
            let mut dim = dims - 1;
            for d in 0..dims {
                let w = hi[d] - lo[d];
                if r < w {
                    dim = d;
                    break;
                }
                r -= w;
            }
            let cut = lo[dim] + unit(rng) * (hi[dim] - lo[dim]);
            let p_left = p[dim] <= cut;
            // Partition in place: p's side first.
            lo.copy_from_slice(p);
            hi.copy_from_slice(p);
            let mut j = 0;
            for k in 0..len {
                let x = &sample[idx[k]].1;
                if (x[dim] <= cut) == p_left {
                    for d in 0..dims {
                        lo[d] = lo[d].min(x[d]);
                        hi[d] = hi[d].max(x[d]);
                    }
                    idx.swap(j, k);
                    j += 1;
                }
            }
            let other = len - j;
            if other > 0 {
                let d = other as f64 / (j + 1) as f64;
                if d > worst.0 {
                    worst = (d, dim, !p_left);
                }
            }
            len = j;
        }
        worst
    }

    /// The point's score, and each dimension's share of it, split by
    /// the side of the cut the point was on: (high, low) per dimension.
    fn score_and_learn(&mut self, point: Vec<f64>) -> (f64, Vec<(f64, f64)>) {
        self.seen += 1;
        let warm = self.sample_size.min(64);
        let ready = self.trees.first().is_some_and(|t| t.sample.len() >= warm);
        let mut total = 0.0;
        let t = self.seen as f64;
        let mut idx = std::mem::take(&mut self.scratch);
        let (mut lo, mut hi) = (point.clone(), point.clone());
        let mut shares = vec![(0.0, 0.0); point.len()];
        for tree in &mut self.trees {
            if ready {
                let (d, dim, high) = Self::codisp(
                    &mut tree.rng,
                    &tree.sample,
                    &point,
                    &mut idx,
                    &mut lo,
                    &mut hi,
                );
                total += d;
                if high {
                    shares[dim].0 += d;
                } else {
                    shares[dim].1 += d;
                }
            }
            let key = (-unit(&mut tree.rng).ln()).ln() - t / self.time_decay;
            if tree.sample.len() < self.sample_size {
                tree.sample.push((key, point.clone()));
            } else if let Some((i, _)) = tree
                .sample
                .iter()
                .enumerate()
                .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .filter(|(_, (k, _))| key < *k)
            {
                tree.sample[i] = (key, point.clone());
            }
        }
        self.scratch = idx;
        let n = self.trees.len().max(1) as f64;
        for s in &mut shares {
            *s = (s.0 / n, s.1 / n);
        }
        if ready {
            (total / n, shares)
        } else {
            (0.0, shares)
        }
    }

    /// ANOMALY_EXPLANATION as AWS writes it: per column, DIRECTION (HIGH
    /// when the point was mostly cut off on the high side), STRENGTH (how
    /// one-sided that was) and ATTRIBUTION_SCORE (its share of the score;
    /// the shares sum to it), numbers as text with 4 decimals. A shingle's
    /// dimensions add up to their column's.
    fn explanation(&self, shares: &[(f64, f64)]) -> String {
        let Some((names, directional)) = &self.explain else {
            return String::new();
        };
        let cols = self.columns.len().max(1);
        let mut per = vec![(0.0, 0.0); cols];
        for (d, s) in shares.iter().enumerate() {
            per[d % cols].0 += s.0;
            per[d % cols].1 += s.1;
        }
        let fields: Vec<String> = names
            .iter()
            .zip(per)
            .map(|(name, (high, low))| {
                let attribution = format!("\"ATTRIBUTION_SCORE\":\"{:.4}\"", high + low);
                let body = if *directional {
                    format!(
                        "\"DIRECTION\":\"{}\",\"STRENGTH\":\"{:.4}\",{attribution}",
                        if high > low { "HIGH" } else { "LOW" },
                        (high - low).abs()
                    )
                } else {
                    attribution
                };
                format!("{}:{{{body}}}", serde_json::Value::from(name.as_str()))
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }
}

impl Operator for RandomCutForest {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, _errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(mut r) => {
                // NULLs and non-numbers count as 0, as a missing reading.
                let x: Vec<f64> = self
                    .columns
                    .iter()
                    .map(|&i| r.values.get(i).and_then(Value::as_f64).unwrap_or(0.0))
                    .collect();
                self.recent.push_back(x);
                while self.recent.len() > self.shingle {
                    self.recent.pop_front();
                }
                let (score, shares) = if self.recent.len() == self.shingle {
                    let point: Vec<f64> = self.recent.iter().flatten().copied().collect();
                    self.score_and_learn(point)
                } else {
                    (0.0, Vec::new())
                };
                r.values.push(Value::Float(score));
                if self.explain.is_some() {
                    r.values.push(Value::Str(self.explanation(&shares).into()));
                }
                out.push(Event::Row(r));
            }
            b => out.push(b),
        }
    }
}

/// KDA's HOTSPOTS, in its spirit: over the last `window` rows' numeric
/// columns, the dense regions DBSCAN finds with radius `radius` (in the
/// columns' own units) and `min_points` neighbours, each reported with its
/// bounding box and density (its rows over the box's size, the product of
/// its sides, each at least `radius`), densest first, as many as fit in
/// the column's 10,000 characters. Computed once per timestep (the rows
/// that share a ROWTIME share the answer, which counts them all), so the
/// cost follows the ticks, not the rows. Deterministic; AWS's numbers are
/// not reproducible.
pub struct Hotspots {
    pub columns: Vec<usize>,
    window: usize,
    radius: f64,
    min_points: usize,
    points: VecDeque<Vec<f64>>,
    /// The current timestep's rows, held until it ends.
    pending: Vec<Row>,
}

/// The most characters HOTSPOTS_RESULT holds (its VARCHAR(10000)).
const HOTSPOTS_CHARS: usize = 10_000;

impl Hotspots {
    pub fn new(columns: Vec<usize>, window: usize, radius: f64, min_points: usize) -> Hotspots {
        Hotspots {
            columns,
            window,
            radius,
            min_points,
            points: VecDeque::new(),
            pending: Vec::new(),
        }
    }

    /// Ends the current timestep: its rows go out with the hotspots.
    fn flush(&mut self, out: &mut Vec<Event>) {
        if self.pending.is_empty() {
            return;
        }
        let result: std::rc::Rc<str> = self.result().into();
        for mut r in self.pending.drain(..) {
            r.values.push(Value::Str(result.clone()));
            out.push(Event::Row(r));
        }
    }

    /// The grid cell of a point (cells as wide as the radius).
    fn cell(&self, p: &[f64]) -> Vec<i64> {
        p.iter()
            .map(|x| (x / self.radius).floor().clamp(-1e15, 1e15) as i64)
            .collect()
    }

    /// The hotspots of the window, as the JSON text KDA's column holds.
    fn result(&self) -> String {
        let pts: Vec<&Vec<f64>> = self.points.iter().collect();
        let n = pts.len();
        let dims = self.columns.len();
        let r2 = self.radius * self.radius;
        let near = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() <= r2
        };
        // Neighbours through a grid of radius-wide cells (all pairs beyond
        // three dimensions, where the grid would have too many cells).
        let mut grid: HashMap<Vec<i64>, Vec<usize>> = HashMap::default();
        for (i, p) in pts.iter().enumerate() {
            grid.entry(self.cell(p)).or_default().push(i);
        }
        let neighbours = |i: usize| -> Vec<usize> {
            if dims > 3 {
                return (0..n).filter(|&j| near(pts[i], pts[j])).collect();
            }
            let c = self.cell(pts[i]);
            let mut out = Vec::new();
            let offsets = 3usize.pow(dims as u32);
            for k in 0..offsets {
                let mut key = c.clone();
                let mut rest = k;
                for slot in key.iter_mut() {
                    *slot += (rest % 3) as i64 - 1;
                    rest /= 3;
                }
                if let Some(list) = grid.get(&key) {
                    out.extend(list.iter().copied().filter(|&j| near(pts[i], pts[j])));
                }
            }
            out.sort_unstable();
            out
        };
        let lists: Vec<Vec<usize>> = (0..n).map(neighbours).collect();
        let core: Vec<bool> = lists.iter().map(|l| l.len() >= self.min_points).collect();
        let mut cluster = vec![usize::MAX; n];
        let mut spots: Vec<Vec<usize>> = Vec::new();
        for start in 0..n {
            if !core[start] || cluster[start] != usize::MAX {
                continue;
            }
            let id = spots.len();
            let mut members = Vec::new();
            let mut queue = VecDeque::from([start]);
            cluster[start] = id;
            while let Some(i) = queue.pop_front() {
                members.push(i);
                if !core[i] {
                    continue;
                }
                for &j in &lists[i] {
                    if cluster[j] == usize::MAX {
                        cluster[j] = id;
                        queue.push_back(j);
                    }
                }
            }
            spots.push(members);
        }
        let mut out: Vec<(f64, Vec<f64>, Vec<f64>)> = spots
            .into_iter()
            .filter(|m| m.len() >= self.min_points)
            .map(|m| {
                let mut lo = vec![f64::INFINITY; dims];
                let mut hi = vec![f64::NEG_INFINITY; dims];
                for &i in &m {
                    for d in 0..dims {
                        lo[d] = lo[d].min(pts[i][d]);
                        hi[d] = hi[d].max(pts[i][d]);
                    }
                }
                let size: f64 = (0..dims)
                    .map(|d| (hi[d] - lo[d]).max(self.radius))
                    .product::<f64>()
                    .max(f64::MIN_POSITIVE);
                (m.len() as f64 / size, lo, hi)
            })
            .collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        let num = |x: f64| {
            serde_json::Number::from_f64(x)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null)
        };
        // Densest first, while they fit.
        let mut text = String::from("{\"hotspots\":[");
        let mut first = true;
        for (density, lo, hi) in out {
            let spot = serde_json::json!({
                "density": num(density.min(f64::MAX)),
                "minValues": lo.into_iter().map(num).collect::<Vec<_>>(),
                "maxValues": hi.into_iter().map(num).collect::<Vec<_>>(),
            })
            .to_string();
            if text.len() + spot.len() + 3 > HOTSPOTS_CHARS {
                break;
            }
            if !first {
                text.push(',');
            }
            first = false;
            text.push_str(&spot);
        }
        text.push_str("]}");
        text
    }
}

impl Operator for Hotspots {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, _errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                // NULLs and non-numbers count as 0, as in RANDOM_CUT_FOREST.
                let p: Vec<f64> = self
                    .columns
                    .iter()
                    .map(|&i| {
                        r.values
                            .get(i)
                            .and_then(Value::as_f64)
                            .filter(|x| x.is_finite())
                            .unwrap_or(0.0)
                    })
                    .collect();
                if self.pending.first().is_some_and(|q| q.rowtime != r.rowtime) {
                    self.flush(out);
                }
                self.points.push_back(p);
                while self.points.len() > self.window {
                    self.points.pop_front();
                }
                self.pending.push(r);
            }
            b => {
                self.flush(out);
                out.push(b);
            }
        }
    }
}

/// KDA's GROUP_RANK UDX: the rows of each group (rows sharing a ROWTIME)
/// are held until a row with another ROWTIME comes, or, with `max_idle_ms`
/// above 0, until the rowtime bound is that long past the group's ROWTIME
/// (the idle timeout, on the virtual clock); then each gets its rank by
/// `column` (RANK(): equal values share a rank, and the next rank skips;
/// NULLs rank last either way), appended as one INTEGER column, and the
/// group goes out ordered by rank (`output_desc` reverses it; rows of equal
/// rank keep their order of arrival), at most `output_max` rows of it
/// when that is above 0.
pub struct GroupRank {
    column: usize,
    rank_desc: bool,
    output_desc: bool,
    max_idle_ms: i64,
    output_max: usize,
    pending: Vec<Row>,
}

impl GroupRank {
    pub fn new(
        column: usize,
        rank_desc: bool,
        output_desc: bool,
        max_idle_ms: i64,
        output_max: usize,
    ) -> GroupRank {
        GroupRank {
            column,
            rank_desc,
            output_desc,
            max_idle_ms,
            output_max,
            pending: Vec::new(),
        }
    }

    /// Ranks the group held and sends it out.
    fn release(&mut self, out: &mut Vec<Event>) {
        if self.pending.is_empty() {
            return;
        }
        let column = self.column;
        let desc = self.rank_desc;
        let key = |r: &Row| r.values.get(column).cloned().unwrap_or(Value::Null);
        let by_rank = |a: &Value, b: &Value| match (a.is_null(), b.is_null()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if desc => crate::value::sort_cmp(b, a),
            _ => crate::value::sort_cmp(a, b),
        };
        let mut rows: Vec<(Value, Row)> = self.pending.drain(..).map(|r| (key(&r), r)).collect();
        // Stable: equal values keep their order of arrival.
        rows.sort_by(|(a, _), (b, _)| by_rank(a, b));
        let ranks: Vec<i64> = (0..rows.len())
            .scan(0, |rank, i| {
                if i == 0 || by_rank(&rows[i - 1].0, &rows[i].0) != std::cmp::Ordering::Equal {
                    *rank = i as i64 + 1;
                }
                Some(*rank)
            })
            .collect();
        let mut ranked: Vec<Row> = rows
            .into_iter()
            .zip(ranks)
            .map(|((_, mut r), rank)| {
                r.values.push(Value::Int(rank));
                r
            })
            .collect();
        if self.output_desc {
            // Descending rank; a stable sort keeps rows of one rank in
            // their order of arrival.
            let rank = |r: &Row| match r.values.last() {
                Some(Value::Int(n)) => *n,
                _ => 0,
            };
            ranked.sort_by_key(|r| std::cmp::Reverse(rank(r)));
        }
        let limit = if self.output_max == 0 {
            usize::MAX
        } else {
            self.output_max
        };
        out.extend(ranked.into_iter().take(limit).map(Event::Row));
    }
}

impl Operator for GroupRank {
    fn process(&mut self, ev: Event, out: &mut Vec<Event>, _errors: &mut Vec<Failure>) {
        match ev {
            Event::Row(r) => {
                if self.pending.first().is_some_and(|q| q.rowtime != r.rowtime) {
                    self.release(out);
                }
                self.pending.push(r);
            }
            Event::Bound(b) => {
                let idle = self.max_idle_ms > 0
                    && self
                        .pending
                        .first()
                        .is_some_and(|q| b >= q.rowtime.saturating_add(self.max_idle_ms));
                if idle {
                    self.release(out);
                }
                // Rows held are still to come: the bound cannot pass them.
                let held = self.pending.first().map_or(b, |q| q.rowtime.min(b));
                out.push(Event::Bound(held));
            }
        }
    }
}
