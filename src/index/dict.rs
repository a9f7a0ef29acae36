//! String dictionaries: each distinct string stored once under a dense id,
//! with a payload (a bitmap of record slots, or a reference count).
//!
//! [`Usernames`] adds the `icontains` search of SPEC §2.1: one buffer of the
//! Unicode-lowercased names (`str::to_lowercase`, as Python's `str.lower`,
//! final sigma included), NUL-separated, searched with `memchr::memmem`,
//! so a substring filter costs a scan of the distinct names, never of the records.

use std::hash::BuildHasher;
use std::sync::Arc;

use super::slots::SlotBits;

use compact_str::CompactString;
use hashbrown::HashTable;
use memchr::memmem;
use roaring::RoaringBitmap;

/// Distinct strings under dense, reusable ids. Each string is stored once,
/// in its entry: the hash index holds ids and reads the string back.
#[derive(Clone, Debug)]
pub(crate) struct Dict<P> {
    ids: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    entries: Vec<Option<(CompactString, P)>>,
    free: Vec<u32>,
}

impl<P> Default for Dict<P> {
    fn default() -> Self {
        Dict {
            ids: HashTable::new(),
            hasher: Default::default(),
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<P> Dict<P> {
    pub(crate) fn id(&self, s: &str) -> Option<u32> {
        let h = self.hasher.hash_one(s);
        self.ids.find(h, |&id| self.str(id) == s).copied()
    }

    /// The id of `s`, inserting it with `payload()` when new; the bool says whether it was new.
    pub(crate) fn intern(&mut self, s: &str, payload: impl FnOnce() -> P) -> (u32, bool) {
        if let Some(id) = self.id(s) {
            return (id, false);
        }
        let e = Some((CompactString::from(s), payload()));
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = e;
                id
            }
            None => {
                self.entries.push(e);
                u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 strings")
            }
        };
        let (entries, hasher) = (&self.entries, &self.hasher);
        let h = self.hasher.hash_one(s);
        self.ids
            .insert_unique(h, id, |&i| rehash(hasher, entries, i));
        (id, true)
    }

    #[inline]
    pub(crate) fn str(&self, id: u32) -> &str {
        self.string(id)
    }

    /// The string of `id` as stored: an owned copy of a short one is a
    /// 24-byte copy, where building it from a `&str` copies a variable
    /// length.
    #[inline]
    pub(crate) fn string(&self, id: u32) -> &CompactString {
        &self.entries[id as usize]
            .as_ref()
            .expect("live dictionary id")
            .0
    }

    pub(crate) fn payload(&self, id: u32) -> &P {
        &self.entries[id as usize]
            .as_ref()
            .expect("live dictionary id")
            .1
    }

    pub(crate) fn payload_mut(&mut self, id: u32) -> &mut P {
        &mut self.entries[id as usize]
            .as_mut()
            .expect("live dictionary id")
            .1
    }

    /// Every live entry's payload, mutably.
    pub(crate) fn payloads_mut(&mut self) -> impl Iterator<Item = &mut P> {
        self.entries.iter_mut().flatten().map(|(_, p)| p)
    }

    pub(crate) fn remove(&mut self, id: u32) {
        if let Some((s, _)) = &self.entries[id as usize] {
            let h = self.hasher.hash_one(&**s);
            if let Ok(e) = self.ids.find_entry(h, |&i| i == id) {
                e.remove();
            }
            self.entries[id as usize] = None;
            self.free.push(id);
        }
    }

    pub(crate) fn is_live(&self, id: u32) -> bool {
        self.entries.get(id as usize).is_some_and(Option::is_some)
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// One more than the largest id ever given out.
    pub(crate) fn id_bound(&self) -> usize {
        self.entries.len()
    }

    /// Each id's place among the live strings in code-point order, by id
    /// (`free` for free ids), and the live ids in that order: how orders
    /// by type or username compare integers instead of strings.
    /// O(strings log strings).
    pub(crate) fn ranks(&self, free: u32) -> (Vec<u32>, Vec<u32>) {
        let mut ids: Vec<(&str, u32)> = self.iter().map(|(id, s, _)| (s, id)).collect();
        ids.sort_unstable();
        let mut rank = vec![free; self.id_bound()];
        for (i, &(_, id)) in ids.iter().enumerate() {
            rank[id as usize] = i as u32;
        }
        (rank, ids.into_iter().map(|(_, id)| id).collect())
    }

    /// `(id, string, payload)` of every live entry.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &str, &P)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|(s, p)| (i as u32, &**s, p)))
    }

    /// Gives back the spare capacity the entries grew by.
    pub(crate) fn shrink_to_fit(&mut self) {
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.ids.shrink_to_fit(|&i| rehash(hasher, entries, i));
        self.entries.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    /// Heap bytes of the index, the entries and their strings (payloads' own
    /// heap not included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.allocation_size()
            + self.entries.capacity() * std::mem::size_of::<Option<(CompactString, P)>>()
            + self.free.capacity() * 4
            + self
                .entries
                .iter()
                .flatten()
                .filter(|(s, _)| s.is_heap_allocated())
                .map(|(s, _)| s.capacity())
                .sum::<usize>()
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        if self.ids.len() != self.entries.iter().filter(|e| e.is_some()).count() {
            return Err("dictionary: map and entries disagree in size".into());
        }
        for &id in &self.ids {
            if !self.is_live(id) {
                return Err(format!("dictionary: index holds a free id {id}"));
            }
        }
        for (id, s, _) in self.iter() {
            if self.id(s) != Some(id) {
                return Err(format!("dictionary: {s:?} is not found under its id {id}"));
            }
        }
        Ok(())
    }
}

/// The hash of stored string `id`, as [`Dict::id`] hashes a lookup's.
fn rehash<P>(
    hasher: &hashbrown::DefaultHashBuilder,
    entries: &[Option<(CompactString, P)>],
    id: u32,
) -> u64 {
    let (s, _) = entries[id as usize].as_ref().expect("indexed ids are live");
    hasher.hash_one(s.as_str())
}

/// The username dictionary: per name the bitmap of its records, plus the
/// lowercase search buffer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Usernames {
    pub(crate) dict: Dict<RoaringBitmap>,
    /// Lowercased names, each followed by a NUL byte.
    lower: String,
    /// `(offset in lower, id)` of each segment, by offset; stale segments
    /// (of removed names) stay until compaction and are recognised by `seg_of`.
    starts: Vec<(u32, u32)>,
    /// Current segment offset of each id (`u32::MAX` when none).
    seg_of: Vec<u32>,
    /// Bytes of stale segments.
    dead: usize,
    /// Answers of [`Usernames::search`] by needle, each updated by every
    /// name added or removed.
    found: SearchCache,
    /// The names' ranks, once a query needed them ([`Usernames::rank_table`]).
    ranks: UserRanks,
    /// Each name's number of records, by id (0 for free ids): a username
    /// filter's count is the sum over its names, where each name's
    /// bitmap counted its containers (`username=ann&o=username` at 1M
    /// records, 1,365 names: most of a 10 µs query, with the names' set
    /// of bits made per query). Invariant (checked by
    /// [`Usernames::check`]): `counts[id]` is the length of `id`'s bitmap.
    counts: Vec<u32>,
}

/// Every username's rank in the `username` ordering, by id, and the names
/// in that order: made by the first query that needs them, then kept, and
/// updated in place by each name added or removed. A page of a few
/// thousand matches ordered by username ranked their names per query
/// (sorting the distinct names, a buffer of every id): a project's 1,291
/// records at 1M spent most of 19 µs on it. Ranking them again after each
/// new name sorted every name: the first `username=ann&o=username` after
/// one took 1.4 ms at 1M records, where the update shifts the ranks after
/// the name's place (O(names), no string compared but a binary search's).
///
/// Invariant (checked by [`Usernames::check`]): when kept, the table is
/// [`Usernames::ranks`].
#[derive(Debug, Default)]
struct UserRanks(parking_lot::RwLock<Option<Arc<RankTable>>>);

/// A clone starts empty, as a [`SearchCache`].
impl Clone for UserRanks {
    fn clone(&self) -> UserRanks {
        UserRanks::default()
    }
}

/// What [`Usernames::rank_table`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RankTable {
    /// Each username id's rank (0 for free ids).
    pub(crate) rank: Vec<u32>,
    /// The live ids by rank.
    pub(crate) order: Vec<u32>,
}

/// Kept answers of [`Usernames::search`]: a paged username filter sends
/// the same needle page after page, and each search scans every distinct
/// name (half of `username=ann&o=username` at 1M records: 24 of 43 µs).
/// At most [`SEARCH_CACHE_MAX`] needles and [`SEARCH_CACHE_IDS`] ids;
/// then it starts over.
#[derive(Debug, Default)]
struct SearchCache(parking_lot::RwLock<hashbrown::HashMap<Box<str>, Kept>>);

/// A [`SearchCache`] entry: the needle lowercased (what a new name is
/// tested against) and its answer.
#[derive(Debug)]
struct Kept {
    lower: Box<str>,
    found: Found,
}

/// The answer of [`Usernames::search`]: the ids of the names that contain
/// the needle, ascending, and the same ids as a bit per id (a record's
/// test is then one load). Clones share both.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) ids: Arc<[u32]>,
    pub(crate) bits: Arc<SlotBits>,
}

impl Found {
    fn new(ids: Vec<u32>) -> Found {
        let mut bits = SlotBits::below(ids.last().map_or(0, |&m| m as usize + 1));
        for &id in &ids {
            bits.insert(id);
        }
        Found {
            ids: ids.into(),
            bits: Arc::new(bits),
        }
    }
}

/// Needles a [`SearchCache`] keeps.
const SEARCH_CACHE_MAX: usize = 256;

/// Ids a [`SearchCache`] keeps in all (4 MiB): a needle of one letter
/// matches most names.
const SEARCH_CACHE_IDS: usize = 1 << 20;

/// A clone starts empty: an entry is only a saving, never state.
impl Clone for SearchCache {
    fn clone(&self) -> SearchCache {
        SearchCache::default()
    }
}

impl Usernames {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        let (id, new) = self.dict.intern(name, RoaringBitmap::new);
        if new {
            self.append(id, name);
            self.name_added(id);
        }
        id
    }

    /// Name `id` was added: each kept answer whose needle it contains
    /// gains it, and the kept ranks after its place move up by one.
    /// O(kept needles + kept ids of its needles + names).
    fn name_added(&mut self, id: u32) {
        let name = self.dict.string(id);
        let lower = name.to_lowercase();
        let answers = self.found.0.get_mut();
        let mut kept = 0;
        for Kept {
            lower: needle,
            found,
        } in answers.values_mut()
        {
            // `scan`'s test of one name.
            if lower.contains(&**needle) {
                let ids = &found.ids;
                let at = ids.partition_point(|&i| i < id);
                *found = Found::new(
                    (ids[..at].iter())
                        .chain(std::iter::once(&id))
                        .chain(&ids[at..])
                        .copied()
                        .collect(),
                );
            }
            kept += found.ids.len();
        }
        if kept > SEARCH_CACHE_IDS {
            answers.clear();
        }
        if let Some(table) = self.ranks.0.get_mut() {
            // Nobody else holds the table during a write (readers hold it
            // only within a query): no copy.
            let t = Arc::make_mut(table);
            let at = t.order.partition_point(|&i| self.dict.string(i) < name);
            t.order.insert(at, id);
            if t.rank.len() < self.dict.id_bound() {
                t.rank.resize(self.dict.id_bound(), 0);
            }
            for (r, &i) in t.order.iter().enumerate().skip(at) {
                t.rank[i as usize] = r as u32;
            }
        }
    }

    /// Name `id` is gone: the kept answers lose it, and the kept ranks
    /// after its place move down by one. O(kept ids + names).
    fn name_removed(&mut self, id: u32) {
        for Kept { found, .. } in self.found.0.get_mut().values_mut() {
            let ids = &found.ids;
            if let Ok(at) = ids.binary_search(&id) {
                *found = Found::new(ids[..at].iter().chain(&ids[at + 1..]).copied().collect());
            }
        }
        let ranks = self.ranks.0.get_mut();
        // (A kept table holds every live name at its rank; one that did not
        // would be dropped here rather than shift the wrong names.)
        let at = (ranks.as_ref()).and_then(|t| {
            let at = *t.rank.get(id as usize)? as usize;
            (t.order.get(at) == Some(&id)).then_some(at)
        });
        if at.is_none() {
            *ranks = None;
        }
        if let (Some(table), Some(at)) = (ranks.as_mut(), at) {
            let t = Arc::make_mut(table);
            t.order.remove(at);
            t.rank[id as usize] = 0;
            for (r, &i) in t.order.iter().enumerate().skip(at) {
                t.rank[i as usize] = r as u32;
            }
        }
    }

    /// [`Dict::ranks`] of the names (the `username` ordering), 0 for free
    /// ids.
    pub(crate) fn ranks(&self) -> RankTable {
        let (rank, order) = self.dict.ranks(0);
        RankTable { rank, order }
    }

    /// The names' ranks ([`UserRanks`]): kept, or made and kept
    /// (O(names log names)).
    pub(crate) fn rank_table(&self) -> Arc<RankTable> {
        if let Some(table) = &*self.ranks.0.read() {
            return Arc::clone(table);
        }
        let table = Arc::new(self.ranks());
        *self.ranks.0.write() = Some(Arc::clone(&table));
        table
    }

    /// Heap bytes of the kept ranks.
    pub(crate) fn ranks_heap_bytes(&self) -> usize {
        (self.ranks.0.read().as_ref())
            .map_or(0, |t| 16 + 4 * (t.rank.capacity() + t.order.capacity()))
    }

    fn append(&mut self, id: u32, name: &str) {
        let off = u32::try_from(self.lower.len()).expect("username buffer under 4 GiB");
        self.lower.push_str(&name.to_lowercase());
        self.lower.push('\0');
        self.starts.push((off, id));
        if self.seg_of.len() <= id as usize {
            self.seg_of.resize(id as usize + 1, u32::MAX);
        }
        self.seg_of[id as usize] = off;
    }

    /// Heap bytes of the dictionary, the search buffer and the kept
    /// answers (bitmaps not included).
    pub(crate) fn heap_bytes(&self) -> usize {
        let found = self.found.0.read();
        self.dict.heap_bytes()
            + self.lower.capacity()
            + self.starts.capacity() * 8
            + self.seg_of.capacity() * 4
            + self.counts.capacity() * 4
            + found.allocation_size()
            + (found.iter())
                .map(|(k, v)| {
                    let bits = v.found.ids.last().map_or(0, |&m| m as usize / 64 * 8 + 8);
                    k.len() + v.lower.len() + 48 + 4 * v.found.ids.len() + bits
                })
                .sum::<usize>()
    }

    /// Gives back the spare capacity the names' lists grew by (a load
    /// interns every name one at a time).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.dict.shrink_to_fit();
        self.lower.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.seg_of.shrink_to_fit();
        self.counts.shrink_to_fit();
    }

    /// Adds record `slot` to name `id`'s bitmap and count.
    pub(crate) fn add_slot(&mut self, id: u32, slot: u32) {
        if self.dict.payload_mut(id).insert(slot) {
            if self.counts.len() <= id as usize {
                self.counts.resize(id as usize + 1, 0);
            }
            self.counts[id as usize] += 1;
        }
    }

    /// Takes record `slot` out of name `id`'s bitmap and count.
    pub(crate) fn remove_slot(&mut self, id: u32, slot: u32) {
        if self.dict.payload_mut(id).remove(slot) {
            self.counts[id as usize] -= 1;
        }
    }

    /// Name `id`'s number of records: its bitmap's length, kept. O(1).
    #[inline]
    pub(crate) fn count(&self, id: u32) -> u64 {
        u64::from(self.counts.get(id as usize).copied().unwrap_or(0))
    }

    pub(crate) fn remove(&mut self, id: u32) {
        let off = self.seg_of[id as usize];
        let end = self.lower[off as usize..]
            .find('\0')
            .map_or(self.lower.len(), |e| off as usize + e + 1);
        self.dead += end - off as usize;
        self.seg_of[id as usize] = u32::MAX;
        if let Some(c) = self.counts.get_mut(id as usize) {
            *c = 0;
        }
        self.dict.remove(id);
        self.name_removed(id);
        if self.dead > 4096 && self.dead * 2 > self.lower.len() {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let live: Vec<(u32, Box<str>)> =
            self.dict.iter().map(|(id, s, _)| (id, s.into())).collect();
        self.lower.clear();
        self.starts.clear();
        self.seg_of.iter_mut().for_each(|o| *o = u32::MAX);
        self.dead = 0;
        for (id, s) in live {
            self.append(id, &s);
        }
    }

    /// Ids of the names that contain `needle` after Unicode lowercasing both
    /// sides (upstream `icontains`; `%` and `_` are ordinary characters),
    /// ascending ([`Found`]). O(1) when kept, else O(the names' bytes).
    pub(crate) fn search(&self, needle: &str) -> Found {
        if let Some(kept) = self.found.0.read().get(needle) {
            return kept.found.clone();
        }
        let answer = Found::new(self.scan(needle));
        let mut found = self.found.0.write();
        let kept: usize = found.values().map(|k| k.found.ids.len()).sum();
        if found.len() >= SEARCH_CACHE_MAX || kept + answer.ids.len() > SEARCH_CACHE_IDS {
            found.clear();
        }
        let lower = needle.to_lowercase().into();
        found.insert(
            needle.into(),
            Kept {
                lower,
                found: answer.clone(),
            },
        );
        answer
    }

    /// [`Usernames::search`] without the kept answers.
    fn scan(&self, needle: &str) -> Vec<u32> {
        let needle = needle.to_lowercase();
        if needle.contains('\0') {
            // The separator would let a match span two names: test each name alone.
            return self
                .dict
                .iter()
                .filter(|(_, s, _)| s.to_lowercase().contains(&needle))
                .map(|(id, _, _)| id)
                .collect();
        }
        // Matches come in buffer order, so the segment cursor only moves
        // forward (galloping from the last one); one scan of the buffer
        // finds them all, and a name matched twice is reported once.
        let hay = self.lower.as_bytes();
        let finder = memmem::Finder::new(needle.as_bytes());
        let mut found: Vec<u32> = Vec::new();
        let mut seg = 0usize;
        let mut last = usize::MAX;
        for pos in finder.find_iter(hay) {
            let mut step = 1;
            while seg + step < self.starts.len() && self.starts[seg + step].0 as usize <= pos {
                seg += step;
                step *= 2;
            }
            let end = (seg + step).min(self.starts.len());
            seg += self.starts[seg..end].partition_point(|&(off, _)| off as usize <= pos) - 1;
            if seg == last {
                continue;
            }
            last = seg;
            let (off, id) = self.starts[seg];
            if self.seg_of.get(id as usize) == Some(&off) {
                found.push(id);
            }
        }
        // Buffer order is not id order (removed names are re-appended).
        found.sort_unstable();
        found
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        self.dict.check()?;
        for (id, s, rows) in self.dict.iter() {
            if rows.is_empty() {
                return Err(format!("username {s:?} has no record"));
            }
            if self.count(id) != rows.len() {
                return Err(format!(
                    "username {s:?}: {} records counted, {} in its bitmap",
                    self.count(id),
                    rows.len()
                ));
            }
            let off = self.seg_of[id as usize] as usize;
            let lower = s.to_lowercase();
            if self.lower.get(off..off + lower.len()) != Some(lower.as_str()) {
                return Err(format!("username {s:?}: search buffer out of date"));
            }
        }
        for (needle, Kept { lower, found }) in self.found.0.read().iter() {
            let bits_agree = (0..self.dict.id_bound() as u32)
                .all(|id| found.bits.contains(id) == found.ids.binary_search(&id).is_ok());
            if *found.ids != self.scan(needle)[..]
                || !bits_agree
                || **lower != needle.to_lowercase()
            {
                return Err(format!(
                    "username search {needle:?}: kept answer out of date"
                ));
            }
        }
        if let Some(table) = &*self.ranks.0.read()
            && **table != self.ranks()
        {
            return Err("username ranks kept are not the names' order".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icontains_search() {
        let mut u = Usernames::default();
        let ann = u.intern("Ann_Smith");
        let joanna = u.intern("JOANNA");
        let pct = u.intern("50%off");
        let e = u.intern("Élodie");
        // Each answer is checked against a fresh scan: a kept answer
        // outliving a name added or removed fails here.
        fn ids(u: &Usernames, n: &str) -> Vec<u32> {
            let ids = u.search(n).ids.to_vec();
            assert_eq!(ids, u.scan(n), "{n:?}: kept answer differs");
            ids
        }
        assert_eq!(ids(&u, "ann"), vec![ann, joanna]);
        assert_eq!(ids(&u, "N_s"), vec![ann]);
        assert_eq!(ids(&u, "%"), vec![pct]);
        assert_eq!(ids(&u, "_"), vec![ann]);
        assert_eq!(ids(&u, "éLO"), vec![e]);
        assert_eq!(ids(&u, "xyz"), Vec::<u32>::new());
        // The same needle again, the names unchanged: the kept answer.
        assert!(Arc::ptr_eq(&u.search("ann").ids, &u.search("ann").ids));
        u.remove(joanna);
        assert_eq!(ids(&u, "ann"), vec![ann]);
        let j2 = u.intern("hannah");
        assert_eq!(ids(&u, "ann"), vec![ann, j2]);
        assert!(ids(&u, "a\0b").is_empty());
    }

    /// Kept search answers and ranks are updated, not dropped, as names
    /// come and go, and always equal a fresh scan and a fresh ranking
    /// (`check`), through reused ids, names added first or last in the
    /// order, and case and Unicode variants.
    #[test]
    fn kept_answers_and_ranks_follow_the_names() {
        let pool = [
            "ann",
            "Anna",
            "JOANNA",
            "hannah",
            "bob",
            "Élodie",
            "élan",
            "zed",
            "_x_",
            "%",
            "ANN2",
            "a",
            "",
            "zz_top",
            "Mañana",
            "ΟΔΟΣ",
            "İstanbul",
            "a\0b",
        ];
        // Final sigma, a capital whose lowercase is two characters, NUL.
        let needles = [
            "ann", "A", "é", "_", "%", "zz", "nope", "AN", "ς", "Σ", "i̇s", "İ", "a\0", "\0b",
        ];
        let mut u = Usernames::default();
        let mut live: Vec<u32> = Vec::new();
        let mut next = crate::test_rng(0x2545_f491_4f6c_dd1d);
        for step in 0..2_000 {
            if live.is_empty() || next(3) > 0 {
                let id = u.intern(pool[next(pool.len())]);
                // (A live name has records.)
                u.add_slot(id, step);
                if !live.contains(&id) {
                    live.push(id);
                }
            } else {
                let id = live.swap_remove(next(live.len()));
                u.remove(id);
            }
            // Ask after some steps only, so updates meet kept state of
            // every age.
            if step % 7 == 0 {
                u.search(needles[next(needles.len())]);
                u.rank_table();
            }
            u.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
            if step > 100 {
                assert!(u.ranks.0.read().is_some(), "step {step}: ranks dropped");
            }
        }
        let kept = u.found.0.read().len();
        assert!(kept >= needles.len() - 2, "only {kept} needles kept");
        // `check` sees a count that is not its bitmap's length.
        let mut miscounted = u.clone();
        miscounted.counts[live[0] as usize] += 1;
        assert!(miscounted.check().is_err());
        // `check` sees a kept table that is wrong.
        if let Some(t) = u.ranks.0.write().as_mut() {
            let t = Arc::make_mut(t);
            t.order.reverse();
        }
        assert!(u.check().is_err());
    }
}
