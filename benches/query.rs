//! Query benchmarks: usage_store against its peers (see `benches/peers/`).
//!
//! Group `query`, one `BenchmarkId::new(engine, case)` per engine and case.
//! Data: `usage_store::demo` with `USAGE_BENCH_RECORDS` records (default
//! 1,000,000). Every engine is loaded once per run; before any timing, every
//! case checks that the engines agree (count, uuids, order, fields).
//!
//! Every engine does the same work per iteration: the total count plus the
//! page's records materialised as owned `Record`s (SQLite cannot lend rows
//! beyond a step, so owned records are the common denominator).
//! `usage_store_borrowed` is the store's zero-copy path for reference: it
//! reads every field of the page's `RecordRef`s without allocating.
//!
//! Run: `USAGE_BENCH_RECORDS=1000000 cargo bench --bench query`;
//! smoke test: `USAGE_BENCH_RECORDS=20000 cargo bench --bench query -- --test`.
//! `USAGE_BENCH_EXPLAIN=1` prints SQLite's query plans.
//! `USAGE_BENCH_ENGINES=usage_store,floor` loads and times only the named
//! peers (the store always runs; at 10M SQLite alone takes minutes to load):
//! `USAGE_BENCH_RECORDS=10M USAGE_BENCH_ENGINES=usage_store,floor cargo bench --bench query`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Record, RecordRef, Scope, Store};

mod peers;

use peers::floor::Floor;
use peers::mim::Mim;
use peers::sqlite::Sqlite;
use peers::{Answer, Case, Op, check};

/// The store's answer with owned records (the work every peer does).
fn store_answer(store: &Store, case: &Case) -> Answer {
    let txn = store.read();
    match &case.op {
        Op::Get(uuid) => {
            let records: Vec<Record> = txn
                .get(*uuid, &Scope::everything())
                .map(|r| r.to_record())
                .into_iter()
                .collect();
            Answer {
                count: records.len() as u64,
                records,
            }
        }
        Op::Count(_) => Answer {
            count: txn.count(&case.query).expect("count").count,
            records: Vec::new(),
        },
        Op::List(_) => {
            let page = txn.query(&case.query).expect("query");
            Answer {
                count: page.count(),
                records: page.to_records(),
            }
        }
    }
}

/// Reads every field of a borrowed record (no allocation), returning a checksum.
fn touch(r: RecordRef<'_>) -> u64 {
    let s = |x: &str| x.len() as u64;
    let u = |x: uuid::Uuid| x.as_u64_pair().0;
    u(r.uuid())
        ^ r.user().map_or(0, u)
        ^ s(r.username())
        ^ u(r.component_usage())
        ^ r.usage().cents() as u64
        ^ s(r.measured_unit())
        ^ s(r.description())
        ^ r.created().timestamp_micros() as u64
        ^ r.modified().timestamp_micros() as u64
        ^ s(r.backend_id())
        ^ s(r.resource_name())
        ^ u(r.resource_uuid())
        ^ s(r.offering_name())
        ^ u(r.offering_uuid())
        ^ s(r.project_name())
        ^ u(r.project_uuid())
        ^ s(r.customer_name())
        ^ u(r.customer_uuid())
        ^ s(r.component_type())
        ^ r.date().timestamp_micros() as u64
        ^ chrono::Datelike::num_days_from_ce(&r.billing_period()) as u64
}

/// The store's zero-copy path: count plus a checksum of every field of the page.
fn store_borrowed(store: &Store, case: &Case) -> (u64, u64) {
    let txn = store.read();
    match &case.op {
        Op::Get(uuid) => match txn.get(*uuid, &Scope::everything()) {
            Some(r) => (1, touch(r)),
            None => (0, 0),
        },
        Op::Count(_) => (txn.count(&case.query).expect("count").count, 0),
        Op::List(_) => {
            let page = txn.query(&case.query).expect("query");
            (page.count(), page.iter().map(touch).fold(0, |a, b| a ^ b))
        }
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    eprintln!("setup: {what} in {:.2?}", t.elapsed());
    out
}

/// Whether `USAGE_BENCH_ENGINES` (a comma-separated list; unset means all) names `engine`.
fn wanted(engine: &str) -> bool {
    match std::env::var("USAGE_BENCH_ENGINES") {
        Ok(list) if !list.trim().is_empty() => list.split(',').any(|e| e.trim() == engine),
        _ => true,
    }
}

fn query(c: &mut Criterion) {
    let cfg = DemoConfig::from_env();
    let demo = Demo::new(cfg);
    let records: Vec<Record> = timed(&format!("generate {} records", cfg.records), || {
        demo.records().collect()
    });
    let store = Store::new();
    timed("load usage_store (upsert_batch)", || {
        store.upsert_batch(&records).expect("load store")
    });
    let sqlite = wanted("sqlite").then(|| {
        timed("load sqlite (insert, create indexes, analyze)", || {
            Sqlite::load(&records)
        })
    });
    let mim =
        wanted("multi_index_map").then(|| timed("load multi_index_map", || Mim::load(&records)));
    let floor = wanted("floor").then(|| timed("load floor bitmaps", || Floor::load(records)));

    let cases = peers::cases(&demo, |q| store.read().count(q).expect("count").count);
    let explain = std::env::var_os("USAGE_BENCH_EXPLAIN").is_some();

    // Same answers from every engine before any timing.
    let mut prepared = Vec::new();
    for case in &cases {
        let want = store_answer(&store, case);
        assert!(
            want.count > 0,
            "case {} ({}) matches nothing: the bench would measure an empty result",
            case.name,
            case.query_string
        );
        let sql = sqlite.as_ref().map(|sqlite| {
            let sql = sqlite.prepare(&case.op);
            if explain {
                eprint!(
                    "{} ({}):\n{}",
                    case.name,
                    case.query_string,
                    sqlite.explain(&sql)
                );
            }
            check(case, "sqlite", &want, &sqlite.run(&sql));
            sql
        });
        if let Some(mim) = &mim {
            check(case, "multi_index_map", &want, &mim.run(&case.op));
        }
        let plan = floor.as_ref().map(|floor| {
            let page: Vec<uuid::Uuid> = want.records.iter().map(|r| r.uuid).collect();
            let plan = floor.plan(&case.op, &page);
            check(case, "floor", &want, &floor.run(&plan));
            plan
        });
        let (count, _) = store_borrowed(&store, case);
        assert_eq!(count, want.count, "case {}: borrowed path", case.name);
        eprintln!(
            "case {}: count {}, page of {} ({})",
            case.name,
            want.count,
            want.records.len(),
            case.query_string
        );
        prepared.push((sql, plan));
    }

    let mut g = c.benchmark_group("query");
    for (case, (sql, plan)) in cases.iter().zip(&prepared) {
        g.bench_function(BenchmarkId::new("usage_store", case.name), |b| {
            b.iter(|| black_box(store_answer(&store, black_box(case))))
        });
        g.bench_function(BenchmarkId::new("usage_store_borrowed", case.name), |b| {
            b.iter(|| black_box(store_borrowed(&store, black_box(case))))
        });
        if let (Some(sqlite), Some(sql)) = (&sqlite, sql) {
            g.bench_function(BenchmarkId::new("sqlite", case.name), |b| {
                b.iter(|| black_box(sqlite.run(black_box(sql))))
            });
        }
        if let Some(mim) = &mim {
            g.bench_function(BenchmarkId::new("multi_index_map", case.name), |b| {
                b.iter(|| black_box(mim.run(black_box(&case.op))))
            });
        }
        if let (Some(floor), Some(plan)) = (&floor, plan) {
            g.bench_function(BenchmarkId::new("floor", case.name), |b| {
                b.iter(|| black_box(floor.run(black_box(plan))))
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = query
}
criterion_main!(benches);
