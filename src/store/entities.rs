//! Entity tables: the normalised attributes of SPEC §1.3, stored once.
//!
//! Each entity lives in a [`Table`] under a dense `u32` id. Every entity that
//! records can reach carries a bitmap of the record slots that reach it
//! (`rows`): that bitmap *is* the secondary index for the entity's filter.
//!
//! Invariant (checked by `validate`): between writes, every live entity is
//! reached by at least one record, so `rows` is never empty (component usages
//! chain their rows through `first` and `Row::next` instead).

use std::hash::BuildHasher;
use std::num::NonZeroU32;

use compact_str::CompactString;
use hashbrown::HashTable;
use roaring::RoaringBitmap;
use uuid::Uuid;

use crate::wire::time::Micros;

/// A component usage: its report date, resource, and [`Kind`] (billing
/// period, type and unit).
///
/// 36 bytes and no `Option` tag in the arena: the date is split into two
/// 4-byte halves (so nothing needs 8-byte alignment), the three
/// low-cardinality attributes share one [`Kinds`] id, and that id is stored
/// plus one, leaving zero as the niche for `Option<Cu>`.
#[derive(Clone, Debug)]
pub(crate) struct Cu {
    pub(crate) uuid: Uuid,
    date_lo: u32,
    date_hi: i32,
    kind: NonZeroU32,
    /// Id in the resource table.
    pub(crate) resource: u32,
    /// The first record of this component usage's row chain (`Row::next`
    /// links the rest), or `NO_SLOT` when it has none.
    pub(crate) first: u32,
}

impl Cu {
    pub(crate) fn new(uuid: Uuid, date: Micros, kind: u32, resource: u32) -> Cu {
        let mut cu = Cu {
            uuid,
            date_lo: 0,
            date_hi: 0,
            kind: NonZeroU32::MIN,
            resource,
            first: super::core::NO_SLOT,
        };
        cu.set_date(date);
        cu.set_kind(kind);
        cu
    }

    /// Report time, microseconds since the epoch.
    #[inline]
    pub(crate) fn date(&self) -> Micros {
        (i64::from(self.date_hi) << 32) | i64::from(self.date_lo)
    }

    pub(crate) fn set_date(&mut self, date: Micros) {
        self.date_lo = date as u32;
        self.date_hi = (date >> 32) as i32;
    }

    /// Id in the [`Kinds`] table.
    #[inline]
    pub(crate) fn kind(&self) -> u32 {
        self.kind.get() - 1
    }

    pub(crate) fn set_kind(&mut self, kind: u32) {
        self.kind = NonZeroU32::new(kind.wrapping_add(1)).expect("fewer than 2^32 - 1 kinds");
    }
}

/// What a component usage shares with many others: billing period, type and
/// unit (a few hundred combinations in practice: periods × types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Kind {
    /// Billing period as days since 1970-01-01.
    pub(crate) period: i32,
    /// The same billing period as a date: a record's reader gets it
    /// without a calendar conversion.
    pub(crate) period_date: chrono::NaiveDate,
    /// Id in the component type dictionary.
    pub(crate) ctype: u32,
    /// Id in the measured unit dictionary.
    pub(crate) unit: u32,
}

/// Distinct [`Kind`]s under dense, reusable ids, each with the number of
/// component usages that have it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kinds {
    ids: hashbrown::HashMap<Kind, u32>,
    items: Vec<(Kind, u32)>,
    free: Vec<u32>,
}

impl Kinds {
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Kind {
        let (k, refs) = self.items[id as usize];
        debug_assert!(refs > 0, "kind {id} is free");
        k
    }

    /// Counts one more component usage of `k`; the id, and whether `k` is new.
    pub(crate) fn retain(&mut self, k: Kind) -> (u32, bool) {
        if let Some(&id) = self.ids.get(&k) {
            self.items[id as usize].1 += 1;
            return (id, false);
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = (k, 1);
                id
            }
            None => {
                self.items.push((k, 1));
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 kinds")
            }
        };
        self.ids.insert(k, id);
        (id, true)
    }

    /// Counts one component usage fewer; returns the kind when that was its last.
    pub(crate) fn release(&mut self, id: u32) -> Option<Kind> {
        let (k, refs) = &mut self.items[id as usize];
        *refs -= 1;
        if *refs > 0 {
            return None;
        }
        let k = *k;
        self.ids.remove(&k);
        self.free.push(id);
        Some(k)
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// `(id, kind, component usages)` of every live kind.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, Kind, u32)> + '_ {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, (_, refs))| *refs > 0)
            .map(|(i, &(k, refs))| (i as u32, k, refs))
    }

    pub(crate) fn id(&self, k: &Kind) -> Option<u32> {
        self.ids.get(k).copied()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.allocation_size() + self.items.capacity() * 16 + self.free.capacity() * 4
    }
}

/// A resource: its name, offering and project.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub(crate) uuid: Uuid,
    pub(crate) name: CompactString,
    pub(crate) offering: u32,
    pub(crate) project: u32,
    pub(crate) rows: RoaringBitmap,
}

/// An offering: its name.
#[derive(Clone, Debug)]
pub(crate) struct Offering {
    pub(crate) uuid: Uuid,
    pub(crate) name: CompactString,
    pub(crate) rows: RoaringBitmap,
}

/// A project: its name and customer.
#[derive(Clone, Debug)]
pub(crate) struct Project {
    pub(crate) uuid: Uuid,
    pub(crate) name: CompactString,
    pub(crate) customer: u32,
    pub(crate) rows: RoaringBitmap,
    /// Splits `rows` into a prefix (the slots below it) and a tail.
    /// Invariant: the prefix, in slot order, is in exactly the reverse of
    /// the default order (report date, then type rank and uuid
    /// descending: `Tables::seq_key` ascends), and every record of the
    /// tail comes after the prefix's last one in that order. So the prefix
    /// followed by the tail sorted the same way is the project's sequence,
    /// and so for each of its resources (a subset): a default-order page
    /// of it is a slice read backwards, with no tie of dates to sort.
    ///
    /// A load numbers a project's slots in that order, and new reports come last:
    /// the prefix is then everything (`u32::MAX`). A write that puts a
    /// record out of order moves the split back just enough
    /// (`Tables::note_order`, `Tables::note_redate`): a site agent's
    /// re-report, which re-dates the current billing period's component
    /// usages to now, leaves that period's records in the tail. A query on
    /// the project (or one of its resources), with at most a report-date
    /// range and billing period filters, finds its matches by binary search
    /// and its default-order page at the end of them (`Core::date_seq`),
    /// and so does a customer's or a scope's with a few projects
    /// (`Core::merge_seq`), while the tail is at most 16,384 records: the
    /// first such query after a write sorts it, and the next ones share it
    /// (`TailCache`). (The field fits in the struct's padding.)
    pub(crate) sorted_until: u32,
    /// The project's records per component type, for type ids below
    /// [`PROJECT_TYPES`]; [`UNKEPT`] for a type whose count has passed
    /// what a `u16` holds, which is then no longer kept. Invariant: a kept
    /// count is exactly the project's attached records of the type, kept
    /// like `Customer::type_rows` (`Tables::count_type`). A merge counts
    /// a scope's project's records of a type from it (`Core::merge_seq`)
    /// instead of reading the type's bitmap within the project's run (16
    /// bytes a project: 0.16 bytes a record at 1M).
    pub(crate) type_rows: [u16; PROJECT_TYPES],
    /// `(first, end)` when `rows` is exactly the slots `first..end` (a
    /// project after a load), else `(0, 0)`. Invariant: equal to
    /// [`run_bounds`] of `rows`; kept by [`Project::joined`],
    /// [`Project::left`] and [`Project::renew_run`] wherever `rows`
    /// changes. A merge or a resource's query over a project that is one
    /// run reads its records by offset (`Core::merge_seq`): reading the
    /// bitmap's least and greatest slots and its length there was a
    /// twentieth of a scoped query.
    pub(crate) run: (u32, u32),
}

/// `(first, end)` when `rows` is exactly the slots `first..end`, else
/// `(0, 0)` (empty, or not one run). O(containers).
pub(crate) fn run_bounds(rows: &RoaringBitmap) -> (u32, u32) {
    match (rows.min(), rows.max()) {
        (Some(a), Some(b)) if u64::from(b - a) + 1 == rows.len() => (a, b + 1),
        _ => (0, 0),
    }
}

impl Project {
    /// Keeps [`Project::run`] after `slot` joined `rows`: O(1) when it
    /// extends the run (a load's slots come in order), else
    /// O(containers).
    pub(crate) fn joined(&mut self, slot: u32) {
        let (a, b) = self.run;
        self.run = match () {
            _ if a < b && slot == b => (a, b + 1),
            _ if a < b && slot.checked_add(1) == Some(a) => (slot, b),
            _ => run_bounds(&self.rows),
        };
    }

    /// Keeps [`Project::run`] after `slot` left `rows`: O(1) at either
    /// end of the run, else O(containers).
    pub(crate) fn left(&mut self, slot: u32) {
        let (a, b) = self.run;
        self.run = match () {
            _ if a < b && slot == a => (a + 1, b),
            _ if a < b && slot.checked_add(1) == Some(b) => (a, b - 1),
            _ => run_bounds(&self.rows),
        };
        if self.run.0 == self.run.1 {
            self.run = (0, 0);
        }
    }

    /// Recomputes [`Project::run`] after `rows` changed wholesale.
    /// O(containers).
    pub(crate) fn renew_run(&mut self) {
        self.run = run_bounds(&self.rows);
    }
}

/// Component type ids whose records each project counts
/// (`Project::type_rows`): Waldur offerings measure a few components.
pub(crate) const PROJECT_TYPES: usize = 8;

/// A `Project::type_rows` entry that is no longer kept.
pub(crate) const UNKEPT: u16 = u16::MAX;

/// A customer: its name.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub(crate) uuid: Uuid,
    pub(crate) name: CompactString,
    pub(crate) rows: RoaringBitmap,
    /// The ids of the projects whose customer this is, in no order.
    /// Invariant: exactly the live projects with `customer` equal to this
    /// customer's id, each once. A customer's records are the union of its
    /// projects' date-ordered records, so a query on a customer (or a
    /// scope) with a few projects merges their date orders
    /// (`Core::merge_seq`).
    pub(crate) projects: Vec<u32>,
    /// The customer's records per component type, by type id (ids past
    /// the end count none). Invariant: exactly the attached records of
    /// the customer's projects with each type (`Core::attach` and
    /// `Core::detach` of `Part::CuKeys` keep it, and so do the writes that
    /// move records between customers without re-attaching their keys).
    /// A merge counts a whole customer's records of a type from it
    /// (`Core::merge_seq`) instead of intersecting two bitmaps.
    pub(crate) type_rows: smallvec::SmallVec<[u32; 8]>,
}

/// An entity identified by a uuid.
pub(crate) trait Keyed {
    fn uuid(&self) -> Uuid;
}

macro_rules! keyed {
    ($($t:ty),*) => {$(
        impl Keyed for $t {
            fn uuid(&self) -> Uuid {
                self.uuid
            }
        }
    )*};
}
keyed!(Cu, Resource, Offering, Project, Customer, User);

/// An offering user, named by records' `user` field.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) uuid: Uuid,
    /// Records naming this user (never zero: the user is forgotten then,
    /// and the niche spares the arena's `Option` tag).
    pub(crate) refs: NonZeroU32,
}

/// Entities addressed by uuid, stored under dense ids that are reused after
/// removal. The uuid index holds ids only and reads the uuid back from the entity.
#[derive(Clone, Debug)]
pub(crate) struct Table<T> {
    ids: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            ids: HashTable::new(),
            hasher: Default::default(),
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Keyed> Table<T> {
    pub(crate) fn id(&self, uuid: &Uuid) -> Option<u32> {
        let h = self.hasher.hash_one(uuid);
        self.ids
            .find(h, |&id| {
                self.items[id as usize]
                    .as_ref()
                    .is_some_and(|t| t.uuid() == *uuid)
            })
            .copied()
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> &T {
        self.items[id as usize].as_ref().expect("live entity id")
    }

    pub(crate) fn get_mut(&mut self, id: u32) -> &mut T {
        self.items[id as usize].as_mut().expect("live entity id")
    }

    pub(crate) fn insert(&mut self, uuid: Uuid, item: T) -> u32 {
        debug_assert_eq!(uuid, item.uuid());
        let id = match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = Some(item);
                id
            }
            None => {
                self.items.push(Some(item));
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 entities")
            }
        };
        let (items, hasher) = (&self.items, &self.hasher);
        let rehash = |&i: &u32| {
            hasher.hash_one(
                items[i as usize]
                    .as_ref()
                    .expect("indexed ids are live")
                    .uuid(),
            )
        };
        self.ids
            .insert_unique(self.hasher.hash_one(uuid), id, rehash);
        id
    }

    pub(crate) fn remove(&mut self, uuid: &Uuid) -> Option<T> {
        let id = self.id(uuid)?;
        let h = self.hasher.hash_one(uuid);
        if let Ok(e) = self.ids.find_entry(h, |&i| i == id) {
            e.remove();
        }
        self.free.push(id);
        self.items[id as usize].take()
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// One more than the largest id ever handed out (live or free).
    pub(crate) fn id_bound(&self) -> usize {
        self.items.len()
    }

    /// `(id, entity)` of every live entity.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
    }

    /// `(id, entity)` of every live entity, mutably (entities only; the
    /// uuid index reads `uuid`, which callers must not change).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (u32, &mut T)> {
        self.items
            .iter_mut()
            .enumerate()
            .filter_map(|(i, t)| t.as_mut().map(|t| (i as u32, t)))
    }

    pub(crate) fn is_free(&self, id: u32) -> bool {
        self.items.get(id as usize).is_none_or(Option::is_none)
    }

    /// Renumbers the live entities densely: first those of `order` (old
    /// ids, each at most once), in that order, then any others by old id.
    /// Returns the new id of each old id (`u32::MAX` for free ones).
    /// O(items).
    pub(crate) fn renumber(&mut self, order: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut map = vec![u32::MAX; self.items.len()];
        let mut next = 0u32;
        for old in order {
            debug_assert!(!self.is_free(old) && map[old as usize] == u32::MAX);
            map[old as usize] = next;
            next += 1;
        }
        for (old, item) in self.items.iter().enumerate() {
            if item.is_some() && map[old] == u32::MAX {
                map[old] = next;
                next += 1;
            }
        }
        let mut items: Vec<Option<T>> = Vec::with_capacity(next as usize);
        items.resize_with(next as usize, || None);
        for (old, item) in self.items.drain(..).enumerate() {
            if item.is_some() {
                items[map[old] as usize] = item;
            }
        }
        self.items = items;
        self.free = Vec::new();
        // The uuid index hashes uuids, which did not move: only the ids change.
        for id in self.ids.iter_mut() {
            *id = map[*id as usize];
        }
        map
    }

    /// Drops spare capacity of the arena (a bulk load's doubling leaves up
    /// to half of it unused).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.allocation_size()
            + self.items.capacity() * std::mem::size_of::<Option<T>>()
            + self.free.capacity() * 4
    }
}
