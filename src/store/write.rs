//! Writes (SPEC §5): planned and validated against the current state under a
//! shared lock, then applied under the exclusive lock by code that cannot fail,
//! so no write is ever half-applied.

use compact_str::CompactString;
use std::hash::BuildHasher;

use hashbrown::{HashMap, HashSet};
use roaring::RoaringBitmap;
use uuid::Uuid;

use super::WriteSummary;
use super::cache::FOLLOW_MAX;
use super::core::{Core, NO_SLOT, Part, Row, Tables, ViewKind};
use super::entities::{Cu, Customer, Offering, Project, Resource};
use super::read::SlotTest;
use crate::error::WriteError;
use crate::index::slots::SlotBits;
use crate::par::{self, PARALLEL_MIN};
use crate::query::{Filter, Scope};
use crate::record::Record;
use crate::wire::time::{date_to_day, to_micros};

/// A validated write: what to remove first, and how to maintain the views.
pub(crate) struct WritePlan {
    removals: Vec<u32>,
    /// Per element, its uuid's slot before the write (`NO_SLOT`: none),
    /// and its comparisons with the stored record ([`Compared`]). Still
    /// its slot when the element is applied: a write frees only the
    /// removals, which are records not in the batch. `NO_SLOT` may have
    /// become a slot by then (an earlier element of the same uuid).
    stored: Vec<Stored>,
    bulk: bool,
}

/// Stored records a write reads ahead, a chunk at a time, before
/// comparing or updating them (`Tables::warm`; chosen, not tuned). A 10%
/// re-report at 1M records: its updates 36 to 40 ms without, 31 to 36 ms
/// with (when they compared); its lookups and comparisons in the plan 35
/// → 20 ms.
const WARM: usize = 32;

/// What the store holds for an element of a write, before the write.
#[derive(Clone, Copy)]
struct Stored {
    /// Its uuid's slot (`NO_SLOT`: none).
    slot: u32,
    /// Whether the record at `slot` has the element's natural key.
    keeps_key: bool,
    /// The element compared with the record at `slot` (none without
    /// one, or for a uuid's later element, whose record an earlier one
    /// writes first).
    pre: Option<Compared>,
}

/// An element compared with its stored record, before the write
/// ([`Tables::look_up_batch`]): the comparisons a write applies with,
/// made on two cores with the lookups. `own` holds while no earlier
/// element writes the record (a later element of the same uuid gets
/// none); `shared` while no earlier element changes an entity (the
/// apply tracks that, and compares again after).
#[derive(Clone, Copy)]
struct Compared {
    own: OwnSame,
    shared: bool,
}

/// Whether an element of a write is valid and inside the write's filter;
/// the error names the first check it fails.
fn check(filter: Option<&Filter>, index: usize, r: &Record) -> Result<(), WriteError> {
    r.validate()
        .map_err(|error| WriteError::Invalid { index, error })?;
    if let Some(f) = filter {
        f.matches(r)
            .map_err(|param| WriteError::OutsideFilter { index, param })?;
    }
    Ok(())
}

impl Tables {
    /// Per element of a write, what the store holds for it, and the first
    /// element that fails [`check`], if any: what planning the write reads
    /// of the store element by element, apart from the natural keys'
    /// overlay, which depends on the elements before; and each element
    /// compared with its stored record ([`Compared`]). Reads only, so a
    /// big write's halves are looked up on two threads (a 10% re-report
    /// at 1M records: the plan 18.6 → 13 ms before it compared; with the
    /// comparisons 20 ms, its updates 29 → 10 ms).
    fn look_up_batch(
        &self,
        filter: Option<&Filter>,
        records: &[Record],
    ) -> (Vec<Stored>, Option<usize>) {
        let look_up = |from: usize, records: &[Record]| {
            let mut first_bad = None;
            let mut stored = Vec::with_capacity(records.len());
            let mut slots = [NO_SLOT; WARM];
            for (c, chunk) in records.chunks(WARM).enumerate() {
                // The chunk's lookups first, then its records read ahead
                // (`warm`), then the comparisons: each step's reads
                // overlap across the chunk, where element by element each
                // waited for the one before.
                for (slot, r) in slots.iter_mut().zip(chunk) {
                    *slot = self.slot_of(&r.uuid).unwrap_or(NO_SLOT);
                }
                self.warm(slots[..chunk.len()].iter().copied(), true);
                for (i, (r, &slot)) in chunk.iter().zip(&slots).enumerate() {
                    let index = from + c * WARM + i;
                    if first_bad.is_none() && check(filter, index, r).is_err() {
                        first_bad = Some(index);
                    }
                    let found = (slot != NO_SLOT).then_some(slot);
                    let pre = found.map(|s| Compared {
                        own: self.own_same(s, r),
                        shared: self.shared_equal(s, r),
                    });
                    // The natural key: the component usage and the
                    // username, which `own` compared.
                    let keeps_key = found.zip(pre).is_some_and(|(s, c)| {
                        c.own.username && self.cus.get(self.row(s).cu).uuid == r.component_usage
                    });
                    stored.push(Stored {
                        slot,
                        keeps_key,
                        pre,
                    });
                }
            }
            (stored, first_bad)
        };
        if records.len() < PARALLEL_MIN || par::cores() < 2 {
            return look_up(0, records);
        }
        let mid = records.len() / 2;
        let ((mut a, bad_a), (b, bad_b)) = par::join(
            || look_up(0, &records[..mid]),
            || look_up(mid, &records[mid..]),
        );
        a.extend_from_slice(&b);
        (a, bad_a.or(bad_b))
    }

    /// Which of the record's own fields at `slot` already equal `r`'s,
    /// each compared once: the write keeps what is equal.
    fn own_same(&self, slot: u32, r: &Record) -> OwnSame {
        let row = self.row(slot);
        OwnSame {
            user: self.user_of(slot) == r.user,
            username: same(self.usernames.dict.str(row.username), &r.username),
            text: {
                let (description, backend_id) = self.texts.get(row.text);
                same(description, &r.description) && same(backend_id, &r.backend_id)
            },
            values: row.usage() == r.usage.cents()
                && row.created() == to_micros(r.created)
                && row.modified() == to_micros(r.modified),
        }
    }

    /// Whether the entity attributes that `r` carries (SPEC §1.3) are already
    /// those of the record at `slot`: then writing `r` changes no entity.
    fn shared_equal(&self, slot: u32, r: &Record) -> bool {
        // Each entity read once, the numbers compared before the strings (a
        // re-report compares them all: the accessors walked the chain from
        // the row again for each field).
        let t = self;
        let cu = t.cus.get(t.row(slot).cu);
        let kind = t.kind_of(cu);
        let res = t.resources.get(cu.resource);
        let offering = t.offerings.get(res.offering);
        let project = t.projects.get(res.project);
        let customer = t.customers.get(project.customer);
        cu.uuid == r.component_usage
            && cu.date() == to_micros(r.date)
            && kind.period == date_to_day(r.billing_period)
            && res.uuid == r.resource_uuid
            && offering.uuid == r.offering_uuid
            && project.uuid == r.project_uuid
            && customer.uuid == r.customer_uuid
            && same(t.types.str(kind.ctype), &r.component_type)
            && same(t.units.str(kind.unit), &r.measured_unit)
            && same(&res.name, &r.resource_name)
            && same(&offering.name, &r.offering_name)
            && same(&project.name, &r.project_name)
            && same(&customer.name, &r.customer_name)
    }

    /// The elements of a write that share their uuid, their natural key
    /// or the key their record leaves with another element (by a 64-bit
    /// hash of each: a collision only marks more), as a bit per element;
    /// `None` (every element shares) when fewer than [`SHARED_MIN`]
    /// elements change a key (`moving` do), where sorting would cost more than the
    /// overlay it spares. O(k log k) for k elements.
    ///
    /// The plan's overlay (which uuid holds each key as the write
    /// proceeds) needs entries for the shared ones alone: a load of 1M
    /// records filled both its maps for every record: the plan's loop
    /// over the elements took 280-300 ms of a 2.3 s load, 40-50 ms since,
    /// and the whole plan, this included, 325-365 ms, 176-189 ms since.
    fn shared_keys(
        &self,
        records: &[Record],
        stored: &[Stored],
        moving: usize,
    ) -> Option<SlotBits> {
        if moving < SHARED_MIN {
            return None;
        }
        let key_hash = |cu: &Uuid, name: &str| self.hasher.hash_one((cu, name));
        // Tokens of uuids and keys, told apart by their low bit, sorted.
        let sorted = |from: usize, records: &[Record], stored: &[Stored]| {
            let mut tokens: Vec<(u64, u32)> = Vec::with_capacity(2 * records.len());
            for (i, (r, s)) in records.iter().zip(stored).enumerate() {
                let i = (from + i) as u32;
                tokens.push((self.uuid_hash(&r.uuid) | 1, i));
                if !s.keeps_key {
                    tokens.push((key_hash(&r.component_usage, &r.username) & !1, i));
                    if s.slot != NO_SLOT {
                        let row = self.row(s.slot);
                        let name = self.usernames.dict.str(row.username);
                        tokens.push((key_hash(&self.cus.get(row.cu).uuid, name) & !1, i));
                    }
                }
            }
            tokens.sort_unstable();
            tokens
        };
        let mut shared = SlotBits::below(records.len());
        let mut mark = |run: &[(u64, u32)]| {
            if run.len() > 1 {
                for &(_, i) in run {
                    shared.insert(i);
                }
            }
        };
        if records.len() >= PARALLEL_MIN && par::cores() >= 2 {
            // Each half on a core, then the runs of equal tokens found
            // across both in one merged walk (a 1M load's plan: 204-217
            // ms with one core for this, 176-189 ms so; merging the
            // halves by a sort took 36 ms).
            let mid = records.len() / 2;
            let (a, b) = par::join(
                || sorted(0, &records[..mid], &stored[..mid]),
                || sorted(mid, &records[mid..], &stored[mid..]),
            );
            let (mut x, mut y) = (a.as_slice(), b.as_slice());
            let mut run: Vec<(u64, u32)> = Vec::new();
            loop {
                let next = match (x.first(), y.first()) {
                    (Some(p), Some(q)) if p.0 <= q.0 => &mut x,
                    (Some(_), Some(_)) | (None, Some(_)) => &mut y,
                    (Some(_), None) => &mut x,
                    (None, None) => break,
                };
                let t = next[0];
                *next = &next[1..];
                if run.first().is_some_and(|r| r.0 != t.0) {
                    mark(&run);
                    run.clear();
                }
                run.push(t);
            }
            mark(&run);
        } else {
            for run in sorted(0, records, stored).chunk_by(|a, b| a.0 == b.0) {
                mark(run);
            }
        }
        Some(shared)
    }
}

/// Elements changing a key from which a write's plan finds the shared
/// ones ([`Tables::shared_keys`]; chosen, not tuned). One under the
/// fuzzer, as [`PARALLEL_MIN`] is two.
const SHARED_MIN: usize = if cfg!(fuzzing) { 1 } else { 4096 };

/// Drops the comparisons of each uuid's later elements: an earlier
/// element writes their record first. `slots` bounds the stored slots
/// (the arena's length). O(k log k) for k stored elements, or O(k +
/// slots / 64) with a bit per slot once k is at least a 64th of the
/// slots: a 10% re-report at 1M records sorted its 107,000 elements'
/// slots in 1.7 to 1.9 ms, and finds the repeats by bits in 0.24 ms.
fn forget_repeats(stored: &mut [Stored], slots: usize) {
    let found = || (stored.iter().enumerate()).filter(|(_, s)| s.slot != NO_SLOT);
    if found().count() * 64 >= slots {
        let mut seen = SlotBits::below(slots);
        for s in stored.iter_mut().filter(|s| s.slot != NO_SLOT) {
            if !seen.insert(s.slot) {
                s.pre = None;
            }
        }
        return;
    }
    let mut order: Vec<u64> = found()
        .map(|(i, s)| (u64::from(s.slot) << 32) | i as u64)
        .collect();
    order.sort_unstable();
    for w in order.windows(2) {
        // Sorted by slot, then element: all but a slot's first element.
        if w[0] >> 32 == w[1] >> 32 {
            stored[(w[1] & u64::from(u32::MAX)) as usize].pre = None;
        }
    }
}

/// Where an element of a write goes, as far as the plan knows.
#[derive(Clone, Copy)]
enum Slot {
    /// Its uuid's slot before the write, and the plan's comparisons with
    /// the record there, if still true.
    Stored(u32, Option<Compared>),
    /// Not stored before the write: the slot reserved for it, if any
    /// (`None`: a later element of a uuid, or a write without reserved
    /// slots; looked up then).
    Fresh(Option<u32>),
}

/// Which of a record's own fields a write leaves as stored; made by
/// [`Tables::own_same`].
#[derive(Clone, Copy)]
struct OwnSame {
    user: bool,
    username: bool,
    text: bool,
    /// Usage, created and modified.
    values: bool,
}

/// Entities a write detached rows from: removed at the end if no record reaches them any more.
#[derive(Default)]
struct Garbage {
    cus: Vec<u32>,
    resources: Vec<u32>,
    offerings: Vec<u32>,
    projects: Vec<u32>,
    customers: Vec<u32>,
    usernames: Vec<u32>,
    types: Vec<u32>,
}

impl Core {
    /// Checks a write against the current state, element by element in
    /// order, as if applied one by one: the first offending element is
    /// reported. Changes nothing.
    pub(crate) fn plan_write(
        &self,
        filter: Option<&Filter>,
        records: &[Record],
    ) -> Result<WritePlan, WriteError> {
        // The natural-key state as the write proceeds, overlaid on the store.
        // Sized at their first entry (`reserve` below): a re-report adds none.
        let mut key_holder: HashMap<(Uuid, &str), Option<Uuid>> = HashMap::new();
        let mut uuid_key: HashMap<Uuid, Option<(Uuid, &str)>> = HashMap::new();
        let mut removals = Vec::new();
        if let Some(f) = filter {
            let keep: HashSet<Uuid> = records.iter().map(|r| r.uuid).collect();
            let q = crate::Query::new()
                .with_filter(f.clone())
                .with_scope(Scope::everything());
            for slot in self.matching(&q).iter() {
                let row = self.row(slot);
                if keep.contains(&row.uuid) {
                    continue;
                }
                let key = (self.t.cus.get(row.cu).uuid, self.username_of(slot));
                key_holder.insert(key, None);
                uuid_key.insert(row.uuid, None);
                removals.push(slot);
            }
        }
        let (mut stored, first_bad) = self.t.look_up_batch(filter, records);
        forget_repeats(&mut stored, self.t.rows.len());
        let moving = stored.iter().filter(|s| !s.keeps_key).count();
        let shared = self.t.shared_keys(records, &stored, moving);
        for (index, r) in records.iter().enumerate() {
            if first_bad == Some(index) {
                check(filter, index, r)?;
            }
            let key = (r.component_usage, r.username.as_str());
            let Stored {
                slot, keeps_key, ..
            } = stored[index];
            // Overlay entries only for what the write changes: a
            // re-report keeping its natural key, where neither the key
            // nor the uuid was touched by an earlier element, leaves both
            // maps reading the store's answer (its own uuid holds its own
            // key), so it adds nothing. A 30-minute re-report of 10% of
            // the store inserted three entries per record for nothing
            // (1M records: 49 → 17 ms of planning).
            let untouched =
                |k: &(Uuid, &str)| !key_holder.contains_key(k) && !uuid_key.contains_key(&r.uuid);
            if keeps_key && untouched(&key) {
                continue;
            }
            // No other element has its uuid, its key or the key it leaves,
            // and none was touched before (removals): the store alone says
            // who holds the key, and no later element asks the overlay
            // about them.
            let alone =
                shared.as_ref().is_some_and(|b| !b.contains(index as u32)) && untouched(&key);
            let holder = match key_holder.get(&key) {
                Some(h) => *h,
                // A re-report keeps its natural key: the stored record holds it.
                None if keeps_key => Some(r.uuid),
                None => self.key_holder(r.component_usage, &r.username),
            };
            if let Some(h) = holder
                && h != r.uuid
            {
                return Err(WriteError::Conflict {
                    index,
                    component_usage: r.component_usage,
                    username: r.username.to_string(),
                    holder: h,
                });
            }
            if alone {
                continue;
            }
            let stored_key =
                (slot != NO_SLOT).then(|| (self.cu_of(slot).uuid, self.username_of(slot)));
            let old_key = match uuid_key.get(&r.uuid) {
                Some(k) => *k,
                None => stored_key,
            };
            if uuid_key.capacity() == 0 && shared.is_none() {
                // Sized for the elements changing a key (fewer than
                // `SHARED_MIN` here; a kept key inserts only when an
                // earlier element touched it). With `shared`, only the
                // shared elements insert: grown by doubling. (Sized for
                // every later element before, a re-report of n records
                // changing one username reserved both for up to n entries.)
                let n = moving.min(records.len() - index);
                key_holder.reserve(n);
                uuid_key.reserve(n);
            }
            if let Some(k) = old_key {
                key_holder.insert(k, None);
            }
            key_holder.insert(key, Some(r.uuid));
            uuid_key.insert(r.uuid, Some(key));
        }
        let k = records.len() + removals.len();
        // Deferring view upkeep costs one O(n) pass per view; worth it once
        // the keyed updates would cost more (measured break-even ~ n/256).
        let bulk = k >= 64 && k * 256 >= self.len();
        Ok(WritePlan {
            removals,
            stored,
            bulk,
        })
    }

    /// The uuid holding a natural key in the store.
    fn key_holder(&self, cu: Uuid, username: &str) -> Option<Uuid> {
        let cu = self.t.cus.id(&cu)?;
        let u = self.t.usernames.dict.id(username)?;
        let slot = self.t.slot_of_key(cu, u)?;
        Some(self.row(slot).uuid)
    }

    /// Forgets what the write that just ended made stale in the caches
    /// queries fill between writes (`store/cache.rs`): every write calls it
    /// last. O(records the write changed), or O(entries) to forget them all.
    pub(crate) fn settle_derived(&mut self) {
        let stale = &mut self.stale;
        if stale.all {
            self.tails.clear();
            self.day_starts.clear();
            self.period_counts.clear();
            self.day_types.clear();
            self.offering_days.clear();
            self.offering_periods.clear();
            self.offering_types.clear();
            self.typed_runs.clear();
            self.needle_rows.clear();
            self.flat_offerings.clear();
            self.set_days.clear();
            self.cuts.clear();
            self.group_orders.clear();
        } else {
            let t = &self.t;
            // A query's matches are tested by each record's links and
            // name, and its keys: without a change to the first, kept
            // day counts follow the key notes, and kept orders of its
            // matches stay unless a note or a move touches one.
            if stale.relinked() || stale.keys.len() + stale.moved.len() > FOLLOW_MAX {
                self.set_days.clear();
                self.group_orders.clear();
            } else {
                (self.set_days).adjust(&stale.keys, |f, scope| SlotTest::new(t, f, scope));
                if stale.any() || stale.sorted {
                    self.group_orders.adjust(|f, scope| {
                        let test = SlotTest::new(t, f, scope);
                        (stale.keys.iter()).any(|c| test.admits(c.slot, c.keys))
                            || (stale.moved.iter()).any(|&s| test.admits(s, t.slot_keys(s)))
                    });
                }
            }
            if stale.view {
                self.day_starts.clear();
            }
            // By key, not by a scan of the entries: a write touches a few
            // entities, a cache may hold thousands.
            self.tails.forget(&stale.projects);
            self.typed_runs.forget(&stale.projects);
            self.flat_offerings.forget(&stale.offerings);
            // Adjusted, not recounted: most writes (a report re-dating its
            // component usage) change no count at all.
            self.cuts.forget(&stale.counts);
            self.period_counts.adjust(&stale.counts);
            self.period_counts.forget(&stale.customers);
            let keys = &stale.keys;
            self.day_types
                .adjust(keys.iter().map(|c| ((c.keys.2, c.keys.0), c.n())));
            // (Forgotten first: an offering that gained or lost records
            // is counted anew.)
            self.offering_days.forget(&stale.offerings);
            (self.offering_days).adjust(
                keys.iter()
                    .map(|c| ((c.offering, (c.keys.0, c.keys.2)), c.n())),
            );
            self.offering_periods.forget(&stale.offerings);
            (self.offering_periods).adjust(
                keys.iter()
                    .map(|c| ((c.offering, (c.keys.1, c.keys.2)), c.n())),
            );
            self.offering_types.forget_offerings(&stale.offerings);
            self.offering_types.adjust(keys);
            (self.needle_rows).adjust(
                &stale.names,
                keys,
                |n| t.usernames.search(n).ids,
                |s| t.slot_keys(s),
            );
        }
        stale.reset();
    }

    /// Applies a planned write. Infallible: everything that could fail was checked by `plan_write`.
    pub(crate) fn apply_write(&mut self, plan: WritePlan, records: &[Record]) -> WriteSummary {
        // Everything moves in a bulk write: no note per record.
        self.stale.all |= plan.bulk;
        let mut sum = WriteSummary::default();
        let mut g = Garbage::default();
        if plan.bulk {
            self.deferred = Some(Default::default());
        }
        for slot in plan.removals {
            self.remove_inner(slot, &mut g);
            sum.removed += 1;
        }
        let hints = if plan.bulk {
            self.reserve_slots(records, &plan.stored)
        } else {
            Vec::new()
        };
        // Whether an element so far changed an entity: the plan's
        // comparisons with entities are stale from then on.
        let mut entities_changed = false;
        for (i, r) in records.iter().enumerate() {
            if i % WARM == 0 {
                let ahead = &plan.stored[i..(i + WARM).min(records.len())];
                // The plan compared them: the rows alone are read again.
                self.t.warm(ahead.iter().map(|e| e.slot), false);
            }
            let hint = hints.get(i).copied().filter(|&h| h != u32::MAX);
            let at = match plan.stored[i] {
                // A reserved slot is a uuid's first element: not stored yet.
                Stored { slot: NO_SLOT, .. } if hint.is_some() => Slot::Fresh(hint),
                // Perhaps written by an earlier element of the same uuid.
                Stored { slot: NO_SLOT, .. } => Slot::Fresh(None),
                Stored { slot, pre, .. } => Slot::Stored(slot, pre),
            };
            match self.upsert_inner(r, at, &mut entities_changed, &mut g) {
                crate::WriteOutcome::Inserted => sum.inserted += 1,
                crate::WriteOutcome::Replaced => sum.replaced += 1,
                crate::WriteOutcome::Unchanged => sum.unchanged += 1,
            }
        }
        // Freed before the flush, the write's peak (12 and 4 bytes per
        // element: 309.1 MiB above the input during a 1M load, 317 MiB
        // before).
        drop(plan.stored);
        drop(hints);
        self.flush_deferred();
        self.collect(g);
        if plan.bulk {
            // A cache is loaded once and then mostly updated in place: give
            // back what the tables' growth reserved beyond their contents.
            self.shrink_tables();
        }
        // After a load (a write of at least a quarter of the store), compact
        // the bitmaps too: O(containers), worth it only when most are new.
        if plan.bulk && records.len() * 4 >= self.len() {
            self.compact_bitmaps();
            self.renumber_cus();
        }
        self.settle_derived();
        sum
    }

    /// Gives back the arenas' spare capacity (growth reserves by doubling).
    pub(crate) fn shrink_tables(&mut self) {
        let t = &mut self.t;
        t.rows.shrink_to_fit();
        t.free.shrink_to_fit();
        t.cus.shrink_to_fit();
        t.resources.shrink_to_fit();
        t.offerings.shrink_to_fit();
        t.projects.shrink_to_fit();
        t.customers.shrink_to_fit();
        t.users.shrink_to_fit();
        t.texts.shrink_to_fit();
        t.usernames.shrink_to_fit();
    }

    /// Rewrites every bitmap at exact capacity, entity bitmaps run-compressed.
    /// O(containers).
    pub(crate) fn compact_bitmaps(&mut self) {
        self.stale.all = true;
        self.settle_derived();
        let t = &mut self.t;
        // Bulk slots are numbered customer by customer and project by
        // project (`reserve_slots`), so these bitmaps are mostly runs: run
        // containers hold them in a fraction of the arrays' bytes. Every bitmap grew by appends
        // (its container list and arrays by doubling): a clone holds the
        // same values at exact capacity.
        let entities = (t.resources.iter_mut().map(|(_, e)| &mut e.rows))
            .chain(t.projects.iter_mut().map(|(_, e)| &mut e.rows))
            .chain(t.customers.iter_mut().map(|(_, e)| &mut e.rows))
            .chain(t.offerings.iter_mut().map(|(_, e)| &mut e.rows));
        for b in entities {
            b.optimize();
            *b = b.clone();
        }
        for (_, c) in t.customers.iter_mut() {
            c.projects.shrink_to_fit();
        }
        let others = (t.periods.values_mut())
            .chain(t.days.values_mut())
            .chain(t.usernames.dict.payloads_mut())
            .chain(t.types.payloads_mut())
            .chain(std::iter::once(&mut t.live));
        for b in others {
            *b = b.clone();
        }
    }

    /// Renumbers the component usages in the order of their first record's
    /// slot. O(records + component usages).
    ///
    /// A load creates component usages in input order while slots are
    /// numbered entity by entity, so a filter's records (consecutive slots)
    /// would reach their component usages all over a table of tens of
    /// megabytes: a cache miss per record for every date, period or type
    /// test and sort key. In slot order, they are read almost sequentially
    /// (a customer ∧ type ∧ year query: 880 → 650 µs at 1M records).
    pub(crate) fn renumber_cus(&mut self) {
        let t = &mut self.t;
        let mut seen = vec![false; t.cus.id_bound()];
        let order: Vec<u32> = t
            .live
            .iter()
            .filter_map(|slot| {
                let cu = t.rows[slot as usize].as_ref().expect("live slot").cu;
                (!std::mem::replace(&mut seen[cu as usize], true)).then_some(cu)
            })
            .collect();
        let map = t.cus.renumber(order);
        for row in t.rows.iter_mut().flatten() {
            row.cu = map[row.cu as usize];
        }
    }

    /// Reserves fresh slots for the records of a bulk write whose uuid is
    /// new, numbered by customer, project, then the reverse of the default
    /// order (report date, type name descending, uuid descending): a
    /// customer's or project's records then sit in a few consecutive
    /// slots, which keeps its bitmap to a container or two instead of one
    /// per 65,536 slots, and a project's run is its sequence
    /// (`Project::sorted_until`), so a page of it is a slice read
    /// backwards. (A resource's records are then spread over its project's
    /// run: its bitmap is an array, not a run, 0.8 bytes a record more.)
    /// Returns the slot per record index (`u32::MAX`: none reserved).
    fn reserve_slots(&mut self, records: &[Record], stored: &[Stored]) -> Vec<u32> {
        let mut fresh: Vec<usize> = (0..records.len())
            .filter(|&i| stored[i].slot == NO_SLOT)
            .collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        // A uuid's first element only: a later one replaces it.
        let mut seen = hashbrown::HashSet::with_capacity(fresh.len());
        fresh.retain(|&i| seen.insert(records[i].uuid));
        fresh.sort_unstable_by_key(|&i| {
            let r = &records[i];
            (
                r.customer_uuid,
                r.project_uuid,
                r.date.timestamp_micros(),
                std::cmp::Reverse(r.component_type.as_str()),
                std::cmp::Reverse(r.uuid),
            )
        });
        let base = self.t.rows.len();
        assert!(
            base + fresh.len() <= u32::MAX as usize,
            "fewer than 2^32 records"
        );
        self.t.rows.resize_with(base + fresh.len(), || None);
        let mut hints = vec![u32::MAX; records.len()];
        for (k, i) in fresh.into_iter().enumerate() {
            hints[i] = (base + k) as u32;
        }
        hints
    }

    /// Removes a live slot from everything and frees it.
    pub(crate) fn remove_slot(&mut self, slot: u32) {
        let mut g = Garbage::default();
        self.remove_inner(slot, &mut g);
        self.collect(g);
        self.settle_derived();
    }

    fn remove_inner(&mut self, slot: u32, g: &mut Garbage) {
        self.note_garbage(slot, g);
        self.detach_row(slot);
        let old = self.t.rows[slot as usize].take().expect("live slot");
        self.t.release_user(old.user);
        self.t.texts.remove(old.text);
        self.t.free.push(slot);
    }

    /// Remembers the entities of a slot about to lose it.
    fn note_garbage(&self, slot: u32, g: &mut Garbage) {
        let (res, o, p, c) = self.t.chain(slot);
        let row = self.row(slot);
        g.cus.push(row.cu);
        g.usernames.push(row.username);
        g.types.push(self.t.kind_of(self.cu_of(slot)).ctype);
        g.resources.push(res);
        g.offerings.push(o);
        g.projects.push(p);
        g.customers.push(c);
    }

    /// Writes one element; `entities_changed` is set when it changes an
    /// entity (see [`Compared`]).
    fn upsert_inner(
        &mut self,
        r: &Record,
        at: Slot,
        entities_changed: &mut bool,
        g: &mut Garbage,
    ) -> crate::WriteOutcome {
        let (existing, hint, pre) = match at {
            Slot::Stored(s, pre) => (Some(s), None, pre),
            Slot::Fresh(Some(h)) => (None, Some(h), None),
            Slot::Fresh(None) => (self.slot_of(r.uuid), None, None),
        };
        let own = match pre {
            Some(c) => Some(c.own),
            None => existing.map(|s| self.t.own_same(s, r)),
        };
        // A re-report changes a record's own fields only: then the entity
        // lookups and updates are skipped, and the username and offering
        // user ids kept.
        let shared_same = match pre {
            Some(c) if !*entities_changed => c.shared,
            _ => existing.is_some_and(|s| self.t.shared_equal(s, r)),
        };
        if shared_same && own.is_some_and(|o| o.user && o.username && o.text && o.values) {
            return crate::WriteOutcome::Unchanged;
        }
        let cu = match existing {
            Some(s) if shared_same => self.row(s).cu,
            _ => {
                *entities_changed = true;
                self.apply_entities(r, g)
            }
        };
        let kept = |f: fn(&OwnSame) -> bool| existing.filter(|_| own.as_ref().is_some_and(f));
        let uname = match kept(|o| o.username) {
            Some(s) => self.row(s).username,
            None => self.t.usernames.intern(&r.username),
        };
        // Keeping the offering user's id skips its count going up and down.
        let kept_user = kept(|o| o.user);
        let user = match kept_user {
            Some(s) => self.row(s).user,
            None => self.t.retain_user(r.user),
        };
        // A re-report rarely changes the free text: keep its entry then.
        let text = match kept(|o| o.text) {
            Some(s) => self.row(s).text,
            None => self.t.texts.put(&r.description, &r.backend_id),
        };
        let mut row = Row::new(
            r.uuid,
            user,
            cu,
            uname,
            r.usage.cents(),
            to_micros(r.created),
            to_micros(r.modified),
            text,
        );
        match existing {
            Some(s) if self.row(s).cu == cu && self.row(s).username == uname => {
                // Same natural key: only the record's own fields change, and of
                // those only `usage` is a sort key (the site agent's re-report).
                let moved = self.row(s).usage() != row.usage();
                // The row keeps its place in the component usage's chain.
                row.next = self.row(s).next;
                if moved {
                    self.view_remove(s, &[ViewKind::Usage]);
                }
                let old = self.t.rows[s as usize].replace(row).expect("live slot");
                if kept_user.is_none() {
                    self.t.release_user(old.user);
                }
                if old.text != text {
                    self.t.texts.remove(old.text);
                }
                // In a bulk write the removal marked the slot for the flush,
                // which places it anew: a second mark is a bitmap search for
                // nothing.
                if moved && self.deferred.is_none() {
                    self.view_insert(s, &[ViewKind::Usage]);
                }
                crate::WriteOutcome::Replaced
            }
            Some(s) => {
                self.note_garbage(s, g);
                self.detach_row(s);
                let old = self.t.rows[s as usize].replace(row).expect("live slot");
                if kept_user.is_none() {
                    self.t.release_user(old.user);
                }
                if old.text != text {
                    self.t.texts.remove(old.text);
                }
                self.attach_row(s);
                crate::WriteOutcome::Replaced
            }
            None => {
                let s = match hint.or_else(|| self.t.free.pop()) {
                    Some(s) => {
                        self.t.rows[s as usize] = Some(row);
                        s
                    }
                    None => {
                        self.t.rows.push(Some(row));
                        u32::try_from(self.t.rows.len() - 1).expect("fewer than 2^32 records")
                    }
                };
                self.attach_row(s);
                crate::WriteOutcome::Inserted
            }
        }
    }

    /// Makes the entity attributes `r` carries current (SPEC §1.3), moving
    /// every affected record in the indexes; returns the component usage id.
    fn apply_entities(&mut self, r: &Record, g: &mut Garbage) -> u32 {
        let t = &mut self.t;
        // Customer and offering: names only.
        let c = match t.customers.id(&r.customer_uuid) {
            Some(id) => {
                set_name(&mut t.customers.get_mut(id).name, &r.customer_name);
                id
            }
            None => t.customers.insert(
                r.customer_uuid,
                Customer {
                    uuid: r.customer_uuid,
                    name: r.customer_name.clone(),
                    rows: RoaringBitmap::new(),
                    projects: Vec::new(),
                    type_rows: smallvec::SmallVec::new(),
                },
            ),
        };
        let o = match t.offerings.id(&r.offering_uuid) {
            Some(id) => {
                set_name(&mut t.offerings.get_mut(id).name, &r.offering_name);
                id
            }
            None => t.offerings.insert(
                r.offering_uuid,
                Offering {
                    uuid: r.offering_uuid,
                    name: r.offering_name.clone(),
                    rows: RoaringBitmap::new(),
                },
            ),
        };
        // Project: name, and its customer (moving its records between customers).
        let p = match t.projects.id(&r.project_uuid) {
            Some(id) => {
                let proj = t.projects.get_mut(id);
                set_name(&mut proj.name, &r.project_name);
                let old = proj.customer;
                if old != c {
                    proj.customer = c;
                    let rows = proj.rows.clone();
                    t.move_type_counts(&rows, (old, id), (c, id));
                    let from = t.customers.get_mut(old);
                    from.rows -= &rows;
                    forget_project(&mut from.projects, id);
                    let to = t.customers.get_mut(c);
                    to.rows |= &rows;
                    to.projects.push(id);
                    g.customers.push(old);
                    // The project's tail stays: its records did not change.
                    self.stale.customer(old);
                    self.stale.customer(c);
                }
                id
            }
            None => {
                let id = t.projects.insert(
                    r.project_uuid,
                    Project {
                        uuid: r.project_uuid,
                        name: r.project_name.clone(),
                        customer: c,
                        rows: RoaringBitmap::new(),
                        sorted_until: u32::MAX,
                        type_rows: [0; super::entities::PROJECT_TYPES],
                        run: (0, 0),
                    },
                );
                t.customers.get_mut(c).projects.push(id);
                id
            }
        };
        // Resource: name, offering and project (moving its records).
        let res = match t.resources.id(&r.resource_uuid) {
            Some(id) => {
                let rs = t.resources.get_mut(id);
                set_name(&mut rs.name, &r.resource_name);
                let (old_o, old_p) = (rs.offering, rs.project);
                rs.offering = o;
                rs.project = p;
                if old_o == o && old_p == p {
                    return self.apply_cu(r, id, g);
                }
                let rows = rs.rows.clone();
                if old_o != o {
                    t.offerings.get_mut(old_o).rows -= &rows;
                    t.offerings.get_mut(o).rows |= &rows;
                    g.offerings.push(old_o);
                    self.stale.offering(old_o);
                    self.stale.offering(o);
                }
                if old_p != p {
                    let old_c = t.projects.get(old_p).customer;
                    let from = t.projects.get_mut(old_p);
                    from.rows -= &rows;
                    from.renew_run();
                    let to = t.projects.get_mut(p);
                    to.rows |= &rows;
                    to.renew_run();
                    // The resource's records join the project wherever
                    // their slots are (rare: a resource changed project):
                    // all of it becomes tail.
                    if !rows.is_empty() {
                        to.sorted_until = 0;
                    }
                    t.customers.get_mut(old_c).rows -= &rows;
                    t.customers.get_mut(c).rows |= &rows;
                    t.move_type_counts(&rows, (old_c, old_p), (c, p));
                    g.projects.push(old_p);
                    g.customers.push(old_c);
                    self.stale.project(old_p);
                    self.stale.project(p);
                    self.stale.customer(old_c);
                    self.stale.customer(c);
                }
                id
            }
            None => t.resources.insert(
                r.resource_uuid,
                Resource {
                    uuid: r.resource_uuid,
                    name: r.resource_name.clone(),
                    offering: o,
                    project: p,
                    rows: RoaringBitmap::new(),
                },
            ),
        };
        self.apply_cu(r, res, g)
    }

    /// The component-usage part of [`apply_entities`](Self::apply_entities).
    fn apply_cu(&mut self, r: &Record, res: u32, g: &mut Garbage) -> u32 {
        let t = &mut self.t;
        let (ctype, new) = t.types.intern(&r.component_type, RoaringBitmap::new);
        if new {
            // The ranks order the tails (rare: every entry goes).
            self.stale.all = true;
            t.type_rank = t.type_ranks();
            // A reused id's extent is already zeros (`type_extent`'s invariant).
            if t.type_extent.len() <= ctype as usize {
                t.type_extent.resize(ctype as usize + 1, (0, 0, 0));
            }
        }
        let date = to_micros(r.date);
        let period = date_to_day(r.billing_period);
        let Some(cu) = t.cus.id(&r.component_usage) else {
            let kind = t.retain_kind(period, ctype, &r.measured_unit);
            return t.cus.insert(
                r.component_usage,
                Cu::new(r.component_usage, date, kind, res),
            );
        };
        // Component usage: unit (no index), resource (links), date/period/type (keys and views).
        let old = t.cus.get(cu).clone();
        let old_kind = t.kind_of(&old);
        let same_kind = old_kind.period == period
            && old_kind.ctype == ctype
            && t.units.str(old_kind.unit) == r.measured_unit;
        // The new kind is retained before the old one is released, so the
        // unit they may share is never dropped in between.
        let kind = if same_kind {
            old.kind()
        } else {
            t.retain_kind(period, ctype, &r.measured_unit)
        };
        let moves = old.resource != res;
        let rekeys = old.date() != date || old_kind.period != period || old_kind.ctype != ctype;
        if (moves || rekeys) && old.first != NO_SLOT {
            // Rows pending in a bulk write are attached at its end, from the
            // final attributes: only attached rows move now.
            let mut rows = t.cu_rows(cu);
            if let Some(d) = &self.deferred {
                rows -= &d.pending;
            }
            if moves {
                for s in &rows {
                    self.detach(s, Part::Links);
                }
                // The old chain comes from the entity tables, not from a row:
                // in bulk mode this write's own rows are still pending and
                // `rows` may be empty.
                let r_old = self.t.resources.get(old.resource);
                let (o2, p2) = (r_old.offering, r_old.project);
                let c2 = self.t.projects.get(p2).customer;
                // The rows change customer with their links only: their
                // type's counts move here (their keys may be re-attached
                // below, then from the new customer).
                let p_new = self.t.resources.get(res).project;
                let c_new = self.t.projects.get(p_new).customer;
                self.t
                    .move_type((c2, p2), (c_new, p_new), old_kind.ctype, rows.len() as u32);
                // Likewise their (customer, type, period) counts.
                let n = i64::try_from(rows.len()).expect("fewer than 2^63 rows");
                let (ty, period) = (old_kind.ctype, old_kind.period);
                self.stale.count(c2, ty, period, -n);
                self.stale.count(c_new, ty, period, n);
                g.resources.push(old.resource);
                g.offerings.push(o2);
                g.projects.push(p2);
                g.customers.push(c2);
                self.t.cus.get_mut(cu).resource = res;
                for s in &rows {
                    self.attach(s, Part::Links);
                }
            }
            if rekeys {
                g.types.push(old_kind.ctype);
                for s in &rows {
                    self.detach(s, Part::CuKeys);
                }
                let c = self.t.cus.get_mut(cu);
                c.set_date(date);
                c.set_kind(kind);
                for s in &rows {
                    self.attach(s, Part::CuKeys);
                }
                // Every row of the component usage has its new date now.
                if !rows.is_empty() {
                    let p = self.t.resources.get(res).project;
                    self.t.note_redate(p, &rows);
                }
            }
        } else {
            // No record to move (its last one left earlier in this write).
            g.types.push(old_kind.ctype);
            let c = self.t.cus.get_mut(cu);
            c.resource = res;
            c.set_date(date);
        }
        // A unit alone is in no index: the kind changes without moving anything.
        self.t.cus.get_mut(cu).set_kind(kind);
        if !same_kind {
            self.t.release_kind(old.kind());
        }
        cu
    }

    /// Removes the entities that no record reaches any more.
    fn collect(&mut self, g: Garbage) {
        let t = &mut self.t;
        for id in g.cus {
            if !t.cus.is_free(id) && t.cus.get(id).first == NO_SLOT {
                let cu = t.cus.get(id).clone();
                t.cus.remove(&cu.uuid);
                t.release_kind(cu.kind());
            }
        }
        for id in g.usernames {
            if t.usernames.dict.is_live(id) && t.usernames.dict.payload(id).is_empty() {
                t.usernames.remove(id);
            }
        }
        for id in g.types {
            // After the component-usage sweep every live component usage has records,
            // so a type with no record has no component usage either.
            if t.types.is_live(id) && t.types.payload(id).is_empty() {
                t.types.remove(id);
                t.type_rank = t.type_ranks();
                self.stale.all = true;
            }
        }
        macro_rules! sweep {
            ($table:ident, $ids:expr) => {
                for id in $ids {
                    if !t.$table.is_free(id) && t.$table.get(id).rows.is_empty() {
                        let u = t.$table.get(id).uuid;
                        t.$table.remove(&u);
                    }
                }
            };
        }
        sweep!(resources, g.resources);
        for &id in &g.projects {
            if !t.projects.is_free(id) && t.projects.get(id).rows.is_empty() {
                let c = t.projects.get(id).customer;
                forget_project(&mut t.customers.get_mut(c).projects, id);
            }
        }
        sweep!(projects, g.projects);
        sweep!(offerings, g.offerings);
        // A customer's kept counts went down to zero with its records:
        // they go with it (its id may name another customer next).
        for &id in &g.customers {
            if !t.customers.is_free(id) && t.customers.get(id).rows.is_empty() {
                self.stale.customer(id);
            }
        }
        sweep!(customers, g.customers);
    }
}

/// Whether two strings are equal, compared inline: a record's strings are
/// short (names, a username, a job id), and a re-report compares nine of
/// them per record, where `==` called the library's `memcmp` for each
/// (a 10% re-report's record updates at 1M records: 40.7 → 32.5 ms).
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_ne_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let n = a.len();
    if n >= 8 {
        // Whole words, the last one overlapping the one before.
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    let mut x = 0u64;
    for (p, q) in a.iter().zip(b) {
        x = (x << 8) | u64::from(p ^ q);
    }
    x == 0
}

/// Drops project `id` from a customer's project list (`Customer::projects`).
fn forget_project(projects: &mut Vec<u32>, id: u32) {
    if let Some(i) = projects.iter().position(|&p| p == id) {
        projects.swap_remove(i);
    }
}

fn set_name(name: &mut CompactString, new: &CompactString) {
    if name != new {
        name.clone_from(new);
    }
}

#[cfg(all(test, feature = "demo"))]
mod tests {
    use chrono::Datelike;
    use uuid::Uuid;

    use crate::demo::{Demo, DemoConfig};
    use crate::{Query, Record, Store, Usage};

    /// The customers with cached period counts, and the projects with a
    /// cached tail, by uuid, sorted.
    fn cached(store: &Store) -> (Vec<Uuid>, Vec<Uuid>) {
        let core = store.core.read();
        let t = &core.t;
        let mut customers: Vec<Uuid> = (core.period_counts.entries().iter())
            .map(|((c, _, _), _)| t.customers.get(*c).uuid)
            .collect();
        let mut projects: Vec<Uuid> = (core.tails.entries().iter())
            .map(|(p, _)| t.projects.get(*p).uuid)
            .collect();
        for v in [&mut customers, &mut projects] {
            v.sort_unstable();
            v.dedup();
        }
        (customers, projects)
    }

    /// A batch's elements see the entities as the elements before them
    /// left them: the plan compares every element with the store before
    /// the write (`Compared`), which an element after one that renames an
    /// entity must not trust. Every entity attribute a record carries, in
    /// turn: the first element changes it, the second (another record
    /// of the same entity) carries the old value back, and the last wins.
    /// Then a uuid twice, the second element restoring the first's change.
    #[test]
    fn later_elements_see_earlier_writes() {
        type Change = fn(&mut Record);
        let changes: [(&str, Change); 6] = [
            ("project_name", |r| r.project_name = "Renamed".into()),
            ("customer_name", |r| r.customer_name = "Renamed".into()),
            ("offering_name", |r| r.offering_name = "Renamed".into()),
            ("resource_name", |r| r.resource_name = "Renamed".into()),
            ("date", |r| r.date += chrono::Duration::days(1)),
            ("measured_unit", |r| r.measured_unit = "kg".into()),
        ];
        for (field, change) in changes {
            let a = Record::example();
            let mut b = Record::example();
            b.uuid = Uuid::from_u128(2);
            b.username = "other".into();
            let store = Store::new();
            store.upsert_batch(&[a.clone(), b.clone()]).expect("valid");
            let mut first = a.clone();
            change(&mut first);
            let s = store.upsert_batch(&[first, b.clone()]).expect("valid");
            assert_eq!((s.replaced, s.unchanged), (2, 0), "{field}");
            let all = crate::Scope::everything();
            assert_eq!(
                store.get(a.uuid, &all),
                Some(a),
                "{field}: the old value won"
            );
            assert_eq!(store.get(b.uuid, &all), Some(b), "{field}");
            store.validate().expect("invariants");
        }
        // A uuid twice: the second element restores what the first
        // changed, so its comparison made before the write is stale. Alone
        // in the store, and among 200 other records (`forget_repeats`
        // finds repeats by a bit per slot in a write that big next to the
        // store, else by a sort).
        for others in [0, 200] {
            let a = Record::example();
            let store = Store::new();
            store.upsert(&a).expect("valid");
            let rest: Vec<Record> = (0..others)
                .map(|i| {
                    let mut r = a.clone();
                    r.uuid = Uuid::from_u128(1000 + i);
                    r.username = format!("user{i}").into();
                    r
                })
                .collect();
            store.upsert_batch(&rest).expect("valid");
            let mut changed = a.clone();
            changed.usage = Usage::from_cents(a.usage.cents() + 1);
            changed.description = "changed".into();
            let s = store.upsert_batch(&[changed, a.clone()]).expect("valid");
            assert_eq!((s.replaced, s.unchanged), (2, 0), "{others} others");
            let all = crate::Scope::everything();
            assert_eq!(store.get(a.uuid, &all), Some(a), "{others} others");
            store.validate().expect("invariants");
        }
    }

    /// Big writes (past [`super::SHARED_MIN`] elements changing a key)
    /// find who holds a natural key as small ones do: the elements that
    /// share a uuid or a key with another, in either half of the write,
    /// go through the overlay, the rest ask the store. Each case is a
    /// write of 17,000 fresh records with the case's elements at both
    /// ends, so that a pair falls into different halves (from
    /// [`crate::par::PARALLEL_MIN`] elements, on two threads).
    #[test]
    fn big_writes_see_shared_keys() {
        for n in [5_000, 17_000] {
            shared_keys_in_a_write_of(n);
        }
    }

    fn shared_keys_in_a_write_of(n: u128) {
        let base = Record::example();
        let rec = |uuid: u128, name: &str| {
            let mut r = base.clone();
            r.uuid = Uuid::from_u128(uuid);
            r.username = name.into();
            r
        };
        let stored = rec(1, "stored");
        let filler: Vec<Record> = (0..n).map(|i| rec(1_000 + i, &format!("f{i}"))).collect();
        let write = |head: Vec<Record>, tail: Vec<Record>| {
            let store = Store::new();
            store.upsert(&stored).expect("valid");
            let n = head.len();
            let batch: Vec<Record> = head.into_iter().chain(filler.clone()).chain(tail).collect();
            let before = store
                .read()
                .query(&Query::new())
                .expect("runs")
                .to_records();
            let out = store.upsert_batch(&batch).map(|_| ());
            store.validate().expect("invariants");
            if out.is_err() {
                let after = store
                    .read()
                    .query(&Query::new())
                    .expect("runs")
                    .to_records();
                assert_eq!(after, before, "a failed write changed the store");
            }
            (out, store, n + filler.len())
        };
        let conflict = |index: usize, holder: u128| {
            Err(crate::WriteError::Conflict {
                index,
                component_usage: base.component_usage,
                username: String::new(),
                holder: Uuid::from_u128(holder),
            })
        };
        // Conflicts compared without the username.
        let shape = |r: Result<(), crate::WriteError>| match r {
            Err(crate::WriteError::Conflict { index, holder, .. }) => {
                Err(crate::WriteError::Conflict {
                    index,
                    component_usage: base.component_usage,
                    username: String::new(),
                    holder,
                })
            }
            other => other,
        };
        // A fresh record claims the stored record's key.
        let (out, ..) = write(vec![], vec![rec(2, "stored")]);
        assert_eq!(shape(out), conflict(n as usize, 1));
        // The stored record moves to another key first: the key is free.
        let (out, store, _) = write(vec![rec(1, "moved")], vec![rec(2, "stored")]);
        assert_eq!(out, Ok(()));
        let all = crate::Scope::everything();
        assert_eq!(
            store.get(Uuid::from_u128(2), &all).map(|r| r.username),
            Some("stored".into())
        );
        // The claim first, the move after: the stored record still held it.
        let (out, ..) = write(vec![rec(2, "stored")], vec![rec(1, "moved")]);
        assert_eq!(shape(out), conflict(0, 1));
        // Two fresh records with one key, one in each half.
        let (out, _, tail) = write(vec![rec(3, "twice")], vec![rec(4, "twice")]);
        assert_eq!(shape(out), conflict(tail, 3));
        // One fresh uuid twice, its key changed by the second: the first
        // key is free again for a third record after it.
        let (out, store, _) = write(
            vec![rec(5, "first")],
            vec![rec(5, "second"), rec(6, "first")],
        );
        assert_eq!(out, Ok(()));
        assert_eq!(
            store.get(Uuid::from_u128(5), &all).map(|r| r.username),
            Some("second".into())
        );
        assert_eq!(
            store.get(Uuid::from_u128(6), &all).map(|r| r.username),
            Some("first".into())
        );
        assert_eq!(store.len() as u128, n + 3, "{n}");
    }

    #[test]
    fn same_is_string_equality() {
        let base: String = (0..40u8).map(|i| char::from(b'a' + i % 26)).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            assert!(super::same(a, a));
            for m in 0..=base.len() {
                assert_eq!(super::same(a, &base[..m]), n == m, "lengths {n} and {m}");
            }
            // One byte changed at each position.
            for i in 0..n {
                let mut b = a.as_bytes().to_vec();
                b[i] = b'Z';
                let b = std::str::from_utf8(&b).expect("ascii");
                assert!(!super::same(a, b), "{a:?} against {b:?}");
            }
        }
    }

    fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
        v.sort_unstable();
        v
    }

    /// The records [`fixture`] loads: the demo's 40,000 of seed 3.
    fn fixture_records() -> Vec<Record> {
        Demo::new(DemoConfig {
            records: 40_000,
            seed: 3,
        })
        .records()
        .collect()
    }

    /// A demo store, and a record of each of its three largest customers
    /// (each with over 1,024 records, so that their counts are cached) in
    /// a different project, re-dated past every other report so that the
    /// project has a tail.
    fn fixture() -> (Store, [Record; 3]) {
        let records = fixture_records();
        let store = Store::new();
        store
            .upsert_batch(&records)
            .expect("demo records are valid");
        let mut sizes: hashbrown::HashMap<Uuid, usize> = hashbrown::HashMap::new();
        for r in &records {
            *sizes.entry(r.customer_uuid).or_default() += 1;
        }
        let mut by_size: Vec<(usize, Uuid)> = sizes.into_iter().map(|(c, n)| (n, c)).collect();
        by_size.sort_unstable_by(|a, b| b.cmp(a));
        assert!(by_size[2].0 >= 1024, "three customers big enough to count");
        // A record dated between its project's first and last report.
        let of = |c: Uuid| {
            let mut mine: Vec<&Record> = records.iter().filter(|r| r.customer_uuid == c).collect();
            mine.sort_by_key(|r| (r.project_uuid, r.date));
            let p = mine[mine.len() / 2].project_uuid;
            let dated: Vec<&Record> = (mine.into_iter()).filter(|r| r.project_uuid == p).collect();
            let last = dated.last().expect("a record").date;
            later(
                dated
                    .iter()
                    .find(|r| r.date < last)
                    .expect("two report dates"),
            )
        };
        let picked = [of(by_size[0].1), of(by_size[1].1), of(by_size[2].1)];
        for r in &picked {
            store.upsert(r).expect("valid");
        }
        store.validate().expect("invariants");
        (store, picked)
    }

    /// The record re-reported 400 days later.
    fn later(r: &Record) -> Record {
        let mut r = r.clone();
        r.date = r.date + chrono::Days::new(400);
        r
    }

    /// A customer whose kept counts outlive none of its records: removed
    /// one record at a time (each write adjusts the counts down to zero),
    /// its entries go when the customer does.
    #[test]
    fn a_removed_customer_forgets_its_counts() {
        let (store, picked) = fixture();
        let c = picked[2].customer_uuid;
        warm(&store, &[&picked[2]]);
        assert!(
            cached(&store).0.contains(&c),
            "the customer's counts are kept"
        );
        let q = Query::parse(&format!("customer_uuid={}&page_size=100", c.simple())).unwrap();
        loop {
            let (_, page) = store.query(&q).expect("query");
            if page.is_empty() {
                break;
            }
            for r in page {
                store.remove(r.uuid).expect("stored");
            }
        }
        store.validate().expect("invariants");
        assert!(
            !cached(&store).0.contains(&c),
            "no count of a dead customer"
        );
    }

    /// Queries that cache the counts of each record's customer (its type,
    /// its year; every type, its year: counted alone, as a `HEAD`) and its
    /// project's tail.
    fn warm(store: &Store, rs: &[&Record]) {
        let parse = |qs: String| Query::parse(&qs).expect("valid query");
        for r in rs {
            let c = r.customer_uuid.simple();
            let year = r.billing_period.year();
            for qs in [
                format!(
                    "customer_uuid={c}&type={}&billing_period_year={year}",
                    r.component_type
                ),
                format!("customer_uuid={c}&billing_period_year={year}"),
            ] {
                store.read().count(&parse(qs)).expect("count");
            }
            let project = parse(format!("project_uuid={}", r.project_uuid.simple()));
            store.query(&project).expect("query");
        }
    }

    /// The kept count of `r`'s customer, type and billing period, if any.
    fn kept_count(store: &Store, r: &Record) -> Option<u64> {
        let ty = store.core.read().t.types.id(&r.component_type)?;
        kept_of_type(store, r, ty)
    }

    /// The kept count of `r`'s customer and billing period over every
    /// type, if any.
    fn kept_any(store: &Store, r: &Record) -> Option<u64> {
        kept_of_type(store, r, crate::store::cache::ANY_TYPE)
    }

    fn kept_of_type(store: &Store, r: &Record, ty: u32) -> Option<u64> {
        let core = store.core.read();
        let key = (
            core.t.customers.id(&r.customer_uuid)?,
            ty,
            crate::wire::time::date_to_day(r.billing_period),
        );
        (core.period_counts.entries().into_iter()).find_map(|(k, n)| (k == key).then_some(n))
    }

    /// A write forgets the cached tails of the projects whose records it
    /// changed and adjusts the kept counts by its changes (they were all
    /// dropped by every write): a site agent's report for one project
    /// leaves the rest of the store's queries warm. `validate` checks every
    /// entry left after each write.
    #[test]
    fn writes_keep_untouched_entities_caches() {
        let (store, [a, b, _]) = fixture();
        let customers = sorted(vec![a.customer_uuid, b.customer_uuid]);
        let both = (
            customers.clone(),
            sorted(vec![a.project_uuid, b.project_uuid]),
        );
        warm(&store, &[&a, &b]);
        assert_eq!(cached(&store), both, "warm");

        // A re-dated report of the second customer's project: a count
        // moves only with a type, a period or a customer.
        let before = kept_count(&store, &b).expect("warmed");
        let before_any = kept_any(&store, &b).expect("warmed");
        assert!(before_any > before, "the customer has other types");
        let b = later(&b);
        store.upsert(&b).expect("valid");
        assert_eq!(
            cached(&store),
            (customers.clone(), vec![a.project_uuid]),
            "after a report in the second customer's project"
        );
        assert_eq!(kept_count(&store, &b), Some(before));
        assert_eq!(kept_any(&store, &b), Some(before_any));
        store.validate().expect("invariants");

        // A usage alone changes no tail, period or report day.
        warm(&store, &[&a, &b]);
        let mut more = b.clone();
        more.usage = Usage::from_cents(more.usage.cents() + 1);
        store.upsert(&more).expect("valid");
        assert_eq!(cached(&store), both, "after a usage change");

        // Removing the first customer's record forgets its project's tail
        // and takes it from its count.
        let before = kept_count(&store, &a).expect("warmed");
        let before_any = kept_any(&store, &a).expect("warmed");
        store.remove(a.uuid).expect("stored");
        assert_eq!(
            cached(&store),
            (customers, vec![b.project_uuid]),
            "after a removal"
        );
        assert_eq!(kept_count(&store, &a), Some(before - 1));
        assert_eq!(kept_any(&store, &a), Some(before_any - 1));
        store.validate().expect("invariants");

        // A new component type reorders the tails: everything goes.
        warm(&store, &[&b]);
        let mut typed = more.clone();
        typed.component_type = "a-new-type".into();
        store.upsert(&typed).expect("valid");
        assert_eq!(cached(&store), (vec![], vec![]), "after a new type");
        store.validate().expect("invariants");
    }

    /// Entities that move take their records with them, outside the
    /// records' own attach and detach: a component usage's move adjusts
    /// both customers' counts, a resource's or a project's forgets them,
    /// and `validate` checks every entry left.
    #[test]
    fn entity_moves_forget_both_ends() {
        let (store, [a, b, c]) = fixture();
        let attrs = |r: &Record, to: &Record, resource: bool| {
            let mut r = r.clone();
            if resource {
                r.resource_uuid = to.resource_uuid;
                r.resource_name = to.resource_name.clone();
                r.offering_uuid = to.offering_uuid;
                r.offering_name = to.offering_name.clone();
            }
            r.project_uuid = to.project_uuid;
            r.project_name = to.project_name.clone();
            r.customer_uuid = to.customer_uuid;
            r.customer_name = to.customer_name.clone();
            r
        };

        // A component usage moves to another customer's resource: its
        // records leave the first customer's count.
        warm(&store, &[&a, &b, &c]);
        let before = kept_count(&store, &a).expect("warmed");
        let before_any = kept_any(&store, &a).expect("warmed");
        store.upsert(&attrs(&a, &b, true)).expect("valid");
        assert_eq!(
            cached(&store),
            (
                sorted(vec![a.customer_uuid, b.customer_uuid, c.customer_uuid]),
                vec![c.project_uuid]
            ),
            "after a component usage moved"
        );
        assert!(kept_count(&store, &a).expect("kept") < before);
        assert!(kept_any(&store, &a).expect("kept") < before_any);
        store.validate().expect("invariants");

        // A resource moves to another customer's project.
        warm(&store, &[&b, &c]);
        let moved = attrs(&b, &c, false);
        store.upsert(&moved).expect("valid");
        assert_eq!(
            cached(&store),
            (vec![a.customer_uuid], vec![]),
            "after a resource moved"
        );
        store.validate().expect("invariants");

        // A project moves to another customer: its tail stays.
        warm(&store, &[&moved]);
        let mut project = moved.clone();
        project.customer_uuid = a.customer_uuid;
        project.customer_name = a.customer_name.clone();
        store.upsert(&project).expect("valid");
        assert_eq!(
            cached(&store),
            (vec![], vec![moved.project_uuid]),
            "after a project moved"
        );
        store.validate().expect("invariants");
    }

    /// A type's kept counts by report day, if kept.
    fn kept_days(store: &Store, ty: &str) -> Option<Vec<(i32, u32)>> {
        let core = store.core.read();
        let id = core.t.types.id(ty)?;
        (core.day_types.entries().into_iter()).find_map(|(k, v)| (k == id).then(|| v.to_vec()))
    }

    /// The count kept for `r`'s type on `r`'s report day (zero when the
    /// entry has no such day), if the type's counts are kept.
    fn kept_on_day(store: &Store, r: &Record) -> Option<u32> {
        let day = crate::wire::time::micros_to_day(crate::wire::time::to_micros(r.date));
        let days = kept_days(store, &r.component_type)?;
        Some(days.iter().find(|e| e.0 == day).map_or(0, |e| e.1))
    }

    /// A deep page of a type keeps the type's records per report day
    /// (`DayTypeCache`); writes adjust them, a new day included, and a new
    /// component type forgets them. `validate` compares every kept count
    /// with the day's bitmap after each write.
    #[test]
    fn day_type_counts_follow_writes() {
        let (store, [a, b, _]) = fixture();
        let deep = |r: &Record| {
            let q = format!("type={}&page=300", r.component_type);
            store
                .query(&Query::parse(&q).expect("valid query"))
                .expect("query");
        };
        assert_eq!(kept_days(&store, &a.component_type), None, "cold");
        deep(&a);
        let before = kept_on_day(&store, &a).expect("kept by the deep page");
        assert!(before > 0, "the record's own day counts it");
        store.validate().expect("invariants");

        // Re-dated to a day no record had: one fewer on the old day, a new
        // day with one.
        let moved = later(&a);
        assert_eq!(kept_on_day(&store, &moved), Some(0));
        store.upsert(&moved).expect("valid");
        assert_eq!(kept_on_day(&store, &a), Some(before - 1));
        assert_eq!(kept_on_day(&store, &moved), Some(1));
        store.validate().expect("invariants");

        // Removed: the new day's count drops to zero.
        store.remove(moved.uuid).expect("stored");
        assert_eq!(kept_on_day(&store, &moved), Some(0));
        store.validate().expect("invariants");

        // A new component type: every cache goes.
        deep(&b);
        let mut typed = b.clone();
        typed.component_type = "a-new-type".into();
        store.upsert(&typed).expect("valid");
        assert_eq!(kept_days(&store, &b.component_type), None);
        store.validate().expect("invariants");
    }

    /// An offering's report-date range keeps the offering's records per
    /// report day and type (`OfferingDayCache`), its billing period its
    /// records per period and type (`OfferingPeriodCache`), and they count
    /// from them, with a type or without; with a type, the offering's
    /// records of the type are kept (`OfferingTypeCache`). A write that
    /// re-dates or re-periods a record adjusts them (the entries stay, and
    /// the next counts are right), one that re-types a record adjusts the
    /// records of a type, and one that adds a record to the offering
    /// forgets them. `validate` compares every kept count with the day's
    /// or period's bitmap, and the kept records with the two bitmaps,
    /// after each write.
    #[test]
    fn offering_day_and_period_counts_follow_writes() {
        // Kept counts by day or period, and type.
        type Counts = Vec<((i32, u32), u32)>;
        type Kept = (
            Option<Counts>,
            Option<Counts>,
            Option<roaring::RoaringBitmap>,
        );
        let (store, [a, _, _]) = fixture();
        let o = a.offering_uuid.simple();
        let ty = a.component_type.clone();
        let kept = || -> Kept {
            let core = store.core.read();
            let (Some(id), Some(t)) = (core.t.offerings.id(&a.offering_uuid), core.t.types.id(&ty))
            else {
                return (None, None, None);
            };
            let find = |v: Vec<(u32, std::sync::Arc<Counts>)>| {
                v.into_iter()
                    .find_map(|(k, v)| (k == id).then(|| v.to_vec()))
            };
            let rows = (core.offering_types.entries().into_iter())
                .find_map(|(k, v)| (k == (id, t)).then(|| (*v).clone()));
            (
                find(core.offering_days.entries()),
                find(core.offering_periods.entries()),
                rows,
            )
        };
        let next_month = a.billing_period + chrono::Months::new(1);
        // The counts of `a`'s offering from `a`'s report day, in `a`'s
        // billing period and in the next, of every type and of `a`'s,
        // against the records stored.
        let check = || {
            let queries = [
                format!("offering_uuid={o}&date_after={}", a.date.date_naive()),
                format!(
                    "offering_uuid={o}&component_usage__billing_period={}",
                    a.billing_period
                ),
                format!("offering_uuid={o}&component_usage__billing_period={next_month}"),
            ];
            let typed = queries.clone().map(|q| format!("{q}&type={ty}"));
            let counts: Vec<u64> = (queries.iter().chain(&typed))
                .map(|q| {
                    let q = Query::parse(q).expect("valid query");
                    store.read().count(&q).expect("count").count
                })
                .collect();
            // The offering's records, every page of them, read by hand.
            let mut want = [0u64; 6];
            for page in 1.. {
                let q = format!("offering_uuid={o}&page_size=300&page={page}");
                let (info, records) = store
                    .query(&Query::parse(&q).expect("valid"))
                    .expect("a page");
                for r in &records {
                    let of = [
                        r.date.date_naive() >= a.date.date_naive(),
                        r.billing_period == a.billing_period,
                        r.billing_period == next_month,
                    ];
                    for (i, yes) in of.into_iter().enumerate() {
                        want[i] += u64::from(yes);
                        want[i + 3] += u64::from(yes && *r.component_type == *ty);
                    }
                }
                if page >= info.num_pages {
                    break;
                }
            }
            assert_eq!(counts, want, "{queries:?}");
            store.validate().expect("invariants");
        };
        assert_eq!(kept(), (None, None, None), "cold");
        check();
        let (days, periods, rows) = kept();
        let (days, periods) = (days.expect("kept"), periods.expect("kept"));
        assert!(rows.is_some(), "the offering's records of the type kept");

        // Re-dated past every report: adjusted, not forgotten.
        let moved = later(&a);
        store.upsert(&moved).expect("valid");
        let (days2, periods2, rows2) = kept();
        assert_ne!(Some(days), days2, "a new day counted");
        assert_eq!(Some(periods.clone()), periods2, "no period changed");
        assert_eq!(rows, rows2, "no record changed its type");
        check();

        // Moved to the next billing period: adjusted, not forgotten.
        let mut later_period = moved.clone();
        later_period.billing_period = next_month;
        store.upsert(&later_period).expect("valid");
        let (days3, periods3, rows3) = kept();
        assert!(days3.is_some(), "still kept");
        assert_ne!(Some(periods), periods3, "the periods' counts moved");
        assert_eq!(rows, rows3, "no record changed its type");
        check();

        // Re-typed (to a type the store has: a new one forgets every
        // cache): adjusted, not forgotten.
        let mut retyped = later_period.clone();
        retyped.component_type = if *ty == *"storage" { "cpu" } else { "storage" }.into();
        store.upsert(&retyped).expect("valid");
        let (days4, periods4, rows4) = kept();
        assert!(days4.is_some() && periods4.is_some(), "still kept");
        let rows4 = rows4.expect("still kept");
        assert_eq!(
            rows4.len() + 1,
            rows.as_ref().expect("kept").len(),
            "left its type"
        );
        check();

        // A new record of the offering: forgotten, then counted anew.
        let mut new = a.clone();
        new.uuid = Uuid::from_u128(0x0ffe_0000_0000_4000_8000_0000_0000_0001);
        new.component_usage = Uuid::from_u128(0x0ffe_0000_0000_4000_8000_0000_0000_0002);
        store.upsert(&new).expect("valid");
        assert_eq!(kept(), (None, None, None), "a record joined the offering");
        check();
        let (days5, periods5, rows5) = kept();
        assert!(days5.is_some() && periods5.is_some() && rows5.is_some());
    }

    /// The filters whose day counts are kept (`SetDaysCache`).
    fn set_days_kept(store: &Store) -> Vec<crate::query::Filter> {
        let core = store.core.read();
        (core.set_days.entries().into_iter())
            .map(|e| e.filter)
            .collect()
    }

    /// A deep default-order page of an offering with a type keeps the
    /// query's counts by report day; the next page reads them; a write
    /// that changes nothing keeps them, and so do writes that re-date or
    /// re-type a record (the counts adjusted), where one that adds a
    /// record, renames one or removes one forgets them. `validate`
    /// compares an entry with its query's matches after each step.
    #[test]
    fn set_days_follow_writes() {
        let (store, [a, b, _]) = fixture();
        let base = format!(
            "offering_uuid={}&type={}",
            a.offering_uuid.simple(),
            a.component_type
        );
        let page = |n: u64| {
            let q = Query::parse(&format!("{base}&page={n}")).expect("valid query");
            store.query(&q).expect("query").0
        };
        let pages = page(1).num_pages;
        assert!(pages >= 20, "deep enough to skip days: {pages} pages");
        assert!(set_days_kept(&store).is_empty(), "a first page keeps none");
        page(pages / 2);
        let filter = Query::parse(&base).expect("valid query").filter;
        assert_eq!(set_days_kept(&store), vec![filter.clone()]);
        store.validate().expect("invariants");
        page(pages / 2 + 1);
        assert_eq!(set_days_kept(&store).len(), 1, "read, not made again");

        // Unchanged: kept.
        store.upsert(&b).expect("valid");
        assert_eq!(set_days_kept(&store), vec![filter.clone()]);
        store.validate().expect("invariants");
        // Re-dated (a record of the query, then one of another customer):
        // adjusted.
        let days = || {
            let core = store.core.read();
            let e = core.set_days.entries();
            e.first().map(|e| e.days.iter().map(|d| d.1).sum::<u32>())
        };
        let before = days();
        let mut moved = later(&a);
        store.upsert(&moved).expect("valid");
        store.validate().expect("invariants");
        assert_eq!(days(), before, "re-dated, still counted");
        store.upsert(&later(&b)).expect("valid");
        store.validate().expect("invariants");
        assert_eq!(set_days_kept(&store), vec![filter.clone()]);
        // Re-typed out of the query (to another type the store has: a
        // type new to the store forgets everything), and back.
        let other = ["cpu", "ram"]
            .into_iter()
            .find(|&t| *t != *a.component_type);
        moved.component_type = other.expect("two types").into();
        store.upsert(&moved).expect("valid");
        store.validate().expect("invariants");
        assert_eq!(days(), before.map(|n| n - 1), "re-typed out");
        store.upsert(&a).expect("valid");
        store.validate().expect("invariants");
        assert_eq!(days(), before, "re-typed back");
        page(pages / 2 + 2);
        assert_eq!(set_days_kept(&store), vec![filter.clone()]);
        // A new record: forgotten, and made again by the next deep page.
        let mut new = a.clone();
        new.uuid = Uuid::from_u128(0x5e7d_0000_0000_4000_8000_0000_0000_0000);
        new.component_usage = Uuid::from_u128(0x5e7d_0000_0000_4000_8000_0000_0000_0001);
        store.upsert(&new).expect("valid");
        assert!(set_days_kept(&store).is_empty(), "kept after a new record");
        page(pages / 2);
        assert_eq!(days(), before.map(|n| n + 1));
        store.validate().expect("invariants");
        // Renamed: forgotten.
        new.username = "someone else".into();
        store.upsert(&new).expect("valid");
        assert!(set_days_kept(&store).is_empty(), "kept after a rename");
        page(pages / 2);
        store.validate().expect("invariants");
    }

    /// The kept group orders (`GroupOrderCache`): each group, its keys,
    /// and its sorted records.
    fn group_orders_kept(
        store: &Store,
    ) -> Vec<(super::super::cache::GroupOf, String, std::sync::Arc<[u32]>)> {
        let core = store.core.read();
        (core.group_orders.entries().into_iter())
            .map(|e| {
                let keys: Vec<String> = e.keys.iter().map(|k| k.to_string()).collect();
                (e.group, keys.join(","), e.slots)
            })
            .collect()
    }

    /// A page that reaches a big group of equal usage (a quarter of the
    /// records report zero) or a big billing period, ordered by a later
    /// key, keeps the group sorted; the next page reads it; a write that
    /// moves no record in a view keeps it. A write that moves a record's
    /// usage forgets a group of positions, and a group of a query's
    /// matches (the period) only if the record is one of them, or joins
    /// or leaves them. `validate` compares every entry with its group,
    /// after each step.
    #[test]
    fn group_orders_follow_writes() {
        let mut records = fixture_records();
        for (i, r) in records.iter_mut().enumerate() {
            match i % 4 {
                0 => r.usage = Usage::ZERO,
                1 => {
                    r.billing_period = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).expect("a date")
                }
                _ => {}
            }
        }
        let store = Store::new();
        store.upsert_batch(&records).expect("valid");
        let page = |qs: &str| {
            let q = Query::parse(qs).expect("valid query");
            store.query(&q).expect("query");
        };
        let by_usage = "o=usage,username&page_size=100";
        page(&format!("{by_usage}&page=2"));
        assert!(
            group_orders_kept(&store).is_empty(),
            "a page early in the zeros reads the username view"
        );
        page(&format!("{by_usage}&page=50"));
        let kept = group_orders_kept(&store);
        assert_eq!(kept.len(), 1, "the zeros kept");
        assert!(matches!(
            kept[0].0,
            super::super::cache::GroupOf::Positions(..)
        ));
        assert_eq!(kept[0].1, "username");
        let zeros = records.iter().filter(|r| r.usage == Usage::ZERO).count();
        assert_eq!(kept[0].2.len(), zeros, "every zero");
        store.validate().expect("invariants");
        page(&format!("{by_usage}&page=60"));
        let again = group_orders_kept(&store);
        assert!(
            std::sync::Arc::ptr_eq(&kept[0].2, &again[0].2),
            "read, not made again"
        );

        // A new description moves no record: kept.
        let mut b = records[4].clone();
        b.description = "a new description".into();
        store.upsert(&b).expect("valid");
        let again = group_orders_kept(&store);
        assert!(
            std::sync::Arc::ptr_eq(&kept[0].2, &again[0].2),
            "kept after a text change"
        );
        store.validate().expect("invariants");
        // A usage re-reported moves its record in the usage view only (no
        // index changes): forgotten all the same.
        b.usage = Usage::from_cents(123);
        store.upsert(&b).expect("valid");
        assert!(
            group_orders_kept(&store).is_empty(),
            "kept after a usage moved"
        );
        page(&format!("{by_usage}&page=50"));
        assert_eq!(group_orders_kept(&store).len(), 1);
        store.validate().expect("invariants");

        // A big billing period first in the order, by usage next: its
        // first pages are walked, a second page 2,048 records into it
        // since the last write keeps it.
        let by_period =
            "billing_period_year=2024&o=component_usage__billing_period,-usage&page_size=100";
        let early = records
            .iter()
            .filter(|r| r.billing_period.year() == 2024)
            .filter(|r| r.billing_period.month() < 6)
            .count();
        page(&format!("{by_period}&page={}", early / 100 + 2));
        assert_eq!(
            group_orders_kept(&store).len(),
            1,
            "a first page keeps none"
        );
        page(&format!("{by_period}&page={}", early / 100 + 30));
        assert_eq!(
            group_orders_kept(&store).len(),
            1,
            "the first deep page keeps none"
        );
        page(&format!("{by_period}&page={}", early / 100 + 31));
        let kept = group_orders_kept(&store);
        assert_eq!(kept.len(), 2, "and the period");
        assert!(matches!(kept[1].0, super::super::cache::GroupOf::Query(..)));
        assert_eq!(kept[1].1, "-usage");
        store.validate().expect("invariants");
        // A usage re-reported outside the period, and a record of another
        // year re-dated: the positions forgotten, the period's order kept.
        let period = std::sync::Arc::clone(&kept[1].2);
        let mut other = (records.iter())
            .find(|r| r.billing_period.year() != 2024)
            .expect("a record of another year")
            .clone();
        other.usage = Usage::from_cents(4567);
        store.upsert(&other).expect("valid");
        other.date += chrono::Duration::days(3);
        store.upsert(&other).expect("valid");
        let kept = group_orders_kept(&store);
        assert_eq!(kept.len(), 1, "the period's order alone");
        assert!(
            std::sync::Arc::ptr_eq(&kept[0].2, &period),
            "kept as it was"
        );
        store.validate().expect("invariants");
        // A usage re-reported inside it: forgotten, and made again by the
        // second deep page after the write.
        let super::super::cache::GroupOf::Query(f, _) = &kept[0].0 else {
            unreachable!("a query's group")
        };
        let mut inside = (records.iter())
            .find(|r| f.matches(r).is_ok())
            .expect("a record of the period")
            .clone();
        inside.usage = Usage::from_cents(7654);
        store.upsert(&inside).expect("valid");
        assert!(
            group_orders_kept(&store).is_empty(),
            "kept after a match moved"
        );
        page(&format!("{by_period}&page={}", early / 100 + 30));
        page(&format!("{by_period}&page={}", early / 100 + 31));
        assert_eq!(group_orders_kept(&store).len(), 1, "made again");
        store.validate().expect("invariants");
        // One of its records (June 2024's) moved to July: forgotten.
        let mut c = records[1].clone();
        c.billing_period = chrono::NaiveDate::from_ymd_opt(2024, 7, 1).expect("a date");
        store.upsert(&c).expect("valid");
        assert!(
            group_orders_kept(&store).is_empty(),
            "kept after a period changed"
        );
        page(&format!("{by_period}&page={}", early / 100 + 30));
        assert!(
            group_orders_kept(&store).is_empty(),
            "the request forgotten too"
        );
        page(&format!("{by_period}&page={}", early / 100 + 30));
        assert_eq!(group_orders_kept(&store).len(), 1);
        store.validate().expect("invariants");
    }

    /// The kept records of a username search (`NeedleRowsCache`), by uuid, sorted.
    fn needle_uuids(store: &Store, needle: &str) -> Option<Vec<Uuid>> {
        let core = store.core.read();
        let rows = core.needle_rows.get(needle)?;
        let mut v: Vec<Uuid> = rows.iter().map(|s| core.row(s).uuid).collect();
        v.sort_unstable();
        Some(v)
    }

    /// A username search with a type keeps its records; writes adjust
    /// them (a new matching name joins, a renamed or removed record
    /// leaves), an entity filter uses them but makes none, and a write
    /// that moves every record forgets them. `validate` compares every entry with its
    /// names' bitmaps after each write.
    #[test]
    fn needle_rows_follow_writes() {
        let (store, [a, b, c]) = fixture();
        let search = |needle: &str, extra: String| {
            let q = format!("username={needle}&{extra}");
            (store.query(&Query::parse(&q).expect("valid query")))
                .expect("query")
                .0
                .count
        };
        let needle = "zq-needle";
        // An entity filter makes no entry.
        assert_eq!(
            search(
                needle,
                format!("customer_uuid={}", a.customer_uuid.simple())
            ),
            0
        );
        assert_eq!(needle_uuids(&store, needle), None, "made for an entity");
        // A type does, empty: no name matches yet.
        assert_eq!(search(needle, format!("type={}", a.component_type)), 0);
        assert_eq!(needle_uuids(&store, needle), Some(vec![]));

        // Two records move to a new name matching the needle, one to a
        // name that does not.
        let named = |r: &Record, name: &str| {
            let mut r = r.clone();
            r.username = name.into();
            store.upsert(&r).expect("valid");
            store.validate().expect("invariants");
            r
        };
        let a2 = named(&a, "Ann-ZQ-Needle-1");
        let b2 = named(&b, "zq-needle-2");
        named(&c, "zq-other");
        let mut want = vec![a2.uuid, b2.uuid];
        want.sort_unstable();
        assert_eq!(needle_uuids(&store, needle), Some(want));
        let typed = format!("type={}", a.component_type);
        let same_type = usize::from(b.component_type == a.component_type);
        assert_eq!(search(needle, typed.clone()), 1 + same_type as u64);

        // Renamed away, then removed: each leaves the kept records.
        named(&a2, "plain");
        assert_eq!(needle_uuids(&store, needle), Some(vec![b2.uuid]));
        store.remove(b2.uuid).expect("stored");
        store.validate().expect("invariants");
        assert_eq!(needle_uuids(&store, needle), Some(vec![]));
        assert_eq!(search(needle, typed), 0);

        // Kept, the entry serves an entity filter too. A write that moves
        // everything (a new component type reorders the types) forgets it.
        let b3 = named(&b, "zq-needle-3");
        let customer = format!("customer_uuid={}", b3.customer_uuid.simple());
        assert_eq!(search(needle, customer), 1);
        assert_eq!(needle_uuids(&store, needle), Some(vec![b3.uuid]));
        let mut typed = a.clone();
        typed.component_type = "a-new-type".into();
        store.upsert(&typed).expect("valid");
        assert_eq!(
            needle_uuids(&store, needle),
            None,
            "kept after every slot moved"
        );
        store.validate().expect("invariants");
    }

    /// Whether a username search's day counts are kept.
    fn needle_days(store: &Store, needle: &str) -> bool {
        let core = store.core.read();
        (core.needle_rows.entries().iter()).any(|e| &*e.needle == needle && e.days.is_some())
    }

    /// A deep default-order page of a username search alone keeps its
    /// records and their counts by report day; a write that re-dates or
    /// removes one of its records adjusts the counts (they stay kept), as
    /// does one that touches none. `validate` compares kept counts with the
    /// days' bitmaps after each write, and the deep pages read them.
    #[test]
    fn needle_day_counts_follow_writes() {
        let (store, [a, ..]) = fixture();
        let records = fixture_records();
        let needle = "an";
        let deep = || {
            let q = |page: u64| Query::parse(&format!("username={needle}&page={page}"));
            let n = store
                .query(&q(1).expect("valid"))
                .expect("query")
                .0
                .num_pages;
            store.query(&q(n / 2).expect("valid")).expect("query");
        };
        deep();
        assert!(
            needle_days(&store, needle),
            "a deep page keeps the day counts"
        );
        store.validate().expect("invariants");

        let matching = |yes: bool| {
            (records.iter())
                .find(|r| r.username.to_lowercase().contains(needle) == yes && r.uuid != a.uuid)
                .expect("the demo has both")
                .clone()
        };
        // A record outside the search re-dated: the counts stay.
        store.upsert(&later(&matching(false))).expect("valid");
        assert!(needle_days(&store, needle), "dropped by an unrelated write");
        store.validate().expect("invariants");
        // One of its records re-dated: adjusted.
        let r = matching(true);
        store.upsert(&later(&r)).expect("valid");
        assert!(needle_days(&store, needle), "dropped by a re-date");
        store.validate().expect("invariants");
        deep();
        // Removed: adjusted.
        store.remove(r.uuid).expect("stored");
        assert!(needle_days(&store, needle), "dropped by a removal");
        store.validate().expect("invariants");
        deep();
        // Another of its records renamed out of the search: adjusted.
        let mut out = (records.iter())
            .find(|x| {
                x.username.to_lowercase().contains(needle) && x.uuid != a.uuid && x.uuid != r.uuid
            })
            .expect("the demo has more")
            .clone();
        out.username = "zzz".to_owned().into();
        store.upsert(&out).expect("valid");
        assert!(needle_days(&store, needle), "dropped by a rename");
        store.validate().expect("invariants");
    }

    /// The offerings with a kept expanded bitmap (`FlatCache`), by uuid,
    /// and whether each was worth expanding, sorted.
    fn flat_offerings(store: &Store) -> Vec<(Uuid, bool)> {
        let core = store.core.read();
        let mut v: Vec<(Uuid, bool)> = (core.flat_offerings.entries().iter())
            .map(|(o, b)| (core.t.offerings.get(*o).uuid, b.is_some()))
            .collect();
        v.sort_unstable();
        v
    }

    /// An offering met with another filter keeps its expanded bitmap
    /// (or that it is not worth expanding, as at this size); a write
    /// that removes one of its records forgets it, one elsewhere or a
    /// re-date keeps it, and a resource moving to another offering
    /// forgets both. `validate` compares every entry with the offering's
    /// bitmap.
    #[test]
    fn flat_offerings_follow_writes() {
        let (store, [a, ..]) = fixture();
        let records = fixture_records();
        let mut sizes: hashbrown::HashMap<Uuid, usize> = hashbrown::HashMap::new();
        for r in &records {
            *sizes.entry(r.offering_uuid).or_default() += 1;
        }
        let big = (sizes.iter())
            .max_by_key(|e| *e.1)
            .map(|e| *e.0)
            .expect("offerings");
        let meet = |o: Uuid| {
            // (Not a type: an offering's records of a type are kept
            // instead, `OfferingTypeCache`.)
            let q = format!(
                "offering_uuid={}&component_usage__billing_period={}",
                o.simple(),
                a.billing_period
            );
            store
                .query(&Query::parse(&q).expect("valid"))
                .expect("query");
        };
        // Alone, an offering keeps nothing.
        let alone = format!("offering_uuid={}", big.simple());
        store
            .query(&Query::parse(&alone).expect("valid"))
            .expect("query");
        assert_eq!(flat_offerings(&store), vec![]);
        meet(big);
        let heavy = {
            let core = store.core.read();
            let id = core.t.offerings.id(&big).expect("stored");
            crate::store::read::flat(&core.t.offerings.get(id).rows).is_some()
        };
        assert_eq!(flat_offerings(&store), vec![(big, heavy)]);
        store.validate().expect("invariants");

        // A write elsewhere keeps it; one to its records forgets it.
        let other = (records.iter())
            .find(|r| r.offering_uuid != big)
            .expect("another");
        store.upsert(&later(other)).expect("valid");
        assert_eq!(
            flat_offerings(&store),
            vec![(big, heavy)],
            "forgotten by an unrelated write"
        );
        // Re-dated, its records stay the offering's: kept. Removed: forgotten.
        let mut per_resource: hashbrown::HashMap<Uuid, usize> = hashbrown::HashMap::new();
        for r in &records {
            *per_resource.entry(r.resource_uuid).or_default() += 1;
        }
        let mine = (records.iter())
            .find(|r| r.offering_uuid == big && per_resource[&r.resource_uuid] > 1)
            .expect("a record of a resource with others");
        store.upsert(&later(mine)).expect("valid");
        assert_eq!(flat_offerings(&store), vec![(big, heavy)], "a re-date");
        store.remove(mine.uuid).expect("stored");
        assert_eq!(flat_offerings(&store), vec![]);
        store.validate().expect("invariants");

        // A resource moves to another offering: both are forgotten.
        meet(big);
        meet(other.offering_uuid);
        assert_eq!(flat_offerings(&store).len(), 2);
        let sibling = (records.iter())
            .find(|r| r.resource_uuid == mine.resource_uuid && r.uuid != mine.uuid)
            .expect("the resource has other records");
        let mut moved = later(sibling);
        moved.offering_uuid = other.offering_uuid;
        moved.offering_name = other.offering_name.clone();
        store.upsert(&moved).expect("valid");
        assert_eq!(flat_offerings(&store), vec![]);
        meet(big);
        meet(other.offering_uuid);
        store.validate().expect("invariants");
    }

    /// The projects with kept records of a type (`TypedRunCache`), by uuid, sorted.
    fn typed_projects(store: &Store) -> Vec<Uuid> {
        let core = store.core.read();
        let t = &core.t;
        let mut v: Vec<Uuid> = (core.typed_runs.entries().iter())
            .map(|(p, _, _)| t.projects.get(*p).uuid)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// A scoped query keeps the records of the type of each whole project
    /// its merge reads; a write forgets only the entries of the projects
    /// whose records it moved, a usage alone none. `validate` compares
    /// every entry with the project's bitmap.
    #[test]
    fn typed_runs_follow_writes() {
        let demo = Demo::new(DemoConfig {
            records: 40_000,
            seed: 3,
        });
        let records: Vec<Record> = demo.records().collect();
        let store = Store::new();
        store
            .upsert_batch(&records)
            .expect("demo records are valid");
        let p = demo.picks();
        let mut scope = crate::Scope::nothing();
        for &c in &p.scope_customers {
            scope = scope.with_customer(c);
        }
        for &pr in &p.scope_projects {
            scope = scope.with_project(pr);
        }
        let q = Query::parse(&format!("type={}", p.component_type))
            .expect("valid query")
            .with_scope(scope);
        let first = store.query(&q).expect("query");
        let kept = typed_projects(&store);
        assert!(!kept.is_empty(), "the merge keeps its projects' records");
        store.validate().expect("invariants");
        // Answered from the kept records: the same page.
        assert_eq!(store.query(&q).expect("query"), first);

        // One of them: a record of the type, its usage changed, then
        // re-dated.
        let r = (records.iter())
            .find(|r| kept.contains(&r.project_uuid) && r.component_type == p.component_type)
            .expect("a record of a kept project")
            .clone();
        let mut more = r.clone();
        more.usage = Usage::from_cents(more.usage.cents() + 1);
        store.upsert(&more).expect("valid");
        assert_eq!(typed_projects(&store), kept, "after a usage change");
        store.upsert(&later(&more)).expect("valid");
        let left: Vec<Uuid> = kept
            .iter()
            .copied()
            .filter(|&u| u != r.project_uuid)
            .collect();
        assert_eq!(typed_projects(&store), left, "after a re-date");
        store.validate().expect("invariants");
        let (count, page) = store.query(&q).expect("query");
        assert_eq!(count, first.0);
        assert_eq!(page[0].uuid, r.uuid, "the re-dated record leads");
        store.validate().expect("invariants");
    }
}
