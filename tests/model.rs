//! Model test (in the style of indexmap's `tests/quick.rs`): random sequences
//! of writes, queries and lookups run against the real [`Store`] and against
//! a naive model written from SPEC.md alone — a `Vec` of records plus entity
//! maps, filters as `Vec::retain`, ordering as a comparator, pagination as a
//! slice. After every operation the store's internal invariants are checked
//! (`Store::validate`) and its whole content is compared with the model's.
//!
//! Key spaces are tiny on purpose (8 record uuids, 4 component usages, 3
//! resources, 3 projects, 2 offerings, 2 customers, 6 usernames, 3 component
//! types) so that natural keys collide, entities get renamed and moved, and
//! sort keys tie.
//!
//! The model and the runner do not depend on proptest, so the fuzz target
//! (`fuzz/fuzz_targets/model.rs`) reuses this file with
//! `#[path = "../../tests/model.rs"] mod model;` and drives [`run_on`] with
//! its own [`Op`] generator; the proptest strategies live in the
//! `#[cfg(test)]` module at the end.

// Test support code: public so a fuzz target can include it; not all of it
// is used by every includer, and it is not API documentation.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use usage_store::{
    Field, FieldSet, OrderKey, PageSpec, Query, QueryError, Record, Scope, SortField, Store, Usage,
    WriteError, WriteOutcome, WriteSummary,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Key spaces
// ---------------------------------------------------------------------------

/// Record uuids; the last one is never written (lookups of an absent uuid).
pub static RECORD_UUIDS: [u128; 9] = [
    0x9a3c_0000_0000_4000_8000_0000_0000_0001,
    0x0100_0000_0000_4000_8000_0000_0000_00ff,
    0xff00_0000_0000_4000_8000_0000_0000_0002,
    0x5c00_0000_0000_4000_8000_0000_0000_0003,
    0x0100_0000_0000_4000_8000_0000_0000_0004,
    0x7777_0000_0000_4000_8000_0000_0000_0005,
    0xa000_0000_0000_4000_8000_0000_0000_0006,
    0x0000_0000_0000_4000_8000_0000_0000_0007,
    0xdead_beef_0000_4000_8000_0000_0000_0008,
];
/// Number of record uuids that records are written with.
pub const WRITTEN_UUIDS: usize = 8;
pub static CU_UUIDS: [u128; 4] = [
    0xc0c0_0000_0000_4000_8000_0000_0000_0001,
    0xc0c0_0000_0000_4000_8000_0000_0000_0002,
    0xc0c0_0000_0000_4000_8000_0000_0000_0003,
    0xc0c0_0000_0000_4000_8000_0000_0000_0004,
];
/// Resources, projects, offerings and customers: the last entry of each pool
/// is never written (filters on an unknown entity).
pub static RESOURCE_UUIDS: [u128; 4] = [
    0x3e50_0000_0000_4000_8000_0000_0000_0001,
    0x3e50_0000_0000_4000_8000_0000_0000_0002,
    0x3e50_0000_0000_4000_8000_0000_0000_0003,
    0x3e50_0000_0000_4000_8000_0000_0000_00ff,
];
pub static PROJECT_UUIDS: [u128; 4] = [
    0x9a0c_0000_0000_4000_8000_0000_0000_0001,
    0x9a0c_0000_0000_4000_8000_0000_0000_0002,
    0x9a0c_0000_0000_4000_8000_0000_0000_0003,
    0x9a0c_0000_0000_4000_8000_0000_0000_00ff,
];
pub static OFFERING_UUIDS: [u128; 3] = [
    0x0ffe_0000_0000_4000_8000_0000_0000_0001,
    0x0ffe_0000_0000_4000_8000_0000_0000_0002,
    0x0ffe_0000_0000_4000_8000_0000_0000_00ff,
];
pub static CUSTOMER_UUIDS: [u128; 3] = [
    0xc057_0000_0000_4000_8000_0000_0000_0001,
    0xc057_0000_0000_4000_8000_0000_0000_0002,
    0xc057_0000_0000_4000_8000_0000_0000_00ff,
];
pub static USER_UUIDS: [u128; 3] = [
    0x0de0_0000_0000_4000_8000_0000_0000_0001,
    0x0de0_0000_0000_4000_8000_0000_0000_0002,
    0x0de0_0000_0000_4000_8000_0000_0000_0003,
];
pub static USERNAMES: [&str; 6] = ["ann", "Ann", "JOANNA", "Élodie", "50%off", "a_b"];
pub static COMPONENT_TYPES: [&str; 3] = ["cpu", "ram", "storage"];
pub static RESOURCE_NAMES: [&str; 2] = ["vm-1", "vm-2"];
pub static OFFERING_NAMES: [&str; 2] = ["HPC", "Cloud"];
pub static PROJECT_NAMES: [&str; 2] = ["Climate", "Physics"];
pub static CUSTOMER_NAMES: [&str; 2] = ["University", "Lab"];
/// Report dates: a few days around month ends, with ties.
pub static DATES: [&str; 9] = [
    "2024-12-31T23:59:59Z",
    "2025-01-30T12:00:00Z",
    "2025-01-31T00:00:00Z",
    "2025-01-31T23:59:59.999999Z",
    "2025-01-31T23:59:59.999999999Z",
    "2025-02-01T00:00:00Z",
    "2025-02-28T23:00:00.250000Z",
    "2025-03-01T00:00:00Z",
    "2025-03-31T10:00:00Z",
];
pub static USAGE_CENTS: [i64; 9] = [0, 1, 50, 100, 1250, 1250, 99_999, -5, 100_000_000_000];

pub fn uuid(pool: &[u128], i: usize) -> Uuid {
    Uuid::from_u128(pool[i])
}

pub fn ts(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid timestamp literal")
}

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date literal")
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// A visibility scope by indexes into the entity pools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSpec {
    pub everything: bool,
    pub customers: Vec<usize>,
    pub projects: Vec<usize>,
    pub offerings: Vec<usize>,
}

impl ScopeSpec {
    pub fn everything() -> ScopeSpec {
        ScopeSpec {
            everything: true,
            customers: Vec::new(),
            projects: Vec::new(),
            offerings: Vec::new(),
        }
    }

    pub fn to_scope(&self) -> Scope {
        if self.everything {
            return Scope::everything();
        }
        let mut s = Scope::nothing();
        for &c in &self.customers {
            s = s.with_customer(uuid(&CUSTOMER_UUIDS, c));
        }
        for &p in &self.projects {
            s = s.with_project(uuid(&PROJECT_UUIDS, p));
        }
        for &o in &self.offerings {
            s = s.with_offering(uuid(&OFFERING_UUIDS, o));
        }
        s
    }

    /// Whether the model sees a (resolved) record.
    pub fn sees(&self, r: &Record) -> bool {
        self.everything
            || self
                .customers
                .iter()
                .any(|&c| uuid(&CUSTOMER_UUIDS, c) == r.customer_uuid)
            || self
                .projects
                .iter()
                .any(|&p| uuid(&PROJECT_UUIDS, p) == r.project_uuid)
            || self
                .offerings
                .iter()
                .any(|&o| uuid(&OFFERING_UUIDS, o) == r.offering_uuid)
    }
}

/// One step of a test case.
#[derive(Debug, Clone)]
pub enum Op {
    /// `Store::upsert`.
    Upsert(Box<Record>),
    /// `Store::upsert_batch`.
    Batch(Vec<Record>),
    /// `Store::remove` of `RECORD_UUIDS[i]`.
    Remove(usize),
    /// `Store::replace(&Filter::parse(qs), records)`.
    Replace(String, Vec<Record>),
    /// `Query::parse(qs)` then `ReadTxn::query` and `ReadTxn::count` under the scope.
    Query(String, ScopeSpec),
    /// `Store::get` of `RECORD_UUIDS[i]` under the scope.
    Get(usize, ScopeSpec),
    /// `Store::shrink_to_fit`: changes no answer.
    Shrink,
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// The fields a record owns (everything else belongs to an entity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Own {
    pub uuid: Uuid,
    pub user: Option<Uuid>,
    pub username: String,
    pub component_usage: Uuid,
    pub usage: Usage,
    pub description: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub backend_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CuAttrs {
    pub date: DateTime<Utc>,
    pub billing_period: NaiveDate,
    pub component_type: String,
    pub measured_unit: String,
    pub resource: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAttrs {
    pub name: String,
    pub offering: Uuid,
    pub project: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAttrs {
    pub name: String,
    pub customer: Uuid,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub records: Vec<Own>,
    pub cus: BTreeMap<Uuid, CuAttrs>,
    pub resources: BTreeMap<Uuid, ResourceAttrs>,
    pub projects: BTreeMap<Uuid, ProjectAttrs>,
    pub offerings: BTreeMap<Uuid, String>,
    pub customers: BTreeMap<Uuid, String>,
}

/// A write error as the model predicts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelWriteError {
    Invalid { index: usize, field: &'static str },
    Conflict { index: usize, holder: Uuid },
    OutsideFilter { index: usize },
}

/// Summary counts: (inserted, replaced, unchanged, removed).
pub type Counts = (usize, usize, usize, usize);

fn counts(s: &WriteSummary) -> Counts {
    (s.inserted, s.replaced, s.unchanged, s.removed)
}

/// SPEC §1.1: timestamps are kept to the microsecond, finer digits dropped.
pub fn truncated(r: &Record) -> Record {
    let micros = |t: DateTime<Utc>| {
        t.with_nanosecond(t.nanosecond() / 1000 * 1000)
            .expect("a valid nanosecond")
    };
    Record {
        created: micros(r.created),
        modified: micros(r.modified),
        date: micros(r.date),
        ..r.clone()
    }
}

/// The field rules of SPEC §1, first failing field in canonical order.
pub fn model_validate(r: &Record) -> Result<(), &'static str> {
    let len = |s: &str| s.chars().count();
    if r.username.is_empty() || len(&r.username) > 100 {
        return Err("username");
    }
    if len(&r.measured_unit) > 150 {
        return Err("measured_unit");
    }
    if len(&r.description) > 2000 {
        return Err("description");
    }
    if len(&r.backend_id) > 255 {
        return Err("backend_id");
    }
    if len(&r.component_type) > 50 {
        return Err("component_type");
    }
    Ok(())
}

impl Model {
    /// A stored record with its entity attributes looked up.
    pub fn resolve(&self, o: &Own) -> Record {
        let cu = &self.cus[&o.component_usage];
        let res = &self.resources[&cu.resource];
        let proj = &self.projects[&res.project];
        Record {
            uuid: o.uuid,
            user: o.user,
            username: o.username.clone().into(),
            component_usage: o.component_usage,
            usage: o.usage,
            measured_unit: cu.measured_unit.clone().into(),
            description: o.description.clone().into(),
            created: o.created,
            modified: o.modified,
            backend_id: o.backend_id.clone().into(),
            resource_name: res.name.clone().into(),
            resource_uuid: cu.resource,
            offering_name: self.offerings[&res.offering].clone().into(),
            offering_uuid: res.offering,
            project_name: proj.name.clone().into(),
            project_uuid: res.project,
            customer_name: self.customers[&proj.customer].clone().into(),
            customer_uuid: proj.customer,
            component_type: cu.component_type.clone().into(),
            date: cu.date,
            billing_period: cu.billing_period,
        }
    }

    /// Every record, resolved, sorted by uuid.
    pub fn all(&self) -> Vec<Record> {
        let mut v: Vec<Record> = self.records.iter().map(|o| self.resolve(o)).collect();
        v.sort_by(|a, b| a.uuid.as_bytes().cmp(b.uuid.as_bytes()));
        v
    }

    pub fn get(&self, u: Uuid) -> Option<Record> {
        self.records
            .iter()
            .find(|o| o.uuid == u)
            .map(|o| self.resolve(o))
    }

    /// Writes one record (no checks): own fields, then every entity attribute it carries.
    fn apply(&mut self, r: &Record) -> WriteOutcome {
        let before = self.get(r.uuid);
        let own = Own {
            uuid: r.uuid,
            user: r.user,
            username: r.username.to_string(),
            component_usage: r.component_usage,
            usage: r.usage,
            description: r.description.to_string(),
            created: r.created,
            modified: r.modified,
            backend_id: r.backend_id.to_string(),
        };
        match self.records.iter_mut().find(|o| o.uuid == r.uuid) {
            Some(o) => *o = own,
            None => self.records.push(own),
        }
        self.cus.insert(
            r.component_usage,
            CuAttrs {
                date: r.date,
                billing_period: r.billing_period,
                component_type: r.component_type.to_string(),
                measured_unit: r.measured_unit.to_string(),
                resource: r.resource_uuid,
            },
        );
        self.resources.insert(
            r.resource_uuid,
            ResourceAttrs {
                name: r.resource_name.to_string(),
                offering: r.offering_uuid,
                project: r.project_uuid,
            },
        );
        self.projects.insert(
            r.project_uuid,
            ProjectAttrs {
                name: r.project_name.to_string(),
                customer: r.customer_uuid,
            },
        );
        self.offerings
            .insert(r.offering_uuid, r.offering_name.to_string());
        self.customers
            .insert(r.customer_uuid, r.customer_name.to_string());
        match before {
            None => WriteOutcome::Inserted,
            Some(b) if b == *r => WriteOutcome::Unchanged,
            Some(_) => WriteOutcome::Replaced,
        }
    }

    /// A batch write (`filter` = `Some` for `replace`), all or nothing.
    pub fn write(
        &mut self,
        filter: Option<&MFilter>,
        records: &[Record],
    ) -> Result<Counts, ModelWriteError> {
        let mut sim = self.clone();
        let mut removed = 0;
        if let Some(f) = filter {
            let keep: Vec<Uuid> = records.iter().map(|r| r.uuid).collect();
            let doomed: Vec<Uuid> = self
                .records
                .iter()
                .filter(|o| !keep.contains(&o.uuid) && f.matches(&self.resolve(o)))
                .map(|o| o.uuid)
                .collect();
            removed = doomed.len();
            sim.records.retain(|o| !doomed.contains(&o.uuid));
        }
        let (mut ins, mut rep, mut unch) = (0, 0, 0);
        for (index, r) in records.iter().enumerate() {
            if let Err(field) = model_validate(r) {
                return Err(ModelWriteError::Invalid { index, field });
            }
            if let Some(f) = filter
                && !f.matches(r)
            {
                return Err(ModelWriteError::OutsideFilter { index });
            }
            if let Some(h) = sim.records.iter().find(|o| {
                o.component_usage == r.component_usage
                    && o.username == r.username
                    && o.uuid != r.uuid
            }) {
                return Err(ModelWriteError::Conflict {
                    index,
                    holder: h.uuid,
                });
            }
            match sim.apply(&truncated(r)) {
                WriteOutcome::Inserted => ins += 1,
                WriteOutcome::Replaced => rep += 1,
                WriteOutcome::Unchanged => unch += 1,
            }
        }
        *self = sim;
        Ok((ins, rep, unch, removed))
    }

    pub fn remove(&mut self, u: Uuid) -> Option<Record> {
        let r = self.get(u)?;
        self.records.retain(|o| o.uuid != u);
        Some(r)
    }

    /// A list query: filter, scope, order, page.
    pub fn query(
        &self,
        q: &MQuery,
        scope: &ScopeSpec,
    ) -> Result<(MPageInfo, Vec<Record>), InvalidPage> {
        let mut rs: Vec<Record> = self
            .records
            .iter()
            .map(|o| self.resolve(o))
            .filter(|r| scope.sees(r) && q.filter.matches(r))
            .collect();
        rs.sort_by(|a, b| model_cmp(&q.order, a, b));
        let count = rs.len() as u64;
        let size = q.page_size as u64;
        let num_pages = count.div_ceil(size).max(1);
        let number = match q.page {
            MPage::Number(n) if n >= 1 && n <= num_pages => n,
            MPage::Last => num_pages,
            _ => return Err(InvalidPage),
        };
        let start = ((number - 1) * size) as usize;
        let end = (start + q.page_size).min(rs.len());
        let page = rs.get(start..end).unwrap_or(&[]).to_vec();
        Ok((
            MPageInfo {
                count,
                number,
                num_pages,
                page_size: q.page_size,
                has_previous: number > 1,
                has_next: number < num_pages,
            },
            page,
        ))
    }
}

/// The full order: the `o` keys (first occurrence of a column only), then
/// `-date`, `component_type`, `uuid` (16 bytes).
pub fn model_cmp(order: &[(SortCol, bool)], a: &Record, b: &Record) -> Ordering {
    let mut seen: Vec<SortCol> = Vec::new();
    for &(col, desc) in order {
        if seen.contains(&col) {
            continue;
        }
        seen.push(col);
        let o = match col {
            SortCol::Period => a.billing_period.cmp(&b.billing_period),
            SortCol::Usage => a.usage.cents().cmp(&b.usage.cents()),
            SortCol::Username => a.username.chars().cmp(b.username.chars()),
        };
        let o = if desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    b.date
        .cmp(&a.date)
        .then_with(|| a.component_type.chars().cmp(b.component_type.chars()))
        .then_with(|| a.uuid.as_bytes().cmp(b.uuid.as_bytes()))
}

/// The model's `404 Invalid page.`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MPageInfo {
    pub count: u64,
    pub number: u64,
    pub num_pages: u64,
    pub page_size: usize,
    pub has_previous: bool,
    pub has_next: bool,
}

// ---------------------------------------------------------------------------
// The model's query-string parser (SPEC §2), written from the spec
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortCol {
    Period,
    Usage,
    Username,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MPage {
    Number(u64),
    Last,
    Invalid,
}

/// A parsed number filter: an integral value, or a number nothing can equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Num {
    Int(i64),
    Never,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MFilter {
    pub customer: Option<Uuid>,
    pub project: Option<Uuid>,
    pub offering: Option<Uuid>,
    pub resource_uuid: Option<Uuid>,
    /// `Some(None)`: a URL that names no resource (matches nothing).
    pub resource: Option<Option<Uuid>>,
    pub username: Option<String>,
    pub component_type: Option<String>,
    pub year: Option<Num>,
    pub month: Option<Num>,
    pub billing_period: Option<NaiveDate>,
    pub date_after: Option<NaiveDate>,
    pub date_before: Option<NaiveDate>,
}

impl MFilter {
    pub fn matches(&self, r: &Record) -> bool {
        let num = |n: Num, v: i64| matches!(n, Num::Int(x) if x == v);
        let day = r.date.date_naive();
        self.customer.is_none_or(|u| u == r.customer_uuid)
            && self.project.is_none_or(|u| u == r.project_uuid)
            && self.offering.is_none_or(|u| u == r.offering_uuid)
            && self.resource_uuid.is_none_or(|u| u == r.resource_uuid)
            && self.resource.is_none_or(|u| u == Some(r.resource_uuid))
            && self
                .username
                .as_ref()
                .is_none_or(|n| r.username.to_lowercase().contains(&n.to_lowercase()))
            && self
                .component_type
                .as_ref()
                .is_none_or(|t| *t == r.component_type)
            && self
                .year
                .is_none_or(|n| num(n, i64::from(r.billing_period.year())))
            && self
                .month
                .is_none_or(|n| num(n, i64::from(r.billing_period.month())))
            && self.billing_period.is_none_or(|d| d == r.billing_period)
            && self.date_after.is_none_or(|d| day >= d)
            && self.date_before.is_none_or(|d| day <= d)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MQuery {
    pub filter: MFilter,
    /// Every `o` key, in the order given (repeats included).
    pub order: Vec<(SortCol, bool)>,
    pub page: MPage,
    pub page_size: usize,
    /// `None`: all fields.
    pub fields: Option<Vec<Field>>,
}

/// Parameter errors in declaration order: `(parameter, messages)`.
pub type MErrors = Vec<(String, Vec<String>)>;

/// `application/x-www-form-urlencoded` parsing: `&`-separated, first `=`
/// splits name from value, `+` is a space, `%XX` decoded (a stray `%` stays),
/// invalid UTF-8 replaced.
pub fn decode_form(qs: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit() =>
                {
                    let h = |c: u8| (c as char).to_digit(16).expect("hex digit") as u8;
                    out.push(h(b[i + 1]) * 16 + h(b[i + 2]));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    qs.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(n), dec(v))
        })
        .collect()
}

/// Python's `uuid.UUID(s)`: drop `urn:` then `uuid:` (case-sensitive), strip
/// braces at both ends, drop hyphens, then exactly 32 hex digits.
pub fn model_uuid(s: &str) -> Option<Uuid> {
    let s = s.trim().replace("urn:", "").replace("uuid:", "");
    let s = s.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if s.len() != 32 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&s, 16).ok().map(Uuid::from_u128)
}

/// The resource a `resource` URL names: path (of an absolute, scheme-relative
/// or relative URL, without query and fragment) exactly
/// `/api/marketplace-resources/{uuid}` with an optional trailing slash.
pub fn model_resource_url(v: &str) -> Option<Uuid> {
    let v = v.split(['?', '#']).next().unwrap_or("");
    let path = if let Some((_, rest)) = v.split_once("://") {
        rest.find('/').map_or("", |i| &rest[i..])
    } else if let Some(rest) = v.strip_prefix("//") {
        rest.find('/').map_or("", |i| &rest[i..])
    } else {
        v
    };
    let rest = path.strip_prefix("/api/marketplace-resources/")?;
    let seg = rest.strip_suffix('/').unwrap_or(rest);
    if seg.is_empty() || seg.contains('/') {
        return None;
    }
    model_uuid(seg)
}

/// A decimal number `[+-]digits[.digits][e[+-]digits]` (either side of the
/// dot may be empty, not both): `None` when not a number.
pub fn model_number(s: &str) -> Option<Num> {
    let (neg, s) = match s.strip_prefix(['+', '-']) {
        Some(rest) => (s.starts_with('-'), rest),
        None => (false, s),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut e: i64 = 0;
    if let Some(x) = exp {
        let (eneg, digits) = match x.strip_prefix(['+', '-']) {
            Some(d) => (x.starts_with('-'), d),
            None => (false, x),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        e = digits.parse::<i64>().unwrap_or(1_000_000).min(1_000_000);
        if eneg {
            e = -e;
        }
    }
    let mut digits: String = format!("{int}{frac}");
    e -= frac.len() as i64;
    while digits.ends_with('0') {
        digits.pop();
        e += 1;
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(Num::Int(0));
    }
    if e < 0 || digits.len() as i64 + e > 15 {
        // A fraction, or far beyond any year or month.
        return Some(Num::Never);
    }
    let v: i64 = digits.parse::<i64>().expect("at most 15 digits") * 10i64.pow(e as u32);
    Some(Num::Int(if neg { -v } else { v }))
}

/// `YYYY-MM-DD`, month and day with one or two digits, a real calendar date.
pub fn model_date(s: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit())
    };
    if !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Optional sign and ASCII digits after trimming, saturated.
fn model_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, d) = match s.strip_prefix(['+', '-']) {
        Some(d) => (s.starts_with('-'), d),
        None => (false, s),
    };
    if d.is_empty() || !d.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v = d.bytes().fold(0i128, |v, c| {
        v.saturating_mul(10).saturating_add(i128::from(c - b'0'))
    });
    Some(if neg { -v } else { v })
}

const FIELD_NAMES: [(&str, Field); 21] = [
    ("uuid", Field::Uuid),
    ("user", Field::User),
    ("username", Field::Username),
    ("component_usage", Field::ComponentUsage),
    ("usage", Field::Usage),
    ("measured_unit", Field::MeasuredUnit),
    ("description", Field::Description),
    ("created", Field::Created),
    ("modified", Field::Modified),
    ("backend_id", Field::BackendId),
    ("resource_name", Field::ResourceName),
    ("resource_uuid", Field::ResourceUuid),
    ("offering_name", Field::OfferingName),
    ("offering_uuid", Field::OfferingUuid),
    ("project_name", Field::ProjectName),
    ("project_uuid", Field::ProjectUuid),
    ("customer_name", Field::CustomerName),
    ("customer_uuid", Field::CustomerUuid),
    ("component_type", Field::ComponentType),
    ("date", Field::Date),
    ("billing_period", Field::BillingPeriod),
];

struct Params(Vec<(String, String)>);

impl Params {
    /// Last occurrence, raw.
    fn last_raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Last occurrence, trimmed; empty means absent.
    fn last(&self, name: &str) -> Option<&str> {
        self.last_raw(name).map(str::trim).filter(|v| !v.is_empty())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn model_filter(p: &Params, errors: &mut MErrors) -> MFilter {
    let mut err = |name: &str, msg: &str| errors.push((name.to_owned(), vec![msg.to_owned()]));
    let mut f = MFilter::default();
    let uuid_param = |name: &str, err: &mut dyn FnMut(&str, &str)| {
        let v = p.last(name)?;
        let u = model_uuid(v);
        if u.is_none() {
            err(name, "Enter a valid UUID.");
        }
        u
    };
    f.customer = uuid_param("customer_uuid", &mut err);
    f.project = uuid_param("project_uuid", &mut err);
    f.offering = uuid_param("offering_uuid", &mut err);
    f.resource_uuid = uuid_param("resource_uuid", &mut err);
    f.resource = p.last("resource").map(model_resource_url);
    f.username = p.last("username").map(str::to_owned);
    f.component_type = p.last("type").map(str::to_owned);
    for (name, slot) in [
        ("billing_period_year", &mut f.year),
        ("billing_period_month", &mut f.month),
    ] {
        if let Some(v) = p.last(name) {
            match model_number(v) {
                Some(n) => *slot = Some(n),
                None => err(name, "Enter a number."),
            }
        }
    }
    for (name, slot) in [
        ("component_usage__billing_period", &mut f.billing_period),
        ("date_after", &mut f.date_after),
        ("date_before", &mut f.date_before),
    ] {
        if let Some(v) = p.last(name) {
            match model_date(v) {
                Some(d) => *slot = Some(d),
                None => err(name, "Enter a valid date."),
            }
        }
    }
    f
}

/// The filter parameters of a query string (as `Filter::parse`).
pub fn model_parse_filter(qs: &str) -> Result<MFilter, MErrors> {
    let p = Params(decode_form(qs));
    let mut errors = MErrors::new();
    let f = model_filter(&p, &mut errors);
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(errors)
    }
}

/// A whole query string (as `Query::parse`).
pub fn model_parse_query(qs: &str) -> Result<MQuery, MErrors> {
    let p = Params(decode_form(qs));
    let mut errors = MErrors::new();
    let filter = model_filter(&p, &mut errors);
    let mut order = Vec::new();
    'o: for v in p.all("o") {
        for item in v.split(',').filter(|i| !i.is_empty()) {
            let (desc, name) = match item.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, item),
            };
            let col = match name {
                "component_usage__billing_period" => SortCol::Period,
                "usage" => SortCol::Usage,
                "username" => SortCol::Username,
                _ => {
                    errors.push((
                        "o".to_owned(),
                        vec![format!(
                            "Select a valid choice. {item} is not one of the available choices."
                        )],
                    ));
                    break 'o;
                }
            };
            order.push((col, desc));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let page = match p.last_raw("page") {
        None | Some("") => MPage::Number(1),
        Some("last") => MPage::Last,
        Some(v) => match model_int(v) {
            Some(n) if n >= 1 => MPage::Number(u64::try_from(n).unwrap_or(u64::MAX)),
            _ => MPage::Invalid,
        },
    };
    let page_size = match p.last_raw("page_size").and_then(model_int) {
        Some(n) if n >= 1 => n.min(300) as usize,
        _ => 10,
    };
    let mut fields = Vec::new();
    for v in p.all("field") {
        for name in v.split(',') {
            if let Some((_, f)) = FIELD_NAMES.iter().find(|(n, _)| *n == name.trim())
                && !fields.contains(f)
            {
                fields.push(*f);
            }
        }
    }
    Ok(MQuery {
        filter,
        order,
        page,
        page_size,
        fields: (!fields.is_empty()).then_some(fields),
    })
}

// ---------------------------------------------------------------------------
// The runner: one op against both, then compare everything
// ---------------------------------------------------------------------------

macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($ctx:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            let ctx = format!($($ctx)+);
            return Err(format!("{ctx}\n  store: {got:?}\n  model: {want:?}"));
        }
    }};
}

fn crate_errors(e: &usage_store::ParamErrors) -> MErrors {
    e.iter().map(|(p, m)| (p.to_owned(), m.to_vec())).collect()
}

fn crate_write_error(e: &WriteError) -> ModelWriteError {
    match e {
        WriteError::Invalid { index, error } => ModelWriteError::Invalid {
            index: *index,
            field: error.field(),
        },
        WriteError::Conflict { index, holder, .. } => ModelWriteError::Conflict {
            index: *index,
            holder: *holder,
        },
        WriteError::OutsideFilter { index, .. } => ModelWriteError::OutsideFilter { index: *index },
        other => panic!("unknown write error {other:?}"),
    }
}

fn sort_col(f: SortField) -> SortCol {
    match f {
        SortField::BillingPeriod => SortCol::Period,
        SortField::Usage => SortCol::Usage,
        SortField::Username => SortCol::Username,
    }
}

fn page_info(i: &usage_store::PageInfo) -> MPageInfo {
    MPageInfo {
        count: i.count,
        number: i.number,
        num_pages: i.num_pages,
        page_size: i.page_size,
        has_previous: i.has_previous(),
        has_next: i.has_next(),
    }
}

/// Runs one op on both sides and compares the answers.
pub fn step(store: &Store, model: &mut Model, op: &Op) -> Result<(), String> {
    match op {
        Op::Upsert(r) => {
            let r: &Record = r;
            let got = store.upsert(r).map_err(|e| crate_write_error(&e));
            let want = model.write(None, std::slice::from_ref(r)).map(|c| match c {
                (1, 0, 0, 0) => WriteOutcome::Inserted,
                (0, 1, 0, 0) => WriteOutcome::Replaced,
                (0, 0, 1, 0) => WriteOutcome::Unchanged,
                other => unreachable!("one record, counts {other:?}"),
            });
            ensure_eq!(got, want, "upsert result");
        }
        Op::Batch(rs) => {
            let got = store
                .upsert_batch(rs)
                .map(|s| counts(&s))
                .map_err(|e| crate_write_error(&e));
            let want = model.write(None, rs);
            ensure_eq!(got, want, "upsert_batch result");
        }
        Op::Remove(i) => {
            let u = uuid(&RECORD_UUIDS, *i);
            ensure_eq!(store.remove(u), model.remove(u), "remove result");
        }
        Op::Shrink => store.shrink_to_fit(),
        Op::Replace(qs, rs) => {
            let mf = model_parse_filter(qs);
            match (usage_store::Filter::parse(qs), mf) {
                (Ok(f), Ok(mf)) => {
                    let got = store
                        .replace(&f, rs)
                        .map(|s| counts(&s))
                        .map_err(|e| crate_write_error(&e));
                    let want = model.write(Some(&mf), rs);
                    ensure_eq!(got, want, "replace result");
                }
                (Err(e), Err(me)) => ensure_eq!(crate_errors(&e), me, "Filter::parse errors"),
                (got, want) => {
                    return Err(format!(
                        "Filter::parse({qs:?})\n  store: {got:?}\n  model: {want:?}"
                    ));
                }
            }
        }
        Op::Get(i, scope) => {
            let u = uuid(&RECORD_UUIDS, *i);
            let want = model.get(u).filter(|r| scope.sees(r));
            ensure_eq!(store.get(u, &scope.to_scope()), want, "get result");
            let txn = store.read();
            ensure_eq!(
                txn.get(u, &scope.to_scope()).map(|r| r.to_record()),
                want,
                "ReadTxn::get result"
            );
        }
        Op::Query(qs, scope) => {
            let want = model_parse_query(qs);
            let got = Query::parse(qs);
            let q = match (got, want) {
                (Err(QueryError::Params(e)), Err(me)) => {
                    ensure_eq!(crate_errors(&e), me, "Query::parse errors");
                    return Ok(());
                }
                (Ok(q), Ok(mq)) => {
                    let order: Vec<(SortCol, bool)> = q
                        .order()
                        .iter()
                        .map(|k: &OrderKey| (sort_col(k.field), k.descending))
                        .collect();
                    ensure_eq!(order, mq.order, "parsed o");
                    ensure_eq!(q.page_size(), mq.page_size, "parsed page_size");
                    let page = match q.page() {
                        PageSpec::Number(n) => MPage::Number(n),
                        PageSpec::Last => MPage::Last,
                        PageSpec::Invalid => MPage::Invalid,
                    };
                    ensure_eq!(page, mq.page, "parsed page");
                    let fields = mq
                        .fields
                        .clone()
                        .map_or(FieldSet::all(), FieldSet::from_fields);
                    ensure_eq!(q.fields(), fields, "parsed field");
                    (q, mq)
                }
                (got, want) => {
                    return Err(format!("Query::parse\n  store: {got:?}\n  model: {want:?}"));
                }
            };
            let (q, mq) = q;
            let q = q.with_scope(scope.to_scope());
            let txn = store.read();
            let want = model.query(&mq, scope);
            let got = match txn.query(&q) {
                Ok(p) => {
                    ensure_eq!(p.len(), p.iter().len(), "Page::len");
                    ensure_eq!(p.fields(), q.fields(), "Page::fields");
                    let records = p.iter().map(|r| r.to_record()).collect::<Vec<_>>();
                    ensure_eq!(p.to_records(), records, "Page::to_records");
                    Ok((page_info(&p.info()), records))
                }
                Err(QueryError::InvalidPage) => Err(InvalidPage),
                Err(e) => return Err(format!("query: unexpected error {e:?}")),
            };
            ensure_eq!(got, want, "query page");
            let got_count = match txn.count(&q) {
                Ok(i) => Ok(page_info(&i)),
                Err(QueryError::InvalidPage) => Err(InvalidPage),
                Err(e) => return Err(format!("count: unexpected error {e:?}")),
            };
            ensure_eq!(got_count, want.map(|(i, _)| i), "count");
        }
    }
    Ok(())
}

/// The store's whole content, resolved, sorted by uuid.
pub fn store_content(store: &Store) -> Vec<Record> {
    let txn = store.read();
    let mut v: Vec<Record> = Vec::with_capacity(txn.len());
    for n in 1.. {
        let q = Query::new().with_page_size(300).page_number(n);
        let page = txn.query(&q).expect("pages up to num_pages exist");
        v.extend(page.iter().map(|r| r.to_record()));
        if !page.info().has_next() {
            break;
        }
    }
    v.sort_by(|a, b| a.uuid.as_bytes().cmp(b.uuid.as_bytes()));
    v
}

/// Usernames of prefilled records (the small pool plus a few more).
pub static PREFILL_USERNAMES: [&str; 12] = [
    "ann", "Ann", "JOANNA", "Élodie", "50%off", "a_b", "zoë", "Zed", "bob", "ANNA", "joann", "Ω",
];
/// Number of component usages of prefilled records (the first 4 are `CU_UUIDS`).
pub const PREFILL_CUS: usize = 300;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `n` (at most 3600) valid records drawn from the same entity pools as the
/// small test, with consistent entities (every record of a component usage
/// carries the same attributes) and unique natural keys: a store big enough
/// for the query planner's sort and partial-walk paths.
pub fn prefill_records(n: usize, seed: u64) -> Vec<Record> {
    assert!(n <= PREFILL_CUS * PREFILL_USERNAMES.len());
    let cu_uuid = |k: usize| match CU_UUIDS.get(k) {
        Some(&u) => Uuid::from_u128(u),
        None => Uuid::from_u128(0xc0c1_0000_0000_4000_8000_0000_0000_0000 + k as u128),
    };
    (0..n)
        .map(|i| {
            let h = splitmix(seed ^ i as u64);
            let k = i % PREFILL_CUS;
            let res = k % 3;
            let (off, proj) = (res % 2, res);
            let cust = proj % 2;
            Record {
                uuid: Uuid::from_u128((u128::from(h) << 64) | i as u128),
                user: USER_UUIDS
                    .get((h >> 8) as usize % 4)
                    .map(|&x| Uuid::from_u128(x)),
                username: PREFILL_USERNAMES[i / PREFILL_CUS].to_owned().into(),
                component_usage: cu_uuid(k),
                usage: Usage::from_cents(USAGE_CENTS[(h >> 16) as usize % USAGE_CENTS.len()]),
                measured_unit: "hours".to_owned().into(),
                description: String::new().into(),
                created: ts("2025-01-01T00:00:00Z"),
                modified: ts("2025-01-02T00:00:00.5Z"),
                backend_id: String::new().into(),
                resource_name: RESOURCE_NAMES[0].to_owned().into(),
                resource_uuid: uuid(&RESOURCE_UUIDS, res),
                offering_name: OFFERING_NAMES[0].to_owned().into(),
                offering_uuid: uuid(&OFFERING_UUIDS, off),
                project_name: PROJECT_NAMES[0].to_owned().into(),
                project_uuid: uuid(&PROJECT_UUIDS, proj),
                customer_name: CUSTOMER_NAMES[0].to_owned().into(),
                customer_uuid: uuid(&CUSTOMER_UUIDS, cust),
                component_type: COMPONENT_TYPES[k % 3].to_owned().into(),
                date: ts(DATES[(k / 3) % DATES.len()]),
                billing_period: ymd(2024 + (k % 2) as i32, [1, 2, 3, 12][(k / 2) % 4], 1),
            }
        })
        .collect()
}

/// Runs a whole case on a fresh store and model.
pub fn run(ops: &[Op]) -> Result<(), String> {
    run_on(&[], ops)
}

/// Runs a whole case on a store and model that first receive `initial` as one batch.
pub fn run_on(initial: &[Record], ops: &[Op]) -> Result<(), String> {
    let store = Store::new();
    let mut model = Model::default();
    if !initial.is_empty() {
        let got = store
            .upsert_batch(initial)
            .map(|s| counts(&s))
            .map_err(|e| crate_write_error(&e));
        ensure_eq!(got, model.write(None, initial), "initial batch");
        store
            .validate()
            .map_err(|e| format!("initial batch: Store::validate failed: {e}"))?;
    }
    for (i, op) in ops.iter().enumerate() {
        step(&store, &mut model, op).map_err(|e| format!("op #{i}: {e}"))?;
        store
            .validate()
            .map_err(|e| format!("op #{i}: Store::validate failed: {e}"))?;
        ensure_eq!(store.len(), model.records.len(), "op #{i}: len");
        ensure_eq!(store_content(&store), model.all(), "op #{i}: content");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Query-string spellings (shared by the proptest strategies and the fuzz target)
// ---------------------------------------------------------------------------

/// Percent-encodes a name or value; `full` encodes everything but
/// unreserved characters (space as `%20`), otherwise only what must be
/// (space as `+`, raw UTF-8 and punctuation kept).
pub fn form_encode(s: &str, full: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' => out.push(c),
            ' ' if !full => out.push('+'),
            c if !full && !matches!(c, '&' | '=' | '+' | '%' | '#') && !c.is_control() => {
                out.push(c)
            }
            c => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    out
}

/// Accepted and rejected spellings of a uuid, other than the plain
/// `simple()` form.
pub fn uuid_spellings(u: Uuid) -> (Vec<String>, Vec<String>) {
    let s = u.simple().to_string();
    let h = u.hyphenated().to_string();
    let valid = vec![
        s.clone(),
        s.to_uppercase(),
        h.clone(),
        h.to_uppercase(),
        format!("{{{h}}}"),
        format!("{{{s}}}"),
        format!("{{{{{s}}}"),
        format!("urn:uuid:{h}"),
        format!("uuid:{s}"),
        format!("  {s} "),
        format!("\t{h}\n"),
    ];
    let invalid = vec![
        format!("URN:UUID:{h}"),
        s[..31].to_owned(),
        format!("{s}0"),
        format!("{}g", &s[..31]),
        format!("{s}é"),
        format!("+{}", &s[..31]),
        format!("{}_{}", &s[..8], &s[9..]),
        format!("{{{s}}}x"),
    ];
    (valid, invalid)
}

/// `resource` filter values naming resource `u`, the last five of which
/// match nothing.
pub fn resource_urls(u: Uuid) -> Vec<String> {
    let s = u.simple().to_string();
    let h = u.hyphenated().to_string();
    vec![
        format!("https://waldur.example.com/api/marketplace-resources/{s}/"),
        format!("http://x.org:8000/api/marketplace-resources/{h}"),
        format!("/api/marketplace-resources/{s}/"),
        format!("/api/marketplace-resources/{s}"),
        format!("//x.org/api/marketplace-resources/{s}/"),
        format!("/api/marketplace-resources/{s}/?a=b#c"),
        format!(
            "https://waldur.example.com/api/marketplace-resources/{}/",
            s.to_uppercase()
        ),
        format!(" /api/marketplace-resources/{s}/ "),
        // Match nothing:
        format!("https://waldur.example.com/api/marketplace-offerings/{s}/"),
        format!("api/marketplace-resources/{s}/"),
        format!("/api/marketplace-resources/{s}/extra/"),
        format!("/api/marketplace-resources/{s}//"),
        s.clone(),
    ]
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

#[cfg(test)]
mod strategies {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    fn pick(pool: &'static [&'static str]) -> BoxedStrategy<String> {
        select(pool).prop_map(str::to_owned).boxed()
    }

    fn username() -> BoxedStrategy<String> {
        prop_oneof![
            400 => pick(&USERNAMES),
            1 => Just(String::new()),
            1 => Just("x".repeat(101)),
            1 => Just("é".repeat(100)),
            1 => Just("é".repeat(101)),
        ]
        .boxed()
    }

    fn bounded(
        common: &'static [&'static str],
        ch: &'static str,
        max: usize,
    ) -> BoxedStrategy<String> {
        prop_oneof![
            200 => pick(common),
            1 => Just(ch.repeat(max)),
            1 => Just(ch.repeat(max + 1)),
        ]
        .boxed()
    }

    fn timestamp() -> BoxedStrategy<DateTime<Utc>> {
        (
            0i64..10 * 86_400,
            select(vec![0i64, 1, 250_000, 999_999]),
            // Sub-microsecond digits are dropped on write.
            select(vec![0i64, 0, 0, 1, 999]),
        )
            .prop_map(|(s, us, ns)| {
                ts("2025-01-01T00:00:00Z")
                    + chrono::Duration::seconds(s)
                    + chrono::Duration::microseconds(us)
                    + chrono::Duration::nanoseconds(ns)
            })
            .boxed()
    }

    fn period() -> BoxedStrategy<NaiveDate> {
        (select(vec![2024, 2025]), select(vec![1u32, 2, 3, 12]))
            .prop_map(|(y, m)| ymd(y, m, 1))
            .boxed()
    }

    pub(super) fn record() -> BoxedStrategy<Record> {
        let own = (
            0..WRITTEN_UUIDS,
            0..USER_UUIDS.len() + 1,
            username(),
            0..CU_UUIDS.len(),
            select(&USAGE_CENTS[..]),
            bounded(&["hours", "GB"], "ü", 150),
            bounded(&["", "note"], "d", 2000),
            timestamp(),
            timestamp(),
            bounded(&["", "b-1"], "é", 255),
        );
        let ent = (
            0..RESOURCE_UUIDS.len() - 1,
            0..2usize,
            0..OFFERING_UUIDS.len() - 1,
            0..2usize,
            0..PROJECT_UUIDS.len() - 1,
            0..2usize,
            0..CUSTOMER_UUIDS.len() - 1,
            0..2usize,
            // An empty type is valid in a record, and `type=` (empty) is no filter.
            bounded(&["cpu", "ram", "storage", ""], "ß", 50),
            select(&DATES[..]),
            period(),
        );
        (own, ent)
            .prop_map(
                |(
                    (u, user, username, cu, cents, unit, desc, created, modified, backend),
                    (res, rn, off, on, proj, pn, cust, cn, ctype, date, bp),
                )| {
                    Record {
                        uuid: uuid(&RECORD_UUIDS, u),
                        user: USER_UUIDS.get(user).map(|&x| Uuid::from_u128(x)),
                        username: username.into(),
                        component_usage: uuid(&CU_UUIDS, cu),
                        usage: Usage::from_cents(cents),
                        measured_unit: unit.into(),
                        description: desc.into(),
                        created,
                        modified,
                        backend_id: backend.into(),
                        resource_name: RESOURCE_NAMES[rn].to_owned().into(),
                        resource_uuid: uuid(&RESOURCE_UUIDS, res),
                        offering_name: OFFERING_NAMES[on].to_owned().into(),
                        offering_uuid: uuid(&OFFERING_UUIDS, off),
                        project_name: PROJECT_NAMES[pn].to_owned().into(),
                        project_uuid: uuid(&PROJECT_UUIDS, proj),
                        customer_name: CUSTOMER_NAMES[cn].to_owned().into(),
                        customer_uuid: uuid(&CUSTOMER_UUIDS, cust),
                        component_type: ctype.into(),
                        date: ts(date),
                        billing_period: bp,
                    }
                },
            )
            .boxed()
    }

    // ----- query strings -----

    /// A piece of a query string: a pair to encode, or raw text.
    #[derive(Debug, Clone)]
    enum Piece {
        Pair(String, String),
        Raw(&'static str),
    }

    fn join(pieces: &[Piece], full: bool) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Pair(n, v) => format!("{}={}", form_encode(n, full), form_encode(v, full)),
                Piece::Raw(r) => (*r).to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Accepted and rejected spellings of a uuid.
    fn uuid_forms(u: Uuid) -> BoxedStrategy<String> {
        let s = u.simple().to_string();
        let (valid, invalid) = uuid_spellings(u);
        prop_oneof![
            12 => Just(s.clone()),
            6 => select(valid),
            1 => select(invalid),
            2 => (0..=32usize, 0..=32usize).prop_map(move |(i, j)| {
                // Hyphens anywhere.
                let (i, j) = (i.min(j), i.max(j));
                format!("{}-{}-{}", &s[..i], &s[i..j], &s[j..])
            }),
        ]
        .boxed()
    }

    fn uuid_value(pool: &'static [u128]) -> BoxedStrategy<String> {
        prop_oneof![
            16 => select(pool).prop_flat_map(|u| uuid_forms(Uuid::from_u128(u))),
            1 => pick(&["", " ", "x", "not-a-uuid", "123", "{}", "urn:uuid:"]),
        ]
        .boxed()
    }

    fn resource_value() -> BoxedStrategy<String> {
        let urls = select(&RESOURCE_UUIDS[..])
            .prop_flat_map(|u| select(resource_urls(Uuid::from_u128(u))));
        prop_oneof![
            8 => urls,
            1 => pick(&["/api/marketplace-resources//", "junk", "", "https://waldur.example.com"]),
        ]
        .boxed()
    }

    /// Mostly valid values, sometimes invalid ones.
    fn vi(
        valid: &'static [&'static str],
        invalid: &'static [&'static str],
    ) -> BoxedStrategy<String> {
        prop_oneof![8 => pick(valid), 1 => pick(invalid)].boxed()
    }

    fn pair(name: &'static str, v: BoxedStrategy<String>) -> BoxedStrategy<Piece> {
        v.prop_map(move |v| Piece::Pair(name.to_owned(), v)).boxed()
    }

    /// Every valid one-key `o` value.
    pub(crate) const O_VALID: &[&str] = &[
        "usage",
        "-usage",
        "username",
        "-username",
        "component_usage__billing_period",
        "-component_usage__billing_period",
    ];

    /// `o`, `page`, `page_size`, `field` and stray pieces; `big`: pages
    /// sized for a store of thousands of records.
    fn control_param(big: bool) -> BoxedStrategy<Piece> {
        let o_item = if big {
            pick(O_VALID)
        } else {
            vi(
                O_VALID,
                &["", "created", "-created", " usage", "Usage", "--usage"],
            )
        };
        prop_oneof![
            5 => prop::collection::vec(o_item, 1..4).prop_map(|items| Piece::Pair("o".into(), items.join(","))),
            (if big { 6 } else { 3 }) => pair("page", if big {
                prop_oneof![
                    3 => pick(&["last", "1"]),
                    2 => pick(&["2", "3", "4", "6", "9", "15", "40"]),
                ].boxed()
            } else {
                vi(
                    &["1", "2", "3", "last", "", " 2 ", "+2"],
                    &["0", "-1", "Last", " last", "abc", "1.0", "999", "99999999999999999999999"],
                )
            }),
            4 => pair("page_size", if big {
                pick(&["1", "7", "10", "25", "100", "300"])
            } else {
                prop_oneof![
                    3 => pick(&["1", "2", "3"]),
                    1 => pick(&["5", "10", "0", "-3", "301", "1000", "300", "abc", "", "2.5", " 4 "]),
                ].boxed()
            }),
            (if big { 0 } else { 1 }) => pair("field", pick(&["uuid", "usage,uuid", "bogus", " usage , username ", "", "uuid,,bogus", "date"])),
            (if big { 0 } else { 1 }) => select(vec!["foo=bar", "page", "o", "customer_uuid", "=x", "%zz=1", "type=%zz", "username=50%off", "page_size"]).prop_map(Piece::Raw),
        ]
        .boxed()
    }

    /// The filter parameters of SPEC §2.1, valid and invalid values.
    fn filter_param() -> BoxedStrategy<Piece> {
        prop_oneof![
            2 => pair("customer_uuid", uuid_value(&CUSTOMER_UUIDS)),
            2 => pair("project_uuid", uuid_value(&PROJECT_UUIDS)),
            2 => pair("offering_uuid", uuid_value(&OFFERING_UUIDS)),
            2 => pair("resource_uuid", uuid_value(&RESOURCE_UUIDS)),
            2 => pair("resource", resource_value()),
            3 => pair("username", pick(&[
                "ann", "ANN", "Ann", "joanna", "JOANNA", "élodie", "ÉLODIE", "Élo", "50%", "%", "_", "a_b", "a%b",
                "o", " ann ", "x", "", "nn", "é", "ÉLODIE ", "A", "%OFF", "b",
            ])),
            2 => pair("type", pick(&["cpu", "CPU", "ram", "storage", "stor", "", " cpu "])),
            2 => pair("billing_period_year", prop_oneof![
                6 => pick(&["2024", "2025", "2025.0", "2.025e3", "+2025", " 2025 ", "20250e-1", "2024.00", "2025."]),
                2 => pick(&["2025.5", "1e3", "-2025", "1e999999", ".5", ""]),
                1 => pick(&["abc", "e3", "2025,0", "2025.0.0", "1e", "--2025"]),
            ].boxed()),
            2 => pair("billing_period_month", prop_oneof![
                6 => pick(&["1", "2", "3", "12", "2.0", "01", "1.2e1", "1.20e1", "0.3e1", "+3"]),
                2 => pick(&["13", "0", "2.5", "-1", "1e1", ""]),
                1 => pick(&["abc", "1,0", "two", "0x1"]),
            ].boxed()),
            2 => pair("component_usage__billing_period", vi(
                &["2025-01-01", "2025-1-1", "2024-12-01", "2025-02-01", "2025-03-01", "", " 2025-02-01 ", "2024-01-01"],
                &["2025-02-30", "2025/01/01", "x", "2025-01-01T00:00", "25-01-01", "2025-001-01", "2025-01"],
            )),
            2 => pair("date_after", vi(
                &["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-28", "2025-03-01", "2025-3-1", "2024-02-29", "2024-12-31", ""],
                &["2025-02-29", "junk", "2025-13-01"],
            )),
            2 => pair("date_before", vi(
                &["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-28", "2025-03-01", "2025-3-31", "2024-12-31", ""],
                &["2025-02-29", "junk", "20250101"],
            )),
        ]
        .boxed()
    }

    pub(super) fn query_string(big: bool) -> BoxedStrategy<String> {
        (
            if big {
                // Valid filters only, so that most queries reach the planner.
                let valid = replace_filter_param().prop_map(|p| {
                    let (n, v) = p.pair();
                    Piece::Pair(n, v)
                });
                prop::collection::vec(valid, 1..4).boxed()
            } else {
                prop::collection::vec(filter_param(), 0..3).boxed()
            },
            prop::collection::vec(control_param(big), if big { 2..5 } else { 0..4 }),
            any::<bool>(),
        )
            .prop_flat_map(|(mut pieces, control, full)| {
                pieces.extend(control);
                (Just(pieces).prop_shuffle(), Just(full))
            })
            .prop_map(|(pieces, full)| join(&pieces, full))
            .boxed()
    }

    fn scope() -> BoxedStrategy<ScopeSpec> {
        prop_oneof![
            2 => Just(ScopeSpec::everything()),
            1 => (
                prop::collection::vec(0..CUSTOMER_UUIDS.len(), 0..2),
                prop::collection::vec(0..PROJECT_UUIDS.len(), 0..2),
                prop::collection::vec(0..OFFERING_UUIDS.len(), 0..2),
            )
                .prop_map(|(customers, projects, offerings)| ScopeSpec {
                    everything: false,
                    customers,
                    projects,
                    offerings,
                }),
        ]
        .boxed()
    }

    // ----- replace -----

    /// A valid filter parameter of a replace, and how to make a record match it.
    #[derive(Debug, Clone)]
    enum FilterParam {
        Resource(usize),
        ResourceUrl(usize),
        Period(NaiveDate),
        Customer(usize),
        Project(usize),
        Offering(usize),
        Type(&'static str),
        Year(i32),
        Month(u32),
        Username(&'static str, &'static str),
        After(NaiveDate),
        Before(NaiveDate),
    }

    impl FilterParam {
        fn pair(&self) -> (String, String) {
            let hex = |pool: &[u128], i: usize| uuid(pool, i).simple().to_string();
            let (n, v) = match self {
                FilterParam::Resource(i) => ("resource_uuid", hex(&RESOURCE_UUIDS, *i)),
                FilterParam::ResourceUrl(i) => (
                    "resource",
                    format!(
                        "https://waldur.example.com/api/marketplace-resources/{}/",
                        hex(&RESOURCE_UUIDS, *i)
                    ),
                ),
                FilterParam::Period(d) => ("component_usage__billing_period", d.to_string()),
                FilterParam::Customer(i) => ("customer_uuid", hex(&CUSTOMER_UUIDS, *i)),
                FilterParam::Project(i) => ("project_uuid", hex(&PROJECT_UUIDS, *i)),
                FilterParam::Offering(i) => ("offering_uuid", hex(&OFFERING_UUIDS, *i)),
                FilterParam::Type(t) => ("type", (*t).to_owned()),
                FilterParam::Year(y) => ("billing_period_year", y.to_string()),
                FilterParam::Month(m) => ("billing_period_month", m.to_string()),
                FilterParam::Username(n, _) => ("username", (*n).to_owned()),
                FilterParam::After(d) => ("date_after", d.to_string()),
                FilterParam::Before(d) => ("date_before", d.to_string()),
            };
            (n.to_owned(), v)
        }

        fn conform(&self, r: &mut Record) {
            match self {
                FilterParam::Resource(i) | FilterParam::ResourceUrl(i) => {
                    r.resource_uuid = uuid(&RESOURCE_UUIDS, *i)
                }
                FilterParam::Period(d) => r.billing_period = *d,
                FilterParam::Customer(i) => r.customer_uuid = uuid(&CUSTOMER_UUIDS, *i),
                FilterParam::Project(i) => r.project_uuid = uuid(&PROJECT_UUIDS, *i),
                FilterParam::Offering(i) => r.offering_uuid = uuid(&OFFERING_UUIDS, *i),
                FilterParam::Type(t) => r.component_type = (*t).to_owned().into(),
                FilterParam::Year(y) => r.billing_period = ymd(*y, r.billing_period.month(), 1),
                FilterParam::Month(m) => r.billing_period = ymd(r.billing_period.year(), *m, 1),
                FilterParam::Username(_, u) => r.username = (*u).to_owned().into(),
                FilterParam::After(d) => {
                    if r.date.date_naive() < *d {
                        r.date = d.and_hms_opt(0, 0, 0).expect("valid time").and_utc();
                    }
                }
                FilterParam::Before(d) => {
                    if r.date.date_naive() > *d {
                        r.date = d
                            .and_hms_micro_opt(23, 59, 59, 999_999)
                            .expect("valid time")
                            .and_utc();
                    }
                }
            }
        }
    }

    fn replace_filter_param() -> BoxedStrategy<FilterParam> {
        let day = select(vec![
            ymd(2025, 1, 30),
            ymd(2025, 1, 31),
            ymd(2025, 2, 1),
            ymd(2025, 2, 28),
            ymd(2025, 3, 1),
        ]);
        prop_oneof![
            4 => (0..RESOURCE_UUIDS.len()).prop_map(FilterParam::Resource),
            1 => (0..RESOURCE_UUIDS.len()).prop_map(FilterParam::ResourceUrl),
            4 => period().prop_map(FilterParam::Period),
            1 => (0..CUSTOMER_UUIDS.len()).prop_map(FilterParam::Customer),
            1 => (0..PROJECT_UUIDS.len()).prop_map(FilterParam::Project),
            1 => (0..OFFERING_UUIDS.len()).prop_map(FilterParam::Offering),
            1 => select(&COMPONENT_TYPES[..]).prop_map(FilterParam::Type),
            1 => select(vec![2024, 2025]).prop_map(FilterParam::Year),
            1 => select(vec![1u32, 2, 3, 12]).prop_map(FilterParam::Month),
            1 => select(vec![("ann", "JOANNA"), ("ANN", "ann"), ("%", "50%off"), ("_", "a_b"), ("élo", "Élodie")])
                .prop_map(|(n, u)| FilterParam::Username(n, u)),
            1 => day.clone().prop_map(FilterParam::After),
            1 => day.prop_map(FilterParam::Before),
        ]
        .boxed()
    }

    fn replace() -> BoxedStrategy<Op> {
        (
            prop::collection::vec(replace_filter_param(), 0..3),
            prop::collection::vec((record(), prop::bool::weighted(0.8)), 0..5),
        )
            .prop_map(|(params, recs)| {
                let pieces: Vec<Piece> = params
                    .iter()
                    .map(|p| {
                        let (n, v) = p.pair();
                        Piece::Pair(n, v)
                    })
                    .collect();
                let recs = recs
                    .into_iter()
                    .map(|(mut r, conform)| {
                        if conform {
                            for p in &params {
                                p.conform(&mut r);
                            }
                        }
                        r
                    })
                    .collect();
                Op::Replace(join(&pieces, true), recs)
            })
            .boxed()
    }

    /// Small batches, and now and then one of 64+ elements (a few records
    /// repeated) so that the store takes its bulk-write path.
    fn batch() -> BoxedStrategy<Op> {
        prop_oneof![
            6 => prop::collection::vec(record(), 0..5).prop_map(Op::Batch),
            1 => (prop::collection::vec(record(), 1..4), 64usize..80).prop_map(|(base, n)| {
                Op::Batch(base.iter().cycle().take(n).cloned().collect())
            }),
        ]
        .boxed()
    }

    /// Any op; `big`: queries paged for a store of thousands of records.
    pub(super) fn op(big: bool) -> BoxedStrategy<Op> {
        prop_oneof![
            6 => record().prop_map(|r| Op::Upsert(Box::new(r))),
            2 => batch(),
            1 => (0..RECORD_UUIDS.len()).prop_map(Op::Remove),
            2 => replace(),
            (if big { 16 } else { 6 }) => (query_string(big), scope()).prop_map(|(q, s)| Op::Query(q, s)),
            1 => (0..RECORD_UUIDS.len(), scope()).prop_map(|(i, s)| Op::Get(i, s)),
            1 => Just(Op::Shrink),
        ]
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::strategies::op;
    use super::*;

    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1024);
        ProptestConfig {
            // Regressions are kept as explicit tests below, not in a side file.
            failure_persistence: None,
            ..ProptestConfig::with_cases(cases)
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn store_matches_model(ops in prop::collection::vec(op(false), 1..40)) {
            run(&ops).map_err(TestCaseError::fail)?;
        }
    }

    /// The same on a store prefilled with 1000 to 3600 records, where the
    /// query planner sorts matches, walks pages from either end and counts
    /// lazily. Costlier per case: `cases / 32` cases of up to 12 ops.
    #[test]
    fn big_store_matches_model() {
        use proptest::test_runner::{TestError, TestRunner};
        let config = ProptestConfig {
            cases: config().cases.div_ceil(32),
            ..config()
        };
        let strategy = (
            1000usize..3600,
            any::<u64>(),
            prop::collection::vec(op(true), 1..12),
        );
        let result = TestRunner::new(config).run(&strategy, |(n, seed, ops)| {
            run_on(&prefill_records(n, seed), &ops).map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, (n, seed, ops))) => {
                panic!("{why}\nminimal failing input: n = {n}, seed = {seed}, ops = {ops:#?}")
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// A component type whose records are one run of slots (loaded before
    /// the others): its pages are walked with a test of the run's bounds,
    /// which writes keep for the type (the planner's `Cand::Set` extent),
    /// instead of a bitmap test; early and late pages, both directions of
    /// a view, and the other type, which is not a run.
    #[test]
    fn one_type_run_matches_model() {
        let (ty, other) = (COMPONENT_TYPES[1], COMPONENT_TYPES[2]);
        let mut records = prefill_records(600, 5);
        for r in &mut records {
            r.component_type = ty.to_owned().into();
        }
        // Later reports of the other type, on component usages of their own.
        let mut later = prefill_records(300, 6);
        for r in &mut later {
            r.component_type = other.to_owned().into();
            r.component_usage = Uuid::from_u128(r.component_usage.as_u128() ^ 0xffff);
        }
        let query = |qs: String| Op::Query(qs, ScopeSpec::everything());
        let mut ops = vec![Op::Batch(later)];
        for page in [1, 2, 30, 59, 60] {
            ops.push(query(format!("type={ty}&page={page}")));
        }
        for o in ["-usage", "usage", "-date", "username"] {
            ops.push(query(format!("type={ty}&o={o}&page=3")));
        }
        ops.push(query(format!("type={ty}&page=last")));
        ops.push(query(format!("type={other}&page=2")));
        run_on(&records, &ops).unwrap();
    }

    /// A project's (or resource's) records with at most a report-date range
    /// and billing period filters, in the default order, right after a load: read in the project's
    /// date-ordered run of slots, found by binary search, a page widened to
    /// whole dates and sorted (`Project::sorted`). The prefill's dates are
    /// nine instants, midnights among them, so every page boundary falls
    /// inside a large group of one date.
    #[test]
    fn sorted_project_date_ranges_match_model() {
        let records = prefill_records(2000, 7);
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("invariants after the load");
        let checked = sorted_project_queries(&store);
        assert!(checked > 1000, "only {checked} queries checked");
        // New reports, one record each, taking turns across the projects:
        // each project's prefix gains a hundred runs of one slot.
        let mut templates: BTreeMap<Uuid, Record> = BTreeMap::new();
        for r in &records {
            templates.entry(r.project_uuid).or_insert_with(|| r.clone());
        }
        for i in 0..100u128 {
            for (j, t) in (0u128..).zip(templates.values()) {
                let mut r = t.clone();
                r.uuid = Uuid::from_u128(0xa000_0000_0000_4000_8000_0000_0000_0000 + i * 16 + j);
                r.component_usage =
                    Uuid::from_u128(0xcc00_0000_0000_4000_8000_0000_0000_0000 + i * 16 + j);
                r.date = ts("2025-04-03T00:00:00Z") + chrono::Duration::minutes(i as i64);
                store.upsert(&r).expect("valid record");
            }
        }
        store.validate().expect("invariants after the new reports");
        sorted_project_queries(&store);
        // A site agent's re-report: component usages re-dated to a later
        // instant, one record at a time (the first re-dates them all).
        let mut by_cu: BTreeMap<Uuid, Vec<Record>> = BTreeMap::new();
        for r in &records {
            by_cu.entry(r.component_usage).or_default().push(r.clone());
        }
        for (k, rs) in by_cu.values().enumerate().filter(|(k, _)| k % 7 == 3) {
            for r in rs {
                let mut r = r.clone();
                r.date = ts(["2025-03-31T10:00:00Z", "2025-04-02T00:00:00Z"][k % 2]);
                r.usage = usage_store::Usage::from_cents(r.usage.cents() + 1);
                store.upsert(&r).expect("valid record");
            }
        }
        store.validate().expect("invariants after the re-reports");
        sorted_project_queries(&store);
        // A re-report of the latest component usages right after a load,
        // as a site agent makes it: each project's prefix stays one run,
        // now followed by a short tail.
        let fresh = Store::new();
        fresh.upsert_batch(&records).expect("valid records");
        let latest = records.iter().map(|r| r.date).max().expect("records");
        for (k, rs) in by_cu.values().enumerate() {
            if rs[0].date != latest || k % 3 == 0 {
                continue;
            }
            let mut rs = rs.clone();
            for r in &mut rs {
                r.date = latest + chrono::Duration::hours(1 + (k % 2) as i64);
            }
            fresh.upsert_batch(&rs).expect("valid records");
        }
        fresh.validate().expect("invariants after the re-reports");
        sorted_project_queries(&fresh);
        // Late reports dated early (into the prefix's past), then more
        // re-dates: the split moves back, the tail grows past its cap.
        for (k, rs) in by_cu.values().enumerate().filter(|(k, _)| k % 5 == 1) {
            for r in rs {
                let mut r = r.clone();
                r.date = ts(DATES[k % 3]);
                store.upsert(&r).expect("valid record");
            }
        }
        store.validate().expect("invariants after the late reports");
        sorted_project_queries(&store);
    }

    /// Every project and resource query of the sorted-project test,
    /// compared with the model over the store's content, and every
    /// customer and scope query over those projects with a date range and
    /// a component type (a few projects' date orders merged, see
    /// `Core::merge_seq`); how many.
    fn sorted_project_queries(store: &Store) -> usize {
        let stored = store_content(store);
        let days = [
            "2024-12-31",
            "2025-01-30",
            "2025-01-31",
            "2025-02-01",
            "2025-02-28",
            "2025-03-01",
            "2025-03-31",
        ];
        let mut entities: Vec<String> = PROJECT_UUIDS
            .iter()
            .map(|&u| format!("project_uuid={}", Uuid::from_u128(u).simple()))
            .collect();
        entities.extend(
            RESOURCE_UUIDS
                .iter()
                .map(|&u| format!("resource_uuid={}", Uuid::from_u128(u).simple())),
        );
        let mut checked = 0;
        let mut bases: Vec<(String, Option<DemoScope>)> =
            entities.iter().map(|e| (e.clone(), None)).collect();
        // Customers and scopes, each with and without a component type.
        let customer = |i: usize| Uuid::from_u128(CUSTOMER_UUIDS[i]);
        let project = |i: usize| Uuid::from_u128(PROJECT_UUIDS[i]);
        let scopes: [(Vec<Uuid>, Vec<Uuid>); 3] = [
            (vec![customer(0)], vec![]),
            (vec![], vec![project(1), project(2)]),
            (vec![customer(1)], vec![project(0), project(1)]),
        ];
        for ty in ["", "type=cpu&", "type=storage&"] {
            for c in 0..2 {
                bases.push((format!("{ty}customer_uuid={}", customer(c).simple()), None));
            }
            for (cs, ps) in &scopes {
                let mut sc = Scope::nothing();
                for &c in cs {
                    sc = sc.with_customer(c);
                }
                for &p in ps {
                    sc = sc.with_project(p);
                }
                let filter = if ty.is_empty() {
                    "o="
                } else {
                    ty.trim_end_matches('&')
                };
                bases.push((
                    filter.to_string(),
                    Some((sc, cs.clone(), ps.clone(), Vec::new())),
                ));
            }
        }
        for (entity, scope) in &bases {
            let scope = scope.as_ref();
            let mut ranges = vec![String::new()];
            for a in days {
                ranges.push(format!("&date_after={a}"));
                ranges.push(format!("&date_before={a}"));
                for b in days {
                    ranges.push(format!("&date_after={a}&date_before={b}"));
                }
            }
            // Billing periods narrow the window to their report days, then
            // each record there is tested.
            for period in [
                "&billing_period_year=2024",
                "&billing_period_year=2025&billing_period_month=1",
                "&billing_period_month=12",
                "&component_usage__billing_period=2024-12-01",
                "&component_usage__billing_period=2023-01-01",
            ] {
                ranges.push(period.to_string());
                for a in days {
                    ranges.push(format!("{period}&date_after={a}"));
                    ranges.push(format!("{period}&date_before={a}"));
                }
            }
            for range in &ranges {
                let base = format!("{entity}{range}");
                let want = demo_want(&stored, &base, scope);
                for size in [1, 2, 3, 10, 100] {
                    let pages = want.len().div_ceil(size).max(1);
                    for page in [
                        1,
                        2,
                        3,
                        pages.div_ceil(2),
                        pages.max(2) - 1,
                        pages,
                        pages + 1,
                    ] {
                        demo_check(store, &want, &base, scope, size, page, "sorted project");
                        checked += 1;
                    }
                }
            }
        }
        checked
    }

    /// Billing periods whose report days overlap their neighbours', as
    /// upstream's do (a month's usage is reported until the 5th of the
    /// next): a project's or resource's periods are narrowed to the days no
    /// other period shares, and only the records outside them are tested.
    /// Records at midnight, just before it, and between, on every day of
    /// each month and the next one's first days; then a late report that
    /// widens one period's days across the others, removed again (the
    /// kept days stay wide); then, in a fresh store, a report after every
    /// other (its project stays in date order but is no longer one run).
    /// Twenty-four resources of about 125 records each: listed whole and
    /// narrowed, or (their project one run) listed as a window.
    /// Checks the pages of `base` (no page parameters) in each page size
    /// against the model's answer over `stored`: the first two, the
    /// middle, the last two. Returns how many pages it checked.
    fn check_pages(
        store: &Store,
        stored: &[Record],
        base: &str,
        sizes: &[usize],
        ctx: &str,
    ) -> usize {
        let want = demo_want(stored, base, None);
        let mut checked = 0;
        for &size in sizes {
            let pages = want.len().div_ceil(size).max(1);
            for page in [1, 2, pages.div_ceil(2), pages.max(2) - 1, pages] {
                demo_check(store, &want, base, None, size, page, ctx);
                checked += 1;
            }
        }
        checked
    }

    /// Gives `r` a billing period from 2024-01 to 2026-02 and a report
    /// date from the period's first day to 35 days later, by `h` (the
    /// demo's shape: a month's late reports share the next month's first
    /// days).
    fn month_reported(r: &mut Record, h: u64) {
        let m = (h % 26) as u32;
        let (y, mo) = (2024 + (m / 12) as i32, m % 12 + 1);
        r.billing_period = ymd(y, mo, 1);
        let day = i64::try_from((h >> 8) % 36).expect("small");
        let micros = [0, 1, 43_200_000_000, 86_399_999_999][((h >> 16) % 4) as usize];
        r.date = ts(&format!("{y}-{mo:02}-01T00:00:00Z"))
            + chrono::Duration::days(day)
            + chrono::Duration::microseconds(micros);
    }

    #[test]
    fn period_edge_days_match_model() {
        let resource = |ri: u128| Uuid::from_u128(0xe5e5_0000_0000_4000_8000_0000_0000_0000 + ri);
        let mut records = prefill_records(3000, 11);
        for (i, r) in records.iter_mut().enumerate() {
            let h = splitmix(0xda7e ^ i as u64);
            let ri = (h >> 24) as usize % 24;
            r.resource_uuid = resource(ri as u128);
            r.project_uuid = uuid(&PROJECT_UUIDS, ri % 3);
            r.customer_uuid = uuid(&CUSTOMER_UUIDS, ri % 3 % 2);
            r.offering_uuid = uuid(&OFFERING_UUIDS, ri % 2);
            month_reported(r, h);
            r.component_usage =
                Uuid::from_u128(0xe000_0000_0000_4000_8000_0000_0000_0000 + i as u128);
        }
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("invariants after the load");
        let check = |store: &Store, ctx: &str| {
            let stored = store_content(store);
            let mut checked = 0;
            let entities = [
                format!(
                    "project_uuid={}",
                    Uuid::from_u128(PROJECT_UUIDS[0]).simple()
                ),
                format!(
                    "project_uuid={}",
                    Uuid::from_u128(PROJECT_UUIDS[2]).simple()
                ),
                format!("resource_uuid={}", resource(0).simple()),
                format!("resource_uuid={}", resource(1).simple()),
            ];
            let periods = [
                "billing_period_year=2024",
                "billing_period_year=2025",
                "billing_period_year=2025&billing_period_month=1",
                "billing_period_year=2024&billing_period_month=12",
                "billing_period_month=2",
                "component_usage__billing_period=2025-02-01",
                "component_usage__billing_period=2025-01-01",
                "component_usage__billing_period=2024-03-01",
            ];
            let ranges = [
                "",
                "&date_after=2025-01-03",
                "&date_before=2025-02-02",
                "&date_after=2024-12-30&date_before=2025-01-04",
                // Cuts inside January's own days.
                "&date_after=2025-01-20",
                "&date_before=2025-01-15",
                "&date_after=2025-01-10&date_before=2025-01-25",
            ];
            for entity in &entities {
                for period in periods {
                    for range in ranges {
                        let base = format!("{entity}&{period}{range}");
                        checked += check_pages(store, &stored, &base, &[1, 7, 100], ctx);
                    }
                }
            }
            checked
        };
        assert!(check(&store, "overlapping report days") > 1000);
        // A report by resource 3, in project 0, which is then no longer one
        // run: upserted, the store validated and checked.
        let template = records
            .iter()
            .find(|r| r.resource_uuid == resource(3))
            .expect("resource 3 has records")
            .clone();
        let report = |store: &Store, n: u128, period: NaiveDate, date: &str, ctx: &str| {
            let mut r = template.clone();
            r.uuid = Uuid::from_u128(0xe1a7_0000_0000_4000_8000_0000_0000_0000 + 2 * n);
            r.component_usage = Uuid::from_u128(0xe1a7_0000_0000_4000_8000_0000_0000_0001 + 2 * n);
            r.billing_period = period;
            r.date = ts(date);
            store.upsert(&r).expect("valid record");
            store
                .validate()
                .unwrap_or_else(|e| panic!("{ctx}: invariants: {e}"));
            check(store, ctx);
            r.uuid
        };
        let late = report(
            &store,
            0,
            ymd(2024, 3, 1),
            "2025-06-15T08:00:00Z",
            "a late report",
        );
        store.remove(late).expect("stored");
        store.validate().expect("invariants after its removal");
        check(&store, "a late report removed");
        // A report after every other: project 0 stays in date order, but is
        // no longer one run of slots.
        let fresh = Store::new();
        fresh.upsert_batch(&records).expect("valid records");
        report(
            &fresh,
            1,
            ymd(2026, 2, 1),
            "2026-03-20T00:00:00Z",
            "a report in order, out of the run",
        );
    }

    /// Billing periods with a report-date range that keeps some periods
    /// whole, cuts through others (their first days, their late reports'
    /// days, their middle) and misses the rest, alone and with a type, an
    /// offering, a customer and a username search, in three orders: the
    /// planner drops the range from the whole periods and makes the cut
    /// ones' records in the range (`PeriodsInRange`, `cut_records`). Again
    /// after a late report widens a period's report days, and after its
    /// removal (which leaves them wide).
    #[test]
    fn period_date_cuts_match_model() {
        let mut records = prefill_records(3000, 23);
        for (i, r) in records.iter_mut().enumerate() {
            month_reported(r, splitmix(0xc07 ^ i as u64));
            // June 2024 reported a year early: a range from 2024 leaves it
            // out between whole periods.
            if r.billing_period == ymd(2024, 6, 1) {
                r.date -= chrono::Duration::days(366);
            }
            r.component_usage =
                Uuid::from_u128(0xe100_0000_0000_4000_8000_0000_0000_0000 + i as u128);
            // A few records of a small offering: against them, the cut
            // periods' records are tested rather than made.
            if i % 150 == 7 {
                r.resource_uuid = Uuid::from_u128(0xe5e6_0000_0000_4000_8000_0000_0000_0000);
                r.offering_uuid = uuid(&OFFERING_UUIDS, 2);
                r.project_uuid = uuid(&PROJECT_UUIDS, 0);
                r.customer_uuid = uuid(&CUSTOMER_UUIDS, 0);
            }
        }
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("invariants after the load");
        let check = |store: &Store, ctx: &str| {
            let stored = store_content(store);
            let mut checked = 0;
            let filters = [
                String::new(),
                "type=cpu&".to_owned(),
                format!(
                    "offering_uuid={}&",
                    Uuid::from_u128(OFFERING_UUIDS[0]).simple()
                ),
                format!(
                    "offering_uuid={}&",
                    Uuid::from_u128(OFFERING_UUIDS[2]).simple()
                ),
                format!(
                    "customer_uuid={}&",
                    Uuid::from_u128(CUSTOMER_UUIDS[0]).simple()
                ),
                "username=ann&".to_owned(),
            ];
            let periods = [
                "billing_period_year=2025",
                "billing_period_year=2024",
                "billing_period_year=2024&billing_period_month=12",
                "component_usage__billing_period=2025-02-01",
                "billing_period_month=2",
            ];
            let ranges = [
                // Whole from March, February cut by its late reports.
                "&date_after=2025-03-01",
                // January whole, February cut at its start, December 2024's
                // late reports cut.
                "&date_before=2025-01-31",
                "&date_after=2024-12-01&date_before=2025-01-31",
                // February cut to its first day.
                "&date_before=2025-02-01",
                // Cuts inside a month's own days.
                "&date_after=2025-01-20",
                "&date_after=2025-02-03&date_before=2025-02-10",
                // Every period whole; all but June 2024; none.
                "&date_after=2023-01-01",
                "&date_after=2024-01-01",
                "&date_before=2023-12-31",
            ];
            for filter in &filters {
                for period in periods {
                    for range in ranges {
                        for order in ["", "&o=-usage", "&o=username"] {
                            let base = format!("{filter}{period}{range}{order}");
                            checked += check_pages(store, &stored, &base, &[7, 100], ctx);
                        }
                    }
                }
            }
            checked
        };
        assert!(check(&store, "after the load") > 3000);
        let mut late = records[0].clone();
        late.uuid = Uuid::from_u128(0xe1a8_0000_0000_4000_8000_0000_0000_0000);
        late.component_usage = Uuid::from_u128(0xe1a8_0000_0000_4000_8000_0000_0000_0001);
        late.billing_period = ymd(2025, 2, 1);
        late.date = ts("2025-06-15T08:00:00Z");
        store.upsert(&late).expect("valid record");
        store.validate().expect("invariants after a late report");
        check(&store, "a late report of February");
        store.remove(late.uuid).expect("stored");
        store.validate().expect("invariants after its removal");
        check(&store, "the late report removed");
    }

    /// An offering or a username search with a component type, alone,
    /// with billing periods and with a report-date range, and an offering
    /// ordered by usage: plans read the offering's or the search's kept
    /// records of the type (`OfferingTypeCache`, `NeedleRows::typed`),
    /// count by their kept counts per day or period and type, and merge
    /// only the usage view's parts of an offering's types (offering 0 has
    /// two types, offering 1 one). Again after writes that re-type a
    /// component usage of offering 0 and of `ann` (its records leave one
    /// kept set and join another), re-date it, add a type to offering 1,
    /// and rename a record of `ann`.
    #[test]
    fn offering_types_match_model() {
        let records = prefill_records(3000, 29);
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("invariants after the load");
        let check = |store: &Store, ctx: &str| {
            let stored = store_content(store);
            let mut checked = 0;
            let filters = [0, 1].map(|o| {
                format!(
                    "offering_uuid={}",
                    Uuid::from_u128(OFFERING_UUIDS[o]).simple()
                )
            });
            let searches = ["username=ann", "username=o"].map(str::to_owned);
            for filter in filters.iter().chain(&searches) {
                for ty in ["", "&type=cpu", "&type=ram", "&type=storage"] {
                    for extra in [
                        "",
                        "&billing_period_year=2024",
                        "&billing_period_month=12",
                        "&date_after=2025-01-31",
                    ] {
                        for order in ["", "&o=-usage", "&o=usage", "&o=-usage,username"] {
                            let base = format!("{filter}{ty}{extra}{order}");
                            checked += check_pages(store, &stored, &base, &[7, 100], ctx);
                        }
                    }
                }
            }
            checked
        };
        assert!(check(&store, "after the load") > 500);
        // Offering 0's first component usage (CPU, `ann`'s) becomes
        // storage.
        let first = &records[0];
        assert_eq!(first.offering_uuid, Uuid::from_u128(OFFERING_UUIDS[0]));
        assert_eq!(&*first.username, "ann");
        let mut retyped = first.clone();
        retyped.component_type = "storage".to_owned().into();
        store.upsert(&retyped).expect("valid record");
        store.validate().expect("invariants after a re-type");
        check(&store, "a component usage re-typed");
        let mut redated = retyped.clone();
        redated.date = ts("2025-03-01T00:00:00Z");
        store.upsert(&redated).expect("valid record");
        store.validate().expect("invariants after a re-date");
        check(&store, "a component usage re-dated");
        let mut new = records[1].clone();
        assert_eq!(new.offering_uuid, Uuid::from_u128(OFFERING_UUIDS[1]));
        new.uuid = Uuid::from_u128(0x0f7e_0000_0000_4000_8000_0000_0000_0000);
        new.component_usage = Uuid::from_u128(0x0f7e_0000_0000_4000_8000_0000_0000_0001);
        new.component_type = "cpu".to_owned().into();
        store.upsert(&new).expect("valid record");
        store.validate().expect("invariants after a new type");
        check(&store, "offering 1 with CPU");
        let mut renamed = new.clone();
        renamed.username = "zed".to_owned().into();
        store.upsert(&renamed).expect("valid record");
        store.validate().expect("invariants after a rename");
        check(&store, "a record of ann renamed");
    }

    /// The demo's records and a store holding them, its invariants checked.
    /// The demo's entities are consistent, so its records are what the
    /// store holds (the model resolves nothing on this side).
    #[cfg(feature = "demo")]
    fn demo_store(records: usize, seed: u64) -> (Vec<Record>, Store) {
        use usage_store::demo::{Demo, DemoConfig};
        let records: Vec<Record> = Demo::new(DemoConfig { records, seed }).records().collect();
        let store = Store::new();
        store
            .upsert_batch(&records)
            .expect("demo records are valid");
        store.validate().expect("invariants after the load");
        assert_eq!(store.len(), records.len());
        (records, store)
    }

    /// A scope with the entities it names, for the model's side.
    type DemoScope = (Scope, Vec<Uuid>, Vec<Uuid>, Vec<Uuid>);

    /// The values of `key` over `records` with their counts, most
    /// records first (equal counts by value, descending).
    #[cfg(feature = "demo")]
    fn by_count<K: Ord>(records: &[Record], key: impl Fn(&Record) -> K) -> Vec<(usize, K)> {
        let mut n: BTreeMap<K, usize> = BTreeMap::new();
        for r in records {
            *n.entry(key(r)).or_default() += 1;
        }
        let mut v: Vec<(usize, K)> = n.into_iter().map(|(k, n)| (n, k)).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }

    /// A scope of these customers.
    #[cfg(feature = "demo")]
    fn customers_scope(customers: impl IntoIterator<Item = Uuid>) -> DemoScope {
        let mut scope: DemoScope = (Scope::nothing(), Vec::new(), Vec::new(), Vec::new());
        for c in customers {
            scope.0 = scope.0.with_customer(c);
            scope.1.push(c);
        }
        scope
    }

    /// The model's answer to a query string (no page) under a scope:
    /// every match, in order.
    fn demo_want<'r>(
        records: &'r [Record],
        base: &str,
        scope: Option<&DemoScope>,
    ) -> Vec<&'r Record> {
        let mq = model_parse_query(base).unwrap_or_else(|e| panic!("{base}: {e:?}"));
        let mut want: Vec<&Record> = records
            .iter()
            .filter(|r| mq.filter.matches(r))
            .filter(|r| {
                scope.is_none_or(|(_, c, p, o)| {
                    c.contains(&r.customer_uuid)
                        || p.contains(&r.project_uuid)
                        || o.contains(&r.offering_uuid)
                })
            })
            .collect();
        want.sort_by(|x, y| model_cmp(&mq.order, x, y));
        want
    }

    /// Runs `base` with a page size and number against the store (list and
    /// count only) and compares with the model's `want`.
    fn demo_check(
        store: &Store,
        want: &[&Record],
        base: &str,
        scope: Option<&DemoScope>,
        size: usize,
        page: usize,
        ctx: &str,
    ) {
        let pages = want.len().div_ceil(size).max(1);
        let full = format!("{base}&page_size={size}&page={page}");
        let mut q = Query::parse(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
        if let Some((s, ..)) = scope {
            q = q.with_scope(s.clone());
        }
        let ctx = format!("{ctx}: {full} (scope: {})", scope.is_some());
        let got = store.query(&q);
        let counted = store.read().count(&q);
        if page > pages {
            assert!(got.is_err(), "{ctx}: page past the end is served");
            assert!(counted.is_err(), "{ctx}: count of a page past the end");
            return;
        }
        let (info, rows) = got.unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(info.count, want.len() as u64, "{ctx}: count");
        assert_eq!(
            counted.expect("a page that exists").count,
            info.count,
            "{ctx}: count only"
        );
        assert_eq!(info.number, page as u64, "{ctx}: page number");
        let start = (page - 1) * size;
        let expected: Vec<Uuid> = want[start..(start + size).min(want.len())]
            .iter()
            .map(|r| r.uuid)
            .collect();
        let got: Vec<Uuid> = rows.iter().map(|r| r.uuid).collect();
        assert_eq!(got, expected, "{ctx}: page");
    }

    /// A username search ordered by username alone, which the store reads
    /// a name at a time: pages that start inside a name, on a name's
    /// first record and past the end, both directions.
    #[cfg(feature = "demo")]
    #[test]
    fn username_search_orders_match_model() {
        let (records, store) = demo_store(20_000, 37);
        let mut pages_checked = 0;
        for needle in ["ann", "AN", "e", "ski", "no-such-name"] {
            for o in ["username", "-username"] {
                let base = format!("username={needle}&o={o}");
                let want = demo_want(&records, &base, None);
                for size in [1, 7, 10] {
                    let last = want.len().div_ceil(size).max(1);
                    let mut pages = vec![1, 2, last / 3 + 1, last / 2 + 1, last, last + 1];
                    // A third of the name changes: the pages holding a
                    // name's last record and the next name's first.
                    for (i, w) in want.windows(2).enumerate().step_by(3) {
                        if w[0].username != w[1].username {
                            pages.push(i / size + 1);
                            pages.push((i + 1) / size + 1);
                        }
                    }
                    pages.sort_unstable();
                    pages.dedup();
                    for page in pages {
                        demo_check(&store, &want, &base, None, size, page, "username order");
                        pages_checked += 1;
                    }
                }
            }
        }
        assert!(pages_checked > 1000, "only {pages_checked} pages");
    }

    /// Orders led by usage, over every type (the usage view's parts merged)
    /// and over one type (its part): pages from the first to the last,
    /// which the store reads from whichever end is nearer, and pages on
    /// which one usage ends and the next begins (a descending order keeps
    /// equal usages in the default order, so they are not the reverse of
    /// the ascending order's). On the demo's usages, on a few usages
    /// shared by most records, and on usages at the edges of the view's
    /// fences.
    #[cfg(feature = "demo")]
    #[test]
    fn usage_orders_from_either_end_match_model() {
        let (records, store) = demo_store(20_000, 41);
        // And the same records where most usages are one of a few values
        // (unused components report zero): groups of equal usage of
        // thousands, which a late descending page reads from their ends.
        let mut lumpy = records.clone();
        for (i, r) in lumpy.iter_mut().enumerate() {
            // (The lowest group under half the records, so that late
            // pages also skip it whole.)
            match splitmix(i as u64) % 10 {
                0 | 1 => r.usage = Usage::from_cents(0),
                2 | 3 => r.usage = Usage::from_cents(1),
                4 => r.usage = Usage::from_cents(250),
                _ => {}
            }
        }
        let lumpy_store = Store::new();
        lumpy_store.upsert_batch(&lumpy).expect("valid records");
        lumpy_store.validate().expect("invariants after the load");
        // And usages at the edges of what the usage view's block fences
        // hold exactly (48 bits): beyond them the fences tie, and the
        // binary searches of the selection read the records.
        let mut edges = records.clone();
        let edge = 1i64 << 47;
        for (i, r) in edges.iter_mut().enumerate() {
            let cents = match splitmix(i as u64 + 7) % 12 {
                0 => edge - 2,
                1 => edge - 1,
                2 => edge,
                3 => i64::MAX,
                4 => -edge + 1,
                5 => -edge,
                6 => -edge - 1,
                7 => i64::MIN,
                _ => continue,
            };
            r.usage = Usage::from_cents(cents);
        }
        let edge_store = Store::new();
        edge_store.upsert_batch(&edges).expect("valid records");
        edge_store.validate().expect("invariants after the load");
        // And one project holding a tenth of the records, of some types
        // only: its usage orders walk the parts of its types (the others
        // hold none of its records), where the demo's projects are small
        // enough to be sorted. The largest customer's projects are
        // merged into one, its records of the two commonest types
        // dropped.
        let mut sizes: BTreeMap<Uuid, usize> = BTreeMap::new();
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &records {
            *sizes.entry(r.customer_uuid).or_default() += 1;
            *by_type.entry(r.component_type.as_str()).or_default() += 1;
        }
        let (&big, _) = sizes.iter().max_by_key(|(_, n)| **n).expect("records");
        let mut common: Vec<(usize, &str)> = by_type.iter().map(|(t, n)| (*n, *t)).collect();
        common.sort_unstable();
        let dropped: Vec<&str> = common.iter().rev().take(2).map(|e| e.1).collect();
        let one = records
            .iter()
            .find(|r| r.customer_uuid == big)
            .expect("a record")
            .clone();
        let merged: Vec<Record> = (records.iter())
            .filter(|r| r.customer_uuid != big || !dropped.contains(&r.component_type.as_str()))
            .map(|r| {
                let mut r = r.clone();
                if r.customer_uuid == big {
                    r.project_uuid = one.project_uuid;
                    r.project_name = one.project_name.clone();
                }
                r
            })
            .collect();
        let merged_store = Store::new();
        merged_store.upsert_batch(&merged).expect("valid records");
        merged_store.validate().expect("invariants after the load");
        let mut checked = 0;
        for (records, store) in [
            (&records, &store),
            (&lumpy, &lumpy_store),
            (&edges, &edge_store),
            (&merged, &merged_store),
        ] {
            checked += usage_order_pages(records, store);
        }
        assert!(checked > 900, "only {checked} pages");
    }

    /// A descending order over a whole view whose every record matches a
    /// filter (a report-date range from 1970 on): deep pages start at
    /// their group, found by binary search, as in one type's usage part.
    #[cfg(feature = "demo")]
    #[test]
    fn whole_view_descending_deep_pages_match_model() {
        let (records, store) = demo_store(20_000, 43);
        let mut checked = 0;
        for o in ["-username", "-component_usage__billing_period", "-usage"] {
            let base = format!("date_after=1970-01-01&o={o}");
            let want = demo_want(&records, &base, None);
            assert_eq!(want.len(), records.len(), "{base}: every record matches");
            for size in [1, 7, 10] {
                let last = want.len().div_ceil(size);
                // From below the jump's threshold to the last page, and
                // pages holding the end of a group.
                let mut pages = vec![1, 2, 13, 14, 20, 40, last / 3, last / 2, last - 1, last];
                let ends = pairs(&want, 0, |a, b| model_cmp_first(o, a, b));
                for &i in ends.iter().step_by(ends.len() / 16 + 1) {
                    pages.extend([i / size + 1, i / size + 2]);
                }
                pages.retain(|&p| p >= 1 && p <= last);
                pages.sort_unstable();
                pages.dedup();
                for page in pages {
                    demo_check(&store, &want, &base, None, size, page, "whole view");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} pages");
    }

    /// The positions `i` from `from` on where `want[i]` and `want[i + 1]`
    /// pass `test`: where a page may start or end a group.
    #[cfg(feature = "demo")]
    fn pairs(want: &[&Record], from: usize, test: impl Fn(&Record, &Record) -> bool) -> Vec<usize> {
        (want.windows(2).enumerate().skip(from))
            .filter(|(_, w)| test(w[0], w[1]))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether two neighbours in an order led by `o` differ in its first key.
    #[cfg(feature = "demo")]
    fn model_cmp_first(o: &str, a: &Record, b: &Record) -> bool {
        match o.trim_start_matches('-') {
            "username" => a.username != b.username,
            "usage" => a.usage != b.usage,
            _ => a.billing_period != b.billing_period,
        }
    }

    /// [`usage_orders_from_either_end_match_model`]'s pages of one store.
    #[cfg(feature = "demo")]
    fn usage_order_pages(records: &[Record], store: &Store) -> usize {
        let mut types: Vec<&str> = records.iter().map(|r| r.component_type.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        assert!(types.len() > 2, "the demo has {} types", types.len());
        // The largest customer: a filter over every type, tested per record
        // while the parts are merged.
        let mut sizes: BTreeMap<Uuid, usize> = BTreeMap::new();
        for r in records {
            *sizes.entry(r.customer_uuid).or_default() += 1;
        }
        let (&big, _) = sizes.iter().max_by_key(|(_, n)| **n).expect("records");
        // The largest project and offering, and a resource of the
        // project: their usage orders walk only the parts of the types
        // they hold records of (`Core::filter_types`).
        let largest = |key: fn(&Record) -> Uuid| {
            let mut sizes: BTreeMap<Uuid, usize> = BTreeMap::new();
            for r in records {
                *sizes.entry(key(r)).or_default() += 1;
            }
            sizes
                .into_iter()
                .max_by_key(|&(_, n)| n)
                .expect("records")
                .0
        };
        let project = largest(|r| r.project_uuid);
        let offering = largest(|r| r.offering_uuid);
        let resource = (records.iter())
            .find(|r| r.project_uuid == project)
            .expect("the project's records")
            .resource_uuid;
        let filters = std::iter::once(String::new())
            .chain(types.iter().map(|t| format!("type={t}")))
            .chain([
                format!("customer_uuid={big}"),
                format!("project_uuid={project}"),
                format!("resource_uuid={resource}"),
                format!("offering_uuid={offering}"),
                format!("customer_uuid={big}&offering_uuid={offering}"),
                "username=an".into(),
                // Every record matches: the whole view as a span.
                "date_after=1970-01-01".into(),
            ]);
        let (mut pages_checked, mut ties) = (0, 0);
        for filter in filters {
            for o in ["-usage", "usage", "-usage,username", "usage,-username"] {
                let base = if filter.is_empty() {
                    format!("o={o}")
                } else {
                    format!("{filter}&o={o}")
                };
                let want = demo_want(records, &base, None);
                for size in [1, 10] {
                    let last = want.len().div_ceil(size).max(1);
                    let mut pages =
                        vec![1, 2, last / 3 + 1, last / 2, last / 2 + 1, last - 1, last];
                    // Pages on equal usages (two dozen, spread out).
                    let equal = pairs(&want, 0, |a, b| a.usage == b.usage);
                    for &i in equal.iter().step_by(equal.len() / 24 + 1) {
                        pages.push(i / size + 1);
                        ties += 1;
                    }
                    // Late pages on each side of a change of usage (two
                    // dozen, spread over the second half).
                    let changes = pairs(&want, want.len() / 2, |a, b| a.usage != b.usage);
                    let every = changes.len() / 24 + 1;
                    // (And the last few: the lowest groups' boundaries.)
                    let tail = changes.iter().rev().take(4);
                    for &i in changes.iter().step_by(every).chain(tail) {
                        pages.extend([i / size, i / size + 1, i / size + 2]);
                    }
                    pages.retain(|&p| p >= 1 && p <= last);
                    pages.sort_unstable();
                    pages.dedup();
                    for page in pages {
                        demo_check(store, &want, &base, None, size, page, "usage order");
                        pages_checked += 1;
                    }
                }
            }
        }
        assert!(ties > 20, "only {ties} pages on equal usages");
        pages_checked
    }

    /// Orders led by the billing period over whole periods (or a type's
    /// part of each), which the store pages period by period: every page
    /// that holds the last match of one period and the first of the next,
    /// in both directions, with a second key and a third.
    #[cfg(feature = "demo")]
    #[test]
    fn period_first_orders_match_model() {
        let (records, store) = demo_store(20_000, 31);
        let a = &records[records.len() / 2];
        let filters = [
            String::new(),
            format!("type={}", a.component_type),
            format!("billing_period_year={}", a.billing_period.year()),
            format!(
                "type={}&billing_period_year={}",
                a.component_type,
                a.billing_period.year()
            ),
        ];
        let orders = [
            "-component_usage__billing_period,-usage",
            "component_usage__billing_period,usage",
            "component_usage__billing_period,username",
            "-component_usage__billing_period,-username",
            "-component_usage__billing_period,usage,-username",
        ];
        let mut straddling = 0;
        for filter in &filters {
            for o in orders {
                let base = if filter.is_empty() {
                    format!("o={o}")
                } else {
                    format!("{filter}&o={o}")
                };
                let want = demo_want(&records, &base, None);
                let size = 7;
                // Each page on which the billing period changes, and the
                // first and the last.
                let mut pages = vec![1, want.len().div_ceil(size).max(1)];
                for (i, w) in want.windows(2).enumerate() {
                    if w[0].billing_period != w[1].billing_period {
                        pages.push(i / size + 1);
                        straddling += usize::from(i / size == (i + 1) / size);
                    }
                }
                pages.sort_unstable();
                pages.dedup();
                for page in pages {
                    demo_check(&store, &want, &base, None, size, page, "period first");
                }
            }
        }
        assert!(straddling > 100, "only {straddling} pages hold two periods");
    }

    /// Orders whose first key has groups of thousands of records (a few
    /// usages shared by most records, three billing periods), sorted by
    /// their later keys: the store keeps a big group sorted once a page
    /// reaches it, and reads the next pages from it. Pages at the groups'
    /// boundaries, in both directions and from either end, after the
    /// load and after each write that moves records within or between
    /// groups (a usage re-reported, a user renamed, records removed and
    /// added), which must forget the kept groups.
    #[cfg(feature = "demo")]
    #[test]
    fn big_group_orders_match_model() {
        let (mut records, _) = demo_store(20_000, 47);
        // The commonest component type: most of its records report a cent,
        // a group big enough to keep within the type's own usage order.
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        for r in &records {
            *types.entry(r.component_type.to_string()).or_default() += 1;
        }
        let (ty, _) = (types.into_iter())
            .max_by_key(|(_, n)| *n)
            .expect("records");
        for (i, r) in records.iter_mut().enumerate() {
            // Zeros too few to keep (a late page skips them, then reads
            // the next group from its end), a cent and 1.00 many.
            let h = splitmix(0xb16 ^ i as u64);
            match h % 40 {
                0 => r.usage = Usage::from_cents(0),
                1..=12 => r.usage = Usage::from_cents(1),
                13..=20 => r.usage = Usage::from_cents(100),
                _ if r.component_type == ty => r.usage = Usage::from_cents(1),
                _ => {}
            }
            r.billing_period = ymd(2025, 1 + (h >> 8) as u32 % 3, 1);
        }
        let cents = (records.iter())
            .filter(|r| r.component_type == ty && r.usage == Usage::from_cents(1))
            .count();
        assert!(cents >= 2_048, "{cents} cents of {ty}: too few to keep");
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("invariants after the load");
        let everywhere = [
            String::new(),
            format!("type={ty}&"),
            // Every record matches: the whole view as a span.
            "date_after=1970-01-01&".to_owned(),
            "billing_period_year=2025&".to_owned(),
        ];
        // Pages of `filters` × `orders`: at size 10, the first, last and
        // middle ones and those holding a group's end (a dozen, spread
        // out); at size 300 those, or with `every` all of them.
        let check = |filters: &[String], orders: &[&str], every: bool, ctx: &str| {
            let stored = store_content(&store);
            let mut checked = 0;
            for filter in filters {
                for o in orders {
                    let base = format!("{filter}o={o}");
                    let want = demo_want(&stored, &base, None);
                    let first = o.split(',').next().expect("a key");
                    for size in [10, 300] {
                        let last = want.len().div_ceil(size).max(1);
                        let mut pages = vec![1, 2, last / 3, last / 2 + 1, last - 1, last];
                        let ends = pairs(&want, 0, |a, b| model_cmp_first(first, a, b));
                        for &i in ends.iter().step_by(ends.len() / 12 + 1) {
                            pages.extend([i / size, i / size + 1, i / size + 2]);
                        }
                        if every && size == 300 {
                            pages.extend(1..=last);
                        }
                        pages.retain(|&p| p >= 1 && p <= last);
                        pages.sort_unstable();
                        pages.dedup();
                        for page in pages {
                            demo_check(&store, &want, &base, None, size, page, ctx);
                            checked += 1;
                        }
                    }
                    // (Each order's kept groups checked before the next
                    // order's drop them.)
                    store.validate().expect("invariants after the pages");
                }
            }
            checked
        };
        let orders = [
            "usage,username",
            "-usage,-username",
            "-usage,component_usage__billing_period",
            "usage,-component_usage__billing_period,username",
            "component_usage__billing_period,usage",
            "-component_usage__billing_period,-usage,username",
            "-component_usage__billing_period,username",
            "username,usage",
        ];
        assert!(check(&everywhere, &orders, false, "after the load") > 1000);

        // Writes that keep every group's size and bounds, each between
        // pages of the orders it changes: a kept order read after it
        // would be out of date.
        let cent = Usage::from_cents(1);
        let one = Usage::from_cents(100);
        let of = |u: Usage, skip: usize| {
            (records.iter())
                .filter(|r| r.usage == u)
                .nth(skip)
                .expect("a record")
                .clone()
        };
        let usage_orders = ["usage,username", "-usage,-username", "-usage,username"];
        let period_orders = [
            "component_usage__billing_period,usage",
            "-component_usage__billing_period,-usage,username",
        ];
        let by_type = [String::new(), format!("type={ty}&")];
        // (What it is, its writes, the filters and orders to page.)
        type Step<'a> = (&'a str, Vec<Record>, &'a [String], &'a [&'a str]);
        let steps: Vec<Step<'_>> = vec![
            // A cent and a 1.00 swap usages (usage-only changes, which
            // move records in the usage view alone).
            (
                "a cent and a 1.00 swapped",
                vec![
                    Record {
                        usage: one,
                        ..of(cent, 40)
                    },
                    Record {
                        usage: cent,
                        ..of(one, 40)
                    },
                ],
                &by_type,
                &usage_orders,
            ),
            // A user of a cent renamed (a new name sorts first): the same
            // group, another place in it.
            (
                "a user renamed",
                vec![Record {
                    username: "aaa-renamed".into(),
                    ..of(cent, 90)
                }],
                &by_type,
                &usage_orders,
            ),
            // A usage within its billing period's order.
            (
                "a usage within its period",
                vec![Record {
                    usage: Usage::from_cents(7),
                    ..of(one, 7)
                }],
                &everywhere[..],
                &period_orders,
            ),
        ];
        for (ctx, writes, filters, orders) in steps {
            check(filters, orders, true, &format!("before: {ctx}"));
            for w in &writes {
                store.upsert(w).expect("valid record");
            }
            check(filters, orders, true, ctx);
        }
        // Records removed and added (one by one, then in bulk).
        check(&by_type, &usage_orders, false, "before removals");
        for r in records.iter().skip(100).step_by(97).take(60) {
            store.remove(r.uuid).expect("stored");
        }
        let added: Vec<Record> = (0..150u128)
            .map(|i| Record {
                uuid: Uuid::from_u128(0xadd0_0000_0000_4000_8000_0000_0000_0000 + i),
                component_usage: Uuid::from_u128(0xadd1_0000_0000_4000_8000_0000_0000_0000 + i),
                usage: cent,
                billing_period: ymd(2025, 2, 1),
                ..records[(i as usize * 37) % records.len()].clone()
            })
            .collect();
        store.upsert_batch(&added).expect("valid records");
        check(&everywhere, &orders, false, "removed and added");
    }

    /// Orders led by the billing period over filters whose periods' counts
    /// are not kept (a report-date range, a username search, an offering,
    /// a scope of customers): thousands of matches, paged a period at a
    /// time (each period's matches counted, then paged alone by the later
    /// keys). Every page on which the period changes, both directions.
    #[cfg(feature = "demo")]
    #[test]
    fn period_split_orders_match_model() {
        let (records, store) = demo_store(20_000, 53);
        let dates = report_days(&records);
        let (lo, hi) = (dates[dates.len() / 3], dates[dates.len() * 2 / 3]);
        let offering = by_count(&records, |r| r.offering_uuid)[0].1;
        let customers = by_count(&records, |r| r.customer_uuid);
        let scope = customers_scope(customers[..6].iter().map(|&(_, c)| c));
        let filters: Vec<(String, Option<&DemoScope>)> = vec![
            (format!("date_after={lo}&date_before={hi}"), None),
            (format!("date_after={lo}"), None),
            (format!("username=e&date_before={hi}"), None),
            ("username=a".to_owned(), None),
            (format!("offering_uuid={}", offering.simple()), None),
            (String::new(), Some(&scope)),
        ];
        let orders = [
            "component_usage__billing_period,-usage,username",
            "-component_usage__billing_period,usage",
            "-component_usage__billing_period,-username,usage",
        ];
        let mut straddling = 0;
        for (filter, scope) in &filters {
            for o in orders {
                let base = if filter.is_empty() {
                    format!("o={o}")
                } else {
                    format!("{filter}&o={o}")
                };
                let want = demo_want(&records, &base, *scope);
                // (Enough to be paged by period.)
                assert!(want.len() >= 4096, "{base}: {} matches", want.len());
                for size in [7, 100] {
                    let mut pages = vec![1, 2, want.len().div_ceil(size)];
                    for (i, w) in want.windows(2).enumerate() {
                        if w[0].billing_period != w[1].billing_period {
                            pages.extend([i / size, i / size + 1, i / size + 2]);
                            straddling += usize::from(i / size == (i + 1) / size);
                        }
                    }
                    pages.retain(|&p| p >= 1 && p <= want.len().div_ceil(size));
                    pages.sort_unstable();
                    pages.dedup();
                    for page in pages {
                        demo_check(&store, &want, &base, *scope, size, page, "period split");
                    }
                }
            }
        }
        assert!(straddling > 100, "only {straddling} pages hold two periods");
    }

    /// Orders of the billing period alone (its ties in the default order)
    /// over big filtered sets: a year, a component type and both (the
    /// periods' counts kept), report-date ranges alone or with a year
    /// (each period's run of the period view found by its dates), an
    /// offering with or without a range, a username search and a scope
    /// (each period's matches counted, then read from the period's run
    /// of the period view or paged by the period's own plan). Every page
    /// on which the period changes, the first and last two, in both
    /// directions; then again after writes that re-date records within
    /// their period, move records to other periods (widening the
    /// periods' report days), remove records and add more.
    #[cfg(feature = "demo")]
    #[test]
    fn one_key_period_orders_match_model() {
        let (mut records, store) = demo_store(20_000, 61);
        let periods: Vec<NaiveDate> = {
            let mut v: Vec<NaiveDate> = records.iter().map(|r| r.billing_period).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        // The range runs from the last report day of a period to the
        // first of a later one: each edge period has matches on one day.
        let days = |p: NaiveDate| {
            let d = records.iter().filter(|r| r.billing_period == p);
            let d: Vec<NaiveDate> = d.map(|r| r.date.date_naive()).collect();
            (
                *d.iter().min().expect("days"),
                *d.iter().max().expect("days"),
            )
        };
        let lo = days(periods[periods.len() / 3]).1;
        let hi = days(periods[periods.len() * 2 / 3]).0;
        let year = {
            use chrono::Datelike;
            records[records.len() / 2].billing_period.year()
        };
        let ty = by_count(&records, |r| r.component_type.to_string())[0]
            .1
            .clone();
        let offering = by_count(&records, |r| r.offering_uuid)[0].1.simple();
        let customers = by_count(&records, |r| r.customer_uuid);
        let scope = customers_scope(customers[..6].iter().map(|&(_, c)| c));
        let filters: Vec<(String, Option<&DemoScope>)> = vec![
            (format!("billing_period_year={year}"), None),
            (format!("type={ty}"), None),
            (format!("type={ty}&billing_period_year={year}"), None),
            (format!("date_after={lo}&date_before={hi}"), None),
            (format!("date_after={lo}"), None),
            (format!("billing_period_year={year}&date_before={hi}"), None),
            (format!("offering_uuid={offering}"), None),
            (format!("offering_uuid={offering}&date_after={lo}"), None),
            ("username=a".to_owned(), None),
            (String::new(), Some(&scope)),
        ];
        let check = |records: &[Record], ctx: &str| {
            let mut straddling = 0;
            for (filter, scope) in &filters {
                for o in [
                    "component_usage__billing_period",
                    "-component_usage__billing_period",
                ] {
                    let base = if filter.is_empty() {
                        format!("o={o}")
                    } else {
                        format!("{filter}&o={o}")
                    };
                    let want = demo_want(records, &base, *scope);
                    assert!(want.len() >= 1000, "{base}: {} matches", want.len());
                    for size in [7, 100, 300] {
                        let last = want.len().div_ceil(size);
                        let mut pages = vec![1, 2, last - 1, last];
                        for (i, w) in want.windows(2).enumerate() {
                            if w[0].billing_period != w[1].billing_period {
                                pages.extend([i / size, i / size + 1, i / size + 2]);
                                straddling += usize::from(i / size == (i + 1) / size);
                            }
                        }
                        pages.retain(|&p| p >= 1 && p <= last);
                        pages.sort_unstable();
                        pages.dedup();
                        for page in pages {
                            demo_check(&store, &want, &base, *scope, size, page, ctx);
                        }
                    }
                }
            }
            assert!(
                straddling > 100,
                "{ctx}: only {straddling} pages hold two periods"
            );
        };
        check(&records, "after the load");
        // Writes, each a record of its own component usage (so that a
        // date written re-dates that record alone).
        let mut uuids = 0xc0de_0000_0000_4000_8000_0000_0000_0000u128..;
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        for i in (0..records.len()).step_by(211) {
            let r = &mut records[i];
            r.component_usage = Uuid::from_u128(uuids.next().expect("uuids"));
            if i % 3 == 0 {
                // Reported on the range's edges: its first instant, its
                // last, and the first after it.
                r.date = match i % 9 {
                    0 => midnight(lo),
                    3 => midnight(hi + chrono::Days::new(1)) - chrono::Duration::microseconds(1),
                    _ => midnight(hi + chrono::Days::new(1)),
                };
            } else if i % 3 == 1 {
                // Re-dated within its period's report days.
                r.date = r
                    .billing_period
                    .and_hms_opt(12, 0, 0)
                    .expect("noon")
                    .and_utc()
                    + chrono::Days::new((i % 27) as u64);
            } else {
                // Moved to another period, reported late (days after its
                // end: the period's report days widen).
                let p = periods[i % periods.len()];
                r.billing_period = p;
                r.date = p.and_hms_opt(6, 0, 0).expect("six").and_utc()
                    + chrono::Days::new(33 + (i % 9) as u64);
            }
            store.upsert(r).expect("valid record");
        }
        store.validate().expect("invariants after the moves");
        check(&records, "after moves");
        let mut gone = Vec::new();
        for i in (7..records.len()).step_by(101) {
            gone.push(i);
            store.remove(records[i].uuid).expect("stored");
        }
        for &i in gone.iter().rev() {
            records.swap_remove(i);
        }
        let added: Vec<Record> = (0..400usize)
            .map(|i| Record {
                uuid: Uuid::from_u128(uuids.next().expect("uuids")),
                component_usage: Uuid::from_u128(uuids.next().expect("uuids")),
                ..records[(i * 43) % records.len()].clone()
            })
            .collect();
        store.upsert_batch(&added).expect("valid records");
        records.extend(added);
        store
            .validate()
            .expect("invariants after removals and additions");
        check(&records, "after removals and additions");
    }

    /// Orders led by the usage or the username (several keys, or one)
    /// over thousands of matches (report-date ranges, a username search,
    /// a scope of customers), which the store keeps sorted whole
    /// once paged deep twice between writes: every page from first to
    /// last, then a write that moves one match (its usage, its name) or
    /// takes it away, and every page again, which must not read the
    /// order kept before the write.
    #[cfg(feature = "demo")]
    #[test]
    fn kept_query_orders_match_model() {
        let (records, store) = demo_store(20_000, 59);
        let dates = report_days(&records);
        let (lo, hi) = (dates[dates.len() / 4], dates[dates.len() * 3 / 4]);
        let by_size = by_count(&records, |r| r.customer_uuid);
        let mut scope: DemoScope = (Scope::nothing(), Vec::new(), Vec::new(), Vec::new());
        let mut seen = 0;
        for &(n, c) in &by_size {
            if seen >= 9_000 {
                break;
            }
            scope.0 = scope.0.with_customer(c);
            scope.1.push(c);
            seen += n;
        }
        let filters: Vec<(String, Option<&DemoScope>)> = vec![
            (format!("date_after={lo}&"), None),
            (format!("date_after={lo}&date_before={hi}&"), None),
            ("username=e&".to_owned(), None),
            (String::new(), Some(&scope)),
            (format!("date_before={hi}&"), None),
        ];
        let orders = [
            "usage,username",
            "-usage,component_usage__billing_period",
            "username,-usage",
            "-username,usage,component_usage__billing_period",
            // One key: kept once paged deep (past the first pages, which walk).
            "usage",
            "-usage",
            "username",
            "-username",
        ];
        let every_page = |base: &str, scope: Option<&DemoScope>, ctx: &str| {
            let stored = store_content(&store);
            let want = demo_want(&stored, base, scope);
            for page in 1..=want.len().div_ceil(100) {
                demo_check(&store, &want, base, scope, 100, page, ctx);
            }
            want.len()
        };
        let mut moved = 0u128;
        for (filter, scope) in &filters {
            for o in orders {
                let base = format!("{filter}o={o}");
                let n = every_page(&base, *scope, "kept order");
                // (Enough to be kept.)
                assert!(n >= 8_192, "{base}: {n} matches");
                // A match re-reported with the highest usage of all.
                let stored = store_content(&store);
                let want = demo_want(&stored, &base, *scope);
                let mut r = want[want.len() / 3].clone();
                r.usage = Usage::from_cents(99_999_999_999 - moved as i64);
                store.upsert(&r).expect("valid record");
                every_page(&base, *scope, "a match's usage moved");
                // Another renamed (a name first of all).
                let mut r = want[want.len() / 2].clone();
                r.username = format!("aaa-{moved}").into();
                store.upsert(&r).expect("valid record");
                every_page(&base, *scope, "a match renamed");
                // Another removed, and one added.
                let gone = want[want.len() * 2 / 3].clone();
                store.remove(gone.uuid).expect("stored");
                every_page(&base, *scope, "a match removed");
                store
                    .upsert(&Record {
                        uuid: Uuid::from_u128(0x0add_0000_0000_4000_8000_0000_0000_0000 + moved),
                        ..gone
                    })
                    .expect("valid record");
                every_page(&base, *scope, "a match added");
                store.validate().expect("invariants");
                moved += 1;
            }
        }
    }

    /// Writes `r`, checks the store's invariants, and runs `check`, each
    /// failure naming `ctx`.
    #[cfg(feature = "demo")]
    fn upsert_checked(store: &Store, r: &Record, ctx: &str, check: &dyn Fn(&str)) {
        store.upsert(r).expect("valid record");
        store.validate().unwrap_or_else(|e| panic!("{ctx}: {e}"));
        check(ctx);
    }

    /// The report days of `records`, one per record, ascending: their
    /// quantiles make report-date ranges of a known share.
    #[cfg(feature = "demo")]
    fn report_days(records: &[Record]) -> Vec<NaiveDate> {
        let mut dates: Vec<NaiveDate> = records.iter().map(|r| r.date.date_naive()).collect();
        dates.sort_unstable();
        dates
    }

    /// The component types of `records`, most records first.
    #[cfg(feature = "demo")]
    fn types_of(records: &[Record]) -> Vec<String> {
        (by_count(records, |r| r.component_type.to_string()).into_iter())
            .map(|(_, t)| t)
            .collect()
    }

    /// Deep default-order pages of sets that no other kept counts
    /// describe, whose counts by report day are kept by query: an
    /// offering with a type, a customer and an offering with a username
    /// search, a search in a year, an offering in a report-date range, a
    /// scope of customers with a type. Checked against the model, then
    /// again after each of 96 writes that re-key a component usage of a
    /// match of each filter in turn: re-dated by up to three weeks either
    /// way or onto an end of the report-date range (or a day past it),
    /// re-typed to another type of the store, moved to another billing
    /// period (dated in it), or only its usage re-reported. `validate` after each write compares
    /// every kept count with its query's matches. These writes change no
    /// record's links or name, so the counts follow them record by record.
    #[cfg(feature = "demo")]
    #[test]
    fn kept_day_counts_follow_rekeys_match_model() {
        let (records, store) = demo_store(40_000, 61);
        let offering = by_count(&records, |r| r.offering_uuid)[0].1;
        let mine: Vec<Record> = (records.iter())
            .filter(|r| r.offering_uuid == offering)
            .cloned()
            .collect();
        let ty = by_count(&mine, |r| r.component_type.to_string())[0]
            .1
            .clone();
        let customers = by_count(&records, |r| r.customer_uuid);
        let year = by_count(&records, |r| r.billing_period.year())[0].1;
        let dates = report_days(&mine);
        let (lo, hi) = (dates[dates.len() / 5], dates[dates.len() * 4 / 5]);
        let types = types_of(&records);
        let periods: Vec<NaiveDate> = (by_count(&records, |r| r.billing_period))
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let scope = customers_scope(customers[1..4].iter().map(|c| c.1));
        let (o, c) = (offering.simple(), customers[0].1.simple());
        let filters: Vec<(String, Option<&DemoScope>)> = vec![
            (format!("offering_uuid={o}&type={ty}"), None),
            (format!("customer_uuid={c}&username=an"), None),
            (format!("offering_uuid={o}&username=a"), None),
            (format!("username=an&billing_period_year={year}"), None),
            (
                format!("offering_uuid={o}&date_after={lo}&date_before={hi}"),
                None,
            ),
            (format!("type={ty}"), Some(&scope)),
        ];
        let check = |ctx: &str| {
            let stored = store_content(&store);
            for (base, scope) in &filters {
                let want = demo_want(&stored, base, *scope);
                let pages = want.len().div_ceil(10);
                assert!(
                    pages >= 40,
                    "{base}: deep enough to count by day ({pages} pages)"
                );
                for page in [pages / 2, pages / 2 + 1, pages * 3 / 4] {
                    demo_check(&store, &want, base, *scope, 10, page, ctx);
                }
            }
        };
        check("after the load");
        for k in 0..96u64 {
            // A match of each filter in turn, so that every filter sees
            // records leave and join it.
            let stored = store_content(&store);
            let (base, scope) = &filters[k as usize % filters.len()];
            let want = demo_want(&stored, base, *scope);
            let h = splitmix(0x5e7d ^ k);
            let mut r = want[(h % want.len() as u64) as usize].clone();
            let at = |d: NaiveDate| {
                let micros = [0, 1, 43_200_000_000, 86_399_999_999][((h >> 48) % 4) as usize];
                d.and_hms_opt(0, 0, 0).expect("valid").and_utc()
                    + chrono::Duration::microseconds(micros)
            };
            let what = match (h >> 32) % 5 {
                0 => {
                    let days = i64::try_from((h >> 40) % 43).expect("small") - 21;
                    r.date += chrono::Duration::days(days);
                    "re-dated"
                }
                1 => {
                    // Onto or just past an end of the report-date range.
                    let edges = [lo.pred_opt(), Some(lo), Some(hi), hi.succ_opt()];
                    r.date = at(edges[((h >> 40) % 4) as usize].expect("a valid date"));
                    "re-dated at the range's edge"
                }
                2 => {
                    r.component_type = types[((h >> 40) as usize) % types.len()].clone().into();
                    "re-typed"
                }
                3 => {
                    r.billing_period = periods[((h >> 40) as usize) % periods.len()];
                    let day = (h >> 44) % 30;
                    r.date = at(r.billing_period + chrono::Days::new(day));
                    "moved to another period"
                }
                _ => {
                    r.usage = Usage::from_cents(r.usage.cents() + 1);
                    "re-reported"
                }
            };
            upsert_checked(&store, &r, &format!("write {k} ({base}): {what}"), &check);
        }
    }

    /// Orders led by the usage or the username over thousands of matches
    /// (a report-date range, a username search, a scope of customers),
    /// kept whole once paged deep twice: after each of 60 writes to a
    /// record drawn from the whole store (a usage re-reported, a report
    /// re-dated by up to a month or across the range's start, a
    /// component usage re-typed), two deep pages of every
    /// order against the model. A kept order outlives a write that
    /// touches none of its matches, and is made again after one that
    /// does; `validate` after each write compares every kept order with
    /// its query's matches.
    #[cfg(feature = "demo")]
    #[test]
    fn kept_orders_outlive_other_writes_match_model() {
        let (records, store) = demo_store(20_000, 67);
        let dates = report_days(&records);
        let lo = dates[dates.len() / 3];
        // The biggest customers, 9,000 records or more in all.
        let mut seen = 0;
        let scope = customers_scope(
            (by_count(&records, |r| r.customer_uuid).into_iter())
                .take_while(|&(n, _)| {
                    seen += n;
                    seen - n < 9_000
                })
                .map(|c| c.1),
        );
        let types = types_of(&records);
        let filters: Vec<(String, Option<&DemoScope>)> = vec![
            (format!("date_after={lo}&"), None),
            ("username=e&".to_owned(), None),
            (String::new(), Some(&scope)),
        ];
        let check = |ctx: &str| {
            let stored = store_content(&store);
            for (filter, scope) in &filters {
                for o in ["-usage", "username,-usage"] {
                    let base = format!("{filter}o={o}");
                    let want = demo_want(&stored, &base, *scope);
                    assert!(want.len() >= 8_192, "{base}: {} matches", want.len());
                    let pages = want.len().div_ceil(100);
                    for page in [pages / 2, pages / 2 + 1] {
                        demo_check(&store, &want, &base, *scope, 100, page, ctx);
                    }
                }
            }
        };
        check("after the load");
        for k in 0..60u64 {
            let h = splitmix(0x0de7 ^ k);
            let stored = store_content(&store);
            let mut r = stored[(h % stored.len() as u64) as usize].clone();
            let what = match (h >> 32) % 4 {
                0 => {
                    r.usage = Usage::from_cents((h >> 40) as i64 % 1_000_000);
                    "usage re-reported"
                }
                1 => {
                    let days = i64::try_from((h >> 40) % 61).expect("small") - 30;
                    r.date += chrono::Duration::days(days);
                    "re-dated"
                }
                2 => {
                    // Out of the report-date range, or into it.
                    let start = lo.and_hms_opt(0, 0, 0).expect("valid").and_utc();
                    r.date = if r.date >= start {
                        start - chrono::Duration::microseconds(1)
                    } else {
                        start
                    };
                    "re-dated across the range's start"
                }
                _ => {
                    r.component_type = types[((h >> 40) as usize) % types.len()].clone().into();
                    "re-typed"
                }
            };
            upsert_checked(&store, &r, &format!("write {k}: {what}"), &check);
        }
    }

    /// The planner's paths for large answers (thousands of matches against
    /// a few runs: counted by range cardinalities, paged day by day from
    /// the latest report day) at a size where they are taken: the largest
    /// customers and scopes of them, by component type, by report-date
    /// window, in the default order and by usage, first to last page.
    #[cfg(feature = "demo")]
    #[test]
    fn demo_store_large_answers_match_model() {
        let (mut records, store) = demo_store(200_000, 5);
        let checked = large_answers(&records, &store);
        assert!(checked > 100, "only {checked} pages checked");
        // A site agent's re-report of the latest billing period: each of
        // its component usages re-dated to a day after the last report, as
        // upstream does. That day then holds the whole period (a crowded
        // day in the day-by-day pages), and the projects' re-dated
        // records move to their tails.
        let last = records.iter().map(|r| r.billing_period).max();
        let now = records.iter().map(|r| r.date).max().expect("records") + chrono::Days::new(1);
        let mut by_cu: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            if Some(r.billing_period) == last {
                by_cu.entry(r.component_usage).or_default().push(i);
            }
        }
        for idx in by_cu.values() {
            let batch: Vec<Record> = idx
                .iter()
                .map(|&i| {
                    records[i].date = now;
                    records[i].usage = usage_store::Usage::from_cents(records[i].usage.cents() + 7);
                    records[i].clone()
                })
                .collect();
            store.upsert_batch(&batch).expect("valid records");
        }
        store.validate().expect("invariants after the re-report");
        large_answers(&records, &store);
    }

    /// Default-order pages near the start of sets whose matches cluster
    /// away from the start of a crowded report day, against the model.
    /// 1. The latest two billing periods re-reported at one time: the
    ///    day's records lie in the view by type, so a type's matches lie
    ///    behind the types before it (the walk jumps over them).
    /// 2. The same periods re-reported on the next day, each offering at
    ///    its own second, but for most of one offering's records, left on
    ///    the first day: the second day is crowded and holds a few of that
    ///    offering's records, the first is no longer crowded (the crowded
    ///    day is read as a set, the rest walked).
    /// 3. The period before them re-reported on the day after, each
    ///    offering at its own second, the biggest first: an offering's
    ///    records lie behind those reported after them (read as a set).
    ///
    /// After each, these queries: every type, offerings alone, with a
    /// type and with a year, the three biggest customers with each type,
    /// the biggest with a type and a year, a search with a type, a
    /// report-date range ending on the first day; their first pages of
    /// 10, 100 and 300 records. `validate` after each re-report.
    ///
    /// At 60,000 records and at 200,000, where the biggest customers' and
    /// a type's records are many enough to be paged from the latest days
    /// (`Cand::RunsAnd`): a crowded day's part of the view is walked for a
    /// customer's type, the day intersected when the walk gives up.
    #[cfg(feature = "demo")]
    #[test]
    fn crowded_day_pages_match_model() {
        crowded_day_pages(60_000, 71);
        crowded_day_pages(200_000, 73);
    }

    /// [`crowded_day_pages_match_model`] at one size.
    #[cfg(feature = "demo")]
    fn crowded_day_pages(size: usize, seed: u64) {
        let (mut records, store) = demo_store(size, seed);
        let mut periods: Vec<NaiveDate> = records.iter().map(|r| r.billing_period).collect();
        periods.sort_unstable();
        periods.dedup();
        let offerings: Vec<Uuid> = by_count(&records, |r| r.offering_uuid)
            .iter()
            .map(|&(_, u)| u)
            .collect();
        let customers: Vec<Uuid> = by_count(&records, |r| r.customer_uuid)
            .iter()
            .take(3)
            .map(|&(_, u)| u)
            .collect();
        let types = types_of(&records);
        let latest = periods[periods.len() - 2..].to_vec();
        // One in the morning of the day after the last report, and of the
        // two days after that (each offering's second falls on the day).
        let last_report = records.iter().map(|r| r.date).max().expect("records");
        let day1 = (last_report.date_naive() + chrono::Days::new(1))
            .and_hms_opt(1, 0, 0)
            .expect("a time")
            .and_utc();
        let (day2, day3) = (day1 + chrono::Days::new(1), day1 + chrono::Days::new(2));
        let second = |r: &Record| {
            let i = offerings.iter().position(|&o| o == r.offering_uuid);
            chrono::Duration::seconds(i.expect("an offering") as i64)
        };
        // The offering left on the first day in step 2.
        let stays = offerings[2];
        // Re-dates each component usage of `periods` to `when(record)`,
        // where that is given.
        let mut rereport =
            |periods: &[NaiveDate], when: &dyn Fn(&Record) -> Option<DateTime<Utc>>| {
                let mut by_cu: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
                for (i, r) in records.iter().enumerate() {
                    if periods.contains(&r.billing_period) && when(r).is_some() {
                        by_cu.entry(r.component_usage).or_default().push(i);
                    }
                }
                for idx in by_cu.values() {
                    let batch: Vec<Record> = idx
                        .iter()
                        .map(|&i| {
                            let r = &mut records[i];
                            r.date = when(r).expect("dated");
                            r.modified = r.date;
                            r.clone()
                        })
                        .collect();
                    store.upsert_batch(&batch).expect("valid records");
                }
                store.validate().expect("invariants after the re-report");
                records.clone()
            };
        let mut checked = 0;
        let mut check = |records: &[Record], step: &str| {
            let year = latest[1].year();
            let mut bases: Vec<String> = types.iter().map(|ty| format!("type={ty}")).collect();
            let some = offerings.iter().step_by(offerings.len() / 8 + 1);
            for o in some.chain([&stays]) {
                let o = o.simple();
                bases.push(format!("offering_uuid={o}"));
                bases.push(format!("offering_uuid={o}&billing_period_year={year}"));
                for ty in types.iter().take(3) {
                    bases.push(format!("offering_uuid={o}&type={ty}"));
                }
            }
            for (c, ty) in customers
                .iter()
                .flat_map(|c| types.iter().map(move |ty| (c, ty)))
            {
                bases.push(format!("customer_uuid={}&type={ty}", c.simple()));
            }
            for ty in types.iter().take(3) {
                let c = customers[0].simple();
                bases.push(format!(
                    "customer_uuid={c}&type={ty}&billing_period_year={year}"
                ));
                bases.push(format!("username=a&type={ty}&billing_period_year={year}"));
                bases.push(format!("type={ty}&date_before={}", day1.date_naive()));
            }
            bases.push(format!("date_before={}", day1.date_naive()));
            for base in &bases {
                let want = demo_want(records, base, None);
                for (size, page) in [(10, 1), (10, 2), (10, 3), (100, 1), (100, 2), (300, 1)] {
                    demo_check(&store, &want, base, None, size, page, step);
                    checked += 1;
                }
            }
        };
        let now = rereport(&latest, &|_| Some(day1));
        check(&now, "the latest two periods re-reported at one time");
        // (A few of its component usages move too: the second day holds
        // fewer of its matches than a page skips.)
        let moves =
            |r: &Record| r.offering_uuid != stays || r.component_usage.as_u128().is_multiple_of(32);
        let now = rereport(&latest, &|r| moves(r).then(|| day2 + second(r)));
        check(&now, "the same periods re-reported by offering, but one");
        let before = [periods[periods.len() - 3]];
        let now = rereport(&before, &|r| Some(day3 + second(r)));
        check(&now, "the period before them re-reported by offering");
        assert!(checked > 1000, "only {checked} pages checked");
    }

    /// A site agent's 30-minute re-report, big enough for a write's
    /// parallel paths (16,384 elements): the plan's lookups in two halves,
    /// and the usage view's new places keyed, sorted and merged in two
    /// halves. The new usages lie in a narrow range, so many records of a
    /// type tie on it (the merge compares the usage read from the row,
    /// then the whole key), and one element comes twice (the last wins).
    /// Then every page of usage orders against the model; and a big
    /// batch's first error is reported whichever half finds it.
    #[cfg(feature = "demo")]
    #[test]
    fn big_rereport_matches_model() {
        let (mut records, store) = demo_store(60_000, 61);
        let mut seed = 0xbeef_u64;
        let mut batch = Vec::new();
        for i in (0..records.len()).step_by(2) {
            seed = splitmix(seed);
            records[i].usage = Usage::from_cents((seed % 500) as i64);
            records[i].modified += chrono::Duration::seconds(1);
            batch.push(records[i].clone());
        }
        let mut again = batch[100].clone();
        again.usage = Usage::from_cents(123_456);
        let at = records.iter().position(|r| r.uuid == again.uuid);
        records[at.expect("a batch record")] = again.clone();
        batch.push(again);
        assert!(batch.len() >= 16_384);
        let s = store.upsert_batch(&batch).expect("valid records");
        assert_eq!(s.replaced, batch.len());
        store.validate().expect("invariants after the re-report");
        let mut want_all = records.clone();
        want_all.sort_by_key(|r| r.uuid);
        let mut stored = store_content(&store);
        stored.sort_by_key(|r| r.uuid);
        assert!(stored == want_all, "content after the re-report");
        for o in [
            "usage",
            "-usage",
            "usage,username",
            "-usage,-component_usage__billing_period",
        ] {
            let base = format!("o={o}");
            let want = demo_want(&stored, &base, None);
            for page in 1..=want.len().div_ceil(300) {
                demo_check(&store, &want, &base, None, 300, page, "after the re-report");
            }
        }
        // The first error of a big batch, found in either half: alone in
        // the second half, then behind a conflict, then behind an invalid
        // element of the first half.
        let mut late = batch[..20_000].to_vec();
        late[15_000].username = "".into();
        match store.upsert_batch(&late) {
            Err(WriteError::Invalid { index, .. }) => assert_eq!(index, 15_000),
            other => panic!("element 15,000 invalid, got {other:?}"),
        }
        let mut bad = batch[..20_000].to_vec();
        bad[15_000].username = "".into();
        // Another uuid claiming element 11,999's natural key.
        bad[12_000].component_usage = bad[11_999].component_usage;
        bad[12_000].username = bad[11_999].username.clone();
        match store.upsert_batch(&bad) {
            Err(WriteError::Conflict { index, .. }) => assert_eq!(index, 12_000),
            other => panic!("a conflict at 12,000, got {other:?}"),
        }
        bad[3_000].username = "".into();
        match store.upsert_batch(&bad) {
            Err(WriteError::Invalid { index, .. }) => assert_eq!(index, 3_000),
            other => panic!("element 3,000 invalid, got {other:?}"),
        }
        let mut after = store_content(&store);
        after.sort_by_key(|r| r.uuid);
        assert!(after == stored, "a failed write changes nothing");
    }

    /// The large-answer queries of the test above, against `records` (what
    /// the store holds): how many pages were compared.
    #[cfg(feature = "demo")]
    fn large_answers(records: &[Record], store: &Store) -> usize {
        let customers = by_count(records, |r| r.customer_uuid);
        let top: Vec<Uuid> = customers.iter().take(4).map(|&(_, u)| u).collect();
        let types: std::collections::BTreeSet<&str> =
            records.iter().map(|r| r.component_type.as_str()).collect();
        let last_day = records
            .iter()
            .map(|r| r.date)
            .max()
            .expect("records")
            .date_naive();
        let mut scope: DemoScope = (Scope::nothing(), Vec::new(), Vec::new(), Vec::new());
        for &c in &top[1..] {
            scope.0 = scope.0.with_customer(c);
            scope.1.push(c);
        }
        // A mid-sized customer (a few projects: merged by project) under
        // a scope that takes it whole, and under one that sees only one of
        // its projects (and another customer): the merge counts a whole
        // customer's type at once, and must not when the scope cuts it.
        let project_of = |c: Uuid| {
            records
                .iter()
                .find(|r| r.customer_uuid == c)
                .expect("a record of the customer")
                .project_uuid
        };
        let mid = customers[customers.len() / 8].1;
        let mid_project = project_of(mid);
        let whole: DemoScope = (
            Scope::nothing().with_customer(mid).with_customer(top[1]),
            vec![mid, top[1]],
            Vec::new(),
            Vec::new(),
        );
        let cut: DemoScope = (
            Scope::nothing()
                .with_customer(top[1])
                .with_project(mid_project),
            vec![top[1]],
            vec![mid_project],
            Vec::new(),
        );
        // Uuids listed twice, and a project of a listed customer: each
        // project is merged once.
        let other_project = project_of(customers[customers.len() / 4].1);
        let repeated: DemoScope = (
            Scope::nothing()
                .with_customer(mid)
                .with_customer(mid)
                .with_project(mid_project)
                .with_project(other_project)
                .with_project(other_project),
            vec![mid],
            vec![mid_project, other_project],
            Vec::new(),
        );
        let mut bases: Vec<(String, Option<&DemoScope>)> = Vec::new();
        for ty in &types {
            bases.push((format!("type={ty}"), Some(&repeated)));
            for &c in &top {
                bases.push((format!("customer_uuid={}&type={ty}", c.simple()), None));
            }
            bases.push((format!("type={ty}"), Some(&scope)));
            let q = format!("customer_uuid={}&type={ty}", mid.simple());
            bases.push((q.clone(), Some(&whole)));
            bases.push((q.clone(), Some(&cut)));
            bases.push((q, None));
        }
        // Deep pages of one customer or one type in the default order:
        // whole report days skipped by their counts (`Core::skip_days`),
        // from the front or, for a late page, from the back.
        // (With billing periods too: the days only their records were
        // reported on are counted as the set's, the others tested. The
        // last report day may be in the year after the last period's.)
        let year = records
            .iter()
            .map(|r| r.billing_period.year())
            .max()
            .expect("records");
        for &c in &top {
            bases.push((format!("customer_uuid={}", c.simple()), None));
            bases.push((
                format!("customer_uuid={}&billing_period_year={year}", c.simple()),
                None,
            ));
        }
        for ty in &types {
            bases.push((format!("type={ty}"), None));
            bases.push((format!("type={ty}&billing_period_year={year}"), None));
        }
        // (And a username search's union, built for it when the walk
        // would cost as much.)
        bases.push(("username=ann".to_string(), None));
        bases.push((format!("billing_period_year={year}"), None));
        bases.push((
            format!("billing_period_year={year}&billing_period_month=6"),
            None,
        ));
        for &c in &top {
            for days in [3, 45, 400] {
                let after = last_day - chrono::Days::new(days);
                bases.push((
                    format!("customer_uuid={}&date_after={after}", c.simple()),
                    None,
                ));
            }
        }
        // The largest projects: read from their date-ordered runs (and,
        // after a re-report, their tails).
        let mut psizes: BTreeMap<Uuid, usize> = BTreeMap::new();
        for r in records {
            *psizes.entry(r.project_uuid).or_default() += 1;
        }
        let mut projects: Vec<(usize, Uuid)> = psizes.into_iter().map(|(u, n)| (n, u)).collect();
        projects.sort_unstable_by(|a, b| b.cmp(a));
        for &(_, p) in projects.iter().take(4) {
            let p = p.simple();
            bases.push((format!("project_uuid={p}"), None));
            bases.push((
                format!("project_uuid={p}&billing_period_year={}", last_day.year()),
                None,
            ));
            let after = last_day - chrono::Days::new(45);
            bases.push((format!("project_uuid={p}&date_after={after}"), None));
        }
        let mut checked = 0;
        for (base, scope) in &bases {
            let want = demo_want(records, base, *scope);
            for o in ["", "&o=-usage"] {
                let base = format!("{base}{o}");
                for size in [10, 100] {
                    let pages = want.len().div_ceil(size).max(1);
                    let (quarter, near_last) = (pages.div_ceil(4), pages.saturating_sub(1).max(1));
                    for page in [
                        1,
                        2,
                        7,
                        quarter,
                        pages.div_ceil(2),
                        pages - quarter + 1,
                        near_last,
                        pages,
                    ] {
                        if page <= pages {
                            let want = if o.is_empty() {
                                want.clone()
                            } else {
                                demo_want(records, &base, *scope)
                            };
                            demo_check(store, &want, &base, *scope, size, page, "large");
                            checked += 1;
                        }
                    }
                }
            }
        }
        checked
    }

    /// The query planner against the model's filter, comparator and slice
    /// on the demo data set, where the planner's choices differ from those
    /// on the small pools above: customers of Zipf sizes whose records are
    /// long runs of slots, periods, days and types scattered over all of
    /// them, usernames shared by many resources. Every planner path is
    /// taken there (range lookups of days or periods within an entity's
    /// runs, unions left unbuilt, walks from either end of each view,
    /// partial sorts, counts from kept per-period totals), at sizes where
    /// its cost estimates pick them. Queries are drawn from the data, so
    /// most match something: filters from one or two random records,
    /// date windows around a record's date, a substring of a username,
    /// scopes of a few entities; every ordering; first, second, middle,
    /// last and past-the-end pages.
    #[cfg(feature = "demo")]
    #[test]
    fn demo_store_matches_model() {
        let (records, store) = demo_store(40_000, 23);

        let mut seed = 0x5eed_u64;
        let mut rnd = move |n: usize| {
            seed = splitmix(seed);
            (seed % n as u64) as usize
        };
        let cases = std::env::var("USAGE_DEMO_QUERIES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1500);
        let mut nonempty = 0;
        for case in 0..cases {
            let a = &records[rnd(records.len())];
            let b = &records[rnd(records.len())];
            let mut qs: Vec<String> = Vec::new();
            let hex = |u: Uuid| u.simple().to_string();
            let pick = |r: &Record, which: usize| match which {
                0 => format!("customer_uuid={}", hex(r.customer_uuid)),
                1 => format!("project_uuid={}", hex(r.project_uuid)),
                2 => format!("offering_uuid={}", hex(r.offering_uuid)),
                _ => format!("resource_uuid={}", hex(r.resource_uuid)),
            };
            // Entities: none, one, or two (of one record, or of two).
            match rnd(6) {
                0 | 1 => {}
                2 | 3 => qs.push(pick(a, rnd(4))),
                4 => {
                    qs.push(pick(a, rnd(4)));
                    qs.push(pick(a, rnd(4)));
                }
                _ => {
                    qs.push(pick(a, rnd(4)));
                    qs.push(pick(b, rnd(4)));
                }
            }
            if rnd(3) == 0 {
                qs.push(format!("type={}", a.component_type));
            }
            let (y, m) = (a.billing_period.year(), a.billing_period.month());
            match rnd(8) {
                0 => qs.push(format!(
                    "component_usage__billing_period={}",
                    a.billing_period
                )),
                1 | 2 => qs.push(format!("billing_period_year={y}")),
                3 => qs.push(format!("billing_period_year={y}&billing_period_month={m}")),
                4 => qs.push(format!("billing_period_month={m}")),
                _ => {}
            }
            if rnd(3) == 0 {
                let day = a.date.date_naive();
                let widths = [0, 1, 6, 40, 400];
                let before = day + chrono::Days::new(widths[rnd(5)]);
                let after = day - chrono::Days::new(widths[rnd(5)]);
                match rnd(3) {
                    0 => qs.push(format!("date_after={after}")),
                    1 => qs.push(format!("date_before={before}")),
                    _ => qs.push(format!("date_after={after}&date_before={before}")),
                }
            }
            if rnd(5) == 0 {
                let name: Vec<char> = a.username.chars().collect();
                let len = 1 + rnd(3.min(name.len()));
                let at = rnd(name.len() - len + 1);
                let needle: String = name[at..at + len].iter().collect();
                qs.push(format!(
                    "username={}",
                    form_encode(&needle.to_uppercase(), true)
                ));
            }
            // The default order (the UI's) thrice as often as any other.
            let orders: Vec<&str> = ["", "", ""]
                .into_iter()
                .chain(super::strategies::O_VALID.iter().copied())
                .chain([
                    "-usage,username",
                    "component_usage__billing_period,-usage",
                    "-username,-component_usage__billing_period",
                ])
                .collect();
            let o = orders[rnd(orders.len())];
            if !o.is_empty() {
                qs.push(format!("o={o}"));
            }
            let scope = (rnd(5) == 0).then(|| {
                let mut s = (Scope::nothing(), Vec::new(), Vec::new(), Vec::new());
                for _ in 0..1 + rnd(3) {
                    let c = records[rnd(records.len())].customer_uuid;
                    s.0 = s.0.with_customer(c);
                    s.1.push(c);
                }
                for _ in 0..rnd(6) {
                    let p = records[rnd(records.len())].project_uuid;
                    s.0 = s.0.with_project(p);
                    s.2.push(p);
                }
                if rnd(3) == 0 {
                    let o = a.offering_uuid;
                    s.0 = s.0.with_offering(o);
                    s.3.push(o);
                }
                s
            });

            let base = qs.join("&");
            let want = demo_want(&records, &base, scope.as_ref());
            nonempty += usize::from(!want.is_empty());
            let size = [10, 10, 1, 100][rnd(4)];
            let pages = want.len().div_ceil(size).max(1);
            let page = match rnd(6) {
                0 | 1 => 1,
                2 => 2,
                3 => pages.div_ceil(2),
                4 => pages,
                _ => pages + 1,
            };
            let ctx = format!("case {case}");
            demo_check(&store, &want, &base, scope.as_ref(), size, page, &ctx);
        }
        // The generator is meant to hit: most queries match something.
        assert!(
            nonempty * 2 > cases,
            "only {nonempty} of {cases} queries match anything"
        );
    }

    /// The model itself, on a hand-checked case.
    #[test]
    fn model_sanity() {
        let mut a = Record::example();
        a.uuid = uuid(&RECORD_UUIDS, 0);
        let mut b = a.clone();
        b.uuid = uuid(&RECORD_UUIDS, 1);
        b.username = "bob".into();
        b.project_name = "Renamed".into();
        let ops = vec![
            Op::Upsert(Box::new(a.clone())),
            Op::Upsert(Box::new(b)),
            Op::Query(
                "o=username&page_size=1&page=2".into(),
                ScopeSpec::everything(),
            ),
            Op::Query(
                "project_uuid=55555555555545558555555555555555&o=-usage".into(),
                ScopeSpec::everything(),
            ),
            Op::Get(0, ScopeSpec::everything()),
            Op::Remove(0),
            Op::Batch(vec![a.clone(), a]),
        ];
        run(&ops).unwrap();
        let q = model_parse_query("customer_uuid=x&o=-created&date_after=2025-02-30").unwrap_err();
        assert_eq!(
            q,
            vec![
                (
                    "customer_uuid".to_owned(),
                    vec!["Enter a valid UUID.".to_owned()]
                ),
                (
                    "date_after".to_owned(),
                    vec!["Enter a valid date.".to_owned()]
                ),
                (
                    "o".to_owned(),
                    vec![
                        "Select a valid choice. -created is not one of the available choices."
                            .to_owned()
                    ]
                ),
            ]
        );
        assert_eq!(model_number("2025.0"), Some(Num::Int(2025)));
        assert_eq!(model_number("2025.5"), Some(Num::Never));
        assert_eq!(model_number("1e3"), Some(Num::Int(1000)));
        assert_eq!(model_number("20250e-1"), Some(Num::Int(2025)));
        assert_eq!(model_number("e3"), None);
        assert_eq!(model_number("."), None);
        assert_eq!(model_number(".5"), Some(Num::Never));
        assert_eq!(
            decode_form("a=%zz&&b+c=d%20e&f"),
            vec![
                ("a".to_owned(), "%zz".to_owned()),
                ("b c".to_owned(), "d e".to_owned()),
                ("f".to_owned(), String::new()),
            ]
        );
    }

    /// A project keeps its count of a type in a `u16` (`Project::type_rows`):
    /// past 65,534 records the merge counts the type from its bitmap, and
    /// removals below it again leave the count right.
    #[test]
    fn project_type_count_past_u16_matches() {
        let n = 65_540u128;
        let project = Uuid::from_u128(0x55555555555545558555555555555555);
        let records: Vec<Record> = (0..n)
            .map(|i| {
                let mut r = Record::example();
                r.uuid = Uuid::from_u128(1 + i);
                r.component_usage = Uuid::from_u128((1 << 64) + i / 4);
                r.username = format!("u{}", i % 4).into();
                r.user = None;
                r
            })
            .collect();
        assert!(records.iter().all(|r| r.project_uuid == project));
        let store = Store::new();
        store.upsert_batch(&records).expect("valid records");
        store.validate().expect("consistent store");
        let scoped = |ty: &str| {
            let q = Query::parse(&format!("type={ty}"))
                .expect("valid query")
                .with_scope(Scope::nothing().with_project(project));
            store.query(&q).expect("query runs").0.count
        };
        let ty = records[0].component_type.to_string();
        assert_eq!(scoped(&ty), n as u64);
        for r in &records[..10] {
            assert!(store.remove(r.uuid).is_some());
        }
        store.validate().expect("consistent store");
        assert_eq!(scoped(&ty), n as u64 - 10);
        assert_eq!(scoped("gpu"), 0);
    }
}
