//! The store is shared across threads; readers never observe half a write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use usage_store::{Filter, Query, Record, Scope, Store};
use uuid::Uuid;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn store_is_send_and_sync() {
    assert_send_sync::<Store>();
}

/// Records that come and go in pairs: every write adds or removes two at once.
fn pair(round: u128) -> [Record; 2] {
    let mut a = Record::example();
    a.uuid = Uuid::from_u128(round * 2 + 1);
    a.username = format!("a{round}").into();
    a.usage = usage_store::Usage::from_cents(round as i64);
    let mut b = a.clone();
    b.uuid = Uuid::from_u128(round * 2 + 2);
    b.username = format!("b{round}").into();
    [a, b]
}

#[test]
fn readers_see_whole_writes_only() {
    let store = Arc::new(Store::new());
    let stop = Arc::new(AtomicBool::new(false));
    // Writes start once every reader has run a query, so that readers and
    // writers overlap however the threads are scheduled.
    let ready = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, stop, ready) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&ready));
            std::thread::spawn(move || {
                let q = Query::parse("type=cpu&o=-usage&page_size=300").unwrap();
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let txn = store.read();
                    let page = txn.query(&q).unwrap();
                    assert_eq!(page.count() % 2, 0, "a reader saw half a batch");
                    assert_eq!(page.len() as u64, page.count().min(300));
                    let info = txn.count(&q).unwrap();
                    assert_eq!(info.count, page.count(), "one transaction, one state");
                    seen += 1;
                    if seen == 1 {
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                }
                seen
            })
        })
        .collect();
    let example = Record::example();
    let slice = Filter::new()
        .resource_uuid(example.resource_uuid)
        .billing_period(example.billing_period);
    while ready.load(Ordering::Relaxed) < 2 {
        std::thread::yield_now();
    }
    for round in 0..300u128 {
        store.upsert_batch(&pair(round)).unwrap();
        if round % 3 == 2 {
            // Re-pull the slice keeping only this round's pair: removals and upserts at once.
            store.replace(&slice, &pair(round)).unwrap();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0, "each reader ran at least once");
    }
    store.validate().unwrap();
    assert_eq!(store.len() % 2, 0);
    assert!(
        store
            .get(Uuid::from_u128(599), &Scope::everything())
            .is_some()
    );
}
