//! Continuous SQL over streams, as Kinesis Data Analytics and Flink SQL
//! define it: an application's text is parsed (sqlparser plus a token-level
//! pass for the streaming clauses), planned into chains of incremental
//! operators, and run row by row on ROWTIME, with rowtime bounds from the
//! virtual clock closing windows. Pure and deterministic: no clock, no I/O,
//! no threads; it must never depend on wasm-bindgen, web-sys or yew.

pub mod agg;
pub mod app;
pub mod bench;
pub mod error;
pub mod expr;
pub mod fast_regex;
pub mod flink;
pub mod functions;
pub mod ops;
pub mod parse;
pub mod plan;
pub mod query;
pub mod run;
pub mod value;

pub use app::{AppConfig, Application, OutputRow, Record};
pub use error::SqlError;
