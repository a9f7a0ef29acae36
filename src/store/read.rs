//! Queries (SPEC §2, §4): filter planning over the bitmap indexes, then
//! ordering and pagination by walking a sorted view or partially sorting the
//! matches, whichever the filter's cardinality makes cheaper.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Bound::{Excluded, Included};
use std::ops::{Bound, RangeInclusive};
use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};
use smallvec::SmallVec;

use super::cache::{ANY_TYPE, CutCache, GroupOf, GroupOrderCache, KeyTypeCounts, TypedRunRead};

use super::PageInfo;
use super::core::{Core, SortKey, Tables, ViewKind};
use crate::error::QueryError;
use crate::index::slots::SlotBits;
use crate::index::view::View;
use crate::query::{Filter, OrderKey, PageSpec, Query, Scope, SortField};
use crate::wire::time::{MICROS_PER_DAY, Micros, date_to_day, day_to_date, micros_to_day};

/// The bitmaps of a union predicate: inline up to four (one billing
/// period is the commonest union), where a heap list was two of a planned
/// query's allocations (with its lengths).
type Parts<'a> = SmallVec<[&'a RoaringBitmap; 4]>;

/// The records a filter and scope admit.
enum Cand<'a> {
    /// Every live record (no filter, unrestricted scope).
    All,
    /// Exactly these slots (borrowed when one index answers the filter),
    /// with their [`Extent`] when it is known without reading them: a
    /// component type's, kept by writes (`Tables::type_extent`).
    Set(Cow<'a, RoaringBitmap>, Option<Extent>),
    /// Exactly these slots, ascending: at most [`FEW`] of them, found by
    /// testing each record of a small running set against the remaining
    /// predicates (no bitmap is built for them).
    Few(Vec<u32>),
    /// Only the number of matches (a count-only query never needs the set).
    Counted(u64),
    /// `base ∩ (∪ parts)` with disjoint parts, not materialised: the union
    /// would cost more than the page needs. Count: the sum of the parts'
    /// intersections with `base`; membership: `base` and the per-record test.
    Filtered {
        count: u64,
        base: Cow<'a, RoaringBitmap>,
        check: Check,
        parts: Parts<'a>,
    },
    /// `runs ∩ (∪ days)`: report days (ascending) within a few runs of
    /// slots (an entity's), not materialised. Its count is range
    /// cardinalities; a page in the default order (report date descending)
    /// reads the latest days' values until it is full, skipping earlier
    /// pages' days by their counts.
    Days {
        count: u64,
        runs: Vec<RangeInclusive<u32>>,
        days: Parts<'a>,
    },
    /// `base ∩ other`, `base` a few runs of slots (an entity's, a scope's),
    /// not materialised: counted by range cardinalities of `other`; a
    /// default-order page is read from the latest report days, each day's
    /// values within the runs tested against `other`, when the matches are
    /// dense enough in days (else the intersection is built and paged).
    RunsAnd {
        count: u64,
        base: Cow<'a, RoaringBitmap>,
        runs: Vec<RangeInclusive<u32>>,
        other: &'a RoaringBitmap,
    },
    /// A union of disjoint bitmaps (one username, period or day per record),
    /// not materialised: its count is the sum of their lengths and its
    /// members are recognised by a per-record test.
    Lazy {
        count: u64,
        check: Check,
        parts: Parts<'a>,
    },
}

/// A per-record test equivalent to a union of bitmaps, used instead of
/// materialising the union when the running intersection is already small.
enum Check {
    /// Billing periods, sorted; `true` when they are every period of the
    /// store between the first and the last. (Inline up to four: the site
    /// agent's read names one, and a heap list was one of its three
    /// allocations.)
    Periods(SmallVec<[i32; 4]>, bool),
    /// Report time in `[lo, hi)` microseconds: whole days, compared without
    /// dividing (a division per record cost more than the rest of the test).
    Dates(Micros, Micros),
    /// Billing periods (as [`Check::Periods`]) and a report-date range
    /// (as [`Check::Dates`]) together: made by [`predicates`] when the
    /// range cuts through some of the periods' report days (see
    /// [`CutCell`]).
    PeriodDates {
        periods: SmallVec<[i32; 4]>,
        contiguous: bool,
        lo: Micros,
        hi: Micros,
    },
    /// Username ids as a bit per id (kept with the search's answer,
    /// [`Found`](crate::index::dict::Found)): the test is one load, where
    /// a bitmap lookup is a search.
    Usernames(Arc<SlotBits>),
    Scope {
        customers: Vec<u32>,
        projects: Vec<u32>,
        offerings: Vec<u32>,
    },
}

impl Check {
    /// The first and last of [`Check::Periods`] when they are every
    /// period of the store between them (one period, a year).
    fn period_range(&self) -> Option<(i32, i32)> {
        match self {
            Check::Periods(ps, true) => Some((*ps.first()?, *ps.last()?)),
            _ => None,
        }
    }

    /// Whether the parts of this union are disjoint (each record is in at most one).
    fn disjoint(&self) -> bool {
        !matches!(self, Check::Scope { .. })
    }

    /// The values of `set` that pass, in order. The values are gathered
    /// first so that the tests run in one tight loop, whose reads of rows
    /// and component usages overlap.
    fn survivors(&self, t: &Tables, set: &RoaringBitmap) -> Vec<u32> {
        let mut v = values(set);
        v.retain(|&s| self.test(t, s));
        v
    }

    #[inline]
    fn test(&self, t: &Tables, slot: u32) -> bool {
        match self {
            Check::Periods(ps, contiguous) => {
                in_periods(ps, *contiguous, t.kind_of(t.cus.get(t.row(slot).cu)).period)
            }
            Check::Dates(lo, hi) => (*lo..*hi).contains(&t.cus.get(t.row(slot).cu).date()),
            Check::PeriodDates {
                periods,
                contiguous,
                lo,
                hi,
            } => {
                let cu = t.cus.get(t.row(slot).cu);
                (*lo..*hi).contains(&cu.date())
                    && in_periods(periods, *contiguous, t.kind_of(cu).period)
            }
            Check::Usernames(names) => names.contains(t.row(slot).username),
            Check::Scope {
                customers,
                projects,
                offerings,
            } => {
                let (_, o, p, c) = t.chain(slot);
                customers.contains(&c) || projects.contains(&p) || offerings.contains(&o)
            }
        }
    }
}

/// Whether billing period `p` is one of `ps` (sorted; `contiguous`: every
/// period of the store between the first and the last). A year's periods
/// are all the store's periods in a range: two comparisons, where a
/// binary search mispredicts.
#[inline]
fn in_periods(ps: &[i32], contiguous: bool, p: i32) -> bool {
    match (contiguous, ps.first(), ps.last()) {
        (true, Some(&lo), Some(&hi)) => (lo..=hi).contains(&p),
        _ => ps.binary_search(&p).is_ok(),
    }
}

enum Pred<'a> {
    One(&'a RoaringBitmap),
    Any {
        parts: Parts<'a>,
        check: Check,
        /// The parts' total size, summed once (a bitmap's length is a sum
        /// over its containers).
        len: u64,
        /// Each part's size, for the intersections that need them.
        lens: SmallVec<[u64; 4]>,
    },
}

impl Pred<'_> {
    /// Whether `slot` satisfies the predicate.
    #[inline]
    fn test(&self, t: &Tables, slot: u32) -> bool {
        match self {
            Pred::One(b) => b.contains(slot),
            Pred::Any { check, .. } => check.test(t, slot),
        }
    }

    fn estimate(&self) -> u64 {
        match self {
            Pred::One(b) => b.len(),
            Pred::Any { len, .. } => *len,
        }
    }

    fn materialize(&self) -> RoaringBitmap {
        match self {
            Pred::One(b) => (*b).clone(),
            Pred::Any { parts, .. } => parts.iter().copied().union(),
        }
    }
}

/// Kept bitmaps a plan reads in place of what its filters would build or
/// borrow: a username search's records (`Core::needle_rows`), an
/// offering's records with their many runs expanded
/// (`Core::flat_offering`), and an offering's records of a type
/// (`Core::offering_type`), in place of both filters. Same records,
/// cheaper to intersect.
/// With `cut`, the place for the records of the billing periods that the
/// query's report-date range cuts through ([`CutCell`]), and with `cuts`
/// the store's kept cuts, where they are found or kept once made.
#[derive(Clone, Copy, Default)]
struct Held<'a> {
    needle_rows: Option<&'a RoaringBitmap>,
    needle_type: Option<&'a RoaringBitmap>,
    offering: Option<&'a RoaringBitmap>,
    offering_type: Option<&'a RoaringBitmap>,
    cut: Option<&'a CutCell>,
    cuts: Option<&'a CutCache>,
}

/// The kept bitmaps of a query, owned for the plan that borrows them as
/// [`Held`]: made by [`Core::held_rows`].
struct HeldRows<'a> {
    needle_rows: Option<Arc<RoaringBitmap>>,
    needle_type: Option<Arc<RoaringBitmap>>,
    offering: Option<Arc<Option<RoaringBitmap>>>,
    offering_type: Option<Arc<RoaringBitmap>>,
    cut: CutCell,
    cuts: &'a CutCache,
}

impl HeldRows<'_> {
    fn held(&self) -> Held<'_> {
        Held {
            needle_rows: self.needle_rows.as_deref(),
            needle_type: self.needle_type.as_deref(),
            offering: self.offering.as_deref().and_then(Option::as_ref),
            offering_type: self.offering_type.as_deref(),
            cut: Some(&self.cut),
            cuts: Some(self.cuts),
        }
    }
}

/// The billing periods that a query's report-date range cuts through
/// (their report days partly inside it), each with its records reported
/// within the range: made by the query's first plan that needs them
/// ([`predicates`]), for one query, from the store's kept cuts
/// ([`CutCache`]) when it has them.
type CutCell = std::cell::OnceCell<PeriodCuts>;

/// The records of the billing periods a range cuts through, each in the
/// range, by period.
type PeriodCuts = SmallVec<[(i32, Arc<RoaringBitmap>); 2]>;

/// Billing periods sorted out by a report-date range of days `[lo, hi]`,
/// by their first and last report days (`Tables::period_days`, which
/// writes only widen: a period's every record was reported within them).
/// Periods whose days miss the range are left out.
struct PeriodsInRange<'a> {
    /// Periods whose every record was reported within the range.
    whole: SmallVec<[(i32, &'a RoaringBitmap); 4]>,
    /// Periods whose report days the range cuts through.
    partial: SmallVec<[(i32, &'a RoaringBitmap); 2]>,
    /// Whether the periods kept (both kinds) are every period of the
    /// store between their first and last (as [`Check::Periods`]).
    contiguous: bool,
}

impl<'a> PeriodsInRange<'a> {
    /// `periods` (ascending; `contiguous` as [`Check::Periods`]) sorted
    /// out by the days `[lo, hi]`. O(periods).
    fn new(
        t: &Tables,
        periods: impl Iterator<Item = (i32, &'a RoaringBitmap)>,
        contiguous: bool,
        lo: i32,
        hi: i32,
    ) -> PeriodsInRange<'a> {
        let mut out = PeriodsInRange {
            whole: SmallVec::new(),
            partial: SmallVec::new(),
            contiguous,
        };
        // Positions among `periods` of the first and last kept: a period
        // left out between them breaks contiguity.
        let (mut first, mut last, mut kept) = (usize::MAX, 0, 0);
        // The periods' days read in step with them (both ascend, and the
        // day bounds have every period's key): a lookup each was a
        // twentieth of a small customer's year from March.
        let mut periods = periods.peekable();
        let from = periods.peek().map_or(i32::MAX, |e| e.0);
        let mut bounds = t.period_days.range(from..).peekable();
        for (i, (p, b)) in periods.enumerate() {
            while bounds.next_if(|e| *e.0 < p).is_some() {}
            let Some((_, &(a, z))) = bounds.next() else {
                unreachable!("period {p} has day bounds")
            };
            if z < lo || a > hi {
                continue;
            }
            if lo <= a && z <= hi {
                out.whole.push((p, b));
            } else {
                out.partial.push((p, b));
            }
            (first, last, kept) = (first.min(i), i, kept + 1);
        }
        out.contiguous &= kept == 0 || last - first + 1 == kept;
        out
    }

    /// The periods kept, ascending, with their records (`cut`: the
    /// partial ones' records within the range, in `partial`'s order).
    fn parts<'b>(
        &self,
        cut: Option<&'b [(i32, Arc<RoaringBitmap>)]>,
    ) -> (SmallVec<[i32; 4]>, Parts<'b>)
    where
        'a: 'b,
    {
        let mut all: SmallVec<[(i32, &'b RoaringBitmap); 4]> = self.whole.iter().copied().collect();
        match cut {
            Some(cut) => all.extend(cut.iter().map(|(p, b)| (*p, &**b))),
            None => all.extend(self.partial.iter().copied()),
        }
        all.sort_unstable_by_key(|e| e.0);
        all.into_iter().unzip()
    }
}

/// A period's cut records are made when every other predicate has at
/// least a quarter as many records as the periods cut: against fewer,
/// testing each record's period and date costs less than making them.
const CUT_RATIO: u64 = 4;

/// Whether making the cut records of `sorted`'s partial periods (`cut_len`
/// records) pays, against the filter's other predicates `others`.
///
/// With whole periods too, the cut drops the date range from all of
/// them: it pays unless another predicate is much smaller than the
/// periods cut (a small customer's records are tested instead). With
/// only periods cut, it replaces their intersection with the range's
/// days: it pays unless the other predicates' matches are fewer than the
/// records cut (estimated as independent: a big customer's records of a
/// type in a month cut by a date, 664 matches, took 43 µs tested and
/// 100 µs cut at 1M records; the customer's in that month, 437 µs tested
/// and 86 µs cut).
fn cut_pays(t: &Tables, others: &[Pred<'_>], sorted: &PeriodsInRange<'_>, cut_len: u64) -> bool {
    if !sorted.whole.is_empty() {
        return (others.iter().map(Pred::estimate).min())
            .is_none_or(|m| m.saturating_mul(CUT_RATIO) >= cut_len);
    }
    let total = u128::from(t.live.len().max(1));
    let matches = (others.iter()).fold(total, |e, p| e * u128::from(p.estimate()) / total);
    matches >= u128::from(cut_len)
}

/// The records of billing period `p` (its bitmap `b`) that were reported
/// on the days `[lo, hi]`: `b` intersected with those of the period's
/// report days inside the range, or less those outside it, whichever
/// days hold fewer records (a month cut by its first day: its few late
/// reports' days). Only days that hold records of the period are read
/// (`Tables::period_day_rows`): a record of an old period re-dated to
/// today stretches the period's bounds over a year of days that hold
/// none of its other records. O(the days read × containers).
fn cut_records(t: &Tables, b: &RoaringBitmap, p: i32, lo: i32, hi: i32) -> RoaringBitmap {
    // The period's days from `a` to `b`.
    let days_of = |a: Bound<i32>, b: Bound<i32>| {
        let key = |d: Bound<i32>| d.map(|d| (p, d));
        (t.period_day_rows.range((key(a), key(b)))).map(|(&(_, day), _)| &t.days[&day])
    };
    let inside: Parts<'_> = if lo <= hi {
        days_of(Included(lo), Included(hi)).collect()
    } else {
        Parts::new()
    };
    let mut outside: Parts<'_> = days_of(Included(i32::MIN), Excluded(lo)).collect();
    if let Some(after) = hi.checked_add(1) {
        outside.extend(days_of(Included(after), Included(i32::MAX)));
    }
    // The days' union first: a day holds a few records of each of the
    // store's containers, where the period has thousands, and the
    // period intersected with each day read all of its records each time
    // (five days of a month's late reports: 1.8 million instructions).
    // The union is folded a day at a time: roaring's many-way union
    // makes every container a bitmap and converts it back, where a day's
    // few records a container merge as arrays (at 1M records, February
    // cut by 1 March, five days: a page took 74 µs where it took 145,
    // nearly all of it the cut).
    let len = |ps: &Parts<'_>| ps.iter().map(|d| d.len()).sum::<u64>();
    let union = |ps: Parts<'_>| {
        let mut it = ps.into_iter();
        let mut u = it.next().cloned().unwrap_or_default();
        for d in it {
            u |= d;
        }
        u
    };
    if len(&inside) <= len(&outside) {
        b & union(inside)
    } else {
        b - union(outside)
    }
}

/// A set counted by kept counts per report day is paged by a walk when it
/// holds at least this share of the store's records (at 1M records, 3,900):
/// a sparser one's page walks too far, and its records are few enough to
/// test each (an offering of 833 records over 18 days: 10 µs tested, 28
/// walked).
const DAYS_WALK_SHARE: u64 = 256;

/// Whether the filter is one offering and a report-date range, perhaps
/// a component type, and nothing else, every record visible: counted by
/// the offering's kept counts per report day and type
/// (`Core::known_count`), and paged by a walk when the offering (of the
/// type) is dense enough ([`walkable`]).
fn dated_offering(f: &Filter, scope: &Scope) -> bool {
    // (The dates first: every offering's plan asks.)
    (f.date_after.is_some() || f.date_before.is_some())
        && f.kinds() & !Filter::TYPE == Filter::ENTITIES | Filter::DATES
        && scope.everything
        && f.offering.is_some()
        && !run_entity(f)
}

/// Whether the filter is a username search and a report-date range, and
/// nothing else, every record visible: counted by the search's kept
/// records per report day (`Core::known_count`, from its kept records,
/// `Core::needle_rows`), and paged by a walk when they are dense enough
/// ([`walkable`]).
fn dated_username(f: &Filter, scope: &Scope) -> bool {
    (f.date_after.is_some() || f.date_before.is_some())
        && f.kinds() == Filter::USERNAME | Filter::DATES
        && scope.everything
}

/// Whether the filter is one offering and billing period filters,
/// perhaps a component type, and nothing else, every record visible:
/// counted by the offering's kept counts per billing period and type
/// (`Core::known_count`), and paged by a walk when the offering (of the
/// type) is dense enough ([`walkable`]).
fn periods_offering(f: &Filter, scope: &Scope) -> bool {
    (f.year.is_some() || f.month.is_some() || f.billing_period.is_some())
        && f.kinds() & !Filter::TYPE == Filter::ENTITIES | Filter::PERIODS
        && scope.everything
        && f.offering.is_some()
        && !run_entity(f)
}

/// Whether the filter is a username search with a component type or
/// billing period filters (or both), and nothing else, every record
/// visible: counted by the search's kept counts per billing period and
/// type (`Core::known_count`, from its kept records, `Core::needle_rows`).
fn typed_username(f: &Filter, scope: &Scope) -> bool {
    let k = f.kinds();
    scope.everything
        && k & Filter::USERNAME != 0
        && k != Filter::USERNAME
        && k & !(Filter::USERNAME | Filter::TYPE | Filter::PERIODS) == 0
}

/// The records of kept counts per billing period and type `counts` in
/// the filter's billing periods (every period without such a filter), of
/// type `ty` or of every type: 0 when the filter selects no period of the
/// store. (`None` only where [`selected_periods`] is, which it is not
/// with a period filter.) O(log keys + the periods' keys).
fn periods_sum(
    t: &Tables,
    f: &Filter,
    counts: &[((i32, u32), u32)],
    ty: Option<u32>,
) -> Option<u64> {
    if f.year.is_none() && f.month.is_none() && f.billing_period.is_none() {
        return Some(typed_sum(counts, i32::MIN, i32::MAX, ty));
    }
    let mut periods = selected_periods(t, f)?.map(|(p, _)| p);
    // Without a month alone, the periods are every period of the store
    // between the first and the last: one range of the counts (a year's
    // twelve ranges took 0.2 µs more).
    if f.month.is_none() || f.year.is_some() {
        let Some(first) = periods.next() else {
            return Some(0);
        };
        let last = periods.last().unwrap_or(first);
        return Some(typed_sum(counts, first, last, ty));
    }
    Some(periods.map(|p| typed_sum(counts, p, p, ty)).sum())
}

/// The first and last key of a map of days' or billing periods' bitmaps:
/// the span [`typed_counts`] counts over.
fn key_span(by_key: &std::collections::BTreeMap<i32, RoaringBitmap>) -> Option<(i32, i32)> {
    Some((*by_key.first_key_value()?.0, *by_key.last_key_value()?.0))
}

/// Whether a set of `len` records is dense enough to walk for a page
/// ([`DAYS_WALK_SHARE`]).
fn walkable(t: &Tables, len: u64) -> bool {
    len.saturating_mul(DAYS_WALK_SHARE) >= t.live.len()
}

/// The records of kept counts per report day `days` (ascending) reported
/// on the days `[lo, hi]`. O(log days + the range's days).
fn days_sum(days: &[(i32, u32)], lo: i32, hi: i32) -> u64 {
    let a = days.partition_point(|e| e.0 < lo);
    let b = days.partition_point(|e| e.0 <= hi);
    days[a..b.max(a)].iter().map(|e| u64::from(e.1)).sum()
}

/// The records of kept counts per day (or billing period) and type
/// `counts` (ascending) on the days `[lo, hi]`, of type `ty` or of every
/// type. O(log keys + the range's keys).
fn typed_sum(counts: &[((i32, u32), u32)], lo: i32, hi: i32, ty: Option<u32>) -> u64 {
    let a = counts.partition_point(|e| e.0.0 < lo);
    let b = counts.partition_point(|e| e.0.0 <= hi);
    let range = counts[a..b.max(a)].iter();
    match ty {
        None => range.map(|e| u64::from(e.1)).sum(),
        Some(ty) => range.filter(|e| e.0.1 == ty).map(|e| u64::from(e.1)).sum(),
    }
}

/// `b`'s records per `(key, type)`, ascending, zeros left out: each
/// record's key (its report day or billing period, by `key`) and type
/// read, counted in a counter per key and type over the keys' span
/// (`lo..=hi`, the store's), or sorted when that span is too wide.
/// O(|b| + span × types).
fn typed_counts(
    t: &Tables,
    b: &RoaringBitmap,
    (lo, hi): (i32, i32),
    key: impl Fn(&super::entities::Cu, super::entities::Kind) -> i32,
) -> Vec<((i32, u32), u32)> {
    let of = |s: u32| {
        let cu = t.cus.get(t.row(s).cu);
        let k = t.kind_of(cu);
        (key(cu, k), k.ctype)
    };
    let types = t.types.id_bound() as u64;
    let width = (i64::from(hi) - i64::from(lo) + 1).max(0) as u64;
    let mut v: Vec<((i32, u32), u32)> = if width.saturating_mul(types) <= 1 << 20 {
        let n_types = types as usize;
        let mut n = vec![0u32; width as usize * n_types];
        for s in b {
            let (k, ty) = of(s);
            n[(k - lo) as usize * n_types + ty as usize] += 1;
        }
        (n.iter().enumerate())
            .filter(|e| *e.1 > 0)
            .map(|(i, &c)| ((lo + (i / n_types) as i32, (i % n_types) as u32), c))
            .collect()
    } else {
        let mut keys: Vec<(i32, u32)> = b.iter().map(of).collect();
        keys.sort_unstable();
        let mut v: Vec<((i32, u32), u32)> = Vec::new();
        for k in keys {
            match v.last_mut() {
                Some(e) if e.0 == k => e.1 += 1,
                _ => v.push((k, 1)),
            }
        }
        v
    };
    v.shrink_to_fit();
    v
}

/// The key of billing period `p`'s cut by the report days `[lo, hi]`
/// ([`CutCache`]): the period and the days of its span the range keeps
/// (the range's other days hold none of its records). O(log periods).
fn cut_key(t: &Tables, p: i32, lo: i32, hi: i32) -> (i32, i32, i32) {
    let span = t.period_days[&p];
    (p, span.0.max(lo), span.1.min(hi))
}

/// Whether the filter names a customer, project or resource: a few runs
/// of slots after a load (an offering's records are spread over every
/// customer), within which other bitmaps are cheap to count.
fn run_entity(f: &Filter) -> bool {
    f.customer.is_some() || f.project.is_some() || f.resource_uuid.is_some() || f.resource.is_some()
}

/// The predicates of a filter and scope, and the component type's id
/// when the filter names one; `None` when they can match nothing.
///
/// Inline up to four (a query rarely has more): their heap list was a
/// 512-byte allocation per planned query.
fn predicates<'a>(
    t: &'a Tables,
    f: &Filter,
    scope: &Scope,
    held: Held<'a>,
) -> Option<(SmallVec<[Pred<'a>; 4]>, Option<u32>)> {
    if f.nothing {
        return None;
    }
    let mut preds = SmallVec::new();
    let mut ty = None;
    // An offering or a username search to walk in a report-date range
    // (`dated_offering`, `dated_username`).
    let mut walked = false;
    if let Some(u) = &f.customer {
        preds.push(Pred::One(&t.customers.get(t.customers.id(u)?).rows));
    }
    if let Some(u) = &f.project {
        preds.push(Pred::One(&t.projects.get(t.projects.id(u)?).rows));
    }
    if let Some(u) = &f.offering {
        // The offering's records of the query's type, when kept: both
        // filters in one bitmap.
        let rows = match held.offering_type {
            Some(both) => both,
            None => (held.offering).unwrap_or(&t.offerings.get(t.offerings.id(u)?).rows),
        };
        // (Only then its length: summing a big offering's runs costs
        // about 20 µs when it is not expanded.)
        walked = dated_offering(f, scope) && walkable(t, rows.len());
        preds.push(Pred::One(rows));
    }
    let resource = match (f.resource_uuid, f.resource) {
        (Some(a), Some(b)) if a != b => return None,
        (a, b) => a.or(b),
    };
    if let Some(u) = &resource {
        preds.push(Pred::One(&t.resources.get(t.resources.id(u)?).rows));
    }
    if let Some(name) = f.component_type.as_deref().filter(|s| !s.is_empty())
        && held.offering_type.is_none()
        && held.needle_type.is_none()
    {
        let id = t.types.id(name)?;
        ty = Some(id);
        preds.push(Pred::One(t.types.payload(id)));
    }
    if let Some(rows) = held.needle_type.or(held.needle_rows) {
        // The search's records (of the query's type), kept
        // (`Core::needle_rows`, `Core::needle_type`).
        if rows.is_empty() {
            return None;
        }
        walked = dated_username(f, scope) && walkable(t, rows.len());
        preds.push(Pred::One(rows));
    } else if let Some(needle) = f.username.as_deref().filter(|s| !s.is_empty()) {
        let found = t.usernames.search(needle);
        let ids = &found.ids;
        let parts: Parts<'_> = ids.iter().map(|&id| t.usernames.dict.payload(id)).collect();
        // Each name's length kept: a bitmap's counts its containers.
        let lens = ids.iter().map(|&id| t.usernames.count(id)).collect();
        preds.push(any_sized(parts, lens, Check::Usernames(found.bits))?);
    }
    if !scope.everything {
        let ids = |table: &dyn Fn(&uuid::Uuid) -> Option<u32>, us: &[uuid::Uuid]| -> Vec<u32> {
            let mut v: Vec<u32> = us.iter().filter_map(table).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let customers = ids(&|u| t.customers.id(u), &scope.customers);
        let projects = ids(&|u| t.projects.id(u), &scope.projects);
        let offerings = ids(&|u| t.offerings.id(u), &scope.offerings);
        let parts: Parts<'_> = customers
            .iter()
            .map(|&c| &t.customers.get(c).rows)
            .chain(projects.iter().map(|&p| &t.projects.get(p).rows))
            .chain(offerings.iter().map(|&o| &t.offerings.get(o).rows))
            .collect();
        preds.push(any(
            parts,
            Check::Scope {
                customers,
                projects,
                offerings,
            },
        )?);
    }
    let dates = (f.date_after.is_some() || f.date_before.is_some()).then(|| date_days(f));
    if dates.is_some_and(|(lo, hi)| lo > hi) {
        return None;
    }
    // The report days still to test: none when the periods imply them.
    let mut days = dates;
    // A range without billing period filters is planned as every
    // period's: a period's records lie within its report days, so the
    // range keeps most periods whole and cuts through a few, where its
    // days were a union of hundreds of bitmaps (a year of days, each
    // intersected or counted apart). Not a component type's range alone,
    // which its kept counts per day count and page (`Core::known_count`,
    // `Core::skip_days`): `type=cpu` from March to September at 1M
    // records took 19 µs as periods, 4.5 by days. Nor an offering's
    // (`dated_offering`) or a username search's (`dated_username`),
    // counted by their kept counts per day.
    let implied = f.year.is_none() && f.month.is_none() && f.billing_period.is_none();
    let every = dates.is_some()
        && !walked
        && !(scope.everything && f.kinds() == Filter::TYPE | Filter::DATES);
    if let Some(periods) = periods_of(t, f, every) {
        // Without a month-only filter, the selected periods are every
        // period of the store within a range of days.
        let contiguous = f.month.is_none() || f.year.is_some();
        match dates {
            None => {
                let (keys, parts): (SmallVec<[i32; 4]>, Parts<'_>) = periods.unzip();
                preds.push(any(parts, Check::Periods(keys, contiguous))?);
            }
            Some((lo, hi)) => {
                // Billing periods with a report-date range: a period's
                // records lie within its report days, so the range keeps
                // a period whole or drops it, and cuts through a few at
                // its ends. Intersecting the periods' union with the
                // range's days, or counting it by each day, read every
                // record of both (a type's year after its second month,
                // at 1M records: 16.7 million instructions, 1.8 ms).
                let sorted = PeriodsInRange::new(t, periods, contiguous, lo, hi);
                let cut_len: u64 = sorted.partial.iter().map(|(_, b)| b.len()).sum();
                let cut_key = |p: i32| cut_key(t, p, lo, hi);
                // The range's cuts, when every one is kept: they cost
                // nothing to make.
                let kept: Option<PeriodCuts> = held.cuts.and_then(|cuts| {
                    (sorted.partial.iter())
                        .map(|&(p, _)| Some((p, cuts.get(cut_key(p))?)))
                        .collect()
                });
                let cut = held.cut.filter(|_| {
                    !sorted.partial.is_empty()
                        && (kept.is_some() || cut_pays(t, &preds, &sorted, cut_len))
                });
                if sorted.partial.is_empty() {
                    // Every record of the periods kept is within the range
                    // (none kept: no part, nothing matches).
                    let (keys, parts) = sorted.parts(None);
                    preds.push(any(parts, Check::Periods(keys, sorted.contiguous))?);
                    days = None;
                } else if let Some(cell) = cut {
                    let cut = cell.get_or_init(|| {
                        if let Some(kept) = kept {
                            return kept;
                        }
                        (sorted.partial.iter())
                            .map(|&(p, b)| {
                                let make = || cut_records(t, b, p, lo, hi);
                                let rows = match held.cuts {
                                    Some(cuts) => cuts.get_or_make(cut_key(p), make),
                                    None => Arc::new(make()),
                                };
                                (p, rows)
                            })
                            .collect()
                    });
                    let (keys, parts) = sorted.parts(Some(cut));
                    preds.push(any(
                        parts,
                        Check::PeriodDates {
                            periods: keys,
                            contiguous: sorted.contiguous,
                            lo: day_start(lo),
                            hi: day_start(hi.saturating_add(1)),
                        },
                    )?);
                    days = None;
                } else {
                    // Tested record by record. (The range is not narrowed
                    // to the periods' days: fewer day parts reorder the
                    // plan, and a big customer's type in a month cut by
                    // a date took 42 µs so, 38 as planned before.) Every
                    // period (none filtered) is no test at all.
                    if !implied {
                        let (keys, parts) = sorted.parts(None);
                        preds.push(any(parts, Check::Periods(keys, sorted.contiguous))?);
                    }
                }
            }
        }
    }
    if let Some((lo, hi)) = days {
        let parts: Parts<'_> = t.days.range(lo..=hi).map(|(_, b)| b).collect();
        preds.push(any(
            parts,
            Check::Dates(day_start(lo), day_start(hi.saturating_add(1))),
        )?);
    }
    Some((preds, ty))
}

/// The first microsecond of a day (days since 1970-01-01).
/// Saturates for the open ends (`i32::MIN`, `i32::MAX`), far beyond any
/// representable report date.
pub(crate) fn day_start(day: i32) -> Micros {
    i64::from(day).saturating_mul(MICROS_PER_DAY)
}

/// The billing periods (and their records) that the year, month and
/// period filters admit; `None` when none of those filters is set.
///
/// A year, or a year and month, is a range of days: one range query of the
/// period map rather than a date conversion per period.
fn selected_periods<'a>(
    t: &'a Tables,
    f: &Filter,
) -> Option<impl Iterator<Item = (i32, &'a RoaringBitmap)>> {
    periods_of(t, f, false)
}

/// [`selected_periods`], or with `every` and none of those filters set,
/// every billing period of the store.
fn periods_of<'a>(
    t: &'a Tables,
    f: &Filter,
    every: bool,
) -> Option<impl Iterator<Item = (i32, &'a RoaringBitmap)>> {
    use chrono::{Datelike, NaiveDate};
    let implied = f.year.is_none() && f.month.is_none() && f.billing_period.is_none();
    if implied && !every {
        return None;
    }
    let first = |y: Option<i32>, m: u32| {
        y.and_then(|y| NaiveDate::from_ymd_opt(y, m, 1))
            .map(date_to_day)
    };
    // [lo, hi) in days; an unrepresentable year or month matches nothing.
    let (mut lo, mut hi) = match (f.year, f.month) {
        (Some(y), Some(m)) => {
            let next = if m == 12 {
                first(y.checked_add(1), 1)
            } else {
                first(Some(y), m + 1)
            };
            match (first(Some(y), m), next) {
                (Some(a), Some(b)) => (a, b),
                _ => (0, 0),
            }
        }
        (Some(y), None) => match (first(Some(y), 1), first(y.checked_add(1), 1)) {
            (Some(a), Some(b)) => (a, b),
            _ => (0, 0),
        },
        _ => (i32::MIN, i32::MAX),
    };
    if let Some(e) = f.billing_period.map(date_to_day) {
        lo = lo.max(e);
        hi = hi.min(e.saturating_add(1));
    }
    // A month without a year is not one range: test each period's month.
    let month = f.month.filter(|_| f.year.is_none());
    let range = if lo < hi {
        t.periods.range(lo..hi)
    } else {
        t.periods.range(0..0)
    };
    Some(
        range
            .filter(move |&(&p, _)| month.is_none_or(|m| m == day_to_date(p).month()))
            .map(|(&p, b)| (p, b)),
    )
}

/// Whether `slot` lies in one of `runs` (ascending, disjoint). O(log runs).
fn in_runs(runs: &[RangeInclusive<u32>], slot: u32) -> bool {
    let i = runs.partition_point(|r| *r.end() < slot);
    runs.get(i).is_some_and(|r| r.contains(&slot))
}

/// `|b ∩ [r.start, r.end)|`: an iterator of `b` narrowed from both ends
/// to the range, counted. A bitmap container counts only the words
/// between the two ends, where roaring's `range_cardinality` ranks each
/// end from the container's start (up to 1,024 words), and its
/// `intersection_len` with the range as a bitmap walks every container of
/// `b` (16 at 1M records, 153 at 10M). O(log containers + the range's
/// containers + its bitmap words).
fn range_len(b: &RoaringBitmap, r: std::ops::Range<u32>) -> u64 {
    if r.start >= r.end {
        return 0;
    }
    let mut it = b.iter();
    it.advance_to(r.start);
    it.advance_back_to(r.end - 1);
    it.count() as u64
}

/// The first and last report days of the records of these billing
/// periods (`Tables::period_days`), `None` for no period.
fn period_days(t: &Tables, periods: impl Iterator<Item = i32>) -> Option<(i32, i32)> {
    periods
        .map(|p| t.period_days[&p])
        .reduce(|(a, b), (l, h)| (a.min(l), b.max(h)))
}

/// [`Check::Periods`] of the one billing period the filter selects, when
/// `b` is that period's own bitmap (so the set is exactly its records).
fn own_period(t: &Tables, f: &Filter, b: &RoaringBitmap) -> Option<Check> {
    let mut periods = selected_periods(t, f)?;
    let (p, part) = periods.next()?;
    (periods.next().is_none() && std::ptr::eq(part, b))
        .then(|| Check::Periods(smallvec::smallvec![p], true))
}

/// The widest stretch of days `[x, y]` within the report days of the
/// billing periods `selected` (sorted) on which no other period has
/// records: every record reported then has a selected period, so passes
/// their test untested. `None` when no such day is left.
///
/// `Tables::period_days` holds each period's first and last report day,
/// which writes only widen (a removal leaves them), so the stretch may be
/// narrower than the data allow, never wider. The demo's periods share
/// the few days after a month's end with the next, so a year's stretch is
/// all but its first and last few days. O(periods).
fn pure_days(t: &Tables, selected: &[i32]) -> Option<(i32, i32)> {
    let (lo, hi) = period_days(t, selected.iter().copied())?;
    // The other periods' days within the selected ones', by first day.
    let mut shared: SmallVec<[(i32, i32); 8]> = t
        .period_days
        .iter()
        .filter(|(p, _)| selected.binary_search(p).is_err())
        .map(|(_, &(a, b))| (a.max(lo), b.min(hi)))
        .filter(|(a, b)| a <= b)
        .collect();
    shared.sort_unstable();
    // The widest gap between them (or before the first, after the last).
    let mut best: Option<(i32, i32)> = None;
    let mut from = lo;
    let mut consider = |a: i32, b: i32| {
        if a <= b && best.is_none_or(|(x, y)| b - a > y - x) {
            best = Some((a, b));
        }
    };
    for &(a, b) in &shared {
        if a > from {
            consider(from, a - 1);
        }
        from = from.max(b.saturating_add(1));
    }
    if from <= hi {
        consider(from, hi);
    }
    best
}

/// A customer with fewer records than this has its records of a type in
/// billing periods counted by the planner each time
/// ([`Core::known_count`]): a small customer's intersections cost little,
/// and would fill the cache.
const PERIOD_COUNTS_MIN: u64 = 1024;

/// The first position of `r` whose record (`slot` of the position) is
/// dated at or after `bound`, `r.end` if none: a binary search, the
/// records in date order. O(log n).
fn first_dated(
    t: &Tables,
    r: std::ops::Range<u32>,
    bound: Micros,
    slot: impl Fn(u32) -> u32,
) -> u32 {
    let (mut a, mut b) = (r.start, r.end);
    while a < b {
        let m = a + (b - a) / 2;
        if t.cus.get(t.row(slot(m)).cu).date() < bound {
            a = m + 1
        } else {
            b = m
        }
    }
    a
}

/// A project's slots when they are one run in date order (after a load,
/// until a record is reported out of order or another project's lands
/// among them): `Project::sorted_until` unset and no gap.
// Inlined: called per project of a merge, an outlined call cost `scoped`
// 400 instructions.
#[inline(always)]
fn run_of(p: &super::entities::Project) -> Option<std::ops::Range<u32>> {
    if p.sorted_until != u32::MAX {
        return None;
    }
    let (a, b) = p.run;
    (a < b).then_some(a..b)
}

/// The report days `[lo, hi]` (inclusive) that a filter's date range
/// admits, open ends as `i32::MIN` and `i32::MAX`.
fn date_days(f: &Filter) -> (i32, i32) {
    let lo = f.date_after.map_or(i32::MIN, date_to_day);
    let hi = f.date_before.map_or(i32::MAX, date_to_day);
    (lo, hi)
}

/// The report times `[lo, hi)` in microseconds that a filter's date range admits.
fn date_bounds(f: &Filter) -> (Micros, Micros) {
    let lo = f
        .date_after
        .map_or(Micros::MIN, |d| day_start(date_to_day(d)));
    let hi = f
        .date_before
        .map_or(Micros::MAX, |d| day_start(date_to_day(d).saturating_add(1)));
    (lo, hi)
}

/// The report times `[lo, hi)` in microseconds that a filter's date range
/// and billing periods admit (the periods' records lie within their
/// report days), and the per-record test of its billing periods, if any.
fn seq_bounds(t: &Tables, f: &Filter) -> (Micros, Micros, Option<Check>) {
    let (mut lo, mut hi) = date_bounds(f);
    let check = selected_periods(t, f).map(|periods| {
        let keys: SmallVec<[i32; 4]> = periods.map(|(p, _)| p).collect();
        match period_days(t, keys.iter().copied()) {
            None => (lo, hi) = (0, 0),
            Some((a, b)) => {
                lo = lo.max(day_start(a));
                hi = hi.min(day_start(b.saturating_add(1)));
            }
        }
        let contiguous = f.month.is_none() || f.year.is_some();
        Check::Periods(keys, contiguous)
    });
    (lo, hi, check)
}

/// The id of the filter's component type, if it names one the store has
/// (an empty `type` is no filter, as in `predicates`).
fn type_id(t: &Tables, f: &Filter) -> Option<u32> {
    f.component_type
        .as_deref()
        .filter(|n| !n.is_empty())
        .and_then(|n| t.types.id(n))
}

/// The filter's component type: `Some(None)` without one (an empty `type`
/// is no filter), `Some(Some(id))` for one the store has, `None` for an
/// unknown one (which matches nothing).
fn type_filter(t: &Tables, f: &Filter) -> Option<Option<u32>> {
    match f.component_type.as_deref().filter(|n| !n.is_empty()) {
        None => Some(None),
        Some(n) => t.types.id(n).map(Some),
    }
}

/// A query's filter and scope resolved against the store once, to test
/// records one at a time by their links and name as they are and their
/// keys as a write noted them ([`Stale::keys`](super::cache::Stale::keys)):
/// how a kept query's day counts follow a write that re-keys records and
/// changes no link or name ([`SetDaysCache::adjust`](super::cache::SetDaysCache::adjust)).
/// The same rules as the planner's: an unknown entity or type, or a
/// filter that matches nothing, admits no record; an empty `username` or
/// `type` is no filter; the username test is the search's
/// ([`Usernames::search`](crate::index::dict::Usernames::search)).
pub(crate) struct SlotTest<'t> {
    t: &'t Tables,
    /// Whether no record can match.
    never: bool,
    /// Customer, project, offering, and the resources (`resource_uuid`
    /// and `resource`, both if both are given) the filter names, as ids.
    customer: Option<u32>,
    project: Option<u32>,
    offering: Option<u32>,
    resources: SmallVec<[u32; 2]>,
    /// The names that contain the filter's `username`.
    names: Option<crate::index::dict::Found>,
    ty: Option<u32>,
    year: Option<i32>,
    month: Option<u32>,
    period: Option<i32>,
    /// Report days `[lo, hi]`.
    days: (i32, i32),
    /// The scope's customers, projects and offerings as ids; `None` sees
    /// every record.
    scope: Option<[SmallVec<[u32; 4]>; 3]>,
}

impl<'t> SlotTest<'t> {
    /// `f` and `scope` resolved against `t`. O(the scope's and filter's
    /// entities), plus the username search when not kept.
    pub(crate) fn new(t: &'t Tables, f: &Filter, scope: &Scope) -> SlotTest<'t> {
        let mut never = f.nothing;
        let mut id = |u: Option<uuid::Uuid>, find: &dyn Fn(&uuid::Uuid) -> Option<u32>| {
            let found = u.map(|u| find(&u));
            never |= found == Some(None);
            found.flatten()
        };
        let customer = id(f.customer, &|u| t.customers.id(u));
        let project = id(f.project, &|u| t.projects.id(u));
        let offering = id(f.offering, &|u| t.offerings.id(u));
        let resources = [f.resource_uuid, f.resource]
            .into_iter()
            .filter_map(|u| id(u, &|u| t.resources.id(u)))
            .collect();
        let ty = match type_filter(t, f) {
            None => {
                never = true;
                None
            }
            Some(ty) => ty,
        };
        let names = (f.username.as_deref())
            .filter(|n| !n.is_empty())
            .map(|n| t.usernames.search(n));
        let ids = |us: &[uuid::Uuid], find: &dyn Fn(&uuid::Uuid) -> Option<u32>| {
            us.iter().filter_map(find).collect::<SmallVec<[u32; 4]>>()
        };
        let scope = (!scope.everything).then(|| {
            [
                ids(&scope.customers, &|u| t.customers.id(u)),
                ids(&scope.projects, &|u| t.projects.id(u)),
                ids(&scope.offerings, &|u| t.offerings.id(u)),
            ]
        });
        SlotTest {
            t,
            never,
            customer,
            project,
            offering,
            resources,
            names,
            ty,
            year: f.year,
            month: f.month,
            period: f.billing_period.map(date_to_day),
            days: date_days(f),
            scope,
        }
    }

    /// Whether the live record at `slot`, with the keys `(report day,
    /// billing period, type)`, matches. O(1) but for the scope's entities.
    pub(crate) fn admits(&self, slot: u32, (day, period, ty): super::cache::SlotKeys) -> bool {
        use chrono::Datelike;
        if self.never
            || day < self.days.0
            || day > self.days.1
            || self.ty.is_some_and(|x| x != ty)
            || self.period.is_some_and(|p| p != period)
        {
            return false;
        }
        if self.year.is_some() || self.month.is_some() {
            let d = day_to_date(period);
            if self.year.is_some_and(|y| y != d.year())
                || self.month.is_some_and(|m| m != d.month())
            {
                return false;
            }
        }
        let t = self.t;
        let (res, o, p, c) = t.chain(slot);
        let name = t.row(slot).username;
        self.customer.is_none_or(|x| x == c)
            && self.project.is_none_or(|x| x == p)
            && self.offering.is_none_or(|x| x == o)
            && self.resources.iter().all(|&x| x == res)
            && (self.names.as_ref()).is_none_or(|n| n.bits.contains(name))
            && (self.scope.as_ref())
                .is_none_or(|[cs, ps, os]| cs.contains(&c) || ps.contains(&p) || os.contains(&o))
    }
}

/// A union predicate, or `None` (nothing matches) when it has no part.
///
/// A union of one part stays a union: against a few records, its per-record
/// test (a period, a date, a username bit) beats probing a big bitmap.
fn any(parts: Parts<'_>, check: Check) -> Option<Pred<'_>> {
    let lens = parts.iter().map(|b| b.len()).collect();
    any_sized(parts, lens, check)
}

/// [`any`], with each part's length given.
fn any_sized(parts: Parts<'_>, lens: SmallVec<[u64; 4]>, check: Check) -> Option<Pred<'_>> {
    debug_assert!(parts.iter().zip(&lens).all(|(b, &n)| b.len() == n));
    let len = lens.iter().sum();
    (!parts.is_empty()).then_some(Pred::Any {
        parts,
        check,
        len,
        lens,
    })
}

/// The matches of a filter and scope: an intersection, smallest operand
/// first. With `count_only` the last intersection is only counted.
/// `known` gives the count when it is kept ([`Core::known_count`]); asked
/// only where a plan would count (a lookup of the customer, which a small
/// customer's page does not need).
fn candidates<'a>(
    t: &'a Tables,
    f: &Filter,
    scope: &Scope,
    count_only: bool,
    known: impl Fn() -> Option<u64>,
    held: Held<'a>,
) -> Cand<'a> {
    if count_only && let Some(n) = known() {
        return Cand::Counted(n);
    }
    let Some((mut preds, ty)) = predicates(t, f, scope, held) else {
        return Cand::Set(Cow::Owned(RoaringBitmap::new()), None);
    };
    if preds.is_empty() {
        return Cand::All;
    }
    if let [Pred::Any { parts, .. }] = &preds[..]
        && let [one] = parts[..]
    {
        return Cand::Set(Cow::Borrowed(one), None);
    }
    if preds.len() == 1
        && let Pred::Any { check, .. } = &preds[0]
        && check.disjoint()
    {
        let count = preds[0].estimate();
        let Some(Pred::Any { parts, check, .. }) = preds.pop() else {
            unreachable!()
        };
        return Cand::Lazy {
            count,
            check,
            parts,
        };
    }
    // A component type ∧ billing periods (a month, a year), and nothing
    // else: the count is a sum of kept per-(period, type) counts, where
    // intersecting would test each of the periods' records; the page is
    // left to walk a view, testing both (or to intersect, then sort). At
    // 1M records, storage in one month: first page by usage 45 -> 5.9 µs,
    // by date 34 -> 6.8 µs, last page 37 -> 3.3 µs; a middle page by
    // date (400 of 985) pays for the walk it gives up: 328-364 -> 373-392
    // µs (by usage, page 300: unchanged within noise).
    // With a report-date range that cuts through some of the periods
    // (`CutCell`): those periods' records in the range are intersected
    // with the type, the others counted as kept.
    // (An empty `type` is no filter, as in `predicates`.)
    if let Some(ty) = ty
        && preds.len() == 2
        && let Some(i) = preds.iter().position(|p| {
            matches!(
                p,
                Pred::Any {
                    check: Check::Periods(..) | Check::PeriodDates { .. },
                    ..
                }
            )
        })
    {
        let Pred::Any { parts, check, .. } = preds.swap_remove(i) else {
            unreachable!("found above")
        };
        let (Pred::One(base), Check::Periods(keys, _) | Check::PeriodDates { periods: keys, .. }) =
            (&preds[0], &check)
        else {
            unreachable!("the other predicate is the type's")
        };
        debug_assert!(std::ptr::eq(*base, t.types.payload(ty)));
        let cut: &[(i32, Arc<RoaringBitmap>)] = match check {
            Check::PeriodDates { .. } => {
                held.cut.and_then(|c| c.get()).expect("made with the check")
            }
            _ => &[],
        };
        let kept = |p: i32| u64::from(t.period_type_rows.get(&(p, ty)).copied().unwrap_or(0));
        let count = (keys.iter())
            .map(|&p| match cut.iter().find(|c| c.0 == p) {
                Some((_, b)) => base.intersection_len(b),
                None => kept(p),
            })
            .sum();
        if count_only {
            return Cand::Counted(count);
        }
        return Cand::Filtered {
            count,
            base: Cow::Borrowed(*base),
            check,
            parts,
        };
    }
    // The first predicate becomes the running set: an entity's bitmap is
    // borrowed as is, a union of several bitmaps must be built (a username
    // search's union of 1,365 names for `ann` at 1M costs more than intersecting a
    // customer's run with it later), so unions go first only when clearly
    // smaller. A union of one part (a billing period) needs no building,
    // but it too goes after an entity not clearly bigger: as the running
    // set, the entity's runs make the union's count range cardinalities
    // and leave it unbuilt (see the loop), where the period first would
    // be intersected with the entity's run value by value.
    preds.sort_by_key(|p| match p {
        Pred::Any { len, .. } => len.saturating_mul(4),
        p => p.estimate(),
    });
    let total = t.rows.len() as u64;
    let mut acc: Cow<'a, RoaringBitmap> = match &preds[0] {
        Pred::One(b) => Cow::Borrowed(*b),
        Pred::Any { parts, .. } if parts.len() == 1 => Cow::Borrowed(parts[0]),
        p => Cow::Owned(p.materialize()),
    };
    let last = preds.len() - 1;
    for i in 1..preds.len() {
        let p = &preds[i];
        if acc.is_empty() {
            break;
        }
        // A few records left (a resource's, a small customer's): test each
        // against the remaining predicates, most selective first. Building
        // a bitmap per intersection, then listing it for the sort, cost
        // more than the tests (half of a four-record query's time). Unless
        // they are so few runs that looking the next predicate's parts up
        // in each is cheaper still (a small customer's run ∧ a period).
        let a = Acc::new(&acc);
        let lookups = match &preds[i] {
            Pred::Any { parts, .. } => parts.len() as u64 * RUN_LOOKUP_COST,
            Pred::One(_) => RUN_LOOKUP_COST,
        };
        if a.len <= FEW as u64 && !at_most_runs(&acc, a.len / lookups) {
            let rest = &preds[i..];
            let few: Vec<u32> = acc
                .iter()
                .filter(|&s| rest.iter().all(|p| p.test(t, s)))
                .collect();
            return if count_only {
                Cand::Counted(few.len() as u64)
            } else {
                Cand::Few(few)
            };
        }
        // A report-date range last, counted by kept counts per day (an
        // offering's or a username search's, `Core::known_count`): its
        // page is left to walk the
        // default view from the range's latest day, testing both, where
        // the set's records were each tested for the count. Not for a set
        // too sparse to walk (see `DAYS_WALK_SHARE`).
        if i == last
            && !count_only
            && (dated_offering(f, scope)
                || dated_username(f, scope)
                || periods_offering(f, scope)
                || typed_username(f, scope))
            && walkable(t, a.len)
            && matches!(
                p,
                Pred::Any {
                    check: Check::Dates(..) | Check::Periods(..),
                    ..
                }
            )
            && let Some(count) = known()
        {
            drop(a);
            return leave_last(&mut preds, acc, count);
        }
        // A report-date range last, against an entity's few runs: counted
        // by range cardinalities, and its page read from the latest days
        // (see `Cand::Days`), however many records the range holds.
        if i == last
            && !count_only
            && let Pred::Any {
                parts,
                check: Check::Dates(..),
                ..
            } = p
            && let Some(runs) = a.runs()
            && (runs.len() * parts.len()) as u64 * RUN_LOOKUP_COST <= acc.len()
        {
            return Cand::Days {
                count: a.and_len_union(parts),
                runs: runs.to_vec(),
                days: parts.clone(),
            };
        }
        // A last union of several parts is left unbuilt when the running
        // set is not much smaller, or not small enough for testing its
        // values (see below) to beat building the union: its count is a
        // sum of intersection sizes, and the page is often found by a
        // short walk (else the union is built then). A big customer's
        // storage records in a year, at 1M: 22,924 records against the
        // year's 451,296, of which the customer's span holds about 47,000;
        // building the union cost 90 µs. So is a single part against a
        // few runs (a big customer ∧ a billing period), whose count is
        // range cardinalities where the intersection itself would filter
        // each of the part's values in the runs (at 10M records: 280,000
        // values, 32 µs).
        if i == last
            && let Pred::Any {
                check, parts, len, ..
            } = p
            && (parts.len() > 1 || a.runs().is_some())
            && check.disjoint()
            && (acc.len() * 16 >= *len || acc.len() * SURVIVOR_RATIO >= overlap(&acc, parts, *len))
            && !count_only
        {
            let Pred::Any { parts, lens, .. } = p else {
                unreachable!("matched above")
            };
            let count = known().unwrap_or_else(|| a.and_len_parts(parts, lens));
            drop(a);
            return leave_last(&mut preds, acc, count);
        }
        // The last bitmap against a few runs, when the matches would be
        // many (sorting them for a page would cost tens of microseconds):
        // counted by range cardinalities, paged from the latest days.
        if i == last
            && !count_only
            && let Pred::One(b) = p
            && u128::from(acc.len()) * u128::from(b.len())
                > u128::from(RANGE_VALUES_MAX) * u128::from(total)
            && let Some(runs) = a.runs()
        {
            let (count, runs) = (a.and_len(b), runs.to_vec());
            drop(a);
            return Cand::RunsAnd {
                count,
                base: acc,
                runs,
                other: b,
            };
        }
        if count_only && i == last {
            return Cand::Counted(match p {
                Pred::One(b) => a.and_len(b),
                Pred::Any {
                    parts, check, len, ..
                } if check.disjoint() && a.few_runs(parts.len(), *len, total) => {
                    a.and_len_union(parts)
                }
                Pred::Any {
                    parts, check, len, ..
                } if acc.len() * SURVIVOR_RATIO < overlap(&acc, parts, *len) => {
                    check.survivors(t, &acc).len() as u64
                }
                // Disjoint parts: the intersections' sizes add up.
                Pred::Any {
                    parts, check, lens, ..
                } if check.disjoint() => a.and_len_parts(parts, lens),
                Pred::Any { parts, .. } => intersect_union(&acc, parts).len(),
            });
        }
        acc = Cow::Owned(match p {
            Pred::One(b) => a.and(b),
            Pred::Any {
                parts, check, len, ..
            } if a.few_runs(parts.len(), *len, total) => {
                let runs = a.runs().expect("few_runs checked it");
                let v = slots_within(runs, parts, check.disjoint());
                if i == last && v.len() <= FEW {
                    return Cand::Few(v);
                }
                RoaringBitmap::from_sorted_iter(v).expect("sorted and deduplicated")
            }
            Pred::Any {
                parts, check, len, ..
            } if acc.len() * SURVIVOR_RATIO < overlap(&acc, parts, *len) => {
                // Testing each survivor beats building a large union.
                RoaringBitmap::from_sorted_iter(check.survivors(t, &acc))
                    .expect("bitmap iteration is sorted")
            }
            Pred::Any { parts, .. } => intersect_union(&acc, parts),
        });
    }
    // The type alone: its bitmap as is, and its extent as kept.
    let extent = ty.filter(|_| preds.len() == 1).map(|ty| {
        let (len, min, max) = t.type_extent[ty as usize];
        Extent { len, min, max }
    });
    debug_assert!(
        extent.is_none_or(|e| e.len == acc.len() && (e.len == 0 || Some(e.min) == acc.min()))
    );
    Cand::Set(acc, extent)
}

/// The plan that tests the last predicate, a union, on the running set
/// `base` (`count` matches), for [`candidates`]: its parts are left
/// unbuilt.
fn leave_last<'a>(
    preds: &mut SmallVec<[Pred<'a>; 4]>,
    base: Cow<'a, RoaringBitmap>,
    count: u64,
) -> Cand<'a> {
    let Some(Pred::Any { parts, check, .. }) = preds.pop() else {
        unreachable!("a union last")
    };
    Cand::Filtered {
        count,
        base,
        check,
        parts,
    }
}

/// Whose kept counts by report day [`Core::skip_days`] reads.
#[derive(Clone, Copy)]
enum DayCounts<'a, 'c> {
    /// A component type's ([`DayTypeCache`](super::cache::DayTypeCache)).
    Type(u32),
    /// A username search's, by needle ([`NeedleRowsCache`](super::cache::NeedleRowsCache)).
    Needle(&'a str),
    /// A query's matches', by its filter and scope
    /// ([`SetDaysCache`](super::cache::SetDaysCache)): the plan's matches
    /// ([`matches_of`]) counted when not kept.
    Query(&'a Filter, &'a Scope, &'a Cand<'c>),
}

/// The matches of a planned query whose deep pages skip days by the
/// query's counts (a set, or a base with a test): its bitmap, or the one
/// its parts make.
fn matches_of<'c>(t: &Tables, cand: &'c Cand<'_>) -> Cow<'c, RoaringBitmap> {
    // (A few, and runs by day, are paged before any count by day: see
    // `Core::page_slots`.)
    cand_matches(t, cand).unwrap_or_else(|| unreachable!("no day counts for this plan"))
}

/// A record's value of `o` key `k` as a number in the key's order
/// (bitwise negated when descending), a username by its rank
/// (`user_rank`, the kept [`RankTable`](crate::index::dict::RankTable)'s).
#[inline]
fn key_value(t: &Tables, k: &OrderKey, r: &super::core::Row, user_rank: &[u32]) -> i64 {
    let x = match k.field {
        SortField::Usage => r.usage(),
        SortField::BillingPeriod => i64::from(t.kind_of(t.cus.get(r.cu)).period),
        SortField::Username => i64::from(user_rank[r.username as usize]),
    };
    if k.descending { !x } else { x }
}

/// A record's value of the first `o` key (as [`key_value`]), or its
/// report date descending without one.
#[inline(always)]
fn first_key(t: &Tables, keys: &[OrderKey], user_rank: &[u32], s: u32) -> i64 {
    let r = t.row(s);
    match keys.first() {
        Some(k) => key_value(t, k, r, user_rank),
        None => !t.cus.get(r.cu).date(),
    }
}

/// The records of `base` in the union of `parts`, whose test is `check`:
/// each record of `base` tested when it is much smaller than the parts'
/// values within its span ([`SURVIVOR_RATIO`]), else intersected with
/// them (at 1M records, a page of an offering's 16,847 records in a
/// report-date range of 214 days, by `-usage`: 2.7 ms intersected, 0.58
/// ms tested).
/// O(base) or O(the parts' containers).
fn filtered_matches(
    t: &Tables,
    base: &RoaringBitmap,
    check: &Check,
    parts: &[&RoaringBitmap],
) -> RoaringBitmap {
    let len = parts.iter().map(|b| b.len()).sum();
    if base.len() * SURVIVOR_RATIO < overlap(base, parts, len) {
        RoaringBitmap::from_sorted_iter(check.survivors(t, base))
            .expect("bitmap iteration is sorted")
    } else {
        intersect_union(base, parts)
    }
}

/// Whether [`cand_matches`] makes the plan's matches: not every record,
/// a few slots, or a count alone.
fn is_set_plan(cand: &Cand<'_>) -> bool {
    !matches!(cand, Cand::All | Cand::Few(_) | Cand::Counted(_))
}

/// A plan's matches as a bitmap, made if need be; `None` for every record
/// and for a few (whose callers sort them), and for a count alone
/// ([`is_set_plan`]). O(the matches' containers).
fn cand_matches<'c>(t: &Tables, cand: &'c Cand<'_>) -> Option<Cow<'c, RoaringBitmap>> {
    Some(match cand {
        Cand::Set(b, _) => Cow::Borrowed(&**b),
        Cand::Filtered {
            base, check, parts, ..
        } => Cow::Owned(filtered_matches(t, base, check, parts)),
        Cand::Lazy { parts, .. } => Cow::Owned(parts.iter().copied().union()),
        Cand::Days { runs, days, .. } => Cow::Owned(union_within(runs, days, true)),
        Cand::RunsAnd { base, other, .. } => Cow::Owned(Acc::new(base).and(other)),
        Cand::All | Cand::Few(_) | Cand::Counted(_) => return None,
    })
}

/// `b`'s records per report day, days ascending, empty days left out: by
/// [`set_day_counts`] or [`day_counts`], whichever reads less. A day
/// intersected with a set of array containers merges the set's values in
/// every container the day spans (all of them: a day's records are spread
/// over the store's slots), so each day reads the whole set; with bitmap
/// containers it tests a bit per record of the day, and the days together
/// read the store's records once, where reading a record's day is a few
/// random reads. At 1M records, first deep page (the counts made): a year's
/// periods from its third month, 377,843 matches, 8.2 ms read record by
/// record, 4.2 ms day by day.
fn day_counts_of(t: &Tables, b: &RoaringBitmap) -> Vec<(i32, u32)> {
    let n = b.len();
    if arrays(Extent::of(b, n)) || n.saturating_mul(DAY_READ_COST) < t.live.len() {
        set_day_counts(t, b)
    } else {
        // Many-run containers expanded first: a day's value is looked up
        // in runs by a binary search (the biggest offering: 113 million
        // instructions).
        day_counts(t, flat(b).as_ref().unwrap_or(b))
    }
}

/// A deep default-order page whose set holds fewer than one record in
/// this many of the walked span's is read from its days' bitmaps
/// ([`Core::day_read_page`]), not walked.
const DAY_READ_SPARSE: usize = 16;

/// What reading a record's report day costs, in tests of a bit of a
/// bitmap container ([`day_counts_of`]).
const DAY_READ_COST: u64 = 16;

/// `b`'s records per report day, days ascending, empty days left out, as
/// [`day_counts`], by reading each record's report day: O(|b| + days),
/// where intersecting every day with `b` reads every day's containers
/// (the biggest offering at 1M records, 223,813 records: each day's
/// intersection read its containers' thousands of values).
fn set_day_counts(t: &Tables, b: &RoaringBitmap) -> Vec<(i32, u32)> {
    let (Some((&lo, _)), Some((&hi, _))) = (t.days.first_key_value(), t.days.last_key_value())
    else {
        return Vec::new();
    };
    let day = |s: u32| crate::wire::time::micros_to_day(t.cus.get(t.row(s).cu).date());
    // Report days over at most a few centuries: a counter per day.
    // Beyond, the days are sorted and run-length counted.
    let width = i64::from(hi) - i64::from(lo) + 1;
    let mut v: Vec<(i32, u32)> = if width <= 1 << 16 {
        let mut n = vec![0u32; width as usize];
        b.iter().for_each(|s| n[(day(s) - lo) as usize] += 1);
        (n.iter().enumerate())
            .filter(|e| *e.1 > 0)
            .map(|(i, &c)| (lo + i as i32, c))
            .collect()
    } else {
        let mut days: Vec<i32> = b.iter().map(day).collect();
        days.sort_unstable();
        let mut v: Vec<(i32, u32)> = Vec::new();
        for d in days {
            match v.last_mut() {
                Some(e) if e.0 == d => e.1 += 1,
                _ => v.push((d, 1)),
            }
        }
        v
    };
    v.shrink_to_fit();
    v
}

/// `b`'s records per report day, days ascending, empty days left out:
/// each day's bitmap intersected with `b` (about 10 million instructions,
/// 4 ms, for a component type at 1M records). O(days × containers).
fn day_counts(t: &Tables, b: &RoaringBitmap) -> Vec<(i32, u32)> {
    let mut v: Vec<(i32, u32)> = (t.days.iter())
        .map(|(&d, day)| (d, day.intersection_len(b) as u32))
        .filter(|e| e.1 > 0)
        .collect();
    v.shrink_to_fit();
    v
}

/// A report day with more records than this within the runs of a
/// [`Core::days_page`] is intersected as bitmaps, not read value by value.
const DAY_CROWDED: u64 = 256;

/// A [`DateSeq`] of more runs reads its slots by rank instead.
const SEQ_RUNS_MAX: usize = 64;

/// No [`DateSeq`] is made of a resource whose tail (its records in its
/// project's tail, see `Project::sorted_until`) holds more than this many
/// records: each query sorts them.
const SEQ_TAIL_MAX: u64 = 256;

/// The room a resource's window list starts with ([`Core::resource_window`]):
/// 64 bytes, a billing period's records of a resource and more.
const WINDOW_CAPACITY: usize = 16;

/// Nor of a project whose tail holds more than this many: the first query
/// after a write sorts it (about 30 ns a record), later ones share it
/// ([`super::cache::TailCache`]).
const SEQ_TAIL_SHARED_MAX: u64 = 1 << 14;

/// A [`DateSeq`] of at most this many records lists them (a resource's,
/// spread over its project's run in short runs) instead of finding its
/// runs.
const SEQ_LIST_MAX: u64 = 256;

/// At most this many records of a [`DateSeq`]'s window are tested against
/// billing period filters (a project's year: a few hundred); beyond, the
/// planner's counts by bitmaps are cheaper.
const SEQ_TESTS_MAX: u32 = 4096;

/// A [`DateSeq`]'s window of at most this many records is tested whole
/// against billing period filters: finding the days only the selected
/// periods have (a pass over the periods, and two binary searches) costs
/// more (`resource_period`: 7,269 → 11,338 instructions at 1M, when its
/// records were reached by rank).
const SEQ_TEST_ALL: u32 = 64;

/// Slots in the reverse of the default order (by report date, ties by
/// type rank and uuid descending; see `Project::sorted_until`) as runs,
/// and the matches' positions in them: created by [`Core::date_seq`].
struct DateSeq<'a> {
    /// The first `plen` positions: the prefix of `Project::sorted_until`.
    slots: SeqSlots<'a>,
    plen: u32,
    /// The rest: the tail, sorted the same way.
    tail: Tail,
    /// The positions `lo..hi` hold the matches of the entity and date
    /// range; with billing period filters, `kept` holds those of them that
    /// pass.
    lo: u32,
    hi: u32,
    kept: Option<Kept>,
}

/// The matches of a [`DateSeq`]'s window that pass its billing period
/// filters, in date order: the window's records on the selected periods'
/// pure days ([`pure_days`]), as positions, all passing untested; and the
/// tested ones before and after them, as slots. A project's year was
/// tested record by record (480 tests, most of a 4.5 µs query at 1M);
/// only the days the neighbouring periods share need it.
struct Kept {
    /// The passing slots reported before the pure days (the first `head`),
    /// then those reported after them; ascending positions.
    edges: Vec<u32>,
    head: u32,
    /// The positions of the records on the pure days.
    mid: std::ops::Range<u32>,
}

impl Kept {
    fn len(&self) -> u32 {
        self.edges.len() as u32 + self.mid.len() as u32
    }
}

/// At most this many projects are merged by [`Core::merge_seq`]: each
/// costs its run's bounds (or a [`DateSeq`]) and a place in the merge's
/// list, about 30 ns at 1M. Where the planner overtakes the merge,
/// measured at 1M on the demo's customers of 16 to 298 projects and on
/// every 25th of those of 2 to 15 (two builds of one scratch harness, each
/// forcing one plan; `customer_uuid` alone, with `type`, with
/// `date_after`): near 30 projects without another filter (the
/// customer's run is then paged from the default view, 0.2 to 3.3 µs,
/// where the merge takes about 0.5 + 0.03 per project), between 69 and
/// 77 with a component type (where the planner's plan for a big customer
/// takes over: 1 to 3 µs).
///
/// With a report-date range, measured again once the planner read the
/// range as billing periods (`predicates`; one build forcing the planner
/// against the merge, 47 customers of 8 to 844 projects, best of five
/// rounds of 300): the merge takes 0.8 µs at 8 projects to 16 µs at 176
/// (about 0.09 µs a project); the planner about 2.5 µs for customers of
/// 84 projects and more (whose records make the periods' cuts pay,
/// `cut_pays`), 12 to 45 µs below. With a type too, the planner took 6
/// to 50 µs throughout, overtaking the merge between 134 projects (18
/// against 45 µs) and 176 (24 against 17).
const MERGE_PROJECTS_MAX: usize = 30;
/// With a component type.
const MERGE_PROJECTS_TYPED_MAX: usize = 72;
/// With a report-date range.
const MERGE_PROJECTS_DATED_MAX: usize = 80;
/// With a report-date range and a component type.
const MERGE_PROJECTS_DATED_TYPED_MAX: usize = 150;

/// Groups of one report date up to this long are sorted by insertion
/// ([`Core::sort_tied`]), their keys read as compared.
const GROUP_INSERT_MAX: usize = 4;

/// Projects of a merge whose sequences and cursors are kept on the stack.
const MERGE_INLINE: usize = 24;

/// A [`Core::merge_page`] expected to read more records than this (the
/// page's reach over the type's share of the windows) goes to the planner.
const MERGE_WALK_MAX: u64 = 4096;

/// The date-ordered records of a few projects and the query's matches in
/// them: created by [`Core::merge_seq`].
struct MergeSeq<'a, 'b> {
    /// One per project with records in its window, in the caller's
    /// [`SeqBuf`].
    seqs: &'b [DateSeq<'a>],
    /// Then the projects whose windows are one run of slots in date order
    /// (a whole project after a load), as `(first slot, length)`: their
    /// records are read by offset from the run's end, so no [`DateSeq`]
    /// is built for them (most of a scope's projects end before its
    /// page: their sequences were a fifth of a scoped query's
    /// instructions).
    /// (And each run's project.)
    runs: SmallVec<[(u32, u32, u32); MERGE_INLINE]>,
    /// The component type the windows' records must have (tested while
    /// merging), `None` without a type filter.
    ty: Option<u32>,
    count: u64,
    /// The records in the windows.
    walk: u64,
}

/// What a merge reads: created by [`Core::merge_scope`].
struct MergeScope {
    /// The admitted projects, each once; inline up to [`MERGE_INLINE`]
    /// like their sequences.
    projects: SmallVec<[u32; MERGE_INLINE]>,
    /// The customers whose every project is admitted, each once.
    whole: SmallVec<[u32; 4]>,
    /// How many of `projects`, first, are theirs.
    whole_projects: usize,
}

/// The sequences of a [`MergeSeq`]: inline up to [`MERGE_INLINE`] (see
/// [`Core::merge_page`]'s cursors), in the frame of [`Core::run_query`],
/// so that the plan never moves them.
type SeqBuf<'a> = SmallVec<[DateSeq<'a>; MERGE_INLINE]>;

impl MergeSeq<'_, '_> {
    /// Whether [`Core::merge_page`] reads few enough records for a page
    /// reaching `reach` matches, were the matches spread evenly.
    fn affordable(&self, reach: usize) -> bool {
        (reach as u64).saturating_mul(self.walk) / self.count.max(1) <= MERGE_WALK_MAX
    }
}

/// A [`DateSeq`]'s matches of a [`MergeSeq`], read from the end (latest
/// first) by [`Core::merge_page`].
struct MergeCursor<'a> {
    /// `None` for one of [`MergeSeq::runs`], whose positions are offsets
    /// from `first`.
    seq: Option<&'a DateSeq<'a>>,
    /// Positions still to read, descending from the end, each tested
    /// against `ty`.
    pos: std::ops::Range<u32>,
    ty: Option<u32>,
    /// Then the prefix's records of the type, descending: the type's
    /// bitmap read backwards from the end of the window's part of the
    /// prefix's run (a project's, after a load), down to `first`; it
    /// skips the other types' records without reading them.
    run: Option<roaring::bitmap::Iter<'a>>,
    first: u32,
    /// Or, for one of [`MergeSeq::runs`] with a type, the run's records
    /// of the type ascending, `pos` indexing them (see
    /// [`TypedRunCache`](super::cache::TypedRunCache)).
    typed: Option<Typed<'a>>,
}

/// A whole project's records of a type, for a [`MergeCursor`]: kept by an
/// earlier query, or made by this one (with the project, to keep).
enum Typed<'a> {
    Kept(&'a [u32]),
    Made(u32, Box<[u32]>),
}

impl<'a> MergeCursor<'a> {
    fn new(t: &'a Tables, seq: &'a DateSeq<'a>, ty: Option<u32>) -> MergeCursor<'a> {
        let (lo, hi) = seq.window();
        let end = hi.min(seq.plen);
        if let (Some(ty), SeqSlots::Run(_), true) = (ty, &seq.slots, lo < end) {
            let mut it = t.types.payload(ty).iter();
            it.advance_back_to(seq.slot(end - 1));
            return MergeCursor {
                seq: Some(seq),
                pos: end..hi,
                ty: Some(ty),
                run: Some(it),
                first: seq.slot(lo),
                typed: None,
            };
        }
        MergeCursor {
            seq: Some(seq),
            pos: lo..hi,
            ty,
            run: None,
            first: 0,
            typed: None,
        }
    }

    /// A cursor over `len` slots from `first` in date order, project
    /// `p`'s (one of [`MergeSeq::runs`]): with a type, the project's
    /// records of the type, kept or made here from the type's bitmap.
    fn of_run(
        t: &'a Tables,
        (first, len, p): (u32, u32, u32),
        ty: Option<u32>,
        kept: Option<&'a TypedRunRead<'_>>,
    ) -> MergeCursor<'a> {
        let (pos, typed) = match ty {
            Some(ty) => {
                let typed = match kept.and_then(|k| k.get(p, ty)) {
                    Some(v) => Typed::Kept(v),
                    None => Typed::Made(
                        p,
                        t.types
                            .payload(ty)
                            .range(first..=first + (len - 1))
                            .collect(),
                    ),
                };
                (0..typed.slots().len() as u32, Some(typed))
            }
            None => (0..len, None),
        };
        MergeCursor {
            seq: None,
            pos,
            ty,
            run: None,
            first,
            typed,
        }
    }

    /// The next match (the latest not yet read), if any.
    fn next(&mut self, t: &Tables) -> Option<u32> {
        if let Some(typed) = &self.typed {
            return Some(typed.slots()[self.pos.next_back()? as usize]);
        }
        while let Some(p) = self.pos.next_back() {
            let s = self.seq.map_or(self.first + p, |seq| seq.at(p));
            if self
                .ty
                .is_none_or(|ty| t.kind_of(t.cus.get(t.row(s).cu)).ctype == ty)
            {
                return Some(s);
            }
        }
        let s = self.run.as_mut()?.next_back().filter(|&s| s >= self.first);
        if s.is_none() {
            self.run = None;
        }
        s
    }
}

impl Typed<'_> {
    fn slots(&self) -> &[u32] {
        match self {
            Typed::Kept(v) => v,
            Typed::Made(_, v) => v,
        }
    }
}

/// How [`Core::run_query`] finds a query's matches.
enum Plan<'a, 'b> {
    /// Billing periods first in the order, over whole periods (or one
    /// type's part of each): each period's count is kept, so a page is
    /// a period's matches in the remaining keys' order. (A list: inline,
    /// it made every plan hundreds of bytes to move.)
    Periods(Vec<(i32, u64)>),
    /// One project's or resource's date order.
    Seq(DateSeq<'a>),
    /// A few projects' date orders, merged.
    Merge(MergeSeq<'a, 'b>),
    /// A username search alone, counted from its names' kept counts and
    /// paged by name ([`Core::names_plan`]): the count, and the matching
    /// names as a bit per name.
    Names(u64, Arc<SlotBits>),
    /// The planner's bitmaps.
    Cand(Cand<'a>),
}

/// A [`DateSeq`]'s tail: a project's, shared by the queries between two
/// writes, or a resource's, sorted for one query.
enum Tail {
    Shared(std::sync::Arc<[u32]>),
    Own(Vec<u32>),
}

impl std::ops::Deref for Tail {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        match self {
            Tail::Shared(t) => t,
            Tail::Own(t) => t,
        }
    }
}

/// The slots of a [`DateSeq`], ascending.
enum SeqSlots<'a> {
    /// One run from this slot on (a project's, after a load).
    Run(u32),
    /// A bitmap of many runs, read by rank.
    Select(&'a RoaringBitmap),
    /// A few slots, listed (a resource's).
    Listed(Vec<u32>),
    Runs {
        runs: Vec<std::ops::Range<u32>>,
        /// Position just past each run (running sums of their lengths).
        ends: Vec<u32>,
    },
}

impl DateSeq<'_> {
    /// The matches' positions for [`DateSeq::at`]: the window, or the kept list's.
    fn window(&self) -> (u32, u32) {
        match &self.kept {
            Some(kept) => (0, kept.len()),
            None => (self.lo, self.hi),
        }
    }

    /// The slot of a match's position in [`DateSeq::window`] (date order).
    fn at(&self, pos: u32) -> u32 {
        let Some(k) = &self.kept else {
            return self.slot(pos);
        };
        let mid = k.mid.len() as u32;
        if pos < k.head {
            k.edges[pos as usize]
        } else if pos - k.head < mid {
            self.slot(k.mid.start + (pos - k.head))
        } else {
            k.edges[(pos - mid) as usize]
        }
    }

    /// The number of matches.
    fn count(&self) -> u64 {
        u64::from(self.kept.as_ref().map_or(self.hi - self.lo, Kept::len))
    }

    /// The slot at a position. O(log runs).
    fn slot(&self, pos: u32) -> u32 {
        if pos >= self.plen {
            return self.tail[(pos - self.plen) as usize];
        }
        match &self.slots {
            SeqSlots::Run(first) => first + pos,
            SeqSlots::Select(b) => b.select(pos).expect("positions are below the length"),
            SeqSlots::Listed(v) => v[pos as usize],
            SeqSlots::Runs { runs, ends } => {
                let i = ends.partition_point(|&e| e <= pos);
                let before = if i == 0 { 0 } else { ends[i - 1] };
                runs[i].start + (pos - before)
            }
        }
    }
}

/// A running set of at most this many records is finished by per-record
/// tests ([`Cand::Few`]): about what a page sorts at once ([`SMALL`]).
const FEW: usize = SMALL;

/// Testing each record of the running set (reads of its row, component
/// usage and kind) against a union's test beats intersecting with the
/// union's parts (a probe per value of theirs in the set's containers)
/// when the set is this many times smaller than those values.
const SURVIVOR_RATIO: u64 = 16;

/// About how many of a union's `len` values lie within the span of `acc`,
/// taking them as spread evenly over the union's own span: what an
/// intersection container by container reads. A customer's run meets a
/// year's periods in its own two containers of the store's 16 (at 1M
/// records), not in all of them. O(parts).
fn overlap(acc: &RoaringBitmap, parts: &[&RoaringBitmap], len: u64) -> u64 {
    let lo = parts.iter().filter_map(|b| b.min()).min();
    let hi = parts.iter().filter_map(|b| b.max()).max();
    let (Some(lo), Some(hi), Some(a), Some(b)) = (lo, hi, acc.min(), acc.max()) else {
        return 0;
    };
    let (a, b) = (a.max(lo), b.min(hi));
    if a > b {
        return 0;
    }
    len.saturating_mul(containers(a, b)) / containers(lo, hi)
}

/// The values of `b` in order, as a vector. An entity's bitmap (a few
/// runs) is read a run at a time; others by internal iteration, which
/// costs less than roaring's `next` (and its `next_many` returns wrong
/// values for some bitmaps in roaring 0.12).
fn values(b: &RoaringBitmap) -> Vec<u32> {
    let len = b.len();
    let mut v = Vec::with_capacity(len as usize);
    if len > RUNS_MAX as u64 && dense(Extent::of(b, len)) && runs_of(b, len).is_some() {
        let mut it = b.iter();
        while let Some(r) = it.next_range() {
            v.extend(r);
        }
    } else {
        b.iter().for_each(|x| v.push(x));
    }
    v
}

/// `(∪ runs) ∩ (∪ parts)`: each part's values within each run, read out.
/// O(runs × parts × log + matches).
fn union_within(
    runs: &[RangeInclusive<u32>],
    parts: &[&RoaringBitmap],
    disjoint: bool,
) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter(slots_within(runs, parts, disjoint))
        .expect("sorted and deduplicated")
}

/// [`union_within`] as ascending slots.
fn slots_within(
    runs: &[RangeInclusive<u32>],
    parts: &[&RoaringBitmap],
    disjoint: bool,
) -> Vec<u32> {
    let mut v: Vec<u32> = Vec::with_capacity(FEW);
    for p in parts {
        for r in runs {
            values_within(p, r, &mut v);
        }
    }
    if parts.len() > 1 {
        v.sort_unstable();
        if !disjoint {
            v.dedup();
        }
    }
    v
}

/// Appends the values of `b` within `r`, in order.
fn values_within(b: &RoaringBitmap, r: &RangeInclusive<u32>, out: &mut Vec<u32>) {
    // One-ended: `range` would also seek the end from the back.
    let mut it = b.iter();
    it.advance_to(*r.start());
    out.extend(it.take_while(|x| x <= r.end()));
}

/// `acc ∩ (∪ parts)` as `∪ (acc ∩ part)`: the pieces are no bigger than
/// `acc`, where the union itself could be most of the store.
fn intersect_union(acc: &RoaringBitmap, parts: &[&RoaringBitmap]) -> RoaringBitmap {
    let acc = Acc::new(acc);
    parts.iter().map(|&b| acc.and(b)).union()
}

/// When one operand has at most `PROBE_MAX` elements and is `PROBE_RATIO`
/// times smaller, intersections probe the larger one per element instead of
/// merging containers. (Beyond a few hundred elements, building the result
/// one value at a time costs more than word-wise container operations.)
const PROBE_RATIO: u64 = 16;
const PROBE_MAX: u64 = 512;

/// Whether `b`'s containers are mostly arrays (at most 4096 values each
/// on average over the containers its span covers). O(containers).
fn arrays(e: Extent) -> bool {
    e.len <= 4096 * containers(e.min, e.max)
}

/// A set's length and bounds, taken once per query: a bitmap's length is a
/// sum over its containers (and a run container's over its runs: a type's
/// bitmap after a load has thousands, 0.15 µs at 1M records), and the
/// maximum of a bitmap container scans its words back from the end (up to
/// 1,024 of them where the store's last slots end early in it).
#[derive(Clone, Copy)]
struct Extent {
    len: u64,
    min: u32,
    max: u32,
}

impl Extent {
    /// The extent of `b`, whose length is `len`. O(containers) for the bounds' two.
    fn of(b: &RoaringBitmap, len: u64) -> Extent {
        Extent {
            len,
            min: b.min().unwrap_or(0),
            max: b.max().unwrap_or(0),
        }
    }
}

/// How many 65,536-slot containers the span `lo..=hi` touches.
fn containers(lo: u32, hi: u32) -> u64 {
    u64::from((hi >> 16) - (lo >> 16)) + 1
}

/// Whether `b` holds over a quarter of the slots between its first and
/// last (an entity's run, most of the store). O(containers); looking for
/// runs instead would cost a microsecond on a scattered set.
fn dense(e: Extent) -> bool {
    e.len * 4 > u64::from(e.max - e.min) + 1
}

/// Whether trimming a clone of `arrays` to `run` costs less than roaring's
/// merge, which binary-searches the run for each value of the containers
/// the run shares with `arrays`, where the clone copies every container:
/// only when the run covers a good part of the arrays' span. The weights
/// (1.5 ns a merged value; 0.15 ns a copied value and 60 ns a container)
/// are rough estimates, set so that the largest customer ∧ a billing
/// period trims at 1M records (16 containers: measured faster) and merges
/// at 10M (153 containers: measured slower).
fn trim_beats_merge(run: &RangeInclusive<u32>, arrays: &RoaringBitmap) -> bool {
    let (lo, hi) = (arrays.min().unwrap_or(0), arrays.max().unwrap_or(0));
    let all = containers(lo, hi);
    let (a, b) = (*run.start().max(&lo), *run.end().min(&hi));
    if a > b {
        return false; // No shared container: roaring's merge skips them all.
    }
    let shared = containers(a, b).min(all);
    let merge = 15 * arrays.len() * shared / all;
    let clone = 15 * arrays.len() / 10 + 600 * all;
    clone < merge
}

/// What one run's range lookup costs, in probes.
const PROBE_PER_RUN: u64 = 8;

/// Whether `small` values are probed in `large` ones (see [`PROBE_MAX`]).
fn probe(small: u64, large: u64) -> bool {
    small <= PROBE_MAX && small * PROBE_RATIO < large
}

/// A running intersection and what its intersections with other bitmaps
/// need to know about it: its runs, looked up once however many bitmaps it
/// meets (see [`runs_of`]).
struct Acc<'a> {
    set: &'a RoaringBitmap,
    /// `set.len()`, a sum over its containers: counted once, not per
    /// bitmap met (a count over a year met 12 periods, each asking).
    len: u64,
    runs: std::cell::OnceCell<Option<Vec<RangeInclusive<u32>>>>,
    /// `set` without run containers when it has many runs each (see
    /// [`flat`]), made by the first merge that needs it.
    flat: std::cell::OnceCell<Option<RoaringBitmap>>,
}

/// Run containers with at least this many bytes each on average (four a
/// run) are expanded before a merge with another bitmap's arrays:
/// roaring intersects a run container with an array by a binary search
/// of the runs per value. A big offering's records (a fifth of the
/// store, spread over every customer: thousands of runs a container)
/// against a billing period's: 4.2 million instructions a period at 1M
/// records, 450 µs for `offering_uuid=…&billing_period_year=…&billing_period_month=…`.
const RUNS_HEAVY_BYTES: u64 = 256;

/// Below this many values the other operand's arrays are searched in
/// the runs as they are: expanding costs about a container's 8 KiB.
const FLAT_MIN: u64 = 4096;

/// `b` with its run containers expanded to arrays or bitmaps, when they
/// hold many runs each ([`RUNS_HEAVY_BYTES`]). O(containers), and
/// O(values) to expand.
pub(super) fn flat(b: &RoaringBitmap) -> Option<RoaringBitmap> {
    let s = b.statistics();
    (s.n_run_containers > 0
        && s.n_bytes_run_containers >= RUNS_HEAVY_BYTES * u64::from(s.n_run_containers))
    .then(|| {
        let mut f = b.clone();
        f.remove_run_compression();
        f
    })
}

/// How an intersection is computed.
enum How<'a> {
    /// Each value of `small` looked up in `large`.
    Probe {
        small: &'a RoaringBitmap,
        large: &'a RoaringBitmap,
    },
    /// `other`'s values within a few runs of the other operand.
    Runs {
        runs: Cow<'a, [RangeInclusive<u32>]>,
        other: &'a RoaringBitmap,
    },
    /// Roaring's container by container operation.
    Merge,
}

impl<'a> Acc<'a> {
    fn new(set: &'a RoaringBitmap) -> Acc<'a> {
        Acc {
            set,
            len: set.len(),
            runs: std::cell::OnceCell::new(),
            flat: std::cell::OnceCell::new(),
        }
    }

    /// `set ∩ b` or its size by roaring's merge, either side's many-run
    /// containers expanded first when the other is big enough to pay
    /// for it ([`flat`]): the accumulator's once, `b`'s (not a union's
    /// part: periods, days and names are never many runs) each time.
    fn merge<T>(
        &self,
        b: &RoaringBitmap,
        blen: u64,
        part: bool,
        op: impl Fn(&RoaringBitmap, &RoaringBitmap) -> T,
    ) -> T {
        let a = match blen >= FLAT_MIN {
            true => self
                .flat
                .get_or_init(|| flat(self.set))
                .as_ref()
                .unwrap_or(self.set),
            false => self.set,
        };
        match (!part && self.len >= FLAT_MIN).then(|| flat(b)).flatten() {
            Some(fb) => op(a, &fb),
            None => op(a, b),
        }
    }

    /// A few elements against a big bitmap are probed one by one
    /// (roaring's merge would copy the big side's array to keep a handful
    /// of values); an operand of a few runs (the accumulator's are looked
    /// for first: it is often an entity's bitmap) goes run by run. `b`'s
    /// runs are not looked for when it is a union's part (`part`): a
    /// billing period's, a day's or a name's records are spread over every
    /// entity's run, and listing a period's first runs only to find more
    /// was a seventh of the largest customer ∧ type ∧ year's count.
    fn how<'b>(&'b self, b: &'b RoaringBitmap, blen: u64, part: bool) -> How<'b> {
        let a = self.set;
        let alen = self.len;
        let ((small, slen), (large, llen)) = if alen <= blen {
            ((a, alen), (b, blen))
        } else {
            ((b, blen), (a, alen))
        };
        // A handful of values is probed, unless the accumulator is so few
        // runs that range lookups cost less (a username's 60 records
        // against a customer's one run: one lookup instead of 60).
        if probe(slen, llen)
            && !(alen > blen
                && self
                    .runs()
                    .is_some_and(|r| (r.len() as u64) * PROBE_PER_RUN < slen))
        {
            return How::Probe { small, large };
        }
        if let Some(runs) = self.runs() {
            return How::Runs {
                runs: Cow::Borrowed(runs),
                other: b,
            };
        }
        match (!part).then(|| runs_of(b, blen)).flatten() {
            Some(runs) => How::Runs {
                runs: Cow::Owned(runs),
                other: a,
            },
            None => How::Merge,
        }
    }

    /// Whether the accumulator is a few runs, so few that looking up each
    /// of `parts` bitmaps within each run ([`slots_within`], about
    /// [`RUN_LOOKUP_COST`] record tests each) costs less than testing each
    /// of its records.
    ///
    /// This is what answers a project or resource ∧ a date range or a year:
    /// the days' or periods' values within the entity's run of slots, found
    /// by binary searches, where a test per record reads every record's row
    /// and component usage (and at 10× the data, reads ten times as many).
    ///
    /// Only for a small expected result (`parts_len` of `total` records
    /// spread evenly): the values are read out one at a time.
    fn few_runs(&self, parts: usize, parts_len: u64, total: u64) -> bool {
        let expected = u128::from(self.len) * u128::from(parts_len) / u128::from(total.max(1));
        expected <= u128::from(RANGE_VALUES_MAX)
            && self
                .runs()
                .is_some_and(|runs| (runs.len() * parts) as u64 * RUN_LOOKUP_COST <= self.len)
    }

    fn runs(&self) -> Option<&[RangeInclusive<u32>]> {
        self.runs
            .get_or_init(|| runs_of(self.set, self.len))
            .as_deref()
    }

    /// `|acc ∩ (∪ parts)|` for disjoint parts and an accumulator of few
    /// runs: range cardinalities. O(runs × parts × log).
    fn and_len_union(&self, parts: &[&RoaringBitmap]) -> u64 {
        let runs = self.runs().expect("few_runs checked first");
        parts
            .iter()
            .flat_map(|p| runs.iter().map(|r| p.range_cardinality(r.clone())))
            .sum()
    }

    /// `acc ∩ b`.
    fn and(&self, b: &RoaringBitmap) -> RoaringBitmap {
        match self.how(b, b.len(), false) {
            How::Probe { small, large } => RoaringBitmap::from_sorted_iter(
                values(small).into_iter().filter(|&x| large.contains(x)),
            )
            .expect("bitmap iteration is sorted"),
            How::Runs { runs, other }
                if runs
                    .iter()
                    .map(|r| u64::from(r.end() - r.start()) + 1)
                    .sum::<u64>()
                    <= RUN_SPAN_MAX =>
            {
                // Short runs become plain arrays (a run container against a
                // bitmap container would be expanded to 8 KiB), which
                // roaring intersects by testing each value's bit; long runs
                // are left to roaring.
                let mut tmp = RoaringBitmap::new();
                for r in runs.iter() {
                    tmp.insert_range(r.clone());
                }
                tmp.remove_run_compression();
                tmp &= other;
                tmp
            }
            How::Runs { runs, other }
                if runs.len() == 1
                    && arrays(Extent::of(other, other.len()))
                    && trim_beats_merge(&runs[0], other) =>
            {
                // One long run (a big customer) against arrays (a billing
                // period): `other`'s containers outside the run are dropped
                // whole and the two at its ends trimmed, where roaring would
                // binary-search the run for each of `other`'s values.
                // (Bitmap containers meet a run word by word: left to roaring.)
                let r = &runs[0];
                let mut out = other.clone();
                out.remove_range(..*r.start());
                if *r.end() < u32::MAX {
                    out.remove_range(r.end() + 1..);
                }
                out
            }
            How::Runs { .. } | How::Merge => self.merge(b, b.len(), false, |x, y| x & y),
        }
    }

    /// `|acc ∩ b|`: runs count by range cardinality, whatever their span.
    fn and_len(&self, b: &RoaringBitmap) -> u64 {
        self.and_len_n(b, b.len(), false)
    }

    /// `Σ |acc ∩ part|`, the parts' sizes known.
    fn and_len_parts(&self, parts: &[&RoaringBitmap], lens: &[u64]) -> u64 {
        parts
            .iter()
            .zip(lens)
            .map(|(b, &n)| self.and_len_n(b, n, true))
            .sum()
    }

    /// `|acc ∩ b|`, `b.len()` known to be `blen`, `b` a union's part or not
    /// (see [`Acc::how`]).
    fn and_len_n(&self, b: &RoaringBitmap, blen: u64, part: bool) -> u64 {
        match self.how(b, blen, part) {
            // Counted as read: listing the values first (see `values`) was
            // an allocation per part, 500 of them for a customer's
            // usernames matching `ann` at 300k records.
            How::Probe { small, large } => {
                small.iter().filter(|&x| large.contains(x)).count() as u64
            }
            How::Runs { runs, other } => runs
                .iter()
                .map(|r| other.range_cardinality(r.clone()))
                .sum(),
            How::Merge => self.merge(b, blen, part, |x, y| x.intersection_len(y)),
        }
    }
}

/// `a ∩ b` (see [`Acc::and`]).
#[cfg(test)]
fn and(a: &RoaringBitmap, b: &RoaringBitmap) -> RoaringBitmap {
    Acc::new(a).and(b)
}

/// `|a ∩ b|` (see [`Acc::and_len`]).
#[cfg(test)]
fn and_len(a: &RoaringBitmap, b: &RoaringBitmap) -> u64 {
    Acc::new(a).and_len(b)
}

/// What looking a bitmap up within one run costs, in per-record tests
/// (two binary searches against one random read of a row and its
/// component usage).
const RUN_LOOKUP_COST: u64 = 6;

/// Up to this many values expected, an intersection within runs reads
/// them out one by one (about 10 ns each; beyond, word-wise operations win).
const RANGE_VALUES_MAX: u64 = 2048;

/// Up to this many runs, intersections go run by run.
const RUNS_MAX: usize = 32;
/// Up to this many values covered by the runs, they are intersected as a
/// plain array.
const RUN_SPAN_MAX: u64 = 8192;

/// The runs of consecutive values of `b`, when it has at most [`RUNS_MAX`].
///
/// Entity bitmaps loaded in bulk are a few runs (slots are numbered entity
/// by entity, and run-compressed after the load). Against a bitmap
/// container roaring expands each run container into an 8 KiB bitmap; short
/// runs are cheaper as an array, and counts as range cardinalities.
/// Whether `b` is at most `max` runs of consecutive values. O(max).
fn at_most_runs(b: &RoaringBitmap, max: u64) -> bool {
    let mut it = b.iter();
    (0..=max).any(|_| it.next_range().is_none())
}

/// The runs of consecutive values of `b` (`len` values), ascending; `None`
/// beyond [`RUNS_MAX`]. O(runs), O(1) for one run.
fn runs_of(b: &RoaringBitmap, len: u64) -> Option<Vec<RangeInclusive<u32>>> {
    // One run (an entity's after a load) is known from its bounds, where
    // roaring's range iterator walks each of its containers.
    if let (Some(lo), Some(hi)) = (b.min(), b.max())
        && u64::from(hi - lo) + 1 == len
    {
        return Some(vec![lo..=hi]);
    }
    let mut it = b.iter();
    let mut runs = Vec::new();
    while let Some(r) = it.next_range() {
        if runs.len() == RUNS_MAX {
            return None;
        }
        runs.push(r);
    }
    Some(runs)
}

/// The expected cost in nanoseconds of a walk to a default-order page
/// over a set (its steps times [`Member::step_ns`]) from which
/// [`Core::skip_days`] skips whole report days by their counts: at 1M
/// records a day holds about 900 records, whose count is a range
/// cardinality, a container-wise intersection or the day's length, where
/// the walk tests each (16,384 steps of a run's test; 1,100 of a sparse
/// set's lookups, which made a period's page 1,000 take 450 µs).
const DAY_SKIP_WALK_NS: usize = 32_768;

/// A username union's estimated cost for [`Core::skip_days`], in
/// nanoseconds per value and per name's bitmap. Measured at 1M with the
/// union taken on every deep page (union, day counts and the walk within
/// a day together): `ann` (1,365 names, 82,215 records) 360 µs at page
/// 100, `an` (4,424 names, 256,123 records) 1.15 ms, `a` (13,630 names,
/// 777,801 records) 4.6 ms: 4.4 to 6 ns a record, names and records in
/// about the same proportion. It is built when the walk's estimate is at
/// least that (walks of 100,000 steps measured 15 to 18 ns a step, a
/// little over [`Member::step_ns`]'s 12).
const UNION_VALUE_NS: usize = 5;
/// See [`UNION_VALUE_NS`].
const UNION_PART_NS: usize = 50;

/// A default-order page near the span's start is first walked for this
/// many times the steps an even spread of its matches would take, plus
/// [`PROBE_MIN`], before its crowded days are read as sets
/// ([`Core::crowded_head`]).
const PROBE_FACTOR: usize = 2;
/// See [`PROBE_FACTOR`].
const PROBE_MIN: usize = 64;
/// Values of a crowded day and of a set that [`Core::crowded_head`]
/// intersects a nanosecond (their containers merged, vectorised: a day
/// of 11,608 records and an offering's records of a type, 44,755, took
/// about 15 µs at 1M records, 39 % of a 37.8 µs page in a profile).
const DAY_READ_VALUES_PER_NS: usize = 4;
/// A report day is crowded ([`Core::crowded_first`]) with more records
/// than this, and than [`DAY_CROWDED_FACTOR`] times an even spread.
const DAY_CROWDED_MIN: u64 = 1024;
/// See [`DAY_CROWDED_MIN`]. (At 1M records the demo's days hold about 900
/// records, and a day of site agents' reports written one a second about
/// 2,000; a re-report of a billing period, 11,608.)
const DAY_CROWDED_FACTOR: u64 = 4;

/// Days [`Core::skip_days`] may read beyond four times an even spread's.
const DAY_SKIP_SLACK: usize = 16;

/// Up to this many slots, [`Core::sort_default`] keys them on the stack.
const SORT_STACK: usize = 16;

/// Up to this many matches, a page is sorted without looking for a shorter
/// run of the default view to walk.
const SMALL: usize = 128;

/// The `o` keys with repeated columns dropped (a repeat can never decide an order).
fn effective_keys(order: &[OrderKey]) -> SmallVec<[OrderKey; 4]> {
    // Inline: an ordered page's one key was an allocation.
    let mut keys: SmallVec<[OrderKey; 4]> = SmallVec::new();
    for k in order {
        if !keys.iter().any(|e| e.field == k.field) {
            keys.push(*k);
        }
    }
    keys
}

fn view_of(field: SortField) -> ViewKind {
    match field {
        SortField::BillingPeriod => ViewKind::Period,
        SortField::Usage => ViewKind::Usage,
        SortField::Username => ViewKind::Username,
    }
}

/// The full order of a query: the `o` keys, then `-date`, `component_type`, `uuid`.
pub(super) fn cmp_keys(keys: &[OrderKey], a: &SortKey<'_>, b: &SortKey<'_>) -> Ordering {
    for k in keys {
        let o = match k.field {
            SortField::BillingPeriod => a.period.cmp(&b.period),
            SortField::Usage => a.usage.cmp(&b.usage),
            SortField::Username => a.username.cmp(b.username),
        };
        let o = if k.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.tail().cmp(&b.tail())
}

/// Primary key equality classes of a view (for walking groups).
pub(super) fn same_primary(kind: ViewKind, a: &SortKey<'_>, b: &SortKey<'_>) -> Ordering {
    match kind {
        ViewKind::Default => Ordering::Equal,
        ViewKind::Usage => a.usage.cmp(&b.usage),
        ViewKind::Username => a.username.cmp(b.username),
        ViewKind::Period => a.period.cmp(&b.period),
    }
}

/// The order of a view's primary key as the view holds it: the usage
/// view is kept per component type (in name order), so its order is the
/// type's name, then the usage. Monotone over the whole view, where
/// [`same_primary`] is only within one type's part of the usage view.
pub(super) fn in_view(kind: ViewKind, a: &SortKey<'_>, b: &SortKey<'_>) -> Ordering {
    match kind {
        ViewKind::Usage => (a.ctype, a.usage).cmp(&(b.ctype, b.usage)),
        _ => same_primary(kind, a, b),
    }
}

/// Membership in the matches, as a walk tests it.
enum Member<'a> {
    All,
    Set(&'a RoaringBitmap),
    /// Every record of the walked span: the plan's count equals the span's
    /// length, and every match lies in the span (the span is built so).
    Span,
    /// A set that is one run of slots (a customer's or project's after a
    /// load): two compares, where a bitmap lookup binary-searches its
    /// containers and then the run container's runs.
    Run(RangeInclusive<u32>),
    Check(&'a Tables, &'a Check),
    Filtered(&'a RoaringBitmap, &'a Tables, &'a Check),
    /// [`Member::Filtered`] whose base is one run.
    RunFiltered(RangeInclusive<u32>, &'a Tables, &'a Check),
}

/// Rough costs at 1M records, in nanoseconds, that choose between walking
/// a view and sorting the matches: sorting reads each match's row,
/// component usage and kind ([`sort_ns`], plus `SORT_BASE_NS` once); a walk
/// step tests one record ([`Member::step_ns`]).
const SORT_BASE_NS: usize = 8192;
/// Testing one record of a set against a report-date range (its row's
/// component usage's date read) and keeping it in the matches' bitmap:
/// perf put about 246 µs of a 281 µs page on those for an offering's
/// 16,847 records at 1M records.
const FILTER_TEST_NS: usize = 15;
/// Sorting matches that share cache lines (an entity's run of slots, or
/// most of the slots).
const SORT_DENSE_NS: usize = 16;
/// Sorting matches spread thinly over the arena: a cache miss or two each.
const SORT_SCATTERED_NS: usize = 64;
/// Selecting a page near the front of a usage order from the matches:
/// their rows' usages read in slot order into a heap of the page's.
const USAGE_TOP_NS: usize = 8;
/// Selecting a page near the front of any order over a project's sorted
/// prefix, whose ties go by slot ([`Core::ties_by_slot`]): each match's
/// first key and slot read into a heap of the page's, in reverse slot
/// order (a project's 1,291 records at 1M records, 11,334 at 10M: 2.7
/// and 3.1 ns a match).
const SLOT_TOP_NS: usize = 3;
/// What a step of a walk of the usage view's merged parts costs at least:
/// each part's iterator and the membership test are called through
/// pointers, and the heads compared (a project's page 1 by usage at 1M
/// records: 2,056 and 4,691 steps, about 7 ns each with a test of two
/// comparisons, where [`Member::step_ns`] has 2). A test's own cost
/// beyond this hides the rest (a billing period's page 1: 1,591 steps
/// of array lookups, about 23 ns each, where `step_ns` has 30).
const MERGE_STEP_NS: usize = 7;
/// The slots of `set` whose key is at most the `end`-th smallest, in
/// slot order: the cut kept in a heap of the `end` smallest keys while
/// they are read (`top`: a page near the front), else selected among
/// them all.
#[inline]
fn within_cut<K: Ord + Copy>(
    set: &[u32],
    end: usize,
    top: bool,
    key: impl Fn(u32) -> K,
) -> Vec<u32> {
    let mut heap: Option<std::collections::BinaryHeap<K>> =
        top.then(|| std::collections::BinaryHeap::with_capacity(end + 1));
    let mut keyed: Vec<(K, u32)> = set
        .iter()
        .map(|&s| {
            let k = key(s);
            if let Some(h) = &mut heap {
                if h.len() < end {
                    h.push(k);
                } else if let Some(mut max) = h.peek_mut()
                    && k < *max
                {
                    *max = k;
                }
            }
            (k, s)
        })
        .collect();
    let cut = match &heap {
        Some(h) => *h.peek().expect("end is at least 1"),
        None => keyed.select_nth_unstable_by_key(end - 1, |e| e.0).1.0,
    };
    keyed
        .into_iter()
        .filter_map(|(k, s)| (k <= cut).then_some(s))
        .collect()
}

/// A page whose end is at most this fraction of the matches is selected
/// with a heap ([`Core::sort_slots`]).
const TOP_HEAP_RATIO: usize = 8;
/// Reading one report day's values within one run of slots: a range
/// lookup in the day's bitmap (a binary search of its containers and one
/// within a container). An estimate, in the same units as the sort's.
const DAY_RUN_NS: usize = 60;

/// The slots of a set of extent `e` as one range, when they are one run. O(1).
fn one_run(e: Extent) -> Option<RangeInclusive<u32>> {
    (e.len > 0 && e.len == u64::from(e.max - e.min) + 1).then_some(e.min..=e.max)
}

/// What sorting costs per element of `b` (or of a subset of it).
fn sort_ns(e: Extent) -> usize {
    if dense(e) {
        SORT_DENSE_NS
    } else {
        SORT_SCATTERED_NS
    }
}

impl Member<'_> {
    /// What one walk step's membership test costs: a bitmap lookup, or
    /// reads of the record's row (and component usage) in view order,
    /// which is random slot order.
    /// `set`: the extent of the set of [`Member::Set`] or the base of
    /// [`Member::Filtered`].
    fn step_ns(&self, set: Extent) -> usize {
        let set_ns = if arrays(set) { 30 } else { 6 };
        match self {
            Member::All => 1,
            // Bitmap containers (over 4096 values in 65,536 slots) test a
            // bit; sparser ones binary-search an array, with unpredictable
            // branches.
            Member::Set(_) => set_ns,
            Member::Span => 1,
            Member::Run(_) => 2,
            Member::Check(_, Check::Usernames(_)) => 12,
            Member::Check(..) => 25,
            Member::Filtered(..) => set_ns + 10,
            Member::RunFiltered(..) => 2 + 10,
        }
    }

    fn contains(&self, s: u32) -> bool {
        match self {
            Member::All => true,
            Member::Set(b) => b.contains(s),
            Member::Span => true,
            Member::Run(r) => r.contains(&s),
            Member::Check(t, c) => c.test(t, s),
            Member::Filtered(b, t, c) => b.contains(s) && c.test(t, s),
            Member::RunFiltered(r, t, c) => r.contains(&s) && c.test(t, s),
        }
    }
}

/// The members of the usage view's parts in the order of one usage view
/// over all types (usage, `-date`, type rank, uuid), or its reverse: a
/// merge of the parts, each walked to its next member (a non-member's row
/// is never read, as in the plain walks).
struct Merged<'a> {
    t: &'a Tables,
    member: &'a dyn Fn(u32) -> bool,
    rev: bool,
    /// Per part, its remaining slots and its head (see [`Head`]).
    heads: Vec<Head<'a>>,
    started: bool,
    steps: usize,
    budget: usize,
}

/// The usage view's order over all types: usage, `-date`, type rank, uuid.
type MergeKey = (i64, (std::cmp::Reverse<Micros>, u32, u128));

/// A part's remaining slots, and its head with its usage: its next member
/// (`true`), or at the start its first slot, not yet tested (`false`),
/// whose key bounds every member after it. Heads compare by usage, and
/// by the whole key only on a tie (one row read instead of three).
type Head<'a> = (Box<dyn Iterator<Item = u32> + 'a>, Option<(i64, u32, bool)>);

impl<'a> Merged<'a> {
    fn new(
        t: &'a Tables,
        view: &'a crate::index::view::View,
        parts: &[(u32, std::ops::Range<usize>)],
        rev: bool,
        member: &'a dyn Fn(u32) -> bool,
        budget: usize,
    ) -> Merged<'a> {
        let heads = parts
            .iter()
            .map(|(_, p)| {
                let it: Box<dyn Iterator<Item = u32> + 'a> = if rev {
                    Box::new(view.iter_rev_before(p.end).take(p.len()))
                } else {
                    Box::new(view.iter_from(p.start).take(p.len()))
                };
                (it, None)
            })
            .collect();
        Merged {
            t,
            member,
            rev,
            heads,
            started: false,
            steps: 0,
            budget,
        }
    }

    fn key(&self, s: u32) -> MergeKey {
        (self.t.row(s).usage(), self.t.tail_key(s))
    }

    /// Moves part `i` to its next member; `None` once over budget.
    fn advance(&mut self, i: usize) -> Option<()> {
        self.heads[i].1 = None;
        while let Some(s) = self.heads[i].0.next() {
            self.steps += 1;
            if self.steps > self.budget {
                return None;
            }
            if (self.member)(s) {
                self.heads[i].1 = Some((self.t.row(s).usage(), s, true));
                break;
            }
        }
        Some(())
    }

    /// The next member: `Some(None)` at the end, `None` once over budget.
    fn next(&mut self) -> Option<Option<u32>> {
        if !self.started {
            // Each part starts at its first slot, untested: a part whose
            // best possible record never competes for the page (a type of
            // small usages under `o=-usage`) is never walked.
            self.started = true;
            for i in 0..self.heads.len() {
                if let Some(s) = self.heads[i].0.next() {
                    self.steps += 1;
                    self.heads[i].1 = Some((self.t.row(s).usage(), s, false));
                }
            }
        }
        let rev = self.rev;
        loop {
            let before = |a: &(i64, u32, bool, usize), b: &(i64, u32, bool, usize)| {
                a.0.cmp(&b.0)
                    .then_with(|| self.key(a.1).cmp(&self.key(b.1)))
                    .is_lt()
            };
            let best = self
                .heads
                .iter()
                .enumerate()
                .filter_map(|(i, (_, h))| h.map(|(u, s, known)| (u, s, known, i)))
                .reduce(|a, b| if before(&b, &a) != rev { b } else { a });
            let Some((_, s, known, i)) = best else {
                return Some(None);
            };
            if known || (self.member)(s) {
                self.advance(i)?;
                return Some(Some(s));
            }
            // The bound was not a member: find the part's first member.
            self.advance(i)?;
        }
    }
}

/// Collects `limit` items after skipping `offset`, from groups emitted in order.
struct Sink {
    skip: usize,
    limit: usize,
    out: Vec<u32>,
}

impl Sink {
    fn full(&self) -> bool {
        self.out.len() >= self.limit
    }

    fn push(&mut self, s: u32) {
        if self.skip > 0 {
            self.skip -= 1;
        } else if self.out.len() < self.limit {
            self.out.push(s);
        }
    }
}

/// A descending walk over a span that every record matches
/// ([`Member::Span`]: one type's part of the usage view, or a whole view)
/// starts at the page's group, found by binary searches, from this offset
/// on: about the searches' cost in walk steps. (Over the whole view with
/// no filter, [`Member::All`], the walk always starts there.)
const JUMP_MIN: usize = 128;

/// A page of the usage view's merged parts over every record at least
/// this far from both ends is found by selection
/// ([`Core::usage_group_at`]), where the merge from the nearer end read
/// every record up to it: about the selection's cost in merge steps. At
/// 1M records a merge step took 48 ns by `-usage` and 65 by `usage`
/// (pages 2 to 100 of `o=-usage` and `o=usage` merged), a selection 9
/// and 19.5 µs (the ascending one lands in the zeros' group, whose
/// record at a rank is a selection of its own): even at 190 and 300
/// steps. (1,024 before the selection searched the view by its blocks'
/// fences, when it took 45 µs.)
const SELECT_MIN: usize = 256;

/// Whether a page of the usage view's merged parts (every record
/// matching) is found by selection ([`SELECT_MIN`]).
fn selects(offset: usize, limit: usize, count: usize) -> bool {
    offset >= SELECT_MIN && count.saturating_sub(offset + limit) >= SELECT_MIN
}

/// Per part of the usage view, a range of positions `(first, end)`: a
/// group of one usage ([`Core::usage_group_at`]).
type Cuts = SmallVec<[(usize, usize); 8]>;

/// Each run's first position of the records from the `r`-th (from 0) on
/// of the merge of `runs` (positions `a..b`, each run ascending by `key`,
/// a total order), or `None` if they hold at most `r` records.
///
/// A selection like [`Core::usage_group_at`]'s: the sought key is kept
/// between two keys, exclusive, each run's window holding its positions
/// of keys between them; a round takes the key in the middle of the
/// longest window, counts the records below it by a binary search per
/// window, and every window drops the keys on the wrong side.
/// O(runs² · log² n) keys read at worst. `below(w, k)` is the first
/// position of window `w` whose key is not below `k`: a binary search of
/// `key`, or a view's own ([`View::partition_in`](crate::index::view::View::partition_in)),
/// which finds its blocks without locating each position.
fn split_at_rank<K: Ord>(
    runs: &[(usize, usize)],
    r: usize,
    key: impl Fn(usize) -> K,
    below: impl Fn(std::ops::Range<usize>, &K) -> usize,
) -> Option<SmallVec<[usize; 8]>> {
    if r == 0 && runs.iter().any(|&(a, b)| a < b) {
        return Some(runs.iter().map(|&(a, _)| a).collect());
    }
    let mut win: SmallVec<[std::ops::Range<usize>; 8]> = runs.iter().map(|&(a, b)| a..b).collect();
    loop {
        let (i, w) = win.iter().enumerate().max_by_key(|(_, w)| w.len())?;
        if w.is_empty() {
            return None;
        }
        let mid = w.start + w.len() / 2;
        let k = key(mid);
        let cuts: SmallVec<[usize; 8]> = win
            .iter()
            .enumerate()
            .map(|(j, w)| if j == i { mid } else { below(w.clone(), &k) })
            .collect();
        let below: usize = runs.iter().zip(&cuts).map(|(&(a, _), &c)| c - a).sum();
        if below == r {
            return Some(cuts);
        }
        // The sought record is after `k` (and `k` is not it) or before it.
        for (j, (w, &c)) in win.iter_mut().zip(&cuts).enumerate() {
            if below < r {
                w.start = if j == i { c + 1 } else { c };
            } else {
                w.end = c;
            }
        }
    }
}

/// A group of one first sort key at least this big, which a page sorts
/// by the later keys, is sorted whole once and kept
/// ([`Core::sorted_group`]): each page sorted it again. Smaller groups
/// are sorted per page, the page's part selected first: a few hundred
/// records sort in microseconds.
const GROUP_KEEP_MIN: usize = 2048;

/// A query in an order led by its usage or username with at least this
/// many matches keeps them sorted once paged deep
/// ([`Core::kept_order_page`]): fewer sort in a millisecond.
const ORDER_KEEP_MIN: u64 = 8192;

/// A query ordered by billing period first with at least this many
/// matches is paged a period at a time ([`Core::period_split_page`]):
/// fewer are sorted at once in microseconds.
const PERIOD_SPLIT_MIN: u64 = 4096;

/// Records the walk of the period view would read before a page, were the
/// matches spread evenly, below which an unmade union (a username
/// search's) is walked, not split by periods: chosen, not measured, to
/// keep `username=ann`'s first pages (3,648 steps for the first page of
/// 300 at 1M records) walked and its deep pages split.
const PERIOD_SPLIT_WALK: u64 = 16_384;

/// Records a page of one billing period, ordered by the period alone,
/// may read from the period's run of the period view
/// ([`Core::period_view_page`]) were its matches spread evenly; it gives
/// up at twice as many, and the period is paged by its own plan. Chosen,
/// not measured against that plan: a step tests a bitmap, at worst about
/// 30 ns at 1M records (derived: 31,762 steps through a month's records
/// to its late reports took 1.0 ms, before a date range narrowed the
/// run).
const PERIOD_WALK_MAX: usize = 32_768;

/// [`PERIOD_WALK_MAX`] for a component type's records of a period, whose
/// own plan reads kept counts by day and type: `type=cpu` by period in
/// pages of 300 at 1M records, page 100, took 120 µs walked (some
/// 12,000 steps, estimated from the counts) and 55 µs by the period's
/// plan.
const PERIOD_WALK_KEPT: usize = 8192;

/// The part of a page that one billing period holds, for a query ordered
/// by the period first: the period, its records, how many of them match,
/// and how many of those the page passes, then takes.
struct PeriodPart<'a> {
    period: i32,
    records: &'a RoaringBitmap,
    matches: u64,
    skip: usize,
    take: usize,
}

/// Pushes a group's records, sorted in the query's order, to `sink`; in
/// reverse for a late page read from the other end. O(the records
/// pushed).
fn push_sorted(sorted: &[u32], reverse: bool, sink: &mut Sink) {
    let n = sorted.len();
    let from = sink.skip.min(n);
    sink.skip -= from;
    let take = (sink.limit - sink.out.len().min(sink.limit)).min(n - from);
    if reverse {
        sink.out
            .extend(sorted[n - from - take..n - from].iter().rev());
    } else {
        sink.out.extend_from_slice(&sorted[from..from + take]);
    }
}

/// A group of equal usage at least this long in some part is skipped or
/// read from its end by binary searches ([`Core::peel_low_groups`]):
/// about what eight binary searches of the view cost in walk steps.
const PEEL_MIN: usize = 256;

/// Values a walk step reads at once: a block's test against a run of
/// slots is one comparison per value without branches (vectorised), and
/// only its members are tested further.
const LANES: usize = 16;
// (A block's members are bits of a `u32`, taken four lanes at a time.)
const _: () = assert!(LANES < 32 && LANES.is_multiple_of(4));

/// A bit per value of `blk` (at most [`LANES`] of them) that lies in
/// `run`, or per value of it without a run. O(`blk`).
#[inline]
fn members(blk: &[u32], run: Option<&RangeInclusive<u32>>) -> u32 {
    let Some(run) = run else {
        return (1u32 << blk.len()) - 1;
    };
    let (lo, width) = (*run.start(), run.end() - run.start());
    match <&[u32; LANES]>::try_from(blk) {
        Ok(blk) => block_members(blk, lo, width),
        Err(_) => blk.iter().enumerate().fold(0, |m, (j, &s)| {
            m | u32::from(s.wrapping_sub(lo) <= width) << j
        }),
    }
}

/// [`members`] of a whole block: `s - lo <= width` (unsigned) in four
/// lanes at a time, as signed comparisons of values offset by 2³¹ (SSE2
/// compares signed only), each group's bits taken by one move of the
/// lanes' sign bits. The portable loop left a quarter of the lanes
/// scalar and packed every bit by shifts: 60 instructions a block
/// against 30. (`wide` wraps the SIMD instructions safely.)
#[inline]
fn block_members(blk: &[u32; LANES], lo: u32, width: u32) -> u32 {
    use wide::i32x4;
    let bias = i32x4::splat(i32::MIN);
    let lo = i32x4::splat(lo as i32);
    let width = i32x4::splat(width as i32) ^ bias;
    let mut m = 0u32;
    for (k, c) in blk.chunks_exact(4).enumerate() {
        let v = i32x4::new([c[0] as i32, c[1] as i32, c[2] as i32, c[3] as i32]);
        // The lanes outside the run, whose offset exceeds the width.
        let out = ((v - lo) ^ bias).simd_gt(width);
        m |= (!out.to_bitmask() & 0xF) << (4 * k);
    }
    m
}

/// Hands `blocks` to `take` in order while `budget` (values) lasts:
/// `Some(true)` once `take` says the page is full, `None` once the budget
/// is spent. O(the blocks read).
#[inline]
fn feed<'v>(
    blocks: impl Iterator<Item = &'v [u32]>,
    budget: &mut usize,
    take: &mut impl FnMut(&[u32]) -> bool,
) -> Option<bool> {
    for blk in blocks {
        *budget = budget.checked_sub(blk.len())?;
        if take(blk) {
            return Some(true);
        }
    }
    Some(false)
}

/// A page of the records of `view`'s `span` that lie in `run` (when
/// given) and pass `test`, in view order, `count` of them in all: walked
/// from the start, or back from the end for a late page. `None` once
/// more than `budget` records would be read. `met` counts the matches
/// met (skipped or taken); a forward walk with `jump` tries one after a
/// stretch without any. O(the records walked).
#[allow(clippy::too_many_arguments)] // one caller, which passes its plan's parts
fn scan(
    view: &View,
    span: std::ops::Range<usize>,
    count: usize,
    offset: usize,
    limit: usize,
    budget: usize,
    run: Option<&RangeInclusive<u32>>,
    jump: Option<&Jump<'_>>,
    met: &std::cell::Cell<usize>,
    test: impl Fn(u32) -> bool,
) -> Option<Vec<u32>> {
    let (start, stop) = (span.start, span.end);
    // A late page: walked back from the end, skipping the later matches.
    let rev = offset + limit > count - offset;
    let mut skip = if rev { count - offset - limit } else { offset };
    let mut out = Vec::with_capacity(limit);
    // Takes a block's matches in walk order; `true` once the page is full.
    let mut take = |blk: &[u32]| {
        let mut m = members(blk, run);
        while m != 0 {
            let j = if rev {
                31 - m.leading_zeros()
            } else {
                m.trailing_zeros()
            };
            m ^= 1 << j;
            let s = blk[j as usize];
            if test(s) {
                met.set(met.get() + 1);
                if skip > 0 {
                    skip -= 1;
                } else {
                    out.push(s);
                    if out.len() == limit {
                        return true;
                    }
                }
            }
        }
        false
    };
    // The view is read a block's slice at a time, and each slice
    // [`LANES`] values at a time (`feed`); `left` bounds the walk to the
    // span, `budget` to its cost.
    let (mut left, mut budget) = (stop - start, budget);
    if rev {
        for chunk in view.chunks_rev_before(stop) {
            let chunk = &chunk[chunk.len().saturating_sub(left)..];
            left -= chunk.len();
            if feed(chunk.rchunks(LANES), &mut budget, &mut take)? || left == 0 {
                break;
            }
        }
        out.reverse();
    } else if let Some(jump) = jump {
        // As below, with the position kept: after `every` records without
        // a match, the walk may jump (see [`Jump`]).
        let (mut pos, mut every, mut quiet, mut seen) = (start, JUMP_AFTER, 0, 0);
        'walk: while pos < stop {
            for chunk in view.chunks_from(pos) {
                let chunk = &chunk[..chunk.len().min(stop - pos)];
                for blk in chunk.chunks(LANES) {
                    budget = budget.checked_sub(blk.len())?;
                    pos += blk.len();
                    if take(blk) {
                        break 'walk;
                    }
                    quiet = if met.get() == seen {
                        quiet + blk.len()
                    } else {
                        0
                    };
                    seen = met.get();
                    if quiet >= every {
                        quiet = 0;
                        match jump.past(blk[blk.len() - 1], pos, stop) {
                            Some(to) => {
                                pos = to;
                                every = JUMP_AFTER;
                                continue 'walk;
                            }
                            // (A jump that finds nothing to pass is tried
                            // ever less often: its cost stays a fraction
                            // of the walk's.)
                            None => every = every.saturating_mul(2),
                        }
                    }
                }
                if pos >= stop {
                    break 'walk;
                }
            }
            break;
        }
    } else {
        for chunk in view.chunks_from(start) {
            let chunk = &chunk[..chunk.len().min(left)];
            left -= chunk.len();
            if feed(chunk.chunks(LANES), &mut budget, &mut take)? || left == 0 {
                break;
            }
        }
    }
    Some(out)
}

/// The page's part in a span's crowded first days, made by
/// [`Core::crowded_head`].
struct CrowdedHead {
    /// The page's records found there, in order.
    page: Vec<u32>,
    /// The matches still to skip after them.
    skip: usize,
    /// The positions of the view they span (whole days).
    passed: usize,
    /// The matches among them.
    met: usize,
}

/// Records a walk of a crowded day's part of the default view
/// ([`Core::days_page`]) may read beyond half the runs' records of the
/// day before the day is intersected instead.
const DAY_WALK_MIN: usize = 64;

/// Records a forward walk of the default view reads without a match
/// before it tries a [`Jump`].
const JUMP_AFTER: usize = 64;

/// A forward walk of the default view for matches that all have one
/// component type, of rank `rank` in name order: the view orders the
/// records of one report time by type, so those before the type's and
/// those after it are passed by a search, unread. A site agent's
/// re-report dates a whole billing period to one time: `type=storage`'s
/// page 1 walked the 9,117 records of the types before `storage` on that
/// day (11,608 records at 1M, 49 µs), and a sparser set's page walked as
/// far, slower (the biggest offering's storage in 2025, whose first match
/// there is the 9,119th record: 232 µs).
struct Jump<'a> {
    t: &'a Tables,
    view: &'a View,
    rank: u32,
}

impl Jump<'_> {
    /// The first position at or after `pos` (before `stop`) that may hold
    /// a match, when it lies past `pos`: slot `last`, the record just
    /// walked, has another type than the matches, and the records after
    /// it that share its report time and lie on its side of the type are
    /// no matches. `None` when there is nothing to pass (the next record
    /// has another time, or `last` has the type). O(log n): the view's
    /// blocks searched by their fences, then one block's records.
    fn past(&self, last: u32, pos: usize, stop: usize) -> Option<usize> {
        use std::cmp::Reverse;
        let t = self.t;
        let key = |s: u32| {
            let cu = t.cus.get(t.row(s).cu);
            (
                Reverse(cu.date()),
                t.type_rank[t.kind_of(cu).ctype as usize],
            )
        };
        let (Reverse(date), rank) = key(last);
        // Every record from `pos` on sorts after `last`; those before
        // `target` share its time, with a type before the matches' (then
        // the target is their type at that time) or after it (then the
        // target is the next time).
        let target = match rank.cmp(&self.rank) {
            std::cmp::Ordering::Less => (Reverse(date), self.rank),
            std::cmp::Ordering::Greater => (Reverse(date.checked_sub(1)?), 0),
            std::cmp::Ordering::Equal => return None,
        };
        if pos >= stop {
            return None;
        }
        // The blocks by their fences (a block's last report date, exact),
        // reading records only where a block ends at the target's time.
        let date_fence = super::core::date_fence(target.0.0);
        let to = self.view.partition_in(
            pos..stop,
            |s| key(s) < target,
            |f| t.fence_before(ViewKind::Default, f, date_fence),
        );
        (to > pos).then_some(to)
    }
}

impl Core {
    /// The slots a query's filter and scope match, materialised (for `replace`).
    pub(crate) fn matching(&self, q: &Query) -> RoaringBitmap {
        let rows = self.held_rows(q);
        match candidates(&self.t, &q.filter, &q.scope, false, || None, rows.held()) {
            Cand::All => self.t.live.clone(),
            Cand::Few(v) => RoaringBitmap::from_sorted_iter(v).expect("ascending slots"),
            Cand::Counted(_) => unreachable!("only count-only queries count"),
            Cand::Set(b, _) => b.into_owned(),
            cand => cand_matches(&self.t, &cand)
                .expect("a set of matches")
                .into_owned(),
        }
    }

    /// Runs a query: the page numbers, and with `fetch` the page's slots in order.
    pub(crate) fn run_query(
        &self,
        q: &Query,
        fetch: bool,
    ) -> Result<(PageInfo, Vec<u32>), QueryError> {
        // One project's matches in the default order are its sequence
        // backwards, and a few projects' matches are their merge.
        let mut seqs = SeqBuf::new();
        let rows = self.held_rows(q);
        let held = rows.held();
        let plan = if let Some(seq) = q.order.is_empty().then(|| self.date_seq(q)).flatten() {
            Plan::Seq(seq)
        } else if let Some(groups) = self.period_groups(q) {
            Plan::Periods(groups)
        } else if let Some(m) = q
            .order
            .is_empty()
            .then(|| self.merge_seq(q, &mut seqs))
            .flatten()
        {
            Plan::Merge(m)
        } else if let Some((count, names)) = self.names_plan(q, fetch) {
            Plan::Names(count, names)
        } else {
            // (Asked at most once: a plan may ask in two places, and a
            // search's counts are made at their second ask.)
            let known = std::cell::OnceCell::new();
            Plan::Cand(candidates(
                &self.t,
                &q.filter,
                &q.scope,
                !fetch,
                || *known.get_or_init(|| self.known_count(q)),
                held,
            ))
        };
        let count = match &plan {
            Plan::Periods(groups) => groups.iter().map(|g| g.1).sum(),
            Plan::Seq(seq) => seq.count(),
            Plan::Merge(m) => m.count,
            Plan::Names(count, _) => *count,
            Plan::Cand(cand) => self.count_of(cand),
        };
        let size = q.page_size as u64;
        let num_pages = count.div_ceil(size).max(1);
        let number = match q.page {
            PageSpec::Number(n) if n <= num_pages => n,
            PageSpec::Last => num_pages,
            PageSpec::Number(_) | PageSpec::Invalid => return Err(QueryError::InvalidPage),
        };
        let info = PageInfo {
            count,
            number,
            num_pages,
            page_size: q.page_size,
        };
        if !fetch || count == 0 {
            return Ok((info, Vec::new()));
        }
        let offset = ((number - 1) * size) as usize;
        let limit = (count - (number - 1) * size).min(size) as usize;
        let slots = match plan {
            Plan::Periods(groups) => self.period_groups_page(q, &groups, offset, limit),
            Plan::Seq(seq) => self.date_seq_page(&seq, offset, limit),
            Plan::Names(_, names) => self.username_page(q, &names, offset, limit),
            Plan::Merge(m) if m.affordable(offset + limit) => self.merge_page(&m, offset, limit),
            Plan::Merge(_) => {
                // (Billing periods are never merged: no known count.)
                let cand = candidates(&self.t, &q.filter, &q.scope, false, || None, held);
                let n = self.count_of(&cand);
                self.page_slots(&cand, n, &q.filter, &q.scope, &q.order, offset, limit)
            }
            Plan::Cand(cand) => (self.kept_order_page(q, &cand, count, offset, limit))
                .or_else(|| self.period_split_page(q, &cand, held, count, offset, limit))
                .unwrap_or_else(|| {
                    self.page_slots(&cand, count, &q.filter, &q.scope, &q.order, offset, limit)
                }),
        };
        Ok((info, slots))
    }

    /// The number of records of a username search alone (no other filter,
    /// every record visible), a sum of its names' kept counts
    /// ([`Usernames::count`](crate::index::dict::Usernames::count)), and
    /// the matching names: for a count alone, or when the page is read by
    /// name alone ([`Core::username_page`]); `None` otherwise. The planner
    /// listed the names' bitmaps and their counts for the same sum (at 1M
    /// records, two lists of the 1,365 names containing `ann`, 11 KB each:
    /// a request past glibc's small bins, which first consolidates every
    /// small chunk freed since the last), for a page that never read
    /// them. O(names).
    fn names_plan(&self, q: &Query, fetch: bool) -> Option<(u64, Arc<SlotBits>)> {
        let f = &q.filter;
        let needle = f.username.as_deref().filter(|n| !n.is_empty())?;
        if !q.scope.everything || f.kinds() != Filter::USERNAME {
            return None;
        }
        let by_name = (q.order.first()).is_some_and(|k| k.field == SortField::Username)
            && effective_keys(&q.order).len() == 1;
        if fetch && !by_name {
            return None;
        }
        let found = self.t.usernames.search(needle);
        let count = found.ids.iter().map(|&id| self.t.usernames.count(id)).sum();
        Some((count, found.bits))
    }

    /// The billing periods a query's matches fall in, each with its number
    /// of matches, in the order of its first key, when that key is the
    /// billing period and each period's count is kept: no filter but a
    /// component type and billing periods, every record visible. Then a
    /// page is a period's matches in the next keys' order (the plan of
    /// that period alone), where otherwise a period's every match was
    /// read and sorted (a period of the demo at 1M records: 28,000
    /// records, 0.5 ms). Ordered by the period alone, the period view was
    /// walked from its start, through the periods before the filter's
    /// (`billing_period_year=2025&o=component_usage__billing_period` in
    /// pages of 300 at 1M records, page 100: 38 ms; 2.8 µs paged by
    /// period). O(periods).
    fn period_groups(&self, q: &Query) -> Option<Vec<(i32, u64)>> {
        let (t, f) = (&self.t, &q.filter);
        // (Most queries: the default order or another first key.)
        let first = (q.order.first()).filter(|k| k.field == SortField::BillingPeriod)?;
        if !q.scope.everything || f.kinds() & !(Filter::TYPE | Filter::PERIODS) != 0 {
            return None;
        }
        // (An unknown type matches nothing: the planner's, as cheap.)
        let ty = type_filter(t, f)?;
        let count = |p: i32, b: &RoaringBitmap| match ty {
            None => b.len(),
            Some(ty) => u64::from(t.period_type_rows.get(&(p, ty)).copied().unwrap_or(0)),
        };
        let mut groups: Vec<(i32, u64)> = match selected_periods(t, f) {
            Some(periods) => periods.map(|(p, b)| (p, count(p, b))).collect(),
            None => t.periods.iter().map(|(&p, b)| (p, count(p, b))).collect(),
        };
        groups.retain(|g| g.1 > 0);
        if first.descending {
            groups.reverse();
        }
        Some(groups)
    }

    /// The query's kept bitmaps ([`Core::needle_rows`],
    /// [`Core::needle_type`], [`Core::flat_offering`],
    /// [`Core::offering_type`]), for its plan to borrow.
    fn held_rows(&self, q: &Query) -> HeldRows<'_> {
        let offering_type = self.offering_type(q);
        let needle_rows = self.needle_rows(q);
        // (One kept bitmap takes the type's place: the offering's.)
        let needle_type = (needle_rows.is_some() && offering_type.is_none())
            .then(|| self.needle_type(q))
            .flatten();
        HeldRows {
            needle_rows,
            needle_type,
            // (Not needed with the offering's records of the type.)
            offering: offering_type
                .is_none()
                .then(|| self.flat_offering(q))
                .flatten(),
            offering_type,
            cut: CutCell::new(),
            cuts: &self.cuts,
        }
    }

    /// The records of the query's username search, when kept or worth
    /// keeping ([`NeedleRowsCache`](super::cache::NeedleRowsCache)): with
    /// a component type, billing periods or a report date range and no
    /// entity, the planner intersected every matching name's bitmap with
    /// them, on every page (0.5 to 2.2 ms for `ann` at 1M records); the
    /// union costs about one such count to make, and makes each later
    /// page one intersection of two bitmaps. A customer, project or
    /// resource filter or a scope is a few runs of slots or a few
    /// records, against which the names' bitmaps are cheap to count (a
    /// range cardinality each) or to test record by record: their queries
    /// use a kept union but make none. (An offering is neither: a big
    /// offering ∧ `ann` took 2.2 ms at 1M records, 180 µs with the union.)
    /// A username filter alone is counted and paged without one.
    /// O(needles kept) when kept, O(the names' records) to make.
    fn needle_rows(&self, q: &Query) -> Option<Arc<RoaringBitmap>> {
        let f = &q.filter;
        let needle = f.username.as_deref().filter(|n| !n.is_empty())?;
        let alone = f.kinds() & !Filter::USERNAME == 0 && q.scope.everything;
        if alone || f.nothing {
            return None;
        }
        // (An offering's names' parts cost as a type's.)
        if run_entity(f) || !q.scope.everything {
            return self.needle_rows.get(needle);
        }
        Some(self.needle_rows.get_or_make(needle, || {
            let ids = self.t.usernames.search(needle).ids;
            ids.iter()
                .map(|&id| self.t.usernames.dict.payload(id))
                .union()
        }))
    }

    /// The query's offering's records with their many-run containers
    /// expanded ([`FlatCache`](super::cache::FlatCache)), when it meets
    /// another filter, a scope or an order but no customer, project or
    /// resource (whose few runs make the offering's runs cheap to count
    /// within): kept, or made and kept. `None` inside when the offering's bitmap
    /// has few runs a container. O(1) when kept, O(the offering's
    /// records) to make.
    fn flat_offering(&self, q: &Query) -> Option<Arc<Option<RoaringBitmap>>> {
        let (t, f) = (&self.t, &q.filter);
        let o = f.offering.as_ref()?;
        // Alone in the default order its records are paged by days or
        // sorted; in another order a view is walked, testing each record
        // against the offering (a binary search of its runs, where the
        // expanded containers test a bit: `offering_uuid=…&o=-usage` for
        // the biggest offering, 13.4 million instructions a query).
        let alone = f.kinds() == Filter::ENTITIES && q.scope.everything;
        if run_entity(f) || (alone && q.order.is_empty()) {
            return None;
        }
        Some(self.flat_rows(t.offerings.id(o)?))
    }

    /// Offering `id`'s records with their many-run containers expanded
    /// ([`FlatCache`](super::cache::FlatCache)): kept, or made and kept;
    /// `None` inside when its bitmap has few runs a container. O(1) when
    /// kept, O(the offering's records) to make.
    fn flat_rows(&self, id: u32) -> Arc<Option<RoaringBitmap>> {
        let t = &self.t;
        (self.flat_offerings).get_or_make(id, || Arc::new(flat(&t.offerings.get(id).rows)))
    }

    /// The query's username search's records of the query's component
    /// type ([`NeedleRows::typed`](super::cache::NeedleRows::typed)),
    /// when the search's records are kept and made for it
    /// ([`Core::needle_rows`]): kept, or made and kept. `None` for an
    /// unknown type (the planner finds nothing) or a search not kept.
    /// O(needles kept) when kept, an intersection of the two to make.
    fn needle_type(&self, q: &Query) -> Option<Arc<RoaringBitmap>> {
        let (t, f) = (&self.t, &q.filter);
        let needle = f.username.as_deref().filter(|n| !n.is_empty())?;
        let name = f.component_type.as_deref().filter(|n| !n.is_empty())?;
        // (A customer's, project's or resource's few runs, or a scope's:
        // the search's records are used, not made, there.)
        if run_entity(f) || !q.scope.everything || f.nothing {
            return None;
        }
        let ty = t.types.id(name)?;
        self.needle_rows
            .typed_or_make(needle, ty, |rows| Acc::new(rows).and(t.types.payload(ty)))
    }

    /// The query's offering's records of the query's component type
    /// ([`OfferingTypeCache`](super::cache::OfferingTypeCache)), when it
    /// names both and no customer, project or resource (whose few runs
    /// make the two bitmaps cheap to count within): kept, or made and
    /// kept. `None` for an unknown offering or type (the planner finds
    /// nothing). O(1) when kept, an intersection of the two to make.
    fn offering_type(&self, q: &Query) -> Option<Arc<RoaringBitmap>> {
        let (t, f) = (&self.t, &q.filter);
        let o = f.offering.as_ref()?;
        let name = f.component_type.as_deref().filter(|n| !n.is_empty())?;
        if run_entity(f) || f.nothing {
            return None;
        }
        let (o, ty) = (t.offerings.id(o)?, t.types.id(name)?);
        Some(self.offering_types.get_or_make((o, ty), || {
            let rows = &t.offerings.get(o).rows;
            Arc::new(Acc::new(rows).and(t.types.payload(ty)))
        }))
    }

    /// The kinds of component type of the query's offering's records,
    /// from its kept counts per billing period and type
    /// ([`OfferingPeriodCache`](super::cache::OfferingPeriodCache), made
    /// if need be), for an order by usage: the parts of the usage view of
    /// other types hold none of the query's matches, and a walk of the
    /// merged parts read a part to its end before giving up on it (the
    /// biggest offering by `-usage` at 1M records: 500 µs, through the
    /// storage part it has no records in). `None` without an offering.
    /// O(the offering's periods × types) when kept.
    fn offering_types(&self, f: &Filter) -> Option<SmallVec<[u32; 8]>> {
        let t = &self.t;
        let o = t.offerings.id(f.offering.as_ref()?)?;
        let counts = self.offering_period_counts(o);
        let mut types: SmallVec<[u32; 8]> =
            counts.iter().filter(|e| e.1 > 0).map(|e| e.0.1).collect();
        types.sort_unstable();
        types.dedup();
        Some(types)
    }

    /// The component types that the records of the query's entities
    /// hold, for an order by usage, as [`Core::offering_types`] (whose
    /// set it narrows): a customer's from its kept counts
    /// (`Customer::type_rows`), a project's (or a resource's project's)
    /// from its own (`Project::type_rows`, which keeps the first
    /// [`PROJECT_TYPES`](super::entities::PROJECT_TYPES) type ids; any
    /// later type may hold its records). A walk of a project's page 1 by
    /// `-usage` at 1M records, forced to its end, read 653,229 records of
    /// the merged parts, most of them in the parts of types the project
    /// has no records of, read to their ends (4,691 of its types' parts). `None` without such an entity, or for an unknown one
    /// (the planner finds no match). O(types), and
    /// [`Core::offering_types`]'s cost.
    fn filter_types(&self, f: &Filter) -> Option<SmallVec<[u32; 8]>> {
        use super::entities::PROJECT_TYPES;
        let t = &self.t;
        let mut types = self.offering_types(f);
        let mut narrow = |keep: &dyn Fn(u32) -> bool| {
            let all = || t.types.iter().map(|(id, _, _)| id).collect();
            let v: &mut SmallVec<[u32; 8]> = types.get_or_insert_with(all);
            v.retain(|ty| keep(*ty));
        };
        if let Some(c) = f.customer.as_ref().and_then(|c| t.customers.id(c)) {
            let rows = &t.customers.get(c).type_rows;
            narrow(&|ty| rows.get(ty as usize).is_some_and(|&n| n > 0));
        }
        if let Some(p) = self.filter_project(f) {
            let rows = &t.projects.get(p).type_rows;
            narrow(&|ty| ty as usize >= PROJECT_TYPES || rows[ty as usize] != 0);
        }
        types
    }

    /// Offering `o`'s records per billing period and type: kept
    /// ([`OfferingPeriodCache`](super::cache::OfferingPeriodCache)), or
    /// counted and kept. O(1) when kept, O(the offering's records) to
    /// make.
    fn offering_period_counts(&self, o: u32) -> Arc<KeyTypeCounts> {
        let t = &self.t;
        self.offering_periods.get_or_make(o, || {
            let Some(span) = key_span(&t.periods) else {
                return Arc::new(Vec::new());
            };
            let rows = &t.offerings.get(o).rows;
            Arc::new(typed_counts(t, rows, span, |_, k| k.period))
        })
    }

    /// A page of a username search ordered by username alone (no other
    /// filter, every record visible; admitted by [`Core::names_plan`],
    /// whose matching `names` it reads): the names are read in order (kept,
    /// see [`Usernames::rank_table`](crate::index::dict::Usernames::rank_table)), a matching name's
    /// records counted until the page's first, and the page read from the
    /// username view, where each name's records lie together in the
    /// default order (the tie-break keys keep their direction when the
    /// names are read backwards), found by a binary search. The walk
    /// tested every record before the page, and a name has ten times the
    /// records at 10M than at 1M. O(names before the page + log n +
    /// the page).
    fn username_page(&self, q: &Query, names: &SlotBits, offset: usize, limit: usize) -> Vec<u32> {
        let t = &self.t;
        let descending = q.order.first().is_some_and(|k| k.descending);
        let table = t.usernames.rank_table();
        let view = self.view(ViewKind::Username);
        let mut out = Vec::with_capacity(limit);
        let mut skip = offset;
        let take = |u: u32| {
            let n = t.usernames.count(u) as usize;
            if skip >= n {
                skip -= n;
                return false;
            }
            let r = table.rank[u as usize];
            let at = view.partition_point(|s| table.rank[t.row(s).username as usize] < r);
            out.extend(
                view.iter_from(at + skip)
                    .take((n - skip).min(limit - out.len())),
            );
            skip = 0;
            out.len() == limit
        };
        // The names in the key's direction, the matching ones taken until
        // the page is full (monomorphised: behind `dyn Iterator` the deep
        // pages cost a third more).
        fn each_match<'a>(
            names: impl Iterator<Item = &'a u32>,
            matching: &SlotBits,
            take: impl FnMut(u32) -> bool,
        ) {
            let mut take = take;
            let _ = names.filter(|&&u| matching.contains(u)).any(|&u| take(u));
        }
        if descending {
            each_match(table.order.iter().rev(), names, take);
        } else {
            each_match(table.order.iter(), names, take);
        }
        out
    }

    /// A page of a query in an order led by its usage or username over
    /// many matches, from every match sorted once and kept
    /// ([`GroupOrderCache`]): made by the second page at least
    /// [`GROUP_KEEP_MIN`] matches deep since the last write (the first is
    /// paged as before: the make costs up to twice a walked page of
    /// several keys and five of one, at 1M records 8 to 43 ms; see
    /// [`Core::default_pass_order`] and [`Core::username_order`]), read
    /// by any page after (by one
    /// key, any page past the first [`GROUP_KEEP_MIN`] matches: the
    /// first pages' walk stops early). Each deep page walked the first
    /// key's view testing the matches, its groups sorted by the later
    /// keys, or sorted every match: at 1M records in pages of 300, page
    /// 100 of a seven-month report-date range by `usage,username` took
    /// 26 ms, the biggest offering's 18 ms; by `usage` alone, 7.5 ms,
    /// and the last page of the year 2025 by `-username` 14 ms (an export
    /// paid that, growing, on every page). `None` for other queries: a
    /// type's or every record's usage orders read the usage view and its
    /// kept groups, a username search alone by username reads the names
    /// in order, and a billing period first is paged by period.
    /// O(entries) when kept, O(n log n) for the n matches to make.
    fn kept_order_page(
        &self,
        q: &Query,
        cand: &Cand<'_>,
        count: u64,
        offset: usize,
        limit: usize,
    ) -> Option<Vec<u32>> {
        // (Most queries: the default order, or a first page.)
        if q.order.is_empty() || (q.order.len() == 1 && offset < GROUP_KEEP_MIN) {
            return None;
        }
        let keys = effective_keys(&q.order);
        let f = &q.filter;
        if (keys.len() == 1 && offset < GROUP_KEEP_MIN)
            || keys[0].field == SortField::BillingPeriod
            || count < ORDER_KEEP_MIN
            || count >= self.t.live.len()
            || (keys[0].field == SortField::Usage
                && q.scope.everything
                && f.kinds() & !Filter::TYPE == 0)
        {
            return None;
        }
        let group = GroupOf::Query(f.clone(), q.scope.clone());
        let kept = match self.group_orders.get(&group, &keys) {
            Some(v) => v,
            None if offset >= GROUP_KEEP_MIN && is_set_plan(cand) => {
                let budget = GroupOrderCache::budget(self.t.live.len() as usize);
                // (The matches made only to be sorted: the page that
                // only notes the request, or any page under a write
                // between every two, would make a union for nothing.)
                self.group_orders
                    .get_or_make_again(&group, &keys, budget, || {
                        let Some(matches) = cand_matches(&self.t, cand) else {
                            unreachable!("a plan of a set has its matches")
                        };
                        match &keys[..] {
                            [k] if k.field == SortField::Username => {
                                self.username_order(&matches, k.descending)
                            }
                            [_] => self.default_pass_order::<1>(&matches, &keys),
                            [_, _] => self.default_pass_order::<2>(&matches, &keys),
                            _ => self.default_pass_order::<3>(&matches, &keys),
                        }
                    })?
            }
            None => return None,
        };
        let end = (offset + limit).min(kept.len());
        Some(kept[offset.min(end)..end].to_vec())
    }

    /// Every record of `matches` in the order of `keys` (`N` of them),
    /// then the default keys: the default view read through, which holds
    /// every record in the default keys' order, the matches' keys read in
    /// that order, then sorted by the keys alone with a stable sort, which
    /// keeps that order among equal keys. Sorting the matches by all
    /// their keys (40 bytes each, the default keys among them) cost twice
    /// as much: the year 2025's 451,296 records by `-usage` at 1M, 54
    /// ms against 27 (14 of them the pass); a seven-month report-date
    /// range's 299,526, 29 against 17.5. O(n + m log m) for the store's n
    /// records and the m matches.
    fn default_pass_order<const N: usize>(
        &self,
        matches: &RoaringBitmap,
        keys: &[OrderKey],
    ) -> Vec<u32> {
        let t = &self.t;
        let member = SlotBits::of(matches);
        let ranks = (keys.iter())
            .any(|k| k.field == SortField::Username)
            .then(|| t.usernames.rank_table());
        let user_rank: &[u32] = ranks.as_ref().map_or(&[], |r| &r.rank);
        let mut v: Vec<([i64; N], u32)> = Vec::with_capacity(matches.len() as usize);
        for chunk in self.view(ViewKind::Default).chunks_from(0) {
            for &s in chunk.iter().filter(|&&s| member.contains(s)) {
                let r = t.row(s);
                let mut key = [0i64; N];
                for (dst, k) in key.iter_mut().zip(keys) {
                    *dst = key_value(t, k, r, user_rank);
                }
                v.push((key, s));
            }
        }
        v.sort_by_key(|e| e.0);
        v.into_iter().map(|e| e.1).collect()
    }

    /// Every record of `matches` in the order of the username alone
    /// (descending if `desc`), then the default keys: the username view
    /// read through, which holds every record in that order ascending
    /// (descending, its groups of one name are taken last first, each in
    /// view order). Sorting the matches by their keys cost more (the year
    /// 2025's 451,296 records by `-username` at 1M: 45 ms, against 11.8;
    /// `type=cpu`'s 183,406, 22 ms against 8.9).
    /// O(n) for the store's n records.
    fn username_order(&self, matches: &RoaringBitmap, desc: bool) -> Vec<u32> {
        let t = &self.t;
        let member = SlotBits::of(matches);
        let mut v: Vec<u32> = Vec::with_capacity(matches.len() as usize);
        for chunk in self.view(ViewKind::Username).chunks_from(0) {
            v.extend(chunk.iter().copied().filter(|&s| member.contains(s)));
        }
        if desc {
            // (Each name's run found by the names read, one per match: a
            // run per name from the names' record counts read every
            // name's bitmap, and cost more at 1M records, 10.2 ms against
            // 8.9 for `type=cpu`.)
            let name = |s: &u32| t.row(*s).username;
            let mut out = Vec::with_capacity(v.len());
            for group in v.chunk_by(|a, b| name(a) == name(b)).rev() {
                out.extend_from_slice(group);
            }
            v = out;
        }
        v
    }

    /// A page of a query ordered by billing period first, whose matches
    /// are many and whose periods' counts are not kept (any filter but a
    /// type and periods, or a scope; see [`Core::period_groups`]): its
    /// matches counted in each period, the periods before the page (or,
    /// for a late page, after it) skipped by their counts, and each
    /// period the page reaches paged alone by the later keys, or, with no
    /// later key, read from the period's run of the period view
    /// ([`Core::period_view_page`]). The walk of the period view tested
    /// every record of the periods before the page, then gave up and
    /// sorted every match: at 1M records in pages of 300, a report-date
    /// range of seven months by period ascending, then usage, took 37 ms
    /// for its first page, and by period alone 43 ms for page 100.
    ///
    /// A period's matches are counted by intersecting the query's matches
    /// with the period, but a report-date range's are a union of days,
    /// costlier to make (with it made, a page of those seven months took
    /// 0.5 to 1.1 ms; counted by runs, 4 to 6 µs): alone (or with
    /// billing periods) it is counted by the bounds of its run in each
    /// period, by the period's report days where they lie wholly inside
    /// or outside it; with other filters each period is planned as its
    /// own query (the filter with that billing period), which takes the
    /// periods inside the range whole and cuts those at its edges.
    /// `None` for other queries, which are paged as before.
    /// O(periods × the matches' containers + the page's periods'
    /// matches).
    fn period_split_page(
        &self,
        q: &Query,
        cand: &Cand<'_>,
        held: Held<'_>,
        count: u64,
        offset: usize,
        limit: usize,
    ) -> Option<Vec<u32>> {
        let t = &self.t;
        let first = (q.order.first()).filter(|k| k.field == SortField::BillingPeriod)?;
        if count < PERIOD_SPLIT_MIN {
            return None;
        }
        let keys = effective_keys(&q.order);
        // A union not yet made (a username search's names) costs more to
        // make than a short walk reads, when the matches are spread over
        // the periods (`username=ann` in pages of 300 at 1M: the first
        // page walked 0.12 ms, split by periods with the union made 0.4
        // ms; the last page walked 6.8 ms, split 0.8 ms). (Report days are not spread: they lie in a few
        // periods, which a walk from the other end passes through.)
        // (By the period alone, ascending, the walk may start from the
        // view's end, as `Core::page_slots` has it: a late page reads the
        // last periods.)
        let reach = if keys.len() == 1 && !first.descending {
            (offset + limit).min(count as usize - offset)
        } else {
            offset + limit
        };
        let spread_walk = reach as u64 * t.live.len() / count;
        if let Cand::Lazy {
            check: Check::Usernames(_),
            ..
        } = cand
            && spread_walk < PERIOD_SPLIT_WALK
        {
            return None;
        }
        // A report-date range's matches are a union of days, which cost
        // more to make than each period's plan, which takes whole the
        // periods inside the range and cuts those at its edges: `None`,
        // planned by period. (Every record, or a few: the period plans
        // and the sort.)
        // A username search's union is kept for the next pages, as the
        // default order's day counts keep it
        // ([`NeedleRowsCache`](super::cache::NeedleRowsCache)): made per
        // page, it was most of a deep page (`username=ann` by period, page
        // 100 of 300 at 1M records: 0.65 ms).
        let union;
        let matches = match cand {
            Cand::Lazy { check, .. } | Cand::Filtered { check, .. }
                if matches!(check, Check::Dates(..) | Check::PeriodDates { .. }) =>
            {
                None
            }
            Cand::Lazy {
                check: Check::Usernames(_),
                parts,
                ..
            } => {
                let needle = q.filter.username.as_deref().unwrap_or_default();
                union = self
                    .needle_rows
                    .get_or_make(needle, || parts.iter().copied().union());
                Some(Cow::Borrowed(&*union))
            }
            _ => Some(cand_matches(&self.t, cand)?),
        };
        let period_filter = |p: i32| Filter {
            billing_period: Some(day_to_date(p)),
            ..q.filter.clone()
        };
        // (A fresh cut each: a cut holds one query's periods.)
        fn plan<'c>(
            t: &'c Tables,
            f: &Filter,
            s: &Scope,
            held: Held<'c>,
            cut: &'c CutCell,
        ) -> Cand<'c> {
            let held = Held {
                cut: Some(cut),
                ..held
            };
            candidates(t, f, s, false, || None, held)
        }
        // A report-date range alone (or with billing periods: one
        // predicate, every record visible) is one run of each period's
        // records in the period view, counted by its bounds.
        let dates = date_bounds(&q.filter);
        let dates_only = match cand {
            Cand::Lazy { check, .. } if q.scope.everything => Some(check),
            _ => None,
        }
        .filter(|c| matches!(c, Check::Dates(..) | Check::PeriodDates { .. }));
        let (lo_day, hi_day) = date_days(&q.filter);
        // (One filter for the periods counted by their plans, its period
        // set for each: a clone per period copied the filter's strings.)
        let counted = (matches.is_none() && dates_only.is_none())
            .then(|| std::cell::RefCell::new(q.filter.clone()));
        let count_in = |p: i32, b: &RoaringBitmap| match (&matches, dates_only) {
            (Some(m), _) => m.intersection_len(b),
            (None, Some(_)) => match t.period_days[&p] {
                (a, z) if lo_day <= a && z <= hi_day => b.len(),
                (a, z) if z < lo_day || hi_day < a => 0,
                _ => self.period_run(p, b.len(), dates).len() as u64,
            },
            (None, None) => {
                let mut f = counted.as_ref().expect("made for plans").borrow_mut();
                f.billing_period = Some(day_to_date(p));
                self.count_of(&plan(t, &f, &q.scope, held, &CutCell::new()))
            }
        };
        let mut periods: Vec<(i32, &RoaringBitmap)> = match selected_periods(t, &q.filter) {
            Some(ps) => ps.collect(),
            None => t.periods.iter().map(|(&p, b)| (p, b)).collect(),
        };
        if first.descending {
            periods.reverse();
        }
        // The page's periods, each with where the page starts in it and
        // how many it takes, found from the nearer end: a late page counts
        // only the periods after it (each count is an intersection).
        let late = offset as u64 > count - (offset + limit) as u64;
        let mut parts: SmallVec<[PeriodPart<'_>; 4]> = SmallVec::new();
        let mut want = limit;
        let mut skip = if late {
            count - (offset + limit) as u64
        } else {
            offset as u64
        };
        // Whether the page is full once period `p` is counted.
        let mut visit = |p: i32, b| {
            let n = count_in(p, b);
            if skip >= n {
                skip -= n;
                return false;
            }
            let take = want.min((n - skip) as usize);
            let start = if late {
                (n - skip) as usize - take
            } else {
                skip as usize
            };
            parts.push(PeriodPart {
                period: p,
                records: b,
                matches: n,
                skip: start,
                take,
            });
            (want, skip) = (want - take, 0);
            want == 0
        };
        if late {
            let _ = periods.iter().rev().any(|&(p, b)| visit(p, b));
            parts.reverse();
        } else {
            let _ = periods.iter().any(|&(p, b)| visit(p, b));
        }
        let mut out = Vec::with_capacity(limit);
        for part in parts {
            // By the period alone, the walk of the period's run tests the
            // query's matches, or a date range alone each record's date:
            // the period unplanned, its matches not intersected.
            let unplanned = match (&matches, dates_only) {
                (Some(m), _) if part.matches < part.records.len() => Some(Member::Set(m)),
                (Some(_), _) => Some(Member::Span),
                (None, Some(check)) => Some(Member::Check(t, check)),
                (None, None) => None,
            };
            let planned_walk = keys.len() == 1 && unplanned.is_none();
            if keys.len() == 1
                && let Some(member) = unplanned
                && let Some(v) = self.period_view_page(&part, &member, PERIOD_WALK_MAX, dates)
            {
                out.extend(v);
                continue;
            }
            let PeriodPart {
                period: p,
                records: b,
                matches: n,
                skip,
                take,
            } = part;
            // The period's query: its matches are the query's in the
            // period, which the plans below may key kept counts by.
            let f = period_filter(p);
            // (Kept: read before the period is planned, which may cut
            // its records by the dates: at 10M records a month cut by
            // `date_before` built a 165,000-record bitmap per page, 0.8
            // ms, for a page read from the kept order.)
            let kept_big = keys.len() > 1 && n as usize >= GROUP_KEEP_MIN && q.scope.everything;
            if kept_big
                && let Some(v) = (self.group_orders)
                    .get(&GroupOf::Query(f.clone(), Scope::everything()), &keys[1..])
            {
                out.extend_from_slice(&v[skip..skip + take]);
                continue;
            }
            let cut = CutCell::new();
            let cand = match &matches {
                Some(m) => Cand::Set(Cow::Owned(&**m & b), None),
                None => plan(t, &f, &q.scope, held, &cut),
            };
            if planned_walk
                && let Some(member) = self.member_in_period(&cand, n, b.len())
                && let Some(v) = self.period_view_page(&part, &member, PERIOD_WALK_MAX, dates)
            {
                out.extend(v);
                continue;
            }
            // A big period's matches in the later keys' order are kept, as
            // a [`Plan::Periods`] query's period's (see there): every
            // record visible, made by a page past the period's first
            // match, asked for twice since the last write. (Its matches
            // are not a kept count's, and a page a thousand matches into a
            // period sorted them: a seven-month range by
            // `-component_usage__billing_period,usage`, page 100 of 300 at
            // 1M records, 1.0 ms.)
            let deep = skip > 0;
            if kept_big
                && deep
                && let Some(v) = self.sorted_matches(&f, &cand, &keys[1..], true)
            {
                out.extend_from_slice(&v[skip..skip + take]);
                continue;
            }
            out.extend(self.page_slots(&cand, n, &f, &q.scope, &keys[1..], skip, take));
        }
        Some(out)
    }

    /// How a walk of billing period `p`'s records (`len` of them) tests
    /// the `n` matches of the period's plan `cand`: `Member::Span` when
    /// every record matches; `None` for a plan no test describes.
    fn member_in_period<'c>(&'c self, cand: &'c Cand<'_>, n: u64, len: u64) -> Option<Member<'c>> {
        let t = &self.t;
        Some(match cand {
            _ if n == len => Member::Span,
            Cand::Set(b, _) => Member::Set(b),
            Cand::Lazy { check, .. } => Member::Check(t, check),
            Cand::Filtered { base, check, .. } => Member::Filtered(base, t, check),
            _ => return None,
        })
    }

    /// The positions in the period view of billing period `p`'s `len`
    /// records reported within `dates` (`[lo, hi)` microseconds): after
    /// the earlier periods' records (their bitmaps' lengths: the view
    /// holds every live record, by period first), or, for a date range,
    /// two binary searches (within a period the view is latest first, so
    /// a date range is one run). O(periods), or O(log n) with dates.
    fn period_run(&self, p: i32, len: u64, dates: (Micros, Micros)) -> std::ops::Range<usize> {
        let (t, view) = (&self.t, self.view(ViewKind::Period));
        let (lo, hi) = dates;
        if lo == Micros::MIN && hi == Micros::MAX {
            let start = t.periods.range(..p).map(|(_, b)| b.len()).sum::<u64>() as usize;
            return start..start + len as usize;
        }
        let before = |bound: Micros| {
            view.partition_point(|s| {
                let cu = t.cus.get(t.row(s).cu);
                let q = t.kind_of(cu).period;
                q < p || (q == p && cu.date() >= bound)
            })
        };
        let (a, z) = (before(hi), before(lo));
        a..z.max(a)
    }

    /// A page of a billing period's matches in the default order (the
    /// tie order of a query ordered by the period alone), read from the
    /// period's run of the period view, which holds its records in that
    /// order ([`Core::period_run`], narrowed to the query's report
    /// `dates`): the part's `skip` matches passed, `take` read, from the
    /// nearer end of the run; `member` tests a record (none when every
    /// record of the run matches: a slice). The period's default-order
    /// plan started from the period's report days in the default view,
    /// whose first and last days hold the neighbouring periods' records
    /// too (the year 2025's last page by period at 1M records: 12 µs,
    /// where this reads its 96 records in 1.4 µs). `None` when the walk
    /// would read more than `max` records were the matches spread evenly
    /// over the run, or reads twice that (clustered away from both
    /// ends). O(periods + log n + the records walked).
    fn period_view_page(
        &self,
        part: &PeriodPart<'_>,
        member: &Member<'_>,
        max: usize,
        dates: (Micros, Micros),
    ) -> Option<Vec<u32>> {
        let view = self.view(ViewKind::Period);
        let (p, skip, take) = (part.period, part.skip, part.take);
        let run = self.period_run(p, part.records.len(), dates);
        let (start, len, n) = (run.start, run.len(), part.matches as usize);
        debug_assert!(
            !matches!(member, Member::Span) || n == len,
            "period {p}: a span is every record"
        );
        if len == n {
            return Some(view.iter_from(start + skip).take(take).collect());
        }
        let from_end = n - skip - take;
        let near = skip.min(from_end);
        if (near + take).saturating_mul(len) / n.max(1) > max {
            return None;
        }
        let mut out = Vec::with_capacity(take);
        let (mut pass, mut budget) = (near, 2 * max);
        let mut step = |s: u32| {
            budget -= 1;
            if member.contains(s) {
                if pass > 0 {
                    pass -= 1;
                } else {
                    out.push(s);
                }
            }
            out.len() < take && budget > 0
        };
        if skip <= from_end {
            let _ = view.iter_from(start).take(len).all(&mut step);
        } else {
            let _ = view.iter_rev_before(start + len).take(len).all(&mut step);
            out.reverse();
        }
        (out.len() == take).then_some(out)
    }

    /// A page of a [`Plan::Periods`] query: from the period holding its
    /// first match on, each period's matches in the remaining keys' order,
    /// planned as that period's query. O(periods + the periods' pages).
    fn period_groups_page(
        &self,
        q: &Query,
        groups: &[(i32, u64)],
        offset: usize,
        limit: usize,
    ) -> Vec<u32> {
        let keys = effective_keys(&q.order);
        let mut out = Vec::with_capacity(limit);
        let mut skip = offset as u64;
        for &(p, n) in groups {
            if out.len() == limit {
                break;
            }
            if skip >= n {
                skip -= n;
                continue;
            }
            let take = (limit - out.len()).min((n - skip) as usize);
            // Ordered by the period alone: the period's range of the
            // period view is its records in the page's order.
            if keys.len() == 1 {
                let part = PeriodPart {
                    period: p,
                    records: &self.t.periods[&p],
                    matches: n,
                    skip: skip as usize,
                    take,
                };
                let member = match type_id(&self.t, &q.filter) {
                    Some(ty) if n < part.records.len() => Member::Set(self.t.types.payload(ty)),
                    _ => Member::Span,
                };
                let every = (Micros::MIN, Micros::MAX);
                if let Some(v) = self.period_view_page(&part, &member, PERIOD_WALK_KEPT, every) {
                    out.extend(v);
                    skip = 0;
                    continue;
                }
            }
            let f = Filter {
                component_type: q.filter.component_type.clone(),
                billing_period: Some(crate::wire::time::day_to_date(p)),
                ..Filter::default()
            };
            // (No username: see `period_groups`.)
            let cand = candidates(&self.t, &f, &q.scope, false, || None, Held::default());
            debug_assert_eq!(self.count_of(&cand), n, "period {p}: kept count");
            // A big period's records in the later keys' order are kept
            // (see `GROUP_KEEP_MIN`): each page sorted them, or walked a
            // view testing the period, 0.5 to 4.5 ms at 1M records for a
            // page of 300 past the first. Made by a page at least that
            // deep into the period: the first pages' walk stops early (a
            // period's first 300 by usage: 0.2 ms, where sorting the
            // period takes 2 to 5 ms), and a UI shows the first page most.
            let deep = skip as usize + take >= GROUP_KEEP_MIN;
            let kept = (n as usize >= GROUP_KEEP_MIN && keys.len() > 1)
                .then(|| self.sorted_matches(&f, &cand, &keys[1..], deep))
                .flatten();
            match kept {
                Some(v) => out.extend_from_slice(&v[skip as usize..skip as usize + take]),
                None => out.extend(self.page_slots(
                    &cand,
                    n,
                    &f,
                    &q.scope,
                    &keys[1..],
                    skip as usize,
                    take,
                )),
            }
            skip = 0;
        }
        out
    }

    /// The number of records reported on `day` or later: where the records
    /// reported before it begin in the default view. O(1) from the
    /// [`DayCache`](super::cache::DayCache), O(log n) for the first query
    /// after a write.
    pub(crate) fn day_pos(&self, day: i32) -> usize {
        let t = &self.t;
        let first = day_start(day);
        let make = || {
            let date = |s: u32| t.cus.get(t.row(s).cu).date();
            let view = self.view(ViewKind::Default);
            std::sync::Arc::new(view.partition_point(|s| date(s) >= first))
        };
        // The key is the day's bits: days before the epoch are negative.
        *self.day_starts.get_or_make(day as u32, make)
    }

    /// Component type `ty`'s records per report day: kept
    /// ([`DayTypeCache`](super::cache::DayTypeCache), adjusted by
    /// writes), or counted and kept. O(1) when kept.
    fn type_days(&self, ty: u32) -> Arc<Vec<(i32, u32)>> {
        let t = &self.t;
        (self.day_types).get_or_make(ty, || Arc::new(day_counts(t, t.types.payload(ty))))
    }

    /// The number of a query's matches when it is a big customer's records
    /// (of a component type, or of every type) in billing periods, and
    /// nothing else: a sum of the customer's counts of the type per period,
    /// each made by the first such query that needs it (an intersection
    /// with customer ∧ type, as the planner's) and kept, adjusted by writes
    /// ([`PeriodCountCache`](super::cache::PeriodCountCache)); or a
    /// component type's records in a report-date range, and nothing else:
    /// a sum of the type's kept counts per day (an offering's, a username
    /// search's likewise)
    /// ([`DayTypeCache`](super::cache::DayTypeCache)). `None` for
    /// any other query, which the planner counts. O(periods), or
    /// O(log days + the range's days), with the counts kept.
    fn known_count(&self, q: &Query) -> Option<u64> {
        let (t, f) = (&self.t, &q.filter);
        // A component type in a report-date range, and nothing else: the
        // type's kept counts per day (`Core::skip_days`'s), summed over
        // the range, where each page intersected the type with every day
        // of the range (`type=cpu` from March to September at 1M
        // records: 214 days, 0.3 to 0.4 ms a page).
        if f.kinds() == Filter::TYPE | Filter::DATES && q.scope.everything {
            let ty = type_id(t, f)?;
            let (lo, hi) = date_days(f);
            return Some(days_sum(&self.type_days(ty), lo, hi));
        }
        // An offering in a report-date range, perhaps of a type, and
        // nothing else: the offering's kept counts per day and type
        // (`OfferingDayCache`).
        if dated_offering(f, &q.scope) {
            let o = t.offerings.id(f.offering.as_ref()?)?;
            let ty = type_filter(t, f)?;
            let days = self.offering_days.get_or_make(o, || {
                let Some(span) = key_span(&t.days) else {
                    return Arc::new(Vec::new());
                };
                let rows = &t.offerings.get(o).rows;
                Arc::new(typed_counts(t, rows, span, |cu, _| {
                    micros_to_day(cu.date())
                }))
            });
            let (lo, hi) = date_days(f);
            return Some(typed_sum(&days, lo, hi, ty));
        }
        // An offering in billing periods, perhaps of a type, and nothing
        // else: the offering's kept counts per period and type
        // (`OfferingPeriodCache`).
        if periods_offering(f, &q.scope) {
            let o = t.offerings.id(f.offering.as_ref()?)?;
            let ty = type_filter(t, f)?;
            return periods_sum(t, f, &self.offering_period_counts(o), ty);
        }
        // A username search with a type or billing periods, and nothing
        // else: its kept records' counts per period and type
        // (`NeedleRowsCache`), when its records are kept
        // (`Core::needle_rows` keeps them for this), where the planner
        // intersected its records with each period (`ann` in a year at
        // 1M records: 170 µs).
        if typed_username(f, &q.scope) {
            let needle = f.username.as_deref()?;
            let ty = type_filter(t, f)?;
            let kinds = self
                .needle_rows
                .kinds_or_make(needle, |b| match key_span(&t.periods) {
                    Some(span) => typed_counts(t, b, span, |_, k| k.period),
                    None => Vec::new(),
                })?;
            return periods_sum(t, f, &kinds, ty);
        }
        // A username search in a report-date range, and nothing else: its
        // kept records' counts per day (`NeedleRowsCache`), when its
        // records are kept (`Core::needle_rows` keeps them for this).
        if dated_username(f, &q.scope) {
            let needle = f.username.as_deref()?;
            let days = self
                .needle_rows
                .days_or_make(needle, |b| day_counts(t, b))?;
            let (lo, hi) = date_days(f);
            return Some(days_sum(&days, lo, hi));
        }
        if !q.scope.everything
            || f.nothing
            || f.project.is_some()
            || f.offering.is_some()
            || f.resource_uuid.is_some()
            || f.resource.is_some()
            || f.username.as_deref().is_some_and(|s| !s.is_empty())
            // (Checked before any lookup: every count-only query asks.)
            || (f.year.is_none()
                && f.month.is_none()
                && f.billing_period.is_none()
                && f.date_after.is_none()
                && f.date_before.is_none())
        {
            return None;
        }
        let c = t.customers.id(f.customer.as_ref()?)?;
        let rows = &t.customers.get(c).rows;
        if rows.len() < PERIOD_COUNTS_MIN {
            return None;
        }
        // (An unknown type matches nothing: the planner's.)
        let ty = type_filter(t, f)?;
        let dated = f.date_after.is_some() || f.date_before.is_some();
        let periods = periods_of(t, f, dated)?;
        // Built on the first period not yet counted.
        let mut both: Option<RoaringBitmap> = None;
        let mut count = 0;
        // With a report-date range and a type, the periods the range keeps
        // whole are counted as kept, and those it cuts through are the
        // customer's records of the type in their cuts, when the cuts are
        // kept (the planner made them: `predicates`), else the planner
        // counts (the largest customer's CPU from 2025 at 1M records:
        // 42.5 -> 17.8 µs a page). Without a type, the planner's range
        // cardinalities of the periods over the customer's run cost less
        // than the cuts' intersections (1.3 µs against 4.2 for March to
        // September).
        // A kept count is made from the customer's records (of the type).
        let make = |part: &RoaringBitmap, both: &mut Option<RoaringBitmap>| match ty {
            Some(ty) => both
                .get_or_insert_with(|| Acc::new(rows).and(t.types.payload(ty)))
                .intersection_len(part),
            None => rows.intersection_len(part),
        };
        let key = ty.unwrap_or(ANY_TYPE);
        if dated {
            // (Without a type, the planner counts: see above.)
            ty?;
            let (lo, hi) = date_days(f);
            let sorted = PeriodsInRange::new(t, periods, true, lo, hi);
            for &(p, _) in &sorted.partial {
                let cut = self.cuts.get(cut_key(t, p, lo, hi))?;
                count += make(&cut, &mut both);
            }
            let whole = sorted.whole.iter().copied();
            count += (self.period_counts).sum(c, key, whole, |_, b| make(b, &mut both));
        } else {
            // (Not listed first: a year's twelve periods were a heap list.)
            count += (self.period_counts).sum(c, key, periods, |_, b| make(b, &mut both));
        }
        Some(count)
    }

    /// The number of records a planned filter matches.
    fn count_of(&self, cand: &Cand<'_>) -> u64 {
        match cand {
            Cand::All => self.t.live.len(),
            Cand::Set(b, e) => e.map_or_else(|| b.len(), |e| e.len),
            Cand::Few(v) => v.len() as u64,
            Cand::Counted(n) => *n,
            Cand::Filtered { count, .. } => *count,
            Cand::Lazy { count, .. } => *count,
            Cand::Days { count, .. } | Cand::RunsAnd { count, .. } => *count,
        }
    }

    /// The matches of a query whose filter is one project or resource, with
    /// at most a report-date range and billing period filters, and no
    /// scope: the entity's slots as runs in report-date order (its project
    /// is `Project::sorted_until`), narrowed by binary searches to the date
    /// range and to the report days of the selected billing periods. Of
    /// those, the records on days no other period has ([`pure_days`], found
    /// by two more binary searches) match untested, and the rest are tested
    /// one by one (all of them in a window of at most [`SEQ_TEST_ALL`]): a
    /// project's year tests its first and last few days. `None` for any
    /// other query, an unsorted project, a tail too long (see
    /// [`Core::entity_seq`]), or more than [`SEQ_TESTS_MAX`] records to
    /// test. O(runs + periods + log n + the tested records).
    fn date_seq(&self, q: &Query) -> Option<DateSeq<'_>> {
        let (t, f) = (&self.t, &q.filter);
        if !q.scope.everything
            || f.nothing
            || f.customer.is_some()
            || f.offering.is_some()
            || f.username.as_deref().is_some_and(|s| !s.is_empty())
            || f.component_type.as_deref().is_some_and(|s| !s.is_empty())
        {
            return None;
        }
        let (lo, hi, check) = seq_bounds(t, f);
        let mut seq = match (f.project, f.resource_uuid, f.resource) {
            (Some(p), None, None) => {
                let id = t.projects.id(&p)?;
                let p = t.projects.get(id);
                let mut seq = self.entity_seq(&p.rows, p.sorted_until, Some(id))?;
                self.narrow(&mut seq, lo, hi);
                seq
            }
            (None, Some(r), None) | (None, None, Some(r)) => {
                let r = t.resources.get(t.resources.id(&r)?);
                let pr = t.projects.get(r.project);
                match run_of(pr) {
                    Some(run) => self.resource_window(&r.rows, run, lo, hi),
                    None => {
                        let mut seq = self.entity_seq(&r.rows, pr.sorted_until, None)?;
                        self.narrow(&mut seq, lo, hi);
                        seq
                    }
                }
            }
            _ => return None,
        };
        if let Some(check) = &check
            && let SeqSlots::Listed(v) = &mut seq.slots
            && seq.tail.is_empty()
            && seq.hi - seq.lo <= SEQ_TEST_ALL
        {
            // A resource's window, listed: its failures dropped in place.
            v.truncate(seq.hi as usize);
            v.drain(..seq.lo as usize);
            match check.period_range() {
                // (The test inline: a call and a dispatch per record was
                // as much as the loads.)
                Some((a, b)) => {
                    v.retain(|&s| (a..=b).contains(&t.kind_of(t.cus.get(t.row(s).cu)).period))
                }
                None => v.retain(|&s| check.test(t, s)),
            }
            let n = v.len() as u32;
            (seq.plen, seq.lo, seq.hi) = (n, 0, n);
        } else if let Some(check) = check {
            // Only the records outside the pure days are tested, once
            // finding those days costs less than testing them all.
            let (a, b) = match &check {
                _ if seq.hi - seq.lo <= SEQ_TEST_ALL => (seq.hi, seq.hi),
                Check::Periods(keys, _) => match pure_days(t, keys) {
                    Some((x, y)) => (
                        self.first_at(&seq, day_start(x)),
                        self.first_at(&seq, day_start(y.saturating_add(1))),
                    ),
                    None => (seq.hi, seq.hi),
                },
                _ => (seq.hi, seq.hi),
            };
            if (a - seq.lo) + (seq.hi - b) > SEQ_TESTS_MAX {
                return None;
            }
            let pass = |p: u32| Some(seq.slot(p)).filter(|&s| check.test(t, s));
            let mut edges: Vec<u32> = (seq.lo..a).filter_map(pass).collect();
            let head = edges.len() as u32;
            edges.extend((b..seq.hi).filter_map(pass));
            seq.kept = Some(Kept {
                edges,
                head,
                mid: a..b,
            });
        }
        Some(seq)
    }

    /// The records of `rows` (a resource's) reported in `[lo, hi)`
    /// microseconds, listed, when their project is `run`, one run of slots
    /// in date order (after a load): the window's bounds are two binary
    /// searches of the run by slot number, and only the resource's records
    /// within them are read. Listing every record of the resource, then
    /// searching the list, was half of the site agent's read of one
    /// billing period. O(log n + the window's records).
    fn resource_window<'a>(
        &self,
        rows: &RoaringBitmap,
        run: std::ops::Range<u32>,
        lo: Micros,
        hi: Micros,
    ) -> DateSeq<'a> {
        let first = |r, bound| first_dated(&self.t, r, bound, |s| s);
        let a = if lo > Micros::MIN {
            first(run.clone(), lo)
        } else {
            run.start
        };
        let b = if hi < Micros::MAX {
            first(a..run.end, hi)
        } else {
            run.end
        };
        let mut it = rows.iter();
        it.advance_to(a);
        // A resource has a few records a billing period: room for them
        // up front (growing from nothing reallocated at the fifth).
        let mut v: Vec<u32> = Vec::with_capacity(WINDOW_CAPACITY);
        v.extend(it.take_while(|&s| s < b));
        let n = v.len() as u32;
        DateSeq {
            slots: SeqSlots::Listed(v),
            plen: n,
            tail: Tail::Own(Vec::new()),
            lo: 0,
            hi: n,
            kept: None,
        }
    }

    /// The slots of `rows`, records of one project whose split is `split`
    /// (`Project::sorted_until`), as a [`DateSeq`] over all of them: the
    /// prefix as runs or by rank, the tail in the reverse of the default
    /// order (by date first). The
    /// tail of project `shared` (`rows` are its records) is sorted by the
    /// first query after a write and shared by the next ones. `None` when
    /// the tail holds more than [`SEQ_TAIL_SHARED_MAX`] records (a
    /// project's) or [`SEQ_TAIL_MAX`] (a resource's), or the prefix more
    /// than [`SEQ_RUNS_MAX`] runs. O(runs + tail), and O(tail log tail)
    /// for the first query that sorts it.
    fn entity_seq<'a>(
        &'a self,
        rows: &'a RoaringBitmap,
        split: u32,
        shared: Option<u32>,
    ) -> Option<DateSeq<'a>> {
        let t = &self.t;
        // (A bitmap's length is a sum over its containers.)
        let len = rows.len();
        // The prefix in order, then the tail sorted.
        let plen = match split {
            u32::MAX => len,
            0 => 0,
            b => rows.rank(b - 1),
        };
        let max = if shared.is_some() {
            SEQ_TAIL_SHARED_MAX
        } else {
            SEQ_TAIL_MAX
        };
        if len - plen > max {
            return None;
        }
        let sort = || {
            let mut it = rows.iter();
            it.advance_to(split);
            let mut tail: Vec<u32> = it.collect();
            tail.sort_by_cached_key(|&s| t.seq_key(s));
            tail
        };
        let tail = match shared {
            _ if plen == len => Tail::Own(Vec::new()),
            Some(p) => Tail::Shared(self.tails.get_or_make(p, || sort().into())),
            None => Tail::Own(sort()),
        };
        let plen = plen as u32;
        // One run (a project's, after a load) needs no list: its positions
        // are offsets.
        if let Some(first) = rows.min().filter(|_| plen > 0) {
            let last = if u64::from(plen) == len {
                rows.max()
            } else {
                rows.select(plen - 1)
            };
            if last == Some(first + (plen - 1)) {
                return Some(DateSeq {
                    slots: SeqSlots::Run(first),
                    plen,
                    tail,
                    lo: 0,
                    hi: len as u32,
                    kept: None,
                });
            }
        }
        // A few records (a resource's, spread over its project's run) are
        // listed: the binary searches by date and the page read a dozen of
        // them, each a `select` that walks the container's runs (per-user
        // records of one component usage are adjacent, so a resource's
        // array is often runs): 4,284 of `resource_period`'s 7,417
        // instructions at 1M. Many runs (new reports appended among other
        // projects' since the load) are reached by rank; otherwise the
        // prefix is taken as runs (a project's, after a load).
        if len <= SEQ_LIST_MAX {
            let mut v = Vec::with_capacity(plen as usize);
            let mut it = rows.iter();
            while let Some(r) = it.next_range() {
                if *r.start() >= split {
                    break;
                }
                v.extend(*r.start()..=(*r.end()).min(split.saturating_sub(1)));
            }
            return Some(DateSeq {
                slots: SeqSlots::Listed(v),
                plen,
                tail,
                lo: 0,
                hi: len as u32,
                kept: None,
            });
        }
        let runs = (|| {
            let mut runs = Vec::new();
            let mut it = rows.iter();
            while let Some(r) = it.next_range() {
                if *r.start() >= split {
                    break;
                }
                if runs.len() == SEQ_RUNS_MAX {
                    return None;
                }
                runs.push(*r.start()..(*r.end()).min(split - 1) + 1);
            }
            Some(runs)
        })();
        let slots = match runs {
            None => SeqSlots::Select(rows),
            Some(runs) => {
                let ends = runs
                    .iter()
                    .scan(0, |n, r| {
                        *n += r.end - r.start;
                        Some(*n)
                    })
                    .collect();
                SeqSlots::Runs { runs, ends }
            }
        };
        Some(DateSeq {
            slots,
            plen,
            tail,
            lo: 0,
            hi: len as u32,
            kept: None,
        })
    }

    /// Narrows a [`DateSeq`]'s window to the records reported in
    /// `[lo, hi)` microseconds, by binary searches. O(log n log runs).
    fn narrow(&self, seq: &mut DateSeq<'_>, lo: Micros, hi: Micros) {
        if lo > Micros::MIN {
            seq.lo = self.first_at(seq, lo);
        }
        if hi < Micros::MAX {
            seq.hi = self.first_at(seq, hi);
        }
        seq.hi = seq.hi.max(seq.lo);
    }

    /// The first position of a [`DateSeq`]'s window (`lo..hi`) dated at or
    /// after `bound`, `hi` if none: a binary search. O(log n log runs).
    fn first_at(&self, seq: &DateSeq<'_>, bound: Micros) -> u32 {
        first_dated(&self.t, seq.lo..seq.hi, bound, |p| seq.slot(p))
    }

    /// The matches of a query in the default order whose customer and
    /// project filters and scope admit at most [`MERGE_PROJECTS_MAX`]
    /// ([`MERGE_PROJECTS_TYPED_MAX`] with a type, [`MERGE_PROJECTS_DATED_MAX`]
    /// with a date range, [`MERGE_PROJECTS_DATED_TYPED_MAX`] with both)
    /// projects, with at most a component type and a report-date range:
    /// each project's records in date order (see [`Core::date_seq`]; a
    /// whole project that is one run of slots in date order, just its
    /// bounds: [`MergeSeq::runs`]), narrowed to the date range by binary
    /// searches, to be merged from their ends by date
    /// ([`Core::merge_page`]). A small customer's usage table, a user's
    /// visibility scope. The count of a type: a whole customer's kept
    /// count, a whole project's (`Project::type_rows`), else the type's
    /// records in the window's runs of slots ([`range_len`]), and the
    /// rest tested. `None` for any other query
    /// (billing periods are the planner's), or when a project is not a
    /// [`DateSeq`] or the tests would exceed [`SEQ_TESTS_MAX`].
    /// O(projects × (runs + log n) + the tested records).
    fn merge_seq<'a, 'b>(
        &'a self,
        q: &Query,
        seqs: &'b mut SeqBuf<'a>,
    ) -> Option<MergeSeq<'a, 'b>> {
        let (t, f) = (&self.t, &q.filter);
        if f.nothing
            || f.offering.is_some()
            || f.resource_uuid.is_some()
            || f.resource.is_some()
            || f.username.as_deref().is_some_and(|s| !s.is_empty())
        {
            return None;
        }
        // Billing periods are left to the planner: their bitmaps within a
        // customer's run answer them in a few range lookups, where each
        // project's binary search by date reads a dozen records.
        if f.year.is_some() || f.month.is_some() || f.billing_period.is_some() {
            return None;
        }
        // (An unknown type is the planner's.)
        let ty = type_filter(t, f)?;
        let dated = f.date_after.is_some() || f.date_before.is_some();
        let max = match (dated, ty.is_some()) {
            (true, true) => MERGE_PROJECTS_DATED_TYPED_MAX,
            (true, false) => MERGE_PROJECTS_DATED_MAX,
            (false, true) => MERGE_PROJECTS_TYPED_MAX,
            (false, false) => MERGE_PROJECTS_MAX,
        };
        let MergeScope {
            projects,
            whole,
            whole_projects,
        } = self.merge_scope(f, &q.scope, max)?;
        let (lo, hi) = date_bounds(f);
        let (mut count, mut tests) = (0u64, 0u32);
        let bm = ty.map(|ty| t.types.payload(ty));
        // Without a date range every window is its whole project, so the
        // type's records in the projects of a customer the query takes
        // whole (its filter, or one of the scope's) are the customer's
        // count of the type (`Customer::type_rows`), not one per project.
        let unbounded = lo == Micros::MIN && hi == Micros::MAX;
        let whole_projects = match ty {
            Some(ty) if unbounded => {
                // Kept by writes: an intersection of the customer's bitmap
                // with the type's walked both container lists (a sixth of
                // `scoped`'s instructions at 1M, with the other projects'
                // counts).
                for &c in &whole {
                    let rows = &t.customers.get(c).type_rows;
                    count += u64::from(rows.get(ty as usize).copied().unwrap_or(0));
                }
                whole_projects
            }
            _ => 0,
        };
        let mut runs = SmallVec::new();
        let mut walk = 0u64;
        for (i, p) in projects.into_iter().enumerate() {
            let pr = t.projects.get(p);
            let counted = i < whole_projects;
            // A whole project that is one run in date order (after a
            // load): counted from its bounds (see `MergeSeq::runs`).
            if unbounded && let Some(run) = run_of(pr) {
                let len = run.len() as u32;
                // Kept by writes, below the (rare) limit of a u16.
                let kept = ty.and_then(|ty| pr.type_rows.get(ty as usize).copied());
                if kept == Some(0) {
                    // None of the type: no cursor (opening one searched
                    // the type's bitmap for nothing).
                    continue;
                }
                count += match (bm, kept) {
                    _ if counted => 0,
                    (Some(_), Some(n)) if n != super::entities::UNKEPT => u64::from(n),
                    (Some(bm), _) => range_len(bm, run.clone()),
                    _ => u64::from(len),
                };
                walk += u64::from(len);
                runs.push((run.start, len, p));
                continue;
            }
            let mut seq = self.entity_seq(&pr.rows, pr.sorted_until, Some(p))?;
            self.narrow(&mut seq, lo, hi);
            if seq.hi == seq.lo {
                continue;
            }
            if counted {
                seqs.push(seq);
                continue;
            }
            if let Some(bm) = bm {
                // The window's prefix part is runs of the project's slots
                // (one after a load), each counted in the type's bitmap as
                // a range; the rest tested.
                let end = seq.hi.min(seq.plen);
                let tested = match &seq.slots {
                    SeqSlots::Select(_) | SeqSlots::Listed(_) => seq.lo..seq.hi,
                    _ if seq.lo >= end => seq.lo..seq.hi,
                    slots => {
                        let span = seq.slot(seq.lo)..seq.slot(end - 1) + 1;
                        count += match slots {
                            SeqSlots::Runs { runs, .. } => runs
                                .iter()
                                .map(|r| {
                                    range_len(bm, r.start.max(span.start)..r.end.min(span.end))
                                })
                                .sum(),
                            _ => range_len(bm, span),
                        };
                        end..seq.hi
                    }
                };
                tests += tested.len() as u32;
                if tests > SEQ_TESTS_MAX {
                    return None;
                }
                count += tested.filter(|&p| bm.contains(seq.slot(p))).count() as u64;
            } else {
                count += u64::from(seq.hi - seq.lo);
            }
            seqs.push(seq);
        }
        walk += seqs.iter().map(|s| u64::from(s.hi - s.lo)).sum::<u64>();
        Some(MergeSeq {
            seqs: &*seqs,
            runs,
            ty,
            count,
            walk,
        })
    }

    /// The projects a query's customer and project filters and its scope
    /// (customers and projects; not offerings) admit, when at least one of
    /// them restricts the query and the admitted projects are at most
    /// `max`, in no order; and the customers of which the query takes
    /// every project: its customer filter's (if the scope takes it whole),
    /// or with no filter the scope's. Each uuid is looked up once: the
    /// lists were built by two functions, each resolving the scope, and
    /// sorted to drop duplicates, a tenth of a scoped query's
    /// instructions. O(admitted projects + scope²), the scope a few uuids.
    fn merge_scope(&self, f: &Filter, scope: &Scope, max: usize) -> Option<MergeScope> {
        let t = &self.t;
        if !scope.everything && !scope.offerings.is_empty() {
            return None;
        }
        // An unknown uuid matches nothing: left to the planner, as cheap.
        let customer = f
            .customer
            .map(|u| t.customers.id(&u))
            .map_or(Some(None), |c| c.map(Some))?;
        let project = f
            .project
            .map(|u| t.projects.id(&u))
            .map_or(Some(None), |p| p.map(Some))?;
        let takes_whole =
            |c: u32| scope.everything || scope.customers.contains(&t.customers.get(c).uuid);
        let mut out = MergeScope {
            projects: SmallVec::new(),
            whole: SmallVec::new(),
            whole_projects: 0,
        };
        if let (Some(p), Some(u)) = (project, f.project) {
            let c = t.projects.get(p).customer;
            if customer.is_none_or(|x| x == c) && (takes_whole(c) || scope.projects.contains(&u)) {
                out.projects.push(p);
            }
        } else if let Some(c) = customer {
            let all = &t.customers.get(c).projects[..];
            if all.len() > max {
                return None;
            }
            if takes_whole(c) {
                out.projects.extend_from_slice(all);
                out.whole.push(c);
                out.whole_projects = all.len();
            } else {
                // Only the scope's projects of the customer.
                for p in scope.projects.iter().filter_map(|u| t.projects.id(u)) {
                    if t.projects.get(p).customer == c && !out.projects.contains(&p) {
                        out.projects.push(p);
                    }
                }
            }
        } else if !scope.everything {
            // Distinct customers' project lists are disjoint: only the
            // scope's projects can repeat a listed one.
            for c in scope.customers.iter().filter_map(|u| t.customers.id(u)) {
                if out.whole.contains(&c) {
                    continue;
                }
                let all = &t.customers.get(c).projects[..];
                if out.projects.len() + all.len() > max {
                    return None;
                }
                out.projects.extend_from_slice(all);
                out.whole.push(c);
            }
            out.whole_projects = out.projects.len();
            for p in scope.projects.iter().filter_map(|u| t.projects.id(u)) {
                if !out.whole.contains(&t.projects.get(p).customer)
                    && !out.projects[out.whole_projects..].contains(&p)
                {
                    out.projects.push(p);
                }
            }
        } else {
            return None;
        }
        (out.projects.len() <= max).then_some(out)
    }

    /// A page in the default order of a [`MergeSeq`]'s matches: its
    /// sequences read from their ends, the latest record of all first (a
    /// list sorted by date), testing the type, until the page's last match
    /// and every match of its report date are read; those sorted.
    /// O((offset + limit) / selectivity × projects), the factor a short
    /// move of at most [`MERGE_PROJECTS_DATED_TYPED_MAX`] entries.
    fn merge_page(&self, m: &MergeSeq<'_, '_>, offset: usize, limit: usize) -> Vec<u32> {
        let t = &self.t;
        let date = |s: u32| t.cus.get(t.row(s).cu).date();
        let want = offset + limit;
        // A sequence's cursor is opened when its window's latest record
        // reaches the end of the list: the sequences whose records are all
        // older than the page never make one.
        // On the stack for a few projects: a buffer of 20 projects'
        // sequences or cursors (112 and 160 bytes each) was a large request,
        // for which glibc first consolidates its freed small chunks: an
        // eighth of a scoped query's instructions.
        // Only the opened cursors are made: a list of every sequence's
        // optional cursor was written whole (160 bytes each) to say none
        // was open. `opened[i]` is sequence i's place in `cursors`.
        // Whole projects' records of the type kept by earlier queries: one
        // read of the cache for every cursor.
        let kept = (m.ty.is_some() && !m.runs.is_empty()).then(|| self.typed_runs.read());
        let mut cursors: SmallVec<[MergeCursor<'_>; MERGE_INLINE]> = SmallVec::new();
        // (Sequence i of `m.seqs`, then `m.runs`.)
        let n = m.seqs.len();
        let mut opened_buf: SmallVec<[u32; MERGE_INLINE]> =
            smallvec::smallvec![u32::MAX; n + m.runs.len()];
        // Slices from here on: every access to a `SmallVec` tests whether
        // it spilled (a twentieth of a scoped query's instructions).
        let opened = &mut opened_buf[..];
        // (date, sequence, slot) of each sequence's next match; before its
        // cursor is opened, of its window's latest record (no match is
        // later). Kept sorted by date, latest last: the next is popped
        // from the end, and a cursor's next match is moved into place from
        // the end (it is rarely far: the cursor's last was the latest),
        // where a heap was allocated and sifted through its levels.
        let mut heads_buf: SmallVec<[(Micros, u32, u32); MERGE_INLINE]> = m
            .seqs
            .iter()
            .map(|s| s.at(s.window().1 - 1))
            .chain(m.runs.iter().map(|&(first, len, _)| first + (len - 1)))
            .enumerate()
            .map(|(i, last)| (date(last), i as u32, last))
            .collect();
        heads_buf.sort_unstable_by_key(|h| h.0);
        // `heads[..live]`: a head is popped before its cursor's next is
        // put back, so the list never outgrows its start.
        let heads = &mut heads_buf[..];
        let mut live = heads.len();
        // (date, slot) of the matches read, latest first: the merge pops
        // dates in descending order, so only records of one date (rare
        // but for re-reports) need the rest of the default order.
        let mut got: SmallVec<[(Micros, u32); 2 * MERGE_INLINE]> = SmallVec::new();
        // Once the page's last match is read, the rest of its date's.
        let mut bound = Micros::MIN;
        while live > 0 {
            live -= 1;
            let (d, i, slot) = heads[live];
            if d < bound {
                break;
            }
            let cursor = match opened[i as usize] {
                u32::MAX => {
                    opened[i as usize] = cursors.len() as u32;
                    cursors.push(match m.seqs.get(i as usize) {
                        Some(seq) => MergeCursor::new(t, seq, m.ty),
                        None => MergeCursor::of_run(t, m.runs[i as usize - n], m.ty, kept.as_ref()),
                    });
                    cursors.last_mut().expect("just pushed")
                }
                k => {
                    got.push((d, slot));
                    if got.len() == want {
                        bound = d;
                    }
                    &mut cursors[k as usize]
                }
            };
            if let Some(s) = cursor.next(t) {
                // Moved into place a step at a time: the move is short, and
                // `insert`'s `memmove` call for a few bytes was a tenth of
                // a scoped query's time. It stays after heads of its date
                // (their order is the groups' sort's): after a re-report
                // many share the latest.
                let d = date(s);
                let h = &mut heads[..=live];
                let mut j = live;
                live += 1;
                while j > 0 && h[j - 1].0 > d {
                    h[j] = h[j - 1];
                    j -= 1;
                }
                h[j] = (d, i, s);
            }
        }
        // The projects' records this merge made are kept for the next.
        // (Taken from the cursors in place: moving the list moved its
        // whole inline buffer.)
        let mut made = (cursors.iter_mut())
            .filter_map(|c| match (c.typed.take(), m.ty) {
                (Some(Typed::Made(p, v)), Some(ty)) => Some((p, ty, v)),
                _ => None,
            })
            .peekable();
        if made.peek().is_some() {
            let made: Vec<_> = made.collect();
            drop(cursors);
            drop(kept);
            self.typed_runs.keep(made);
        }
        // Each group of one date sorted by the rest of the default order
        // (type rank, uuid); where every date differs there is none: the
        // sort of the whole list read every record's keys again (a
        // fourteenth of a scoped query's instructions).
        let mut out: Vec<u32> = got.iter().map(|g| g.1).collect();
        self.sort_date_groups(&got, &mut out, m.ty.is_some());
        out.drain(..offset.min(out.len()));
        out.truncate(limit);
        out
    }

    /// A page in the default order (report date descending, then type rank
    /// and uuid) of a [`DateSeq`]'s matches: the matches at the page's
    /// distance from the end, read backwards, since a sequence is in
    /// exactly the reverse of that order, ties of date included. (Ordered
    /// by date alone, the prefix needed the page widened to whole groups
    /// of one date and sorted: 8 % of `date_range_project`.) O(limit).
    fn date_seq_page(&self, seq: &DateSeq<'_>, offset: usize, limit: usize) -> Vec<u32> {
        let (_, hi) = seq.window();
        let b = hi - offset as u32;
        (b - limit as u32..b).rev().map(|p| seq.at(p)).collect()
    }

    /// A page of a planned query's matches, `count` of them
    /// ([`Core::count_of`]).
    #[allow(clippy::too_many_arguments)] // a few call sites; a struct would only rename them
    fn page_slots(
        &self,
        cand: &Cand<'_>,
        count: u64,
        f: &Filter,
        scope: &Scope,
        order: &[OrderKey],
        offset: usize,
        limit: usize,
    ) -> Vec<u32> {
        let keys = effective_keys(order);
        let t = &self.t;
        // Every match has the filter's type: a walk of the default view
        // jumps over other types' records of one report time (`Jump`).
        let rank = type_id(t, f).map(|ty| t.type_rank[ty as usize]);
        if let Cand::Few(v) = cand {
            let by_slot = v
                .last()
                .is_some_and(|&max| self.ties_worth_slots(f, &keys, v.len(), max));
            return self.sort_slots(v, &keys, offset, limit, by_slot);
        }
        if let Cand::Days { runs, days, .. } = cand {
            if keys.is_empty() {
                return self
                    .days_page(
                        runs,
                        days.iter().copied(),
                        None,
                        false,
                        None,
                        offset,
                        limit,
                        usize::MAX,
                    )
                    .expect("no budget");
            }
            let set = union_within(runs, days, true);
            let n = set.len();
            return self.page_slots(
                &Cand::Set(Cow::Owned(set), None),
                n,
                f,
                scope,
                order,
                offset,
                limit,
            );
        }
        if let Cand::RunsAnd {
            count,
            base,
            runs,
            other,
        } = cand
        {
            // Days to read if the matches were spread evenly over the
            // store's days, against sorting them all (in the same units).
            // A few entities' records cluster in their periods: read days
            // only when that is much cheaper, and give up at half the sort.
            let count = *count as usize;
            let days = (offset + limit).saturating_mul(t.days.len()) / count.max(1);
            let day_ns = runs.len() * DAY_RUN_NS;
            let sort = count.saturating_mul(SORT_DENSE_NS) + SORT_BASE_NS;
            if keys.is_empty()
                && days.saturating_mul(day_ns).saturating_mul(4) <= sort
                && let Some(v) = self.days_page(
                    runs,
                    t.days.values(),
                    Some(other),
                    true,
                    rank,
                    offset,
                    limit,
                    sort / 2 / day_ns,
                )
            {
                return v;
            }
            let set = Acc::new(base).and(other);
            let n = set.len();
            return self.page_slots(
                &Cand::Set(Cow::Owned(set), None),
                n,
                f,
                scope,
                order,
                offset,
                limit,
            );
        }
        // In the default view (date descending) a report-date range is one
        // contiguous run: walk only that.
        // The records of billing periods lie within the periods' day bounds.
        // Finding their run costs two binary searches of the view (~40 random
        // reads): not worth it for a few matches, which are sorted anyway.
        // The set's length and bounds, once (see `Extent`).
        let set = match cand {
            Cand::Set(b, e) => e.unwrap_or_else(|| Extent::of(b, count)),
            Cand::Filtered { base, .. } => Extent::of(base, base.len()),
            _ => Extent {
                len: 0,
                min: 0,
                max: 0,
            },
        };
        let matches = match cand {
            Cand::All => usize::MAX,
            Cand::Set(..) => count as usize,
            Cand::Few(v) => v.len(),
            Cand::Lazy { count, .. }
            | Cand::Filtered { count, .. }
            | Cand::Counted(count)
            | Cand::Days { count, .. }
            | Cand::RunsAnd { count, .. } => *count as usize,
        };
        if matches <= SMALL
            && let Cand::Set(b, _) = cand
        {
            // A few matches are sorted at once: locating a run of a view to
            // walk would cost more (two binary searches of random reads).
            return self.sort_page(b, &keys, offset, limit, f);
        }
        let narrow = keys.is_empty() && matches > SMALL;
        let mut lo = f.date_after.map(date_to_day);
        let mut hi = f.date_before.map(date_to_day);
        if narrow && let Some(periods) = selected_periods(t, f) {
            let (a, b) = period_days(t, periods.map(|(p, _)| p)).unwrap_or((i32::MAX, i32::MIN));
            lo = Some(lo.map_or(a, |x| x.max(a)));
            hi = Some(hi.map_or(b, |x| x.min(b)));
        }
        // By usage, an offering's matches lie in the parts of the usage
        // view of its records' types (`Core::offering_types`): only those
        // are walked.
        let by_usage = keys.first().is_some_and(|k| k.field == SortField::Usage);
        let only = (by_usage && type_id(t, f).is_none())
            .then(|| self.filter_types(f))
            .flatten();
        let span = if by_usage && let Some(ty) = type_id(t, f) {
            // One type's records are one part of the usage view.
            self.usage_part(ty)
        } else if let Some([ty]) = only.as_deref() {
            self.usage_part(*ty)
        } else if keys.is_empty() && (lo.is_some() || hi.is_some()) {
            let start = hi.map_or(0, |d| self.day_pos(d.saturating_add(1)));
            let stop = lo.map_or(self.t.live.len() as usize, |d| self.day_pos(d));
            start..stop.max(start)
        } else {
            0..self.t.live.len() as usize
        };
        // (Several types' parts, merged: their records.)
        let only = only.filter(|o| o.len() > 1);
        let n = match &only {
            Some(o) => o.iter().map(|&ty| self.usage_part(ty).len()).sum(),
            None => span.len(),
        };
        let (member, count): (Member<'_>, usize) = match cand {
            Cand::All => (Member::All, n),
            Cand::Set(b, _) => match one_run(set) {
                Some(r) => (Member::Run(r), set.len as usize),
                None => (Member::Set(b), set.len as usize),
            },
            Cand::Counted(_) => unreachable!("a counted query fetches nothing"),
            Cand::Few(_) | Cand::Days { .. } | Cand::RunsAnd { .. } => {
                unreachable!("handled above")
            }
            Cand::Filtered {
                count, base, check, ..
            } => match one_run(set) {
                Some(r) => (Member::RunFiltered(r, t, check), *count as usize),
                None => (Member::Filtered(base, t, check), *count as usize),
            },
            Cand::Lazy { count, check, .. } => (Member::Check(t, check), *count as usize),
        };
        // Every record of the span matches: no test. (`Member::All` is
        // the whole view, which the walk reads by position.)
        let member = if count == n && !matches!(member, Member::All) {
            Member::Span
        } else {
            member
        };
        if let Member::All = member {
            return self
                .walk_page(
                    &member,
                    span,
                    None,
                    n,
                    &keys,
                    offset,
                    limit,
                    usize::MAX,
                    rank,
                )
                .expect("an unbounded walk completes");
        }
        // Expected view steps to collect the page if matches are spread
        // evenly, against the cost of sorting the matches.
        // A walk in the view's own order can start from either end, and so
        // can one of the usage view's merged parts (`walk_page`).
        let merged = by_usage && (n == self.t.live.len() as usize || only.is_some());
        let simple = merged || keys.len() <= 1 && !keys.first().is_some_and(|k| k.descending);
        let reach = if merged && keys.len() == 1 && count == n && selects(offset, limit, count) {
            // Found by selection (`Core::usage_group_at`).
            limit
        } else if simple {
            (offset + limit).min(count - offset)
        } else {
            offset + limit
        };
        let walk = reach.saturating_mul(n) / count.max(1);
        // The sort's cost in walk steps.
        let sort_ns = match cand {
            Cand::Set(..) | Cand::Filtered { .. } => sort_ns(set),
            _ => SORT_SCATTERED_NS,
        };
        // A base tested against a report-date range makes its matches
        // first (`filtered_matches`): a test of each of its records. (In
        // the default order only, where the range is the walk's span: in
        // another, the walk's budget grew with it, and a walk that gave up
        // cost more than the sort it fell back to.)
        let make_ns = match cand {
            Cand::Filtered {
                base,
                check: Check::Dates(..),
                ..
            } if keys.is_empty() => (base.len() as usize).saturating_mul(FILTER_TEST_NS),
            _ => 0,
        };
        // A page near the front of a usage order is selected from the
        // matches' usages alone (a heap of the page's, `Core::sort_slots`):
        // a row read per match, in slot order, where a full sort reads
        // every key. (A filtered base is tested first.) So is a page near
        // the front of any order of one key over a project's sorted
        // prefix, whose ties go by slot (`Core::ties_by_slot`): each
        // match's key and slot, with no tie to key further.
        let by_slot = keys.len() == 1
            && matches!(cand, Cand::Set(..) | Cand::Filtered { .. })
            && set.len > 0
            && self.ties_by_slot(f, set.max);
        let near = (offset + limit).saturating_mul(TOP_HEAP_RATIO) <= count;
        let top = (by_usage || by_slot) && near;
        let top_ns = if by_slot { SLOT_TOP_NS } else { USAGE_TOP_NS };
        let (sort_ns, make_ns) = match cand {
            Cand::Filtered { base, .. } if top => {
                (top_ns, (base.len() as usize).saturating_mul(FILTER_TEST_NS))
            }
            _ if top => (top_ns, make_ns),
            _ => (sort_ns, make_ns),
        };
        // A step of the usage view's merged parts costs a merge's step.
        let step_ns = if merged {
            member.step_ns(set).max(MERGE_STEP_NS)
        } else {
            member.step_ns(set)
        };
        let sort = (count.saturating_mul(sort_ns) + SORT_BASE_NS + make_ns) / step_ns;
        // Matches may cluster away from the walk's start. Report dates are
        // the default view's order, and filters other than dates (narrowed
        // to their span above) are spread evenly over them: walk when that
        // is cheaper, giving up at the sort's cost. Usage magnitudes differ
        // by component type and entity, names by entity: walk those views
        // only when an even spread would make it much cheaper than the
        // sort, and give up at half its cost (at worst 1.5 times the sort).
        let (ratio, budget) = if keys.is_empty() {
            (1, sort)
        } else if top && by_usage {
            // A page near the front of a usage order: a walk that an even
            // spread puts at half the heap's cost is tried first, and gives
            // up at half that cost. Most filters spread their matches
            // about evenly over the usage view (a billing period's page 1
            // at 1M records walked 1,591 steps where an even spread would
            // take 861; the largest customer's page 100, 9,200 against
            // 9,500). An offering's components set its usages'
            // magnitudes, so its records cluster at one end or the other:
            // the tenth offering's page 1 walked 8,796 steps against 487
            // by `-usage` (234 µs; the walk now gives up, and the heap
            // takes 85 µs), 524 by `usage` (16 µs). (Giving up at a
            // few times the spread's steps made the biggest offering's
            // page 1, whose heap reads 223,813 usages, 2 ms, where its
            // walk takes 10 µs.)
            (2, sort / 2)
        } else {
            (4, sort / 2)
        };
        // A deep page of the default order over a set: whole report days
        // between it and the nearer end are skipped by their counts, where
        // the walk would test each of their records (an export paging
        // through a customer or a component type).
        let walk_ns = walk.saturating_mul(step_ns);
        if keys.is_empty() && walk_ns >= DAY_SKIP_WALK_NS {
            // What to count by day: the set (`None`: every record), and
            // the billing periods with whether the set is exactly theirs.
            // The set may be one billing period's own bitmap (the filter
            // names one period, or a year and month, and nothing else):
            // then it is counted as the period, a day it alone has whole,
            // where intersecting each day with the period's large
            // containers cost 130,000 instructions a day.
            let own = match cand {
                Cand::Set(b, _) => own_period(t, f, b),
                _ => None,
            };
            // The set may be one component type's own bitmap (the filter
            // names a type, perhaps with billing periods): its days are
            // counted from the kept counts (`Core::day_types`).
            let own_type = |b: &RoaringBitmap| {
                type_id(t, f).filter(|&ty| std::ptr::eq(b, t.types.payload(ty)))
            };
            // A set no kept counts describe, not one run (counted by
            // ranges): its matches' counts by day, kept by query
            // (`DayCounts::Query`).
            let by_query = (!matches!(member, Member::Run(_) | Member::RunFiltered(..)))
                .then_some(DayCounts::Query(f, scope, cand));
            let union;
            let counted = match cand {
                Cand::Set(b, _) => Some((
                    Some(&**b),
                    own.as_ref().map(|c| (c, true)),
                    own_type(b).map(DayCounts::Type).or(by_query),
                )),
                // A type's kept counts, tested on the periods' shared
                // days; any other base's by query (`base` ∩ each day was
                // its whole set read per day: an offering's year).
                Cand::Filtered {
                    base,
                    check: check @ Check::Periods(..),
                    ..
                } if own_type(base).is_some() || by_query.is_none() => Some((
                    Some(&**base),
                    Some((check, false)),
                    own_type(base).map(DayCounts::Type),
                )),
                Cand::Lazy {
                    check: check @ Check::Periods(..),
                    ..
                } => Some((None, Some((check, false)), None)),
                // A username search's names: their union built once, when
                // the walk's estimate reaches its cost, then counted by day
                // as a set (the walk still tests the names). Kept for the
                // next pages ([`NeedleRowsCache`](super::cache::NeedleRowsCache)),
                // which paid for it each (`username=ann&page=1000`: 498 µs).
                Cand::Lazy {
                    check: Check::Usernames(_),
                    parts,
                    ..
                } if walk_ns >= count * UNION_VALUE_NS + parts.len() * UNION_PART_NS => {
                    let needle = f.username.as_deref().unwrap_or_default();
                    union = self
                        .needle_rows
                        .get_or_make(needle, || parts.iter().copied().union());
                    Some((Some(&*union), None, Some(DayCounts::Needle(needle))))
                }
                // (A search's names not worth their union: left to the walk.)
                Cand::Lazy {
                    check: Check::Usernames(_),
                    ..
                } => None,
                Cand::Filtered { .. } | Cand::Lazy { .. } => {
                    by_query.map(|k| (None, None, Some(k)))
                }
                _ => None,
            };
            if let Some((b, periods, kept)) = counted
                && let Some(v) = self.skip_days(
                    b,
                    periods,
                    kept,
                    &member,
                    span.clone(),
                    count,
                    offset,
                    limit,
                    sort,
                )
            {
                return v;
            }
        }
        // A page near the start of the default order whose span opens
        // with a crowded report day (a re-report dates a billing period
        // to one day) is first walked at about an even spread's cost; when
        // that finds too few matches they cluster away from the span's
        // start, and the crowded days are read as sets
        // ([`Core::crowded_head`]), the rest walked.
        let by_day = matches!(
            member,
            Member::Set(_) | Member::Filtered(..) | Member::Run(_) | Member::RunFiltered(..)
        );
        let mut walked = false;
        if by_day
            && keys.is_empty()
            && walk <= sort
            && offset + limit <= count - offset
            && let Some((first, day_len)) = self.crowded_first(lo, hi)
            // The probe may walk as far as reading the day would cost:
            // the day's matches may be only sparser than the span's, as
            // when site agents' reports, spread evenly, crowd it.
            && let read = (day_len + set.len as usize) / DAY_READ_VALUES_PER_NS
            && let probe = (walk.saturating_mul(PROBE_FACTOR))
                .saturating_add(PROBE_MIN)
                .saturating_add(read / step_ns)
            && probe < budget
        {
            if let Some(v) = self.walk_page(
                &member,
                span.clone(),
                None,
                count,
                &keys,
                offset,
                limit,
                probe,
                rank,
            ) {
                return v;
            }
            // An offering's many-run bitmap is intersected with a day's
            // arrays value by value: its expanded copy, kept
            // (`FlatCache`), word by word (the tenth offering re-reported
            // by offering: about half its page 1 in that intersection).
            let flat_set = match (&member, f.offering.as_ref()) {
                (Member::Set(b), Some(o)) => t
                    .offerings
                    .id(o)
                    .filter(|&id| std::ptr::eq(*b, &t.offerings.get(id).rows))
                    .map(|id| self.flat_rows(id)),
                _ => None,
            };
            let head = match flat_set.as_deref() {
                Some(Some(b)) => self.crowded_head(&Member::Set(b), first, lo, offset, limit),
                _ => self.crowded_head(&member, first, lo, offset, limit),
            };
            let mut out = head.page;
            if out.len() == limit {
                return out;
            }
            if let Some(v) = self.walk_page(
                &member,
                span.start + head.passed..span.end,
                None,
                count - head.met,
                &keys,
                head.skip,
                limit - out.len(),
                budget,
                rank,
            ) {
                out.extend(v);
                return out;
            }
            // (The rest passed the walk's budget: the sort's cost.)
            walked = true;
        }
        if !walked
            && walk.saturating_mul(ratio) <= sort
            && let Some(v) = self.walk_page(
                &member,
                span,
                only.as_deref(),
                count,
                &keys,
                offset,
                limit,
                budget,
                rank,
            )
        {
            return v;
        }
        match cand {
            Cand::Set(b, _) => self.sort_page(b, &keys, offset, limit, f),
            Cand::Lazy { parts, .. } => {
                self.sort_page(&parts.iter().copied().union(), &keys, offset, limit, f)
            }
            Cand::Filtered {
                base, check, parts, ..
            } => self.sort_page(
                &filtered_matches(t, base, check, parts),
                &keys,
                offset,
                limit,
                f,
            ),
            Cand::All
            | Cand::Counted(_)
            | Cand::Few(_)
            | Cand::Days { .. }
            | Cand::RunsAnd { .. } => unreachable!("handled above"),
        }
    }

    /// A page in the default order of `(∪ runs) ∩ (∪ days)`, or of that
    /// `∩ other`, read day by day from the last of `days` (ascending): each
    /// day's values within the runs (tested against `other`), sorted only
    /// when they reach the page (every record of a later day precedes every
    /// record of an earlier one). Without `other`, earlier pages' days are
    /// skipped by their counts, unread. `every_day` says that `days` are
    /// every report day of the store, so that a day's records lie in the
    /// default view after the later days': a crowded day is then walked
    /// there first, jumping over other types' records of one report time
    /// when every match has the type of rank `rank` ([`Jump`]). `None`
    /// after `budget` days (the matches lie further back than their count
    /// suggested). O(days × runs × log + the page's days' matches).
    #[allow(clippy::too_many_arguments)] // two call sites; a struct would only rename them
    fn days_page<'d>(
        &self,
        runs: &[RangeInclusive<u32>],
        days: impl DoubleEndedIterator<Item = &'d RoaringBitmap>,
        other: Option<&RoaringBitmap>,
        every_day: bool,
        rank: Option<u32>,
        offset: usize,
        limit: usize,
        budget: usize,
    ) -> Option<Vec<u32>> {
        let view = self.view(ViewKind::Default);
        // With `every_day`, the first position of the next day's records.
        let mut pos = 0;
        let mut skip = offset;
        let mut out = Vec::with_capacity(limit);
        let mut got = Vec::new();
        // The runs as a bitmap, built for the first crowded day.
        let mut runs_set: Option<RoaringBitmap> = None;
        // The day's records within the runs.
        let within = |day: &RoaringBitmap| -> u64 {
            runs.iter().map(|r| day.range_cardinality(r.clone())).sum()
        };
        for (i, day) in days.rev().enumerate() {
            if i >= budget {
                return None;
            }
            let here = pos;
            pos += day.len() as usize;
            if other.is_none() {
                let n = within(day);
                if skip >= n as usize {
                    skip -= n as usize;
                    continue;
                }
                // A crowded day (a re-report dates a whole billing period
                // to one day) whose page needs a few of its records: the
                // default view holds the day in order, walked testing
                // membership in the runs, where sorting would read every
                // record of the runs' share of the day.
                let rest = limit - out.len();
                if n > DAY_CROWDED
                    && (skip + rest) as u64 * day.len() <= n * n
                    && let Some(first) = day.min()
                {
                    self.walk_day(first, runs, &mut skip, rest, &mut out);
                    if out.len() == limit {
                        break;
                    }
                    continue;
                }
            }
            got.clear();
            // (Read once: a range cardinality per run.)
            let day_within = if other.is_some() { within(day) } else { 0 };
            let crowded = day_within > DAY_CROWDED;
            // A crowded day whose page needs a few of its matches: its part
            // of the default view walked first, testing each record, for
            // at most half the runs' records of the day. A site agent's
            // report dates its records to one new day, which every report
            // then grows: intersecting it with the runs and `other`, and
            // sorting the runs' share of it, made the biggest customer's
            // storage page 1 take 24 µs under a report every fourth query
            // at 1M records (2 µs without writes).
            if crowded
                && every_day
                && let Some(other) = other
            {
                let n = day_within as usize;
                let rest = limit - out.len();
                let met = std::cell::Cell::new(0);
                let jump = rank.map(|rank| Jump {
                    t: &self.t,
                    view,
                    rank,
                });
                if let Some(v) = scan(
                    view,
                    here..pos,
                    usize::MAX / 2,
                    skip,
                    rest,
                    n / 2 + DAY_WALK_MIN,
                    None,
                    jump.as_ref(),
                    &met,
                    |s| in_runs(runs, s) && other.contains(s),
                ) {
                    // (The walk skipped the first `skip` of the day's
                    // matches, or all of them.)
                    skip = skip.saturating_sub(met.get());
                    let full = v.len() == rest;
                    out.extend(v);
                    if full {
                        break;
                    }
                    continue;
                }
            }
            match other {
                // A crowded day, intersected container by container, where
                // reading its values one by one and probing `other` for
                // each cost ten times as much.
                Some(other) if crowded => {
                    let set = runs_set.get_or_insert_with(|| {
                        let mut b = RoaringBitmap::new();
                        for r in runs {
                            b.insert_range(r.clone());
                        }
                        b
                    });
                    got.extend(&((&*set & day) & other));
                }
                _ => {
                    for r in runs {
                        values_within(day, r, &mut got);
                    }
                    if let Some(other) = other {
                        got.retain(|&s| other.contains(s));
                    }
                }
            }
            if skip >= got.len() {
                skip -= got.len();
                continue;
            }
            // Only the first `skip + rest` of the day reach the page.
            let rest = limit - out.len();
            self.sort_default_first(&mut got, skip + rest);
            out.extend(got[skip..].iter().take(rest));
            skip = 0;
            if out.len() == limit {
                break;
            }
        }
        Some(out)
    }

    /// A page in the default order of `b`'s records (every record's
    /// without it) in the default view's `span` (those of the billing
    /// `periods` too, when given: a [`Check::Periods`], and whether `b`
    /// is exactly their records), `count` of them, found by skipping whole
    /// report days: from
    /// the end of the span nearer the page, each day's matches are
    /// counted (`|day ∩ b|`: a range's cardinality for one run, a kept
    /// count when `b` is a component type's bitmap
    /// ([`DayTypeCache`](super::cache::DayTypeCache)) or a username
    /// search's kept records ([`NeedleRowsCache`](super::cache::NeedleRowsCache)),
    /// as `kept` says, else container by container) until the day that holds the page's
    /// nearest record, and the view is walked from that day's edge
    /// ([`Core::day_pos`]). `None` (nothing read but counts) when the
    /// days needed are many more than an even spread of the matches over
    /// them would take, or when that walk takes more than `walk_budget`
    /// steps (a sparse set's first page: a small offering ∧ a type, 217
    /// matches at 1M records, walked an estimated 46,000 records from its
    /// first match's day, 379 µs, where the page by sorting takes 34).
    /// O(days skipped
    /// × a day's containers + the walk of the page's days).
    #[allow(clippy::too_many_arguments)] // one call site, which passes its plan's parts
    fn skip_days(
        &self,
        b: Option<&RoaringBitmap>,
        periods: Option<(&Check, bool)>,
        kept: Option<DayCounts<'_, '_>>,
        member: &Member<'_>,
        span: std::ops::Range<usize>,
        count: usize,
        offset: usize,
        limit: usize,
        walk_budget: usize,
    ) -> Option<Vec<u32>> {
        let t = &self.t;
        let view = self.view(ViewKind::Default);
        let day_of = |pos: usize| {
            let s = view.iter_from(pos).next()?;
            Some(crate::wire::time::micros_to_day(
                t.cus.get(t.row(s).cu).date(),
            ))
        };
        // A late page is found from the span's earliest day forwards.
        let rev = offset + limit > count - offset;
        let mut skip = if rev { count - offset - limit } else { offset };
        // Days to read were the matches spread evenly over the store's
        // days, with room for clustering.
        let even = skip.saturating_mul(t.days.len()) / count.max(1);
        let budget = even.saturating_mul(4).saturating_add(DAY_SKIP_SLACK);
        let run = match member {
            Member::Run(r) | Member::RunFiltered(r, ..) => Some(r.clone()),
            _ => None,
        };
        // With billing periods: the days on which only their records were
        // reported ([`pure_days`]) count as the set's; the days outside
        // their report days count nothing; the others (a few at each end)
        // are the set's records of the day, tested.
        let (bounds, pure) = match periods {
            Some((Check::Periods(keys, _), _)) => (
                period_days(t, keys.iter().copied()).unwrap_or((i32::MAX, i32::MIN)),
                pure_days(t, keys),
            ),
            _ => ((i32::MIN, i32::MAX), None),
        };
        // `b` a component type's bitmap, a username search's records or
        // the query's matches: their kept counts by day.
        let typed = match kept {
            Some(DayCounts::Type(ty)) => Some(self.type_days(ty)),
            Some(DayCounts::Needle(n)) => self.needle_rows.days_or_make(n, |b| day_counts(t, b)),
            Some(DayCounts::Query(f, scope, cand)) => Some(self.set_days.get_or_make(
                f,
                scope,
                || day_counts_of(t, &matches_of(t, cand)),
            )),
            None => None,
        };
        let within = |d: i32, day: &RoaringBitmap| match (&run, b, typed.as_deref()) {
            (Some(r), _, _) => day.range_cardinality(r.clone()),
            (None, _, Some(v)) => v
                .binary_search_by_key(&d, |e| e.0)
                .map_or(0, |i| u64::from(v[i].1)),
            (None, Some(b), None) => day.intersection_len(b),
            (None, None, _) => day.len(),
        };
        let matches = |d: i32, day: &RoaringBitmap| -> u64 {
            let Some((check, exact)) = periods else {
                return within(d, day);
            };
            if d < bounds.0 || d > bounds.1 {
                0
            } else if pure.is_some_and(|(x, y)| (x..=y).contains(&d)) {
                // (`b` the periods' own records: the whole day.)
                if exact { day.len() } else { within(d, day) }
            } else if exact {
                within(d, day)
            } else {
                let test = |&s: &u32| check.test(t, s);
                match (&run, b) {
                    (Some(r), _) => day.range(r.clone()).filter(test).count() as u64,
                    (None, Some(b)) => (day & b).iter().filter(test).count() as u64,
                    (None, None) => day.iter().filter(test).count() as u64,
                }
            }
        };
        let (mut later, mut earlier);
        let days: &mut dyn Iterator<Item = (&i32, &RoaringBitmap)> = if rev {
            later = t.days.range(day_of(span.end.checked_sub(1)?)?..);
            &mut later
        } else {
            earlier = t.days.range(..=day_of(span.start)?).rev();
            &mut earlier
        };
        let mut edge = None;
        for (i, (&d, day)) in days.enumerate() {
            if i >= budget {
                return None;
            }
            let n = usize::try_from(matches(d, day)).unwrap_or(usize::MAX);
            if skip < n {
                edge = Some(d);
                break;
            }
            skip -= n;
        }
        let edge_day = edge?;
        // A sparse set's page is read from its days' bitmaps: the walk
        // tested every record of the page's days (a username search with
        // a type, 1.5 % of the records: 20,000 tests a page of 300).
        if count.saturating_mul(DAY_READ_SPARSE) < span.len()
            && let Some(v) = self.day_read_page(member, edge_day, rev, skip, limit)
        {
            return Some(v);
        }
        // Day `edge_day`'s records follow every later day's, and precede
        // every earlier day's.
        let edge = if rev {
            self.day_pos(edge_day)
        } else {
            self.day_pos(edge_day.saturating_add(1))
        };
        let skipped = (if rev { count - offset - limit } else { offset }) - skip;
        let left = count - skipped;
        if rev {
            // The page ends `skip` matches before the new end: it starts
            // `left - skip - limit` = `offset` matches after the span's
            // start, as before (only matches after it were dropped).
            let end = edge.min(span.end);
            self.walk_page(
                member,
                span.start..end,
                None,
                left,
                &[],
                offset,
                limit,
                walk_budget,
                None,
            )
        } else {
            let start = edge.max(span.start);
            self.walk_page(
                member,
                start..span.end,
                None,
                left,
                &[],
                skip,
                limit,
                walk_budget,
                None,
            )
        }
    }

    /// A page in the default order of `member`'s matches (a set, or a
    /// set tested) read day by day from report day `from`: each day's
    /// bitmap intersected with the set, its matches tested and sorted.
    /// Forwards, the page starts `skip` matches into day `from`; with
    /// `rev`, it ends `skip` matches before the day's end, and is read
    /// towards later days. `None` for another member. O(the page's days
    /// × the set's containers + their matches).
    fn day_read_page(
        &self,
        member: &Member<'_>,
        from: i32,
        rev: bool,
        mut skip: usize,
        limit: usize,
    ) -> Option<Vec<u32>> {
        let t = &self.t;
        let (set, check) = match member {
            Member::Set(b) => (*b, None),
            Member::Filtered(b, _, c) => (*b, Some(*c)),
            _ => return None,
        };
        let of_day = |day: &RoaringBitmap| {
            let both = day & set;
            let mut m: Vec<u32> = match check {
                None => both.iter().collect(),
                Some(c) => both.iter().filter(|&s| c.test(t, s)).collect(),
            };
            self.sort_default(&mut m);
            m
        };
        let mut out = Vec::with_capacity(limit);
        if rev {
            // From the page's last match towards the later days, each
            // day's part taken from its end; reversed at the end.
            for (_, day) in t.days.range(from..) {
                let m = of_day(day);
                if skip >= m.len() {
                    skip -= m.len();
                    continue;
                }
                let end = m.len() - skip;
                let take = end.min(limit - out.len());
                out.extend(m[end - take..end].iter().rev());
                skip = 0;
                if out.len() == limit {
                    break;
                }
            }
            out.reverse();
        } else {
            for (_, day) in t.days.range(..=from).rev() {
                let m = of_day(day);
                if skip >= m.len() {
                    skip -= m.len();
                    continue;
                }
                let take = (m.len() - skip).min(limit - out.len());
                out.extend_from_slice(&m[skip..skip + take]);
                skip = 0;
                if out.len() == limit {
                    break;
                }
            }
        }
        debug_assert_eq!(out.len(), limit, "the day counts hold the page");
        Some(out)
    }

    /// The first report day of a default-order span of days `lo..=hi`
    /// (open ends as `None`) and its number of records, when that day is
    /// crowded: more records than [`DAY_CROWDED_MIN`], and than
    /// [`DAY_CROWDED_FACTOR`] times an even spread of the records over
    /// the days. O(log days).
    fn crowded_first(&self, lo: Option<i32>, hi: Option<i32>) -> Option<(i32, usize)> {
        let t = &self.t;
        // (A span's last day is most often a day with records, found by
        // one search where a range's end is two.)
        let (&d, day) = match hi {
            None => t.days.last_key_value()?,
            Some(h) => match t.days.get_key_value(&h) {
                Some(e) => e,
                None => t.days.range(..=h).next_back()?,
            },
        };
        // (No day of the span has records: `crowded_head` reads none.)
        if lo.is_some_and(|lo| lo > d) {
            return None;
        }
        let n = day.len();
        (n > self.crowded_min()).then_some((d, n as usize))
    }

    /// The records above which a report day is crowded: [`DAY_CROWDED_MIN`],
    /// or [`DAY_CROWDED_FACTOR`] times an even spread of the records over
    /// the days if more. O(1).
    fn crowded_min(&self) -> u64 {
        let even = (self.len() / self.t.days.len().max(1)) as u64;
        DAY_CROWDED_MIN.max(even.saturating_mul(DAY_CROWDED_FACTOR))
    }

    /// The page's part in the crowded report days that open a default-order
    /// span, from day `first` back to the first day that is not crowded
    /// (or to day `lo`, at most `first`): each day's matches are its bitmap intersected
    /// with the set (or its range of a run) and tested by the set's check,
    /// and the first few of the days the page reaches are sorted. For a
    /// walk that an even spread of the matches would have made short but
    /// that found too few of them ([`Core::page_slots`] probes first): the
    /// matches cluster away from the span's start. A site agent that
    /// re-reports its offering's usage dates it all to one time, so an
    /// offering's records of the day lie behind every record reported
    /// after them (each offering re-reported at its own second, at 1M
    /// records: the tenth offering's page 1 walked 132 µs, its year's 230
    /// µs). A member without a set reads nothing (its day's matches would
    /// be a test of each record, as the walk's).
    /// O(the crowded days' containers + their matches).
    fn crowded_head(
        &self,
        member: &Member<'_>,
        first: i32,
        lo: Option<i32>,
        mut skip: usize,
        limit: usize,
    ) -> CrowdedHead {
        let t = &self.t;
        let min = self.crowded_min();
        let mut head = CrowdedHead {
            page: Vec::with_capacity(limit),
            skip,
            passed: 0,
            met: 0,
        };
        let mut got: Vec<u32> = Vec::new();
        for (_, day) in t.days.range(lo.unwrap_or(i32::MIN)..=first).rev() {
            if day.len() <= min {
                break;
            }
            got.clear();
            match member {
                Member::Set(b) => got.extend(&(day & *b)),
                Member::Filtered(b, t, c) => {
                    got.extend((day & *b).iter().filter(|&s| c.test(t, s)))
                }
                Member::Run(r) => values_within(day, r, &mut got),
                Member::RunFiltered(r, t, c) => {
                    values_within(day, r, &mut got);
                    got.retain(|&s| c.test(t, s));
                }
                Member::All | Member::Span | Member::Check(..) => break,
            }
            head.passed += day.len() as usize;
            head.met += got.len();
            if skip >= got.len() {
                skip -= got.len();
                continue;
            }
            let rest = limit - head.page.len();
            self.sort_default_first(&mut got, skip + rest);
            head.page.extend(got[skip..].iter().take(rest));
            skip = 0;
            if head.page.len() == limit {
                break;
            }
        }
        head.skip = skip;
        head
    }

    /// Sorts records of one report date into the default order (type
    /// rank, uuid); `typed` when they all have one type (a type filter),
    /// so that only uuids are compared. Small groups (a component usage's
    /// two to four records) by insertion, each key read when compared:
    /// a keyed sort's buffer, and the date it compares, were a tenth of a
    /// scoped query (`perf`), and a sort keyed by the whole default key
    /// half of a small customer's.
    fn sort_tied(&self, g: &mut [u32], typed: bool) {
        let t = &self.t;
        let key = |s: u32| {
            let r = t.row(s);
            // (With a type filter every record has its rank.)
            let rank = if typed {
                0
            } else {
                t.type_rank[t.kind_of(t.cus.get(r.cu)).ctype as usize]
            };
            (rank, r.uuid.as_u128())
        };
        if g.len() > SORT_STACK {
            return g.sort_by_cached_key(|&s| key(s));
        }
        if g.len() > GROUP_INSERT_MAX {
            // Keyed on the stack, as [`Core::sort_default`]: no allocation.
            let mut keyed = [((0, 0), 0); SORT_STACK];
            let keyed = &mut keyed[..g.len()];
            for (k, &s) in keyed.iter_mut().zip(g.iter()) {
                *k = (key(s), s);
            }
            keyed.sort_unstable();
            for (s, k) in g.iter_mut().zip(keyed.iter()) {
                *s = k.1;
            }
            return;
        }
        for a in 1..g.len() {
            let mut b = a;
            while b > 0 && key(g[b - 1]) > key(g[b]) {
                g.swap(b - 1, b);
                b -= 1;
            }
        }
    }

    /// Sorts slots into the default order (`-date`, type, uuid).
    fn sort_default(&self, slots: &mut [u32]) {
        // A page's group (a few records) is keyed on the stack: the cached
        // sort's key buffer was an allocation and a free per query (of a
        // resource's period read's 3,200 instructions, about 200).
        const STACK: usize = SORT_STACK;
        if slots.len() > STACK {
            return slots.sort_by_cached_key(|&s| self.t.tail_key(s));
        }
        // Keyed by date alone (16-byte entries, one comparison): report
        // dates rarely tie within a page's few records, and the ties'
        // groups are then ordered by the rest of the key. The whole key
        // (40-byte entries, three comparisons) made the sort half of a
        // small customer's query.
        let t = &self.t;
        let mut keyed: [(std::cmp::Reverse<Micros>, u32); STACK] =
            [(std::cmp::Reverse(0), 0); STACK];
        let keyed = &mut keyed[..slots.len()];
        // Read backwards: a project's slots ascend by date (after a load),
        // so a few records listed by slot are then mostly in order, where
        // an insertion sort takes a step each.
        for (k, &s) in keyed.iter_mut().zip(slots.iter().rev()) {
            *k = (std::cmp::Reverse(t.cus.get(t.row(s).cu).date()), s);
        }
        keyed.sort_unstable_by_key(|k| k.0);
        for (s, k) in slots.iter_mut().zip(keyed.iter()) {
            *s = k.1;
        }
        self.sort_date_groups(keyed, slots, false);
    }

    /// Sorts each group of `slots` whose entries of `dated` (the same
    /// records, in the same order, keyed by report date) share a date by
    /// the rest of the default order ([`Core::sort_tied`]). O(n + the
    /// groups' sorts).
    fn sort_date_groups<D: PartialEq>(&self, dated: &[(D, u32)], slots: &mut [u32], typed: bool) {
        let mut i = 0;
        for g in dated.chunk_by(|a, b| a.0 == b.0) {
            if g.len() > 1 {
                self.sort_tied(&mut slots[i..i + g.len()], typed);
            }
            i += g.len();
        }
    }

    /// Appends to `out` the records of the report day of slot `first` that
    /// lie in `runs`, in the default order, after skipping `skip` of them,
    /// until `out` has grown by `rest`: a walk of the day's part of the
    /// default view. O(log n + the records walked).
    fn walk_day(
        &self,
        first: u32,
        runs: &[RangeInclusive<u32>],
        skip: &mut usize,
        rest: usize,
        out: &mut Vec<u32>,
    ) {
        let t = &self.t;
        let date = |s: u32| t.cus.get(t.row(s).cu).date();
        let day = date(first).div_euclid(MICROS_PER_DAY);
        let lo = day * MICROS_PER_DAY;
        let view = self.view(ViewKind::Default);
        let start = self.day_pos(day as i32 + 1);
        let target = out.len() + rest;
        for s in view.iter_from(start) {
            if date(s) < lo || out.len() == target {
                break;
            }
            if in_runs(runs, s) {
                if *skip > 0 {
                    *skip -= 1;
                } else {
                    out.push(s);
                }
            }
        }
    }

    /// Puts the first `k` of `slots` in the default order at its front,
    /// in order (the rest dropped when `k` is a small part of them).
    fn sort_default_first(&self, slots: &mut Vec<u32>, k: usize) {
        if k * 4 >= slots.len() {
            return self.sort_default(slots);
        }
        let mut keyed: Vec<_> = slots.iter().map(|&s| (self.t.tail_key(s), s)).collect();
        keyed.select_nth_unstable(k - 1);
        keyed.truncate(k);
        keyed.sort_unstable();
        slots.clear();
        slots.extend(keyed.into_iter().map(|(_, s)| s));
    }

    /// The parts of the usage view: per component type, in name order, its
    /// id and range of positions (the view holds every live record, so the
    /// ranges follow from the types' sizes). O(types · log types); inline
    /// up to eight types (the demo's, and upstream's usual few).
    fn usage_parts(&self) -> SmallVec<[(u32, std::ops::Range<usize>); 8]> {
        let t = &self.t;
        let mut types: SmallVec<[(u32, u32, usize); 8]> = t
            .types
            .iter()
            .map(|(id, _, _)| {
                (
                    t.type_rank[id as usize],
                    id,
                    t.type_extent[id as usize].0 as usize,
                )
            })
            .filter(|&(_, _, n)| n > 0)
            .collect();
        types.sort_unstable();
        let mut at = 0;
        types
            .into_iter()
            .map(|(_, id, n)| {
                at += n;
                (id, at - n..at)
            })
            .collect()
    }

    /// Type `ty`'s part of the usage view (see [`Core::usage_parts`]): after
    /// the records of the types ranked before it. O(types), no list built
    /// (building the parts was a third of a type's usage-ordered page).
    fn usage_part(&self, ty: u32) -> std::ops::Range<usize> {
        let t = &self.t;
        let rank = t.type_rank[ty as usize];
        let start: usize = t
            .types
            .iter()
            .filter(|&(id, _, _)| t.type_rank[id as usize] < rank)
            .map(|(id, _, _)| t.type_extent[id as usize].0 as usize)
            .sum();
        start..start + t.type_extent[ty as usize].0 as usize
    }

    /// Sorts the matches partially: only the page's window is fully ordered.
    /// Keys are integers: descending ones bit-inverted, component types
    /// and usernames by their rank among all names (the usernames' ranks
    /// kept and updated as names come and go, `Usernames::rank_table`), so
    /// comparisons never touch a string.
    fn sort_page(
        &self,
        set: &RoaringBitmap,
        keys: &[OrderKey],
        offset: usize,
        limit: usize,
        f: &Filter,
    ) -> Vec<u32> {
        let by_slot =
            (set.max()).is_some_and(|max| self.ties_worth_slots(f, keys, set.len() as usize, max));
        self.sort_slots(&values(set), keys, offset, limit, by_slot)
    }

    /// [`Core::ties_by_slot`] for `n` matches ordered by `keys`, when it
    /// can pay: not for a few matches in the default order, sorted on the
    /// stack by date for less than the filter's entity lookups
    /// (`resource_period`'s four records). O(1).
    fn ties_worth_slots(&self, f: &Filter, keys: &[OrderKey], n: usize, max: u32) -> bool {
        (!keys.is_empty() || n > SORT_STACK) && self.ties_by_slot(f, max)
    }

    /// Whether every match of filter `f` (the highest at slot `max`)
    /// lies in the sorted prefix of one project: the filter names a
    /// project or a resource, and `max` is below the project's
    /// `sorted_until`. The default order among them is then descending
    /// slot order (`Project::sorted_until`'s invariant). O(1).
    fn ties_by_slot(&self, f: &Filter, max: u32) -> bool {
        (self.filter_project(f)).is_some_and(|p| max < self.t.projects.get(p).sorted_until)
    }

    /// The project every match of filter `f` belongs to: the one it
    /// names, or its resource's (a filter naming both a project and
    /// another project's resource matches nothing). `None` when it names
    /// neither, or one the store does not hold. O(1).
    fn filter_project(&self, f: &Filter) -> Option<u32> {
        let t = &self.t;
        match (f.project, f.resource_uuid.or(f.resource)) {
            (Some(p), _) => t.projects.id(&p),
            (None, Some(r)) => t.resources.id(&r).map(|r| t.resources.get(r).project),
            (None, None) => None,
        }
    }

    /// [`Core::sort_page`] of ascending slots. With `by_slot`, the slots
    /// lie in one project's sorted prefix ([`Core::ties_by_slot`]), where
    /// the default order is descending slot order: ties of the `o` keys
    /// are broken by the slot, not by the default keys read from each
    /// record's row and component usage.
    fn sort_slots(
        &self,
        set: &[u32],
        keys: &[OrderKey],
        offset: usize,
        limit: usize,
        by_slot: bool,
    ) -> Vec<u32> {
        let t = &self.t;
        if keys.is_empty() && by_slot {
            // The default order is the slots' reverse.
            let end = set.len().saturating_sub(offset);
            return set[end.saturating_sub(limit)..end]
                .iter()
                .rev()
                .copied()
                .collect();
        }
        if keys.is_empty() && set.len() <= SORT_STACK {
            // A few matches in the default order (a small customer's
            // month): keyed on the stack, with no buffer of wide keys.
            let mut v = set.to_vec();
            self.sort_default(&mut v);
            v.drain(..offset.min(v.len()));
            v.truncate(limit);
            return v;
        }
        let ranks = (keys.iter())
            .any(|k| k.field == SortField::Username)
            .then(|| t.usernames.rank_table());
        let user_rank: &[u32] = ranks.as_ref().map_or(&[], |r| &r.rank);
        // (A project's page 1 by username at 10M records, 11,334 matches
        // of five users, 2,031 to 2,489 each: keying the ties by the
        // default keys was most of the page. In a project's sorted
        // prefix they are keyed by their slots.)
        let end = offset + limit;
        // (A function inlined into each pass that reads it: one closure
        // shared by the passes was called, a fifth of a pass.)
        let first_of = |s: u32| first_key(t, keys, user_rank, s);
        let n = set.len();
        // The page's window is near the front: the `end` smallest keys
        // are kept in a heap while the keys are read (a new key rarely
        // enters it), where selecting over all the keys afterwards moved
        // each of them a few times (a third of a project's page). Deep
        // pages, whose heap would hold most of the keys, select.
        let top = end <= n / TOP_HEAP_RATIO;
        // One key whose ties go by slot: the first key and the slot are
        // the whole key. (With more keys, the second breaks the first's
        // ties.)
        let exact = by_slot && keys.len() <= 1;
        let slots_in_order: Cow<'_, [u32]> = if n <= end {
            Cow::Borrowed(set)
        } else if exact && top {
            // Every key differs (the one key, then the slot descending):
            // the heap holds exactly the page's `end` records. Read from
            // the last slot, so that a record tied on the first key with
            // one in the heap comes after it and never enters. (The step
            // is `within_cut`'s; a function shared by the two made this
            // loop 13 % more instructions, callgrind.)
            let mut heap = std::collections::BinaryHeap::with_capacity(end + 1);
            for &s in set.iter().rev() {
                let key = (first_of(s), std::cmp::Reverse(s));
                if heap.len() < end {
                    heap.push(key);
                } else if let Some(mut max) = heap.peek_mut()
                    && key < *max
                {
                    *max = key;
                }
            }
            Cow::Owned(heap.into_iter().map(|(_, s)| s.0).collect())
        } else {
            // Else the first key alone is read, 16 bytes a match (with the
            // slot descending when it is the only key and ties go by slot:
            // then every key differs). Only matches whose key is at most
            // the `end`-th smallest (the cut) can reach the page, and only
            // those (the page plus ties, usually; exactly the page's `end`
            // when every key differs) get the full key: selecting among
            // 64-byte keys cost more than reading them.
            Cow::Owned(if exact {
                within_cut(set, end, top, |s| (first_key(t, keys, user_rank, s), !s))
            } else {
                within_cut(set, end, top, |s| first_key(t, keys, user_rank, s))
            })
        };
        if by_slot {
            self.sort_window(&slots_in_order, keys, user_rank, offset, end, |s| {
                std::cmp::Reverse(s)
            })
        } else {
            self.sort_window(&slots_in_order, keys, user_rank, offset, end, |s| {
                t.tail_key(s)
            })
        }
    }

    /// The `[offset, end)` window of `slots` ordered by `keys`, their ties
    /// by `tie` (the default keys, or what orders them alike).
    fn sort_window<T: Ord>(
        &self,
        slots: &[u32],
        keys: &[OrderKey],
        user_rank: &[u32],
        offset: usize,
        end: usize,
        tie: impl Fn(u32) -> T,
    ) -> Vec<u32> {
        let t = &self.t;
        // `(o keys…, tie, slot)`; at most three `o` keys remain once
        // repeats are dropped.
        let mut v: Vec<([i64; 3], T, u32)> = slots
            .iter()
            .map(|&s| {
                let r = t.row(s);
                let mut p = [0i64; 3];
                for (dst, k) in p.iter_mut().zip(keys) {
                    *dst = key_value(t, k, r, user_rank);
                }
                (p, tie(s), s)
            })
            .collect();
        let end = end.min(v.len());
        if end < v.len() {
            v.select_nth_unstable(end);
            v.truncate(end);
        }
        if offset > 0 && offset < v.len() {
            v.select_nth_unstable(offset);
        }
        let window = &mut v[offset.min(end)..];
        window.sort_unstable();
        window.iter().map(|k| k.2).collect()
    }

    /// The group of one usage that holds the `offset`-th record of the
    /// usage view's `parts` merged by usage (descending if `desc`; ties in
    /// view order: each part's run of them in turn), every record
    /// counted: the records before the group, and each part's positions of
    /// the group. `None` if there is no such record.
    ///
    /// A selection across the parts: the sought usage `u*` is kept between
    /// two usages `(lo, hi)`, exclusive, and each part's window holds its
    /// positions of usages between them (so outside it the comparison
    /// with any usage between them is known). A round takes the usage in
    /// the middle of the longest window and counts, by two binary searches
    /// per window, the records before its group and through it: the page
    /// is in the group, or past it, or before it, and every window drops
    /// the usages on the wrong side; the longest at least halves. O(parts²
    /// · log² n) view reads at worst, where a merge read every record up
    /// to the page (`o=-usage&page=90000` at 1M took 40 ms).
    fn usage_group_at(
        &self,
        parts: &[(u32, std::ops::Range<usize>)],
        desc: bool,
        offset: usize,
    ) -> Option<(usize, Cuts)> {
        let t = &self.t;
        let view = self.view(ViewKind::Usage);
        let usage = |pos: usize| t.row(view.get(pos)).usage();
        let mut win: SmallVec<[std::ops::Range<usize>; 8]> =
            parts.iter().map(|(_, r)| r.clone()).collect();
        loop {
            let w = win.iter().max_by_key(|w| w.len())?;
            if w.is_empty() {
                // (Unreachable while `offset` is below the parts' length:
                // every round keeps the sought usage's positions.)
                return None;
            }
            let u = usage(w.start + w.len() / 2);
            // Each window's first position of usage `u` and the one past
            // its last (a window holds usages between `lo` and `hi` only,
            // and `lo < u < hi`: the rest of its part is on a known side).
            let group: Cuts = win.iter().map(|w| self.usage_group(w.clone(), u)).collect();
            let (mut before, mut through) = (0, 0);
            for ((_, r), &(a, b)) in parts.iter().zip(&group) {
                let (x, y) = if desc {
                    (r.end - b, r.end - a)
                } else {
                    (a - r.start, b - r.start)
                };
                before += x;
                through += y;
            }
            if offset >= before && offset < through {
                return Some((before, group));
            }
            // Past `u`'s group in the page's order: usages beyond `u` that
            // way (lower when ascending); else before it.
            let past = offset >= through;
            for (w, &(a, b)) in win.iter_mut().zip(&group) {
                if past != desc {
                    w.start = b;
                } else {
                    w.end = a;
                }
            }
        }
    }

    /// The positions of usage `u` in `r`, within one type's part of the
    /// usage view: the first whose usage is not below `u`, and the first
    /// above it. O(log n): the blocks by their fences, then one block's
    /// rows ([`View::partition_pair`](crate::index::view::View::partition_pair)).
    fn usage_group(&self, r: std::ops::Range<usize>, u: i64) -> (usize, usize) {
        let t = &self.t;
        let before = |s: u32| t.row(s).usage() < u;
        let through = |s: u32| t.row(s).usage() <= u;
        let fence_before = |f: u64| super::core::usage_fence_below(f, u, false);
        let fence_through = |f: u64| super::core::usage_fence_below(f, u, true);
        let view = self.view(ViewKind::Usage);
        view.partition_pair(r, (before, fence_before), (through, fence_through))
    }

    /// For a late page of `o=-usage` over every record (its exact
    /// reverse: usage ascending, each group of equal usage in reverse view
    /// order): while the lowest remaining usage is a big group, skips it
    /// by its size or reads the page's records from its end in each
    /// part, and moves the parts' starts past it. False once `sink` is
    /// full (then in reverse order: the caller's order). A group found
    /// small is left to the walk. O(groups peeled · parts · log n + the
    /// peeled group's records from its end to the page's last): a page
    /// deep inside a big group still merges the records after it.
    fn peel_low_groups(
        &self,
        parts: &mut SmallVec<[(u32, std::ops::Range<usize>); 8]>,
        sink: &mut Sink,
    ) -> bool {
        let t = &self.t;
        let view = self.view(ViewKind::Usage);
        let usage = |pos: usize| t.row(view.get(pos)).usage();
        loop {
            let Some(u) = (parts.iter())
                .filter(|(_, r)| !r.is_empty())
                .map(|(_, r)| usage(r.start))
                .min()
            else {
                return true;
            };
            // A probe before the binary searches: a group shorter than
            // this in every part is cheaper to walk.
            if !parts
                .iter()
                .any(|(_, r)| r.len() >= PEEL_MIN && usage(r.start + PEEL_MIN - 1) == u)
            {
                return true;
            }
            let group: SmallVec<[(u32, std::ops::Range<usize>); 8]> = (parts.iter())
                .map(|(ty, r)| {
                    let end = if r.is_empty() || usage(r.start) != u {
                        r.start
                    } else {
                        let k = SortKey {
                            usage: u,
                            ..t.key(view.get(r.start))
                        };
                        view.partition_point(|s| {
                            in_view(ViewKind::Usage, &t.key(s), &k) != Ordering::Greater
                        })
                    };
                    (*ty, r.start..end)
                })
                .collect();
            let size: usize = group.iter().map(|(_, r)| r.len()).sum();
            if size == 0 {
                // (Unreachable: the part holding `u` first holds it. A
                // guard against looping forever.)
                return true;
            }
            if sink.skip >= size {
                sink.skip -= size;
            } else {
                let all = |_: u32| true;
                let mut m = Merged::new(t, view, &group, true, &all, usize::MAX);
                while !sink.full() {
                    match m.next() {
                        Some(Some(s)) => sink.push(s),
                        _ => break,
                    }
                }
            }
            for ((_, r), (_, g)) in parts.iter_mut().zip(&group) {
                r.start = g.end;
            }
            if sink.full() {
                sink.out.reverse();
                return false;
            }
        }
    }

    /// Pushes the records of a group of equal usage (`bounds`: its
    /// positions in each of the usage view's `parts`) to `sink`, in view
    /// order from its `rank`-th on (ignoring `sink`'s skip), until `sink`
    /// is full: that record found by a selection across the parts
    /// ([`split_at_rank`]), then their runs from there merged. False,
    /// nothing pushed, if the group holds at most `rank` records.
    /// O(parts² · log² n + the records pushed · parts).
    fn read_group_from(
        &self,
        parts: &[(u32, std::ops::Range<usize>)],
        bounds: &Cuts,
        rank: usize,
        sink: &mut Sink,
    ) -> bool {
        let (t, view) = (&self.t, self.view(ViewKind::Usage));
        let key = |p: usize| t.tail_key(view.get(p));
        let below = |w: std::ops::Range<usize>, k: &_| {
            view.partition_in(w, |s| t.tail_key(s) < *k, |_| None)
        };
        let Some(cuts) = split_at_rank(bounds, rank, key, below) else {
            return false;
        };
        let runs: SmallVec<[(u32, std::ops::Range<usize>); 8]> = (parts.iter())
            .zip(bounds)
            .zip(cuts)
            .map(|(((ty, _), &(_, b)), c)| (*ty, c..b))
            .collect();
        let all = |_: u32| true;
        let mut m = Merged::new(t, view, &runs, false, &all, usize::MAX);
        while !sink.full() {
            match m.next() {
                Some(Some(s)) => sink.out.push(s),
                _ => break,
            }
        }
        true
    }

    /// The records at `bounds` of view `kind` (a group of one first sort
    /// key: in each part of the usage view, or one range), sorted by
    /// `keys` (the query's later keys), then the default keys: kept, or
    /// sorted here and kept ([`GroupOrderCache`]). O(entries) when kept,
    /// else O(g log g) for the group's g records.
    fn sorted_group(
        &self,
        kind: ViewKind,
        bounds: &[(usize, usize)],
        keys: &[OrderKey],
    ) -> Arc<[u32]> {
        self.sorted_group_when(kind, bounds, keys, false)
            .expect("made at once")
    }

    /// [`Core::sorted_group`], or with `again` only kept or made by the
    /// second request since the last write
    /// ([`GroupOrderCache::get_or_make_again`]): `None` at the first.
    fn sorted_group_when(
        &self,
        kind: ViewKind,
        bounds: &[(usize, usize)],
        keys: &[OrderKey],
        again: bool,
    ) -> Option<Arc<[u32]>> {
        let view = self.view(kind);
        let group = GroupOf::Positions(kind, bounds.iter().copied().collect());
        let budget = GroupOrderCache::budget(self.t.live.len() as usize);
        let make = || {
            let slots: Vec<u32> = (bounds.iter())
                .flat_map(|&(a, b)| view.iter_from(a).take(b - a))
                .collect();
            self.sort_slots(&slots, keys, 0, slots.len(), false)
        };
        if again {
            self.group_orders
                .get_or_make_again(&group, keys, budget, make)
        } else {
            Some(self.group_orders.get_or_make(&group, keys, budget, make))
        }
    }

    /// The matches of `f` (every record visible), a billing period's
    /// (`cand` its plan), sorted by `keys`, then the default keys: kept,
    /// or, if `make` and asked for before since the last write, sorted
    /// here and kept ([`GroupOrderCache::get_or_make_again`]). `None`
    /// when neither, or for a plan that is not a set of matches.
    /// O(entries) when kept, else O(g log g) for the g matches.
    fn sorted_matches(
        &self,
        f: &Filter,
        cand: &Cand<'_>,
        keys: &[OrderKey],
        make: bool,
    ) -> Option<Arc<[u32]>> {
        if !is_set_plan(cand) {
            return None;
        }
        let group = GroupOf::Query(f.clone(), Scope::everything());
        if !make {
            return self.group_orders.get(&group, keys);
        }
        let budget = GroupOrderCache::budget(self.t.live.len() as usize);
        // (The matches made only to be sorted: a period's plan may be a
        // union not yet made.)
        self.group_orders
            .get_or_make_again(&group, keys, budget, || {
                let Some(matches) = cand_matches(&self.t, cand) else {
                    unreachable!("a plan of a set has its matches")
                };
                let slots = values(&matches);
                self.sort_slots(&slots, keys, 0, slots.len(), false)
            })
    }

    /// Pushes a group of one first sort key (`bounds`, as for
    /// [`Core::sorted_group`]) to `sink` in the order of the later `keys`
    /// (reversed if `reverse`), from the kept sorted group, when it holds
    /// at least [`GROUP_KEEP_MIN`] records; false, nothing pushed, for a
    /// smaller group, which the caller sorts.
    fn push_big_group(
        &self,
        kind: ViewKind,
        bounds: &[(usize, usize)],
        keys: &[OrderKey],
        reverse: bool,
        sink: &mut Sink,
    ) -> bool {
        let size: usize = bounds.iter().map(|&(a, b)| b - a).sum();
        if size < GROUP_KEEP_MIN {
            return false;
        }
        push_sorted(&self.sorted_group(kind, bounds, keys), reverse, sink);
        true
    }

    /// Pushes the records of usage `u` to `sink` in the order of
    /// `username` (descending if `desc`), then the default keys: the
    /// username view, whose names' records each lie in the default order
    /// (read backwards, each name's records are taken forwards), each
    /// record's usage tested. Until `sink` is full. O(records read).
    fn name_walk(&self, u: i64, desc: bool, sink: &mut Sink) {
        let t = &self.t;
        let names = self.view(ViewKind::Username);
        let is = |s: u32| t.row(s).usage() == u;
        if !desc {
            for s in names.iter_from(0).filter(|&s| is(s)) {
                sink.push(s);
                if sink.full() {
                    return;
                }
            }
            return;
        }
        // One name's records, gathered backwards, then taken forwards.
        let mut block: Vec<u32> = Vec::new();
        let mut name = None;
        for s in names.iter_rev_before(names.len()).chain([u32::MAX]) {
            let this = (s != u32::MAX).then(|| t.row(s).username);
            if name.is_some() && this != name {
                for &x in block.iter().rev().filter(|&&x| is(x)) {
                    sink.push(x);
                    if sink.full() {
                        return;
                    }
                }
                block.clear();
            }
            name = this;
            block.push(s);
        }
    }

    /// Walks the view of the first key in its direction, testing membership;
    /// equal-primary groups are sorted by the remaining keys when there are
    /// any. A late page of the usage view's merged parts is read from the
    /// other end, in the exact reverse of the order; a descending walk of
    /// a deep page over a span that every record matches (the whole view,
    /// one type's part) starts at the page's group, found by binary search.
    /// With `only`, the usage view's parts of those types are merged (the
    /// others hold no member; `span` is then not read).
    /// Returns `None` once more than `budget` view entries were visited.
    #[allow(clippy::too_many_arguments)] // a few call sites; a struct would only rename them
    fn walk_page(
        &self,
        member: &Member<'_>,
        span: std::ops::Range<usize>,
        only: Option<&[u32]>,
        count: usize,
        keys: &[OrderKey],
        offset: usize,
        limit: usize,
        budget: usize,
        rank: Option<u32>,
    ) -> Option<Vec<u32>> {
        let t = &self.t;
        let (kind, desc) = match keys.first() {
            None => (ViewKind::Default, false),
            Some(k) => (view_of(k.field), k.descending),
        };
        let view = self.view(kind);
        let group_sort = keys.len() > 1;
        let all = matches!(member, Member::All);
        // The usage view over more than one type: its parts are merged.
        let parts = if kind == ViewKind::Usage && (span.len() == view.len() || only.is_some()) {
            let mut parts = self.usage_parts();
            if let Some(only) = only {
                parts.retain(|p| only.contains(&p.0));
            }
            parts
        } else {
            SmallVec::new()
        };
        let merged = parts.len() > 1;
        let member_of = member;
        let member = |s: u32| member_of.contains(s);

        if !desc && !group_sort && !merged {
            // The view's order is the query's order.
            if all {
                return Some(view.iter_from(offset).take(limit).collect());
            }
            // A loop per kind of test: a run's is a block's comparison
            // (see `members`), less than a call and a dispatch per step.
            let jump = (kind == ViewKind::Default)
                .then_some(rank)
                .flatten()
                .map(|rank| Jump { t, view, rank });
            let jump = jump.as_ref();
            let met = &std::cell::Cell::new(0);
            // (One call per kind of test, each its own closure type.)
            macro_rules! scan_with {
                ($run:expr, $test:expr) => {
                    scan(
                        view, span, count, offset, limit, budget, $run, jump, met, $test,
                    )
                };
            }
            return match member_of {
                Member::Run(r) => scan_with!(Some(r), |_| true),
                // A big customer's billing period (a range of periods): the
                // test inline, two comparisons, where the general test is a
                // call and a dispatch per record.
                Member::RunFiltered(r, t, c) => match c.period_range() {
                    Some((lo, hi)) => scan_with!(Some(r), |s| {
                        (lo..=hi).contains(&t.kind_of(t.cus.get(t.row(s).cu)).period)
                    }),
                    None => scan_with!(Some(r), |s| c.test(t, s)),
                },
                _ => scan_with!(None, member),
            };
        }

        let mut sink = Sink {
            skip: offset,
            limit,
            out: Vec::with_capacity(limit),
        };
        let mut steps = 0usize;
        let mut group: Vec<(SortKey<'_>, u32)> = Vec::new();
        // A group's later keys, read only when they sort it.
        let key = |s: u32| {
            if group_sort {
                t.key(s)
            } else {
                SortKey::UNUSED
            }
        };
        // A page of `o=usage` or `o=-usage` over every record, away from
        // both ends, is found by selection (see below).
        let every = all || matches!(member_of, Member::Span);
        let select = merged && every && selects(offset, limit, count);
        // A late page of a merged order is read from the other end, in the
        // exact reverse of the query's order (see below).
        let late = merged && !select && offset + limit > count.saturating_sub(offset);
        let flush = |group: &mut Vec<(SortKey<'_>, u32)>, sink: &mut Sink| {
            if sink.skip >= group.len() {
                sink.skip -= group.len();
            } else {
                if group_sort {
                    let cmp = |a: &(SortKey<'_>, u32), b: &(SortKey<'_>, u32)| {
                        let o = cmp_keys(&keys[1..], &a.0, &b.0);
                        if late { o.reverse() } else { o }
                    };
                    // Only the first `need` of a big group can reach the page.
                    let need = sink.skip + (sink.limit - sink.out.len());
                    if need < group.len() {
                        group.select_nth_unstable_by(need, cmp);
                        group.truncate(need);
                    }
                    group.sort_unstable_by(cmp);
                }
                for &(_, s) in group.iter() {
                    sink.push(s);
                }
            }
            group.clear();
        };
        // A whole group of one first key (`bounds`, per part of the view),
        // sorted by the later keys: from its kept order once big
        // (`GROUP_KEEP_MIN`), else gathered and sorted here.
        let sort_group = |bounds: &[(usize, usize)], group: &mut Vec<_>, sink: &mut Sink| {
            if !self.push_big_group(kind, bounds, &keys[1..], late, sink) {
                for &(a, b) in bounds {
                    group.extend(view.iter_from(a).take(b - a).map(|s| (key(s), s)));
                }
                flush(group, sink);
            }
        };

        if merged {
            // In the merged order, in the query's direction, or the other
            // way for a late page, in the exact reverse of the query's
            // order: ascending by usage alone, the merge's reverse;
            // descending (its ties in view order), that once each group of
            // equal usage is reversed; with later keys, each group sorted
            // by them reversed. Groups as below.
            let mut parts = parts;
            if select && let Some((before, bounds)) = self.usage_group_at(&parts, desc, offset) {
                // The page starts in the group of one usage. With later
                // keys, the group is gathered from each part and sorted by
                // them. Else its records follow the rest of the default
                // order (`-date`, type rank, uuid) in either direction:
                // each part's run of the group is split at the page's
                // first record by a second selection, and the runs from
                // there merged. Past the group, the merge goes on over
                // the rest of the parts.
                let read = if group_sort {
                    sink.skip = offset - before;
                    sort_group(&bounds, &mut group, &mut sink);
                    true
                } else if self.read_group_from(&parts, &bounds, offset - before, &mut sink) {
                    true
                } else {
                    // (Unreachable: the group holds the page's first
                    // record. The merge below reads the page from the start.)
                    false
                };
                if read {
                    if sink.full() {
                        return Some(sink.out);
                    }
                    sink.skip = 0;
                    for ((_, r), &(a, b)) in parts.iter_mut().zip(&bounds) {
                        if desc {
                            r.end = a;
                        } else {
                            r.start = b;
                        }
                    }
                }
            }
            // (Every record matches: no filter, or one that all meet,
            // `Member::Span` over the whole view. Peeling counts by position.)
            let peel = late && desc && !group_sort && every;
            if peel {
                // The lowest usages may be big groups (unused components
                // report zero: at 1M, 19,864 records): a group before the
                // page is skipped by its size, and the page's part of a
                // group is read from the group's end in each part, not
                // from its start.
                sink.skip = count - offset - limit;
                if !self.peel_low_groups(&mut parts, &mut sink) {
                    return Some(sink.out);
                }
            }
            let mut m = Merged::new(t, view, &parts, desc != late, &member, budget);
            if late && !desc && !group_sort {
                let mut skip = count - offset - limit;
                let mut out = Vec::with_capacity(limit);
                while out.len() < limit {
                    let Some(s) = m.next()? else { break };
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        out.push(s);
                    }
                }
                out.reverse();
                return Some(out);
            }
            if !desc && !group_sort {
                while !sink.full() {
                    let Some(s) = m.next()? else { break };
                    sink.push(s);
                }
                return Some(sink.out);
            }
            if late && !peel {
                // Positions from the far end.
                sink.skip = count - offset - limit;
            }
            let mut cur: Option<i64> = None;
            // A big group of equal usage met on the way (at 1M the usage
            // 1.00 has 51,860 records, the zeros 19,864) is not gathered
            // through the merge, record by record, to be reversed or
            // sorted: its positions in each part are found by binary
            // searches, then it is skipped by its size, or the page's part
            // of it read as the first group is (see above): by a selection
            // of its first record in view order and a merge from there,
            // or, with later keys, from the group sorted by them, kept
            // once big (`GROUP_KEEP_MIN`). The page of `o=-usage` whose
            // end entered the usage 1.00 took 18 ms (page 3,086 of 300);
            // `o=usage,username` 4 to 5 ms, 10 ms from page 300 on.
            // (Every record matching: positions are ranks. Not for a late
            // page read in reverse by usage alone, which peels its low
            // groups; with later keys, its groups are read from their
            // sorted order reversed: `o=-usage,-username` from the zeros'
            // end took 12 ms a page.)
            let jump = every && (!late || group_sort);
            // A filtered walk with later keys jumps a big group too: its
            // records are read from the group's kept order (all of them,
            // sorted by the later keys once), tested, until the page is
            // full, where the merge tested every record of the group and
            // sorted its matches (the year 2025 by `usage,username`, page
            // 1 of 300 at 1M records: the zeros, 19,864 records, 3.3 ms).
            // A group found smaller than `GROUP_KEEP_MIN` is merged on.
            let filtered_jump = !every && group_sort;
            let mut small_group: Option<i64> = None;
            loop {
                let next = m.next()?;
                let p = next.map(|s| t.row(s).usage());
                if cur.is_some() && p != cur {
                    if desc && !group_sort {
                        group.reverse();
                    }
                    flush(&mut group, &mut sink);
                    if sink.full() {
                        break;
                    }
                }
                let Some(s) = next else { break };
                cur = p;
                group.push((key(s), s));
                if !((jump || (filtered_jump && small_group != p)) && group.len() >= PEEL_MIN) {
                    continue;
                }
                let u = t.row(s).usage();
                let bounds: Cuts = (parts.iter())
                    .map(|(_, r)| self.usage_group(r.clone(), u))
                    .collect();
                let size: usize = bounds.iter().map(|&(a, b)| b - a).sum();
                // Filtered: sorting the group whole costs more than sorting
                // its matches, and a write forgets it: made at once when
                // its matches are expected to be many themselves (matches
                // spread evenly), else by the second request since the
                // last write (`username=ann&o=usage,username` with a write
                // before each: the zeros sorted whole, 2.2 ms; merged, 0.9
                // ms).
                let sorted = if filtered_jump {
                    let many = size.saturating_mul(count) / view.len().max(1) >= GROUP_KEEP_MIN;
                    let sorted = (size >= GROUP_KEEP_MIN)
                        .then(|| self.sorted_group_when(kind, &bounds, &keys[1..], !many))
                        .flatten();
                    if sorted.is_none() {
                        small_group = p;
                        continue;
                    }
                    sorted
                } else {
                    None
                };
                group.clear();
                // With the username next and last (`o=usage,username`), the
                // group's order is the username view's (names, then the
                // default order within each): walked, testing the usage,
                // when the page's records are expected within a small part
                // of it, where reading the whole group's keys to sort them
                // cost 12 million instructions for the zeros at 1M.
                let need = sink.skip + (sink.limit - sink.out.len());
                let by_name = keys.len() == 2 && keys[1].field == SortField::Username;
                if let Some(sorted) = sorted {
                    let mut push = |s: u32| {
                        if member(s) {
                            sink.push(s);
                        }
                        !sink.full()
                    };
                    let _ = if late {
                        sorted.iter().rev().all(|&s| push(s))
                    } else {
                        sorted.iter().all(|&s| push(s))
                    };
                } else if sink.skip >= size {
                    sink.skip -= size;
                } else if by_name && !late && need.saturating_mul(view.len()) / size < size / 4 {
                    self.name_walk(u, keys[1].descending, &mut sink);
                } else if group_sort {
                    sort_group(&bounds, &mut group, &mut sink);
                } else {
                    let read = self.read_group_from(&parts, &bounds, sink.skip, &mut sink);
                    debug_assert!(read, "the group holds more than the records skipped");
                    sink.skip = 0;
                }
                if sink.full() {
                    break;
                }
                // On past the group: the merge starts again without it
                // (from the far end for a late page).
                drop(m);
                for ((_, r), &(a, b)) in parts.iter_mut().zip(&bounds) {
                    if desc != late {
                        r.end = a;
                    } else {
                        r.start = b;
                    }
                }
                m = Merged::new(t, view, &parts, desc != late, &member, budget);
                cur = None;
            }
            if late {
                sink.out.reverse();
            }
            return Some(sink.out);
        }

        // The first position of the group of key `k` (equal primary key)
        // and the one past it, by binary search: the view's own order
        // (`in_view`) is monotone over the whole view, so a search for a
        // key of one type's usage part stays within the part.
        let group_start = |k: &SortKey<'_>| {
            view.partition_point(|s| in_view(kind, &t.key(s), k) == Ordering::Less)
        };
        let group_end = |k: &SortKey<'_>| {
            view.partition_point(|s| in_view(kind, &t.key(s), k) != Ordering::Greater)
        };

        if !desc {
            // Ascending with further keys: gather each group, sort it, emit.
            // Equal primaries are adjacent in the view, so groups are told
            // apart among the members alone: a non-member's row is never read.
            let mut first: Option<SortKey<'_>> = None;
            let mut from = span.start;
            if every && offset >= JUMP_MIN && offset < span.len() {
                // Every record of the span matches: the walk starts at the
                // group holding the offset-th record, found by position
                // (`o=username,-usage&page=50000` at 1M walked half the
                // view: 57 ms).
                let gs = group_start(&t.key(view.get(span.start + offset))).max(span.start);
                sink.skip = offset - (gs - span.start);
                from = gs;
            }
            let mut walk = view.iter_from(from).take(span.end - from);
            // (With every record a member: the position after `s`.)
            let mut pos = from;
            while let Some(s) = walk.next() {
                pos += 1;
                steps += 1;
                if steps > budget {
                    return None;
                }
                if !member(s) {
                    continue;
                }
                let k = t.key(s);
                if first.is_some_and(|f| same_primary(kind, &f, &k) != Ordering::Equal) {
                    flush(&mut group, &mut sink);
                    if sink.full() {
                        return Some(sink.out);
                    }
                }
                first = Some(k);
                group.push((k, s));
                if every && group.len() == GROUP_KEEP_MIN {
                    // A big group (a period's records by usage): its end
                    // found by binary search, read (or skipped) from its
                    // kept order, and the walk goes on past it.
                    let (gs, ge) = (pos - GROUP_KEEP_MIN, group_end(&k).min(span.end));
                    group.clear();
                    sort_group(&[(gs, ge)], &mut group, &mut sink);
                    if sink.full() {
                        return Some(sink.out);
                    }
                    first = None;
                    walk = view.iter_from(ge).take(span.end - ge);
                    pos = ge;
                }
            }
            flush(&mut group, &mut sink);
            return Some(sink.out);
        }

        // Descending: groups from the end of the view, each in view order
        // (the default keys ascending within it) or re-sorted by later keys.
        if !all {
            // One pass backwards; a group ends where the primary key changes
            // among the members (equal primaries are adjacent in the view, so
            // a non-member's row need not be read: most steps are one bit test).
            let mut cur: Option<i64> = None;
            let mut end = span.end.min(view.len());
            if matches!(member_of, Member::Span) && offset >= JUMP_MIN {
                // Every record of the span matches (one type's part of the
                // usage view, or a whole view, where `in_view` is
                // `same_primary`): the group holding the offset-th record is
                // found by position and read in view order from the page's
                // first record (a big group, zero usages, is not walked), or
                // sorted by the later keys.
                let k = t.key(view.get(end - 1 - offset));
                let (gs, ge) = (group_start(&k), group_end(&k));
                // Desc positions before this group: the span's records after it.
                let skip = offset - (end - ge);
                if group_sort {
                    sink.skip = skip;
                    sort_group(&[(gs, ge)], &mut group, &mut sink);
                } else {
                    sink.out
                        .extend(view.iter_from(gs + skip).take((ge - gs - skip).min(limit)));
                }
                sink.skip = 0;
                if sink.full() {
                    return Some(sink.out);
                }
                end = gs;
            }
            for s in view.iter_rev_before(end).take(end - span.start) {
                steps += 1;
                if steps > budget {
                    return None;
                }
                if !member(s) {
                    continue;
                }
                let p = t.primary(kind, s);
                if cur.is_some_and(|c| c != p) {
                    group.reverse();
                    flush(&mut group, &mut sink);
                    if sink.full() {
                        return Some(sink.out);
                    }
                }
                cur = Some(p);
                group.push((key(s), s));
            }
            group.reverse();
            flush(&mut group, &mut sink);
            return Some(sink.out);
        }
        let mut end = view.len();
        if end > 0 {
            // Jump straight to the group holding the offset-th record,
            // whatever the order within groups (`o=-username,usage&page=50000`
            // at 1M read 8,500 groups' bounds: 17 ms).
            let target = view.len() - 1 - offset.min(view.len() - 1);
            let ge = group_end(&t.key(view.get(target)));
            // Desc positions before this group: the records after it in the view.
            sink.skip = offset - (view.len() - ge);
            end = ge;
        }
        while end > 0 && !sink.full() {
            let gs = group_start(&t.key(view.get(end - 1)));
            if sink.skip >= end - gs {
                sink.skip -= end - gs;
            } else if !group_sort {
                // In view order: the page's part of the group by position
                // (`o=-component_usage__billing_period&page=50000` gathered
                // its period's 28,000 records).
                let from = gs + sink.skip;
                let room = sink.limit - sink.out.len();
                sink.out
                    .extend(view.iter_from(from).take((end - from).min(room)));
                sink.skip = 0;
            } else {
                sort_group(&[(gs, end)], &mut group, &mut sink);
            }
            end = gs;
        }
        Some(sink.out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use roaring::RoaringBitmap;

    /// Bitmaps mixing runs (some crossing a 65,536 boundary), scattered
    /// values and dense stretches, run-compressed or not, so that every
    /// path of `and` and `and_len` is taken.
    fn bitmap() -> impl Strategy<Value = RoaringBitmap> {
        let run = (0u32..300_000, 1u32..20_000).prop_map(|(s, n)| s..s + n);
        let runs = prop::collection::vec(run, 0..40);
        // Few values (so a bitmap is a few runs, or small enough to probe) or many.
        let values = prop_oneof![
            prop::collection::vec(0u32..300_000, 0..4),
            prop::collection::vec(0u32..300_000, 0..600),
            prop::collection::vec(0u32..300_000, 0..3_000),
        ];
        (runs, values, any::<bool>()).prop_map(|(runs, values, compress)| {
            let mut b: RoaringBitmap = values.into_iter().collect();
            for r in runs {
                b.insert_range(r);
            }
            if compress {
                b.optimize();
            }
            b
        })
    }

    /// `values` against roaring's own iteration on the shapes that broke
    /// roaring 0.12's `next_many` (a full container after a partial one):
    /// the proptest below found it.
    #[test]
    fn values_reads_full_containers() {
        let mut b = RoaringBitmap::new();
        b.insert(0);
        b.insert_range(191_470..262_144);
        for compress in [false, true] {
            if compress {
                b.optimize();
            }
            assert_eq!(super::values(&b), b.iter().collect::<Vec<u32>>());
        }
    }

    /// A block's members by SIMD against the comparison per value, on
    /// random blocks and runs, runs at both ends of the slot space and
    /// values on each side of a run's bounds.
    #[test]
    fn block_members_match_the_comparison() {
        let mut next = crate::test_rng(0x5851_f42d_4c95_7f2d);
        let want = |blk: &[u32; super::LANES], lo: u32, width: u32| {
            (blk.iter().enumerate()).fold(0, |m, (j, &s)| {
                m | u32::from(s.wrapping_sub(lo) <= width) << j
            })
        };
        for round in 0..20_000u64 {
            let (lo, width) = match round % 4 {
                0 => (0, u32::MAX),
                1 => (u32::MAX - next(1000) as u32, next(1000) as u32),
                _ => (next(1 << 32) as u32, next(1 << (round % 32)) as u32),
            };
            let end = lo.wrapping_add(width);
            let blk: [u32; super::LANES] = std::array::from_fn(|_| match next(6) {
                0 => lo.wrapping_sub(next(3) as u32),
                1 => lo.wrapping_add(next(3) as u32),
                2 => end.wrapping_sub(next(3) as u32),
                3 => end.wrapping_add(next(3) as u32),
                _ => next(1 << 32) as u32,
            });
            assert_eq!(
                super::block_members(&blk, lo, width),
                want(&blk, lo, width),
                "round {round}: {blk:?} in {lo} + {width}"
            );
        }
    }

    /// A project's (or a resource's) matches sorted with their ties by
    /// slot (`by_slot`, as `Core::ties_by_slot` admits them) are in the
    /// order of the sort by the default keys: every order of one key or
    /// two, pages near the front (the heap of the page's keys) and deep
    /// (selection), on a loaded demo store whose projects' prefixes are
    /// everything, then after re-dated reports, which leave tails that
    /// some queries' matches reach (then not admitted).
    #[cfg(feature = "demo")]
    #[test]
    fn ties_by_slot_sort_as_the_default_keys() {
        use crate::Store;
        use crate::demo::{Demo, DemoConfig};
        use crate::query::{Filter, OrderKey, SortField};

        let demo = Demo::new(DemoConfig {
            records: 30_000,
            seed: 11,
        });
        let records: Vec<_> = demo.records().collect();
        let store = Store::new();
        store.upsert_batch(&records).unwrap();
        let orders: Vec<Vec<OrderKey>> = {
            let key = |field, descending| OrderKey { field, descending };
            let one = [
                SortField::Usage,
                SortField::Username,
                SortField::BillingPeriod,
            ];
            let mut v: Vec<Vec<OrderKey>> = (one.iter())
                .flat_map(|&f| [vec![key(f, false)], vec![key(f, true)]])
                .collect();
            v.push(vec![
                key(SortField::Username, false),
                key(SortField::Usage, true),
            ]);
            v.push(vec![
                key(SortField::BillingPeriod, true),
                key(SortField::Usage, false),
            ]);
            v.push(Vec::new());
            v
        };
        let mut next = crate::test_rng(0x2545_f491_4f6c_dd1d);
        let (mut heaps, mut admitted, mut refused) = (0, 0, 0);
        for round in 0..2 {
            if round == 1 {
                // Reports re-dated to a later day: their projects get
                // tails. (Every record of a component usage shares its
                // date, so each moved component usage moves whole.)
                let late = records.iter().map(|r| r.date).max().unwrap();
                let moved: std::collections::HashSet<_> = records
                    .iter()
                    .step_by(13)
                    .map(|r| r.component_usage)
                    .collect();
                let all: Vec<_> = (records.iter())
                    .filter(|r| moved.contains(&r.component_usage))
                    .map(|r| {
                        let mut r = r.clone();
                        r.date = late + chrono::Duration::days(1);
                        r
                    })
                    .collect();
                store.upsert_batch(&all).unwrap();
                store.validate().unwrap();
            }
            let core = store.core.read();
            let t = &core.t;
            let mut filters: Vec<(Filter, &RoaringBitmap)> = (t.projects.iter())
                .map(|(_, p)| {
                    (
                        Filter {
                            project: Some(p.uuid),
                            ..Filter::default()
                        },
                        &p.rows,
                    )
                })
                .collect();
            filters.extend(t.resources.iter().step_by(7).map(|(_, r)| {
                (
                    Filter {
                        resource_uuid: Some(r.uuid),
                        ..Filter::default()
                    },
                    &r.rows,
                )
            }));
            for (f, rows) in filters {
                let set: Vec<u32> = rows.iter().collect();
                let Some(&max) = set.last() else { continue };
                if !core.ties_by_slot(&f, max) {
                    refused += 1;
                    continue;
                }
                admitted += 1;
                for keys in &orders {
                    let n = set.len();
                    let pages = [(0, 1), (0, 10), (next(n), 1 + next(12)), (n / 2, n)];
                    for (offset, limit) in pages {
                        heaps += usize::from(keys.len() == 1 && (offset + limit) * 8 <= n);
                        let got = core.sort_slots(&set, keys, offset, limit, true);
                        let want = core.sort_slots(&set, keys, offset, limit, false);
                        assert_eq!(
                            got, want,
                            "{f:?} by {keys:?}, offset {offset}, limit {limit}"
                        );
                    }
                }
            }
        }
        assert!(heaps > 100, "pages near the front of one key: {heaps}");
        assert!(
            admitted > 100 && refused > 0,
            "admitted {admitted}, refused {refused}"
        );
    }

    /// `split_at_rank` against the merge itself: random runs of distinct
    /// keys (some empty, some of one key, interleaved or apart), split at
    /// every rank and one past the end.
    #[test]
    fn splits_at_rank_match_the_merge() {
        let mut next = crate::test_rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            // Distinct keys dealt to up to eight runs, each sorted; the
            // runs sit apart in one position space, as a view's parts do.
            let parts = 1 + next(8);
            let spread = if round % 2 == 0 { 50 } else { 5_000 };
            let n = next(60);
            let mut keys: Vec<u32> = (0..n).map(|_| next(spread) as u32).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut dealt: Vec<Vec<u32>> = vec![Vec::new(); parts];
            for k in keys {
                dealt[next(parts)].push(k);
            }
            let mut space = Vec::new();
            let mut runs = Vec::new();
            for d in &dealt {
                // A gap before each run, as another part's positions.
                space.extend(std::iter::repeat_n(u32::MAX, next(3)));
                let a = space.len();
                space.extend(d);
                runs.push((a, space.len()));
            }
            let mut merged: Vec<(u32, usize)> = runs
                .iter()
                .enumerate()
                .flat_map(|(i, &(a, b))| space[a..b].iter().map(move |&k| (k, i)))
                .collect();
            merged.sort_unstable();
            for r in 0..=merged.len() {
                let key = |p: usize| space[p];
                let below = |w: std::ops::Range<usize>, k: &u32| {
                    w.start + space[w].partition_point(|&x| x < *k)
                };
                let got = super::split_at_rank(&runs, r, key, below);
                if r == merged.len() {
                    assert_eq!(got, None, "round {round}: rank {r} is past the end");
                    continue;
                }
                let cuts = got.unwrap_or_else(|| panic!("round {round}: rank {r}"));
                for (i, (&(a, b), &c)) in runs.iter().zip(&cuts).enumerate() {
                    let want = a + merged[..r].iter().filter(|m| m.1 == i).count();
                    assert!(c <= b, "round {round}: rank {r}: cut past run {i}");
                    assert_eq!(c, want, "round {round}: rank {r}, run {i}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            // Failures become explicit tests (above), not a side file.
            failure_persistence: None,
            ..ProptestConfig::with_cases(300)
        })]
        /// Many-run bitmaps (a big offering's records, a type's) are
        /// expanded before a merge (`flat`): same answers.
        #[test]
        fn many_run_intersections_match_roaring(
            (start, run, gap, n) in (0u32..100_000, 8u32..64, 4u32..40, 100u32..4_000),
            b in bitmap(),
        ) {
            let mut a = RoaringBitmap::new();
            for i in 0..n {
                let s = start + i * (run + gap);
                a.insert_range(s..s + run);
            }
            a.optimize();
            let want = &a & &b;
            prop_assert_eq!(super::and(&a, &b), want.clone());
            prop_assert_eq!(super::and(&b, &a), want.clone());
            prop_assert_eq!(super::and_len(&a, &b), want.len());
            prop_assert_eq!(super::and_len(&b, &a), want.len());
            let f = super::flat(&a).unwrap_or_else(|| a.clone());
            prop_assert_eq!(f, a);
        }

        #[test]
        fn intersections_match_roaring(a in bitmap(), b in bitmap()) {
            let want = &a & &b;
            prop_assert_eq!(super::and(&a, &b), want.clone());
            prop_assert_eq!(super::and(&b, &a), want.clone());
            prop_assert_eq!(super::and_len(&a, &b), want.len());
            prop_assert_eq!(super::and_len(&b, &a), want.len());
            prop_assert_eq!(super::values(&a), a.iter().collect::<Vec<u32>>());
            if let Some(runs) = super::runs_of(&a, a.len()) {
                let mut back = RoaringBitmap::new();
                for r in runs {
                    back.insert_range(r);
                }
                prop_assert_eq!(back, a);
            }
        }

        #[test]
        fn range_len_matches_range_cardinality(
            b in bitmap(),
            ranges in prop::collection::vec((0u32..320_000, 0u32..140_000), 1..12),
        ) {
            for (s, n) in ranges {
                prop_assert_eq!(super::range_len(&b, s..s + n), b.range_cardinality(s..s + n));
            }
            prop_assert_eq!(super::range_len(&b, 0..u32::MAX), b.range_cardinality(0..u32::MAX));
        }

        #[test]
        fn one_run_against_arrays_matches_roaring(
            start in 0u32..300_000,
            len in 8_000u32..200_000,
            values in prop::collection::vec(0u32..600_000, 0..5_000),
            compress in any::<bool>(),
        ) {
            let mut a = RoaringBitmap::new();
            a.insert_range(start..start + len);
            if compress {
                a.optimize();
            }
            let b: RoaringBitmap = values.into_iter().collect();
            let want = &a & &b;
            prop_assert_eq!(super::and(&a, &b), want.clone());
            prop_assert_eq!(super::and(&b, &a), want);
        }

        #[test]
        fn unions_within_runs_match_roaring(
            runs in prop::collection::vec((0u32..300_000, 1u32..20_000), 0..20),
            compress in any::<bool>(),
            parts in prop::collection::vec(bitmap(), 1..5),
        ) {
            use roaring::MultiOps;
            // At most 20 runs (fewer when they touch or overlap).
            let mut a = RoaringBitmap::new();
            for (s, n) in runs {
                a.insert_range(s..s + n);
            }
            if compress {
                a.optimize();
            }
            let acc = super::Acc::new(&a);
            prop_assert!(acc.runs().is_some());
            let refs: Vec<&RoaringBitmap> = parts.iter().collect();
            let want = &a & refs.iter().copied().union();
            prop_assert_eq!(super::union_within(acc.runs().unwrap(), &refs, false), want.clone());
            // Disjoint parts: each part's own values, the sizes added up.
            let mut seen = RoaringBitmap::new();
            let disjoint: Vec<RoaringBitmap> = parts
                .iter()
                .map(|p| {
                    let d = p - &seen;
                    seen |= p;
                    d
                })
                .collect();
            let refs: Vec<&RoaringBitmap> = disjoint.iter().collect();
            prop_assert_eq!(super::union_within(acc.runs().unwrap(), &refs, true), want.clone());
            prop_assert_eq!(acc.and_len_union(&refs), want.len());
        }
    }
}
