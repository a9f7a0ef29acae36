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

use std::time::{Duration, Instant};

use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Query, Store};

/// The default mix, built from the demo's picks so that it matches at any size.
fn default_mix(demo: &Demo) -> Vec<String> {
    let p = demo.picks();
    let (customer, project) = (p.largest_customer.simple(), p.project.simple());
    let (ty, year, month) = (&p.component_type, p.year, p.month);
    vec![
        format!("project_uuid={project}"),
        format!("project_uuid={project}&page=5"),
        format!("project_uuid={project}&o=username"),
        format!("project_uuid={project}&billing_period_year={year}"),
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

fn main() {
    let cfg = DemoConfig::from_env();
    let demo = Demo::new(cfg);
    let store = Store::new();
    let records: Vec<_> = demo.records().collect();
    store
        .upsert_batch(&records)
        .expect("demo records are valid");
    drop(records);

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
