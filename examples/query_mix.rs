//! Times a mix of list queries against the demo store: the queries a web
//! UI, a dashboard and a site agent send beyond the benchmark's cases
//! (`benches/query.rs`), to find slow query shapes.
//!
//! Run: `cargo run --release --example query_mix` (1,000,000 records,
//! `USAGE_BENCH_RECORDS` to change), or give query strings as arguments:
//! `cargo run --release --example query_mix -- 'type=cpu&o=-usage' 'page=last'`.
//!
//! Each query is run until about a second of warm-up has passed for the
//! whole mix (with writes: three passes), then timed in five rounds of
//! about 50 ms (with writes: 2,000 queries); the best round's mean per
//! query is printed (the machine is shared: the best round is the least
//! disturbed).
//! The time covers the count and the page's records read through
//! `RecordRef` (no copy), as the HTTP server renders them.
//!
//! `USAGE_MIX_REREPORT=1` first re-reports the latest billing period the
//! way upstream's site agents do (every component usage re-dated to now),
//! to time the queries on a store that has been written to since its load.
//! `USAGE_MIX_REREPORT=offering` re-reports it offering by offering, each
//! offering's records a second after the previous offering's (one site
//! agent an offering), where `1` dates them all to one time.
//!
//! `USAGE_MIX_WRITES=1` writes one site agent's report before each query
//! (not timed; `USAGE_MIX_WRITES=N`, before every N-th query): a record
//! of a component usage picked at random (so its customer by the demo's
//! sizes), re-dated to now with a new usage, which re-dates its component
//! usage's every record. This is the store under
//! many writers (site agents, federation), where a query rarely follows
//! the write before it on the same entities. The writes accumulate, so a
//! query's figure depends on its place in the mix (about 10,000 writes
//! per query before it): compare runs of the same mix.
//!
//! `USAGE_MIX_NEW_NAMES=N` (with `USAGE_MIX_WRITES=1`) makes every N-th
//! report come from a user the store has not seen (a new username on the
//! record; every other one contains the demo's username needle, so a
//! kept search answer gains it): users join projects all the time, and
//! the username orders and searches keep data that a new name changes.

use std::time::{Duration, Instant};

use usage_store::demo::{Demo, DemoConfig};
use usage_store::{Query, Store};

/// The default mix, built from the demo's picks so that it matches at any size.
fn default_mix(demo: &Demo) -> Vec<String> {
    let p = demo.picks();
    // The offering with the most records (a provider's view): the demo
    // picks none, so its records are counted.
    let mut per_offering: std::collections::HashMap<uuid::Uuid, usize> = Default::default();
    for r in demo.records() {
        *per_offering.entry(r.offering_uuid).or_default() += 1;
    }
    let offering = (per_offering.into_iter())
        .max_by_key(|&(u, n)| (n, u))
        .map(|(u, _)| u.simple().to_string())
        .unwrap_or_default();
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
        format!(
            "username={}&type={ty}&billing_period_year={year}",
            p.username_needle
        ),
        format!("offering_uuid={offering}&type={ty}&billing_period_year={year}"),
        format!("offering_uuid={offering}&o=-usage"),
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
        "o=component_usage__billing_period,username&page=300".to_string(),
    ]
}

/// Site agents' reports written between queries (`USAGE_MIX_WRITES`).
struct Writer {
    records: Vec<usage_store::Record>,
    state: u64,
    now: chrono::DateTime<chrono::Utc>,
    /// Every this many reports, a new username (`USAGE_MIX_NEW_NAMES`).
    new_names: Option<u64>,
    /// What every other new username contains.
    needle: String,
    written: u64,
    /// A report before every this many queries (`USAGE_MIX_WRITES`).
    every: u64,
    /// Queries run so far.
    queries: u64,
}

impl Writer {
    /// Writes the next report: a random record re-dated a second later
    /// than the last report, its usage up a cent.
    fn write(&mut self, store: &Store) {
        // SplitMix64: the same reports on every run.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let i = ((z ^ (z >> 31)) % self.records.len() as u64) as usize;
        self.now += chrono::Duration::seconds(1);
        let r = &mut self.records[i];
        r.date = self.now;
        r.modified = self.now;
        r.usage = usage_store::Usage::from_cents(r.usage.cents() + 1);
        self.written += 1;
        if let Some(n) = self.new_names.filter(|&n| self.written.is_multiple_of(n)) {
            let k = self.written / n;
            r.username = if k.is_multiple_of(2) {
                format!("{}-new-{k}", self.needle).into()
            } else {
                format!("new-user-{k}").into()
            };
        }
        store.upsert(r).expect("valid record");
    }
}

/// Mean time of `n` runs of `q`, and the last run's count; with a
/// writer, a report written before each run (or every few runs: its
/// `every`), outside the time.
fn time(store: &Store, q: &Query, n: u32, mut writer: Option<&mut Writer>) -> (Duration, u64) {
    let mut count = 0;
    let mut sink = 0i64;
    let mut spent = Duration::ZERO;
    let mut t = Instant::now();
    for _ in 0..n {
        if let Some(w) = writer.as_deref_mut() {
            if w.queries % w.every == 0 {
                w.write(store);
            }
            w.queries += 1;
            t = Instant::now();
        }
        let txn = store.read();
        let page = txn.query(q).expect("a page that exists");
        count = page.count();
        sink = sink.wrapping_add(page.iter().map(|r| r.usage().cents()).sum::<i64>());
        drop(page);
        drop(txn);
        if writer.is_some() {
            spent += t.elapsed();
        }
    }
    std::hint::black_box(sink);
    if writer.is_none() {
        spent = t.elapsed();
    }
    (spent / n, count)
}

/// The positive number in environment variable `name`, if set; exits
/// with a message naming it (a number of `what`) if it is not one.
fn positive_env(name: &str, what: &str) -> Option<u64> {
    let n = std::env::var(name).ok()?;
    match n.parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            eprintln!("{name}={n}: expected a positive number of {what}");
            std::process::exit(2);
        }
    }
}

/// A site agent's re-report of the latest billing period, as upstream
/// does it: each of its component usages re-dated to now (a day after the
/// latest report) with a new usage, one component usage at a time.
fn rereport(store: &Store, mut records: Vec<usage_store::Record>, by_offering: bool) {
    let last = records.iter().map(|r| r.billing_period).max();
    let now = records.iter().map(|r| r.date).max().expect("records") + chrono::Days::new(1);
    records.retain(|r| Some(r.billing_period) == last);
    // With `by_offering`, offering number `i` (by uuid) reports `i`
    // seconds after `now`.
    let mut offerings: Vec<uuid::Uuid> = records.iter().map(|r| r.offering_uuid).collect();
    offerings.sort_unstable();
    offerings.dedup();
    let when = |r: &usage_store::Record| match offerings.binary_search(&r.offering_uuid) {
        Ok(i) if by_offering => now + chrono::Duration::seconds(i as i64),
        _ => now,
    };
    records.sort_by_key(|r| r.component_usage);
    for cu in records.chunk_by_mut(|a, b| a.component_usage == b.component_usage) {
        for r in cu.iter_mut() {
            r.date = when(r);
            r.modified = r.date;
            r.usage = usage_store::Usage::from_cents(r.usage.cents() + 100);
        }
        store.upsert_batch(cu).expect("valid records");
    }
    println!(
        "re-reported the {} records of the latest billing period ({}), dated {now}{}",
        records.len(),
        last.expect("records"),
        if by_offering {
            " and a second later per offering"
        } else {
            ""
        }
    );
}

fn main() {
    let cfg = DemoConfig::from_env();
    let demo = Demo::new(cfg);
    let store = Store::new();
    let mut records: Vec<_> = demo.records().collect();
    store
        .upsert_batch(&records)
        .expect("demo records are valid");
    let every = positive_env("USAGE_MIX_WRITES", "queries per report");
    let writes = every.is_some();
    let new_names = positive_env("USAGE_MIX_NEW_NAMES", "reports");
    if new_names.is_some() && !writes {
        eprintln!(
            "USAGE_MIX_NEW_NAMES needs USAGE_MIX_WRITES=1 (no reports are written without it)"
        );
        std::process::exit(2);
    }
    if let Some(how) = std::env::var_os("USAGE_MIX_REREPORT") {
        let copy = if writes {
            records.clone()
        } else {
            std::mem::take(&mut records)
        };
        rereport(&store, copy, how == "offering");
    }
    let mut writer = writes.then(|| Writer {
        now: store
            .read()
            .query(&Query::parse("page_size=1").expect("valid"))
            .expect("a page")
            .iter()
            .map(|r| r.date())
            .max()
            .unwrap_or_default(),
        records,
        state: 42,
        every: every.unwrap_or(1),
        queries: 0,
        new_names,
        needle: demo.picks().username_needle.clone(),
        written: 0,
    });

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
    // With writes, three passes: their count, not the machine's speed,
    // decides how far the store has drifted when each query is timed.
    let mut passes = 0;
    while if writes {
        passes < 3
    } else {
        warm.elapsed() < Duration::from_secs(1)
    } {
        for q in &queries {
            time(&store, q, 5, writer.as_mut());
        }
        passes += 1;
    }
    let with = match every {
        None => String::new(),
        Some(1) => ", a report written before each (not timed)".to_owned(),
        Some(n) => format!(", a report written before every {n}th (not timed)"),
    };
    println!(
        "{} records; best of 5 rounds, mean per query{with}:",
        cfg.records
    );
    for (qs, q) in mix.iter().zip(&queries) {
        // With writes, 2,000 a round: as they accumulate, the store drifts
        // (more component usages re-dated to the latest days), the same
        // way on every run of the same mix. Else rounds of about 50 ms.
        let n = if writes {
            2_000
        } else {
            let (once, _) = time(&store, q, 3, None);
            (Duration::from_millis(50).as_nanos() / once.as_nanos().max(1)).clamp(1, 100_000) as u32
        };
        let (best, count) = (0..5)
            .map(|_| time(&store, q, n, writer.as_mut()))
            .min_by_key(|&(d, _)| d)
            .expect("five rounds");
        println!("{:>10.2} µs  {count:>9}  {qs}", best.as_secs_f64() * 1e6);
    }
}
