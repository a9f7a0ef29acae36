//! Fuzz target for the model test: the runner, the naive model and the key
//! pools are those of `tests/model.rs` (included below); this file only turns
//! fuzzer bytes into its [`Op`]s. Every index is taken modulo a tiny pool, so
//! natural keys collide, entities get renamed and moved and sort keys tie;
//! after every op `Store::validate` runs and the store's answers and whole
//! content are compared with the model's. Any mismatch panics with the ops.

#![no_main]

use arbitrary::Arbitrary;
use chrono::{Datelike, Duration, NaiveDate};
use libfuzzer_sys::fuzz_target;
use usage_store::{Record, Usage};

#[path = "../../tests/model.rs"]
mod model;
use model::*;

fn pick<T: Copy>(pool: &[T], i: u8) -> T {
    pool[usize::from(i) % pool.len()]
}

/// A common value; 254 and 255: one at and one past the length limit.
fn bounded(i: u8, common: &[&str], ch: &str, max: usize) -> String {
    match i {
        254 => ch.repeat(max),
        255 => ch.repeat(max + 1),
        _ => pick(common, i).to_owned(),
    }
}

/// A record by indexes into the pools of `tests/model.rs`.
#[derive(Arbitrary, Debug)]
struct FRecord {
    uuid: u8,
    user: u8,
    username: u8,
    cu: u8,
    usage: u8,
    unit: u8,
    description: u8,
    backend_id: u8,
    /// (seconds, micros, nanos) after 2025-01-01, for `created` and `modified`.
    times: [(u32, u8, u8); 2],
    resource: u8,
    offering: u8,
    project: u8,
    customer: u8,
    /// Bits 0-3: which of two names the resource, offering, project and customer get.
    names: u8,
    component_type: u8,
    date: u8,
    /// Bit 0: year 2024 or 2025; the rest: month 1, 2, 3 or 12.
    period: u8,
}

impl FRecord {
    fn record(&self) -> Record {
        let time = |(s, us, ns): (u32, u8, u8)| {
            ts("2025-01-01T00:00:00Z")
                + Duration::seconds(i64::from(s % (10 * 86_400)))
                + Duration::microseconds(pick(&[0, 1, 250_000, 999_999], us))
                + Duration::nanoseconds(pick(&[0, 0, 0, 1, 999], ns))
        };
        // The last entity of each pool is never written (see tests/model.rs).
        let entity = |pool: &[u128], i: u8| uuid(pool, usize::from(i) % (pool.len() - 1));
        let name = |pool: &[&str; 2], bit: u8| pool[usize::from(self.names >> bit & 1)].to_owned();
        Record {
            uuid: uuid(&RECORD_UUIDS, usize::from(self.uuid) % WRITTEN_UUIDS),
            // One past the pool: no user.
            user: USER_UUIDS
                .get(usize::from(self.user) % (USER_UUIDS.len() + 1))
                .map(|&u| uuid::Uuid::from_u128(u)),
            username: match self.username {
                252 => "".into(),
                253 => "x".repeat(101).into(),
                254 => "é".repeat(100).into(),
                255 => "é".repeat(101).into(),
                i => pick(&USERNAMES, i).to_owned().into(),
            },
            component_usage: uuid(&CU_UUIDS, usize::from(self.cu) % CU_UUIDS.len()),
            usage: Usage::from_cents(pick(&USAGE_CENTS, self.usage)),
            measured_unit: bounded(self.unit, &["hours", "GB"], "ü", 150).into(),
            description: bounded(self.description, &["", "note"], "d", 2000).into(),
            created: time(self.times[0]),
            modified: time(self.times[1]),
            backend_id: bounded(self.backend_id, &["", "b-1"], "é", 255).into(),
            resource_name: name(&RESOURCE_NAMES, 0).into(),
            resource_uuid: entity(&RESOURCE_UUIDS, self.resource),
            offering_name: name(&OFFERING_NAMES, 1).into(),
            offering_uuid: entity(&OFFERING_UUIDS, self.offering),
            project_name: name(&PROJECT_NAMES, 2).into(),
            project_uuid: entity(&PROJECT_UUIDS, self.project),
            customer_name: name(&CUSTOMER_NAMES, 3).into(),
            customer_uuid: entity(&CUSTOMER_UUIDS, self.customer),
            component_type: bounded(self.component_type, &COMPONENT_TYPES, "ß", 50).into(),
            date: ts(pick(&DATES, self.date)),
            billing_period: ymd(
                2024 + i32::from(self.period & 1),
                pick(&[1, 2, 3, 12], self.period >> 1),
                1,
            ),
        }
    }
}

const PARAMS: [&str; 18] = [
    "customer_uuid",
    "project_uuid",
    "offering_uuid",
    "resource_uuid",
    "resource",
    "username",
    "type",
    "billing_period_year",
    "billing_period_month",
    "component_usage__billing_period",
    "date_after",
    "date_before",
    "o",
    "page",
    "page_size",
    "field",
    "foo",
    "",
];

/// Values of the parameters that are not uuids, valid and invalid alike.
#[rustfmt::skip]
const WORDS: &[&str] = &[
    // username, type
    "ann", "ANN", "Ann", "joanna", "ÉLODIE", "élodie", "Élo", "50%", "%", "_", "a_b", "a%b", "o",
    " ann ", "x", "", "é", "%OFF", "cpu", "CPU", "ram", "storage", "stor", " cpu ",
    // billing_period_year, billing_period_month
    "2024", "2025", "2025.0", "2.025e3", "+2025", " 2025 ", "20250e-1", "2025.", "2025.5", "1e3",
    "-2025", "1e999999", ".5", "abc", "e3", "2025,0", "1e", "1", "2", "3", "12", "2.0", "01",
    "1.2e1", "0.3e1", "13", "0", "-1", "1e1", "0x1",
    // component_usage__billing_period, date_after, date_before
    "2025-01-01", "2025-1-1", "2024-12-01", "2025-02-01", "2025-03-01", "2025-01-30",
    "2025-01-31", "2025-02-28", "2025-3-31", "2024-12-31", "2024-02-29", "2025-02-29",
    "2025-02-30", "2025/01/01", "2025-01-01T00:00", "25-01-01", "2025-13-01",
    // o
    "usage", "-usage", "username", "-username", "component_usage__billing_period",
    "-component_usage__billing_period", "usage,-username", "created", "--usage", "Usage",
    // page, page_size
    "last", "Last", " last", " 2 ", "+2", "1.0", "99999999999999999999999", "300", "301", "2.5",
    // field
    "uuid", "usage,uuid", "bogus", " usage , username ", "uuid,,bogus", "date",
];

/// One piece of a query string.
#[derive(Arbitrary, Debug)]
enum FParam {
    /// `PARAMS[name]`, percent-encoded with a value that suits it: a spelling
    /// of a pool uuid (`form` < 128: the plain one) or URL, or one of `WORDS`.
    Pair { name: u8, value: u8, form: u8 },
    /// Raw text, not encoded.
    Raw(String),
}

/// A query string; `full`: percent-encode everything but unreserved characters.
fn query_string(params: &[FParam], full: bool) -> String {
    let piece = |p: &FParam| match p {
        FParam::Raw(s) => s.clone(),
        &FParam::Pair { name, value, form } => {
            let name = pick(&PARAMS, name);
            let pool = match name {
                "customer_uuid" => &CUSTOMER_UUIDS[..],
                "project_uuid" => &PROJECT_UUIDS[..],
                "offering_uuid" => &OFFERING_UUIDS[..],
                _ => &RESOURCE_UUIDS[..],
            };
            let u = uuid(pool, usize::from(value) % pool.len());
            let nth = |v: Vec<String>| v[usize::from(form) % v.len()].clone();
            let v = match name {
                "resource" => nth(resource_urls(u)),
                _ if !name.ends_with("_uuid") => pick(WORDS, value).to_owned(),
                _ if form < 128 => u.simple().to_string(),
                _ => {
                    let (valid, invalid) = uuid_spellings(u);
                    nth([valid, invalid].concat())
                }
            };
            format!("{}={}", form_encode(name, full), form_encode(&v, full))
        }
    };
    params.iter().map(piece).collect::<Vec<_>>().join("&")
}

/// Makes a record match a replace filter, where one value can.
fn conform(f: &MFilter, r: &mut Record) {
    let set = |slot: &mut uuid::Uuid, v: Option<uuid::Uuid>| *slot = v.unwrap_or(*slot);
    set(&mut r.customer_uuid, f.customer);
    set(&mut r.project_uuid, f.project);
    set(&mut r.offering_uuid, f.offering);
    set(
        &mut r.resource_uuid,
        f.resource_uuid.or(f.resource.flatten()),
    );
    if let Some(n) = &f.username {
        r.username = n.clone().into();
    }
    if let Some(t) = &f.component_type {
        r.component_type = t.clone().into();
    }
    let p = f.billing_period.unwrap_or(r.billing_period);
    let int = |n: Option<Num>| match n {
        Some(Num::Int(v)) => Some(v),
        _ => None,
    };
    let y = int(f.year).and_then(|v| i32::try_from(v).ok());
    let m = int(f.month).and_then(|v| u32::try_from(v).ok());
    r.billing_period = NaiveDate::from_ymd_opt(y.unwrap_or(p.year()), m.unwrap_or(p.month()), 1)
        .filter(|_| y.is_some() || m.is_some())
        .unwrap_or(p);
    if let Some(d) = f.date_after.filter(|&d| r.date.date_naive() < d) {
        r.date = d.and_hms_opt(0, 0, 0).expect("valid time").and_utc();
    }
    if let Some(d) = f.date_before.filter(|&d| r.date.date_naive() > d) {
        r.date = d
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .expect("valid time")
            .and_utc();
    }
}

#[derive(Arbitrary, Debug)]
enum FScope {
    Everything,
    Some {
        customers: Vec<u8>,
        projects: Vec<u8>,
        offerings: Vec<u8>,
    },
}

impl FScope {
    fn spec(&self) -> ScopeSpec {
        let idx =
            |v: &[u8], pool: &[u128]| v.iter().map(|&i| usize::from(i) % pool.len()).collect();
        match self {
            FScope::Everything => ScopeSpec::everything(),
            FScope::Some {
                customers,
                projects,
                offerings,
            } => ScopeSpec {
                everything: false,
                customers: idx(customers, &CUSTOMER_UUIDS),
                projects: idx(projects, &PROJECT_UUIDS),
                offerings: idx(offerings, &OFFERING_UUIDS),
            },
        }
    }
}

#[derive(Arbitrary, Debug)]
enum FuzzOp {
    Upsert(FRecord),
    Batch(Vec<FRecord>),
    /// `base` repeated to 64 + `extra % 16` records: the store's bulk-write path.
    BulkBatch {
        base: Vec<FRecord>,
        extra: u8,
    },
    Remove(u8),
    /// Records flagged `true` are made to match the filter, where they can.
    Replace {
        filter: Vec<FParam>,
        full: bool,
        records: Vec<(FRecord, bool)>,
    },
    Query {
        params: Vec<FParam>,
        full: bool,
        scope: FScope,
    },
    Get(u8, FScope),
    Shrink,
}

impl FuzzOp {
    fn op(&self) -> Op {
        let records = |v: &[FRecord]| v.iter().map(FRecord::record).collect::<Vec<_>>();
        let index = |i: u8| usize::from(i) % RECORD_UUIDS.len();
        match self {
            FuzzOp::Upsert(r) => Op::Upsert(Box::new(r.record())),
            FuzzOp::Batch(v) => Op::Batch(records(v)),
            FuzzOp::BulkBatch { base, extra } => {
                let n = if base.is_empty() {
                    0
                } else {
                    64 + usize::from(extra % 16)
                };
                Op::Batch(records(base).into_iter().cycle().take(n).collect())
            }
            FuzzOp::Remove(i) => Op::Remove(index(*i)),
            FuzzOp::Replace {
                filter,
                full,
                records,
            } => {
                let qs = query_string(filter, *full);
                let f = model_parse_filter(&qs).ok();
                let rs = records.iter().map(|(r, c)| {
                    let mut r = r.record();
                    if let (Some(f), true) = (&f, c) {
                        conform(f, &mut r);
                    }
                    r
                });
                Op::Replace(qs, rs.collect())
            }
            FuzzOp::Query {
                params,
                full,
                scope,
            } => Op::Query(query_string(params, *full), scope.spec()),
            FuzzOp::Get(i, scope) => Op::Get(index(*i), scope.spec()),
            FuzzOp::Shrink => Op::Shrink,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// `Some((k, seed))`: start from `prefill_records(2 * k, seed)`, up to 510
    /// records: enough for the query planner's sort and partial-walk paths,
    /// small enough to keep the naive model fast (the proptest
    /// `big_store_matches_model` covers 1000 to 3600).
    prefill: Option<(u8, u64)>,
    ops: Vec<FuzzOp>,
}

fuzz_target!(|input: Input| {
    let initial = match input.prefill {
        Some((k, seed)) => prefill_records(2 * usize::from(k), seed),
        None => Vec::new(),
    };
    let ops: Vec<Op> = input.ops.iter().take(48).map(FuzzOp::op).collect();
    if let Err(e) = run_on(&initial, &ops) {
        panic!(
            "store and model disagree: {e}\nprefill: {:?}\nops: {ops:#?}",
            input.prefill
        );
    }
});
