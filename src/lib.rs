//! # usage-store
//!
//! An embeddable, in-memory indexed store of Waldur *component user usage*
//! records that answers the queries of `GET /api/marketplace-component-user-usages/`
//! — twelve filters, ordering, pagination with a total count, sparse fields,
//! retrieve by uuid, visibility scopes — with upstream's exact semantics, in
//! microseconds instead of a PostgreSQL round trip.
//!
//! ## Types
//!
//! - [`Store`]: the store. Writes: [`Store::upsert`], [`Store::upsert_batch`]
//!   (all or nothing), [`Store::remove`], [`Store::replace`] (re-pull a slice).
//!   Reads: [`Store::read`] gives a [`ReadTxn`] whose [`ReadTxn::query`]
//!   returns a [`Page`] of borrowed [`RecordRef`]s, [`ReadTxn::count`] the
//!   [`PageInfo`] alone, [`ReadTxn::get`] one record.
//! - [`Record`] (owned record), [`Usage`] (exact two-digit decimal),
//!   [`Field`] / [`FieldSet`] (sparse fields). A record's strings are
//!   [`CompactString`]s (re-exported from `compact_str`): up to 24 bytes
//!   inline, so an owned copy of a page ([`RecordRef::to_record`])
//!   allocates only for longer names, not nine strings per record.
//! - [`Query`] (filter + `o` + page + `field` + [`Scope`]), [`Filter`],
//!   [`OrderKey`]; both parse raw query strings with upstream's rules and
//!   error messages.
//! - Errors: [`WriteError`], [`RecordError`], [`QueryError`], [`ParamErrors`].
//!
//! ## How it works
//!
//! Records live in an arena of dense `u32` slots. Entities shared between
//! records (component usage, resource, offering, project, customer) are
//! stored once, so renaming or moving one is a single write that every
//! record sees at once. Roaring bitmaps index records by customer, project,
//! offering, resource, username, component type, billing period and report
//! day; a filter is an intersection, smallest first. Sorted views (default
//! order, usage, username, billing period) give ordering and pagination
//! without sorting the whole set; a write finds a record's block in each
//! by its blocks' fences (numbers derived from each block's last keys),
//! then removes it by scanning the block for its slot, and inserts it by
//! a search four ways at a time, so that the random records it reads are
//! read in parallel. A big write (a load, a site agent's re-report: at
//! least 1/256 of the store) places its moved records at its end instead,
//! by one merge per view of their sorted keys into it; a re-report moves
//! records in the usage view alone, whose merge compares within a
//! component type by the usage read from the row, scans where the new
//! places lie close together and gallops where they are sparse, and runs
//! in two halves on two cores. The usage view is kept per component
//! type (usages of different types are different magnitudes): one type by
//! usage is a contiguous part, and a usage order over all types merges
//! the parts, from whichever end of the order is nearer the page (a
//! group of equal usages, such as the many zeros, is skipped or read from
//! its end by binary searches). A page far from both ends of that order,
//! over every record, is found by selection: binary searches across the
//! parts find the usage the page starts in (each search finds its block
//! by the blocks' fences, which hold the usage of each block's last
//! record, and reads rows only within that block), and a second
//! selection its first record among that usage's records. A page near
//! the front of a usage order over a filter's matches walks the view
//! while an even spread of the matches makes that cheaper than reading
//! every match's usage into a heap of the page's, and gives up for the
//! heap at half its cost (an offering's usages cluster at one end of its
//! types' parts). It walks only the parts of the types the query's
//! offering, customer or project has records of, from their kept counts.
//! A project's records are numbered in the reverse of the default order,
//! so among a project's (or a resource's) matches ties of an order's one
//! key go by slot: a page near the front is a heap of exactly the page's
//! records, each a row read, with no tie keyed by the default keys (a
//! project's few users share its records: the demo's at 1M has 3 users
//! for 1,291 records). A deep page of any order over
//! every record starts at the group of equal keys that holds it, found by
//! position. A big group of equal first keys (thousands of records sharing
//! a usage, a billing period's records) that a page sorts by the order's
//! later keys is sorted whole once and kept for the next pages (a
//! filtered walk reads such a group from its kept order, testing its
//! records until the page is full); so are a filtered query's thousands
//! of matches in an order led by the usage or the username, once paged
//! deep twice between writes. An order led by the billing period over a
//! filter is paged a period at a time: the matches counted in each
//! period (a report-date range by the bounds of its run in each
//! period's records), the periods before the page skipped, the page's
//! periods sorted alone, or, ordered by the period alone, read from the
//! period's run of the period view, which holds them in the tie order.
//! A deep page of the default order over a filter (a customer,
//! a component type, billing periods, or those together; a username
//! search's names, once their union costs less than the walk; any other
//! set, such as an offering or a search with a type) skips whole
//! report days by their counts (the day's bitmap intersected with the
//! filter's, a component type's kept count of the day, counted whole
//! on days only the billing periods' records were reported on, or the
//! query's own counts per day, made once and kept), from
//! whichever end is nearer, and walks only the day that holds it.
//! A page near the start of the default order walks the view testing each
//! record; a site agent's re-report dates a whole billing period to one
//! day (often to one time, whose records the view orders by component
//! type), so a filter's matches may lie far into that day: a walk for
//! one component type jumps over the other types' records of one report
//! time by a search of the view, and a walk that finds too few matches
//! at the start of a crowded day reads that day as a set (its bitmap
//! intersected with the filter's, the page's part sorted), then walks
//! the rest.
//! A report-date range is read as billing periods, with the periods'
//! filters or without them (every period then): a period whose report
//! days lie inside the range needs no date test, one outside it is
//! dropped, and only those the range cuts through (the one or two at
//! its ends, and any old period a late report re-dated into it) are
//! intersected with those of the range's days that hold the period's
//! records (kept per period and day), their records in it kept for the
//! next queries until a write changes the period. A component type, an
//! offering or a username search in a range alone is counted by its
//! kept counts per report day, an offering's billing periods alone by
//! its kept counts per period (an offering's counts are by component
//! type too, so an offering with a type is counted the same way), a
//! username search with a type or billing periods by its kept counts per
//! period and type, and a big customer's records of a type in a range by
//! its kept counts per billing period and the kept cuts. An offering or
//! a username search with a component type reads its kept records of the
//! type, one bitmap for both filters, and an order by usage over an
//! offering merges only the usage view's parts of the offering's types. A load numbers each
//! customer's records project by project, and a project's in the reverse
//! of the default order (by report date, then component type and uuid
//! descending), and the store tracks how much of each project is still in
//! that order after later writes (records written out of order since
//! form a tail, sorted by the first query after a write and
//! shared by the next ones): the UI's usage table (one project, perhaps a
//! date range or a year, default order) is then a binary search and a
//! slice, not a sort, and a small customer's table or a user's visibility
//! scope (a few dozen projects, perhaps a component type or a date range)
//! a merge of those projects' orders from their ends. What queries derive
//! from the indexes (a project's sorted tail, a whole project's records
//! of a component type for a merge, a big customer's counts per type and
//! billing period, a type's records per report day, where report days
//! start in the default view, the usernames' order and their substring
//! matches, the records of a username search combined with a type,
//! billing periods, dates or an offering, a union of its names' bitmaps
//! that makes such a page one intersection, with its counts per billing
//! period and type and its records of a type, an offering's records per
//! report day and per billing period (by type), an offering's records
//! of a type, a billing period's records cut by
//! a range's days, and a big offering's
//! records with their thousands of runs expanded for intersections, and
//! a few queries' matches per report day for their deep pages, and a
//! few big groups or queries' matches sorted by an order's keys) is
//! kept and shared by the queries
//! between writes, and a write forgets or adjusts only what it changed
//! (the tails and typed records of the projects whose records it
//! touched, the counts by the records it added or took, the search
//! records by the records that joined or left a name, an offering's
//! records of a type by the records that took or left the type, an
//! offering's expanded records when its records change, a query's day
//! counts by the records that took or left its days, a query's sorted
//! matches when one of them changes; the day starts go whenever the
//! default view changes, the queries' day counts and sorted matches
//! whenever a record is added, removed, renamed or moved to another
//! resource, project or customer, the sorted groups of a view's
//! positions whenever a record moves in a view; a name added or removed updates the
//! usernames' order and kept matches in place), so under many writers (site agents
//! reporting every 30 minutes) the rest stays warm.
//!
//! Memory is the cost a cache is judged by: a record's own fields take 60
//! bytes, a component usage 36 (billing period, type and unit share one
//! id), the records of a component usage are chained through their rows
//! (the natural key needs no index of its own), and after a load every
//! bitmap is compacted. With every index: about 150 bytes per record at
//! 1,000,000 records ([`Store::heap_breakdown`] says where they go).
//!
//! ## Feature flags
//!
//! - `demo` (default): [`demo`], a deterministic generator of realistic data.
//!
//! ## MSRV
//!
//! Rust 1.90, edition 2024.
//!
//! ## Example
//!
//! ```
//! use usage_store::{Query, Record, Scope, Store};
//!
//! let store = Store::new();
//! let mut r = Record::example();
//! store.upsert(&r).unwrap();
//! r.uuid = uuid::Uuid::from_u128(2);
//! r.username = "bob".into();
//! r.usage = "7.25".parse().unwrap();
//! store.upsert(&r).unwrap();
//!
//! let q = Query::parse("customer_uuid=66666666666646668666666666666666&o=-usage")
//!     .unwrap()
//!     .with_scope(Scope::everything());
//! let txn = store.read();
//! let page = txn.query(&q).unwrap();
//! let names: Vec<_> = page.iter().map(|r| r.username()).collect();
//! assert_eq!(names, ["alice", "bob"]);
//! assert_eq!(page.count(), 2);
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod index;
mod par;
mod query;
mod record;
mod store;
pub(crate) mod wire;

/// A deterministic xorshift generator for the unit tests: `next(n)` is
/// below `n` (the crate's `rand` belongs to the `demo` feature).
#[cfg(test)]
pub(crate) fn test_rng(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed;
    move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    }
}

#[cfg(feature = "demo")]
pub mod demo;

#[cfg(feature = "server")]
pub mod server;

pub use compact_str::CompactString;
pub use error::{ParamErrors, QueryError, RecordError, RecordErrorKind, WriteError};
pub use query::{
    DEFAULT_PAGE_SIZE, Filter, MAX_PAGE_SIZE, OrderKey, PageSpec, Query, Scope, SortField,
};
pub use record::{Field, FieldSet, Record, Usage, UsageError};
pub use store::{Page, PageInfo, PageIter, ReadTxn, RecordRef, Store, WriteOutcome, WriteSummary};
pub use wire::json::{INVALID_PAGE_BODY, JsonError, NOT_FOUND_BODY, RecordJson, read_records};

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
