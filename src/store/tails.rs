//! Projects' tails in report-date order, sorted once between writes.
//!
//! A project's records are a date-ordered prefix and a tail
//! (`Project::sorted_until`). Every write since the load that put a record
//! out of date order (a site agent's re-report re-dates the current
//! period's records; every report after that joins the tail too) lengthens
//! the tail, so sorting it per query would make the project's date-order
//! reads cost its tail's sort. The first query that needs a project's
//! tail sorts it and keeps it here, shared by every reader, until the next
//! write clears the cache.

use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::RwLock;

/// Sorted project tails, by project id: filled by reads, cleared by every
/// write (`Core::apply_write`, `Core::remove_slot`, `Store::shrink_to_fit`).
///
/// Invariant (checked by `Core::validate`): an entry is its live project's
/// tail, the project's records from slot `sorted_until` on, in the reverse
/// of the default order (`Tables::tail_key`): by report date, so searchable
/// by date, and a page within it needs no sort.
#[derive(Debug, Default)]
pub(crate) struct TailCache(RwLock<HashMap<u32, Arc<[u32]>>>);

/// A clone starts empty: an entry is only a saving, never state.
impl Clone for TailCache {
    fn clone(&self) -> TailCache {
        TailCache::default()
    }
}

impl TailCache {
    /// Project `p`'s sorted tail: cached, or made by `sort` and cached.
    /// Readers that race on a missing entry each sort; the first insert wins.
    pub(crate) fn get_or_sort(&self, p: u32, sort: impl FnOnce() -> Vec<u32>) -> Arc<[u32]> {
        if let Some(t) = self.0.read().get(&p) {
            return Arc::clone(t);
        }
        let sorted: Arc<[u32]> = sort().into();
        Arc::clone(self.0.write().entry(p).or_insert(sorted))
    }

    /// Forgets every entry: called by every write, which may move records
    /// between prefix and tail or re-date them.
    pub(crate) fn clear(&mut self) {
        let map = self.0.get_mut();
        if !map.is_empty() {
            *map = HashMap::new();
        }
    }

    /// The cached entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<(u32, Arc<[u32]>)> {
        let map = self.0.read();
        map.iter().map(|(&p, t)| (p, Arc::clone(t))).collect()
    }

    /// Heap bytes held (the map and the tails).
    pub(crate) fn heap_bytes(&self) -> usize {
        let map = self.0.read();
        map.allocation_size() + map.values().map(|t| 16 + 4 * t.len()).sum::<usize>()
    }
}
