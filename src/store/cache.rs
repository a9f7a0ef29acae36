//! Data that queries derive from the indexes and keep until the next
//! write, shared by every reader: projects' sorted tails
//! ([`TailCache`]) and the kinds of a component type's bitmap containers
//! ([`DensityCache`]). Every write clears both (`Core::apply_write`,
//! `Core::remove_slot`, `Core::compact_bitmaps`).
//!
//! A project's records are a date-ordered prefix and a tail
//! (`Project::sorted_until`). Every write since the load that put a record
//! out of date order (a site agent's re-report re-dates the current
//! period's records; every report after that joins the tail too) lengthens
//! the tail, so sorting it per query would make the project's date-order
//! reads cost its tail's sort. The first query that needs a project's
//! tail sorts it and keeps it here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use hashbrown::HashMap;
use parking_lot::RwLock;

/// Sorted project tails, by project id: filled by reads, cleared by every
/// write.
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

/// The kind of each 65,536-slot chunk of a component type's bitmap: a
/// bitmap container (more than 4,096 values) or an array, by type id. An
/// entry is made empty (every chunk [`UNKNOWN`]) by the first query after
/// a write that needs the type, and each chunk's kind is found by the
/// first query that needs that chunk (one O(log containers) probe; at 10M
/// records a type has 153 chunks and a query needs a few): a relaxed
/// atomic store under the read lock, since racing readers store the same
/// value. Cleared by every write, like [`TailCache`].
///
/// Invariant (checked by `Core::validate`): an entry has one place per
/// chunk up to the type's last value, and each known place says whether
/// the type has more than 4,096 values there.
#[derive(Debug, Default)]
pub(crate) struct DensityCache(RwLock<HashMap<u32, Arc<[AtomicU8]>>>);

/// A chunk of a [`DensityCache`] entry not yet probed.
pub(crate) const UNKNOWN: u8 = 0;
/// A chunk held as an array container.
pub(crate) const ARRAY: u8 = 1;
/// A chunk held as a bitmap container.
pub(crate) const BITMAP: u8 = 2;

/// A clone starts empty, as [`TailCache`]'s.
impl Clone for DensityCache {
    fn clone(&self) -> DensityCache {
        DensityCache::default()
    }
}

impl DensityCache {
    /// Type `ty`'s chunk kinds (`chunks` places): cached, or made unknown
    /// and cached.
    pub(crate) fn get(&self, ty: u32, chunks: usize) -> Arc<[AtomicU8]> {
        if let Some(d) = self.0.read().get(&ty) {
            return Arc::clone(d);
        }
        let fresh: Arc<[AtomicU8]> = (0..chunks).map(|_| AtomicU8::new(UNKNOWN)).collect();
        Arc::clone(self.0.write().entry(ty).or_insert(fresh))
    }

    /// Forgets every entry (every write).
    pub(crate) fn clear(&mut self) {
        let map = self.0.get_mut();
        if !map.is_empty() {
            *map = HashMap::new();
        }
    }

    /// The cached entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<(u32, Vec<u8>)> {
        let map = self.0.read();
        map.iter()
            .map(|(&t, d)| (t, d.iter().map(|k| k.load(Ordering::Relaxed)).collect()))
            .collect()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let map = self.0.read();
        map.allocation_size() + map.values().map(|d| 16 + d.len()).sum::<usize>()
    }
}
