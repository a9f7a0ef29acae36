//! The `multi_index_map` peer: records in a `MultiIndexMap` with a unique
//! hashed index on uuid and non-unique hashed indexes on customer, project,
//! offering, resource, component type and billing period.
//!
//! A query asks every index its filter can use for the number of entries
//! under the key (kept in side tables of key counts, as the crate exposes no
//! per-key length), takes the smallest candidate set, checks the remaining
//! predicates on each candidate, then selects and sorts just the page
//! ([`select_page`]: O(n + page log page), not a full sort).

use std::collections::HashMap;
use std::hash::Hash;

use chrono::NaiveDate;
use multi_index_map::MultiIndexMap;
use usage_store::Record;
use uuid::Uuid;

use super::{Answer, Op, Spec, select_page};

/// One element: the indexed keys (copied out of the record) and the record.
#[derive(MultiIndexMap, Clone, Debug)]
pub(crate) struct Row {
    #[multi_index(hashed_unique)]
    pub(crate) uuid: Uuid,
    #[multi_index(hashed_non_unique)]
    pub(crate) customer: Uuid,
    #[multi_index(hashed_non_unique)]
    pub(crate) project: Uuid,
    #[multi_index(hashed_non_unique)]
    pub(crate) offering: Uuid,
    #[multi_index(hashed_non_unique)]
    pub(crate) resource: Uuid,
    #[multi_index(hashed_non_unique)]
    pub(crate) component_type: String,
    #[multi_index(hashed_non_unique)]
    pub(crate) period: NaiveDate,
    pub(crate) record: Record,
}

/// Number of elements per key of each non-unique index (the planner's statistics).
#[derive(Default)]
struct Stats {
    customer: HashMap<Uuid, usize>,
    project: HashMap<Uuid, usize>,
    resource: HashMap<Uuid, usize>,
    component_type: HashMap<String, usize>,
    period: HashMap<NaiveDate, usize>,
}

fn get<K: Hash + Eq>(m: &HashMap<K, usize>, k: &K) -> usize {
    m.get(k).copied().unwrap_or(0)
}

/// The loaded map and its statistics.
pub(crate) struct Mim {
    pub(crate) map: MultiIndexRowMap,
    stats: Stats,
}

enum Source<'a> {
    All,
    Customer(Uuid),
    Project(Uuid),
    Resource(Uuid),
    Type(&'a str),
    Period(NaiveDate),
    Scope(&'a [Uuid], &'a [Uuid]),
}

impl Mim {
    /// Loads records (clones them into the map).
    pub(crate) fn load(records: &[Record]) -> Mim {
        let mut map = MultiIndexRowMap::with_capacity(records.len());
        let mut stats = Stats::default();
        for r in records {
            *stats.customer.entry(r.customer_uuid).or_default() += 1;
            *stats.project.entry(r.project_uuid).or_default() += 1;
            *stats.resource.entry(r.resource_uuid).or_default() += 1;
            *stats
                .component_type
                .entry(r.component_type.to_string())
                .or_default() += 1;
            *stats.period.entry(r.billing_period).or_default() += 1;
            map.insert(Row {
                uuid: r.uuid,
                customer: r.customer_uuid,
                project: r.project_uuid,
                offering: r.offering_uuid,
                resource: r.resource_uuid,
                component_type: r.component_type.to_string(),
                period: r.billing_period,
                record: r.clone(),
            });
        }
        Mim { map, stats }
    }

    /// Answers a case.
    pub(crate) fn run(&self, op: &Op) -> Answer {
        match op {
            Op::Get(uuid) => {
                let records: Vec<Record> = self
                    .map
                    .get_by_uuid(uuid)
                    .map(|row| row.record.clone())
                    .into_iter()
                    .collect();
                Answer {
                    count: records.len() as u64,
                    records,
                }
            }
            Op::Count(spec) => Answer {
                count: self.matches(spec).len() as u64,
                records: Vec::new(),
            },
            Op::List(spec) => {
                let mut m = self.matches(spec);
                let count = m.len() as u64;
                let (offset, len) = spec.window(count);
                select_page(&mut m, offset, len, |a, b| spec.cmp(a, b));
                let records = m[offset..offset + len].iter().map(|&r| r.clone()).collect();
                Answer { count, records }
            }
        }
    }

    /// The matching records, unordered.
    fn matches<'a>(&'a self, spec: &'a Spec) -> Vec<&'a Record> {
        let s = &self.stats;
        let mut best = (self.map.len(), Source::All);
        let mut consider = |n: usize, src: Source<'a>| {
            if n < best.0 {
                best = (n, src);
            }
        };
        if let Some(u) = spec.customer {
            consider(get(&s.customer, &u), Source::Customer(u));
        }
        if let Some(u) = spec.project {
            consider(get(&s.project, &u), Source::Project(u));
        }
        if let Some(u) = spec.resource {
            consider(get(&s.resource, &u), Source::Resource(u));
        }
        if let Some(t) = &spec.component_type {
            consider(get(&s.component_type, t), Source::Type(t));
        }
        if let Some(d) = spec.billing_period {
            consider(get(&s.period, &d), Source::Period(d));
        }
        if let Some((cs, ps)) = &spec.scope {
            let n = cs.iter().map(|c| get(&s.customer, c)).sum::<usize>()
                + ps.iter().map(|p| get(&s.project, p)).sum::<usize>();
            consider(n, Source::Scope(cs, ps));
        }
        let needle = spec.needle_folded();
        let needle = needle.as_deref();
        let keep = |r: &&Record| spec.matches(r, needle);
        let records = |rows: Vec<&'a Row>| -> Vec<&'a Record> {
            rows.into_iter()
                .map(|row| &row.record)
                .filter(keep)
                .collect()
        };
        match best.1 {
            Source::All => self
                .map
                .iter()
                .map(|(_, row)| &row.record)
                .filter(keep)
                .collect(),
            Source::Customer(u) => records(self.map.get_by_customer(&u)),
            Source::Project(u) => records(self.map.get_by_project(&u)),
            Source::Resource(u) => records(self.map.get_by_resource(&u)),
            Source::Type(t) => records(self.map.get_by_component_type(t)),
            Source::Period(d) => records(self.map.get_by_period(&d)),
            Source::Scope(cs, ps) => {
                // Union of the scope's customers and projects; a project's
                // records are skipped when its customer is already in scope.
                let mut out = Vec::new();
                for c in cs {
                    out.extend(records(self.map.get_by_customer(c)));
                }
                for p in ps {
                    out.extend(
                        records(self.map.get_by_project(p))
                            .into_iter()
                            .filter(|r| !cs.contains(&r.customer_uuid)),
                    );
                }
                out
            }
        }
    }
}
