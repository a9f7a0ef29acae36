//! Bytes per record: the store with every index, measured by a counting
//! global allocator, beside the raw JSON size, a plain `Vec<Record>`, and
//! SQLite's `page_count × page_size` for the same data (the schema and
//! indexes of the benches, `benches/peers/sqlite.rs`).
//!
//! ```text
//! USAGE_BENCH_RECORDS=1000000 cargo run --release --example memory
//! USAGE_BENCH_RECORDS=10M cargo run --release --example memory
//! ```
//!
//! Live bytes count every allocation made through Rust's global allocator;
//! SQLite allocates with its own `malloc` calls, outside that count, so its
//! figure is the database size it reports.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use usage_store::Store;
use usage_store::demo::{Demo, DemoConfig};

#[path = "../benches/peers/mod.rs"]
mod peers;

/// The system allocator, counting live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed)
}

fn mib(b: usize) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let cfg = DemoConfig::from_env();
    let n = cfg.records;
    let per = |b: usize| b as f64 / n.max(1) as f64;
    println!("records: {n} (seed {})", cfg.seed);

    let base = live();
    let demo = Demo::new(cfg);

    // Raw JSON: the records as the API renders them, one array.
    let t = Instant::now();
    let json: usize = demo
        .records()
        .map(|r| r.to_json("https://waldur.example.com").len() + 1)
        .sum::<usize>()
        + 1;
    println!(
        "raw JSON (Record::to_json, base https://waldur.example.com): {:>8.1} bytes/record  ({:.1} MiB, {:.1?})",
        per(json),
        mib(json),
        t.elapsed()
    );

    // SQLite: the bench schema (one table + username dictionary), then its
    // indexes; loaded from the generator in chunks (one transaction each).
    // `USAGE_MEMORY_SQLITE=0` skips it (it takes minutes at 10M).
    if std::env::var("USAGE_MEMORY_SQLITE").as_deref() != Ok("0") {
        sqlite(&demo, n);
    }

    let before_vec = live();
    let records: Vec<_> = demo.records().collect();
    let vec_bytes = live() - before_vec;
    println!(
        "Vec<Record> (owned records, no index):                  {:>8.1} bytes/record  ({:.1} MiB)",
        per(vec_bytes),
        mib(vec_bytes)
    );

    // The store: live bytes after loading, with the records and the generator dropped.
    let before_store = live();
    PEAK.store(before_store, Relaxed);
    let t = Instant::now();
    let store = Store::new();
    store.upsert_batch(&records).expect("load");
    let took = t.elapsed();
    let loaded = live() - before_store;
    let peak = PEAK.load(Relaxed) - before_store;
    drop(records);
    drop(demo);
    let store_bytes = live() - base;
    println!(
        "usage_store, every index (live bytes):                  {:>8.1} bytes/record  ({:.1} MiB; {:.1} MiB right after the load; peak during the load +{:.1} MiB; one upsert_batch in {:.1?})",
        per(store_bytes),
        mib(store_bytes),
        mib(loaded),
        mib(peak),
        took
    );
    for (part, bytes) in store.heap_breakdown() {
        println!("  {part:<50} {:>8.1} bytes/record", per(bytes));
    }
    assert_eq!(store.len(), n);
}

fn sqlite(demo: &Demo, n: usize) {
    let per = |b: usize| b as f64 / n.max(1) as f64;
    let t = Instant::now();
    let db = peers::sqlite::Sqlite::new(false);
    let mut it = demo.records();
    loop {
        let chunk: Vec<_> = it.by_ref().take(100_000).collect();
        if chunk.is_empty() {
            break;
        }
        db.insert(&chunk);
    }
    drop(it);
    let table = db.bytes();
    db.create_indexes();
    db.analyze();
    let full = db.bytes();
    println!(
        "SQLite table only (page_count × page_size):             {:>8.1} bytes/record  ({:.1} MiB)",
        per(table as usize),
        mib(table as usize)
    );
    println!(
        "SQLite with the bench indexes (page_count × page_size): {:>8.1} bytes/record  ({:.1} MiB, loaded in {:.1?})",
        per(full as usize),
        mib(full as usize),
        t.elapsed()
    );
    drop(db);
}
