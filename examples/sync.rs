//! `sync`: mirror a Waldur-compatible server's component user usages into a
//! local store, one `replace` per billing period, and report what changed.
//!
//! ```text
//! cargo run --release --example sync -- --url URL [--token TOKEN] [--page-size 300]
//!     [--load FILE] [--save FILE] [--interval SECS [--rounds N]]
//! ```
//!
//! `--url` is the server's base URL (`https://waldur.example.com`; HTTPS
//! needs `--features tls`). The token may also come from `WALDUR_TOKEN`.
//! `--load` starts from a JSON Lines / JSON array snapshot, `--save` writes
//! the local store as JSON Lines after each round, `--interval` repeats the
//! sync every SECS seconds (`--rounds` times; forever without it).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use usage_store::server::sync::{Client, SyncReport, sync};
use usage_store::{FieldSet, Query, Store};

const USAGE: &str = "\
usage: sync --url URL [options]

  --url URL         base URL of the Waldur-compatible server
  --token TOKEN     API token (default: $WALDUR_TOKEN; none: no Authorization header)
  --page-size N     records per page (default 300, upstream's maximum)
  --load FILE       start from this snapshot (JSON array or JSON Lines)
  --save FILE       write the local store as JSON Lines after each round
  --interval SECS   sync again every SECS seconds
  --rounds N        with --interval: stop after N rounds
  -h, --help        this text
";

struct Args {
    url: String,
    token: Option<String>,
    page_size: usize,
    load: Option<PathBuf>,
    save: Option<PathBuf>,
    interval: Option<u64>,
    rounds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut a = Args {
        url: String::new(),
        token: std::env::var("WALDUR_TOKEN").ok().filter(|t| !t.is_empty()),
        page_size: 300,
        load: None,
        save: None,
        interval: None,
        rounds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--token" => a.token = Some(value()?),
            "--page-size" => {
                a.page_size = value()?.parse().map_err(|e| format!("--page-size: {e}"))?
            }
            "--load" => a.load = Some(value()?.into()),
            "--save" => a.save = Some(value()?.into()),
            "--interval" => {
                a.interval = Some(value()?.parse().map_err(|e| format!("--interval: {e}"))?)
            }
            "--rounds" => a.rounds = Some(value()?.parse().map_err(|e| format!("--rounds: {e}"))?),
            _ => return Err(format!("unknown argument {flag:?}\n\n{USAGE}")),
        }
    }
    a.url = url.ok_or(format!("--url is required\n\n{USAGE}"))?;
    Ok(a)
}

fn print_report(report: &SyncReport) {
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "period", "upstream", "inserted", "replaced", "unchanged", "removed"
    );
    for p in &report.periods {
        match &p.result {
            Ok(s) => println!(
                "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}",
                p.period.to_string(),
                p.upstream,
                s.inserted,
                s.replaced,
                s.unchanged,
                s.removed
            ),
            Err(e) => println!(
                "{:<12} {:>9} FAILED, left unchanged: {e}",
                p.period.to_string(),
                p.upstream
            ),
        }
    }
    let t = report.total();
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "total",
        report.periods.iter().map(|p| p.upstream).sum::<usize>(),
        t.inserted,
        t.replaced,
        t.unchanged,
        t.removed
    );
}

/// Writes every local record as JSON Lines, walking the store page by page.
fn save(store: &Store, path: &PathBuf, base_url: &str) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let txn = store.read();
    let mut page_no = 1;
    loop {
        let q = Query::new()
            .with_page_size(usage_store::MAX_PAGE_SIZE)
            .page_number(page_no);
        let Ok(page) = txn.query(&q) else { break };
        let mut buf = Vec::new();
        for r in page.iter() {
            r.write_json(&mut buf, base_url, FieldSet::all());
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        if !page.info().has_next() {
            break;
        }
        page_no += 1;
    }
    f.flush()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sync: {e}");
            return ExitCode::from(2);
        }
    };
    let store = Store::new();
    if let Some(path) = &args.load {
        let records = match usage_store::server::load::read_records_file(path, &AtomicUsize::new(0))
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("sync: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = store.upsert_batch(&records) {
            eprintln!("sync: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!(
            "sync: {} local records from {}",
            store.len(),
            path.display()
        );
    }
    let client = Client::new(&args.url, args.token.clone()).page_size(args.page_size);
    let mut round = 0u64;
    let mut failed = false;
    loop {
        round += 1;
        let t0 = Instant::now();
        let result = sync(&client, &store, |got, total| {
            let total = total.map_or_else(|| "?".to_owned(), |t| t.to_string());
            eprint!("\rsync: fetched {got}/{total} records");
        });
        eprintln!();
        match result {
            Ok(report) => {
                print_report(&report);
                let failures = report.failures().count();
                println!(
                    "round {round}: {} local records, {} periods, {failures} failed, {:.2} s",
                    store.len(),
                    report.periods.len(),
                    t0.elapsed().as_secs_f64()
                );
                failed |= failures > 0;
            }
            Err(e) => {
                eprintln!("sync: {e}");
                failed = true;
            }
        }
        if let Some(path) = &args.save
            && let Err(e) = save(&store, path, &args.url)
        {
            eprintln!("sync: --save {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        match args.interval {
            Some(secs) if args.rounds.is_none_or(|n| round < n) => {
                std::thread::sleep(Duration::from_secs(secs))
            }
            _ => break,
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
