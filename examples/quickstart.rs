//! Quickstart: generate the demo data set, load it into a [`Store`] and run
//! the queries a Waldur deployment typically sends, with their latencies.
//!
//! ```text
//! cargo run --release --example quickstart -- [--records N] [--seed S] [--chunk N] [--generate-only]
//! ```
//!
//! `--records` defaults to `USAGE_BENCH_RECORDS`, else 1,000,000; it accepts
//! `1_000_000`, `200k`, `10M`. `--generate-only` measures the generator alone
//! (nothing is stored).

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Query, Scope, Store};
use uuid::Uuid;

/// Default records per `upsert_batch` call.
const CHUNK: usize = 100_000;
/// Repetitions of each query for its median latency.
const REPS: usize = 200;
/// Rows printed per query.
const SHOWN: usize = 3;

struct Args {
    cfg: DemoConfig,
    chunk: usize,
    generate_only: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: quickstart [--records N] [--seed S] [--chunk N] [--generate-only]\n\
         \n  --records N      records to generate (default: ${} or 1000000; accepts 1_000_000, 200k, 10M)\
         \n  --seed S         seed of the generator (default 42)\
         \n  --chunk N        records per upsert_batch call (default 100000)\
         \n  --generate-only  measure the generator alone, load nothing",
        DemoConfig::RECORDS_ENV
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        cfg: DemoConfig::from_env(),
        chunk: CHUNK,
        generate_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--records" | "-n" => {
                args.cfg.records = DemoConfig::parse_records(&value()).unwrap_or_else(|| usage())
            }
            "--seed" => args.cfg.seed = value().trim().parse().unwrap_or_else(|_| usage()),
            "--chunk" => {
                args.chunk = DemoConfig::parse_records(&value())
                    .filter(|&n| n > 0)
                    .unwrap_or_else(|| usage())
            }
            "--generate-only" => args.generate_only = true,
            _ => usage(),
        }
    }
    args
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(n: usize, d: Duration) -> String {
    grouped((n as f64 / d.as_secs_f64().max(1e-9)) as u64)
}

/// Resident memory of this process, from `/proc` (Linux only).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn median_micros(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..REPS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[REPS / 2].as_secs_f64() * 1e6
}

/// Builds the query of a query string; the demo's query strings are valid.
fn query(qs: &str, scope: Option<&Scope>) -> Query {
    let q = Query::parse(qs).unwrap_or_else(|e| panic!("{qs}: {e}"));
    match scope {
        Some(s) => q.with_scope(s.clone()),
        None => q,
    }
}

/// Runs a list query, prints its count and first rows, then its median latency.
fn list(store: &Store, title: &str, qs: &str, scope: Option<&Scope>) {
    let q = query(qs, scope);
    println!("\n{title}\n  GET ?{qs}");
    {
        let txn = store.read();
        match txn.query(&q) {
            Ok(page) => {
                let info = page.info();
                println!(
                    "  count {}, page {} of {}, {} rows",
                    grouped(info.count),
                    info.number,
                    info.num_pages,
                    page.len()
                );
                for r in page.iter().take(SHOWN) {
                    println!(
                        "    {}  {:<28} {:>12} {:<12} {}",
                        r.uuid().simple(),
                        r.username(),
                        r.usage().to_string(),
                        r.component_type(),
                        r.billing_period()
                    );
                }
            }
            Err(e) => println!("  error: {e}"),
        }
    }
    let us = median_micros(|| {
        let txn = store.read();
        if let Ok(page) = txn.query(&q) {
            black_box(page.iter().map(|r| r.usage().cents()).sum::<i64>());
        }
    });
    println!("  median {us:.1} µs over {REPS} runs");
}

/// Runs a count-only query (what `HEAD` answers) and its median latency.
fn count(store: &Store, title: &str, qs: &str) {
    let q = query(qs, None);
    println!("\n{title}\n  HEAD ?{qs}");
    match store.read().count(&q) {
        Ok(info) => println!(
            "  X-Result-Count: {} ({} pages)",
            grouped(info.count),
            info.num_pages
        ),
        Err(e) => println!("  error: {e}"),
    }
    let us = median_micros(|| {
        black_box(store.read().count(&q).map(|i| i.count).ok());
    });
    println!("  median {us:.1} µs over {REPS} runs");
}

/// Retrieves one record by uuid and prints its median latency.
fn retrieve(store: &Store, title: &str, uuid: Uuid) {
    println!(
        "\n{title}\n  GET /api/marketplace-component-user-usages/{}/",
        uuid.simple()
    );
    match store.read().get(uuid, &Scope::everything()) {
        Some(r) => println!(
            "    {}  {:<28} {:>12} {:<12} {}  ({} / {})",
            r.uuid().simple(),
            r.username(),
            r.usage().to_string(),
            r.component_type(),
            r.billing_period(),
            r.customer_name(),
            r.resource_name()
        ),
        None => println!("  not found"),
    }
    let us = median_micros(|| {
        let txn = store.read();
        black_box(txn.get(uuid, &Scope::everything()).map(|r| r.usage()));
    });
    println!("  median {us:.2} µs over {REPS} runs");
}

fn main() {
    let Args {
        cfg,
        chunk,
        generate_only,
    } = parse_args();
    println!(
        "usage-store quickstart: {} demo records, seed {}",
        grouped(cfg.records as u64),
        cfg.seed
    );

    let t = Instant::now();
    let demo = Demo::new(cfg);
    println!(
        "catalogue built in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    if generate_only {
        generate_only_run(&demo);
        return;
    }

    // Load in chunks, as a sync would.
    let store = Store::new();
    let tty = std::io::stdout().is_terminal();
    let mut records = demo.records();
    let mut batch = Vec::with_capacity(chunk.min(cfg.records));
    let (mut gen_time, mut load_time) = (Duration::ZERO, Duration::ZERO);
    let mut loaded = 0usize;
    let mut next_report = 0usize;
    loop {
        let t = Instant::now();
        batch.clear();
        batch.extend(records.by_ref().take(chunk));
        gen_time += t.elapsed();
        if batch.is_empty() {
            break;
        }
        let t = Instant::now();
        store
            .upsert_batch(&batch)
            .expect("demo records are valid and unique");
        let chunk_time = t.elapsed();
        load_time += chunk_time;
        loaded += batch.len();
        let line = format!(
            "  loaded {:>11} / {} ({:>3.0}%)  chunk {:>10} rec/s  overall {:>10} rec/s",
            grouped(loaded as u64),
            grouped(cfg.records as u64),
            100.0 * loaded as f64 / cfg.records as f64,
            rate(batch.len(), chunk_time),
            rate(loaded, load_time)
        );
        if tty {
            print!("\r{line}");
            let _ = std::io::stdout().flush();
        } else if loaded >= next_report || loaded == cfg.records {
            println!("{line}");
            next_report = loaded + cfg.records.div_ceil(10);
        }
    }
    drop(batch);
    if tty {
        println!();
    }
    println!(
        "generated {} records in {:.2} s ({} rec/s); loaded in {:.2} s ({} rec/s); store holds {}",
        grouped(loaded as u64),
        gen_time.as_secs_f64(),
        rate(loaded, gen_time),
        load_time.as_secs_f64(),
        rate(loaded, load_time),
        grouped(store.len() as u64)
    );
    if let Some(mib) = rss_mib() {
        println!("process resident memory: {mib:.0} MiB");
    }
    if loaded == 0 {
        return;
    }

    let t = Instant::now();
    let p = demo.picks();
    println!(
        "picks computed in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    list(
        &store,
        "1. A small customer's usage in one month",
        &format!(
            "customer_uuid={}&billing_period_year={}&billing_period_month={}",
            p.small_customer.simple(),
            p.year,
            p.month
        ),
        None,
    );

    let largest_period = format!(
        "customer_uuid={}&component_usage__billing_period={}",
        p.largest_customer.simple(),
        p.busy_period
    );
    let pages = store
        .read()
        .count(&query(&largest_period, None))
        .map_or(1, |i| i.num_pages);
    list(
        &store,
        "2. The largest customer's usage in one billing period, page 3",
        &format!("{largest_period}&page={}", pages.min(3)),
        None,
    );

    list(
        &store,
        "3. Site agent: one resource, one billing period",
        &format!(
            "resource_uuid={}&component_usage__billing_period={}",
            p.resource.simple(),
            p.resource_period
        ),
        None,
    );

    list(
        &store,
        "4. One component type, largest usage first",
        &format!("type={}&o=-usage", p.component_type),
        None,
    );

    list(
        &store,
        "5. Username search, by username",
        &format!("username={}&o=username", p.username_needle),
        None,
    );

    let deep = (loaded as u64).div_ceil(100).div_ceil(2).clamp(1, 5_000);
    list(
        &store,
        "6. Unfiltered, deep page of 100",
        &format!("page_size=100&page={deep}"),
        None,
    );

    list(
        &store,
        "7. One project, two-month report date window",
        &format!(
            "project_uuid={}&date_after={}&date_before={}",
            p.project.simple(),
            p.date_after,
            p.date_before
        ),
        None,
    );

    count(
        &store,
        "8. Count only: the largest customer in one year",
        &format!(
            "customer_uuid={}&billing_period_year={}",
            p.largest_customer.simple(),
            p.year
        ),
    );

    retrieve(&store, "9. Retrieve one record", p.some_record);

    let mut scope = Scope::nothing();
    for &c in &p.scope_customers {
        scope = scope.with_customer(c);
    }
    for &pr in &p.scope_projects {
        scope = scope.with_project(pr);
    }
    list(
        &store,
        &format!(
            "10. A customer owner's view: {} customers and {} projects in scope, one year, largest usage first",
            p.scope_customers.len(),
            p.scope_projects.len()
        ),
        &format!("billing_period_year={}&o=-usage", p.year),
        Some(&scope),
    );
}

/// `--generate-only`: the generator's speed, then a summary of the data set
/// (a second pass, so the speed is not measured with the bookkeeping).
fn generate_only_run(demo: &Demo) {
    let t = Instant::now();
    let mut n = 0usize;
    for r in demo.records() {
        n += 1;
        black_box(&r);
    }
    let d = t.elapsed();
    println!(
        "generated {} records in {:.2} s: {} records/s",
        grouped(n as u64),
        d.as_secs_f64(),
        rate(n, d)
    );
    if n == 0 {
        return;
    }

    let mut customers: HashMap<Uuid, u64> = HashMap::new();
    let (mut projects, mut offerings, mut resources, mut cus) = (
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    );
    let mut usernames: HashSet<String> = HashSet::new();
    for r in demo.records() {
        *customers.entry(r.customer_uuid).or_default() += 1;
        projects.insert(r.project_uuid);
        offerings.insert(r.offering_uuid);
        resources.insert(r.resource_uuid);
        cus.insert(r.component_usage);
        usernames.insert(r.username.to_string());
    }
    let t = Instant::now();
    let p = demo.picks();
    let picks_time = t.elapsed();
    let largest = customers[&p.largest_customer];
    println!(
        "distinct: {} customers, {} projects, {} offerings, {} resources, {} component usages, {} usernames",
        grouped(customers.len() as u64),
        grouped(projects.len() as u64),
        grouped(offerings.len() as u64),
        grouped(resources.len() as u64),
        grouped(cus.len() as u64),
        grouped(usernames.len() as u64)
    );
    println!(
        "largest customer: {} records ({:.1}%); small customer: {} records",
        grouped(largest),
        100.0 * largest as f64 / n as f64,
        grouped(customers[&p.small_customer])
    );
    println!(
        "picks computed in {:.1} ms: {p:#?}",
        picks_time.as_secs_f64() * 1e3
    );
}
