//! Write benchmarks: usage_store against SQLite (see `benches/peers/sqlite.rs`).
//!
//! Group `write`, one `BenchmarkId::new(engine, case)` per engine and case:
//!
//! - `bulk_load`: the whole data set into an empty engine, indexes included.
//!   usage_store: one `upsert_batch` of every record. `sqlite`: one
//!   transaction of prepared inserts into the bare table, then `CREATE
//!   INDEX` (the fastest honest bulk load), then `ANALYZE`, which the query
//!   plans need (see `peers/sqlite.rs`). With `USAGE_BENCH_WRITE_VARIANTS=1`
//!   also `sqlite_indexes_first` (the indexes exist before the inserts: about
//!   ten times slower, so ten samples take half an hour at 1M).
//! - `rereport`: the site agent's 30-minute cycle: the records of the latest
//!   billing periods (about 10% of all, what an agent re-reports) come back
//!   with a new `usage` and `modified`. usage_store: `upsert_batch` of the
//!   full records. `sqlite`: one transaction of `INSERT … ON CONFLICT(uuid)
//!   DO UPDATE` of the full records (the same input the store gets); and
//!   `sqlite_update`, `UPDATE … SET usage, modified WHERE uuid` (a writer
//!   that knows which columns changed, for reference).
//!
//! - `report`: one site agent's report, written alone: a record picked at
//!   random (so its customer by the demo's sizes) comes back with a new
//!   `usage`, `modified` and `date`, a second after the last report's. A
//!   component usage's date is its records' too, so the write re-dates
//!   every record of the component usage (2.5 on average at 1M, weighted
//!   by records). usage_store: `upsert`. `sqlite`: one transaction of the
//!   full-record upsert and `UPDATE … SET date WHERE component_usage`
//!   (the natural-key index serves it).
//!
//! Each iteration of `rereport` writes values that differ from the stored
//! ones (generation k adds k cents and k seconds), so no engine can skip
//! work; each `report` is dated later than every earlier one.
//!
//! Run: `USAGE_BENCH_RECORDS=1000000 cargo bench --bench write`.

use std::hint::black_box;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Record, Store, Usage};

mod peers;

use peers::sqlite::Sqlite;

/// Positions of the records of the latest billing periods, at least 10% of all.
fn rereported(records: &[Record]) -> Vec<usize> {
    let mut per_period = std::collections::BTreeMap::<NaiveDate, usize>::new();
    for r in records {
        *per_period.entry(r.billing_period).or_default() += 1;
    }
    let (mut n, mut from) = (0, NaiveDate::MAX);
    for (&p, &k) in per_period.iter().rev() {
        if n * 10 >= records.len() {
            break;
        }
        n += k;
        from = p;
    }
    (0..records.len())
        .filter(|&i| records[i].billing_period >= from)
        .collect()
}

/// Generation `k` of the re-reported records: usage + k cents, modified + k seconds.
fn generation(records: &[Record], which: &[usize], k: i64) -> Vec<Record> {
    which
        .iter()
        .map(|&i| {
            let mut r = records[i].clone();
            r.usage = Usage::from_cents(r.usage.cents() + k);
            r.modified += chrono::Duration::seconds(k);
            r
        })
        .collect()
}

/// Site agents' reports, one at a time (the `report` case): the same
/// sequence for every engine.
struct Reports<'a> {
    records: &'a [Record],
    state: u64,
    k: i64,
    /// A day after the data set's latest report: every report is later.
    base: chrono::DateTime<chrono::Utc>,
}

impl<'a> Reports<'a> {
    fn new(records: &'a [Record]) -> Reports<'a> {
        let latest = records.iter().map(|r| r.date).max().unwrap_or_default();
        Reports {
            records,
            state: 42,
            k: 0,
            base: latest + chrono::Duration::days(1),
        }
    }

    /// The next report (the k-th): a random record, its usage up k cents
    /// from the loaded value, modified and dated a second after the last
    /// report.
    fn next(&mut self) -> Record {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let i = ((z ^ (z >> 31)) % self.records.len() as u64) as usize;
        self.k += 1;
        let mut r = self.records[i].clone();
        r.usage = Usage::from_cents(r.usage.cents() + self.k);
        r.modified = self.base + chrono::Duration::seconds(self.k);
        r.date = r.modified;
        r
    }
}

fn write(c: &mut Criterion) {
    let cfg = DemoConfig::from_env();
    let demo = Demo::new(cfg);
    let records: Vec<Record> = demo.records().collect();

    let mut g = c.benchmark_group("write");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));

    g.bench_function(BenchmarkId::new("usage_store", "bulk_load"), |b| {
        b.iter_batched(
            Store::new,
            |store| {
                store.upsert_batch(&records).expect("load");
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("sqlite", "bulk_load"), |b| {
        b.iter_batched(
            || Sqlite::new(false),
            |db| {
                db.insert(&records);
                db.create_indexes();
                db.analyze();
                db
            },
            BatchSize::PerIteration,
        )
    });
    if std::env::var("USAGE_BENCH_WRITE_VARIANTS").as_deref() == Ok("1") {
        g.bench_function(BenchmarkId::new("sqlite_indexes_first", "bulk_load"), |b| {
            b.iter_batched(
                || Sqlite::new(true),
                |db| {
                    db.insert(&records);
                    db.analyze();
                    db
                },
                BatchSize::PerIteration,
            )
        });
    }

    let which = rereported(&records);
    let periods: std::collections::BTreeSet<_> = which
        .iter()
        .map(|&i| {
            let p = records[i].billing_period;
            (p.year(), p.month())
        })
        .collect();
    eprintln!(
        "rereport: {} of {} records ({:.1}%), billing periods {periods:?}",
        which.len(),
        records.len(),
        100.0 * which.len() as f64 / records.len().max(1) as f64
    );

    let store = Store::new();
    store.upsert_batch(&records).expect("load");
    let mut k = 0;
    g.bench_function(BenchmarkId::new("usage_store", "rereport"), |b| {
        b.iter_batched(
            || {
                k += 1;
                generation(&records, &which, k)
            },
            |batch| {
                let s = store.upsert_batch(&batch).expect("rereport");
                assert_eq!(s.replaced, batch.len(), "every record changed");
                batch
            },
            BatchSize::PerIteration,
        )
    });
    // After `rereport`, which then starts from the loaded data like
    // SQLite's; each engine's reports re-date the store it leaves.
    let mut reports = Reports::new(&records);
    g.bench_function(BenchmarkId::new("usage_store", "report"), |b| {
        b.iter_batched(
            || reports.next(),
            |r| {
                let outcome = store.upsert(&r).expect("report");
                assert!(
                    matches!(outcome, usage_store::WriteOutcome::Replaced),
                    "a report replaces its record"
                );
                r
            },
            BatchSize::SmallInput,
        )
    });
    drop(store);

    let db = Sqlite::load(&records);
    let mut k = 0;
    g.bench_function(BenchmarkId::new("sqlite", "rereport"), |b| {
        b.iter_batched(
            || {
                k += 1;
                generation(&records, &which, k)
            },
            |batch| {
                db.upsert(&batch);
                batch
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function(BenchmarkId::new("sqlite_update", "rereport"), |b| {
        b.iter_batched(
            || {
                k += 1;
                generation(&records, &which, k)
            },
            |batch| {
                db.update_usage(&batch);
                batch
            },
            BatchSize::PerIteration,
        )
    });
    let mut reports = Reports::new(&records);
    g.bench_function(BenchmarkId::new("sqlite", "report"), |b| {
        b.iter_batched(
            || reports.next(),
            |r| {
                db.report(&r);
                r
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    black_box(db);
}

criterion_group!(benches, write);
criterion_main!(benches);
