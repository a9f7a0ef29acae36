//! The private core of [`Store`](crate::Store): the record arena, entity
//! tables, bitmap indexes and sorted views, and the operations that keep
//! them consistent.
//!
//! Invariant kept by `attach`/`detach` (and checked by `validate`): every
//! live slot is in `live`, in the bitmaps of its customer, project, offering,
//! resource, username, component type, billing period and report day, in
//! `by_uuid`, in the row chain of its component usage (`Cu::first`,
//! `Row::next`), and at its place in each sorted view, all computed
//! from the *current* entity attributes. Any change to an attribute that an
//! index or view depends on first detaches the affected slots, then changes
//! the attribute, then attaches them again.

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;

use std::hash::BuildHasher;
use std::num::NonZeroU32;

use roaring::RoaringBitmap;
use uuid::Uuid;

use super::entities::{Cu, Customer, Kind, Kinds, Offering, Project, Resource, Table, User};
use crate::index::dict::{Dict, Usernames};
use crate::index::slots::{Marks, SlotIndex};
use crate::index::view::{Seek, View};
use crate::query::Scope;
use crate::wire::time::{Micros, micros_to_day};

/// [`Tables::tail_key`]: the default order's keys as integers.
pub(crate) type TailKey = (Reverse<Micros>, u32, u128);

/// One record's own fields; everything shared lives in the entity tables.
///
/// 60 bytes and no `Option` tag in the arena: the offering user is interned
/// (its id + 1 is the niche), the 64-bit fields are stored as 4-byte halves
/// so nothing forces 8-byte alignment, and the rarely-set free text lives in
/// [`Texts`] under a 4-byte index. `next` links the records of one component
/// usage, which makes the natural key `(component usage, username)`
/// findable without a hash index of its own.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) uuid: Uuid,
    pub(crate) cu: u32,
    pub(crate) username: u32,
    /// Id + 1 in the offering-user table, or [`NO_USER`]; non-zero so that
    /// `Option<Row>` needs no extra tag.
    pub(crate) user: NonZeroU32,
    usage: Split64,
    created: Split64,
    modified: Split64,
    /// The next record of the same component usage, or [`NO_SLOT`].
    pub(crate) next: u32,
    /// Index in [`Texts`], or [`NO_TEXT`] when both strings are empty.
    pub(crate) text: u32,
}

/// An `i64` as two `u32` halves (4-byte aligned).
#[derive(Clone, Copy, Debug)]
struct Split64([u32; 2]);

impl Split64 {
    fn new(v: i64) -> Split64 {
        Split64([v as u32, (v >> 32) as u32])
    }

    #[inline]
    fn get(self) -> i64 {
        (i64::from(self.0[1] as i32) << 32) | i64::from(self.0[0])
    }
}

/// `user` of a record whose offering user is `null`.
pub(crate) const NO_USER: NonZeroU32 = NonZeroU32::MAX;

/// End of a component usage's row chain (slots stay below 2^32 - 1).
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// `Row::text` of a record whose description and backend id are both empty.
pub(crate) const NO_TEXT: u32 = u32::MAX;

impl Row {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        uuid: Uuid,
        user: NonZeroU32,
        cu: u32,
        username: u32,
        usage: i64,
        created: Micros,
        modified: Micros,
        text: u32,
    ) -> Row {
        Row {
            uuid,
            cu,
            username,
            user,
            usage: Split64::new(usage),
            created: Split64::new(created),
            modified: Split64::new(modified),
            next: NO_SLOT,
            text,
        }
    }

    /// Usage in cents.
    #[inline]
    pub(crate) fn usage(&self) -> i64 {
        self.usage.get()
    }

    #[inline]
    pub(crate) fn created(&self) -> Micros {
        self.created.get()
    }

    #[inline]
    pub(crate) fn modified(&self) -> Micros {
        self.modified.get()
    }
}

/// The records' free text (`description`, `backend_id`): one string per
/// record that has any, under reusable ids. Most records have none, so the
/// arena holds a 4-byte index rather than a pointer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Texts {
    /// The description's byte length as one `char` (see [`Texts::put`]),
    /// then the description, then the backend id; empty when free.
    items: Vec<Box<str>>,
    free: Vec<u32>,
    bytes: usize,
}

impl Texts {
    /// Stores a record's free text; [`NO_TEXT`] when both are empty.
    pub(crate) fn put(&mut self, description: &str, backend_id: &str) -> u32 {
        if description.is_empty() && backend_id.is_empty() {
            return NO_TEXT;
        }
        let mut s = String::with_capacity(4 + description.len() + backend_id.len());
        s.push(len_char(description.len()));
        s.push_str(description);
        s.push_str(backend_id);
        let s = s.into_boxed_str();
        self.bytes += s.len();
        match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = s;
                id
            }
            None => {
                self.items.push(s);
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 - 1 texts")
            }
        }
    }

    /// Forgets a text stored by [`Texts::put`] (nothing for [`NO_TEXT`]).
    pub(crate) fn remove(&mut self, id: u32) {
        if id != NO_TEXT {
            let s = std::mem::take(&mut self.items[id as usize]);
            self.bytes -= s.len();
            self.free.push(id);
        }
    }

    /// `(description, backend_id)` of a text id.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> (&str, &str) {
        if id == NO_TEXT {
            return ("", "");
        }
        let s = &self.items[id as usize];
        let c = s
            .chars()
            .next()
            .expect("stored texts start with their length");
        let start = c.len_utf8();
        let split = start + char_len(c);
        (&s[start..split], &s[split..])
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }

    /// Whether `id` holds a text (live entries are never empty: they start
    /// with the length character).
    pub(crate) fn is_live(&self, id: u32) -> bool {
        self.items.get(id as usize).is_some_and(|s| !s.is_empty())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.items.capacity() * 16 + self.free.capacity() * 4 + self.bytes
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.free.shrink_to_fit();
    }
}

/// A byte length as a `char` (the surrogate gap skipped), so that a text is
/// one `str`. Descriptions are at most 2,000 characters (8,000 bytes).
fn len_char(len: usize) -> char {
    let v = u32::try_from(len).expect("descriptions are short");
    let v = if v < 0xD800 { v } else { v + 0x800 };
    char::from_u32(v).expect("descriptions are under 1 MiB")
}

fn char_len(c: char) -> usize {
    let v = c as u32;
    (if v < 0xD800 { v } else { v - 0x800 }) as usize
}

/// Which sorted view; each orders by its primary key, then by the default
/// keys (`date` descending, `component_type`), then `uuid`.
///
/// The usage view is partitioned by component type first (type names in
/// order, then usage and the rest): usage magnitudes differ by type (CPU
/// hours against gigabytes), so a type's records ordered by usage are one
/// contiguous part, where in one usage order for all types the top of one
/// type lies behind thousands of another's. A usage order over every type
/// merges the parts (`read.rs`); within one type the orders agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ViewKind {
    Default,
    Usage,
    Username,
    Period,
}

pub(crate) const VIEW_KINDS: [ViewKind; 4] = [
    ViewKind::Default,
    ViewKind::Usage,
    ViewKind::Username,
    ViewKind::Period,
];

/// Everything except the views, so that view comparisons can borrow it
/// while a view is mutated.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tables {
    pub(crate) rows: Vec<Option<Row>>,
    pub(crate) free: Vec<u32>,
    pub(crate) live: RoaringBitmap,
    /// Slots by record uuid.
    pub(crate) by_uuid: SlotIndex,
    pub(crate) hasher: hashbrown::DefaultHashBuilder,
    pub(crate) cus: Table<Cu>,
    pub(crate) resources: Table<Resource>,
    pub(crate) offerings: Table<Offering>,
    pub(crate) projects: Table<Project>,
    pub(crate) customers: Table<Customer>,
    /// Offering users (the `user` field), each with the number of records naming it.
    pub(crate) users: Table<User>,
    /// The records' descriptions and backend ids.
    pub(crate) texts: Texts,
    pub(crate) usernames: Usernames,
    /// Component types, each with the bitmap of its records.
    pub(crate) types: Dict<RoaringBitmap>,
    /// Each component type id's rank among the type names (see
    /// [`Tables::type_ranks`]), kept current as types come and go so that
    /// sorting never ranks them per query. Invariant: equals `type_ranks()`.
    pub(crate) type_rank: Vec<u32>,
    /// Per component type id, its bitmap's length, first and last slot
    /// (zeros for an empty bitmap or a free id), kept by `attach`/`detach`:
    /// a type's count, the usage view's parts (every type's length) and the
    /// planner's bounds of a `type` set never read the bitmap, whose length
    /// is a sum over its containers (a run container's over its runs:
    /// thousands after a load) and whose last slot is a scan of a bitmap
    /// container's words back from its end (three quarters of them empty in
    /// the store's last container at 1M records).
    /// Invariant: equals each live type's bitmap's `(len, min, max)`.
    pub(crate) type_extent: Vec<(u64, u32, u32)>,
    /// Measured units, each with the number of kinds that use it.
    pub(crate) units: Dict<u32>,
    /// Billing period, type and unit combinations of the component usages.
    pub(crate) kinds: Kinds,
    /// Billing period (days since epoch) → records.
    pub(crate) periods: BTreeMap<i32, RoaringBitmap>,
    /// UTC day of `date` (days since epoch) → records.
    pub(crate) days: BTreeMap<i32, RoaringBitmap>,
    /// Billing period → bounds of the report days of its records. Only
    /// widened while the period has records (so possibly loose after
    /// removals, never too narrow); dropped with the period. Lets a
    /// default-order query filtered by period walk only the run of the
    /// default view (date descending) where its records can be.
    pub(crate) period_days: BTreeMap<i32, (i32, i32)>,
    /// Records per (billing period, component type id): a type ∧ year
    /// count is a sum of a few of these, where intersecting the bitmaps
    /// would test every record of the year. No zero entries.
    pub(crate) period_type_rows: hashbrown::HashMap<(i32, u32), u32>,
    /// Records per (billing period, report day): the days a period's
    /// records were reported on, each with how many. A report-date range
    /// that cuts through a period reads only the days that hold its
    /// records (`read::cut_records`), where it read every day of its
    /// bounds: a site agent re-dating one record of an old period to
    /// today stretches that period's bounds over every day between.
    /// About 35 days a period (1,276 pairs at 1M records). No zero
    /// entries.
    pub(crate) period_day_rows: BTreeMap<(i32, i32), u32>,
}

/// A type id too large for a usage view fence's 16 bits.
const FENCE_TYPE_NONE: u64 = (1 << 16) - 1;
/// A username id too large for a username view fence's 24 bits.
const FENCE_NAME_NONE: u64 = (1 << 24) - 1;
/// A usage view fence holds a usage clamped to 48 bits, from this one up.
const FENCE_USAGE_MIN: i64 = -(1 << 47);
/// The largest usage a usage view fence holds unclamped.
const FENCE_USAGE_MAX: i64 = (1 << 47) - 1;

/// The default view's fence of a record reported at `date`: `-date`,
/// exactly. The sign bit flipped keeps an i64's order in a u64; the
/// complement reverses it.
pub(crate) fn date_fence(date: Micros) -> u64 {
    !((date as u64) ^ (1 << 63))
}

/// A usage view fence's low 48 bits: `usage`, clamped, offset to be
/// unsigned (monotone in `usage`).
fn usage_fence(usage: i64) -> u64 {
    (usage.clamp(FENCE_USAGE_MIN, FENCE_USAGE_MAX) - FENCE_USAGE_MIN) as u64
}

/// Whether the usage of the slot of usage view fence `f` is below `u`
/// (at most `u` if `inclusive`), when the fence tells: its low 48 bits
/// are the usage, clamped, so they tell unless the clamped values tie at
/// a clamp's edge. (The fence's type bits are not read: the caller asks
/// within one type's part of the view.)
pub(crate) fn usage_fence_below(f: u64, u: i64, inclusive: bool) -> Option<bool> {
    let (x, k) = (f & ((1 << 48) - 1), usage_fence(u));
    let edge = u <= FENCE_USAGE_MIN || u >= FENCE_USAGE_MAX;
    match x.cmp(&k) {
        Ordering::Less => Some(true),
        Ordering::Greater => Some(false),
        Ordering::Equal => (!edge).then_some(inclusive),
    }
}

/// The sort keys of one record, borrowed from the tables.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SortKey<'a> {
    pub(crate) period: i32,
    pub(crate) usage: i64,
    pub(crate) username: &'a str,
    pub(crate) date: Micros,
    pub(crate) ctype: &'a str,
    pub(crate) uuid: Uuid,
}

impl SortKey<'static> {
    /// What a walk's group holds in place of a key when nothing sorts the
    /// group (a one-key order): reading a key is four lookups per record.
    pub(crate) const UNUSED: SortKey<'static> = SortKey {
        period: 0,
        usage: 0,
        username: "",
        date: 0,
        ctype: "",
        uuid: Uuid::nil(),
    };
}

impl<'a> SortKey<'a> {
    /// The default order's keys: `-date`, `component_type`, `uuid`.
    pub(crate) fn tail(&self) -> (Reverse<Micros>, &'a str, Uuid) {
        (Reverse(self.date), self.ctype, self.uuid)
    }
}

/// The largest value of `b` below `x`.
fn prev(b: &RoaringBitmap, x: u32) -> Option<u32> {
    let x = x.checked_sub(1)?;
    let mut it = b.iter();
    it.advance_back_to(x);
    it.next_back().filter(|&y| y <= x)
}

/// The smallest value of `b` above `x`.
fn next(b: &RoaringBitmap, x: u32) -> Option<u32> {
    let x = x.checked_add(1)?;
    let mut it = b.iter();
    it.advance_to(x);
    it.next().filter(|&y| y >= x)
}

impl Tables {
    #[inline]
    pub(crate) fn uuid_hash(&self, uuid: &Uuid) -> u64 {
        self.hasher.hash_one(uuid)
    }

    /// The slot of a record uuid.
    #[inline]
    pub(crate) fn slot_of(&self, uuid: &Uuid) -> Option<u32> {
        self.by_uuid
            .find(self.uuid_hash(uuid), |s| self.row(s).uuid == *uuid)
    }

    /// The slot holding a natural key (SPEC §1.4): a walk of the component
    /// usage's row chain, O(records of the component usage).
    pub(crate) fn slot_of_key(&self, cu: u32, username: u32) -> Option<u32> {
        self.cu_slots(cu)
            .find(|&s| self.row(s).username == username)
    }

    /// The slots of a component usage, newest link first.
    pub(crate) fn cu_slots(&self, cu: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = self.cus.get(cu).first;
        std::iter::from_fn(move || {
            (at != NO_SLOT).then(|| {
                let s = at;
                at = self.row(s).next;
                s
            })
        })
    }

    #[inline]
    pub(crate) fn row(&self, slot: u32) -> &Row {
        self.rows[slot as usize].as_ref().expect("live slot")
    }

    /// The offering user of a slot.
    pub(crate) fn user_of(&self, slot: u32) -> Option<Uuid> {
        self.user_of_row(self.row(slot))
    }

    /// Keeps `Project::sorted_until` for `slot`, just added to project `p`
    /// (or re-keyed alone): see [`Tables::note_block`]. O(log n); an
    /// append after a load or a new report reads only its neighbours.
    pub(crate) fn note_order(&mut self, p: u32, slot: u32) {
        self.note_block(p, slot, slot, 1, slot);
    }

    /// [`Tables::note_order`] for every record of a component usage at
    /// once (`changed`, of project `p`), just re-keyed together (a new
    /// report date or component type): all of one date and type.
    /// O(log n + changed).
    pub(crate) fn note_redate(&mut self, p: u32, changed: &RoaringBitmap) {
        if let (Some(lo), Some(hi)) = (changed.min(), changed.max()) {
            // Of one date and type, the greatest uuid comes first in the
            // project's sequence.
            let least = (changed.iter())
                .max_by_key(|&s| self.row(s).uuid)
                .expect("not empty");
            self.note_block(p, lo, hi, changed.len(), least);
        }
    }

    /// Keeps `Project::sorted_until` for `n` records of project `p`
    /// between slots `lo` and `hi`, all of one report date and component
    /// type, just added or re-keyed together; `least` is the first of them
    /// in the project's sequence (the reverse of the default order: by
    /// date, then type rank and uuid descending, [`Tables::seq_key`]).
    /// Nothing moves while they are a block of consecutive prefix records
    /// in that order with the prefix records around it (an append after a
    /// load, a new report) or, in the tail, after the prefix's end;
    /// otherwise the split moves back to `lo`, or further to the first
    /// prefix record after `least`. A block ending the prefix, when a tail
    /// follows, always joins the tail: checking it against the tail would
    /// read all of it. Records changed together are never compared with
    /// one another's old place: the prefix kept is below all of them. (A
    /// block within the prefix is in order within: its records had one
    /// date and type before too, so the prefix's order put them by uuid.)
    /// O(log n).
    fn note_block(&mut self, p: u32, lo: u32, hi: u32, n: u64, least: u32) {
        let pr = self.projects.get(p);
        let (b, rows) = (pr.sorted_until, &pr.rows);
        let key = |s: u32| self.seq_key(s);
        let first = key(least);
        let cut = if lo < b {
            let block = lo == hi || rows.range_cardinality(lo..=hi) == n;
            let before = prev(rows, lo).is_none_or(|x| key(x) < first);
            let after = next(rows, hi).is_none_or(|y| y < b && key(hi) < key(y));
            match (before, block && after && hi < b) {
                (true, true) => return,
                (true, false) => lo,
                (false, _) => self.first_after(p, lo, first),
            }
        } else {
            match prev(rows, b) {
                Some(x) if key(x) > first => self.first_after(p, b, first),
                _ => return,
            }
        };
        let pr = self.projects.get_mut(p);
        pr.sorted_until = pr.sorted_until.min(cut);
    }

    /// A record's place in its project's sequence: ascending along a
    /// sorted prefix (`Project::sorted_until`), the reverse of the default
    /// order ([`Tables::tail_key`]). O(1).
    pub(crate) fn seq_key(&self, slot: u32) -> Reverse<TailKey> {
        Reverse(self.tail_key(slot))
    }

    /// The first record of project `p` below slot `end` whose
    /// [`Tables::seq_key`] is above `k` (`end` if none), where the
    /// project's records below `end` ascend by it. O(log² n): a binary
    /// search by rank.
    fn first_after(&self, p: u32, end: u32, k: Reverse<TailKey>) -> u32 {
        let rows = &self.projects.get(p).rows;
        let n = if end == 0 {
            0
        } else {
            rows.rank(end - 1) as u32
        };
        let (mut a, mut z) = (0, n);
        while a < z {
            let m = a + (z - a) / 2;
            if self.seq_key(rows.select(m).expect("below the rank")) <= k {
                a = m + 1;
            } else {
                z = m;
            }
        }
        rows.select(a).filter(|&s| s < end).unwrap_or(end)
    }

    /// The offering user of a row.
    #[inline]
    pub(crate) fn user_of_row(&self, row: &Row) -> Option<Uuid> {
        match row.user {
            NO_USER => None,
            id => Some(self.users.get(id.get() - 1).uuid),
        }
    }

    /// The id of an offering user, counting one more record that names it.
    pub(crate) fn retain_user(&mut self, user: Option<Uuid>) -> NonZeroU32 {
        let Some(u) = user else { return NO_USER };
        let id = match self.users.id(&u) {
            Some(id) => {
                let refs = &mut self.users.get_mut(id).refs;
                *refs = refs.checked_add(1).expect("fewer than 2^32 records");
                id
            }
            None => self.users.insert(
                u,
                User {
                    uuid: u,
                    refs: NonZeroU32::MIN,
                },
            ),
        };
        NonZeroU32::new(id + 1)
            .filter(|&u| u != NO_USER)
            .expect("fewer than 2^32 - 1 offering users")
    }

    /// Counts one record fewer naming an offering user; forgets it at zero.
    pub(crate) fn release_user(&mut self, id: NonZeroU32) {
        if id == NO_USER {
            return;
        }
        let u = self.users.get_mut(id.get() - 1);
        match NonZeroU32::new(u.refs.get() - 1) {
            Some(n) => u.refs = n,
            None => {
                let uuid = u.uuid;
                self.users.remove(&uuid);
            }
        }
    }

    pub(crate) fn key(&self, slot: u32) -> SortKey<'_> {
        let r = self.row(slot);
        let cu = self.cus.get(r.cu);
        let k = self.kind_of(cu);
        SortKey {
            period: k.period,
            usage: r.usage(),
            username: self.usernames.dict.str(r.username),
            date: cu.date(),
            ctype: self.types.str(k.ctype),
            uuid: r.uuid,
        }
    }

    /// The default order's keys as integers (`-date`, the type's rank in
    /// name order, uuid): how every sort and merge breaks ties.
    pub(crate) fn tail_key(&self, slot: u32) -> TailKey {
        let r = self.row(slot);
        let cu = self.cus.get(r.cu);
        (
            Reverse(cu.date()),
            self.type_rank[self.kind_of(cu).ctype as usize],
            r.uuid.as_u128(),
        )
    }

    /// The billing period, type and unit of a component usage.
    #[inline]
    pub(crate) fn kind_of(&self, cu: &Cu) -> Kind {
        self.kinds.get(cu.kind())
    }

    /// The live record at `slot`'s report day, billing period and type
    /// id: what its component-usage keys attach to the indexes.
    pub(crate) fn slot_keys(&self, slot: u32) -> super::cache::SlotKeys {
        let cu = self.cus.get(self.row(slot).cu);
        let k = self.kind_of(cu);
        (micros_to_day(cu.date()), k.period, k.ctype)
    }

    /// The kind id of these attributes, counting one more component usage of it.
    pub(crate) fn retain_kind(&mut self, period: i32, ctype: u32, unit: &str) -> u32 {
        let (unit, _) = self.units.intern(unit, || 0);
        let (id, new) = self.kinds.retain(Kind {
            period,
            period_date: crate::wire::time::day_to_date(period),
            ctype,
            unit,
        });
        if new {
            *self.units.payload_mut(unit) += 1;
        }
        id
    }

    /// Counts one component usage fewer of a kind, forgetting the kind (and
    /// then maybe its unit) at zero.
    pub(crate) fn release_kind(&mut self, id: u32) {
        if let Some(k) = self.kinds.release(id) {
            let n = self.units.payload_mut(k.unit);
            *n -= 1;
            if *n == 0 {
                self.units.remove(k.unit);
            }
        }
    }

    /// Each component type id's rank in the order of type names
    /// (indexed by id; free ids rank last). O(types · log types).
    pub(crate) fn type_ranks(&self) -> Vec<u32> {
        self.types.ranks(u32::MAX).0
    }

    /// A view's primary key as a number: equal exactly when the records
    /// share the key (usernames are interned, so ids compare for equality).
    pub(crate) fn primary(&self, kind: ViewKind, slot: u32) -> i64 {
        let r = self.row(slot);
        match kind {
            ViewKind::Default => 0,
            ViewKind::Usage => r.usage(),
            ViewKind::Username => i64::from(r.username),
            ViewKind::Period => i64::from(self.kind_of(self.cus.get(r.cu)).period),
        }
    }

    /// Whether `slot` sorts before `key` in view `kind` (as
    /// [`cmp_sort_keys`] says `Less`), reading only the keys the
    /// comparison reaches: a view search's steps read random records, and
    /// [`Tables::key`] read all five (the username's string among them)
    /// where the default view needs the date, most steps nothing more.
    /// Over half of a re-dating write's time was those reads.
    pub(crate) fn sorts_before(&self, kind: ViewKind, slot: u32, key: &SortKey<'_>) -> bool {
        let r = self.row(slot);
        let primary = match kind {
            ViewKind::Default => Ordering::Equal,
            ViewKind::Username => self.usernames.dict.str(r.username).cmp(key.username),
            ViewKind::Usage | ViewKind::Period => {
                let k = self.kind_of(self.cus.get(r.cu));
                match kind {
                    ViewKind::Usage => {
                        (self.types.str(k.ctype).cmp(key.ctype)).then(r.usage().cmp(&key.usage))
                    }
                    _ => k.period.cmp(&key.period),
                }
            }
        };
        let ord = primary.then_with(|| {
            let cu = self.cus.get(r.cu);
            key.date.cmp(&cu.date()).then_with(|| {
                (self.types.str(self.kind_of(cu).ctype).cmp(key.ctype)).then(r.uuid.cmp(&key.uuid))
            })
        });
        ord == Ordering::Less
    }

    /// A view's fence for `slot` (see [`crate::index::view`]): a number
    /// whose order agrees with the view's wherever two fences differ (in
    /// the usage and username views, once their high bits, a type id and
    /// a username id, are compared by their strings; see
    /// [`Tables::fence_before`]). Default view: `-date`, exactly.
    /// Period view: the period, then `-date` in whole seconds. Usage
    /// view: the type id (16 bits), then the usage, clamped to 48 bits.
    /// Username view: the username id (24 bits), then `-date` in whole
    /// seconds (40 bits). An id too large for its bits is all ones: no
    /// fence that holds it decides anything.
    pub(crate) fn fence(&self, kind: ViewKind, slot: u32) -> u64 {
        let r = self.row(slot);
        let cu = self.cus.get(r.cu);
        let date = cu.date();
        // Whole seconds, clamped to `bits` (monotone: a later report's
        // value is never smaller), reversed so that later comes first.
        let later_first = |bits: u32| {
            let max = (1i64 << bits) - 1;
            (max - date.div_euclid(1_000_000).clamp(0, max)) as u64
        };
        match kind {
            ViewKind::Default => date_fence(date),
            ViewKind::Period => {
                let period = (self.kind_of(cu).period as u32) ^ (1 << 31);
                (u64::from(period) << 32) | later_first(32)
            }
            ViewKind::Usage => {
                let ty = u64::from(self.kind_of(cu).ctype).min(FENCE_TYPE_NONE);
                (ty << 48) | usage_fence(r.usage())
            }
            ViewKind::Username => {
                let name = u64::from(r.username).min(FENCE_NAME_NONE);
                (name << 40) | later_first(40)
            }
        }
    }

    /// Whether the slot of fence `f` sorts before the slot of fence `key`
    /// in view `kind`, when the fences tell (see [`Tables::fence`]).
    pub(crate) fn fence_before(&self, kind: ViewKind, f: u64, key: u64) -> Option<bool> {
        // The high bits of an id, compared by the strings they name (an
        // id in a fence is a live slot's, so it names a live string).
        let (shift, none) = match kind {
            ViewKind::Default | ViewKind::Period => return (f != key).then_some(f < key),
            ViewKind::Usage => (48, FENCE_TYPE_NONE),
            ViewKind::Username => (40, FENCE_NAME_NONE),
        };
        let (a, b) = (f >> shift, key >> shift);
        if a == none || b == none {
            return None;
        }
        if a != b {
            let (a, b) = (a as u32, b as u32);
            return Some(match kind {
                ViewKind::Usage => self.types.str(a) < self.types.str(b),
                _ => self.usernames.dict.str(a) < self.usernames.dict.str(b),
            });
        }
        let low = (1u64 << shift) - 1;
        let (x, y) = (f & low, key & low);
        (x != y).then_some(x < y)
    }

    /// How a view insert or remove finds `slot`, whose keys are `key`.
    pub(crate) fn seek<'a>(
        &'a self,
        kind: ViewKind,
        slot: u32,
        key: &'a SortKey<'a>,
    ) -> Seek<impl Fn(u32) -> bool + 'a, impl Fn(u64) -> Option<bool> + 'a, impl Fn(u32) -> u64 + 'a>
    {
        let f = self.fence(kind, slot);
        Seek {
            before: move |s| self.sorts_before(kind, s, key),
            fence: move |x| self.fence_before(kind, x, f),
            fence_of: move |s| self.fence(kind, s),
        }
    }

    /// The total order of a view.
    pub(crate) fn cmp(&self, kind: ViewKind, a: u32, b: u32) -> Ordering {
        cmp_sort_keys(kind, &self.key(a), &self.key(b))
    }

    /// Adds `n` records of type `ty` to customer `c`'s count
    /// (`Customer::type_rows`) and project `p`'s (`Project::type_rows`),
    /// or removes them: a project's count past `u16`'s range is no longer
    /// kept. O(1).
    pub(crate) fn count_type(&mut self, c: u32, p: u32, ty: u32, n: u32, add: bool) {
        use super::entities::UNKEPT;
        let counts = &mut self.customers.get_mut(c).type_rows;
        let i = ty as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] = if add {
            counts[i] + n
        } else {
            counts[i]
                .checked_sub(n)
                .expect("a customer's type count covers its records")
        };
        let Some(k) = self.projects.get_mut(p).type_rows.get_mut(i) else {
            return;
        };
        if *k != UNKEPT {
            let v = if add {
                u32::from(*k) + n
            } else {
                u32::from(*k)
                    .checked_sub(n)
                    .expect("a project's type count covers its records")
            };
            *k = u16::try_from(v).unwrap_or(UNKEPT);
        }
    }

    /// Moves `n` records of type `ty` from customer and project `from` to
    /// `to` (`count_type`); a count whose owner stays is not touched.
    /// O(1).
    pub(crate) fn move_type(&mut self, from: (u32, u32), to: (u32, u32), ty: u32, n: u32) {
        if from != to {
            self.count_type(from.0, from.1, ty, n, false);
            self.count_type(to.0, to.1, ty, n, true);
        }
    }

    /// Moves the type counts of `rows`, attached records, from customer and
    /// project `from` to `to` (their project changed customer, or their
    /// resource project). O(rows).
    pub(crate) fn move_type_counts(
        &mut self,
        rows: &RoaringBitmap,
        from: (u32, u32),
        to: (u32, u32),
    ) {
        if from == to {
            return;
        }
        for s in rows {
            let ty = self.kind_of(self.cus.get(self.row(s).cu)).ctype;
            self.move_type(from, to, ty, 1);
        }
    }

    /// `(resource, offering, project, customer)` ids of a slot.
    pub(crate) fn chain(&self, slot: u32) -> (u32, u32, u32, u32) {
        let res = self.cus.get(self.row(slot).cu).resource;
        let r = self.resources.get(res);
        (
            res,
            r.offering,
            r.project,
            self.projects.get(r.project).customer,
        )
    }

    /// Reads the rows of `slots` (`NO_SLOT`s skipped) and, if `deep`,
    /// what comparing a record with them reads (component usages,
    /// resources, offering users, usernames, texts), so that the work on
    /// them that follows finds them in cache: these reads, independent of
    /// each other, overlap, where the work reads each record's row, then
    /// its component usage, then its resource, each waiting for the one
    /// before.
    pub(crate) fn warm(&self, slots: impl Iterator<Item = u32>, deep: bool) {
        let mut acc = 0usize;
        for s in slots {
            if let Some(Some(row)) = self.rows.get(s as usize) {
                acc ^= row.cu as usize;
                if !deep {
                    continue;
                }
                let res = self.resources.get(self.cus.get(row.cu).resource);
                acc ^= (res.project ^ res.offering) as usize;
                if row.user != NO_USER {
                    acc ^= self.users.get(row.user.get() - 1).refs.get() as usize;
                }
                acc ^= self.usernames.dict.string(row.username).len();
                if row.text != NO_TEXT {
                    acc ^= self.texts.items[row.text as usize].as_bytes()[0] as usize;
                }
            }
        }
        std::hint::black_box(acc);
    }

    /// Slots of a component usage, as a bitmap.
    pub(crate) fn cu_rows(&self, cu: u32) -> RoaringBitmap {
        self.cu_slots(cu).collect()
    }

    /// Takes `slot` (whose successor is `next`) out of its component
    /// usage's row chain: O(its position in the chain).
    fn unlink(&mut self, cu: u32, slot: u32, next: u32) {
        let first = self.cus.get(cu).first;
        if first == slot {
            self.cus.get_mut(cu).first = next;
        } else {
            let mut at = first;
            while at != NO_SLOT {
                let r = self.rows[at as usize]
                    .as_mut()
                    .expect("chained slots are live");
                if r.next == slot {
                    r.next = next;
                    break;
                }
                at = r.next;
            }
            debug_assert_ne!(at, NO_SLOT, "slot {slot} missing from its chain");
        }
        self.rows[slot as usize].as_mut().expect("live slot").next = NO_SLOT;
    }

    pub(crate) fn visible(&self, slot: u32, scope: &Scope) -> bool {
        if scope.everything {
            return true;
        }
        let (_, o, p, c) = self.chain(slot);
        scope
            .customers
            .iter()
            .any(|u| self.customers.id(u) == Some(c))
            || scope
                .projects
                .iter()
                .any(|u| self.projects.id(u) == Some(p))
            || scope
                .offerings
                .iter()
                .any(|u| self.offerings.id(u) == Some(o))
    }
}

/// Index work postponed to the end of a bulk write.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deferred {
    /// Slots whose position in each view must be recomputed.
    pub(crate) dirty: [Marks; 4],
    /// Slots written during the bulk write: counted in `live`, `by_uuid`
    /// and the row chains at once, but attached to the bitmaps and views
    /// only at the end, in slot order (appends, not inserts), from the final
    /// entity attributes.
    pub(crate) pending: RoaringBitmap,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Core {
    pub(crate) t: Tables,
    pub(crate) views: [View; 4],
    /// During a bulk write, view maintenance is deferred to one merge at the end.
    pub(crate) deferred: Option<Deferred>,
    /// Projects' tails in the reverse of the default order, kept by reads
    /// until a write changes the project's records.
    pub(crate) tails: super::cache::TailCache,
    /// Report days' starts in the default view, kept until a write changes
    /// the view.
    pub(crate) day_starts: super::cache::DayCache,
    /// Big customers' records of a type per billing period, adjusted by
    /// writes (forgotten when a project or resource moves).
    pub(crate) period_counts: super::cache::PeriodCountCache,
    /// Component types' records per report day, adjusted by writes.
    pub(crate) day_types: super::cache::DayTypeCache,
    /// Offerings' records per report day and type, adjusted by writes
    /// that re-date them, forgotten by those that add or remove them.
    pub(crate) offering_days: super::cache::OfferingDayCache,
    /// Offerings' records per billing period and type, kept as their day
    /// counts.
    pub(crate) offering_periods: super::cache::OfferingPeriodCache,
    /// Offerings' records of a type, adjusted by writes that re-date
    /// them, forgotten by those that add or remove them.
    pub(crate) offering_types: super::cache::OfferingTypeCache,
    /// Whole projects' records of a type, kept until a write changes the
    /// project's records.
    pub(crate) typed_runs: super::cache::TypedRunCache,
    /// Username searches' records, adjusted by writes.
    pub(crate) needle_rows: super::cache::NeedleRowsCache,
    /// Offerings' records with many-run containers expanded, kept until
    /// a write changes the offering's records.
    pub(crate) flat_offerings: super::cache::FlatCache,
    /// Queries' matches per report day, kept until a write changes an index.
    pub(crate) set_days: super::cache::SetDaysCache,
    /// Billing periods' records on some of their report days, kept until
    /// a write changes the period's records.
    pub(crate) cuts: super::cache::CutCache,
    /// Big groups of equal first sort key sorted by later keys, kept
    /// until a write moves a record in a view or changes an index.
    pub(crate) group_orders: super::cache::GroupOrderCache,
    /// What the write in progress made stale in the caches above.
    pub(crate) stale: super::cache::Stale,
}

/// Which indexes an attach/detach touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Customer, project, offering and resource bitmaps.
    Links,
    /// Component-usage keys: type, period and day bitmaps, and every view.
    CuKeys,
}

impl Core {
    pub(crate) fn new() -> Core {
        Core::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.t.by_uuid.len()
    }

    #[inline]
    pub(crate) fn slot_of(&self, uuid: Uuid) -> Option<u32> {
        self.t.slot_of(&uuid)
    }

    #[inline]
    pub(crate) fn row(&self, slot: u32) -> &Row {
        self.t.row(slot)
    }

    #[inline]
    pub(crate) fn record_at(&self, slot: u32) -> crate::RecordRef<'_> {
        crate::RecordRef::new(self, slot)
    }

    #[inline]
    pub(crate) fn visible(&self, slot: u32, scope: &Scope) -> bool {
        // (Most reads see everything: answered without a call.)
        scope.everything || self.t.visible(slot, scope)
    }

    pub(crate) fn cu_of(&self, slot: u32) -> &Cu {
        self.t.cus.get(self.row(slot).cu)
    }
    pub(crate) fn username_of(&self, slot: u32) -> &str {
        self.t.usernames.dict.str(self.row(slot).username)
    }

    pub(crate) fn view(&self, kind: ViewKind) -> &View {
        &self.views[kind as usize]
    }

    /// Inserts a slot into the given views (or marks it dirty during a bulk write).
    pub(crate) fn view_insert(&mut self, slot: u32, kinds: &[ViewKind]) {
        self.stale.view |= kinds.contains(&ViewKind::Default);
        self.stale.sorted = true;
        self.stale.moved(slot);
        if let Some(d) = &mut self.deferred {
            for &kind in kinds {
                d.dirty[kind as usize].insert(slot);
            }
            return;
        }
        // The slot's keys are read once: each step of the searches reads
        // only the entry's (a comparison of two slots read both, four
        // fifths of a single-record write's instructions).
        let t = &self.t;
        let key = t.key(slot);
        for &kind in kinds {
            self.views[kind as usize].insert(slot, t.seek(kind, slot, &key));
        }
    }

    /// Removes a slot from the given views, located by its current keys.
    pub(crate) fn view_remove(&mut self, slot: u32, kinds: &[ViewKind]) {
        self.stale.view |= kinds.contains(&ViewKind::Default);
        self.stale.sorted = true;
        if let Some(d) = &mut self.deferred {
            for &kind in kinds {
                d.dirty[kind as usize].insert(slot);
            }
            return;
        }
        let t = &self.t;
        let key = t.key(slot);
        for &kind in kinds {
            let found = self.views[kind as usize].remove(slot, t.seek(kind, slot, &key));
            debug_assert!(found, "slot {slot} missing from view {kind:?}");
        }
    }

    /// Adds a live slot to the indexes of `part`, from the current attributes.
    pub(crate) fn attach(&mut self, slot: u32, part: Part) {
        match part {
            Part::Links => {
                let (res, o, p, c) = self.t.chain(slot);
                self.t.resources.get_mut(res).rows.insert(slot);
                self.t.offerings.get_mut(o).rows.insert(slot);
                self.stale.offering(o);
                let pr = self.t.projects.get_mut(p);
                if pr.rows.insert(slot) {
                    pr.joined(slot);
                }
                self.t.customers.get_mut(c).rows.insert(slot);
                self.t.note_order(p, slot);
                self.stale.project(p);
            }
            Part::CuKeys => {
                let (day, period, ctype) = self.t.slot_keys(slot);
                if self.t.types.payload_mut(ctype).insert(slot) {
                    let e = &mut self.t.type_extent[ctype as usize];
                    *e = if e.0 == 0 {
                        (1, slot, slot)
                    } else {
                        (e.0 + 1, e.1.min(slot), e.2.max(slot))
                    };
                }
                self.t.periods.entry(period).or_default().insert(slot);
                self.t.days.entry(day).or_default().insert(slot);
                *self.t.period_type_rows.entry((period, ctype)).or_default() += 1;
                let (_, o, p, c) = self.t.chain(slot);
                self.t.count_type(c, p, ctype, 1, true);
                self.stale.project(p);
                self.stale.count(c, ctype, period, 1);
                self.stale.day_type(slot, (ctype, o), (day, period), 1);
                *self.t.period_day_rows.entry((period, day)).or_default() += 1;
                let b = self.t.period_days.entry(period).or_insert((day, day));
                *b = (b.0.min(day), b.1.max(day));
                self.view_insert(slot, &VIEW_KINDS);
            }
        }
    }

    /// Removes a live slot from the indexes of `part`, using the attributes it was attached with.
    pub(crate) fn detach(&mut self, slot: u32, part: Part) {
        match part {
            Part::Links => {
                let (res, o, p, c) = self.t.chain(slot);
                self.t.resources.get_mut(res).rows.remove(slot);
                self.t.offerings.get_mut(o).rows.remove(slot);
                self.stale.offering(o);
                let pr = self.t.projects.get_mut(p);
                if pr.rows.remove(slot) {
                    pr.left(slot);
                }
                self.t.customers.get_mut(c).rows.remove(slot);
                self.stale.project(p);
            }
            Part::CuKeys => {
                let (day, period, ctype) = self.t.slot_keys(slot);
                let b = self.t.types.payload_mut(ctype);
                if b.remove(slot) {
                    // Only removing a bound reads the bitmap.
                    let (len, min, max) = self.t.type_extent[ctype as usize];
                    let min = if slot == min {
                        b.min().unwrap_or(0)
                    } else {
                        min
                    };
                    let max = if slot == max {
                        b.max().unwrap_or(0)
                    } else {
                        max
                    };
                    self.t.type_extent[ctype as usize] = (len - 1, min, max);
                }
                remove_from(&mut self.t.periods, period, slot);
                remove_from(&mut self.t.days, day, slot);
                if !self.t.periods.contains_key(&period) {
                    self.t.period_days.remove(&period);
                }
                let (_, o, p, c) = self.t.chain(slot);
                self.t.count_type(c, p, ctype, 1, false);
                self.stale.project(p);
                self.stale.count(c, ctype, period, -1);
                self.stale.day_type(slot, (ctype, o), (day, period), -1);
                if let hashbrown::hash_map::Entry::Occupied(mut e) =
                    self.t.period_type_rows.entry((period, ctype))
                {
                    *e.get_mut() -= 1;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
                if let std::collections::btree_map::Entry::Occupied(mut e) =
                    self.t.period_day_rows.entry((period, day))
                {
                    *e.get_mut() -= 1;
                    if *e.get() == 0 {
                        e.remove();
                    }
                }
                self.view_remove(slot, &VIEW_KINDS);
            }
        }
    }

    /// Attaches a slot whose row was just written: every index.
    pub(crate) fn attach_row(&mut self, slot: u32) {
        let r = self.t.row(slot);
        let (uuid, cu) = (r.uuid, r.cu);
        self.t.live.insert(slot);
        let t = &mut self.t;
        let hu = t.uuid_hash(&uuid);
        let (rows, hasher) = (&t.rows, &t.hasher);
        let row = |s: u32| rows[s as usize].as_ref().expect("indexed slots are live");
        t.by_uuid.insert(hu, slot, |s| hasher.hash_one(row(s).uuid));
        let c = t.cus.get_mut(cu);
        let next = std::mem::replace(&mut c.first, slot);
        t.rows[slot as usize].as_mut().expect("live slot").next = next;
        if let Some(d) = &mut self.deferred {
            d.pending.insert(slot);
            return;
        }
        self.attach_indexes(slot);
    }

    /// Adds a slot to the username, link and component-usage indexes.
    fn attach_indexes(&mut self, slot: u32) {
        let uname = self.t.row(slot).username;
        self.t.usernames.add_slot(uname, slot);
        self.stale.name(slot, uname, true);
        self.attach(slot, Part::Links);
        self.attach(slot, Part::CuKeys);
    }

    /// Detaches a slot from every index; the row stays in the arena.
    pub(crate) fn detach_row(&mut self, slot: u32) {
        let pending = self
            .deferred
            .as_mut()
            .is_some_and(|d| d.pending.remove(slot));
        if !pending {
            self.detach(slot, Part::CuKeys);
            self.detach(slot, Part::Links);
            let uname = self.t.row(slot).username;
            self.t.usernames.remove_slot(uname, slot);
            self.stale.name(slot, uname, false);
        }
        let r = self.t.row(slot);
        let (uuid, cu, next) = (r.uuid, r.cu, r.next);
        self.t.live.remove(slot);
        let hu = self.t.uuid_hash(&uuid);
        self.t.by_uuid.remove(hu, slot);
        self.t.unlink(cu, slot, next);
    }

    /// Ends deferred view maintenance: per view, drops the dirty slots and
    /// merges the live ones back in. O(n) moves plus O(k log k + k log(n/k))
    /// comparisons; the views are independent, so they are rebuilt in parallel.
    pub(crate) fn flush_deferred(&mut self) {
        let Some(mut d) = self.deferred.take() else {
            return;
        };
        // Pending slots, in increasing order: every bitmap insert is an append.
        self.deferred = Some(Deferred::default());
        for slot in &d.pending {
            self.attach_indexes(slot);
        }
        let marked = self.deferred.take().expect("set above");
        for (dirty, more) in d.dirty.iter_mut().zip(&marked.dirty) {
            dirty.union_with(more);
        }
        let t = &self.t;
        // The names ranked only for the username view: a sort of every
        // name, for nothing when only usages moved (a re-report).
        let ranks = Ranks::new(t, !d.dirty[ViewKind::Username as usize].is_empty());
        let cores = crate::par::cores();
        let work = |kind: ViewKind, view: &mut View, dirty: &Marks, threads: usize| {
            let add: Vec<u32> = dirty.iter().filter(|&s| t.live.contains(s)).collect();
            let keyed = sorted_ranked(t, &ranks, kind, add, threads);
            view.merge_parts(
                |s| dirty.contains(s),
                &keyed,
                |s| ranked_part(t, &ranks, kind, s),
                |k| k.0,
                |s, k| ranked_before(t, &ranks, kind, s, k),
                |s| t.fence(kind, s),
                threads,
            );
        };
        let mut big = Vec::new();
        for (kind, view) in VIEW_KINDS.into_iter().zip(self.views.iter_mut()) {
            let dirty = &d.dirty[kind as usize];
            // Small flushes are not worth a thread.
            if dirty.len() < 50_000 {
                if !dirty.is_empty() {
                    work(kind, view, dirty, cores);
                }
            } else {
                big.push((kind, view, dirty));
            }
        }
        // One view per core at a time: each sort holds ~64 bytes of scratch
        // per record, so more threads than cores only raise the peak. A
        // wave of fewer views than cores lends the rest to their merges
        // (a re-report moves records in the usage view alone).
        let work = &work;
        while !big.is_empty() {
            let wave: Vec<_> = big.drain(..cores.min(big.len())).collect();
            let threads = cores / wave.len();
            std::thread::scope(|scope| {
                for (kind, view, dirty) in wave {
                    scope.spawn(move || work(kind, view, dirty, threads));
                }
            });
        }
    }

    /// Approximate heap bytes held by the core, by part (excluding
    /// allocator overhead; bitmaps counted as their containers in memory).
    pub(crate) fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        let t = &self.t;
        let bm = |b: &RoaringBitmap| bitmap_bytes(b);
        let sum = |it: &mut dyn Iterator<Item = usize>| it.sum::<usize>();
        vec![
            (
                "rows",
                t.rows.capacity() * std::mem::size_of::<Option<Row>>() + t.free.capacity() * 4,
            ),
            ("row text", t.texts.heap_bytes()),
            ("uuid index", t.by_uuid.heap_bytes()),
            (
                "component usages",
                t.cus.heap_bytes() + t.kinds.heap_bytes(),
            ),
            (
                "resources, offerings, projects, customers",
                t.resources.heap_bytes()
                    + t.offerings.heap_bytes()
                    + t.projects.heap_bytes()
                    + t.customers.heap_bytes(),
            ),
            ("offering users", t.users.heap_bytes()),
            (
                "resource bitmaps",
                sum(&mut t.resources.iter().map(|(_, e)| bm(&e.rows))),
            ),
            (
                "project bitmaps",
                sum(&mut t.projects.iter().map(|(_, e)| bm(&e.rows))),
            ),
            (
                "customer bitmaps",
                sum(&mut t.customers.iter().map(|(_, e)| bm(&e.rows))),
            ),
            (
                "offering bitmaps",
                sum(&mut t.offerings.iter().map(|(_, e)| bm(&e.rows))),
            ),
            (
                "username bitmaps + dictionary",
                sum(&mut t.usernames.dict.iter().map(|(_, _, b)| bm(b))) + t.usernames.heap_bytes(),
            ),
            (
                "type, period, day, live bitmaps",
                sum(&mut t.types.iter().map(|(_, _, b)| bm(b)))
                    + sum(&mut t.periods.values().map(bm))
                    + sum(&mut t.days.values().map(bm))
                    + bm(&t.live)
                    + t.period_type_rows.allocation_size()
                    // (A B-tree's nodes, estimated: up to eleven entries
                    // of 12 bytes each, with their edges.)
                    + t.period_day_rows.len() * 32
                    + t.type_extent.capacity() * std::mem::size_of::<(u64, u32, u32)>(),
            ),
            (
                "sorted views",
                self.views.iter().map(View::heap_bytes).sum(),
            ),
            (
                "query caches (project tails, day starts, period counts, day type counts, offering day and period counts, offerings' records of a type, typed runs, username ranks, username search records, expanded offerings, queries' day counts, period cuts, group orders)",
                self.tails.heap_bytes(|t| 4 * t.len())
                    + self.day_starts.heap_bytes(|_| std::mem::size_of::<usize>())
                    + self.period_counts.heap_bytes()
                    + self.day_types.heap_bytes(|v| 8 * v.capacity())
                    + self.offering_days.heap_bytes(|v| 12 * v.capacity())
                    + self.offering_periods.heap_bytes(|v| 12 * v.capacity())
                    + self.offering_types.heap_bytes(bitmap_bytes)
                    + self.typed_runs.heap_bytes()
                    + t.usernames.ranks_heap_bytes()
                    + self.needle_rows.heap_bytes(bitmap_bytes)
                    + (self.flat_offerings).heap_bytes(|b| b.as_ref().map_or(0, bitmap_bytes))
                    + self.set_days.heap_bytes()
                    + self.cuts.heap_bytes(bitmap_bytes)
                    + self.group_orders.heap_bytes(),
            ),
        ]
    }

    /// Approximate heap bytes held by the core: the sum of [`Core::heap_parts`].
    pub(crate) fn heap_bytes(&self) -> usize {
        self.heap_parts().iter().map(|p| p.1).sum()
    }
}

/// Heap bytes of a bitmap: its container headers plus their stores.
fn bitmap_bytes(b: &RoaringBitmap) -> usize {
    // `Statistics` counts array capacity as 4 bytes a value; arrays hold u16s.
    const CONTAINER: usize = 32;
    let s = b.statistics();
    s.n_containers as usize * CONTAINER
        + s.n_bytes_array_containers as usize / 2
        + s.n_bitset_containers as usize * 8192
        + s.n_bytes_run_containers as usize
}

fn remove_from(map: &mut BTreeMap<i32, RoaringBitmap>, key: i32, slot: u32) {
    if let Some(b) = map.get_mut(&key) {
        b.remove(slot);
        if b.is_empty() {
            map.remove(&key);
        }
    }
}

/// A view's order on extracted keys: its primary key, then `-date`, `component_type`, `uuid`.
pub(crate) fn cmp_sort_keys(kind: ViewKind, a: &SortKey<'_>, b: &SortKey<'_>) -> Ordering {
    let primary = match kind {
        ViewKind::Default => Ordering::Equal,
        ViewKind::Usage => a.ctype.cmp(b.ctype).then(a.usage.cmp(&b.usage)),
        ViewKind::Username => a.username.cmp(b.username),
        ViewKind::Period => a.period.cmp(&b.period),
    };
    primary.then_with(|| a.tail().cmp(&b.tail()))
}

/// Dense ranks of the type and username dictionaries in string order, so
/// bulk sorts compare integers instead of strings.
pub(crate) struct Ranks {
    types: Vec<u32>,
    usernames: Vec<u32>,
}

impl Ranks {
    /// The ranks of the types, and of the usernames if `usernames` (else
    /// none: no username view's key may be asked for).
    pub(crate) fn new(t: &Tables, usernames: bool) -> Ranks {
        Ranks {
            types: t.types.ranks(0).0,
            usernames: if usernames {
                t.usernames.ranks().rank
            } else {
                Vec::new()
            },
        }
    }
}

/// A view's order as integers: (part, primary, -date, type rank, uuid),
/// the strings replaced by their ranks; the part is the type rank in the
/// usage view, else 0. Compares like [`cmp_sort_keys`].
pub(crate) type RankedKey = (u32, i64, Reverse<Micros>, u32, u128);

pub(crate) fn ranked_key(t: &Tables, ranks: &Ranks, kind: ViewKind, slot: u32) -> RankedKey {
    let r = t.row(slot);
    let cu = t.cus.get(r.cu);
    let k = t.kind_of(cu);
    let primary = match kind {
        ViewKind::Default => 0,
        ViewKind::Usage => r.usage(),
        ViewKind::Username => i64::from(ranks.usernames[r.username as usize]),
        ViewKind::Period => i64::from(k.period),
    };
    let rank = ranks.types[k.ctype as usize];
    (
        if kind == ViewKind::Usage { rank } else { 0 },
        primary,
        Reverse(cu.date()),
        rank,
        r.uuid.as_u128(),
    )
}

/// The part of a view's order that `slot` lies in: its type rank in the
/// usage view, else 0 (the first element of its [`RankedKey`]).
fn ranked_part(t: &Tables, ranks: &Ranks, kind: ViewKind, slot: u32) -> u32 {
    match kind {
        ViewKind::Usage => ranks.types[t.kind_of(t.cus.get(t.row(slot).cu)).ctype as usize],
        ViewKind::Default | ViewKind::Period | ViewKind::Username => 0,
    }
}

/// Whether `slot` sorts before `key` in the view, `slot` being of `key`'s
/// part ([`ranked_part`]; `View::merge_parts` asks of no other): decided
/// by the primary key alone when it differs, in the username and usage
/// views read from the row without its component usage (a second
/// dependent cache miss: the usage view's merge of a 10% re-report at
/// 1M records took 68 ms comparing whole keys, 50 ms so, before
/// `View::merge_parts` scanned).
fn ranked_before(t: &Tables, ranks: &Ranks, kind: ViewKind, slot: u32, key: &RankedKey) -> bool {
    let r = t.row(slot);
    let primary = match kind {
        ViewKind::Username => Some(i64::from(ranks.usernames[r.username as usize])),
        ViewKind::Usage => Some(r.usage()),
        ViewKind::Default | ViewKind::Period => None,
    };
    match primary {
        Some(p) if p != key.1 => p < key.1,
        _ => ranked_key(t, ranks, kind, slot) < *key,
    }
}

/// `slots` in a view's order on integer keys (see [`ranked_key`]), each
/// with its key. Takes the list to free it before the merge (a load's
/// peak is the keys of two views at once). With `threads` ≥ 2 and at
/// least [`PARALLEL_MIN`](crate::par::PARALLEL_MIN) slots, each half is
/// keyed and sorted on a thread of its own, then the two are merged.
fn sorted_ranked(
    t: &Tables,
    ranks: &Ranks,
    kind: ViewKind,
    slots: Vec<u32>,
    threads: usize,
) -> Vec<(RankedKey, u32)> {
    let sort = |slots: &[u32]| {
        let mut keyed: Vec<(RankedKey, u32)> = slots
            .iter()
            .map(|&s| (ranked_key(t, ranks, kind, s), s))
            .collect();
        keyed.sort_unstable();
        keyed
    };
    if threads < 2 || slots.len() < crate::par::PARALLEL_MIN {
        return sort(&slots);
    }
    let (a, b) = slots.split_at(slots.len() / 2);
    let (a, b) = crate::par::join(|| sort(a), || sort(b));
    drop(slots);
    let mut out = a;
    out.extend(b);
    // Two sorted runs: the stable sort finds them and merges them, O(n).
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    /// A usage fence tells a usage's side of another wherever it answers,
    /// around both edges of the 48 bits it holds and far past them.
    #[test]
    fn usage_fences_tell_or_abstain() {
        let e = 1i64 << 47;
        let values = [
            i64::MIN,
            -e - 2,
            -e - 1,
            -e,
            -e + 1,
            -1,
            0,
            1,
            e - 2,
            e - 1,
            e,
            e + 1,
            i64::MAX,
        ];
        let mut told = 0;
        for &x in &values {
            for &u in &values {
                for inclusive in [false, true] {
                    let truth = if inclusive { x <= u } else { x < u };
                    if let Some(got) = super::usage_fence_below(super::usage_fence(x), u, inclusive)
                    {
                        assert_eq!(got, truth, "usage {x} against {u}, inclusive {inclusive}");
                        told += 1;
                    }
                }
            }
        }
        // Only ties at an edge abstain: both usages at or past the same one.
        assert_eq!(told, 2 * values.len() * values.len() - 2 * (4 * 4 + 4 * 4));
    }

    /// A project's prefix is in the reverse of the default order, ties of
    /// date included (`Project::sorted_until`): re-dating a component
    /// usage's two records onto another's date, of the same type, puts a
    /// third record's uuid between theirs, which the split must see from
    /// the greatest of their uuids, not from their first slot.
    #[test]
    fn rekeyed_blocks_keep_the_prefix_in_order() {
        use crate::{Query, Record, Store};
        use uuid::Uuid;
        let at = |r: &mut Record, uuid: u128, cu: u128, day: i64| {
            r.uuid = Uuid::from_u128(uuid);
            r.component_usage = Uuid::from_u128(cu);
            r.date = Record::example().date + chrono::Duration::days(day);
        };
        let mut x = Record::example();
        at(&mut x, 5, 100, 0);
        let (mut y1, mut y9) = (Record::example(), Record::example());
        at(&mut y1, 1, 200, 1);
        at(&mut y9, 9, 200, 1);
        // (One record per user and component usage.)
        (y9.username, y9.user) = ("bob".into(), Some(Uuid::from_u128(7)));
        let store = Store::new();
        // Slots in the order of the writes, here the sequence's.
        for r in [&x, &y9, &y1] {
            store.upsert(r).unwrap();
        }
        store.validate().expect("written in order");
        let split = |store: &Store| {
            let core = store.core.read();
            core.t
                .projects
                .iter()
                .map(|(_, p)| p.sorted_until)
                .collect::<Vec<_>>()
        };
        assert_eq!(split(&store), [u32::MAX], "all three in order");
        // The component usage re-dated to x's date: the sequence is now
        // y9, x, y1 while the slots hold x, y9, y1.
        y9.date = x.date;
        store.upsert(&y9).unwrap();
        store.validate().expect("the split moved before x");
        assert_eq!(split(&store), [0]);
        let q = Query::parse(&format!("project_uuid={}", x.project_uuid.simple())).unwrap();
        let (_, records) = store.query(&q).unwrap();
        let uuids: Vec<u128> = records.iter().map(|r| r.uuid.as_u128()).collect();
        assert_eq!(uuids, [1, 5, 9], "default order: date, type, then uuid");
    }

    #[test]
    fn row_stays_small() {
        // 60 bytes: the per-record arena cost before indexes (see BENCHMARKS.md).
        assert!(std::mem::size_of::<Option<super::Row>>() <= 60);
    }

    #[test]
    fn component_usage_stays_small() {
        // 36 bytes: 4-byte alignment, and the niche in `kind` spares the arena's `Option` tag.
        assert!(std::mem::size_of::<Option<super::Cu>>() <= 36);
    }

    #[test]
    fn split_halves_round_trip() {
        for v in [
            0,
            1,
            -1,
            i64::MIN,
            i64::MAX,
            1 << 32,
            -(1 << 32) - 7,
            1_732_000_000_123_456,
        ] {
            assert_eq!(super::Split64::new(v).get(), v);
        }
    }

    /// A load numbers each project's records in its sequence's order
    /// (`Core::reserve_slots`, [`Tables::seq_key`]), ties of report date
    /// included: the demo's component usages have one record or several,
    /// all of one date and type, and no project is left with a tail. A
    /// load that numbered a date's records any other way would leave
    /// tails, which every query of their projects sorts.
    #[cfg(feature = "demo")]
    #[test]
    fn a_load_leaves_every_project_in_order() {
        use crate::Store;
        use crate::demo::{Demo, DemoConfig};
        let records: Vec<_> = Demo::new(DemoConfig {
            records: 20_000,
            seed: 5,
        })
        .records()
        .collect();
        let mut dated: Vec<_> = records.iter().map(|r| (r.project_uuid, r.date)).collect();
        dated.sort_unstable();
        let ties = dated.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(
            ties > 100,
            "the demo has ties of date within a project: {ties}"
        );
        let store = Store::new();
        store.upsert_batch(&records).unwrap();
        store.validate().unwrap();
        let core = store.core.read();
        let tails = (core.t.projects.iter())
            .filter(|(_, p)| p.sorted_until != u32::MAX)
            .count();
        assert_eq!(tails, 0, "projects with a tail after the load");
    }

    /// Wherever two slots' fences decide, they decide as the view's order
    /// does: on demo records with usages past the fences' 48 bits, equal
    /// usages, and reports before 1970 and after 2106 (past the seconds'
    /// 32 bits), in every view; and the fences the views keep are their
    /// last slots' (`validate`).
    #[cfg(feature = "demo")]
    #[test]
    fn fences_agree_with_the_order() {
        use super::{VIEW_KINDS, ViewKind};
        use crate::demo::{Demo, DemoConfig};
        use crate::{Store, Usage};
        use chrono::TimeZone;

        let demo = Demo::new(DemoConfig {
            records: 6_000,
            seed: 7,
        });
        let early = chrono::Utc.with_ymd_and_hms(1960, 3, 1, 0, 0, 0).unwrap();
        let late = chrono::Utc.with_ymd_and_hms(2300, 1, 1, 12, 0, 0).unwrap();
        let records: Vec<_> = (demo.records().enumerate())
            .map(|(i, mut r)| {
                match i % 40 {
                    0 => r.usage = Usage::from_cents(1 << 50),
                    1 => r.usage = Usage::from_cents(-(1 << 50) - i as i64),
                    2 => r.usage = Usage::from_cents((1 << 47) - 1),
                    3..=6 => r.usage = Usage::from_cents(500),
                    _ => {}
                }
                // A component usage's date is its records' too: moved whole.
                match r.component_usage.as_u128() % 50 {
                    0 => r.date = early,
                    1 => r.date = late,
                    _ => {}
                }
                r
            })
            .collect();
        let store = Store::new();
        store.upsert_batch(&records).unwrap();
        // Single writes too, which keep the fences block by block.
        for r in records.iter().step_by(97) {
            let mut r = r.clone();
            r.usage = Usage::from_cents(r.usage.cents() + 1);
            store.upsert(&r).unwrap();
        }
        store.validate().unwrap();
        let core = store.core.read();
        let t = &core.t;
        let slots: Vec<u32> = t.live.iter().collect();
        let (mut decided, mut x) = (0u32, 12345u64);
        for kind in VIEW_KINDS {
            for _ in 0..20_000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = slots[(x >> 33) as usize % slots.len()];
                let b = slots[(x >> 13) as usize % slots.len()];
                let want = t.cmp(kind, a, b) == std::cmp::Ordering::Less;
                if let Some(got) = t.fence_before(kind, t.fence(kind, a), t.fence(kind, b)) {
                    assert_eq!(got, want, "{kind:?}: slots {a} and {b}");
                    decided += 1;
                }
            }
        }
        // The fences decide most pairs (else they save nothing).
        assert!(decided > 4 * 20_000 * 9 / 10, "{decided} decided");
        assert_eq!(t.fence_before(ViewKind::Default, 5, 5), None);
        let none = super::FENCE_NAME_NONE << 40;
        assert_eq!(t.fence_before(ViewKind::Username, none, 1 << 40), None);
    }

    #[test]
    fn texts_keep_both_strings_and_reuse_ids() {
        let mut t = super::Texts::default();
        assert_eq!(t.put("", ""), super::NO_TEXT);
        assert_eq!(t.get(super::NO_TEXT), ("", ""));
        // Lengths around the surrogate gap of the length character, and
        // multi-byte text on both sides of the split.
        let long: String = "é".repeat(0xD800 / 2 + 3);
        let cases = [
            ("a", ""),
            ("", "job-1"),
            ("naïve ✓", "id ü"),
            (long.as_str(), "b"),
            (&long[..0xD7FE], "x"),
        ];
        let ids: Vec<u32> = cases.iter().map(|(d, b)| t.put(d, b)).collect();
        for (&id, &(d, b)) in ids.iter().zip(&cases) {
            assert_eq!(t.get(id), (d, b));
            assert!(t.is_live(id));
        }
        assert_eq!(t.len(), cases.len());
        t.remove(ids[1]);
        assert!(!t.is_live(ids[1]));
        let again = t.put("new", "text");
        assert_eq!(again, ids[1], "a freed id is reused");
        assert_eq!(t.get(again), ("new", "text"));
        assert_eq!(t.get(ids[2]), cases[2]);
    }
}
