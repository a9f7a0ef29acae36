//! The floor: the work no index-based engine can avoid for a case, as a
//! reference point, not a peer. Records sit in a `Vec<Record>`; roaring
//! bitmaps over their positions are built once per customer, project,
//! resource, component type, billing period, year, month, UTC report day and
//! folded username. A query intersects the case's bitmaps (unions first,
//! where the case needs one: the scope's customers and projects, the days of
//! a date range, the usernames containing the needle, resolved at setup),
//! takes the cardinality and clones the records at the page's positions in
//! position order. It does no ordering, so only its counts are comparable.

use std::collections::HashMap;
use std::hash::Hash;

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
    day: HashMap<NaiveDate, RoaringBitmap>,
    username: HashMap<String, RoaringBitmap>,
}

/// A case resolved against the floor's dictionaries (setup, not timed):
/// the keys of the bitmaps to intersect; each term is a union of keys.
pub(crate) struct Plan {
    op: Op,
    terms: Vec<Term>,
}

enum Term {
    All,
    Customers(Vec<Uuid>),
    Projects(Vec<Uuid>),
    Scope(Vec<Uuid>, Vec<Uuid>),
    Resource(Uuid),
    Type(String),
    Period(NaiveDate),
    Year(i32),
    Month(u32),
    Days(Vec<NaiveDate>),
    Usernames(Vec<String>),
}

fn add<K: Hash + Eq>(m: &mut HashMap<K, RoaringBitmap>, k: K, pos: u32) {
    m.entry(k).or_default().insert(pos);
}

static EMPTY: std::sync::LazyLock<RoaringBitmap> = std::sync::LazyLock::new(RoaringBitmap::new);

fn one<'a, K: Hash + Eq>(m: &'a HashMap<K, RoaringBitmap>, k: &K) -> &'a RoaringBitmap {
    m.get(k).unwrap_or(&EMPTY)
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
            day: HashMap::new(),
            username: HashMap::new(),
            records: Vec::new(),
        };
        for (i, r) in records.iter().enumerate() {
            let i = i as u32;
            f.uuid.insert(r.uuid, i);
            add(&mut f.customer, r.customer_uuid, i);
            add(&mut f.project, r.project_uuid, i);
            add(&mut f.resource, r.resource_uuid, i);
            add(&mut f.component_type, r.component_type.clone(), i);
            add(&mut f.period, r.billing_period, i);
            add(&mut f.year, r.billing_period.year(), i);
            add(&mut f.month, r.billing_period.month(), i);
            add(&mut f.day, r.date.date_naive(), i);
            add(&mut f.username, r.username.to_lowercase(), i);
        }
        f.records = records;
        f
    }

    /// Resolves a case's keys: which bitmaps it intersects.
    pub(crate) fn plan(&self, op: &Op) -> Plan {
        let mut terms = Vec::new();
        if let Op::List(s) | Op::Count(s) = op {
            terms = self.terms(s);
        }
        Plan {
            op: op.clone(),
            terms,
        }
    }

    fn terms(&self, s: &Spec) -> Vec<Term> {
        let mut t = Vec::new();
        if let Some(u) = s.customer {
            t.push(Term::Customers(vec![u]));
        }
        if let Some(u) = s.project {
            t.push(Term::Projects(vec![u]));
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
        if s.date_after.is_some() || s.date_before.is_some() {
            let mut days: Vec<NaiveDate> = self
                .day
                .keys()
                .filter(|&&d| s.date_after.is_none_or(|a| d >= a))
                .filter(|&&d| s.date_before.is_none_or(|b| d <= b))
                .copied()
                .collect();
            days.sort();
            t.push(Term::Days(days));
        }
        if let Some(n) = s.needle_folded() {
            let mut names: Vec<String> = self
                .username
                .keys()
                .filter(|u| u.contains(n.as_str()))
                .cloned()
                .collect();
            names.sort();
            t.push(Term::Usernames(names));
        }
        if let Some((cs, ps)) = &s.scope {
            t.push(Term::Scope(cs.clone(), ps.clone()));
        }
        if t.is_empty() {
            t.push(Term::All);
        }
        t
    }

    fn union<'a>(bitmaps: impl IntoIterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
        bitmaps.into_iter().union()
    }

    fn bitmap(&self, term: &Term) -> std::borrow::Cow<'_, RoaringBitmap> {
        use std::borrow::Cow::{Borrowed, Owned};
        match term {
            Term::All => Borrowed(&self.all),
            Term::Customers(us) if us.len() == 1 => Borrowed(one(&self.customer, &us[0])),
            Term::Customers(us) => Owned(Self::union(us.iter().map(|u| one(&self.customer, u)))),
            Term::Projects(us) if us.len() == 1 => Borrowed(one(&self.project, &us[0])),
            Term::Projects(us) => Owned(Self::union(us.iter().map(|u| one(&self.project, u)))),
            Term::Scope(cs, ps) => Owned(Self::union(
                cs.iter()
                    .map(|u| one(&self.customer, u))
                    .chain(ps.iter().map(|u| one(&self.project, u))),
            )),
            Term::Resource(u) => Borrowed(one(&self.resource, u)),
            Term::Type(t) => Borrowed(one(&self.component_type, t)),
            Term::Period(d) => Borrowed(one(&self.period, d)),
            Term::Year(y) => Borrowed(one(&self.year, y)),
            Term::Month(m) => Borrowed(one(&self.month, m)),
            Term::Days(ds) => Owned(Self::union(ds.iter().map(|d| one(&self.day, d)))),
            Term::Usernames(ns) => Owned(Self::union(ns.iter().map(|n| one(&self.username, n)))),
        }
    }

    /// The intersection of a plan's terms, smallest first.
    fn intersect(&self, terms: &[Term]) -> std::borrow::Cow<'_, RoaringBitmap> {
        let mut bms: Vec<_> = terms.iter().map(|t| self.bitmap(t)).collect();
        if bms.len() == 1 {
            return bms.pop().expect("one");
        }
        bms.sort_by_key(|b| b.len());
        let mut it = bms.into_iter();
        let mut acc = it.next().expect("terms").into_owned();
        for b in it {
            acc &= b.as_ref();
        }
        std::borrow::Cow::Owned(acc)
    }

    /// Answers a plan: count, and the page's records at the page's rank in position order.
    pub(crate) fn run(&self, p: &Plan) -> Answer {
        match &p.op {
            Op::Get(u) => {
                let records: Vec<Record> = self
                    .uuid
                    .get(u)
                    .map(|&i| self.records[i as usize].clone())
                    .into_iter()
                    .collect();
                Answer {
                    count: records.len() as u64,
                    records,
                }
            }
            Op::Count(_) if p.terms.len() == 2 => {
                let a = self.bitmap(&p.terms[0]);
                let b = self.bitmap(&p.terms[1]);
                Answer {
                    count: a.intersection_len(&b),
                    records: Vec::new(),
                }
            }
            Op::Count(_) => Answer {
                count: self.intersect(&p.terms).len(),
                records: Vec::new(),
            },
            Op::List(spec) => {
                let bm = self.intersect(&p.terms);
                let count = bm.len();
                let (offset, len) = spec.window(count);
                let records = match bm.select(offset as u32) {
                    Some(first) => bm
                        .range(first..)
                        .take(len)
                        .map(|i| self.records[i as usize].clone())
                        .collect(),
                    None => Vec::new(),
                };
                Answer { count, records }
            }
        }
    }
}
