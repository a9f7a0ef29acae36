//! Hash indexes that store only slots: the key is read back from the arena,
//! so an entry costs 4 bytes (plus a control byte) instead of key + slot.

use hashbrown::HashTable;
use roaring::RoaringBitmap;

/// A set of slots findable by a hash of their key.
#[derive(Clone, Debug, Default)]
pub(crate) struct SlotIndex {
    table: HashTable<u32>,
}

impl SlotIndex {
    /// The slot with this key hash for which `eq` holds.
    pub(crate) fn find(&self, hash: u64, eq: impl Fn(u32) -> bool) -> Option<u32> {
        self.table.find(hash, |&s| eq(s)).copied()
    }

    /// Adds a slot whose key is not present; `rehash` gives any stored slot's hash.
    pub(crate) fn insert(&mut self, hash: u64, slot: u32, rehash: impl Fn(u32) -> u64) {
        self.table.insert_unique(hash, slot, |&s| rehash(s));
    }

    /// Removes a slot stored under `hash`; false when it is not there.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        match self.table.find_entry(hash, |&s| s == slot) {
            Ok(e) => {
                e.remove();
                true
            }
            Err(_) => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.table.iter().copied()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.allocation_size()
    }
}

/// A set of slots (or of other dense ids: a username search's names,
/// [`Found`](super::dict::Found)) as a bit per id, for a pass over a
/// whole view that tests every record: a test is one load, where a
/// bitmap lookup searched its containers (`type=cpu` by username at 1M
/// records: 10.3 ms with lookups, 4.2 ms with bits; a view's removal of
/// a 1% re-report's slots, whose bitmap is arrays: 18 ms with lookups,
/// 1.2 ms with bits). 125 KB at 1M records, made per pass.
#[derive(Clone, Debug)]
pub(crate) struct SlotBits(Vec<u64>);

impl SlotBits {
    /// The set `b`. O(|b| + max / 64).
    pub(crate) fn of(b: &RoaringBitmap) -> SlotBits {
        let mut bits = vec![0u64; b.max().map_or(0, |m| m as usize / 64 + 1)];
        for s in b {
            bits[s as usize / 64] |= 1 << (s % 64);
        }
        SlotBits(bits)
    }

    /// No slot, with room for slots below `end`. O(end / 64).
    pub(crate) fn below(end: usize) -> SlotBits {
        SlotBits(vec![0u64; end.div_ceil(64)])
    }

    /// Adds `s` (below the `end` it was made with); false if it was there.
    #[inline]
    pub(crate) fn insert(&mut self, s: u32) -> bool {
        let (w, bit) = (&mut self.0[s as usize / 64], 1 << (s % 64));
        let new = *w & bit == 0;
        *w |= bit;
        new
    }

    #[inline]
    pub(crate) fn contains(&self, s: u32) -> bool {
        (self.0.get(s as usize / 64)).is_some_and(|w| w & (1 << (s % 64)) != 0)
    }
}
