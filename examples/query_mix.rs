//! Times a mix of list queries against the demo store: the queries a web
//! UI, a dashboard and a site agent send beyond the benchmark's cases
//! (`benches/query.rs`), to find slow query shapes.
//!
//! Run: `cargo run --release --example query_mix` (1,000,000 records,
//! `USAGE_BENCH_RECORDS` to change), or give query strings as arguments:
//! `cargo run --release --example query_mix -- 'type=cpu&o=-usage' 'page=last'`.
//!
//! Each query is run until about a second of warm-up has passed for the
//! whole mix, then timed in five rounds; the best round's mean per query is
//! printed (the machine is shared: the best round is the least disturbed).
//! The time covers the count and the page's records read through
//! `RecordRef` (no copy), as the HTTP server renders them.
//!
//! `USAGE_MIX_REREPORT=1` first re-reports the latest billing period the
//! way upstream's site agents do (every component usage re-dated to now),
//! to time the queries on a store that has been written to since its load.

use std::time::{Duration, Instant};

use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Query, Store};

/// The default mix, built from the demo's picks so that it matches at any size.
fn default_mix(demo: &Demo) -> Vec<String> {
    let p = demo.picks();
    let (customer, project) = (p.largest_customer.simple(), p.project.simple());
    let small = p.small_customer.simple();
    let (ty, year, month) = (&p.component_type, p.year, p.month);
    vec![
        format!("project_uuid={project}"),
        format!("project_uuid={project}&page=5"),
        format!("project_uuid={project}&o=username"),
        format!("project_uuid={project}&billing_period_year={year}"),
        format!("customer_uuid={small}"),
        format!("customer_uuid={small}&type={ty}"),
        format!("customer_uuid={small}&date_after={year}-01-01"),
        format!("customer_uuid={customer}&date_after={year}-01-01"),
        format!("customer_uuid={customer}&type={ty}"),
        format!("customer_uuid={customer}&type={ty}&billing_period_year={year}"),
        format!("customer_uuid={customer}&username={}", p.username_needle),
        format!("type={ty}&billing_period_year={year}&o=-usage"),
        format!("type={ty}&billing_period_year={year}&billing_period_month={month}&o=-usage"),
        format!(
            "type={ty}&component_usage__billing_period={}&page=last",
            p.busy_period
        ),
        format!("billing_period_year={year}&billing_period_month={month}&o=-usage"),
        format!("type={ty}&page=last"),
        "o=-usage".to_string(),
        "o=-usage&page=500".to_string(),
        "o=-component_usage__billing_period,-usage".to_string(),
    ]
}

/// Mean time of `n` runs of `q`, and the last run's count.
fn time(store: &Store, q: &Query, n: u32) -> (Duration, u64) {
    let mut count = 0;
    let mut sink = 0i64;
    let t = Instant::now();
    for _ in 0..n {
        let txn = store.read();
        let page = txn.query(q).expect("a page that exists");
        count = page.count();
        sink = sink.wrapping_add(page.iter().map(|r| r.usage().cents()).sum::<i64>());
    }
    std::hint::black_box(sink);
    (t.elapsed() / n, count)
}

/// A site agent's re-report of the latest billing period, as upstream
/// does it: each of its component usages re-dated to now (a day after the
/// latest report) with a new usage, one component usage at a time.
fn rereport(store: &Store, mut records: Vec<usage_store::Record>) {
    let last = records.iter().map(|r| r.billing_period).max();
    let now = records.iter().map(|r| r.date).max().expect("records") + chrono::Days::new(1);
    records.retain(|r| Some(r.billing_period) == last);
    records.sort_by_key(|r| r.component_usage);
    for cu in records.chunk_by_mut(|a, b| a.component_usage == b.component_usage) {
        for r in cu.iter_mut() {
            r.date = now;
            r.modified = now;
            r.usage = usage_store::Usage::from_cents(r.usage.cents() + 100);
        }
        store.upsert_batch(cu).expect("valid records");
    }
    println!(
        "re-reported the {} records of the latest billing period ({}), dated {now}",
        records.len(),
        last.expect("records")
    );
}

fn main() {
    let cfg = DemoConfig::from_env();
    let demo = Demo::new(cfg);
    let store = Store::new();
    let records: Vec<_> = demo.records().collect();
    store
        .upsert_batch(&records)
        .expect("demo records are valid");
    if std::env::var_os("USAGE_MIX_REREPORT").is_some() {
        rereport(&store, records);
    } else {
        drop(records);
    }

    let args: Vec<String> = std::env::args().skip(1).collect();
    let mix = if args.is_empty() {
        default_mix(&demo)
    } else {
        args
    };
    let queries: Vec<Query> = mix
        .iter()
        .map(|qs| Query::parse(qs).unwrap_or_else(|e| panic!("{qs}: {e}")))
        .collect();

    // Warm-up: the first queries after a load pay for page faults.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        for q in &queries {
            time(&store, q, 5);
        }
    }
    println!("{} records; best of 5 rounds, mean per query:", cfg.records);
    for (qs, q) in mix.iter().zip(&queries) {
        // Rounds of about 50 ms each.
        let (once, _) = time(&store, q, 3);
        let n = (Duration::from_millis(50).as_nanos() / once.as_nanos().max(1)).clamp(1, 100_000)
            as u32;
        let (best, count) = (0..5)
            .map(|_| time(&store, q, n))
            .min_by_key(|&(d, _)| d)
            .expect("five rounds");
        println!("{:>10.2} µs  {count:>9}  {qs}", best.as_secs_f64() * 1e6);
    }
}
