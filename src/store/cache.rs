//! Data that queries derive from the indexes and keep until the next
//! write, shared by every reader: projects' sorted tails
//! ([`TailCache`]), where report days start in the default view
//! ([`DayCache`]), big customers' records of a type per billing period
//! ([`PeriodCountCache`]), a type's records per report day
//! ([`DayTypeCache`]), an offering's records per report day or billing
//! period and type ([`OfferingDayCache`], [`OfferingPeriodCache`]), an
//! offering's records of a type ([`OfferingTypeCache`]), whole projects'
//! records of a type
//! ([`TypedRunCache`]), a username search's records
//! ([`NeedleRowsCache`]), big offerings' records expanded
//! ([`FlatCache`]), queries' matches per report day
//! ([`SetDaysCache`]), billing periods' records cut by report days
//! ([`CutCache`]) and big groups of equal first sort key sorted by
//! the later keys ([`GroupOrderCache`]). A write forgets the entries it may have
//! changed, those of the projects whose records it touched, and adjusts
//! the counts and sets by its changes ([`Stale`], `Core::settle_derived`):
//! under many writers (site agents, federation) the rest stays warm.
//!
//! A project's records are a prefix in the reverse of the default order
//! and a tail (`Project::sorted_until`). Every write since the load that
//! put a record out of that order (a site agent's re-report re-dates the current
//! period's records; every report after that joins the tail too) lengthens
//! the tail, so sorting it per query would make the project's date-order
//! reads cost its tail's sort. The first query that needs a project's
//! tail sorts it and keeps it here.

use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::{RwLock, RwLockReadGuard};
use roaring::RoaringBitmap;
use smallvec::SmallVec;

/// Values derived from the indexes, by entity id (or another key `K`),
/// shared by every reader: filled by reads, forgotten by the writes that
/// change what they were derived from (`Core::settle_derived`).
#[derive(Debug)]
pub(crate) struct Derived<V: ?Sized, K = u32>(RwLock<HashMap<K, Arc<V>>>);

/// Sorted project tails, by project id; a write forgets the tails of the
/// projects whose records it changed.
///
/// Invariant (checked by `Core::validate`): an entry is its live project's
/// tail, the project's records from slot `sorted_until` on, in the reverse
/// of the default order (`Tables::tail_key`): by report date, so searchable
/// by date, and a page within it needs no sort.
pub(crate) type TailCache = Derived<[u32]>;

/// Where report days begin in the default view (report date descending),
/// by day (days since the epoch, as `u32` bits): the position of the first
/// record reported before the day starts, that is the number of records
/// reported on it or later. A billing period's or date range's span of the
/// view is two of them; each is otherwise a binary search of the view
/// whose every step reads a record's row and component usage (about 20
/// random reads, 0.25 µs at 1M records). Any change to the default view
/// forgets them all: a record added or re-dated moves every earlier day's
/// start.
///
/// Invariant (checked by `Core::validate`): an entry is that position.
pub(crate) type DayCache = Derived<usize>;

/// A big customer's number of records of one component type (or of
/// every type: [`ANY_TYPE`]) in one billing period, by `(customer, type,
/// period)` (see `Core::known_count`). Counting a customer's storage in
/// a year, the planner intersects customer ∧ type with each of the
/// year's twelve periods (41.6 µs of a page for the largest customer at
/// 1M records when this cache was made), where a kept count sums twelve
/// lookups. Without a type, the planner's count is a range cardinality of
/// each period over the customer's run, whose containers grow with the
/// store (`count_only`, the largest customer's year: 1.1 µs at 1M
/// records, 3.0 µs at 10M; 0.3 µs kept, at either size). A count alone
/// (a `HEAD`) asks for these; a page only where its plan counts that way
/// (`candidates`: asked lazily since the every-type counts, so a small
/// customer's page spends no customer lookup on it). A write adjusts the
/// counts by the records it added to or took from each (customer, type,
/// period) ([`Stale::counts`]), the every-type count too; a project or
/// resource that moves forgets both customers' counts.
///
/// Invariant (checked by `Core::validate`): an entry is its live
/// customer's count.
///
/// By customer, then `(type, period)`: a customer's counts are forgotten
/// in one removal, where a map by the triple was scanned whole on every
/// write. The counts are plain values (an `Arc` per count would be a heap
/// allocation three times its size).
#[derive(Debug, Default)]
pub(crate) struct PeriodCountCache(RwLock<HashMap<u32, CustomerCounts>>);

/// The type of a [`PeriodCountCache`] entry that counts every type (no
/// type id is this large: ids are dictionary positions).
pub(crate) const ANY_TYPE: u32 = u32::MAX;

/// One customer's counts in a [`PeriodCountCache`], by `(type, period)`.
type CustomerCounts = HashMap<(u32, i32), u64>;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for PeriodCountCache {
    fn clone(&self) -> PeriodCountCache {
        PeriodCountCache::default()
    }
}

impl PeriodCountCache {
    /// The sum of customer `c`'s counts of type `ty` in `periods`: each
    /// cached, or made by `make` (from the period's key and records) and
    /// cached. The cached ones are read under one lock and one lookup of
    /// the customer, where a lookup per period took the lock and found
    /// the customer each time (the largest customer's year at 1M records:
    /// 56 % of a 300 ns count). O(periods) when cached.
    pub(crate) fn sum<'b>(
        &self,
        c: u32,
        ty: u32,
        periods: impl Iterator<Item = (i32, &'b RoaringBitmap)>,
        mut make: impl FnMut(i32, &RoaringBitmap) -> u64,
    ) -> u64 {
        let mut sum = 0;
        let mut missing: SmallVec<[(i32, &RoaringBitmap); 4]> = SmallVec::new();
        {
            let map = self.0.read();
            let kept = map.get(&c);
            for (p, part) in periods {
                match kept.and_then(|m| m.get(&(ty, p))) {
                    Some(&n) => sum += n,
                    None => missing.push((p, part)),
                }
            }
        }
        for (p, part) in missing {
            let n = make(p, part);
            sum += *(self.0.write().entry(c).or_default())
                .entry((ty, p))
                .or_insert(n);
        }
        sum
    }

    /// Forgets every count.
    pub(crate) fn clear(&mut self) {
        clear_map(self.0.get_mut());
    }

    /// Adjusts the kept counts by a write's changes ([`Stale::counts`]).
    /// O(changes).
    pub(crate) fn adjust(&mut self, changes: &[((u32, u32, i32), i64)]) {
        let map = self.0.get_mut();
        if map.is_empty() {
            return;
        }
        for &((c, ty, p), n) in changes {
            let Some(m) = map.get_mut(&c) else { continue };
            for ty in [ty, ANY_TYPE] {
                if let Some(v) = m.get_mut(&(ty, p)) {
                    *v = v
                        .checked_add_signed(n)
                        .expect("a kept count covers the records it loses");
                }
            }
        }
    }

    /// Forgets the counts of these customers. O(customers).
    pub(crate) fn forget(&mut self, customers: &[u32]) {
        forget_keys(self.0.get_mut(), customers);
    }

    /// The cached counts by `(customer, type, period)`, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<((u32, u32, i32), u64)> {
        let map = self.0.read();
        (map.iter())
            .flat_map(|(&c, m)| m.iter().map(move |(&(ty, p), &n)| ((c, ty, p), n)))
            .collect()
    }

    /// Heap bytes held: the two levels of maps.
    pub(crate) fn heap_bytes(&self) -> usize {
        let map = self.0.read();
        map.allocation_size() + map.values().map(|m| m.allocation_size()).sum::<usize>()
    }
}

/// A project's records of one component type, ascending by slot, by
/// project and then type: what a scoped merge's cursor over a whole
/// project reads (`Core::merge_page`). The project is one run of slots in
/// date order when its entry is made (`Project::run`), so its records of
/// the type ascend by date too, and a cursor steps back through a slice,
/// where it opened an iterator over the type's bitmap and searched it
/// for the run's end (a fifth of a scoped query's instructions at 1M,
/// with its steps). A write forgets the entries of the projects whose
/// records it changed ([`Stale::projects`]), a bulk write every entry.
///
/// Invariant (checked by `Core::validate`): an entry is its live
/// project's records of its live type, ascending.
#[derive(Debug, Default)]
pub(crate) struct TypedRunCache(RwLock<HashMap<u32, TypedRuns>>);

/// One project's entries in a [`TypedRunCache`], by type id.
type TypedRuns = SmallVec<[(u32, Box<[u32]>); 1]>;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for TypedRunCache {
    fn clone(&self) -> TypedRunCache {
        TypedRunCache::default()
    }
}

/// A read of a [`TypedRunCache`] held through a merge: one lock for every
/// cursor. Created by [`TypedRunCache::read`].
pub(crate) struct TypedRunRead<'a>(RwLockReadGuard<'a, HashMap<u32, TypedRuns>>);

impl TypedRunRead<'_> {
    /// Project `p`'s records of type `ty`, if kept. O(1).
    pub(crate) fn get(&self, p: u32, ty: u32) -> Option<&[u32]> {
        let runs = self.0.get(&p)?;
        runs.iter().find(|e| e.0 == ty).map(|e| &*e.1)
    }
}

impl TypedRunCache {
    /// Holds the cache for reading (see [`TypedRunRead`]).
    pub(crate) fn read(&self) -> TypedRunRead<'_> {
        TypedRunRead(self.0.read())
    }

    /// Keeps entries made by a read, `(project, type, records)`; an entry
    /// another reader made first stays.
    pub(crate) fn keep(&self, made: impl IntoIterator<Item = (u32, u32, Box<[u32]>)>) {
        let mut map = self.0.write();
        for (p, ty, v) in made {
            let runs = map.entry(p).or_default();
            if !runs.iter().any(|e| e.0 == ty) {
                runs.push((ty, v));
            }
        }
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        clear_map(self.0.get_mut());
    }

    /// Forgets the entries of these projects. O(projects).
    pub(crate) fn forget(&mut self, projects: &[u32]) {
        forget_keys(self.0.get_mut(), projects);
    }

    /// The kept entries, `(project, type, records)`, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<(u32, u32, Vec<u32>)> {
        let map = self.0.read();
        (map.iter())
            .flat_map(|(&p, runs)| runs.iter().map(move |(ty, v)| (p, *ty, v.to_vec())))
            .collect()
    }

    /// Heap bytes held: the map, spilled lists and the records.
    pub(crate) fn heap_bytes(&self) -> usize {
        let map = self.0.read();
        map.allocation_size()
            + (map.values())
                .map(|runs| {
                    let spilled = if runs.spilled() {
                        runs.capacity() * 24
                    } else {
                        0
                    };
                    spilled + runs.iter().map(|e| 4 * e.1.len()).sum::<usize>()
                })
                .sum::<usize>()
    }
}

/// An offering's records with their many-run containers expanded, by
/// offering id (`None`: not worth it, its bitmap has few runs a
/// container). A big offering's records are spread over every customer
/// that uses it, thousands of runs a container, and roaring intersects
/// a run container with another bitmap's array by a binary search of the
/// runs per value: a provider's month (`offering_uuid=…&billing_period_year=…&billing_period_month=…`)
/// took 457 µs at 1M records, expanding the runs per query 162 µs. Made
/// by the first query that combines the offering with another filter; a
/// write forgets the entries of the offerings whose records it changed
/// ([`Stale::offerings`]), a bulk write every entry.
///
/// Invariant (checked by `Core::validate`): an entry is its live
/// offering's records.
pub(crate) type FlatCache = Derived<Option<roaring::RoaringBitmap>>;

/// Records of one component type per report day, by type id: a deep
/// default-order page of a type filter skips whole report days by these
/// counts (`Core::skip_days`), where it intersected each day's bitmap
/// with the type's (`type=storage&page=5000` took 211 µs at 1M records,
/// 5 µs with the counts kept). Made on a type's first such page from the
/// days' bitmaps: every day's intersection, about 10 million instructions
/// (4 ms) at 1M, so that first page costs more than it did without the
/// counts. Adjusted by writes ([`Stale::keys`]), forgotten by a bulk
/// write. Each entry holds a type's days ascending, 8 bytes a day (1,101
/// days, 8.8 KB, at 1M).
///
/// Invariant (checked by `Core::validate`): an entry's days ascend, and
/// its nonzero counts are exactly the type's live records on each report
/// day (a day whose records left keeps a zero).
pub(crate) type DayTypeCache = Derived<Vec<(i32, u32)>>;

/// Records of one offering per report day and component type, by
/// offering id: an offering's report-date range, alone or with a type (a
/// provider's usage from a date), is counted by these, where the planner
/// tested each of the offering's records (its records are spread over
/// every customer that uses it, so neither a run nor a cheap
/// intersection; the biggest offering from 2025 took 190 µs at 1M
/// records, one of 16,847 records 281 µs; the biggest's CPU from 2025
/// 804 µs). Made on the first such query by reading each of the
/// offering's records' report day and type. Adjusted by writes that
/// re-date records ([`Stale::keys`]); forgotten by a write that
/// adds, removes or moves one of its records ([`Stale::offerings`]), and
/// by a bulk write. Each entry holds `((day, type), records)`, ascending,
/// 12 bytes each: an offering measures a few of the store's types (the
/// biggest at 1M has five, over 1,101 days: at most 66 KB; its first
/// range count grew the query caches by 197 KB in all, a scratch
/// harness).
///
/// Invariant (checked by `Core::validate`): an entry's keys ascend, and
/// its nonzero counts are exactly the offering's live records of each
/// type on each report day.
pub(crate) type OfferingDayCache = Derived<KeyTypeCounts>;

/// Records of one offering per billing period and component type, by
/// offering id: an offering's billing periods, alone or with a type (a
/// provider's year or month), are counted by these, where the planner
/// intersected the offering with each period or tested each of its
/// records (the biggest offering's year took 185 µs at 1M records, one
/// of 16,847 records 294 µs; the biggest's CPU in a year 733 µs). Kept as
/// an [`OfferingDayCache`] entry is, by period instead of report day
/// ([`Stale::keys`]). The types with records tell which
/// parts of the usage view an offering's usage order walks
/// (`Core::offering_types`).
///
/// Invariant (checked by `Core::validate`): an entry's keys ascend, and
/// its nonzero counts are exactly the offering's live records of each
/// type in each billing period.
pub(crate) type OfferingPeriodCache = Derived<KeyTypeCounts>;

/// Records per report day (or billing period) and component type:
/// `((day or period, type id), records)`, ascending.
pub(crate) type KeyTypeCounts = Vec<((i32, u32), u32)>;

/// A record's keys attached or detached by a write ([`Stale::keys`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyChange {
    pub(crate) slot: u32,
    pub(crate) offering: u32,
    /// Report day, billing period, type id.
    pub(crate) keys: SlotKeys,
    /// Attached (`true`), or detached.
    pub(crate) attached: bool,
}

impl KeyChange {
    /// The change to a count of records: 1 or −1.
    pub(crate) fn n(&self) -> i64 {
        if self.attached { 1 } else { -1 }
    }
}

/// An offering's records of one component type, by `(offering, type)`:
/// a query that names both (a provider's CPU usage) reads these where
/// the planner intersected the two bitmaps (the biggest offering's CPU
/// at 1M records, 44,595 of its 223,813 records: about 120 µs a query,
/// the offering's runs against the type's bitmap containers). Made by the
/// first such query; adjusted by writes, record by record, as they attach
/// and detach a record's type ([`Stale::keys`]: a re-dated
/// record leaves and rejoins its entry); forgotten by a write that adds,
/// removes or moves a record of the offering ([`Stale::offerings`]), and
/// by a bulk write or one of over [`FOLLOW_MAX`] notes. The entries of
/// one offering are disjoint, so all of them together hold each record of
/// the store at most once.
///
/// Invariant (checked by `Core::validate`): an entry is its live
/// offering's records of its type.
pub(crate) type OfferingTypeCache = Derived<RoaringBitmap, (u32, u32)>;

impl OfferingTypeCache {
    /// Adjusts the kept bitmaps by a write's attaches and detaches of
    /// records' keys, in order ([`Stale::keys`]); a write of more than
    /// [`FOLLOW_MAX`] forgets them all. O(changes).
    pub(crate) fn adjust(&mut self, changes: &[KeyChange]) {
        if self.0.get_mut().is_empty() {
            return;
        }
        // A big write (a re-report of a period) forgets them: following
        // each slot would cost more than the next queries' intersections.
        if changes.len() > FOLLOW_MAX {
            self.clear();
            return;
        }
        for c in changes {
            self.update((c.offering, c.keys.2), |b| {
                if c.attached {
                    b.insert(c.slot);
                } else {
                    b.remove(c.slot);
                }
            });
        }
    }

    /// Forgets the entries of these offerings (unsorted, with repeats: a
    /// note per record a write added). O(offerings × log offerings +
    /// entries × log offerings) when any offering is given.
    pub(crate) fn forget_offerings(&mut self, offerings: &[u32]) {
        let map = self.0.get_mut();
        if !map.is_empty() && !offerings.is_empty() {
            let mut gone = offerings.to_vec();
            gone.sort_unstable();
            gone.dedup();
            map.retain(|k, _| gone.binary_search(&k.0).is_err());
        }
    }
}

impl<D: Ord + Copy> Derived<Vec<(D, u32)>> {
    /// Adjusts the kept counts by a write's changes, `((entry, key),
    /// records)`, mapped from [`Stale::keys`]: a key new to an entry is
    /// inserted in its place. O(changes × log keys), plus a shift of the
    /// entry's later keys per new key.
    pub(crate) fn adjust(&mut self, changes: impl Iterator<Item = ((u32, D), i64)>) {
        if self.0.get_mut().is_empty() {
            return;
        }
        for ((id, key), n) in changes {
            self.update(id, |v| match v.binary_search_by_key(&key, |e| e.0) {
                Ok(i) => {
                    let c = &mut v[i].1;
                    *c = c
                        .checked_add_signed(i32::try_from(n).expect("a record at a time"))
                        .expect("a kept count covers the records it loses");
                }
                Err(i) => v.insert(
                    i,
                    (
                        key,
                        u32::try_from(n).expect("a key's first records are added"),
                    ),
                ),
            });
        }
    }
}

/// The records of a username search combined with other filters: the
/// union of the bitmaps of the names containing a needle, by needle (as
/// given; [`Usernames::search`](crate::index::dict::Usernames::search)
/// keys its answers the same way). A search for `ann` in a type, a month
/// or a date range intersected each of its 1,365 names' bitmaps with the
/// other filter's to count its matches, on every page (0.5 to 2.2 ms at
/// 1M records; `a`, 7.7 ms); with the union kept, a page is one
/// intersection of two bitmaps. Made by the first such query (the union
/// costs about what one of those counts did) and kept for the next pages
/// and filters; at most [`NEEDLE_ROWS_MAX`] needles, the oldest dropped
/// first. Adjusted by writes: each record's username attach and detach
/// are noted ([`Stale::names`]); a bulk write forgets every entry.
///
/// An entry may also hold its records' number per report day, made by
/// the first deep default-order page of the search alone, which skips
/// whole days by them (`Core::skip_days`) where each page intersected
/// every day before it with the union (an export of `username=ann`, 275
/// pages of 300 at 1M, took 572 µs a page). Writes adjust them record by
/// record, as they add to or take from the union or re-date one of its
/// records ([`NeedleRowsCache::adjust`], from [`Stale::keys`]); a write
/// of over [`FOLLOW_MAX`] notes drops them, to be remade by the next such
/// page. (Dropped at every write that re-dated a record of the search,
/// they were remade by every deep page under site agents' reports:
/// `username=ann&page=1000` at 1M records, a report before each page,
/// took 400 µs a page, 11.7 µs adjusted.)
///
/// Invariant (checked by `Core::validate`): an entry's records are the
/// union of the bitmaps of the live names its needle matches, and its
/// day counts, when kept, are its records' number on each report day.
#[derive(Debug, Default)]
pub(crate) struct NeedleRowsCache(RwLock<Vec<NeedleRows>>);

/// A [`NeedleRowsCache`] entry.
#[derive(Clone, Debug)]
pub(crate) struct NeedleRows {
    pub(crate) needle: Box<str>,
    pub(crate) rows: Arc<RoaringBitmap>,
    /// `(report day, records)`, days ascending, days without records left out.
    pub(crate) days: Option<Arc<Vec<(i32, u32)>>>,
    /// `((billing period, type), records)`, ascending, zeros left out:
    /// for the counts of the search with a component type or billing
    /// periods and nothing else (`Core::known_count`), where the planner
    /// intersected the search's records with each period (`ann` in a
    /// year at 1M records: 170 µs a page). Made by the second such count
    /// (`kinds_asked` notes the first): making them reads each of the
    /// search's records, several of the planner's counts (in a fresh 1M
    /// store, a scratch harness: the count of `ann` in 2025 that made them
    /// took 4.7 ms against 0.9 ms for the one before it; `a`, 351,761
    /// records, 13.4 ms against 4.1), which a search counted once would
    /// not pay back. Adjusted by writes, record by record, as `days` are
    /// ([`NeedleRowsCache::adjust`]): a site agent's report re-dates its
    /// records, and a broad search holds some of nearly every report's
    /// (`a`: a third of the store).
    pub(crate) kinds: Option<Arc<KeyTypeCounts>>,
    /// Whether a count asked for `kinds` since they were last dropped.
    pub(crate) kinds_asked: bool,
    /// The search's records of a component type, by type id: made by the
    /// first query of the search with that type (`Core::needle_type`),
    /// which intersected the search's records with the type's (`ann`
    /// with `type=cpu` at 1M records: about 110 µs a query). Adjusted as
    /// `kinds` are.
    pub(crate) typed: Vec<(u32, Arc<RoaringBitmap>)>,
}

/// The value (by `value`) of the entry `find` picks among at most `max`
/// kept in `list`: kept, or made by `make` outside the lock and kept, the
/// oldest entry dropped first (an entry another reader made first wins).
/// O(entries) when kept.
fn fifo_get_or_make<E, V>(
    list: &RwLock<Vec<E>>,
    max: usize,
    find: impl Fn(&E) -> bool,
    value: impl Fn(&E) -> V,
    make: impl FnOnce() -> E,
) -> V {
    if let Some(e) = list.read().iter().find(|e| find(e)) {
        return value(e);
    }
    let made = make();
    let mut v = list.write();
    if let Some(e) = v.iter().find(|e| find(e)) {
        return value(e);
    }
    if v.len() >= max {
        v.remove(0);
    }
    let out = value(&made);
    v.push(made);
    out
}

/// Where `needle`'s entry is among a [`NeedleRowsCache`]'s. O(entries).
fn position(v: &[NeedleRows], needle: &str) -> Option<usize> {
    v.iter().position(|e| *e.needle == *needle)
}

/// A slot's report day, billing period and type, and whether a write
/// attached them (`true`) or detached them ([`Stale::keys`]).
type KeyNote = (SlotKeys, bool);

/// A record's report day, billing period and type id: the keys a search's
/// kept counts and records of a type follow ([`NeedleRowsCache::adjust`]).
pub(crate) type SlotKeys = (i32, i32, u32);

/// A write of more notes than this drops the kept searches' counts and
/// records of a type ([`NeedleRowsCache::adjust`]), the offerings'
/// records of a type ([`OfferingTypeCache::adjust`]), and the queries'
/// day counts and sorted matches ([`SetDaysCache::adjust`],
/// [`GroupOrderCache::adjust`], by `Core::settle_derived`), instead of
/// following each slot.
pub(crate) const FOLLOW_MAX: usize = 4096;

/// Moves one record of kept counts `(key, records)` (ascending, no zero
/// kept) from key `old` to key `new` (either absent: none); `false`, the
/// counts left half-adjusted, when `old` has no record to lose (a bug:
/// the caller drops the counts). O(log keys), plus a shift for a key
/// new or emptied.
fn follow_count<K: Ord + Copy>(counts: &mut Vec<(K, u32)>, old: Option<K>, new: Option<K>) -> bool {
    if let Some(k) = old {
        match counts.binary_search_by_key(&k, |x| x.0) {
            Ok(i) if counts[i].1 > 1 => counts[i].1 -= 1,
            Ok(i) if counts[i].1 == 1 => {
                counts.remove(i);
            }
            _ => {
                debug_assert!(false, "a record of the search not counted");
                return false;
            }
        }
    }
    if let Some(k) = new {
        match counts.binary_search_by_key(&k, |x| x.0) {
            Ok(i) => counts[i].1 += 1,
            Err(i) => counts.insert(i, (k, 1)),
        }
    }
    true
}

/// Needles a [`NeedleRowsCache`] keeps: a bitmap is at most an eighth of a
/// byte per record of the store (125 KB at 1M records), and a UI pages
/// through one search at a time.
pub(crate) const NEEDLE_ROWS_MAX: usize = 8;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for NeedleRowsCache {
    fn clone(&self) -> NeedleRowsCache {
        NeedleRowsCache::default()
    }
}

impl NeedleRowsCache {
    /// The records of `needle`'s names: kept, or made by `make` and kept
    /// (an entry another reader made first wins). O(needles kept) when
    /// kept.
    pub(crate) fn get_or_make(
        &self,
        needle: &str,
        make: impl FnOnce() -> RoaringBitmap,
    ) -> Arc<RoaringBitmap> {
        fifo_get_or_make(
            &self.0,
            NEEDLE_ROWS_MAX,
            |e| *e.needle == *needle,
            |e| Arc::clone(&e.rows),
            || NeedleRows {
                needle: needle.into(),
                rows: Arc::new(make()),
                days: None,
                kinds: None,
                kinds_asked: false,
                typed: Vec::new(),
            },
        )
    }

    /// The kept records of `needle`, if any. O(needles kept).
    pub(crate) fn get(&self, needle: &str) -> Option<Arc<RoaringBitmap>> {
        let v = self.0.read();
        position(&v, needle).map(|i| Arc::clone(&v[i].rows))
    }

    /// The day counts of `needle`'s records: kept, or made by `make` from
    /// its records and kept. `None` when the needle has no entry.
    pub(crate) fn days_or_make(
        &self,
        needle: &str,
        make: impl FnOnce(&RoaringBitmap) -> Vec<(i32, u32)>,
    ) -> Option<Arc<Vec<(i32, u32)>>> {
        self.counts_or_make(needle, |e| &e.days, |e| &mut e.days, make)
    }

    /// The counts of `needle`'s records per billing period and type
    /// ([`NeedleRows::kinds`]): kept, or made by `make` from its records
    /// and kept when asked for the second time since the records last
    /// changed. `None` when the needle has no entry, or at the first ask.
    pub(crate) fn kinds_or_make(
        &self,
        needle: &str,
        make: impl FnOnce(&RoaringBitmap) -> KeyTypeCounts,
    ) -> Option<Arc<KeyTypeCounts>> {
        {
            let v = self.0.read();
            let e = &v[position(&v, needle)?];
            if let Some(kinds) = &e.kinds {
                return Some(Arc::clone(kinds));
            }
            if !e.kinds_asked {
                drop(v);
                let mut v = self.0.write();
                if let Some(i) = position(&v, needle) {
                    v[i].kinds_asked = true;
                }
                return None;
            }
        }
        self.counts_or_make(needle, |e| &e.kinds, |e| &mut e.kinds, make)
    }

    /// `needle`'s records of type `ty` ([`NeedleRows::typed`]): kept, or
    /// made by `make` from its records and kept. `None` when the needle
    /// has no entry. O(needles kept + types kept).
    pub(crate) fn typed_or_make(
        &self,
        needle: &str,
        ty: u32,
        make: impl FnOnce(&RoaringBitmap) -> RoaringBitmap,
    ) -> Option<Arc<RoaringBitmap>> {
        self.kept_or_make(
            needle,
            &|e| e.typed.iter().find(|x| x.0 == ty).map(|x| &x.1),
            |e, made| {
                e.typed.push((ty, Arc::clone(&made)));
                made
            },
            make,
        )
    }

    /// Counts of `needle`'s records kept beside them (in the field `get`
    /// reads and `place` writes), or made by `make` from its records and
    /// kept. `None` when the needle has no entry.
    fn counts_or_make<T>(
        &self,
        needle: &str,
        get: fn(&NeedleRows) -> &Option<Arc<T>>,
        place: fn(&mut NeedleRows) -> &mut Option<Arc<T>>,
        make: impl FnOnce(&RoaringBitmap) -> T,
    ) -> Option<Arc<T>> {
        self.kept_or_make(
            needle,
            &|e| get(e).as_ref(),
            |e, made| Arc::clone(place(e).get_or_insert(made)),
            make,
        )
    }

    /// What `needle`'s entry keeps beside its records (found by `get`):
    /// kept, or made by `make` from its records outside the lock and kept
    /// by `keep` (unless another reader kept one first). `None` when the
    /// needle has no entry.
    fn kept_or_make<T>(
        &self,
        needle: &str,
        get: &dyn Fn(&NeedleRows) -> Option<&Arc<T>>,
        keep: impl FnOnce(&mut NeedleRows, Arc<T>) -> Arc<T>,
        make: impl FnOnce(&RoaringBitmap) -> T,
    ) -> Option<Arc<T>> {
        let rows = {
            let v = self.0.read();
            let e = &v[position(&v, needle)?];
            if let Some(kept) = get(e) {
                return Some(Arc::clone(kept));
            }
            Arc::clone(&e.rows)
        };
        let made = Arc::new(make(&rows));
        let mut v = self.0.write();
        // Kept only if the records it was made from still are (a write
        // may have adjusted them since).
        if let Some(i) = position(&v, needle)
            && Arc::ptr_eq(&v[i].rows, &rows)
        {
            if let Some(kept) = get(&v[i]) {
                return Some(Arc::clone(kept));
            }
            return Some(keep(&mut v[i], made));
        }
        Some(made)
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        let v = self.0.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
    }

    /// Adjusts the kept unions by a write's username attaches and
    /// detaches ([`Stale::names`]), in the order they happened: a detached
    /// slot leaves every union (whatever name it had), an attached one
    /// joins those whose needle its name matches, by `names(needle)` (the
    /// needle's matching names, ascending, as they are after the write:
    /// the last note of a slot is its live record's, whose name is live).
    /// The day counts, the counts per billing period and type and the
    /// records of a type follow each touched slot ([`NeedleRows::days`],
    /// [`NeedleRows::kinds`], [`NeedleRows::typed`]): out of its old day,
    /// period and type if it was in the union before the write, into its
    /// new ones if it is after. Its keys before and after are its first
    /// and last key notes ([`Stale::keys`]: a first note that attaches
    /// means none before, a last that detaches none after), or without
    /// notes its keys as they are (`keys(slot)`, read from the live
    /// record). A write of more than [`FOLLOW_MAX`] notes drops them
    /// instead. O(needles × changes × log names).
    pub(crate) fn adjust(
        &mut self,
        changes: &[(u32, u32, bool)],
        keyed: &[KeyChange],
        names: impl Fn(&str) -> Arc<[u32]>,
        keys: impl Fn(u32) -> SlotKeys,
    ) {
        let entries = self.0.get_mut();
        if entries.is_empty() || (changes.is_empty() && keyed.is_empty()) {
            return;
        }
        // A big write (a re-report of every record of a period) drops the
        // counts and records of a type, where following its slots would
        // cost more than making them again.
        let big = changes.len() + keyed.len() > FOLLOW_MAX;
        let follows =
            |e: &NeedleRows| !big && (e.days.is_some() || e.kinds.is_some() || !e.typed.is_empty());
        // Each touched slot's first and last key note, by slot.
        let mut notes: hashbrown::HashMap<u32, [KeyNote; 2]> = hashbrown::HashMap::new();
        let mut touched: Vec<u32> = Vec::new();
        if entries.iter().any(follows) {
            for c in keyed {
                (notes.entry(c.slot))
                    .and_modify(|e| e[1] = (c.keys, c.attached))
                    .or_insert([(c.keys, c.attached); 2]);
            }
            touched.extend(
                changes
                    .iter()
                    .map(|c| c.0)
                    .chain(keyed.iter().map(|k| k.slot)),
            );
            touched.sort_unstable();
            touched.dedup();
        }
        let before = |slot: u32| match notes.get(&slot) {
            None => Some(keys(slot)),
            Some([(k, attached), _]) => (!attached).then_some(*k),
        };
        let after = |slot: u32| match notes.get(&slot) {
            None => Some(keys(slot)),
            Some([_, (k, attached)]) => attached.then_some(*k),
        };
        for e in entries {
            if big {
                e.days = None;
                e.kinds = None;
                e.kinds_asked = false;
                e.typed = Vec::new();
            }
            let follow = follows(e);
            let was: Vec<bool> = if follow {
                touched.iter().map(|&s| e.rows.contains(s)).collect()
            } else {
                Vec::new()
            };
            // (No reader holds the bitmap during a write: no copy. The
            // needle's names are looked up only for name notes: a report
            // that re-dates records has none.)
            let rows = Arc::make_mut(&mut e.rows);
            let ids = if changes.is_empty() {
                Arc::from([])
            } else {
                names(&e.needle)
            };
            for &(slot, id, attached) in changes {
                if !attached {
                    rows.remove(slot);
                } else if ids.binary_search(&id).is_ok() {
                    rows.insert(slot);
                }
            }
            if !follow {
                continue;
            }
            for (&slot, &was) in touched.iter().zip(&was) {
                let old = was.then(|| before(slot)).flatten();
                let new = rows.contains(slot).then(|| after(slot)).flatten();
                if old == new {
                    continue;
                }
                // (Every record of the search is counted: a count missing
                // would be a bug, and drops the counts rather than fail
                // the write.)
                if let Some(days) = &mut e.days
                    && !follow_count(Arc::make_mut(days), old.map(|k| k.0), new.map(|k| k.0))
                {
                    e.days = None;
                }
                if let Some(kinds) = &mut e.kinds
                    && !follow_count(
                        Arc::make_mut(kinds),
                        old.map(|k| (k.1, k.2)),
                        new.map(|k| (k.1, k.2)),
                    )
                {
                    e.kinds = None;
                }
                for (ty, b) in &mut e.typed {
                    let b = Arc::make_mut(b);
                    if old.is_some_and(|k| k.2 == *ty) {
                        b.remove(slot);
                    }
                    if new.is_some_and(|k| k.2 == *ty) {
                        b.insert(slot);
                    }
                }
            }
        }
    }

    /// The kept entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<NeedleRows> {
        self.0.read().clone()
    }

    /// Heap bytes held, each bitmap's by `size`.
    pub(crate) fn heap_bytes(&self, size: impl Fn(&RoaringBitmap) -> usize) -> usize {
        let v = self.0.read();
        v.capacity() * std::mem::size_of::<NeedleRows>()
            + (v.iter())
                .map(|e| {
                    let days = e.days.as_ref().map_or(0, |d| 16 + 24 + 8 * d.capacity());
                    let kinds = e.kinds.as_ref().map_or(0, |d| 16 + 24 + 12 * d.capacity());
                    let typed = (e.typed.iter())
                        .map(|(_, b)| 24 + 16 + size(b))
                        .sum::<usize>();
                    e.needle.len() + 16 + 24 + size(&e.rows) + days + kinds + typed
                })
                .sum::<usize>()
    }
}

/// The number of a query's matches per report day, by the query's filter
/// and scope: made by the first deep default-order page of a set that no
/// other kept counts describe (`Core::skip_days`), where each page
/// intersected every report day before it with the set (an export of the
/// biggest offering at 1M records, in pages of 300: 4.5 ms a page). At
/// most [`SET_DAYS_MAX`] queries, the oldest dropped first: a UI exports
/// one table at a time.
///
/// A write that only re-keys records (a site agent's report re-dates its
/// component usage's records; a re-typed or re-period component usage)
/// adjusts the counts record by record ([`SetDaysCache::adjust`]): each
/// key note of a record the query admits moves one match out of or into
/// its day. Any other write that changes an index (a record added,
/// removed, renamed or moved to another resource, project or customer:
/// what a record's links and name are tested by) forgets every entry, as
/// does one of over [`FOLLOW_MAX`] notes. (Forgotten by every such write
/// before: with a report written before each query, page 50 of
/// `username=ann&billing_period_year=2025` took 855 µs where it takes
/// 4.3 µs without writes.)
///
/// Invariant (checked by `Core::validate`): an entry's counts are its
/// query's matches' number on each report day, days ascending, days
/// without matches left out.
#[derive(Debug, Default)]
pub(crate) struct SetDaysCache(RwLock<Vec<SetDays>>);

/// A [`SetDaysCache`] entry.
#[derive(Clone, Debug)]
pub(crate) struct SetDays {
    pub(crate) filter: crate::query::Filter,
    pub(crate) scope: crate::query::Scope,
    /// `(report day, matches)`, days ascending.
    pub(crate) days: Arc<Vec<(i32, u32)>>,
}

/// Queries a [`SetDaysCache`] keeps (about 8 KB each at 1,000 report days).
pub(crate) const SET_DAYS_MAX: usize = 8;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for SetDaysCache {
    fn clone(&self) -> SetDaysCache {
        SetDaysCache::default()
    }
}

impl SetDaysCache {
    /// The day counts of the matches of `filter` under `scope`: kept, or
    /// made by `make` and kept (an entry another reader made first
    /// wins). O(entries) when kept.
    pub(crate) fn get_or_make(
        &self,
        filter: &crate::query::Filter,
        scope: &crate::query::Scope,
        make: impl FnOnce() -> Vec<(i32, u32)>,
    ) -> Arc<Vec<(i32, u32)>> {
        fifo_get_or_make(
            &self.0,
            SET_DAYS_MAX,
            |e| e.filter == *filter && e.scope == *scope,
            |e| Arc::clone(&e.days),
            || SetDays {
                filter: filter.clone(),
                scope: scope.clone(),
                days: Arc::new(make()),
            },
        )
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        let v = self.0.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
    }

    /// Adjusts the kept counts by a write's key notes ([`Stale::keys`]),
    /// in order, where the write changed no record's links or name: each
    /// note of a record that `admits` (made per entry from its filter and
    /// scope, testing the record's links and name as they are and the
    /// note's keys) takes a match from its day (detached) or adds one
    /// (attached). (The caller forgets every entry instead after a write
    /// of over [`FOLLOW_MAX`] notes.) O(entries × changes × log days).
    pub(crate) fn adjust<'t>(
        &mut self,
        changes: &[KeyChange],
        admits: impl Fn(&crate::query::Filter, &crate::query::Scope) -> crate::store::read::SlotTest<'t>,
    ) {
        if self.0.get_mut().is_empty() || changes.is_empty() {
            return;
        }
        self.0.get_mut().retain_mut(|e| {
            let test = admits(&e.filter, &e.scope);
            let days = Arc::make_mut(&mut e.days);
            // (Every match is counted: a detached one missing would be a
            // bug, and forgets the entry rather than fail the write.)
            changes.iter().all(|c| {
                !test.admits(c.slot, c.keys) || {
                    let day = Some(c.keys.0);
                    let (old, new) = if c.attached { (None, day) } else { (day, None) };
                    follow_count(days, old, new)
                }
            })
        });
    }

    /// The kept entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<SetDays> {
        self.0.read().clone()
    }

    /// Heap bytes held (the filters' and scopes' own heap left out: a few
    /// strings and uuids each).
    pub(crate) fn heap_bytes(&self) -> usize {
        let v = self.0.read();
        v.capacity() * std::mem::size_of::<SetDays>()
            + v.iter().map(|e| 16 + 8 * e.days.capacity()).sum::<usize>()
    }
}

/// A billing period's records reported on the days `[x, y]` of its report
/// days, by `(period, x, y)`: a report-date range that cuts through the
/// period (`read::cut_records`; the range's other days hold none of the
/// period's records, so these key it whatever the range). Made per query
/// before, from the union of the days inside or outside the range and the
/// period's bitmap: at 1M records February less its reports on 1 to 5
/// March took about 70 µs of every page of
/// `component_usage__billing_period=2025-02-01&date_after=2025-03-01`. A UI's
/// date filter pages and re-counts with the same bounds. At most
/// [`CUTS_MAX`] cuts, the oldest dropped first.
///
/// A write forgets the cuts of every period whose records' keys it
/// attached or detached ([`Stale::counts`] notes each), a bulk write every
/// cut: a site agent re-dating the current period's records leaves the
/// cuts of the others warm.
///
/// Invariant (checked by `Core::validate`): an entry is its period's live
/// records reported on the days `[x, y]`.
#[derive(Debug, Default)]
pub(crate) struct CutCache(RwLock<Vec<Cut>>);

/// A [`CutCache`] entry.
#[derive(Clone, Debug)]
pub(crate) struct Cut {
    /// `(period, x, y)`: the period (days since the epoch) and its first
    /// and last report day kept.
    pub(crate) key: (i32, i32, i32),
    pub(crate) rows: Arc<RoaringBitmap>,
}

/// Cuts a [`CutCache`] keeps. A range cuts through the periods at its
/// ends, and through every period with a record reported inside it and
/// others outside: a site agent's late report of an old period makes
/// that period one more cut of every range from today. With a report
/// before every fourth query re-dating a random component usage to now,
/// `date_after=2025-01-01` cut all 24 periods before 2025 at 1M records,
/// and with eight kept every query made them all again (1.55 ms; 12.7 µs
/// with 64). Each cut is at most its period's records (about 60 KB at 1M
/// records, a month's 28,000), a late report's cut a few records.
pub(crate) const CUTS_MAX: usize = 64;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for CutCache {
    fn clone(&self) -> CutCache {
        CutCache::default()
    }
}

impl CutCache {
    /// The cut of `key`: kept, or made by `make` and kept (an entry
    /// another reader made first wins). O(entries) when kept.
    pub(crate) fn get_or_make(
        &self,
        key: (i32, i32, i32),
        make: impl FnOnce() -> RoaringBitmap,
    ) -> Arc<RoaringBitmap> {
        fifo_get_or_make(
            &self.0,
            CUTS_MAX,
            |e| e.key == key,
            |e| Arc::clone(&e.rows),
            || Cut {
                key,
                rows: Arc::new(make()),
            },
        )
    }

    /// The cut of `key`, if kept. O(entries).
    pub(crate) fn get(&self, key: (i32, i32, i32)) -> Option<Arc<RoaringBitmap>> {
        (self.0.read().iter())
            .find(|e| e.key == key)
            .map(|e| Arc::clone(&e.rows))
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        let v = self.0.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
    }

    /// Forgets the cuts of the periods of a write's count changes
    /// ([`Stale::counts`]). O(entries × changes).
    pub(crate) fn forget(&mut self, changes: &[((u32, u32, i32), i64)]) {
        let v = self.0.get_mut();
        if !v.is_empty() {
            v.retain(|e| changes.iter().all(|c| c.0.2 != e.key.0));
        }
    }

    /// The kept entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<Cut> {
        self.0.read().clone()
    }

    /// Heap bytes held, `size` of each bitmap.
    pub(crate) fn heap_bytes(&self, size: impl Fn(&RoaringBitmap) -> usize) -> usize {
        let v = self.0.read();
        v.capacity() * std::mem::size_of::<Cut>()
            + v.iter().map(|e| 16 + size(&e.rows)).sum::<usize>()
    }
}

/// Big groups of one first sort key (a usage shared by thousands of
/// records, a billing period), each sorted by a query's later keys and
/// the default keys: made by the first page that reaches a group of at
/// least `GROUP_KEEP_MIN` records (`Core::sorted_group`), where every
/// page sorted it again (`o=usage,username` from page 300 on, pages of
/// 300 at 1M records: 10 ms a page; a period's records by usage, 1 to
/// 4.5 ms). And a query's every match in an order led by its usage or
/// username, made by its second deep page since the last write
/// (`GroupOrderCache::get_or_make_again`, `Core::kept_order_page`), as
/// is a period's. At most [`GROUP_ORDERS_MAX`] groups and
/// [`GroupOrderCache::budget`] slots in all, the oldest dropped first.
///
/// A group of a view's positions is forgotten by any write that moves a
/// record in any view or changes an index ([`Stale::sorted`],
/// [`Stale::any`]): positions shift. A group of a query's matches
/// outlives a write that changes no record's links or name
/// ([`Stale::relinked`]) and touches none of its matches: no record it
/// holds moved, and none joined or left it
/// ([`GroupOrderCache::adjust`]; a site agent's report on another
/// customer's resource). Before, every write forgot every entry, and
/// the next deep page sorted the query's matches again.
///
/// Invariant (checked by `Core::validate`): an entry holds its group's
/// records, each once, in the order of its keys, then the default keys.
#[derive(Debug, Default)]
pub(crate) struct GroupOrderCache {
    kept: RwLock<Vec<GroupOrder>>,
    /// Requests noted by [`GroupOrderCache::get_or_make_again`].
    asked: RwLock<Vec<(GroupOf, OrderKeys)>>,
}

/// A [`GroupOrder`]'s keys.
type OrderKeys = SmallVec<[crate::query::OrderKey; 3]>;

/// Which records a [`GroupOrderCache`] entry orders.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum GroupOf {
    /// Positions of a view: `(start, end)` ranges (one per part of the
    /// usage view's merge, else one).
    Positions(super::core::ViewKind, SmallVec<[(usize, usize); 8]>),
    /// The matches of a query's filter under its scope: a billing
    /// period's (with a component type or not, every record visible), or
    /// a whole query's, paged deep in an order led by its usage or
    /// username.
    Query(crate::query::Filter, crate::query::Scope),
}

/// A [`GroupOrderCache`] entry.
#[derive(Clone, Debug)]
pub(crate) struct GroupOrder {
    pub(crate) group: GroupOf,
    /// The keys the records are sorted by (then the default keys).
    pub(crate) keys: OrderKeys,
    pub(crate) slots: Arc<[u32]>,
}

/// Groups a [`GroupOrderCache`] keeps: a UI pages through one order at
/// a time, and an order's page meets at most a few groups.
pub(crate) const GROUP_ORDERS_MAX: usize = 8;

/// A clone starts empty, as a [`Derived`]'s.
impl Clone for GroupOrderCache {
    fn clone(&self) -> GroupOrderCache {
        GroupOrderCache::default()
    }
}

/// Whether an entry's (or a request's) group and keys are `group` and `keys`.
fn same_order(
    (g, k): (&GroupOf, &OrderKeys),
    group: &GroupOf,
    keys: &[crate::query::OrderKey],
) -> bool {
    g == group && k[..] == *keys
}

impl GroupOrderCache {
    /// The slots all entries may hold together for a store of `records`:
    /// one per record (4 bytes a record, 4 MB at 1M records: the biggest
    /// usage group, 51,860 records, fits nineteen times over, the
    /// matches of a year, 451,296, twice), at least 65,536.
    pub(crate) fn budget(records: usize) -> usize {
        records.max(1 << 16)
    }

    /// The records of `group` sorted by `keys`: kept, or made by `make`
    /// and kept if they fit `budget` (the oldest entries dropped to make
    /// room; an entry another reader made first wins). O(entries) when
    /// kept.
    pub(crate) fn get_or_make(
        &self,
        group: &GroupOf,
        keys: &[crate::query::OrderKey],
        budget: usize,
        make: impl FnOnce() -> Vec<u32>,
    ) -> Arc<[u32]> {
        if let Some(slots) = self.get(group, keys) {
            return slots;
        }
        let made: Arc<[u32]> = make().into();
        if made.len() > budget {
            return made;
        }
        let mut v = self.kept.write();
        if let Some(e) = (v.iter()).find(|e| same_order((&e.group, &e.keys), group, keys)) {
            return Arc::clone(&e.slots);
        }
        let mut held: usize = v.iter().map(|e| e.slots.len()).sum();
        while !v.is_empty() && (v.len() >= GROUP_ORDERS_MAX || held + made.len() > budget) {
            held -= v.remove(0).slots.len();
        }
        v.push(GroupOrder {
            group: group.clone(),
            keys: keys.iter().copied().collect(),
            slots: Arc::clone(&made),
        });
        made
    }

    /// The kept records of `group` sorted by `keys`, if any. O(entries).
    pub(crate) fn get(
        &self,
        group: &GroupOf,
        keys: &[crate::query::OrderKey],
    ) -> Option<Arc<[u32]>> {
        let v = self.kept.read();
        let e = (v.iter()).find(|e| same_order((&e.group, &e.keys), group, keys))?;
        Some(Arc::clone(&e.slots))
    }

    /// As [`GroupOrderCache::get_or_make`], but made only when asked for
    /// a second time since the last write (`None` the first time, the
    /// request noted; at most [`GROUP_ORDERS_MAX`] notes): sorting a
    /// query's every match costs up to twice what one page's partial
    /// sort did, which under a write between every two pages would be
    /// paid on every page. O(entries) when kept.
    pub(crate) fn get_or_make_again(
        &self,
        group: &GroupOf,
        keys: &[crate::query::OrderKey],
        budget: usize,
        make: impl FnOnce() -> Vec<u32>,
    ) -> Option<Arc<[u32]>> {
        if let Some(slots) = self.get(group, keys) {
            return Some(slots);
        }
        let asked = |e: &(GroupOf, OrderKeys)| same_order((&e.0, &e.1), group, keys);
        if !self.asked.read().iter().any(asked) {
            let mut v = self.asked.write();
            if !v.iter().any(asked) {
                if v.len() >= GROUP_ORDERS_MAX {
                    v.remove(0);
                }
                v.push((group.clone(), keys.iter().copied().collect()));
            }
            return None;
        }
        Some(self.get_or_make(group, keys, budget, make))
    }

    /// Keeps the entries of the groups a write that moved records left as
    /// they were: none of a view's positions (they shift), those of a
    /// query's matches that `touched` says none of its records moved,
    /// joined or left. Every request is forgotten: an order is made
    /// when asked for twice between two writes, as before (kept across
    /// writes, requests made a big group's order at its second page
    /// after each write that touched it: with a report before each
    /// query, the biggest customer by `username,-usage`, page 300, took
    /// 1,255 µs against 148). O(entries × the write's notes).
    pub(crate) fn adjust(
        &mut self,
        touched: impl Fn(&crate::query::Filter, &crate::query::Scope) -> bool,
    ) {
        self.kept.get_mut().retain(|e| match &e.group {
            GroupOf::Positions(..) => false,
            GroupOf::Query(f, scope) => !touched(f, scope),
        });
        let v = self.asked.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
    }

    /// Forgets every entry, and every request noted.
    pub(crate) fn clear(&mut self) {
        let v = self.kept.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
        let v = self.asked.get_mut();
        if !v.is_empty() {
            *v = Vec::new();
        }
    }

    /// The kept entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<GroupOrder> {
        self.kept.read().clone()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        let v = self.kept.read();
        v.capacity() * std::mem::size_of::<GroupOrder>()
            + v.iter().map(|e| 16 + 4 * e.slots.len()).sum::<usize>()
            + self.asked.read().capacity() * std::mem::size_of::<(GroupOf, OrderKeys)>()
    }
}

impl<V: ?Sized, K> Default for Derived<V, K> {
    fn default() -> Derived<V, K> {
        Derived(RwLock::new(HashMap::new()))
    }
}

/// A clone starts empty: an entry is only a saving, never state.
impl<V: ?Sized, K> Clone for Derived<V, K> {
    fn clone(&self) -> Derived<V, K> {
        Derived::default()
    }
}

impl<V: ?Sized, K: Copy + Eq + std::hash::Hash> Derived<V, K> {
    /// The value for `id`: cached, or made by `make` and cached. Readers
    /// that race on a missing entry each make one; the first insert wins.
    pub(crate) fn get_or_make(&self, id: K, make: impl FnOnce() -> Arc<V>) -> Arc<V> {
        if let Some(v) = self.0.read().get(&id) {
            return Arc::clone(v);
        }
        let made = make();
        Arc::clone(self.0.write().entry(id).or_insert(made))
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        clear_map(self.0.get_mut());
    }

    /// Forgets the entries of these keys. O(keys).
    pub(crate) fn forget(&mut self, keys: &[K]) {
        forget_keys(self.0.get_mut(), keys);
    }

    /// Changes the entry of `id` in place, if kept: a write's adjustment
    /// (no reader holds the value then, so it is not copied).
    pub(crate) fn update(&mut self, id: K, f: impl FnOnce(&mut V))
    where
        V: Clone,
    {
        if let Some(v) = self.0.get_mut().get_mut(&id) {
            f(Arc::make_mut(v));
        }
    }

    /// The cached entries, for `Core::validate`.
    pub(crate) fn entries(&self) -> Vec<(K, Arc<V>)> {
        let map = self.0.read();
        map.iter().map(|(&id, v)| (id, Arc::clone(v))).collect()
    }

    /// Heap bytes held: the map, and `size` of each value plus its `Arc`'s counts.
    pub(crate) fn heap_bytes(&self, size: impl Fn(&V) -> usize) -> usize {
        let map = self.0.read();
        map.allocation_size() + map.values().map(|v| 16 + size(v)).sum::<usize>()
    }
}

/// Empties a cache's map, giving its memory back.
fn clear_map<K, V>(map: &mut HashMap<K, V>) {
    if !map.is_empty() {
        *map = HashMap::new();
    }
}

/// Removes these keys from a cache's map. O(keys).
fn forget_keys<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>, keys: &[K]) {
    if !map.is_empty() {
        for k in keys {
            map.remove(k);
        }
    }
}

/// What the write in progress changed that [`Derived`] entries depend on,
/// gathered as it goes (`Core::attach`, `Core::detach`, the views, entity
/// moves) and acted on once it ends (`Core::settle_derived`).
///
/// Invariant: no read of a derived cache happens between a change and the
/// end of its write (a write holds the store's write lock, and its own
/// steps read no cache), so entries may stay stale until then.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stale {
    /// Every entry: a bulk write (everything moves), or the set of
    /// component types changed (their ranks order the tails).
    pub(crate) all: bool,
    /// The default view changed: every report day's start may have moved.
    pub(crate) view: bool,
    /// Projects whose records, their order, dates or types changed: their
    /// tails. Unsorted, with repeats (a removal each, as cheap as a test).
    pub(crate) projects: Vec<u32>,
    /// Customers whose every count by type and period is forgotten: the
    /// ends of a project or resource that moved (its records move by
    /// bitmap, not one by one).
    pub(crate) customers: Vec<u32>,
    /// Changes to the number of records of `(customer, type, period)`,
    /// by which a kept count is adjusted: a record counts once both its
    /// links and its keys are attached, so its keys' attach and detach
    /// note it (its links are attached around them), and so does a
    /// component usage's move to another customer, which moves only its
    /// records' links.
    pub(crate) counts: Vec<((u32, u32, i32), i64)>,
    /// Each record's component-usage keys (report day, billing period,
    /// type) attached or detached, with its slot and offering, in order:
    /// noted where a record's keys are attached and detached, the only
    /// places its day, period and type enter or leave the indexes. By
    /// these the counts per day, period and type are adjusted
    /// ([`DayTypeCache`], [`OfferingDayCache`], [`OfferingPeriodCache`]),
    /// and the records of a type followed ([`OfferingTypeCache`],
    /// [`NeedleRowsCache`]). A record that joins or leaves an offering
    /// has its offering noted in [`Stale::offerings`] too, which forgets
    /// the offering's entries.
    pub(crate) keys: Vec<KeyChange>,
    /// Slots attached to (`true`) or detached from (`false`) a username's
    /// bitmap, with the name's id, in order: by these a
    /// [`NeedleRowsCache`] entry is adjusted. Noted where the username
    /// bitmaps change, the only places a record joins or leaves a name.
    pub(crate) names: Vec<(u32, u32, bool)>,
    /// Offerings whose records changed: their expanded bitmaps
    /// ([`FlatCache`]). Unsorted, with repeats.
    pub(crate) offerings: Vec<u32>,
    /// A record moved in a view (or left or joined one): every kept
    /// group order ([`GroupOrderCache`]) by positions is forgotten. Not
    /// in [`Stale::any`]: a re-reported usage moves its record in the
    /// usage view only, and changes no index.
    pub(crate) sorted: bool,
    /// The slots inserted in a view (moved, or new), with repeats: a
    /// kept order of a query's matches is forgotten when one of them is
    /// a match ([`GroupOrderCache::adjust`]).
    pub(crate) moved: Vec<u32>,
}

impl Stale {
    /// Whether the write changed any index: every change to a record's
    /// links, keys or name is noted in one of the lists (or sets `all`).
    pub(crate) fn any(&self) -> bool {
        self.all
            || self.view
            || !self.projects.is_empty()
            || !self.customers.is_empty()
            || !self.counts.is_empty()
            || !self.keys.is_empty()
            || !self.names.is_empty()
            || !self.offerings.is_empty()
    }

    /// Whether the write changed a record's links or name (or could
    /// have: `all`), by which a query's matches are tested beside their
    /// keys ([`SlotTest`](crate::store::read::SlotTest)): a record added,
    /// removed, renamed, or moved to another resource, project or
    /// customer. Caches that follow a write by its key notes forget
    /// everything then.
    pub(crate) fn relinked(&self) -> bool {
        self.all
            || !self.offerings.is_empty()
            || !self.customers.is_empty()
            || !self.names.is_empty()
    }

    /// Ready for the next write: the lists keep their memory (a write per
    /// report would otherwise allocate them anew), up to a bound.
    pub(crate) fn reset(&mut self) {
        self.all = false;
        self.view = false;
        self.sorted = false;
        for v in [&mut self.projects, &mut self.customers, &mut self.offerings] {
            v.clear();
            v.shrink_to(1024);
        }
        self.counts.clear();
        self.counts.shrink_to(1024);
        self.keys.clear();
        self.keys.shrink_to(1024);
        self.names.clear();
        self.names.shrink_to(1024);
        self.moved.clear();
        self.moved.shrink_to(1024);
    }

    /// Notes that `slot` was inserted in a view.
    #[inline]
    pub(crate) fn moved(&mut self, slot: u32) {
        if !self.all {
            self.moved.push(slot);
        }
    }

    // A bulk write forgets everything: a note per record would only grow
    // these lists.

    /// Notes that records of project `p` changed.
    #[inline]
    pub(crate) fn project(&mut self, p: u32) {
        if !self.all {
            self.projects.push(p);
        }
    }

    /// Notes that records of offering `o` changed.
    #[inline]
    pub(crate) fn offering(&mut self, o: u32) {
        if !self.all {
            self.offerings.push(o);
        }
    }

    /// Notes that customer `c`'s counts are all to be forgotten.
    pub(crate) fn customer(&mut self, c: u32) {
        if !self.all {
            self.customers.push(c);
        }
    }

    /// Notes that `slot`, a record of offering `o`, gained (`n` = 1) or
    /// lost (−1) its keys: type `ty`, report day `day`, billing period
    /// `p`.
    #[inline]
    pub(crate) fn day_type(
        &mut self,
        slot: u32,
        (ty, o): (u32, u32),
        (day, p): (i32, i32),
        n: i64,
    ) {
        if !self.all {
            self.keys.push(KeyChange {
                slot,
                offering: o,
                keys: (day, p, ty),
                attached: n > 0,
            });
        }
    }

    /// Notes that `slot` joined (or left) the records of username `id`.
    #[inline]
    pub(crate) fn name(&mut self, slot: u32, id: u32, attached: bool) {
        if !self.all {
            self.names.push((slot, id, attached));
        }
    }

    /// Notes `n` records more (or fewer) of customer `c`, type `ty`,
    /// period `p`.
    #[inline]
    pub(crate) fn count(&mut self, c: u32, ty: u32, p: i32, n: i64) {
        if !self.all {
            self.counts.push(((c, ty, p), n));
        }
    }
}
