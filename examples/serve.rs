//! `serve`: Waldur's `/api/marketplace-component-user-usages/` over HTTP,
//! from memory.
//!
//! ```text
//! cargo run --release --example serve -- [--addr 127.0.0.1:8000] [--base-url URL]
//!     [--load FILE | --demo N [--seed S]] [--tokens FILE] [--dump FILE]
//! ```
//!
//! See the README's "Server" section and `usage_store::server` for the
//! endpoints, the token file and the error bodies.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use usage_store::demo::{Demo, DemoConfig};
use usage_store::server::{self, Config, Tokens};
use usage_store::{Record, Store};

const USAGE: &str = "\
usage: serve [options]

  --addr ADDR        listen address (default 127.0.0.1:8000; port 0 picks a free port)
  --base-url URL     prefix of URLs in records and Link headers
                     (default http://localhost:<port>, i.e. http://localhost:8000)
  --load FILE        records file: a JSON array in Waldur's list format, or JSON Lines;
                     applied in file order as one batch
  --demo N           generate N realistic records (default when --load is absent: 1000000)
  --seed S           demo seed (default 42)
  --tokens FILE      token file: {\"<token>\": \"staff\" | \"support\" |
                     {\"customers\": [uuid...], \"projects\": [...], \"offerings\": [...]}}
                     (without it: no authentication)
  --dump FILE        also write the loaded records, in load order, as JSON Lines
  -h, --help         this text
";

struct Args {
    addr: SocketAddr,
    base_url: Option<String>,
    load: Option<PathBuf>,
    demo: usize,
    seed: u64,
    tokens: Option<PathBuf>,
    dump: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        addr: "127.0.0.1:8000".parse().map_err(|e| format!("{e}"))?,
        base_url: None,
        load: None,
        demo: 1_000_000,
        seed: 42,
        tokens: None,
        dump: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (flag.clone(), None),
        };
        if name == "-h" || name == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--addr" => a.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--base-url" => a.base_url = Some(value()?),
            "--load" => a.load = Some(value()?.into()),
            "--demo" => {
                a.demo = parse_count(&value()?).ok_or("--demo: expected a number of records")?
            }
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--tokens" => a.tokens = Some(value()?.into()),
            "--dump" => a.dump = Some(value()?.into()),
            _ => return Err(format!("unknown argument {flag:?}\n\n{USAGE}")),
        }
    }
    Ok(a)
}

/// `1000000`, `1_000_000` or `1,000,000`.
fn parse_count(s: &str) -> Option<usize> {
    s.replace(['_', ','], "").parse().ok()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A live `records, records/s` line on stderr while a phase runs (redrawn
/// in place on a terminal), and a summary line when it ends. With a fixed
/// `total` (a phase that cannot count as it goes) the line shows the total
/// and the elapsed time only.
struct Progress {
    count: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    start: Instant,
    what: &'static str,
}

impl Progress {
    fn start(what: &'static str, total: Option<usize>) -> Progress {
        let count = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let thread = std::io::stderr().is_terminal().then(|| {
            let (count, done) = (count.clone(), done.clone());
            std::thread::spawn(move || {
                let spin = ['|', '/', '-', '\\'];
                let mut i = 0;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    let secs = start.elapsed().as_secs_f64();
                    let line = match total {
                        Some(t) => format!("{what} {} records, {secs:.1} s", thousands(t as u64)),
                        None => {
                            let n = count.load(Ordering::Relaxed) as u64;
                            let rate = (n as f64 / secs.max(1e-9)) as u64;
                            format!(
                                "{what}: {} records, {}/s, {secs:.1} s",
                                thousands(n),
                                thousands(rate)
                            )
                        }
                    };
                    eprint!("\r{} {line}   ", spin[i % 4]);
                    let _ = std::io::stderr().flush();
                    i += 1;
                }
            })
        });
        Progress {
            count,
            done,
            thread,
            start,
            what,
        }
    }

    fn finish(mut self, n: usize) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            eprint!("\r\x1b[2K");
        }
        let secs = self.start.elapsed().as_secs_f64();
        eprintln!(
            "{}: {} records in {secs:.2} s ({} records/s)",
            self.what,
            thousands(n as u64),
            thousands((n as f64 / secs.max(1e-9)) as u64)
        );
    }
}

/// Resident set size from `/proc/self/statm`, in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn load(args: &Args) -> Result<Vec<Record>, String> {
    if let Some(path) = &args.load {
        let p = Progress::start("parsing", None);
        let records = server::load::read_records_file(path, &p.count).map_err(|e| e.to_string())?;
        p.finish(records.len());
        Ok(records)
    } else {
        let p = Progress::start("generating demo data", None);
        let demo = Demo::new(DemoConfig {
            records: args.demo,
            seed: args.seed,
        });
        let mut records = Vec::with_capacity(args.demo);
        for r in demo.records() {
            records.push(r);
            if records.len().is_multiple_of(4096) {
                p.count.store(records.len(), Ordering::Relaxed);
            }
        }
        p.finish(records.len());
        Ok(records)
    }
}

fn dump(path: &PathBuf, records: &[Record], base_url: &str) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = Vec::with_capacity(1024);
    for r in records {
        buf.clear();
        r.write_json(&mut buf, base_url, usage_store::FieldSet::all());
        buf.push(b'\n');
        f.write_all(&buf)?;
    }
    f.flush()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("serve: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();

    let tokens = match &args.tokens {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Tokens::from_json(&t).map_err(|e| e.to_string()))
        {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("serve: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
    };

    // Bind first: a busy port fails before the load, not after it.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match runtime.block_on(tokio::net::TcpListener::bind(args.addr)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("serve: cannot listen on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(args.addr);
    let base_url = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", local.port()));

    let records = match load(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("serve: {e}");
            eprintln!("serve: not started");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.dump
        && let Err(e) = dump(path, &records, &base_url)
    {
        eprintln!("serve: --dump {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let store = Arc::new(Store::new());
    let p = Progress::start("indexing", Some(records.len()));
    if let Err(e) = store.upsert_batch(&records) {
        p.finish(0);
        let origin = args
            .load
            .as_ref()
            .map_or_else(|| "demo data".to_owned(), |p| p.display().to_string());
        eprintln!("serve: {origin}: {e}");
        eprintln!("serve: not started");
        return ExitCode::FAILURE;
    }
    p.finish(records.len());
    drop(records);
    trim_heap();

    if tokens.is_none() && !local.ip().is_loopback() {
        eprintln!(
            "serve: WARNING: no --tokens: anyone who reaches {local} can read and write every record"
        );
    }
    let mut config = Config::new(&base_url);
    if let Some(t) = tokens {
        eprintln!(
            "serve: {} tokens; every request needs Authorization: Token <token>",
            t.len()
        );
        config = config.with_tokens(t);
    }
    let app = server::router(store.clone(), config);
    println!(
        "serve: {} records, RSS {} MiB, ready in {:.1} s; listening on http://{local}{} (base URL {base_url})",
        thousands(store.len() as u64),
        rss_bytes().map_or_else(|| "?".into(), |b| thousands(b >> 20)),
        started.elapsed().as_secs_f64(),
        server::LIST_PATH,
    );
    let _ = std::io::stdout().flush();
    let result = runtime.block_on(server::serve(listener, app, async {
        server::shutdown_signal().await;
        eprintln!("serve: shutting down");
    }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Returns the memory freed after loading to the OS, so that the RSS shown
/// is the store's and not the parser's (glibc keeps freed memory otherwise).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_heap() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim only releases free heap pages; any pad is valid.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}
