//! Record format conversion: JSON records in, Apache Parquet objects out
//! (`DataFormatConversionConfiguration`), as Firehose does it for S3.
//!
//! Firehose reads each record's JSON with a deserializer (the OpenX JSON
//! SerDe, or Hive's), takes the columns of an AWS Glue table as the schema,
//! and writes each buffer as one Parquet file with the Parquet SerDe
//! (Snappy inside by default). Fields the table does not name are dropped,
//! missing ones are null, and a record that is not JSON or does not fit
//! the schema goes to the error output as `format-conversion-failed`. The
//! Parquet bytes come from the `parquet` crate (arrow-rs), which writes the
//! same bytes natively and in wasm.

use std::sync::Arc;

use parquet::basic::{ConvertedType, Repetition, Type as Physical};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType,
    FloatType, Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde_json::{json, Value};
use shardlab_engine::api::request::{Body, Validation};
use shardlab_engine::time_pattern::{days_from_civil, days_in_month, TimestampPattern};
use shardlab_engine::ApiError;

use crate::glue::{Catalog, ColumnType};

/// What a record that fails conversion is filed under.
pub const FORMAT_CONVERSION_FAILED: &str = "format-conversion-failed";
/// The smallest buffer size a converting destination may have, and the
/// default it gets.
pub const MIN_SIZE_MB: u32 = 64;
pub const DEFAULT_SIZE_MB: u32 = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deserializer {
    /// The OpenX JSON SerDe: keys matched to columns ignoring case (by
    /// default), dots in keys optionally read as underscores, and columns
    /// mapped to other keys; lenient about numbers written as strings.
    OpenX {
        case_insensitive: bool,
        dots_to_underscores: bool,
        /// (column, JSON key).
        mappings: Vec<(String, String)>,
    },
    /// Hive's JSON SerDe: strict types; timestamps in the given Joda-style
    /// patterns (`None` for `millis`), else `yyyy-[M]M-[d]d HH:mm:ss[.S]`.
    Hive {
        timestamp_formats: Vec<Option<TimestampPattern>>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParquetCompression {
    Uncompressed,
    Gzip,
    Snappy,
}

const PARQUET_COMPRESSIONS: &[&str] = &["SNAPPY", "GZIP", "UNCOMPRESSED"];

impl ParquetCompression {
    fn parse(s: &str) -> ParquetCompression {
        match s {
            "GZIP" => ParquetCompression::Gzip,
            "UNCOMPRESSED" => ParquetCompression::Uncompressed,
            _ => ParquetCompression::Snappy,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ParquetCompression::Uncompressed => "UNCOMPRESSED",
            ParquetCompression::Gzip => "GZIP",
            ParquetCompression::Snappy => "SNAPPY",
        }
    }
}

/// The Parquet SerDe's settings, with AWS's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetOptions {
    pub compression: ParquetCompression,
    pub writer_v2: bool,
    pub page_size_bytes: u64,
    pub dictionary: bool,
}

/// A resolved column: its name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ty: ColumnType,
}

/// A destination's conversion, with the table's columns read when the
/// delivery stream was created or updated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub deserializer: Deserializer,
    pub parquet: ParquetOptions,
    pub database: String,
    pub table: String,
    pub region: String,
    pub catalog_id: String,
    pub version_id: String,
    pub fields: Vec<Field>,
}

/// Where a conversion's schema comes from: the account's Glue Data
/// Catalog, and the Region and account that SchemaConfiguration defaults to.
pub struct SchemaSource<'a> {
    pub catalog: &'a Catalog,
    pub region: &'a str,
    pub account: &'a str,
}

/// `DataFormatConversionConfiguration` as read: the conversion when it is
/// enabled, and the configuration to echo either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionConfig {
    pub active: Option<Conversion>,
    pub echo: Value,
}

fn invalid(message: &str) -> ApiError {
    ApiError::invalid_argument(message)
}

/// A member of an object that may be absent.
fn member<'a>(b: &Option<Body<'a>>, m: &str) -> Result<Option<Body<'a>>, ApiError> {
    match b {
        Some(b) => b.object(m),
        None => Ok(None),
    }
}

/// `^\S+$`, 1–1024 characters: SchemaConfiguration's members.
fn no_space(v: &mut Validation, value: Option<&str>, path: &str) {
    v.length(value, path, 1, 1024);
    if let Some(s) = value {
        v.pattern(
            Some(s),
            path,
            !s.is_empty() && !s.chars().any(char::is_whitespace),
            "^\\S+$",
        );
    }
}

impl ConversionConfig {
    /// Reads a `DataFormatConversionConfiguration` at `path`. `compression`
    /// is the destination's `CompressionFormat` and `size_mb` its buffer
    /// size as resolved; `region` and `account` fill SchemaConfiguration's
    /// defaults; the table comes from `catalog`.
    pub fn read(
        raw: &Value,
        path: &str,
        compression: &str,
        size_mb: u32,
        schemas: &SchemaSource,
    ) -> Result<ConversionConfig, ApiError> {
        let (catalog, region, account) = (schemas.catalog, schemas.region, schemas.account);
        let body = &Body::new(raw)?;
        let p = |m: &str| format!("{path}.{m}");
        let enabled = body.bool("Enabled")?.unwrap_or(true);
        let input = body.object("InputFormatConfiguration")?;
        let output = body.object("OutputFormatConfiguration")?;
        let schema = body.object("SchemaConfiguration")?;
        let deser = member(&input, "Deserializer")?;
        let ser = member(&output, "Serializer")?;
        let openx = member(&deser, "OpenXJsonSerDe")?;
        let hive = member(&deser, "HiveJsonSerDe")?;
        let parquet = member(&ser, "ParquetSerDe")?;
        let orc = member(&ser, "OrcSerDe")?;

        // The model's constraints first: ValidationException.
        let mut v = Validation::new();
        let sp = p("schemaConfiguration");
        let (role, database, table, schema_region, catalog_id, version) = match &schema {
            Some(s) => (
                s.str("RoleARN")?,
                s.str("DatabaseName")?,
                s.str("TableName")?,
                s.str("Region")?,
                s.str("CatalogId")?,
                s.str("VersionId")?,
            ),
            None => (None, None, None, None, None, None),
        };
        for (value, m) in [
            (role, "roleARN"),
            (database, "databaseName"),
            (table, "tableName"),
            (schema_region, "region"),
            (catalog_id, "catalogId"),
            (version, "versionId"),
        ] {
            no_space(&mut v, value, &format!("{sp}.{m}"));
        }
        let pp = p("outputFormatConfiguration.serializer.parquetSerDe");
        let mut options = ParquetOptions {
            compression: ParquetCompression::Snappy,
            writer_v2: false,
            page_size_bytes: 1 << 20,
            dictionary: true,
        };
        if let Some(ps) = &parquet {
            let block = ps.int("BlockSizeBytes")?;
            let page = ps.int("PageSizeBytes")?;
            let padding = ps.int("MaxPaddingBytes")?;
            let comp = ps.str("Compression")?;
            let writer = ps.str("WriterVersion")?;
            v.range(block, &format!("{pp}.blockSizeBytes"), 67_108_864, i64::MAX);
            v.range(page, &format!("{pp}.pageSizeBytes"), 65_536, i64::MAX);
            v.range(padding, &format!("{pp}.maxPaddingBytes"), 0, i64::MAX);
            v.one_of(comp, &format!("{pp}.compression"), PARQUET_COMPRESSIONS);
            v.one_of(writer, &format!("{pp}.writerVersion"), &["V1", "V2"]);
            options.page_size_bytes = page.map_or(options.page_size_bytes, |b| b as u64);
            options.compression = comp.map_or(options.compression, ParquetCompression::parse);
            options.writer_v2 = writer == Some("V2");
            options.dictionary = ps.bool("EnableDictionaryCompression")?.unwrap_or(true);
        }
        let mut hive_formats: Vec<Result<Option<TimestampPattern>, String>> = Vec::new();
        let mut deserializer = Deserializer::OpenX {
            case_insensitive: true,
            dots_to_underscores: false,
            mappings: Vec::new(),
        };
        if let Some(o) = &openx {
            let mappings = o.string_map("ColumnToJsonKeyMappings")?.unwrap_or_default();
            let mp =
                p("inputFormatConfiguration.deserializer.openXJsonSerDe.columnToJsonKeyMappings");
            for (column, key) in &mappings {
                v.length(Some(column), &format!("{mp}.key"), 1, 1024);
                v.length(Some(key), &format!("{mp}.value"), 1, 1024);
            }
            deserializer = Deserializer::OpenX {
                case_insensitive: o.bool("CaseInsensitive")?.unwrap_or(true),
                dots_to_underscores: o
                    .bool("ConvertDotsInJsonKeysToUnderscores")?
                    .unwrap_or(false),
                mappings: mappings
                    .into_iter()
                    .map(|(c, k)| (c.to_lowercase(), k))
                    .collect(),
            };
        } else if let Some(h) = &hive {
            let formats: Vec<String> = h
                .array("TimestampFormats")?
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|f| f.as_str().unwrap_or("").to_string())
                .collect();
            let fp = p("inputFormatConfiguration.deserializer.hiveJsonSerDe.timestampFormats");
            for (i, f) in formats.iter().enumerate() {
                v.length(Some(f), &format!("{fp}.{}", i + 1), 1, 1024);
            }
            hive_formats = formats
                .iter()
                .map(|f| match f.as_str() {
                    "millis" => Ok(None),
                    f => TimestampPattern::parse(f).map(Some),
                })
                .collect();
            deserializer = Deserializer::Hive {
                // An unreadable pattern is refused below, once the model's
                // constraints have passed.
                timestamp_formats: hive_formats.iter().filter_map(|p| p.clone().ok()).collect(),
            };
        }
        v.finish()?;

        let echo = echo(raw, enabled);
        if !enabled {
            return Ok(ConversionConfig { active: None, echo });
        }
        // Then the service's own checks, in its order.
        if compression != "UNCOMPRESSED" {
            return Err(invalid(
                "The S3 destination's compression format must be set to UNCOMPRESSED when data \
                 format conversion is enabled. To enable compression within the converted \
                 output format, set the appropriate serialization option in the output format \
                 configuration.",
            ));
        }
        if size_mb < MIN_SIZE_MB {
            return Err(invalid(
                "BufferingHints.SizeInMBs must be at least 64 when data format conversion is \
                 enabled.",
            ));
        }
        for (missing, what) in [
            (input.is_none(), "InputFormatConfiguration"),
            (output.is_none(), "OutputFormatConfiguration"),
            (schema.is_none(), "SchemaConfiguration"),
            (openx.is_none() && hive.is_none(), "Deserializer"),
            (parquet.is_none() && orc.is_none(), "Serializer"),
        ] {
            if missing {
                return Err(invalid(&format!("{what} must not be null")));
            }
        }
        if openx.is_some() && hive.is_some() {
            return Err(invalid(
                "More than one deserializer specified. Only one may be chosen.",
            ));
        }
        if parquet.is_some() && orc.is_some() {
            return Err(invalid(
                "More than one serializer specified. Only one may be chosen.",
            ));
        }
        for (value, what) in [
            (role, "RoleArn"),
            (database, "DatabaseName"),
            (table, "TableName"),
        ] {
            if value.is_none_or(str::is_empty) {
                return Err(invalid(&format!(
                    "SchemaConfiguration.{what} must not be null or empty"
                )));
            }
        }
        if orc.is_some() {
            return Err(invalid(
                "OrcSerDe is not supported by Shardlab yet: convert to Apache Parquet with \
                 ParquetSerDe.",
            ));
        }
        if let Some(Err(e)) = hive_formats.iter().find(|p| p.is_err()) {
            return Err(invalid(&format!(
                "Invalid deserializer option(s): TimestampFormats: {e}"
            )));
        }
        let (database, table) = (database.unwrap_or_default(), table.unwrap_or_default());
        // The playground has one account and one Region, and a table's
        // only version is its first.
        for (given, own, what) in [
            (schema_region, region, "Region"),
            (catalog_id, account, "CatalogId"),
        ] {
            if let Some(g) = given.filter(|g| *g != own) {
                return Err(invalid(&format!(
                    "SchemaConfiguration.{what} {g} is not this account's ({own}): Shardlab \
                     has one Glue Data Catalog, in {region} for account {account}."
                )));
            }
        }
        if let Some(v) = version.filter(|v| !matches!(*v, "LATEST" | "0")) {
            return Err(invalid(&format!(
                "SchemaConfiguration.VersionId {v}: Shardlab's Glue tables have one version, \
                 0; use LATEST."
            )));
        }
        let found = catalog.table(database, table).map_err(|e| {
            invalid(&format!(
                "The AWS Glue table in SchemaConfiguration could not be read: {}: {} (create \
                 it with AWS Glue's CreateTable first)",
                e.name(),
                e.message()
            ))
        })?;
        let mut fields = Vec::new();
        for c in &found.columns {
            let ty = ColumnType::parse(&c.type_text).map_err(|e| {
                invalid(&format!(
                    "The AWS Glue table {database}.{table}'s column {}: {e}",
                    c.name
                ))
            })?;
            if fields.iter().any(|f: &Field| f.name == c.name) {
                return Err(invalid(&format!(
                    "The AWS Glue table {database}.{table} has the column {} twice (Glue \
                     keeps names in lower case).",
                    c.name
                )));
            }
            fields.push(Field {
                name: c.name.clone(),
                ty,
            });
        }
        if fields.is_empty() {
            return Err(invalid(&format!(
                "The AWS Glue table {database}.{table} has no columns: a Parquet file needs \
                 at least one."
            )));
        }
        Ok(ConversionConfig {
            active: Some(Conversion {
                deserializer,
                parquet: options,
                database: database.to_lowercase(),
                table: table.to_lowercase(),
                region: schema_region.unwrap_or(region).to_string(),
                catalog_id: catalog_id.unwrap_or(account).to_string(),
                version_id: version.unwrap_or("LATEST").to_string(),
                fields,
            }),
            echo,
        })
    }
}

/// The configuration as DescribeDeliveryStream returns it: as given, with
/// `Enabled` filled in.
fn echo(raw: &Value, enabled: bool) -> Value {
    let mut out = json!({"Enabled": enabled});
    for m in [
        "InputFormatConfiguration",
        "OutputFormatConfiguration",
        "SchemaConfiguration",
    ] {
        if let Some(v) = raw.get(m).filter(|v| !v.is_null()) {
            out[m] = v.clone();
        }
    }
    out
}

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Bool(bool),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Bytes(Vec<u8>),
    /// A timestamp: nanoseconds since the epoch.
    Nanos(i128),
    /// A decimal's unscaled value.
    Decimal(i128),
}

/// Why a record was not converted: the error code and message of its
/// error-output document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionError {
    pub code: &'static str,
    pub message: String,
}

fn malformed(cause: impl Into<String>) -> ConversionError {
    ConversionError {
        code: "DataFormatConversion.MalformedData",
        message: format!("Data does not match the schema. {}", cause.into()),
    }
}

fn for_input(v: &Value) -> ConversionError {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    malformed(format!("For input string: \"{text}\""))
}

/// Rows deserialized from records, column by column.
pub struct Rows<'a> {
    conversion: &'a Conversion,
    columns: Vec<Vec<Cell>>,
    pub rows: usize,
}

impl Conversion {
    pub fn extension(&self) -> &'static str {
        ".parquet"
    }

    pub fn rows(&self) -> Rows<'_> {
        Rows {
            conversion: self,
            columns: vec![Vec::new(); self.fields.len()],
            rows: 0,
        }
    }

    /// The `dataCatalogTable` member of an error-output document.
    pub fn catalog_table(&self) -> Value {
        json!({
            "catalogId": self.catalog_id,
            "databaseName": self.database,
            "tableName": self.table,
            "region": self.region,
            "versionId": self.version_id,
            "catalogArn": format!("arn:aws:glue:{}:{}:catalog", self.region, self.catalog_id),
        })
    }

    /// The JSON key a column reads (ColumnToJsonKeyMappings), if mapped.
    fn key_of(&self, column: &str) -> Option<&str> {
        match &self.deserializer {
            Deserializer::OpenX { mappings, .. } => mappings
                .iter()
                .find(|(c, _)| c == column)
                .map(|(_, k)| k.as_str()),
            Deserializer::Hive { .. } => None,
        }
    }

    /// One JSON object's value for each column.
    fn read_object(
        &self,
        object: &serde_json::Map<String, Value>,
    ) -> Result<Vec<Cell>, ConversionError> {
        let (case_insensitive, dots) = match &self.deserializer {
            Deserializer::OpenX {
                case_insensitive,
                dots_to_underscores,
                ..
            } => (*case_insensitive, *dots_to_underscores),
            Deserializer::Hive { .. } => (true, false),
        };
        // Keys as the columns are named, worked out once per object, and
        // only when some column is not under its own name.
        let normal = |k: &str| -> String {
            let k = if dots {
                k.replace('.', "_")
            } else {
                k.to_string()
            };
            if case_insensitive {
                k.to_lowercase()
            } else {
                k
            }
        };
        let mut normalized: Option<Vec<(String, &Value)>> = None;
        let mut out = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let value = match self.key_of(&f.name) {
                Some(key) => object.get(key),
                None => match object.get(&f.name) {
                    Some(v) => Some(v),
                    None => normalized
                        .get_or_insert_with(|| object.iter().map(|(k, v)| (normal(k), v)).collect())
                        .iter()
                        .find(|(k, _)| *k == f.name)
                        .map(|(_, v)| *v),
                },
            };
            out.push(match value {
                None | Some(Value::Null) => Cell::Null,
                Some(v) => self.cell(&f.ty, v)?,
            });
        }
        Ok(out)
    }

    fn cell(&self, ty: &ColumnType, v: &Value) -> Result<Cell, ConversionError> {
        let hive = matches!(self.deserializer, Deserializer::Hive { .. });
        // A number, or (OpenX only) a string holding one.
        let numeric = |v: &Value| -> Result<String, ConversionError> {
            match v {
                Value::Number(n) => Ok(n.to_string()),
                Value::String(s) if !hive => Ok(s.trim().to_string()),
                Value::String(_) => Err(malformed(
                    "Current token (VALUE_STRING) not numeric, can not use numeric value accessors",
                )),
                _ => Err(for_input(v)),
            }
        };
        let integer = |v: &Value, min: i64, max: i64| -> Result<i64, ConversionError> {
            let text = numeric(v)?;
            let n: i64 = match text.parse() {
                Ok(n) => n,
                // 12.0 is 12; 12.5 is not an integer.
                Err(_) => match text.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => f as i64,
                    _ => return Err(for_input(v)),
                },
            };
            if n < min || n > max {
                return Err(malformed(format!("Value out of range. Value:\"{text}\"")));
            }
            Ok(n)
        };
        Ok(match ty {
            ColumnType::String | ColumnType::Char(_) | ColumnType::Varchar(_) => {
                let mut text = match v {
                    Value::String(s) => s.clone(),
                    Value::Object(_) | Value::Array(_) if hive => {
                        return Err(malformed("Start of Object expected"))
                    }
                    other => other.to_string(),
                };
                let limit = match ty {
                    ColumnType::Char(n) | ColumnType::Varchar(n) => Some(*n as usize),
                    _ => None,
                };
                if let Some(n) = limit {
                    if let Some((cut, _)) = text.char_indices().nth(n) {
                        text.truncate(cut);
                    }
                }
                Cell::Bytes(text.into_bytes())
            }
            ColumnType::Binary => match v {
                Value::String(s) => Cell::Bytes(s.clone().into_bytes()),
                other => return Err(for_input(other)),
            },
            ColumnType::Boolean => match v {
                Value::Bool(b) => Cell::Bool(*b),
                Value::String(s) if !hive && s.eq_ignore_ascii_case("true") => Cell::Bool(true),
                Value::String(s) if !hive && s.eq_ignore_ascii_case("false") => Cell::Bool(false),
                other => return Err(for_input(other)),
            },
            ColumnType::TinyInt => Cell::I32(integer(v, -128, 127)? as i32),
            ColumnType::SmallInt => Cell::I32(integer(v, -32_768, 32_767)? as i32),
            ColumnType::Int => Cell::I32(integer(v, i32::MIN.into(), i32::MAX.into())? as i32),
            ColumnType::BigInt => Cell::I64(integer(v, i64::MIN, i64::MAX)?),
            ColumnType::Float | ColumnType::Double => {
                let text = numeric(v)?;
                let f: f64 = match text.as_str() {
                    // Java's spellings of what is not a finite number.
                    "NaN" => f64::NAN,
                    "Infinity" | "+Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    t => t
                        .parse()
                        .ok()
                        .filter(|f: &f64| f.is_finite())
                        .ok_or_else(|| for_input(v))?,
                };
                if matches!(ty, ColumnType::Float) {
                    Cell::F32(f as f32)
                } else {
                    Cell::F64(f)
                }
            }
            ColumnType::Decimal { precision, scale } => {
                let text = numeric(v)?;
                let unscaled = decimal(&text, *scale).ok_or_else(|| for_input(v))?;
                if unscaled.unsigned_abs() >= 10u128.pow(u32::from(*precision)) {
                    return Err(malformed(format!(
                        "{text} does not fit decimal({precision},{scale})"
                    )));
                }
                Cell::Decimal(unscaled)
            }
            ColumnType::Timestamp => {
                let nanos = self.timestamp(v)?;
                // Years 1 to 9999, as Hive's timestamps go.
                const FIRST: i128 = -62_135_596_800 * 1_000_000_000;
                const END: i128 = 253_402_300_800 * 1_000_000_000;
                if !(FIRST..END).contains(&nanos) {
                    return Err(malformed(format!(
                        "The timestamp {} is outside the years 1 to 9999",
                        match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }
                    )));
                }
                Cell::Nanos(nanos)
            }
            ColumnType::Date => match v {
                Value::String(s) => {
                    let (y, m, d) = lenient_date(s.trim()).ok_or_else(|| for_input(v))?;
                    Cell::I32(days_from_civil(y, m, d) as i32)
                }
                other => return Err(for_input(other)),
            },
        })
    }

    fn timestamp(&self, v: &Value) -> Result<i128, ConversionError> {
        match &self.deserializer {
            Deserializer::OpenX { .. } => {
                let text = match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.trim().to_string(),
                    other => return Err(for_input(other)),
                };
                openx_timestamp(&text).ok_or_else(|| for_input(v))
            }
            Deserializer::Hive { timestamp_formats } => {
                let text = match v {
                    Value::String(s) => s.trim().to_string(),
                    Value::Number(n) => n.to_string(),
                    other => return Err(for_input(other)),
                };
                for f in timestamp_formats {
                    let ms = match f {
                        None => text.parse::<i64>().ok(),
                        Some(p) => p.read(&text),
                    };
                    if let Some(ms) = ms {
                        return Ok(i128::from(ms) * 1_000_000);
                    }
                }
                // java.sql.Timestamp.valueOf: yyyy-[M]M-[d]d HH:mm:ss[.f...]
                let (date, time) = text.split_once(' ').ok_or_else(|| for_input(v))?;
                date_time(date, time).ok_or_else(|| for_input(v))
            }
        }
    }
}

/// `yyyy-[M]M-[d]d`.
fn lenient_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=9999).contains(&y) && (1..=days_in_month(y, m)).contains(&d))
        .then_some((y, m, d))
}

/// A date and `H:m:s[.fraction]` (up to 9 digits) as nanoseconds.
fn date_time(date: &str, time: &str) -> Option<i128> {
    let (y, m, d) = lenient_date(date)?;
    let (hms, fraction) = match time.split_once('.') {
        Some((a, f)) => (a, f),
        None => (time, ""),
    };
    let mut it = hms.splitn(3, ':');
    let h: u32 = it.next()?.parse().ok()?;
    let mi: u32 = it.next()?.parse().ok()?;
    let s: u32 = it.next()?.parse().ok()?;
    if h > 23
        || mi > 59
        || s > 59
        || fraction.len() > 9
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let nanos: i128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i128>().ok()? * 10i128.pow(9 - fraction.len() as u32)
    };
    let secs = days_from_civil(y, m, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// The OpenX SerDe's timestamps: `yyyy-MM-dd'T'HH:mm:ss[.S]'Z'`,
/// `yyyy-[M]M-[d]d HH:mm:ss[.S]`, or epoch seconds (below 10^12, possibly
/// with a fraction) or milliseconds.
fn openx_timestamp(text: &str) -> Option<i128> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(if n.unsigned_abs() < 1_000_000_000_000 {
            i128::from(n) * 1_000_000_000
        } else {
            i128::from(n) * 1_000_000
        });
    }
    if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && text.contains('.')
    {
        let (whole, fraction) = text.split_once('.')?;
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: i64 = whole.parse().ok()?;
        let digits = &fraction[..fraction.len().min(9)];
        let nanos = if digits.is_empty() {
            0
        } else {
            digits.parse::<i128>().ok()? * 10i128.pow(9 - digits.len() as u32)
        };
        let sign = if whole.starts_with('-') { -1 } else { 1 };
        return Some(i128::from(secs) * 1_000_000_000 + sign * nanos);
    }
    if let Some(iso) = text.strip_suffix('Z') {
        // Strict: two-digit fields.
        let (date, time) = iso.split_once('T')?;
        let b = date.as_bytes();
        let strict = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && time.len() >= 8;
        let t = time.as_bytes();
        if !strict || t[2] != b':' || t[5] != b':' || (t.len() > 8 && t[8] != b'.') {
            return None;
        }
        return date_time(date, time);
    }
    let (date, time) = text.split_once(' ')?;
    date_time(date, time)
}

/// A decimal's text (digits, a point, an exponent) as an unscaled integer
/// at `scale`, rounded half up.
fn decimal(text: &str, scale: u8) -> Option<i128> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{whole}{fraction}");
    // value = digits × 10^(exp − fraction digits); wanted × 10^scale.
    let shift = exp
        .checked_sub(fraction.len() as i64)?
        .checked_add(i64::from(scale))?;
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    // Past 10^38 nothing fits a decimal; below 10^-40 it rounds to 0.
    if shift > 76 {
        return None;
    }
    if shift < -(digits.len() as i64) - 1 {
        return Some(0);
    }
    let mut n: i128 = 0;
    let (kept, rest) = if shift >= 0 {
        (digits, "")
    } else {
        let cut = digits.len().saturating_sub(shift.unsigned_abs() as usize);
        digits.split_at(cut)
    };
    for b in kept.bytes() {
        n = n.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    if shift > 0 {
        n = n.checked_mul(10i128.checked_pow(shift as u32)?)?;
    }
    let dropped = shift.unsigned_abs() as usize;
    let round_digit = if shift < 0 && rest.len() == dropped {
        rest.bytes().next().map_or(0, |b| b - b'0')
    } else {
        0
    };
    if round_digit >= 5 {
        n = n.checked_add(1)?;
    }
    Some(if negative { -n } else { n })
}

impl Rows<'_> {
    /// Adds a record's rows (one per JSON object it holds), or says why it
    /// cannot be converted; a failed record adds nothing.
    pub fn add(&mut self, data: &[u8]) -> Result<usize, ConversionError> {
        let mut read = Vec::new();
        for value in serde_json::Deserializer::from_slice(data).into_iter::<Value>() {
            let value = value.map_err(|e| ConversionError {
                code: "DataFormatConversion.ParseError",
                message: format!("Encountered malformed JSON. {e}"),
            })?;
            match value {
                Value::Object(m) => read.push(self.conversion.read_object(&m)?),
                Value::Array(_) => {
                    return Err(malformed(
                        "An array of JSON documents is not valid input: send the objects one \
                         after another ({\"a\":1}{\"a\":2}).",
                    ))
                }
                other => return Err(malformed(format!("Expected a JSON object, got {other}"))),
            }
        }
        if read.is_empty() {
            return Err(ConversionError {
                code: "DataFormatConversion.ParseError",
                message: "Encountered malformed JSON. The record holds no JSON object.".into(),
            });
        }
        let n = read.len();
        for row in read {
            for (column, cell) in self.columns.iter_mut().zip(row) {
                column.push(cell);
            }
        }
        self.rows += n;
        Ok(n)
    }

    /// The first rows as JSON lines in the table's column order (at most
    /// `limit` rows in `max_bytes`): what the bucket browser shows of the
    /// file. Timestamps read `2026-01-01 00:00:00.000` (UTC), dates
    /// `2026-01-01`, decimals as text with their scale.
    pub fn json_lines(&self, limit: usize, max_bytes: usize) -> String {
        let mut out = String::new();
        for row in 0..self.rows.min(limit) {
            let mut line = String::from("{");
            for (i, (f, column)) in self.conversion.fields.iter().zip(&self.columns).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&Value::from(f.name.as_str()).to_string());
                line.push(':');
                line.push_str(&cell_json(&f.ty, &column[row]));
            }
            line.push_str("}\n");
            if out.len() + line.len() > max_bytes {
                break;
            }
            out.push_str(&line);
        }
        out
    }

    /// The rows as one Parquet file (one row group).
    pub fn write(self) -> Result<Vec<u8>, String> {
        let c = self.conversion;
        let fields: Vec<Arc<Type>> = c
            .fields
            .iter()
            .map(|f| parquet_type(f).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let schema = Arc::new(
            Type::group_type_builder("hive_schema")
                .with_fields(fields)
                .build()
                .map_err(|e| e.to_string())?,
        );
        let o = &c.parquet;
        let props = WriterProperties::builder()
            .set_compression(match o.compression {
                ParquetCompression::Uncompressed => parquet::basic::Compression::UNCOMPRESSED,
                ParquetCompression::Gzip => {
                    parquet::basic::Compression::GZIP(parquet::basic::GzipLevel::default())
                }
                ParquetCompression::Snappy => parquet::basic::Compression::SNAPPY,
            })
            .set_writer_version(if o.writer_v2 {
                WriterVersion::PARQUET_2_0
            } else {
                WriterVersion::PARQUET_1_0
            })
            .set_dictionary_enabled(o.dictionary)
            // The same limit on 32-bit wasm as natively.
            .set_data_page_size_limit(o.page_size_bytes.min(u64::from(u32::MAX)) as usize)
            .set_max_row_group_row_count(Some(self.rows.max(1)))
            .set_created_by("Shardlab (parquet-rs)".into())
            .build();
        let err = |e: parquet::errors::ParquetError| e.to_string();
        let mut writer =
            SerializedFileWriter::new(Vec::new(), schema, Arc::new(props)).map_err(err)?;
        let mut group = writer.next_row_group().map_err(err)?;
        for (f, cells) in c.fields.iter().zip(self.columns) {
            let mut col = group
                .next_column()
                .map_err(err)?
                .ok_or("the Parquet writer ran out of columns")?;
            let defs: Vec<i16> = cells.iter().map(|c| i16::from(*c != Cell::Null)).collect();
            let values = cells.into_iter().filter(|c| *c != Cell::Null);
            match &f.ty {
                ColumnType::Boolean => {
                    let v: Vec<bool> = values.map(|c| matches!(c, Cell::Bool(true))).collect();
                    col.typed::<BoolType>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::TinyInt | ColumnType::SmallInt | ColumnType::Int | ColumnType::Date => {
                    let v: Vec<i32> = values
                        .map(|c| if let Cell::I32(n) = c { n } else { 0 })
                        .collect();
                    col.typed::<Int32Type>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::BigInt => {
                    let v: Vec<i64> = values
                        .map(|c| if let Cell::I64(n) = c { n } else { 0 })
                        .collect();
                    col.typed::<Int64Type>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::Float => {
                    let v: Vec<f32> = values
                        .map(|c| if let Cell::F32(n) = c { n } else { 0.0 })
                        .collect();
                    col.typed::<FloatType>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::Double => {
                    let v: Vec<f64> = values
                        .map(|c| if let Cell::F64(n) = c { n } else { 0.0 })
                        .collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::String
                | ColumnType::Char(_)
                | ColumnType::Varchar(_)
                | ColumnType::Binary => {
                    let v: Vec<ByteArray> = values
                        .map(|c| match c {
                            Cell::Bytes(b) => ByteArray::from(b),
                            _ => ByteArray::from(Vec::new()),
                        })
                        .collect();
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
                ColumnType::Timestamp => {
                    let v: Vec<Int96> = values
                        .map(|c| int96(if let Cell::Nanos(n) = c { n } else { 0 }))
                        .collect();
                    col.typed::<Int96Type>().write_batch(&v, Some(&defs), None)
                }
                ColumnType::Decimal { precision, .. } => {
                    let width = decimal_bytes(*precision);
                    let v: Vec<FixedLenByteArray> = values
                        .map(|c| {
                            let n = if let Cell::Decimal(n) = c { n } else { 0 };
                            FixedLenByteArray::from(n.to_be_bytes()[16 - width..].to_vec())
                        })
                        .collect();
                    col.typed::<FixedLenByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
            }
            .map_err(err)?;
            col.close().map_err(err)?;
        }
        group.close().map_err(err)?;
        writer.into_inner().map_err(err)
    }
}

/// A float as JSON: NaN and the infinities as Java writes them, in quotes.
fn float_json(f: f64) -> String {
    if f.is_nan() {
        "\"NaN\"".into()
    } else if f.is_infinite() {
        (if f > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        })
        .into()
    } else {
        Value::from(f).to_string()
    }
}

/// A cell as JSON, for `json_lines`.
fn cell_json(ty: &ColumnType, cell: &Cell) -> String {
    match cell {
        Cell::Null => "null".into(),
        Cell::Bool(b) => b.to_string(),
        Cell::I32(days) if *ty == ColumnType::Date => {
            let (y, m, d) = shardlab_engine::time::civil_from_days(i64::from(*days));
            format!("\"{y:04}-{m:02}-{d:02}\"")
        }
        Cell::I32(n) => n.to_string(),
        Cell::I64(n) => n.to_string(),
        Cell::F32(f) => float_json(f64::from(*f)),
        Cell::F64(f) => float_json(*f),
        Cell::Bytes(b) => Value::from(String::from_utf8_lossy(b)).to_string(),
        Cell::Nanos(n) => {
            const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;
            let day = n.div_euclid(NANOS_PER_DAY) as i64;
            let of_day = n.rem_euclid(NANOS_PER_DAY);
            let (y, m, d) = shardlab_engine::time::civil_from_days(day);
            let secs = of_day / 1_000_000_000;
            let millis = of_day % 1_000_000_000 / 1_000_000;
            format!(
                "\"{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{millis:03}\"",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            )
        }
        Cell::Decimal(n) => {
            let scale = match ty {
                ColumnType::Decimal { scale, .. } => u32::from(*scale),
                _ => 0,
            };
            let digits = n.unsigned_abs().to_string();
            let sign = if *n < 0 { "-" } else { "" };
            if scale == 0 {
                return format!("\"{sign}{digits}\"");
            }
            let digits = format!("{digits:0>width$}", width = scale as usize + 1);
            let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
            format!("\"{sign}{whole}.{fraction}\"")
        }
    }
}

/// Bytes Hive gives a decimal of this precision: the fewest that hold
/// 10^p − 1 as a signed two's-complement number.
fn decimal_bytes(precision: u8) -> usize {
    let max = 10u128.pow(u32::from(precision)) - 1;
    (1..=16).find(|n| max < 1u128 << (8 * n - 1)).unwrap_or(16)
}

/// Hive's INT96 timestamp: nanoseconds of the day, then the Julian day.
fn int96(nanos: i128) -> Int96 {
    const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;
    let day = nanos.div_euclid(NANOS_PER_DAY);
    let of_day = nanos.rem_euclid(NANOS_PER_DAY) as u64;
    let julian = (day + 2_440_588) as u32;
    let mut v = Int96::new();
    v.set_data(of_day as u32, (of_day >> 32) as u32, julian);
    v
}

/// The Parquet type Hive's Parquet SerDe writes for a column.
fn parquet_type(f: &Field) -> Result<Type, String> {
    let (physical, converted) = match f.ty {
        ColumnType::String | ColumnType::Char(_) | ColumnType::Varchar(_) => {
            (Physical::BYTE_ARRAY, ConvertedType::UTF8)
        }
        ColumnType::Binary => (Physical::BYTE_ARRAY, ConvertedType::NONE),
        ColumnType::Boolean => (Physical::BOOLEAN, ConvertedType::NONE),
        ColumnType::TinyInt => (Physical::INT32, ConvertedType::INT_8),
        ColumnType::SmallInt => (Physical::INT32, ConvertedType::INT_16),
        ColumnType::Int => (Physical::INT32, ConvertedType::NONE),
        ColumnType::BigInt => (Physical::INT64, ConvertedType::NONE),
        ColumnType::Float => (Physical::FLOAT, ConvertedType::NONE),
        ColumnType::Double => (Physical::DOUBLE, ConvertedType::NONE),
        ColumnType::Timestamp => (Physical::INT96, ConvertedType::NONE),
        ColumnType::Date => (Physical::INT32, ConvertedType::DATE),
        ColumnType::Decimal { .. } => (Physical::FIXED_LEN_BYTE_ARRAY, ConvertedType::DECIMAL),
    };
    let mut b = Type::primitive_type_builder(&f.name, physical)
        .with_repetition(Repetition::OPTIONAL)
        .with_converted_type(converted);
    if let ColumnType::Decimal { precision, scale } = f.ty {
        b = b
            .with_length(decimal_bytes(precision) as i32)
            .with_precision(i32::from(precision))
            .with_scale(i32::from(scale));
    }
    b.build().map_err(|e| e.to_string())
}

/// A Parquet file's rows as JSON lines, read back with the `parquet`
/// crate's reader (for tests and native tools: the browser shows the rows
/// rendered when the file was written, `Rows::json_lines`): at most `limit`
/// rows, and how many the file holds.
pub fn read_rows(body: &[u8], limit: usize) -> Result<(Vec<String>, u64), String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let total = reader.metadata().file_metadata().num_rows().max(0) as u64;
    let mut lines = Vec::new();
    for row in reader
        .get_row_iter(None)
        .map_err(|e| e.to_string())?
        .take(limit)
    {
        let row = row.map_err(|e| e.to_string())?;
        // In the table's column order (a JSON map would sort them).
        let fields: Vec<String> = row
            .get_column_iter()
            .map(|(name, field)| {
                format!("{}:{}", Value::from(name.as_str()), field.to_json_value())
            })
            .collect();
        lines.push(format!("{{{}}}", fields.join(",")));
    }
    Ok((lines, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glue::Catalog;

    fn catalog(columns: &[(&str, &str)]) -> Catalog {
        let mut c = Catalog::new("123456789012");
        c.call(
            "CreateDatabase",
            &json!({"DatabaseInput": {"Name": "lab"}}),
            0,
        )
        .unwrap();
        let cols: Vec<Value> = columns
            .iter()
            .map(|(n, t)| json!({"Name": n, "Type": t}))
            .collect();
        c.call(
            "CreateTable",
            &json!({"DatabaseName": "lab", "TableInput": {"Name": "t", "StorageDescriptor": {"Columns": cols}}}),
            0,
        )
        .unwrap();
        c
    }

    fn config(extra: Value) -> Value {
        let mut v = json!({
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}},
            "SchemaConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/r", "DatabaseName": "lab", "TableName": "t"},
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    }

    fn read(
        cfg: &Value,
        cat: &Catalog,
        compression: &str,
        size: u32,
    ) -> Result<ConversionConfig, ApiError> {
        let schemas = SchemaSource {
            catalog: cat,
            region: "us-east-1",
            account: "123456789012",
        };
        ConversionConfig::read(cfg, "x", compression, size, &schemas)
    }

    #[test]
    fn aws_checks_come_in_aws_order() {
        let cat = catalog(&[("a", "int")]);
        let msg = |cfg: Value, comp: &str, size: u32| {
            read(&cfg, &cat, comp, size)
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(msg(config(json!({})), "GZIP", 128)
            .starts_with("The S3 destination's compression format must be set to UNCOMPRESSED"));
        assert_eq!(
            msg(config(json!({})), "UNCOMPRESSED", 5),
            "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."
        );
        assert_eq!(
            msg(json!({}), "UNCOMPRESSED", 128),
            "InputFormatConfiguration must not be null"
        );
        assert_eq!(
            msg(
                config(json!({"InputFormatConfiguration": {"Deserializer": {}}})),
                "UNCOMPRESSED",
                128
            ),
            "Deserializer must not be null"
        );
        assert_eq!(
            msg(
                config(
                    json!({"InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}, "HiveJsonSerDe": {}}}})
                ),
                "UNCOMPRESSED",
                128
            ),
            "More than one deserializer specified. Only one may be chosen."
        );
        assert_eq!(
            msg(
                config(
                    json!({"SchemaConfiguration": {"RoleARN": "arn:aws:iam::1:role/r", "TableName": "t"}})
                ),
                "UNCOMPRESSED",
                128
            ),
            "SchemaConfiguration.DatabaseName must not be null or empty"
        );
        let e = read(&config(json!({"OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"BlockSizeBytes": 1, "Compression": "LZO"}}}})), &cat, "UNCOMPRESSED", 128).unwrap_err();
        assert_eq!(e.name(), "ValidationException");
        assert!(
            e.message().starts_with("2 validation errors detected"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("x.outputFormatConfiguration.serializer.parquetSerDe.compression' failed to satisfy constraint: Member must satisfy enum value set: [SNAPPY, GZIP, UNCOMPRESSED]"));
        assert!(msg(config(json!({"SchemaConfiguration": {"RoleARN": "arn:aws:iam::1:role/r", "DatabaseName": "lab", "TableName": "nope"}})), "UNCOMPRESSED", 128).contains("Table nope not found."));
        assert!(msg(
            config(json!({"OutputFormatConfiguration": {"Serializer": {"OrcSerDe": {}}}})),
            "UNCOMPRESSED",
            128
        )
        .contains("OrcSerDe is not supported"));
        // Disabled: kept and echoed, nothing checked.
        let off = read(&json!({"Enabled": false}), &cat, "GZIP", 5).unwrap();
        assert!(off.active.is_none());
        assert_eq!(off.echo["Enabled"], false);
    }

    fn conversion(columns: &[(&str, &str)], extra: Value) -> Conversion {
        let cat = catalog(columns);
        read(&config(extra), &cat, "UNCOMPRESSED", 128)
            .unwrap()
            .active
            .unwrap()
    }

    #[test]
    fn openx_reads_records_into_the_tables_columns() {
        let c = conversion(
            &[
                ("ticker", "string"),
                ("price", "double"),
                ("qty", "int"),
                ("at", "timestamp"),
                ("cost", "decimal(10,2)"),
                ("ok", "boolean"),
                ("day", "date"),
            ],
            json!({}),
        );
        let mut rows = c.rows();
        // Keys in any case, a number as a string, an unknown field dropped,
        // a missing one null; two objects in one record are two rows.
        assert_eq!(rows.add(br#"{"TICKER":"AMZN","price":"12.5","qty":3,"extra":1,"at":"2018-08-27T10:30:00.5Z","cost":1.005,"ok":"true","day":"2018-8-27"}{"ticker":"X"}"#), Ok(2));
        let err = rows.add(br#"{"qty":"many"}"#).unwrap_err();
        assert_eq!(err.code, "DataFormatConversion.MalformedData");
        assert_eq!(
            err.message,
            "Data does not match the schema. For input string: \"many\""
        );
        assert_eq!(
            rows.add(b"{not json").unwrap_err().code,
            "DataFormatConversion.ParseError"
        );
        assert_eq!(
            rows.add(br#"[{"qty":1}]"#).unwrap_err().code,
            "DataFormatConversion.MalformedData"
        );
        assert_eq!(
            rows.add(br#"{"qty":3000000000}"#).unwrap_err().code,
            "DataFormatConversion.MalformedData"
        );
        let file = rows.write().unwrap();
        assert!(file.starts_with(b"PAR1") && file.ends_with(b"PAR1"));
        let (lines, total) = read_rows(&file, 10).unwrap();
        assert_eq!(total, 2);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["ticker"], "AMZN");
        assert_eq!(first["price"], 12.5);
        assert_eq!(first["qty"], 3);
        assert_eq!(first["ok"], true);
        assert_eq!(first["cost"], "1.01", "{first}");
        assert!(
            first["at"]
                .as_str()
                .unwrap()
                .starts_with("2018-08-27 10:30:00"),
            "{first}"
        );
        assert!(
            first["day"].as_str().unwrap().starts_with("2018-08-27"),
            "{first}"
        );
        let second: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["ticker"], "X");
        assert_eq!(second["price"], Value::Null);
    }

    #[test]
    fn openx_options_and_the_hive_serde() {
        let c = conversion(
            &[("user_id", "bigint"), ("ts", "timestamp")],
            json!({"InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {
                "ConvertDotsInJsonKeysToUnderscores": true,
                "ColumnToJsonKeyMappings": {"ts": "event time"}
            }}}}),
        );
        let mut rows = c.rows();
        rows.add(br#"{"User.Id":7,"event time":1535365800}"#)
            .unwrap();
        rows.add(br#"{"user_id":8,"event time":1535365800123}"#)
            .unwrap();
        rows.add(br#"{"user_id":9,"event time":"1535365800.25"}"#)
            .unwrap();
        let (lines, _) = read_rows(&rows.write().unwrap(), 10).unwrap();
        assert!(lines[0].contains("\"user_id\":7"), "{}", lines[0]);
        assert!(lines[0].contains("2018-08-27 10:30:00"), "{}", lines[0]);
        assert!(lines[1].contains("10:30:00.123"), "{}", lines[1]);
        assert!(lines[2].contains("10:30:00.250"), "{}", lines[2]);

        let hive = conversion(
            &[("n", "int"), ("ts", "timestamp")],
            json!({"InputFormatConfiguration": {"Deserializer": {"HiveJsonSerDe": {"TimestampFormats": ["dd/MMM/yyyy:HH:mm:ss", "millis"]}}}}),
        );
        let mut rows = hive.rows();
        // Hive does not read numbers from strings.
        assert!(rows
            .add(br#"{"n":"12"}"#)
            .unwrap_err()
            .message
            .contains("not numeric"));
        rows.add(br#"{"n":1,"ts":"27/Aug/2018:10:30:00"}"#).unwrap();
        rows.add(br#"{"n":2,"ts":"1535365800000"}"#).unwrap();
        rows.add(br#"{"n":3,"ts":"2018-08-27 10:30:00.5"}"#)
            .unwrap();
        let (lines, _) = read_rows(&rows.write().unwrap(), 10).unwrap();
        for l in &lines {
            assert!(l.contains("2018-08-27 10:30:00"), "{l}");
        }
    }

    #[test]
    fn the_rows_shown_are_the_rows_the_file_holds() {
        let c = conversion(
            &[
                ("s", "string"),
                ("f", "float"),
                ("d", "double"),
                ("n", "smallint"),
                ("b", "bigint"),
                ("ok", "boolean"),
                ("at", "timestamp"),
                ("day", "date"),
                ("cost", "decimal(12,3)"),
                ("v", "varchar(3)"),
            ],
            json!({}),
        );
        let mut rows = c.rows();
        rows.add(br#"{"s":"a\"b","f":1.5,"d":-0.25,"n":-7,"b":9007199254740993,"ok":false,"at":"1969-12-31 23:59:59.999","day":"1999-12-31","cost":-0.5,"v":"abcdef"}"#).unwrap();
        rows.add(br#"{"s":null,"at":1535365800123,"cost":"12345.6789"}"#)
            .unwrap();
        let shown = rows.json_lines(10, 4096);
        let (read, total) = read_rows(&rows.write().unwrap(), 10).unwrap();
        assert_eq!(total, 2);
        for (shown, read) in shown.lines().zip(&read) {
            let shown: Value = serde_json::from_str(shown).unwrap();
            let mut read: Value = serde_json::from_str(read).unwrap();
            // The reader prints the zone of a timestamp; the rest is equal.
            if let Some(at) = read["at"].as_str() {
                read["at"] = json!(at.trim_end_matches(" +00:00"));
            }
            assert_eq!(shown, read);
        }
        assert!(shown.starts_with(r#"{"s":"a\"b","f":1.5,"d":-0.25,"n":-7,"b":9007199254740993,"ok":false,"at":"1969-12-31 23:59:59.999","day":"1999-12-31","cost":"-0.500","v":"abc"}"#), "{shown}");
        // A byte budget keeps only whole rows.
        assert_eq!(c.rows().json_lines(10, 10), "");
    }

    #[test]
    fn hostile_values_fail_as_malformed_data_without_a_panic() {
        let c = conversion(
            &[("d", "decimal(10,2)"), ("t", "timestamp"), ("f", "double")],
            json!({}),
        );
        let mut rows = c.rows();
        for bad in [
            r#"{"d":"1e2147483647"}"#,
            r#"{"d":"1e99999999999999999999"}"#,
            r#"{"d":"99999999999"}"#,
            r#"{"t":"9223372036854775807"}"#,
            r#"{"t":"-999999999999999"}"#,
            r#"{"t":"1.-5"}"#,
            r#"{"t":"2018-02-30 10:00:00"}"#,
            r#"{"f":"inf"}"#,
            r#"{"f":"nan"}"#,
        ] {
            let e = rows.add(bad.as_bytes()).unwrap_err();
            assert_eq!(e.code, "DataFormatConversion.MalformedData", "{bad}");
        }
        // Tiny and zero decimals are 0; Java's NaN and Infinity are read.
        rows.add(br#"{"d":"0e40","f":"NaN"}"#).unwrap();
        rows.add(br#"{"d":"1e-300","f":"-Infinity"}"#).unwrap();
        assert_eq!(
            rows.json_lines(10, 4096),
            "{\"d\":\"0.00\",\"t\":null,\"f\":\"NaN\"}\n{\"d\":\"0.00\",\"t\":null,\"f\":\"-Infinity\"}\n"
        );
        assert_eq!(read_rows(&rows.write().unwrap(), 10).unwrap().1, 2);
    }

    #[test]
    fn the_schema_is_this_accounts_latest_table_with_distinct_columns() {
        let cat = catalog(&[("a", "int"), ("A", "string")]);
        let e = read(&config(json!({})), &cat, "UNCOMPRESSED", 128).unwrap_err();
        assert!(
            e.message().contains("has the column a twice"),
            "{}",
            e.message()
        );
        let cat = catalog(&[("a", "int")]);
        let schema = |extra: Value| {
            let mut s = json!({"RoleARN": "arn:aws:iam::123456789012:role/r", "DatabaseName": "lab", "TableName": "t"});
            if let (Value::Object(m), Value::Object(e)) = (&mut s, extra) {
                m.extend(e);
            }
            config(json!({"SchemaConfiguration": s}))
        };
        for (extra, ok) in [
            (
                json!({"Region": "us-east-1", "CatalogId": "123456789012", "VersionId": "LATEST"}),
                true,
            ),
            (json!({"Region": "eu-west-1"}), false),
            (json!({"CatalogId": "999999999999"}), false),
            (json!({"VersionId": "3"}), false),
        ] {
            assert_eq!(
                read(&schema(extra.clone()), &cat, "UNCOMPRESSED", 128).is_ok(),
                ok,
                "{extra}"
            );
        }
    }

    #[test]
    fn decimals_round_half_up_and_respect_precision() {
        assert_eq!(decimal("1.005", 2), Some(101));
        assert_eq!(decimal("-1.004", 2), Some(-100));
        assert_eq!(decimal("12", 2), Some(1200));
        assert_eq!(decimal("1.5e2", 0), Some(150));
        assert_eq!(decimal("0.000", 2), Some(0));
        assert_eq!(decimal("abc", 2), None);
        assert_eq!(decimal("1e2147483647", 2), None);
        assert_eq!(decimal("0e40", 2), Some(0));
        assert_eq!(decimal("5e-3", 2), Some(1));
        // Precision: 10 digits fit decimal(10,2) only up to 99,999,999.99.
        let c = conversion(&[("d", "decimal(10,2)")], json!({}));
        assert!(c.rows().add(br#"{"d":99999999.99}"#).is_ok());
        assert!(c.rows().add(br#"{"d":100000000}"#).is_err());
        assert_eq!(decimal_bytes(1), 1);
        assert_eq!(decimal_bytes(2), 1);
        assert_eq!(decimal_bytes(3), 2);
        assert_eq!(decimal_bytes(9), 4);
        assert_eq!(decimal_bytes(10), 5);
        assert_eq!(decimal_bytes(18), 8);
        assert_eq!(decimal_bytes(38), 16);
    }

    #[test]
    fn the_same_rows_make_the_same_bytes() {
        let c = conversion(&[("a", "string"), ("b", "double")], json!({}));
        let file = |c: &Conversion| {
            let mut rows = c.rows();
            for i in 0..1000 {
                rows.add(format!(r#"{{"a":"k{}","b":{i}.5}}"#, i % 7).as_bytes())
                    .unwrap();
            }
            rows.write().unwrap()
        };
        assert_eq!(file(&c), file(&c));
        let (_, total) = read_rows(&file(&c), 0).unwrap();
        assert_eq!(total, 1000);
    }
}
