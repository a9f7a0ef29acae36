//! The floor: the work no index-based engine can avoid for a case, as a
//! reference point, not a peer. Records sit in a `Vec<Record>`; roaring
//! bitmaps over their positions are built once per customer, project,
//! resource, component type, billing period, year, month, UTC report month,
//! UTC report day and folded username. Which bitmaps a case needs is resolved
//! at setup ([`Floor::plan`]: e.g. the usernames that contain the needle, the
//! months and days that tile a date range). A query intersects the case's
//! bitmaps, smallest first (the scope's customers and projects are unioned
//! first), takes the cardinality, and clones the page's records by position.
//! Disjoint unions (the usernames of a substring, the months and days of a
//! date range) are never materialised: the count sums per-part
//! cardinalities.
//!
//! The page is the answer's: its positions are given at setup (from the
//! store's answer, checked there to lie in the case's bitmaps), so the
//! floor copies the same records, with the same strings to allocate, as
//! every engine must. Finding where a page lies in an order is the work
//! the floor leaves out. (It used to copy the first records of its
//! intersection instead: at 10M records the storage type's first ten have
//! no string over 24 bytes, the ten largest usages 14, so its copy cost
//! less than any engine's answer could.)

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use roaring::{MultiOps, RoaringBitmap};
use usage_store::Record;
use uuid::Uuid;

use super::{Answer, Op, Spec};

/// The records and their prebuilt bitmaps.
pub(crate) struct Floor {
    pub(crate) records: Vec<Record>,
    all: RoaringBitmap,
    uuid: HashMap<Uuid, u32>,
    customer: HashMap<Uuid, RoaringBitmap>,
    project: HashMap<Uuid, RoaringBitmap>,
    resource: HashMap<Uuid, RoaringBitmap>,
    component_type: HashMap<String, RoaringBitmap>,
    period: HashMap<NaiveDate, RoaringBitmap>,
    year: HashMap<i32, RoaringBitmap>,
    month: HashMap<u32, RoaringBitmap>,
    report_month: HashMap<(i32, u32), RoaringBitmap>,
    day: HashMap<NaiveDate, RoaringBitmap>,
    username: HashMap<String, RoaringBitmap>,
}

/// A case resolved against the floor's dictionaries (setup, not timed).
pub(crate) struct Plan {
    op: Op,
    /// Bitmaps to intersect.
    terms: Vec<Term>,
    /// A disjoint union to intersect with them, if the case has one.
    parts: Option<Vec<Part>>,
    /// The positions of the answer's page, in its order.
    page: Vec<u32>,
}

enum Term {
    All,
    Customer(Uuid),
    Project(Uuid),
    Scope(Vec<Uuid>, Vec<Uuid>),
    Resource(Uuid),
    Type(String),
    Period(NaiveDate),
    Year(i32),
    Month(u32),
}

/// One bitmap of a disjoint union.
enum Part {
    ReportMonth(i32, u32),
    Day(NaiveDate),
    Username(String),
}

fn add<K: Hash + Eq>(m: &mut HashMap<K, RoaringBitmap>, k: K, pos: u32) {
    m.entry(k).or_default().insert(pos);
}

static EMPTY: LazyLock<RoaringBitmap> = LazyLock::new(RoaringBitmap::new);

fn one<'a, K: Hash + Eq>(m: &'a HashMap<K, RoaringBitmap>, k: &K) -> &'a RoaringBitmap {
    m.get(k).unwrap_or(&EMPTY)
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn last_of_month(d: NaiveDate) -> NaiveDate {
    let first = first_of_month(d);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("date in range");
    next.pred_opt().expect("date in range")
}

impl Floor {
    /// Takes the records and builds every bitmap.
    pub(crate) fn load(records: Vec<Record>) -> Floor {
        let mut f = Floor {
            all: (0..records.len() as u32).collect(),
            uuid: HashMap::with_capacity(records.len()),
            customer: HashMap::new(),
            project: HashMap::new(),
            resource: HashMap::new(),
            component_type: HashMap::new(),
            period: HashMap::new(),
            year: HashMap::new(),
            month: HashMap::new(),
            report_month: HashMap::new(),
            day: HashMap::new(),
            username: HashMap::new(),
            records: Vec::new(),
        };
        for (i, r) in records.iter().enumerate() {
            let i = i as u32;
            let day = r.date.date_naive();
            f.uuid.insert(r.uuid, i);
            add(&mut f.customer, r.customer_uuid, i);
            add(&mut f.project, r.project_uuid, i);
            add(&mut f.resource, r.resource_uuid, i);
            add(&mut f.component_type, r.component_type.to_string(), i);
            add(&mut f.period, r.billing_period, i);
            add(&mut f.year, r.billing_period.year(), i);
            add(&mut f.month, r.billing_period.month(), i);
            add(&mut f.report_month, (day.year(), day.month()), i);
            add(&mut f.day, day, i);
            add(&mut f.username, r.username.to_lowercase().to_string(), i);
        }
        f.records = records;
        f
    }

    /// Resolves a case: which bitmaps it intersects.
    /// `page`: the uuids of the answer's page (of a list), in order; each
    /// must be a record that the case's bitmaps hold.
    pub(crate) fn plan(&self, op: &Op, page: &[Uuid]) -> Plan {
        let (terms, parts) = match op {
            Op::List(s) | Op::Count(s) => self.terms(s),
            Op::Get(_) => (Vec::new(), None),
        };
        let page: Vec<u32> = match op {
            Op::List(_) => page.iter().map(|u| self.uuid[u]).collect(),
            Op::Get(_) | Op::Count(_) => Vec::new(),
        };
        let acc = self.intersect(&terms);
        for &i in &page {
            assert!(
                acc.as_ref().is_none_or(|a| a.contains(i))
                    && parts
                        .as_ref()
                        .is_none_or(|ps| ps.iter().any(|p| self.part(p).contains(i))),
                "the page's record {} is not in the case's bitmaps",
                self.records[i as usize].uuid
            );
        }
        Plan {
            op: op.clone(),
            terms,
            parts,
            page,
        }
    }

    fn terms(&self, s: &Spec) -> (Vec<Term>, Option<Vec<Part>>) {
        let mut t = Vec::new();
        if let Some(u) = s.customer {
            t.push(Term::Customer(u));
        }
        if let Some(u) = s.project {
            t.push(Term::Project(u));
        }
        if let Some(u) = s.resource {
            t.push(Term::Resource(u));
        }
        if let Some(x) = &s.component_type {
            t.push(Term::Type(x.clone()));
        }
        if let Some(d) = s.billing_period {
            t.push(Term::Period(d));
        }
        if let Some(y) = s.year {
            t.push(Term::Year(y));
        }
        if let Some(m) = s.month {
            t.push(Term::Month(m));
        }
        if let Some((cs, ps)) = &s.scope {
            t.push(Term::Scope(cs.clone(), ps.clone()));
        }
        let mut parts = None;
        if s.date_after.is_some() || s.date_before.is_some() {
            // Tile the range with whole report months and single days.
            let mut days: Vec<NaiveDate> = self
                .day
                .keys()
                .filter(|&&d| s.date_after.is_none_or(|a| d >= a))
                .filter(|&&d| s.date_before.is_none_or(|b| d <= b))
                .copied()
                .collect();
            days.sort();
            let mut p = Vec::new();
            let mut i = 0;
            while i < days.len() {
                let d = days[i];
                let whole = s.date_after.is_none_or(|a| a <= first_of_month(d))
                    && s.date_before.is_none_or(|b| b >= last_of_month(d));
                if whole {
                    p.push(Part::ReportMonth(d.year(), d.month()));
                    while i < days.len() && first_of_month(days[i]) == first_of_month(d) {
                        i += 1;
                    }
                } else {
                    p.push(Part::Day(d));
                    i += 1;
                }
            }
            parts = Some(p);
        }
        if let Some(n) = s.needle_folded() {
            assert!(parts.is_none(), "one disjoint union per case");
            let mut names: Vec<String> = self
                .username
                .keys()
                .filter(|u| u.contains(n.as_str()))
                .cloned()
                .collect();
            names.sort();
            parts = Some(names.into_iter().map(Part::Username).collect());
        }
        if t.is_empty() && parts.is_none() {
            t.push(Term::All);
        }
        (t, parts)
    }

    fn bitmap(&self, term: &Term) -> Cow<'_, RoaringBitmap> {
        match term {
            Term::All => Cow::Borrowed(&self.all),
            Term::Customer(u) => Cow::Borrowed(one(&self.customer, u)),
            Term::Project(u) => Cow::Borrowed(one(&self.project, u)),
            Term::Scope(cs, ps) => {
                let bms: Vec<&RoaringBitmap> = cs
                    .iter()
                    .map(|u| one(&self.customer, u))
                    .chain(ps.iter().map(|u| one(&self.project, u)))
                    .collect();
                Cow::Owned(bms.union())
            }
            Term::Resource(u) => Cow::Borrowed(one(&self.resource, u)),
            Term::Type(t) => Cow::Borrowed(one(&self.component_type, t)),
            Term::Period(d) => Cow::Borrowed(one(&self.period, d)),
            Term::Year(y) => Cow::Borrowed(one(&self.year, y)),
            Term::Month(m) => Cow::Borrowed(one(&self.month, m)),
        }
    }

    fn part(&self, part: &Part) -> &RoaringBitmap {
        match part {
            Part::ReportMonth(y, m) => one(&self.report_month, &(*y, *m)),
            Part::Day(d) => one(&self.day, d),
            Part::Username(n) => one(&self.username, n),
        }
    }

    /// The intersection of the terms, smallest first; `None` when there is no term.
    fn intersect(&self, terms: &[Term]) -> Option<Cow<'_, RoaringBitmap>> {
        let mut bms: Vec<_> = terms.iter().map(|t| self.bitmap(t)).collect();
        if bms.len() <= 1 {
            return bms.pop();
        }
        bms.sort_by_key(|b| b.len());
        let mut it = bms.into_iter();
        let mut acc = it.next().expect("terms").into_owned();
        for b in it {
            acc &= b.as_ref();
        }
        Some(Cow::Owned(acc))
    }

    /// Answers a plan: the count, and the page's records at the page's rank
    /// in position order (per part, for a disjoint union).
    pub(crate) fn run(&self, p: &Plan) -> Answer {
        let spec = match &p.op {
            Op::Get(u) => {
                let records: Vec<Record> = self
                    .uuid
                    .get(u)
                    .map(|&i| self.records[i as usize].clone())
                    .into_iter()
                    .collect();
                return Answer {
                    count: records.len() as u64,
                    records,
                };
            }
            Op::Count(_) if p.terms.len() == 2 && p.parts.is_none() => {
                let a = self.bitmap(&p.terms[0]);
                let b = self.bitmap(&p.terms[1]);
                return Answer {
                    count: a.intersection_len(&b),
                    records: Vec::new(),
                };
            }
            Op::Count(_) => None,
            Op::List(spec) => Some(spec),
        };
        let acc = self.intersect(&p.terms);
        let count = match &p.parts {
            None => acc.expect("a term").len(),
            Some(parts) => (parts.iter())
                .map(|part| {
                    let b = self.part(part);
                    acc.as_ref().map_or(b.len(), |a| a.intersection_len(b))
                })
                .sum(),
        };
        let records = match spec {
            Some(_) => (p.page.iter())
                .map(|&i| self.records[i as usize].clone())
                .collect(),
            None => Vec::new(),
        };
        Answer { count, records }
    }
}
