//! The SQLite peer: rusqlite with the bundled SQLite, an in-memory database.
//!
//! # Schema
//!
//! One denormalised table, `usage`, with the 21 fields of a record plus three
//! derived columns (`username_folded`, `by_year`, `by_month`). A schema
//! normalised like upstream (customer, project, offering, resource, component
//! usage, user usage tables) would need joins for every filter and could not
//! have composite indexes across the tables (customer + billing period + date
//! order); for these read queries the single table is the fastest design. Its
//! cost is on entity changes (renaming a customer rewrites its rows), which
//! these benchmarks do not exercise.
//!
//! Encodings: uuids as 16-byte BLOBs (memcmp order = the store's byte order),
//! `usage` as integer cents, timestamps as integer microseconds since the
//! epoch (UTC), `billing_period` as days from the common era. Text uses the
//! BINARY collation: UTF-8 byte order = Unicode code point order (SPEC §2.2).
//!
//! Semantics: `username` icontains uses `instr(username_folded, ?)` where
//! both sides are folded by Rust's `str::to_lowercase` (SQLite's `lower()`
//! folds ASCII only, SPEC §2.1 needs Unicode lowercase mapping); `%` and `_`
//! are literal for `instr`. The UTC date range becomes a range on the
//! microsecond timestamp: `date >= midnight(after) AND date < midnight(before + 1)`.

use chrono::{DateTime, Datelike, NaiveDate};
use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};
use usage_store::{CompactString, Record, SortField, Usage};
use uuid::Uuid;

use super::{Answer, Op, Spec};

/// The 21 record fields, in canonical order.
pub(crate) const FIELDS: &str = "uuid, user, username, component_usage, usage, measured_unit, \
    description, created, modified, backend_id, resource_name, resource_uuid, offering_name, \
    offering_uuid, project_name, project_uuid, customer_name, customer_uuid, component_type, \
    date, billing_period";

const SCHEMA: &str = "
CREATE TABLE usage (
    id INTEGER PRIMARY KEY,
    uuid BLOB NOT NULL,
    user BLOB,
    username TEXT NOT NULL,
    component_usage BLOB NOT NULL,
    usage INTEGER NOT NULL,
    measured_unit TEXT NOT NULL,
    description TEXT NOT NULL,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    backend_id TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_uuid BLOB NOT NULL,
    offering_name TEXT NOT NULL,
    offering_uuid BLOB NOT NULL,
    project_name TEXT NOT NULL,
    project_uuid BLOB NOT NULL,
    customer_name TEXT NOT NULL,
    customer_uuid BLOB NOT NULL,
    component_type TEXT NOT NULL,
    date INTEGER NOT NULL,
    billing_period INTEGER NOT NULL,
    by_year INTEGER NOT NULL,
    by_month INTEGER NOT NULL
);
CREATE TABLE usernames (
    username TEXT PRIMARY KEY,
    folded TEXT NOT NULL
) WITHOUT ROWID;
";

/// The indexes, each named after the queries it serves. Every one ends with
/// the default order (`date DESC, component_type, uuid`) where it serves a
/// page, so SQLite walks the page in index order instead of sorting.
pub(crate) const INDEXES: &str = "
CREATE UNIQUE INDEX usage_uuid ON usage (uuid);
CREATE UNIQUE INDEX usage_natural_key ON usage (component_usage, username);
CREATE INDEX usage_customer_ym ON usage (customer_uuid, by_year, by_month, date DESC, component_type, uuid);
CREATE INDEX usage_customer_period ON usage (customer_uuid, billing_period, date DESC, component_type, uuid);
CREATE INDEX usage_resource_period ON usage (resource_uuid, billing_period, date DESC, component_type, uuid);
CREATE INDEX usage_project_date ON usage (project_uuid, date DESC, component_type, uuid);
CREATE INDEX usage_type_usage ON usage (component_type, usage DESC, date DESC, uuid);
CREATE INDEX usage_username ON usage (username, date DESC, component_type, uuid);
CREATE INDEX usage_customer_type ON usage (customer_uuid, component_type, date DESC, uuid);
CREATE INDEX usage_project_type ON usage (project_uuid, component_type, date DESC, uuid);
CREATE INDEX usage_default ON usage (date DESC, component_type, uuid);
";

const INSERT_COLUMNS: &str = "uuid, user, username, component_usage, usage, measured_unit, \
    description, created, modified, backend_id, resource_name, resource_uuid, offering_name, \
    offering_uuid, project_name, project_uuid, customer_name, customer_uuid, component_type, \
    date, billing_period, by_year, by_month";

const PLACEHOLDERS: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
     ?21, ?22, ?23";

/// An in-memory SQLite database holding the records.
pub(crate) struct Sqlite {
    pub(crate) conn: Connection,
}

/// A case translated to SQL: statements and their parameters, built once.
pub(crate) struct Prepared {
    op: Op,
    count_sql: String,
    page_sql: String,
    params: Vec<Value>,
}

impl Sqlite {
    /// An empty database with the table and, when `indexes`, the indexes.
    pub(crate) fn new(indexes: bool) -> Sqlite {
        let conn = Connection::open_in_memory().expect("open :memory:");
        conn.set_prepared_statement_cache_capacity(64);
        // Query planner stability guarantee: without it, SQLite marks a
        // statement for re-preparation (parse and plan again) whenever a
        // parameter its plan looked at is re-bound (`LIMIT ?`, and with the
        // bundled build's STAT4, indexed equalities), i.e. on every query.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .expect("QPSG");
        conn.execute_batch(
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;",
        )
        .expect("pragmas");
        conn.execute_batch(SCHEMA).expect("schema");
        if indexes {
            conn.execute_batch(INDEXES).expect("indexes");
        }
        Sqlite { conn }
    }

    /// Creates the indexes (after a bulk insert into `Sqlite::new(false)`).
    pub(crate) fn create_indexes(&self) {
        self.conn.execute_batch(INDEXES).expect("indexes");
    }

    /// A loaded database: table, insert, then indexes (the fastest bulk load), then `ANALYZE`.
    pub(crate) fn load(records: &[Record]) -> Sqlite {
        let db = Sqlite::new(false);
        db.insert(records);
        db.create_indexes();
        db.analyze();
        db
    }

    /// `ANALYZE`: statistics for the planner. Without them SQLite answers
    /// `scoped` by walking the component type's index instead of the union
    /// of the scope's customer and project indexes.
    pub(crate) fn analyze(&self) {
        self.conn.execute_batch("ANALYZE").expect("analyze");
    }

    /// Inserts records in one transaction with one prepared statement.
    pub(crate) fn insert(&self, records: &[Record]) {
        let tx = self.conn.unchecked_transaction().expect("begin");
        {
            let mut st = tx
                .prepare_cached(&format!(
                    "INSERT INTO usage ({INSERT_COLUMNS}) VALUES ({PLACEHOLDERS})"
                ))
                .expect("prepare insert");
            for r in records {
                bind_record(&mut st, r);
                st.raw_execute().expect("insert");
            }
        }
        add_usernames(&tx, records);
        tx.commit().expect("commit");
    }

    /// Upserts full records (`INSERT … ON CONFLICT(uuid) DO UPDATE SET` every column) in one transaction.
    pub(crate) fn upsert(&self, records: &[Record]) {
        let tx = self.conn.unchecked_transaction().expect("begin");
        {
            let mut st = tx.prepare_cached(upsert_sql()).expect("prepare upsert");
            for r in records {
                bind_record(&mut st, r);
                st.raw_execute().expect("upsert");
            }
        }
        add_usernames(&tx, records);
        tx.commit().expect("commit");
    }

    /// One site agent's report, in one transaction: the record upserted
    /// in full, and its component usage's other records given its `date`
    /// (a component usage's date is theirs too, as in the store).
    pub(crate) fn report(&self, r: &Record) {
        let tx = self.conn.unchecked_transaction().expect("begin");
        {
            let mut st = tx.prepare_cached(upsert_sql()).expect("prepare upsert");
            bind_record(&mut st, r);
            st.raw_execute().expect("upsert");
            tx.prepare_cached(
                "UPDATE usage SET date = ?1 WHERE component_usage = ?2 AND date != ?1",
            )
            .expect("prepare re-date")
            .execute((r.date.timestamp_micros(), &r.component_usage.as_bytes()[..]))
            .expect("re-date");
        }
        add_usernames(&tx, std::slice::from_ref(r));
        tx.commit().expect("commit");
    }

    /// Updates only `usage` and `modified` by uuid, in one transaction (a
    /// writer that knows which columns changed).
    pub(crate) fn update_usage(&self, records: &[Record]) {
        let tx = self.conn.unchecked_transaction().expect("begin");
        {
            let mut st = tx
                .prepare_cached("UPDATE usage SET usage = ?1, modified = ?2 WHERE uuid = ?3")
                .expect("prepare update");
            for r in records {
                st.execute((
                    r.usage.cents(),
                    r.modified.timestamp_micros(),
                    &r.uuid.as_bytes()[..],
                ))
                .expect("update");
            }
        }
        tx.commit().expect("commit");
    }

    /// `page_count × page_size` of the main database, in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        let count: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("page_count");
        let size: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page_size");
        (count * size) as u64
    }

    /// Translates a case to SQL once.
    pub(crate) fn prepare(&self, op: &Op) -> Prepared {
        let mut params = Vec::new();
        let (count_sql, page_sql) = match op {
            Op::Get(_) => (
                String::new(),
                format!("SELECT {FIELDS} FROM usage WHERE uuid = ?1"),
            ),
            Op::List(spec) | Op::Count(spec) => {
                let w = where_clause(spec, &mut params);
                let order = order_by(spec);
                let n = params.len();
                (
                    format!("SELECT COUNT(*) FROM usage{w}"),
                    format!(
                        "SELECT {FIELDS} FROM usage{w} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
                        n + 1,
                        n + 2
                    ),
                )
            }
        };
        Prepared {
            op: op.clone(),
            count_sql,
            page_sql,
            params,
        }
    }

    /// Runs a prepared case: `SELECT COUNT(*)`, then the page query.
    pub(crate) fn run(&self, p: &Prepared) -> Answer {
        match &p.op {
            Op::Get(uuid) => {
                let mut st = self.conn.prepare_cached(&p.page_sql).expect("prepare");
                let mut rows = st.query([&uuid.as_bytes()[..]]).expect("query");
                let records = match rows.next().expect("step") {
                    Some(row) => vec![record_from_row(row).expect("decode")],
                    None => Vec::new(),
                };
                Answer {
                    count: records.len() as u64,
                    records,
                }
            }
            Op::Count(_) => Answer {
                count: self.count(p),
                records: Vec::new(),
            },
            Op::List(spec) => {
                let count = self.count(p);
                let (offset, len) = spec.window(count);
                let mut st = self.conn.prepare_cached(&p.page_sql).expect("prepare");
                let limit = Value::Integer(len as i64);
                let offset = Value::Integer(offset as i64);
                let params = p.params.iter().chain([&limit, &offset]);
                let mut rows = st.query(params_from_iter(params)).expect("query");
                let mut records = Vec::with_capacity(len);
                while let Some(row) = rows.next().expect("step") {
                    records.push(record_from_row(row).expect("decode"));
                }
                Answer { count, records }
            }
        }
    }

    fn count(&self, p: &Prepared) -> u64 {
        let mut st = self.conn.prepare_cached(&p.count_sql).expect("prepare");
        let n: i64 = st
            .query_row(params_from_iter(p.params.iter()), |r| r.get(0))
            .expect("count");
        n as u64
    }

    /// `EXPLAIN QUERY PLAN` of a prepared case's statements, for checking index use.
    pub(crate) fn explain(&self, p: &Prepared) -> String {
        let mut out = String::new();
        for (what, sql, extra) in [
            ("count", &p.count_sql, 0),
            (
                "page",
                &p.page_sql,
                if p.count_sql.is_empty() { 0 } else { 2 },
            ),
        ] {
            if sql.is_empty() {
                continue;
            }
            let mut params: Vec<Value> = match &p.op {
                Op::Get(u) => vec![Value::Blob(u.as_bytes().to_vec())],
                _ => p.params.clone(),
            };
            params.extend((0..extra).map(|_| Value::Integer(10)));
            let mut st = self
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("explain");
            let mut rows = st.query(params_from_iter(params)).expect("explain");
            out.push_str(what);
            out.push(':');
            while let Some(row) = rows.next().expect("step") {
                let detail: String = row.get(3).expect("detail");
                out.push_str(" | ");
                out.push_str(&detail);
            }
            out.push('\n');
        }
        out
    }
}

/// `INSERT … ON CONFLICT(uuid) DO UPDATE SET` every column, built once:
/// a single report would otherwise time the building of its text (22
/// `format!`s, about 2 µs) on SQLite's side only.
fn upsert_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let set: Vec<String> = INSERT_COLUMNS
            .split(", ")
            .skip(1)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO usage ({INSERT_COLUMNS}) VALUES ({PLACEHOLDERS}) \
             ON CONFLICT(uuid) DO UPDATE SET {}",
            set.join(", ")
        )
    });
    &SQL
}

/// Adds the batch's distinct usernames, with their folded form, to the
/// `usernames` dictionary (`INSERT OR IGNORE`; entries are never removed:
/// a stale one matches no record).
fn add_usernames(conn: &Connection, records: &[Record]) {
    let mut seen = std::collections::HashSet::new();
    let mut st = conn
        .prepare_cached("INSERT OR IGNORE INTO usernames (username, folded) VALUES (?1, ?2)")
        .expect("prepare usernames");
    for r in records {
        if seen.insert(r.username.as_str()) {
            st.execute((r.username.as_str(), r.username.as_str().to_lowercase()))
                .expect("username");
        }
    }
}

fn where_clause(spec: &Spec, params: &mut Vec<Value>) -> String {
    let mut terms: Vec<String> = Vec::new();
    let bind = |params: &mut Vec<Value>, v: Value| {
        params.push(v);
        format!("?{}", params.len())
    };
    let blob = |u: &Uuid| Value::Blob(u.as_bytes().to_vec());
    if let Some(u) = &spec.customer {
        terms.push(format!("customer_uuid = {}", bind(params, blob(u))));
    }
    if let Some(u) = &spec.project {
        terms.push(format!("project_uuid = {}", bind(params, blob(u))));
    }
    if let Some(u) = &spec.resource {
        terms.push(format!("resource_uuid = {}", bind(params, blob(u))));
    }
    if let Some(t) = &spec.component_type {
        terms.push(format!(
            "component_type = {}",
            bind(params, Value::Text(t.clone()))
        ));
    }
    if let Some(y) = spec.year {
        terms.push(format!(
            "by_year = {}",
            bind(params, Value::Integer(y.into()))
        ));
    }
    if let Some(m) = spec.month {
        terms.push(format!(
            "by_month = {}",
            bind(params, Value::Integer(m.into()))
        ));
    }
    if let Some(d) = spec.billing_period {
        terms.push(format!(
            "billing_period = {}",
            bind(params, Value::Integer(d.num_days_from_ce().into()))
        ));
    }
    if let Some(d) = spec.date_after {
        terms.push(format!(
            "date >= {}",
            bind(params, Value::Integer(midnight_micros(d)))
        ));
    }
    if let Some(d) = spec.date_before {
        let next = d.succ_opt().expect("date in range");
        terms.push(format!(
            "date < {}",
            bind(params, Value::Integer(midnight_micros(next)))
        ));
    }
    if let Some(n) = spec.needle_folded() {
        terms.push(format!(
            "username IN (SELECT username FROM usernames WHERE instr(folded, {}) > 0)",
            bind(params, Value::Text(n))
        ));
    }
    if let Some((customers, projects)) = &spec.scope {
        let mut any = Vec::new();
        for (column, uuids) in [("customer_uuid", customers), ("project_uuid", projects)] {
            if uuids.is_empty() {
                continue;
            }
            let list: Vec<String> = uuids.iter().map(|u| bind(params, blob(u))).collect();
            any.push(format!("{column} IN ({})", list.join(", ")));
        }
        if any.is_empty() {
            any.push("0".into());
        }
        terms.push(format!("({})", any.join(" OR ")));
    }
    if terms.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", terms.join(" AND "))
    }
}

fn order_by(spec: &Spec) -> String {
    let mut keys: Vec<String> = spec
        .order
        .iter()
        .map(|&(f, desc)| {
            let col = match f {
                SortField::Usage => "usage",
                SortField::Username => "username",
                SortField::BillingPeriod => "billing_period",
            };
            format!("{col} {}", if desc { "DESC" } else { "ASC" })
        })
        .collect();
    keys.extend(["date DESC", "component_type ASC", "uuid ASC"].map(String::from));
    keys.join(", ")
}

fn midnight_micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros()
}

fn bind_record(st: &mut rusqlite::CachedStatement<'_>, r: &Record) {
    let b = |st: &mut rusqlite::CachedStatement<'_>, i: usize, v: &dyn rusqlite::ToSql| {
        st.raw_bind_parameter(i, v).expect("bind");
    };
    b(st, 1, &&r.uuid.as_bytes()[..]);
    b(st, 2, &r.user.as_ref().map(|u| &u.as_bytes()[..]));
    b(st, 3, &r.username.as_str());
    b(st, 4, &&r.component_usage.as_bytes()[..]);
    b(st, 5, &r.usage.cents());
    b(st, 6, &r.measured_unit.as_str());
    b(st, 7, &r.description.as_str());
    b(st, 8, &r.created.timestamp_micros());
    b(st, 9, &r.modified.timestamp_micros());
    b(st, 10, &r.backend_id.as_str());
    b(st, 11, &r.resource_name.as_str());
    b(st, 12, &&r.resource_uuid.as_bytes()[..]);
    b(st, 13, &r.offering_name.as_str());
    b(st, 14, &&r.offering_uuid.as_bytes()[..]);
    b(st, 15, &r.project_name.as_str());
    b(st, 16, &&r.project_uuid.as_bytes()[..]);
    b(st, 17, &r.customer_name.as_str());
    b(st, 18, &&r.customer_uuid.as_bytes()[..]);
    b(st, 19, &r.component_type.as_str());
    b(st, 20, &r.date.timestamp_micros());
    b(st, 21, &r.billing_period.num_days_from_ce());
    b(st, 22, &r.billing_period.year());
    b(st, 23, &r.billing_period.month());
}

fn uuid_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let b = row.get_ref(i)?.as_blob()?;
    Uuid::from_slice(b).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
    })
}

/// A text column as a [`CompactString`], read in place: inline up to 24 bytes,
/// as the store's owned records are (no `String` in between).
fn text_at(row: &Row<'_>, i: usize) -> rusqlite::Result<CompactString> {
    Ok(CompactString::from(row.get_ref(i)?.as_str()?))
}

fn time_at(row: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<chrono::Utc>> {
    let us: i64 = row.get(i)?;
    Ok(DateTime::from_timestamp_micros(us).expect("timestamp in range"))
}

/// Decodes one row of [`FIELDS`] into an owned record.
pub(crate) fn record_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    let user = row
        .get_ref(1)?
        .as_blob_or_null()?
        .map(|b| Uuid::from_slice(b).expect("16 bytes"));
    Ok(Record {
        uuid: uuid_at(row, 0)?,
        user,
        username: text_at(row, 2)?,
        component_usage: uuid_at(row, 3)?,
        usage: Usage::from_cents(row.get(4)?),
        measured_unit: text_at(row, 5)?,
        description: text_at(row, 6)?,
        created: time_at(row, 7)?,
        modified: time_at(row, 8)?,
        backend_id: text_at(row, 9)?,
        resource_name: text_at(row, 10)?,
        resource_uuid: uuid_at(row, 11)?,
        offering_name: text_at(row, 12)?,
        offering_uuid: uuid_at(row, 13)?,
        project_name: text_at(row, 14)?,
        project_uuid: uuid_at(row, 15)?,
        customer_name: text_at(row, 16)?,
        customer_uuid: uuid_at(row, 17)?,
        component_type: text_at(row, 18)?,
        date: time_at(row, 19)?,
        billing_period: NaiveDate::from_num_days_from_ce_opt(row.get(20)?).expect("date in range"),
    })
}
