//! The public [`Store`] and its read transaction [`ReadTxn`], thin wrappers
//! over the private [`Core`].

mod cache;
pub(crate) mod core;
mod entities;
mod read;
mod validate;
mod write;

use chrono::{DateTime, NaiveDate, Utc};
use compact_str::CompactString;
use parking_lot::RwLock;
use uuid::Uuid;

use crate::error::{QueryError, WriteError};
use crate::query::{Filter, Query, Scope};
use crate::record::{FieldSet, Record, Usage};

use self::core::{Core, Row};
use self::entities::{Cu, Kind, Project, Resource};

/// An in-memory indexed store of component user usage records.
///
/// `Store` is `Send + Sync`: share it behind an `Arc`. Reads take a shared
/// lock ([`Store::read`]) and run in parallel with each other; a write takes
/// the exclusive lock only to apply changes it has already validated, so a
/// reader observes every write entirely or not at all.
///
/// # Examples
///
/// ```
/// use usage_store::{Query, Record, Store};
/// let store = Store::new();
/// store.upsert(&Record::example()).unwrap();
/// let q = Query::parse("type=cpu&o=-usage").unwrap();
/// let txn = store.read();
/// let page = txn.query(&q).unwrap();
/// assert_eq!(page.count(), 1);
/// assert_eq!(page.iter().next().unwrap().username(), "alice");
/// ```
pub struct Store {
    core: RwLock<Core>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("len", &self.len()).finish()
    }
}

/// What a single upsert did; created by [`Store::upsert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new uuid was stored.
    Inserted,
    /// A stored record with the same uuid was replaced by a different one.
    Replaced,
    /// The stored record was already equal to the written one (the entity
    /// attributes it carries were still applied).
    Unchanged,
}

/// Counts of what a batch write did; created by [`Store::upsert_batch`] and [`Store::replace`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// New uuids stored.
    pub inserted: usize,
    /// Records replaced by different ones.
    pub replaced: usize,
    /// Records written equal to what was stored.
    pub unchanged: usize,
    /// Records removed ([`Store::replace`] only).
    pub removed: usize,
}

impl Store {
    /// An empty store. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(usage_store::Store::new().is_empty());
    /// ```
    pub fn new() -> Store {
        Store {
            core: RwLock::new(Core::new()),
        }
    }

    /// Number of records. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// s.upsert(&usage_store::Record::example()).unwrap();
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.read().len()
    }

    /// Whether the store holds no record. O(1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Approximate heap bytes the store holds: the arena, the entity tables,
    /// every hash index, bitmap and sorted view. O(n).
    ///
    /// The figure counts capacities and the bitmaps' serialized sizes, not
    /// allocator overhead; `examples/memory.rs` measures the exact live bytes
    /// with a counting allocator. Meant for startup lines and metrics.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Store};
    ///
    /// let store = Store::new();
    /// let empty = store.heap_bytes();
    /// store.upsert(&Record::example()).unwrap();
    /// assert!(store.heap_bytes() > empty);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        self.core.read().heap_bytes()
    }

    /// Gives back spare capacity: arenas shrink to their contents, every
    /// bitmap is rewritten at exact capacity (entity bitmaps run-compressed)
    /// and component usages are renumbered in the order of their records'
    /// slots (so that a filter's records read theirs almost sequentially).
    ///
    /// A write of at least a quarter of the store (a load) does this itself;
    /// call it after the store has grown or shrunk by many small writes.
    /// Readers wait while it runs. Cost: O(n + bitmap containers).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Store};
    ///
    /// let store = Store::new();
    /// let mut r = Record::example();
    /// for i in 0..100u128 {
    ///     r.uuid = uuid::Uuid::from_u128(i + 1);
    ///     r.username = format!("user{i}").into();
    ///     store.upsert(&r).unwrap();
    /// }
    /// let before = store.heap_bytes();
    /// store.shrink_to_fit();
    /// assert!(store.heap_bytes() <= before);
    /// assert_eq!(store.len(), 100);
    /// ```
    pub fn shrink_to_fit(&self) {
        let mut core = self.core.write();
        core.shrink_tables();
        core.compact_bitmaps();
        core.renumber_cus();
    }

    /// [`Store::heap_bytes`] by part (record arena, each index, each view),
    /// largest first: where a cache's memory goes. O(entities + bitmap containers).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Store};
    ///
    /// let store = Store::new();
    /// store.upsert(&Record::example()).unwrap();
    /// let parts = store.heap_breakdown();
    /// assert_eq!(parts.iter().map(|p| p.1).sum::<usize>(), store.heap_bytes());
    /// assert!(parts.iter().any(|&(name, _)| name == "uuid index"));
    /// // Largest first; the record's 60-byte row is in the arena.
    /// assert!(parts.windows(2).all(|w| w[0].1 >= w[1].1));
    /// assert!(parts.iter().any(|&(name, bytes)| name == "rows" && bytes >= 60));
    /// ```
    pub fn heap_breakdown(&self) -> Vec<(&'static str, usize)> {
        let mut parts = self.core.read().heap_parts();
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        parts
    }

    /// Starts a read: a consistent view of the store until it is dropped.
    /// Writes wait while it lives, so keep it short. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// let txn = s.read();
    /// assert_eq!(txn.len(), 0);
    /// ```
    #[inline]
    pub fn read(&self) -> ReadTxn<'_> {
        ReadTxn {
            core: self.core.read(),
        }
    }

    /// Inserts or replaces one record (SPEC §1.4, §5), applying the entity
    /// attributes it carries to every record that shares them (§1.3).
    ///
    /// Cost: O(log n) plus the records that an entity change moves, plus
    /// O(m) for the m records of the same component usage (the natural key
    /// is found along their chain; m is the users reporting that component
    /// in that period, a handful in practice). A new `date` is the
    /// component usage's, so it moves those m records in the four sorted
    /// views: at 1,000,000 records about 30 µs for the demo's 2.5
    /// (`benches/write.rs`, case `report`), where a new `usage` alone moves
    /// one record in the usage view, about 6 µs.
    ///
    /// # Errors
    ///
    /// [`WriteError::Invalid`] for a field rule, [`WriteError::Conflict`] when
    /// `(component_usage, username)` belongs to another uuid. Nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Store, WriteOutcome};
    /// let s = Store::new();
    /// let mut r = Record::example();
    /// assert_eq!(s.upsert(&r).unwrap(), WriteOutcome::Inserted);
    /// r.usage = "99".parse().unwrap();
    /// assert_eq!(s.upsert(&r).unwrap(), WriteOutcome::Replaced);
    /// r.uuid = uuid::Uuid::from_u128(7);
    /// assert!(s.upsert(&r).is_err(), "same (component_usage, username), other uuid");
    /// ```
    pub fn upsert(&self, record: &Record) -> Result<WriteOutcome, WriteError> {
        let s = self.write_batch(None, std::slice::from_ref(record))?;
        Ok(if s.inserted == 1 {
            WriteOutcome::Inserted
        } else if s.replaced == 1 {
            WriteOutcome::Replaced
        } else {
            WriteOutcome::Unchanged
        })
    }

    /// Upserts many records, all or nothing, as if one by one in order.
    ///
    /// Cost: O(k log n) for k records; large batches re-sort the views by merging, O(n + k log k).
    ///
    /// # Errors
    ///
    /// The first offending element, by index: an invalid field, or a natural
    /// key held by another uuid (stored, or earlier in the batch). Nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Store};
    /// let s = Store::new();
    /// let a = Record::example();
    /// let mut b = a.clone();
    /// b.uuid = uuid::Uuid::from_u128(2);
    /// let e = s.upsert_batch(&[a, b]).unwrap_err();
    /// assert_eq!(e.index(), 1);
    /// assert!(s.is_empty());
    /// ```
    pub fn upsert_batch(&self, records: &[Record]) -> Result<WriteSummary, WriteError> {
        self.write_batch(None, records)
    }

    /// Removes a record and returns it, if present. O(log n + m), m the
    /// records of its component usage.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// let r = usage_store::Record::example();
    /// s.upsert(&r).unwrap();
    /// assert_eq!(s.remove(r.uuid), Some(r));
    /// assert!(s.is_empty());
    /// ```
    pub fn remove(&self, uuid: Uuid) -> Option<Record> {
        let mut core = self.core.write();
        let slot = core.slot_of(uuid)?;
        let rec = core.record_at(slot).to_record();
        core.remove_slot(slot);
        Some(rec)
    }

    /// Re-pulls one slice (SPEC §5): atomically removes every record that
    /// matches `filter` and is not in `records` (by uuid), then upserts
    /// `records` as one batch.
    ///
    /// Every element must match `filter` by its own fields, or nothing changes.
    /// The removed set is decided on the store as it was before the call.
    ///
    /// Cost: the filter's query cost plus the batch's.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Filter, Record, Store};
    /// let s = Store::new();
    /// let r = Record::example();
    /// s.upsert(&r).unwrap();
    /// let f = Filter::new().resource_uuid(r.resource_uuid).billing_period(r.billing_period);
    /// let sum = s.replace(&f, &[]).unwrap();
    /// assert_eq!(sum.removed, 1);
    /// assert!(s.is_empty());
    /// ```
    pub fn replace(&self, filter: &Filter, records: &[Record]) -> Result<WriteSummary, WriteError> {
        self.write_batch(Some(filter), records)
    }

    /// Fetches one record by uuid if the scope lets the caller see it.
    /// O(1) expected.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Record, Scope, Store};
    /// let s = Store::new();
    /// let r = Record::example();
    /// s.upsert(&r).unwrap();
    /// assert_eq!(s.get(r.uuid, &Scope::everything()), Some(r.clone()));
    /// assert_eq!(s.get(r.uuid, &Scope::nothing()), None);
    /// ```
    pub fn get(&self, uuid: Uuid, scope: &Scope) -> Option<Record> {
        self.read().get(uuid, scope).map(|r| r.to_record())
    }

    /// Runs a query and returns the page's records as owned values, with the
    /// page metadata. For zero-copy access use [`Store::read`].
    ///
    /// Cost: see [`ReadTxn::query`].
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// s.upsert(&usage_store::Record::example()).unwrap();
    /// let (info, rows) = s.query(&usage_store::Query::new()).unwrap();
    /// assert_eq!((info.count, rows.len()), (1, 1));
    /// ```
    pub fn query(&self, q: &Query) -> Result<(PageInfo, Vec<Record>), QueryError> {
        let txn = self.read();
        let page = txn.query(q)?;
        Ok((page.info(), page.to_records()))
    }

    /// Checks every internal invariant: arena, indexes, dictionaries, sorted
    /// views and entity tables against each other. O(n log n). For tests.
    #[doc(hidden)]
    pub fn validate(&self) -> Result<(), String> {
        self.core.read().validate()
    }

    fn write_batch(
        &self,
        filter: Option<&Filter>,
        records: &[Record],
    ) -> Result<WriteSummary, WriteError> {
        // `plan_write` validates each element in order, so a batch whose 2nd
        // element conflicts and whose 3rd is invalid reports the conflict.
        // Plan under an upgradable read lock (readers keep running), apply under the write lock.
        let core = self.core.upgradable_read();
        let plan = core.plan_write(filter, records)?;
        let mut core = parking_lot::RwLockUpgradableReadGuard::upgrade(core);
        Ok(core.apply_write(plan, records))
    }
}

/// A consistent read view of a [`Store`]; created by [`Store::read`].
///
/// Holds the store's shared lock: writes wait until it is dropped. Do not
/// write to the same store from a thread that holds a `ReadTxn`: the write
/// would wait for the read to end, forever.
pub struct ReadTxn<'s> {
    core: parking_lot::RwLockReadGuard<'s, Core>,
}

/// The numbers of a page: total count, which page, how many pages;
/// created by [`Page::info`] and [`ReadTxn::count`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageInfo {
    /// Total number of matching records (`X-Result-Count`).
    pub count: u64,
    /// The 1-based page number served (`last` resolved).
    pub number: u64,
    /// Number of pages (at least 1: an empty result has one empty page).
    pub num_pages: u64,
    /// The page size used.
    pub page_size: usize,
}

impl PageInfo {
    /// Whether a previous page exists.
    pub fn has_previous(&self) -> bool {
        self.number > 1
    }

    /// Whether a next page exists.
    pub fn has_next(&self) -> bool {
        self.number < self.num_pages
    }
}

impl ReadTxn<'_> {
    /// Number of records. O(1).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether there is no record. O(1).
    pub fn is_empty(&self) -> bool {
        self.core.len() == 0
    }

    /// Runs a list query: filter, scope, order, page (SPEC §2, §4).
    ///
    /// Cost: the filter is answered by bitmap intersections (smallest first;
    /// a union of days or periods within an entity's run of slots by binary
    /// searches); the page by walking a sorted view or by partially sorting
    /// the matches, whichever the estimated costs favour — never by sorting
    /// every record. Against an entity's (or a scope's) runs of slots, a
    /// report-date range or a large last bitmap is counted by range
    /// cardinalities, and its default-order page read from the latest report
    /// days, without building the intersection. One project or resource,
    /// with at most a report-date range and billing period filters, in the
    /// default order, costs O(log n + page size) after a load (plus a test
    /// per record of the periods' report days): a load numbers each
    /// project's records in the reverse of the default order (by report
    /// date, then component type and uuid descending), and the store
    /// keeps track of how much of each project later writes left in that
    /// order (a new report comes last; records re-dated or written out of
    /// order join a tail, sorted by the first query after a write and shared by the
    /// next ones; a tail of more than 16,384 records falls back to the
    /// general plan for that project). Unfiltered pages in a
    /// view's order cost O(log n + page size), except a usage order over
    /// several component types: its view is kept per type and merged,
    /// O(types + offset + page size) — a deep page of every record by usage
    /// walks the merge (page 500 of 10 at 1M records: about 0.5 ms), where
    /// one type by usage is a slice of its part.
    ///
    /// # Errors
    ///
    /// [`QueryError::InvalidPage`] for an invalid or past-the-end page.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Query, QueryError, Record, Store};
    /// let s = Store::new();
    /// s.upsert(&Record::example()).unwrap();
    /// let txn = s.read();
    /// assert_eq!(txn.query(&Query::new().page_number(2)).unwrap_err(), QueryError::InvalidPage);
    /// let p = txn.query(&Query::new().last_page()).unwrap();
    /// assert_eq!((p.info().number, p.len()), (1, 1));
    /// ```
    pub fn query(&self, q: &Query) -> Result<Page<'_>, QueryError> {
        let (info, slots) = self.core.run_query(q, true)?;
        Ok(Page {
            core: &self.core,
            info,
            slots,
            fields: q.fields(),
        })
    }

    /// The count and page numbers of a query without ordering or fetching
    /// the page — what `HEAD` needs. Cost: the filter's bitmap work only.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// let q = usage_store::Query::parse("type=cpu").unwrap();
    /// assert_eq!(s.read().count(&q).unwrap().count, 0);
    /// ```
    pub fn count(&self, q: &Query) -> Result<PageInfo, QueryError> {
        self.core.run_query(q, false).map(|(info, _)| info)
    }

    /// One record by uuid, if the scope sees it (SPEC §3, §4). O(1) expected.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = usage_store::Store::new();
    /// let r = usage_store::Record::example();
    /// s.upsert(&r).unwrap();
    /// let txn = s.read();
    /// assert_eq!(txn.get(r.uuid, &usage_store::Scope::everything()).unwrap().username(), "alice");
    /// ```
    #[inline]
    pub fn get(&self, uuid: Uuid, scope: &Scope) -> Option<RecordRef<'_>> {
        let slot = self.core.slot_of(uuid)?;
        self.core
            .visible(slot, scope)
            .then(|| self.core.record_at(slot))
    }
}

/// One page of a query; created by [`ReadTxn::query`].
pub struct Page<'t> {
    core: &'t Core,
    info: PageInfo,
    slots: Vec<u32>,
    fields: FieldSet,
}

impl std::fmt::Debug for Page<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("info", &self.info)
            .field(
                "records",
                &self.iter().map(|r| r.uuid()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<'t> Page<'t> {
    /// The page numbers and total count.
    pub fn info(&self) -> PageInfo {
        self.info
    }

    /// Total number of matching records.
    pub fn count(&self) -> u64 {
        self.info.count
    }

    /// Records on this page.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the page holds no record (only when the whole result is empty).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The sparse fields the query asked for.
    pub fn fields(&self) -> FieldSet {
        self.fields
    }

    /// The page's records, owned, in order: [`RecordRef::to_record`] of
    /// each of [`Page::iter`]'s. O(page).
    ///
    /// Each record is pushed into a list of the page's length;
    /// `page.iter().map(|r| r.to_record()).collect()` gives the same list
    /// about a quarter slower (750–788 against 568–578 ns for ten records
    /// at 1M: its loop moves each 384-byte record once more, through an
    /// `Option`).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Query, Record, Store};
    /// let store = Store::new();
    /// store.upsert(&Record::example()).unwrap();
    /// let txn = store.read();
    /// let page = txn.query(&Query::parse("page_size=5").unwrap()).unwrap();
    /// let records = page.to_records();
    /// assert_eq!(records, vec![Record::example()]);
    /// ```
    pub fn to_records(&self) -> Vec<Record> {
        // Collected from the slots (an exact length, so no capacity check
        // between building a record and storing it) with `to_record`
        // inlined into the loop that stores it, where `push` had each
        // 384-byte record returned aside and called `memcpy` for it (4 %
        // of `big_customer_period_page3`'s instructions, callgrind).
        self.slots
            .iter()
            .map(|&s| self.core.record_at(s).to_record())
            .collect()
    }

    /// The records, in order.
    #[inline]
    pub fn iter(&self) -> PageIter<'_, 't> {
        PageIter {
            core: self.core,
            slots: self.slots.iter(),
        }
    }
}

/// Iterator over a [`Page`]'s records; created by [`Page::iter`].
pub struct PageIter<'p, 't> {
    core: &'t Core,
    slots: std::slice::Iter<'p, u32>,
}

impl<'t> Iterator for PageIter<'_, 't> {
    type Item = RecordRef<'t>;

    #[inline]
    fn next(&mut self) -> Option<RecordRef<'t>> {
        self.slots.next().map(|&s| self.core.record_at(s))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl ExactSizeIterator for PageIter<'_, '_> {}

/// A borrowed view of one stored record, with its entity attributes
/// resolved; created by [`Page::iter`] and [`ReadTxn::get`].
///
/// Accessors borrow from the store: rendering a page clones no string.
#[derive(Clone, Copy)]
pub struct RecordRef<'t> {
    pub(crate) core: &'t Core,
    // Resolved once when the reference is made: a page reads every field,
    // and each would otherwise walk row → component usage → resource → ….
    pub(crate) row: &'t Row,
    pub(crate) cu: &'t Cu,
    pub(crate) kind: Kind,
    res: &'t Resource,
    project: &'t Project,
}

impl std::fmt::Debug for RecordRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_record().fmt(f)
    }
}

#[allow(missing_docs)]
impl<'t> RecordRef<'t> {
    #[inline]
    pub(crate) fn new(core: &'t Core, slot: u32) -> RecordRef<'t> {
        let t = &core.t;
        let row = t.row(slot);
        let cu = t.cus.get(row.cu);
        let res = t.resources.get(cu.resource);
        RecordRef {
            core,
            row,
            cu,
            kind: t.kind_of(cu),
            res,
            project: t.projects.get(res.project),
        }
    }

    #[inline]
    pub fn uuid(&self) -> Uuid {
        self.row.uuid
    }
    #[inline]
    pub fn user(&self) -> Option<Uuid> {
        self.core.t.user_of_row(self.row)
    }
    #[inline]
    pub fn username(&self) -> &'t str {
        self.core.t.usernames.dict.str(self.row.username)
    }
    #[inline]
    pub fn component_usage(&self) -> Uuid {
        self.cu.uuid
    }
    #[inline]
    pub fn usage(&self) -> Usage {
        Usage::from_cents(self.row.usage())
    }
    #[inline]
    pub fn measured_unit(&self) -> &'t str {
        self.core.t.units.str(self.kind.unit)
    }
    #[inline]
    pub fn description(&self) -> &'t str {
        self.core.t.texts.get(self.row.text).0
    }
    #[inline]
    pub fn created(&self) -> DateTime<Utc> {
        crate::wire::time::from_micros(self.row.created())
    }
    #[inline]
    pub fn modified(&self) -> DateTime<Utc> {
        crate::wire::time::from_micros(self.row.modified())
    }
    #[inline]
    pub fn backend_id(&self) -> &'t str {
        self.core.t.texts.get(self.row.text).1
    }
    #[inline]
    pub fn resource_name(&self) -> &'t str {
        &self.res.name
    }
    #[inline]
    pub fn resource_uuid(&self) -> Uuid {
        self.res.uuid
    }
    #[inline]
    pub fn offering_name(&self) -> &'t str {
        &self.core.t.offerings.get(self.res.offering).name
    }
    #[inline]
    pub fn offering_uuid(&self) -> Uuid {
        self.core.t.offerings.get(self.res.offering).uuid
    }
    #[inline]
    pub fn project_name(&self) -> &'t str {
        &self.project.name
    }
    #[inline]
    pub fn project_uuid(&self) -> Uuid {
        self.project.uuid
    }
    #[inline]
    pub fn customer_name(&self) -> &'t str {
        &self.core.t.customers.get(self.project.customer).name
    }
    #[inline]
    pub fn customer_uuid(&self) -> Uuid {
        self.core.t.customers.get(self.project.customer).uuid
    }
    #[inline]
    pub fn component_type(&self) -> &'t str {
        self.core.t.types.str(self.kind.ctype)
    }
    #[inline]
    pub fn date(&self) -> DateTime<Utc> {
        crate::wire::time::from_micros(self.cu.date())
    }
    #[inline]
    pub fn billing_period(&self) -> NaiveDate {
        self.kind.period_date
    }

    /// An owned copy of the record. Its strings are [`CompactString`]s:
    /// only those longer than 24 bytes allocate.
    #[inline]
    pub fn to_record(&self) -> Record {
        // Each entity and the free text resolved once (the accessors would
        // look the offering, the customer and the text up twice each). The
        // names are cloned as stored: a short `CompactString`'s clone is a
        // fixed 24-byte copy, where one built from a `&str` copies a
        // variable length (nine of them were a third of this function).
        // The three times are converted first and each on its own: a
        // `DateTime` is three 4-byte words, and a copy of one made just
        // after its words were stored (the report date's into the record,
        // the creation time's into an unchanged modification time) read
        // them back 8 bytes at a time, which the store buffer cannot
        // forward: about 15 cycles a time, the two hottest instructions of
        // this function in perf.
        let date = self.date();
        let (created, modified) = (self.row.created(), self.row.modified());
        let created_at = crate::wire::time::from_micros(created);
        let modified_at = crate::wire::time::from_micros(modified);
        let t = &self.core.t;
        let offering = t.offerings.get(self.res.offering);
        let customer = t.customers.get(self.project.customer);
        let (description, backend_id) = t.texts.get(self.row.text);
        let text = |s: &str| {
            if s.is_empty() {
                CompactString::default()
            } else {
                s.into()
            }
        };
        Record {
            uuid: self.uuid(),
            user: self.user(),
            username: t.usernames.dict.string(self.row.username).clone(),
            component_usage: self.component_usage(),
            usage: self.usage(),
            measured_unit: t.units.string(self.kind.unit).clone(),
            description: text(description),
            created: created_at,
            modified: modified_at,
            backend_id: text(backend_id),
            resource_name: self.res.name.clone(),
            resource_uuid: self.resource_uuid(),
            offering_name: offering.name.clone(),
            offering_uuid: offering.uuid,
            project_name: self.project.name.clone(),
            project_uuid: self.project_uuid(),
            customer_name: customer.name.clone(),
            customer_uuid: customer.uuid,
            component_type: t.types.string(self.kind.ctype).clone(),
            date,
            billing_period: self.billing_period(),
        }
    }
}
