//! A small AWS Glue Data Catalog: the databases and tables whose columns
//! Firehose's record format conversion reads (`SchemaConfiguration` names a
//! table; its columns are the Parquet schema).
//!
//! It speaks Glue's JSON 1.1 (`X-Amz-Target: AWSGlue.<Operation>`) for the
//! operations a conversion needs: Create/Get/Delete of databases and
//! tables, and listing them. Names are folded to lower case, as Glue stores
//! them. Like Glue, CreateTable keeps a column's type as written; Firehose
//! reads the type when a delivery stream that converts is created.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shardlab_engine::api::request::{Body, Validation};
use shardlab_engine::ApiError;

/// A column's type in Hive's type language, as Glue tables declare them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Char(u32),
    Varchar(u32),
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: u8 },
    Timestamp,
    Date,
    Binary,
}

impl ColumnType {
    /// Reads a Hive type name (`int`, `varchar(20)`, `decimal(10,2)`, ...).
    /// Nested types (`array<...>`, `map<...>`, `struct<...>`) and unknown
    /// names are refused with the reason.
    pub fn parse(text: &str) -> Result<ColumnType, String> {
        let t = text.trim().to_ascii_lowercase();
        let args = |name: &str| -> Option<Vec<u32>> {
            let inner = t.strip_prefix(name)?.trim_start().strip_prefix('(')?;
            let inner = inner.strip_suffix(')')?;
            inner.split(',').map(|n| n.trim().parse().ok()).collect()
        };
        Ok(match t.as_str() {
            "string" => ColumnType::String,
            "boolean" => ColumnType::Boolean,
            "tinyint" => ColumnType::TinyInt,
            "smallint" => ColumnType::SmallInt,
            "int" | "integer" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "float" => ColumnType::Float,
            "double" => ColumnType::Double,
            "timestamp" => ColumnType::Timestamp,
            "date" => ColumnType::Date,
            "binary" => ColumnType::Binary,
            // Hive's default precision and scale.
            "decimal" => ColumnType::Decimal {
                precision: 10,
                scale: 0,
            },
            _ if t.starts_with("array<") || t.starts_with("map<") || t.starts_with("struct<") => {
                return Err(format!(
                    "the nested type {text} is not supported by Shardlab's conversion yet \
                     (flat columns are: string, char, varchar, boolean, tinyint, smallint, \
                     int, bigint, float, double, decimal, timestamp, date, binary)"
                ))
            }
            _ => {
                if let Some(a) = args("varchar") {
                    match a[..] {
                        [n] if (1..=65_535).contains(&n) => return Ok(ColumnType::Varchar(n)),
                        _ => return Err(format!("{text}: varchar takes a length of 1–65535")),
                    }
                }
                if let Some(a) = args("char") {
                    match a[..] {
                        [n] if (1..=255).contains(&n) => return Ok(ColumnType::Char(n)),
                        _ => return Err(format!("{text}: char takes a length of 1–255")),
                    }
                }
                if let Some(a) = args("decimal") {
                    let (p, s) = match a[..] {
                        [p] => (p, 0),
                        [p, s] => (p, s),
                        _ => (0, 0),
                    };
                    if !(1..=38).contains(&p) || s > p {
                        return Err(format!(
                            "{text}: decimal takes a precision of 1–38 and a scale no larger"
                        ));
                    }
                    return Ok(ColumnType::Decimal {
                        precision: p as u8,
                        scale: s as u8,
                    });
                }
                return Err(format!("{text} is not a Hive column type"));
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            ColumnType::String => "string".into(),
            ColumnType::Char(n) => format!("char({n})"),
            ColumnType::Varchar(n) => format!("varchar({n})"),
            ColumnType::Boolean => "boolean".into(),
            ColumnType::TinyInt => "tinyint".into(),
            ColumnType::SmallInt => "smallint".into(),
            ColumnType::Int => "int".into(),
            ColumnType::BigInt => "bigint".into(),
            ColumnType::Float => "float".into(),
            ColumnType::Double => "double".into(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            ColumnType::Timestamp => "timestamp".into(),
            ColumnType::Date => "date".into(),
            ColumnType::Binary => "binary".into(),
        }
    }
}

/// A table's column as declared: its name (lower case) and type text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub database: String,
    pub columns: Vec<Column>,
    pub created_ms: u64,
    /// The `TableInput` as given, less what is echoed from the fields above.
    input: Value,
}

#[derive(Clone, Debug, PartialEq)]
struct Database {
    name: String,
    description: Option<String>,
    created_ms: u64,
    tables: BTreeMap<String, Table>,
}

/// The Data Catalog of one account and Region.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    account_id: String,
    databases: BTreeMap<String, Database>,
}

fn not_found_database(name: &str) -> ApiError {
    ApiError::EntityNotFound(format!("Database {name} not found."))
}

fn epoch_seconds(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

/// Glue's single-line name pattern (names, database names).
const NAME_PATTERN: &str = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*";

fn single_line(s: &str) -> bool {
    !s.chars().any(|c| c == '\n' || c == '\r')
}

fn name_rules(v: &mut Validation, value: Option<&str>, path: &str) {
    v.required(&value, path);
    v.length(value, path, 1, 255);
    v.pattern(value, path, value.is_some_and(single_line), NAME_PATTERN);
}

impl Catalog {
    pub fn new(account_id: &str) -> Catalog {
        Catalog {
            account_id: account_id.into(),
            databases: BTreeMap::new(),
        }
    }

    /// A table, by database and table name (any case).
    pub fn table(&self, database: &str, name: &str) -> Result<&Table, ApiError> {
        let db = self
            .databases
            .get(&database.to_lowercase())
            .ok_or_else(|| not_found_database(database))?;
        db.tables
            .get(&name.to_lowercase())
            .ok_or_else(|| ApiError::EntityNotFound(format!("Table {name} not found.")))
    }

    /// One Glue operation on a JSON 1.1 request.
    pub fn call(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let body = Body::new(request)?;
        match operation {
            "CreateDatabase" => self.create_database(&body, now_ms),
            "GetDatabase" => {
                let name = self.read_name(&body, "Name", "name")?;
                let db = self
                    .databases
                    .get(&name)
                    .ok_or_else(|| not_found_database(&name))?;
                Ok(json!({"Database": self.describe_database(db)}))
            }
            "GetDatabases" => Ok(json!({
                "DatabaseList": self
                    .databases
                    .values()
                    .map(|d| self.describe_database(d))
                    .collect::<Vec<_>>(),
            })),
            "DeleteDatabase" => {
                let name = self.read_name(&body, "Name", "name")?;
                self.databases
                    .remove(&name)
                    .ok_or_else(|| not_found_database(&name))?;
                Ok(json!({}))
            }
            "CreateTable" => self.create_table(&body, request, now_ms),
            "GetTable" => {
                let db = self.read_name(&body, "DatabaseName", "databaseName")?;
                let name = self.read_name(&body, "Name", "name")?;
                let table = self.table(&db, &name)?;
                Ok(json!({"Table": self.describe_table(table)}))
            }
            "GetTables" => {
                let db = self.read_name(&body, "DatabaseName", "databaseName")?;
                let tables = &self
                    .databases
                    .get(&db)
                    .ok_or_else(|| not_found_database(&db))?
                    .tables;
                Ok(json!({
                    "TableList": tables.values().map(|t| self.describe_table(t)).collect::<Vec<_>>(),
                }))
            }
            "DeleteTable" => {
                let db = self.read_name(&body, "DatabaseName", "databaseName")?;
                let name = self.read_name(&body, "Name", "name")?;
                let database = self
                    .databases
                    .get_mut(&db)
                    .ok_or_else(|| not_found_database(&db))?;
                database
                    .tables
                    .remove(&name)
                    .ok_or_else(|| ApiError::EntityNotFound(format!("Table {name} not found.")))?;
                Ok(json!({}))
            }
            other => Err(ApiError::UnknownOperation(format!(
                "AWSGlue.{other} is not served by Shardlab; its Glue Data Catalog answers \
                 CreateDatabase, GetDatabase, GetDatabases, DeleteDatabase, CreateTable, \
                 GetTable, GetTables and DeleteTable."
            ))),
        }
    }

    fn read_name(&self, body: &Body, member: &str, path: &str) -> Result<String, ApiError> {
        let value = body.str(member)?;
        let mut v = Validation::new();
        name_rules(&mut v, value, path);
        v.finish()?;
        Ok(value.unwrap_or_default().to_lowercase())
    }

    fn create_database(&mut self, body: &Body, now_ms: u64) -> Result<Value, ApiError> {
        let input = body.object("DatabaseInput")?;
        let mut v = Validation::new();
        v.required(&input, "databaseInput");
        v.finish()?;
        let input = input.expect("checked");
        let name = self.read_name(&input, "Name", "databaseInput.name")?;
        if self.databases.contains_key(&name) {
            return Err(ApiError::AlreadyExists("Database already exists.".into()));
        }
        let description = input.str("Description")?.map(str::to_string);
        self.databases.insert(
            name.clone(),
            Database {
                name,
                description,
                created_ms: now_ms,
                tables: BTreeMap::new(),
            },
        );
        Ok(json!({}))
    }

    fn create_table(
        &mut self,
        body: &Body,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let db = self.read_name(body, "DatabaseName", "databaseName")?;
        let input = body.object("TableInput")?;
        let mut v = Validation::new();
        v.required(&input, "tableInput");
        v.finish()?;
        let input = input.expect("checked");
        let name = self.read_name(&input, "Name", "tableInput.name")?;
        let mut columns = Vec::new();
        if let Some(sd) = input.object("StorageDescriptor")? {
            for (i, c) in sd
                .array("Columns")?
                .cloned()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let c = Body::new(c)?;
                let path = format!("tableInput.storageDescriptor.columns.{}", i + 1);
                let cname = c.str("Name")?;
                let mut v = Validation::new();
                name_rules(&mut v, cname, &format!("{path}.name"));
                v.length(c.str("Type")?, &format!("{path}.type"), 0, 131_072);
                v.finish()?;
                columns.push(Column {
                    name: cname.unwrap_or_default().to_lowercase(),
                    type_text: c.str("Type")?.unwrap_or("").to_string(),
                });
            }
        }
        let catalog_db = self
            .databases
            .get_mut(&db)
            .ok_or_else(|| not_found_database(&db))?;
        if catalog_db.tables.contains_key(&name) {
            return Err(ApiError::AlreadyExists("Table already exists.".into()));
        }
        let mut kept = request
            .get("TableInput")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Value::Object(m) = &mut kept {
            m.remove("Name");
        }
        catalog_db.tables.insert(
            name.clone(),
            Table {
                name,
                database: db,
                columns,
                created_ms: now_ms,
                input: kept,
            },
        );
        Ok(json!({}))
    }

    fn describe_database(&self, d: &Database) -> Value {
        let mut out = json!({
            "Name": d.name,
            "CreateTime": epoch_seconds(d.created_ms),
            "CatalogId": self.account_id,
        });
        if let Some(desc) = &d.description {
            out["Description"] = json!(desc);
        }
        out
    }

    fn describe_table(&self, t: &Table) -> Value {
        let mut out = t.input.clone();
        if !out.is_object() {
            out = json!({});
        }
        out["Name"] = json!(t.name);
        out["DatabaseName"] = json!(t.database);
        out["CreateTime"] = epoch_seconds(t.created_ms);
        out["UpdateTime"] = epoch_seconds(t.created_ms);
        out["Retention"] = json!(0);
        out["CatalogId"] = json!(self.account_id);
        out["VersionId"] = json!("0");
        out["IsRegisteredWithLakeFormation"] = json!(false);
        if out.get("PartitionKeys").is_none() {
            out["PartitionKeys"] = json!([]);
        }
        // The columns as stored: names in lower case.
        let columns: Vec<Value> = t
            .columns
            .iter()
            .map(|c| json!({"Name": c.name, "Type": c.type_text}))
            .collect();
        if out.get("StorageDescriptor").is_none_or(|s| !s.is_object()) {
            out["StorageDescriptor"] = json!({});
        }
        out["StorageDescriptor"]["Columns"] = json!(columns);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let mut c = Catalog::new("123456789012");
        c.call(
            "CreateDatabase",
            &json!({"DatabaseInput": {"Name": "Lab"}}),
            1_000,
        )
        .unwrap();
        c
    }

    #[test]
    fn tables_are_created_read_and_deleted_with_glues_errors() {
        let mut c = catalog();
        let table = json!({"DatabaseName": "lab", "TableInput": {
            "Name": "Clicks",
            "StorageDescriptor": {"Columns": [
                {"Name": "User_Id", "Type": "string"},
                {"Name": "qty", "Type": "int"}
            ]}
        }});
        c.call("CreateTable", &table, 2_000).unwrap();
        let err = c.call("CreateTable", &table, 2_000).unwrap_err();
        assert_eq!(err.name(), "AlreadyExistsException");
        assert_eq!(err.message(), "Table already exists.");
        let got = c
            .call(
                "GetTable",
                &json!({"DatabaseName": "LAB", "Name": "clicks"}),
                3_000,
            )
            .unwrap();
        assert_eq!(got["Table"]["Name"], "clicks");
        assert_eq!(got["Table"]["DatabaseName"], "lab");
        assert_eq!(
            got["Table"]["StorageDescriptor"]["Columns"][0],
            json!({"Name": "user_id", "Type": "string"})
        );
        let err = c
            .call(
                "GetTable",
                &json!({"DatabaseName": "lab", "Name": "views"}),
                3_000,
            )
            .unwrap_err();
        assert_eq!(err.name(), "EntityNotFoundException");
        assert_eq!(err.message(), "Table views not found.");
        assert!(String::from_utf8(err.body())
            .unwrap()
            .contains("\"Message\""));
        let err = c
            .call(
                "CreateTable",
                &json!({"DatabaseName": "other", "TableInput": {"Name": "t"}}),
                0,
            )
            .unwrap_err();
        assert_eq!(err.message(), "Database other not found.");
        let err = c
            .call(
                "CreateDatabase",
                &json!({"DatabaseInput": {"Name": "lab"}}),
                0,
            )
            .unwrap_err();
        assert_eq!(err.message(), "Database already exists.");
        let err = c
            .call("CreateTable", &json!({"DatabaseName": "lab"}), 0)
            .unwrap_err();
        assert_eq!(err.name(), "ValidationException");
        c.call(
            "DeleteTable",
            &json!({"DatabaseName": "lab", "Name": "clicks"}),
            0,
        )
        .unwrap();
        assert!(c.table("lab", "clicks").is_err());
    }

    #[test]
    fn column_types_read_as_hive_writes_them() {
        assert_eq!(ColumnType::parse("INT"), Ok(ColumnType::Int));
        assert_eq!(
            ColumnType::parse("decimal(10, 2)"),
            Ok(ColumnType::Decimal {
                precision: 10,
                scale: 2
            })
        );
        assert_eq!(
            ColumnType::parse("varchar(20)"),
            Ok(ColumnType::Varchar(20))
        );
        assert!(ColumnType::parse("struct<a:int>")
            .unwrap_err()
            .contains("nested"));
        assert!(ColumnType::parse("decimal(40,2)").is_err());
        assert!(ColumnType::parse("text")
            .unwrap_err()
            .contains("not a Hive column type"));
        for t in [
            "string",
            "char(3)",
            "bigint",
            "decimal(38,10)",
            "timestamp",
            "date",
        ] {
            assert_eq!(ColumnType::parse(t).unwrap().name(), t);
        }
    }
}
