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
#[derive(Clone, Debug, Default)]
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

/// A set of slots marked one at a time in no particular order: a bulk
/// write's dirty slots per view ([`Deferred`](crate::store::core::Deferred)),
/// as [`SlotBits`] grown to the largest mark. A roaring insert per mark,
/// at random places, cost 5.5 ms for a re-report's 106,837 marks at 1M
/// records (a micro-bench; the row updates took 11.4-12.3 ms with them,
/// 8.8-9.8 ms with bits, a scratch harness); the flush then reads the
/// marks in slot order and tests them with a load each, where it built a
/// bit set from the bitmap. A bulk write marks at least 1/256 of the
/// store, and its flush passes over whole views, so the bits' size (an
/// eighth of a byte per slot) is in proportion.
#[derive(Clone, Debug, Default)]
pub(crate) struct Marks {
    bits: SlotBits,
    len: usize,
}

impl Marks {
    /// Adds `s`, perhaps again. O(1) amortised.
    #[inline]
    pub(crate) fn insert(&mut self, s: u32) {
        let words = s as usize / 64 + 1;
        if words > self.bits.0.len() {
            self.bits.0.resize(words, 0);
        }
        self.len += usize::from(self.bits.insert(s));
    }

    /// Adds every slot of `other`. O(other's bits).
    pub(crate) fn union_with(&mut self, other: &Marks) {
        let (mine, theirs) = (&mut self.bits.0, &other.bits.0);
        if theirs.len() > mine.len() {
            mine.resize(theirs.len(), 0);
        }
        for (w, o) in mine.iter_mut().zip(theirs) {
            *w |= o;
        }
        self.len = mine.iter().map(|w| w.count_ones() as usize).sum();
    }

    /// Number of slots marked. O(1).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub(crate) fn contains(&self, s: u32) -> bool {
        self.bits.contains(s)
    }

    /// The marked slots in increasing order. O(largest mark / 64 + marks).
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.0.iter().enumerate().flat_map(|(i, &w)| {
            let base = (i * 64) as u32;
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let t = w.trailing_zeros();
                    w &= w - 1;
                    base + t
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Marks;

    #[test]
    fn marks_are_a_set() {
        let mut m = Marks::default();
        let mut model = std::collections::BTreeSet::new();
        let mut x: u64 = 7;
        for _ in 0..5_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Small and large slots, repeats, word edges.
            let s = match x >> 62 {
                0 => (x >> 32) as u32 % 200,
                1 => 63 + (x >> 40) as u32 % 3,
                _ => (x >> 40) as u32 % 100_000,
            };
            m.insert(s);
            model.insert(s);
        }
        assert_eq!(m.len(), model.len());
        assert!(m.iter().eq(model.iter().copied()));
        assert!((0..100_100).all(|s| m.contains(s) == model.contains(&s)));
        let mut other = Marks::default();
        for s in [5, 64, 127, 128, 250_000] {
            other.insert(s);
            model.insert(s);
        }
        m.union_with(&other);
        assert_eq!(m.len(), model.len());
        assert!(m.iter().eq(model.iter().copied()));
        assert!(Marks::default().iter().next().is_none());
        assert!(Marks::default().is_empty());
    }
}
