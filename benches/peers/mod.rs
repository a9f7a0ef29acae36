//! Peer implementations of the store's queries, shared by `benches/query.rs`,
//! `benches/write.rs` and `examples/memory.rs`.
//!
//! Every peer answers the same [`Op`]s with the same semantics as the store
//! (SPEC §2.1 filters, §2.2 total order, §2.3 pages, §4 visibility) and
//! returns an [`Answer`] of owned [`Record`]s, so the benches compare equal work.
//!
//! - [`sqlite`]: rusqlite (bundled SQLite), `:memory:`, one denormalised table
//!   with composite indexes designed for the benchmarked queries.
//! - [`mim`]: the `multi_index_map` crate, hashed indexes, planner by index size.
//! - [`floor`]: the unavoidable work only: roaring intersections of prebuilt
//!   bitmaps, the cardinality, and cloning the page's records (no ordering).

#![allow(dead_code)]

pub(crate) mod floor;
pub(crate) mod mim;
pub(crate) mod sqlite;

use std::cmp::Ordering;

use chrono::NaiveDate;
use usage_store::demo::{Demo, Picks};
use usage_store::{Query, Record, Scope, SortField};
use uuid::Uuid;

/// What an engine returns: the total count and the page's records, owned.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Answer {
    /// Total number of matching records.
    pub(crate) count: u64,
    /// The page (or the one retrieved record), in order.
    pub(crate) records: Vec<Record>,
}

/// An engine-neutral list query: filters (AND), visibility, order, page.
#[derive(Clone, Debug, Default)]
pub(crate) struct Spec {
    pub(crate) customer: Option<Uuid>,
    pub(crate) project: Option<Uuid>,
    pub(crate) resource: Option<Uuid>,
    pub(crate) component_type: Option<String>,
    pub(crate) year: Option<i32>,
    pub(crate) month: Option<u32>,
    pub(crate) billing_period: Option<NaiveDate>,
    pub(crate) date_after: Option<NaiveDate>,
    pub(crate) date_before: Option<NaiveDate>,
    /// Case-insensitive substring (as given; engines fold it).
    pub(crate) username: Option<String>,
    /// Visibility: `None` is everything; else (customers, projects).
    pub(crate) scope: Option<(Vec<Uuid>, Vec<Uuid>)>,
    /// The `o` keys: (field, descending).
    pub(crate) order: Vec<(SortField, bool)>,
    /// 1-based page number.
    pub(crate) page: u64,
    pub(crate) page_size: usize,
}

impl Spec {
    /// Whether a record passes the filters and the scope, by its own fields.
    pub(crate) fn matches(&self, r: &Record, needle_folded: Option<&str>) -> bool {
        self.customer.is_none_or(|u| u == r.customer_uuid)
            && self.project.is_none_or(|u| u == r.project_uuid)
            && self.resource.is_none_or(|u| u == r.resource_uuid)
            && self
                .component_type
                .as_deref()
                .is_none_or(|t| t == r.component_type)
            && self
                .year
                .is_none_or(|y| y == chrono::Datelike::year(&r.billing_period))
            && self
                .month
                .is_none_or(|m| m == chrono::Datelike::month(&r.billing_period))
            && self.billing_period.is_none_or(|d| d == r.billing_period)
            && self.date_after.is_none_or(|d| r.date.date_naive() >= d)
            && self.date_before.is_none_or(|d| r.date.date_naive() <= d)
            && needle_folded.is_none_or(|n| r.username.to_lowercase().contains(n))
            && self.scope.as_ref().is_none_or(|(cs, ps)| {
                cs.contains(&r.customer_uuid) || ps.contains(&r.project_uuid)
            })
    }

    /// The username needle, folded as the store folds it (`str::to_lowercase`).
    pub(crate) fn needle_folded(&self) -> Option<String> {
        self.username.as_ref().map(|n| n.to_lowercase())
    }

    /// The total order of SPEC §2.2: the `o` keys, then `-date`,
    /// `component_type`, then `uuid` by its bytes.
    pub(crate) fn cmp(&self, a: &Record, b: &Record) -> Ordering {
        for &(field, desc) in &self.order {
            let o = match field {
                SortField::Usage => a.usage.cmp(&b.usage),
                // `str` order is byte order, which for UTF-8 is code point order.
                SortField::Username => a.username.as_str().cmp(b.username.as_str()),
                SortField::BillingPeriod => a.billing_period.cmp(&b.billing_period),
            };
            let o = if desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        b.date
            .cmp(&a.date)
            .then_with(|| a.component_type.cmp(&b.component_type))
            .then_with(|| a.uuid.as_bytes().cmp(b.uuid.as_bytes()))
    }

    /// `(offset, len)` of the requested page among `count` matches.
    ///
    /// # Panics
    ///
    /// When the page does not exist (the cases are built so that it does).
    pub(crate) fn window(&self, count: u64) -> (usize, usize) {
        let ps = self.page_size as u64;
        let pages = count.div_ceil(ps).max(1);
        assert!(
            (1..=pages).contains(&self.page),
            "page {} of {pages} does not exist",
            self.page
        );
        let offset = (self.page - 1) * ps;
        let len = ps.min(count - offset.min(count));
        (offset as usize, len as usize)
    }
}

/// Puts the page `offset..offset + len` of `v`, in the order `cmp`, at
/// `v[offset..offset + len]`, sorted, in O(n + len log len): two selections
/// and a sort of the page only.
pub(crate) fn select_page<T>(
    v: &mut [T],
    offset: usize,
    len: usize,
    mut cmp: impl FnMut(&T, &T) -> Ordering,
) {
    if offset >= v.len() || len == 0 {
        return;
    }
    if offset > 0 {
        v.select_nth_unstable_by(offset, &mut cmp);
    }
    let rest = &mut v[offset..];
    if len < rest.len() {
        rest.select_nth_unstable_by(len, &mut cmp);
    }
    rest[..len].sort_unstable_by(&mut cmp);
}

/// One operation of a benchmark case.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Count and page.
    List(Spec),
    /// The count alone (`HEAD`, `SELECT COUNT(*)`).
    Count(Spec),
    /// One record by uuid, unrestricted scope.
    Get(Uuid),
}

/// A benchmark case: its name, the store's query (parsed from the query
/// string a client would send) and the equivalent neutral operation.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// The raw query string given to `Query::parse` (scope added separately).
    pub(crate) query_string: String,
    pub(crate) query: Query,
    pub(crate) op: Op,
}

/// The benchmarked cases for a demo data set of `records` records.
///
/// `count_of` answers the count of a [`Query`] (the store's), used only to
/// choose page numbers that exist at any data set size.
pub(crate) fn cases(demo: &Demo, count_of: impl Fn(&Query) -> u64) -> Vec<Case> {
    let p: Picks = demo.picks();
    let hex = |u: Uuid| u.simple().to_string();
    let mut out = Vec::new();
    let mut list = |name: &'static str, qs: String, scope: Option<Scope>, spec: Spec| {
        let mut query =
            Query::parse(&qs).unwrap_or_else(|e| panic!("case {name}: query {qs:?}: {e}"));
        if let Some(s) = scope {
            query = query.with_scope(s);
        }
        out.push(Case {
            name,
            query_string: qs,
            query,
            op: Op::List(spec),
        });
    };

    list(
        "small_customer_period",
        format!(
            "customer_uuid={}&billing_period_year={}&billing_period_month={}",
            hex(p.small_customer),
            p.year,
            p.month
        ),
        None,
        Spec {
            customer: Some(p.small_customer),
            year: Some(p.year),
            month: Some(p.month),
            ..spec()
        },
    );

    // Page 3 when it exists (it does from a few thousand records on).
    let base = format!(
        "customer_uuid={}&component_usage__billing_period={}",
        hex(p.largest_customer),
        p.busy_period
    );
    let n = count_of(&Query::parse(&base).expect("valid"));
    let page = 3.min(n.div_ceil(10).max(1));
    list(
        "big_customer_period_page3",
        format!("{base}&page={page}"),
        None,
        Spec {
            customer: Some(p.largest_customer),
            billing_period: Some(p.busy_period),
            page,
            ..spec()
        },
    );

    list(
        "resource_period",
        format!(
            "resource_uuid={}&component_usage__billing_period={}",
            hex(p.resource),
            p.resource_period
        ),
        None,
        Spec {
            resource: Some(p.resource),
            billing_period: Some(p.resource_period),
            ..spec()
        },
    );

    list(
        "type_order_usage",
        format!("type={}&o=-usage", p.component_type),
        None,
        Spec {
            component_type: Some(p.component_type.clone()),
            order: vec![(SortField::Usage, true)],
            ..spec()
        },
    );

    list(
        "username_substring",
        format!("username={}&o=username", p.username_needle),
        None,
        Spec {
            username: Some(p.username_needle.clone()),
            order: vec![(SortField::Username, false)],
            ..spec()
        },
    );

    // Page 5000 of 100 at 1M records: the middle. Smaller data sets: their middle page.
    let n = demo.config().records as u64;
    let page = 5000.min(n.div_ceil(100) / 2).max(1);
    list(
        "unfiltered_deep_page",
        format!("page_size=100&page={page}"),
        None,
        Spec {
            page,
            page_size: 100,
            ..spec()
        },
    );

    list(
        "date_range_project",
        format!(
            "project_uuid={}&date_after={}&date_before={}",
            hex(p.project),
            p.date_after,
            p.date_before
        ),
        None,
        Spec {
            project: Some(p.project),
            date_after: Some(p.date_after),
            date_before: Some(p.date_before),
            ..spec()
        },
    );

    let qs = format!(
        "customer_uuid={}&billing_period_year={}",
        hex(p.largest_customer),
        p.year
    );
    out.push(Case {
        name: "count_only",
        query: Query::parse(&qs).expect("valid"),
        query_string: qs,
        op: Op::Count(Spec {
            customer: Some(p.largest_customer),
            year: Some(p.year),
            ..spec()
        }),
    });

    out.push(Case {
        name: "retrieve",
        query_string: format!("{}/", hex(p.some_record)),
        query: Query::new(),
        op: Op::Get(p.some_record),
    });

    let mut scope = Scope::nothing();
    for &c in &p.scope_customers {
        scope = scope.with_customer(c);
    }
    for &pr in &p.scope_projects {
        scope = scope.with_project(pr);
    }
    let mut list = |name: &'static str, qs: String, scope: Option<Scope>, spec: Spec| {
        let mut query = Query::parse(&qs).expect("valid");
        if let Some(s) = scope {
            query = query.with_scope(s);
        }
        out.push(Case {
            name,
            query_string: qs,
            query,
            op: Op::List(spec),
        });
    };
    list(
        "scoped",
        format!("type={}", p.component_type),
        Some(scope),
        Spec {
            component_type: Some(p.component_type.clone()),
            scope: Some((p.scope_customers.clone(), p.scope_projects.clone())),
            ..spec()
        },
    );
    out
}

/// An empty spec: no filter, default order, page 1 of 10.
pub(crate) fn spec() -> Spec {
    Spec {
        page: 1,
        page_size: 10,
        ..Spec::default()
    }
}

/// The uuids of an answer, for readable mismatch messages.
pub(crate) fn uuids(a: &Answer) -> Vec<String> {
    a.records
        .iter()
        .map(|r| r.uuid.simple().to_string())
        .collect()
}

/// Panics with a clear message when `got` differs from `want`: the count,
/// then the page's uuids in order, then every field of each record.
pub(crate) fn check(case: &Case, engine: &str, want: &Answer, got: &Answer) {
    assert_eq!(
        got.count, want.count,
        "case {} ({}): engine {engine} counts {} but usage_store counts {}",
        case.name, case.query_string, got.count, want.count
    );
    assert_eq!(
        uuids(got),
        uuids(want),
        "case {} ({}): engine {engine} returns other uuids or another order than usage_store",
        case.name,
        case.query_string
    );
    for (g, w) in got.records.iter().zip(&want.records) {
        assert_eq!(
            g, w,
            "case {}: engine {engine} returns record {} with other fields than usage_store",
            case.name, w.uuid
        );
    }
}
