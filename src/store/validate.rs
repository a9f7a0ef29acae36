//! `validate()`: recomputes every index from the arena and the entity tables
//! and compares, so tests can check the invariants after each operation.

use std::collections::BTreeMap;

use hashbrown::HashMap;
use roaring::RoaringBitmap;

use super::cache::ANY_TYPE;
use super::core::{Core, NO_SLOT, NO_TEXT, Tables, VIEW_KINDS};
use super::entities::{PROJECT_TYPES, UNKEPT};
use crate::wire::time::micros_to_day;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl Core {
    pub(crate) fn validate(&self) -> Result<(), String> {
        let t = &self.t;
        // Arena, free list, live bitmap, primary and natural keys.
        let mut live = RoaringBitmap::new();
        let mut by_key = HashMap::new();
        let mut texts = hashbrown::HashSet::new();
        for (i, r) in t.rows.iter().enumerate() {
            let Some(r) = r else { continue };
            let slot = i as u32;
            live.insert(slot);
            ensure!(
                t.slot_of(&r.uuid) == Some(slot),
                "by_uuid misses slot {slot}"
            );
            ensure!(
                !t.cus.is_free(r.cu),
                "slot {slot}: dead component usage {}",
                r.cu
            );
            ensure!(
                t.usernames.dict.is_live(r.username),
                "slot {slot}: dead username {}",
                r.username
            );
            ensure!(
                by_key.insert((r.cu, r.username), slot).is_none(),
                "slot {slot}: duplicate natural key"
            );
            if r.text != NO_TEXT {
                ensure!(t.texts.is_live(r.text), "slot {slot}: dead text {}", r.text);
                ensure!(texts.insert(r.text), "slot {slot}: shared text {}", r.text);
                let (d, b) = t.texts.get(r.text);
                ensure!(
                    !d.is_empty() || !b.is_empty(),
                    "slot {slot}: empty text stored"
                );
            }
        }
        ensure!(live == t.live, "live bitmap differs from the arena");
        ensure!(t.texts.len() == texts.len(), "texts without records");
        ensure!(
            t.by_uuid.len() as u64 == live.len(),
            "by_uuid has stale entries"
        );
        // Row chains: each component usage's chain holds exactly its live
        // slots, once each (bounded walk, so a cycle is reported, not looped).
        let mut chained = 0u64;
        for (id, cu) in t.cus.iter() {
            let mut at = cu.first;
            let mut n = 0u64;
            while at != NO_SLOT {
                ensure!(live.contains(at), "cu {id}: chain holds dead slot {at}");
                ensure!(n < live.len(), "cu {id}: chain has a cycle");
                let r = t.row(at);
                ensure!(r.cu == id, "cu {id}: chain holds slot {at} of cu {}", r.cu);
                n += 1;
                at = r.next;
            }
            chained += n;
        }
        ensure!(
            chained == live.len(),
            "row chains hold {chained} slots, {} are live",
            live.len()
        );
        for (&(cu, u), &slot) in &by_key {
            ensure!(
                t.slot_of_key(cu, u) == Some(slot),
                "natural key of slot {slot} not found through its chain"
            );
        }
        ensure!(
            t.by_uuid.iter().all(|s| live.contains(s)),
            "uuid index holds a dead slot"
        );
        for &f in &t.free {
            ensure!(
                t.rows.get(f as usize).is_some_and(Option::is_none),
                "free slot {f} is in use"
            );
        }
        ensure!(
            t.free.len() + live.len() as usize == t.rows.len(),
            "free list and arena disagree"
        );

        // Entity bitmaps and counts, recomputed from the rows.
        let mut res_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut off_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut proj_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut cust_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut user_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut type_rows: BTreeMap<u32, RoaringBitmap> = BTreeMap::new();
        let mut periods: BTreeMap<i32, RoaringBitmap> = BTreeMap::new();
        let mut days: BTreeMap<i32, RoaringBitmap> = BTreeMap::new();
        let mut cu_rows: BTreeMap<u32, u32> = BTreeMap::new();
        let mut unit_refs: BTreeMap<u32, u32> = BTreeMap::new();
        let mut kind_refs: BTreeMap<u32, u32> = BTreeMap::new();
        let mut user_refs: BTreeMap<u32, u32> = BTreeMap::new();
        for slot in &live {
            let r = t.row(slot);
            let cu = t.cus.get(r.cu);
            ensure!(
                !t.resources.is_free(cu.resource),
                "cu {}: dead resource",
                r.cu
            );
            let (res, o, p, c) = t.chain(slot);
            ensure!(
                !t.offerings.is_free(o) && !t.projects.is_free(p),
                "resource {res}: dead link"
            );
            ensure!(!t.customers.is_free(c), "project {p}: dead customer");
            res_rows.entry(res).or_default().insert(slot);
            off_rows.entry(o).or_default().insert(slot);
            proj_rows.entry(p).or_default().insert(slot);
            cust_rows.entry(c).or_default().insert(slot);
            user_rows.entry(r.username).or_default().insert(slot);
            let k = t.kind_of(cu);
            type_rows.entry(k.ctype).or_default().insert(slot);
            periods.entry(k.period).or_default().insert(slot);
            days.entry(micros_to_day(cu.date()))
                .or_default()
                .insert(slot);
            *cu_rows.entry(r.cu).or_default() += 1;
            if r.user != super::core::NO_USER {
                *user_refs.entry(r.user.get() - 1).or_default() += 1;
            }
        }
        ensure!(
            t.users.len() == user_refs.len(),
            "offering users without records"
        );
        for (id, u) in t.users.iter() {
            ensure!(
                user_refs.get(&id) == Some(&u.refs.get()),
                "offering user {id}: count {} is wrong",
                u.refs
            );
            ensure!(
                t.users.id(&u.uuid) == Some(id),
                "offering user {id}: uuid map"
            );
        }
        macro_rules! same_rows {
            ($table:ident, $want:ident) => {
                ensure!(
                    t.$table.len() == $want.len(),
                    "{}: {} live entities but {} reached by records",
                    stringify!($table),
                    t.$table.len(),
                    $want.len()
                );
                for (id, e) in t.$table.iter() {
                    ensure!(
                        $want.get(&id) == Some(&e.rows),
                        "{} {id}: bitmap differs from its records",
                        stringify!($table)
                    );
                    ensure!(
                        t.$table.id(&e.uuid) == Some(id),
                        "{} {id}: uuid map",
                        stringify!($table)
                    );
                }
            };
        }
        same_rows!(resources, res_rows);
        for (id, p) in t.projects.iter() {
            ensure!(
                p.run == super::entities::run_bounds(&p.rows),
                "project {id}: kept run {:?} differs from its slots' {:?}",
                p.run,
                super::entities::run_bounds(&p.rows)
            );
            // The prefix ascends by the sequence's key, strictly (uuids
            // differ), and the tail comes after all of it.
            let key = |s: u32| t.seq_key(s);
            let prefix: Vec<_> = p
                .rows
                .iter()
                .take_while(|&s| s < p.sorted_until)
                .map(key)
                .collect();
            ensure!(
                prefix.windows(2).all(|w| w[0] < w[1]),
                "project {id}: records out of the reverse of the default order below slot {}",
                p.sorted_until
            );
            if let Some(&last) = prefix.last() {
                ensure!(
                    p.rows.iter().skip(prefix.len()).all(|s| key(s) > last),
                    "project {id}: a record from slot {} on comes before the prefix's last \
                     in the reverse of the default order",
                    p.sorted_until
                );
            }
        }
        // Cached tails: each is its live project's tail in the reverse of
        // the default order.
        for (id, tail) in self.tails.entries() {
            ensure!(!t.projects.is_free(id), "tail cache: project {id} is dead");
            let p = t.projects.get(id);
            let mut want: Vec<u32> = p.rows.iter().filter(|&s| s >= p.sorted_until).collect();
            want.sort_by_key(|&s| t.seq_key(s));
            ensure!(
                *tail == want[..],
                "project {id}: cached tail differs from its records from slot {} on, \
                 in the reverse of the default order",
                p.sorted_until
            );
        }
        // Cached day starts: the default view (checked sorted above) has
        // the day or later before the position and earlier days from it.
        for (day, pos) in self.day_starts.entries() {
            let first = super::read::day_start(day as i32);
            let view = self.view(super::core::ViewKind::Default);
            let date = |i: usize| t.cus.get(t.row(view.get(i)).cu).date();
            ensure!(
                *pos <= view.len()
                    && (*pos == 0 || date(*pos - 1) >= first)
                    && (*pos == view.len() || date(*pos) < first),
                "day {}: cached default-view start {} is not where earlier days begin",
                day as i32,
                *pos
            );
        }
        // Cached period counts: each is its live customer's.
        for ((c, ty, p), n) in self.period_counts.entries() {
            ensure!(
                !t.customers.is_free(c) && (ty == ANY_TYPE || t.types.is_live(ty)),
                "period count cache: customer {c} or type {ty} is dead"
            );
            let rows = &t.customers.get(c).rows;
            let want = t.periods.get(&p).map_or(0, |b| match ty {
                ANY_TYPE => rows.intersection_len(b),
                _ => (rows & t.types.payload(ty)).intersection_len(b),
            });
            ensure!(
                n == want,
                "customer {c}: cached count {n} of type {ty} in period {p}, not {want}"
            );
        }
        // Kept whole projects' records of a type: the project's, ascending.
        for (p, ty, slots) in self.typed_runs.entries() {
            ensure!(
                !t.projects.is_free(p) && t.types.is_live(ty),
                "typed run cache: project {p} or type {ty} is dead"
            );
            let want: Vec<u32> = (&t.projects.get(p).rows & t.types.payload(ty))
                .iter()
                .collect();
            ensure!(
                slots == want,
                "typed run cache: project {p}'s records of type {ty} differ"
            );
        }
        // Kept counts per report day or billing period: the records of a
        // type or offering in each day's or period's bitmap.
        for (ty, days) in self.day_types.entries() {
            let rows = t.types.is_live(ty).then(|| t.types.payload(ty));
            kept_counts(&days, &t.days, rows)
                .map_err(|why| format!("day type cache: type {ty}'s {why}"))?;
        }
        for (o, days) in self.offering_days.entries() {
            ensure!(
                !t.offerings.is_free(o),
                "offering day cache: offering {o} is dead"
            );
            kept_typed_counts(t, &days, &t.days, &t.offerings.get(o).rows)
                .map_err(|why| format!("offering day cache: offering {o}'s {why}"))?;
        }
        for (o, periods) in self.offering_periods.entries() {
            ensure!(
                !t.offerings.is_free(o),
                "offering period cache: offering {o} is dead"
            );
            kept_typed_counts(t, &periods, &t.periods, &t.offerings.get(o).rows)
                .map_err(|why| format!("offering period cache: offering {o}'s {why}"))?;
        }
        for ((o, ty), rows) in self.offering_types.entries() {
            ensure!(
                !t.offerings.is_free(o) && t.types.is_live(ty),
                "offering type cache: offering {o} or type {ty} is dead"
            );
            ensure!(
                *rows == (&t.offerings.get(o).rows & t.types.payload(ty)),
                "offering type cache: offering {o}'s records of type {ty} differ"
            );
        }
        // Kept cuts: the period's records reported on the cut's days.
        for e in self.cuts.entries() {
            let (p, x, y) = e.key;
            let Some(period) = t.periods.get(&p) else {
                return Err(format!("cut cache: period {p} has no records"));
            };
            let days = (t.days.range(x..=y)).fold(RoaringBitmap::new(), |acc, (_, b)| acc | b);
            ensure!(
                *e.rows == (period & &days),
                "cut cache: period {p}'s records on days {x} to {y} differ"
            );
        }
        // Kept expanded offerings: the offering's records.
        for (o, flat) in self.flat_offerings.entries() {
            ensure!(!t.offerings.is_free(o), "flat cache: offering {o} is dead");
            if let Some(b) = &*flat {
                ensure!(
                    *b == t.offerings.get(o).rows,
                    "flat cache: offering {o}'s records differ"
                );
            }
        }
        // Kept username searches' records: the union of the matching
        // names' bitmaps, the names found by a fresh scan.
        for e in self.needle_rows.entries() {
            let (needle, rows) = (&e.needle, &*e.rows);
            let lower = needle.to_lowercase();
            let want: RoaringBitmap = (t.usernames.dict.iter())
                .filter(|(_, name, _)| name.to_lowercase().contains(&lower))
                .map(|(_, _, b)| b.clone())
                .fold(RoaringBitmap::new(), |acc, b| acc | b);
            ensure!(
                *rows == want,
                "username search cache: the records of {needle:?} differ from its names'"
            );
            if let Some(days) = &e.days {
                let want: Vec<(i32, u32)> = (t.days.iter())
                    .map(|(&d, b)| (d, b.intersection_len(rows) as u32))
                    .filter(|e| e.1 > 0)
                    .collect();
                ensure!(
                    **days == want,
                    "username search cache: the day counts of {needle:?} differ from its records'"
                );
            }
            for (ty, b) in &e.typed {
                ensure!(
                    t.types.is_live(*ty) && **b == (rows & t.types.payload(*ty)),
                    "username search cache: {needle:?}'s records of type {ty} differ"
                );
            }
            if let Some(kinds) = &e.kinds {
                kept_typed_counts(t, kinds, &t.periods, rows).map_err(|why| {
                    format!("username search cache: {needle:?}'s period and type {why}")
                })?;
            }
        }
        // Kept queries' day counts: their matches planned afresh, each
        // day intersected with them (not read record by record, as made).
        for e in self.set_days.entries() {
            let q = crate::query::Query {
                filter: e.filter.clone(),
                scope: e.scope.clone(),
                ..crate::query::Query::default()
            };
            let matches = self.matching(&q);
            let want: Vec<(i32, u32)> = (t.days.iter())
                .map(|(&d, b)| (d, b.intersection_len(&matches) as u32))
                .filter(|e| e.1 > 0)
                .collect();
            ensure!(
                *e.days == want,
                "query day counts: those of {:?} differ from its matches'",
                e.filter
            );
        }
        // Kept group orders: the group's records (a view's positions, or
        // a filter's matches planned afresh), each once, ordered as the
        // walk's comparison orders them (not by the integer keys they
        // were sorted by).
        for e in self.group_orders.entries() {
            let mut want: Vec<u32> = match &e.group {
                super::cache::GroupOf::Positions(kind, bounds) => {
                    let view = self.view(*kind);
                    ensure!(
                        bounds.iter().all(|&(a, b)| a <= b && b <= view.len()),
                        "group order: positions {bounds:?} outside the {kind:?} view"
                    );
                    let v: Vec<u32> = (bounds.iter())
                        .flat_map(|&(a, b)| view.iter_from(a).take(b - a))
                        .collect();
                    if let Some(&first) = v.first() {
                        let k = t.key(first);
                        ensure!(
                            v.iter()
                                .all(|&s| super::read::same_primary(*kind, &k, &t.key(s))
                                    == std::cmp::Ordering::Equal),
                            "group order: positions {bounds:?} of the {kind:?} view span more than one group"
                        );
                    }
                    // Each range a whole group of its part: its neighbours'
                    // keys differ in the view's order.
                    let differs = |pos: usize, of: usize| {
                        super::read::in_view(*kind, &t.key(view.get(pos)), &t.key(view.get(of)))
                            != std::cmp::Ordering::Equal
                    };
                    ensure!(
                        bounds.iter().filter(|&&(a, b)| a < b).all(|&(a, b)| {
                            (a == 0 || differs(a - 1, a)) && (b == view.len() || differs(b, b - 1))
                        }),
                        "group order: positions {bounds:?} of the {kind:?} view cut a group"
                    );
                    v
                }
                super::cache::GroupOf::Query(f, scope) => {
                    let q = crate::query::Query {
                        filter: f.clone(),
                        scope: scope.clone(),
                        ..crate::query::Query::default()
                    };
                    self.matching(&q).iter().collect()
                }
            };
            let mut got = e.slots.to_vec();
            ensure!(
                got.windows(2).all(
                    |w| super::read::cmp_keys(&e.keys, &t.key(w[0]), &t.key(w[1]))
                        == std::cmp::Ordering::Less
                ),
                "group order: {:?} by {:?} is out of order",
                e.group,
                e.keys
            );
            got.sort_unstable();
            want.sort_unstable();
            ensure!(
                got == want,
                "group order: {:?} holds {} records, its group {}",
                e.group,
                got.len(),
                want.len()
            );
        }
        for (id, name, b) in t.types.iter() {
            let want = (b.len(), b.min().unwrap_or(0), b.max().unwrap_or(0));
            ensure!(
                t.type_extent.get(id as usize) == Some(&want),
                "type {name:?}: kept length and bounds {:?}, its bitmap's are {want:?}",
                t.type_extent.get(id as usize)
            );
        }
        same_rows!(offerings, off_rows);
        same_rows!(projects, proj_rows);
        same_rows!(customers, cust_rows);
        let mut owned: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (id, p) in t.projects.iter() {
            owned.entry(p.customer).or_default().push(id);
        }
        owned.values_mut().for_each(|v| v.sort_unstable());
        for (id, c) in t.customers.iter() {
            let mut listed = c.projects.clone();
            listed.sort_unstable();
            ensure!(
                owned.get(&id).map_or(&[][..], |v| &v[..]) == &listed[..],
                "customer {id}: project list {listed:?} differs from its projects"
            );
        }
        ensure!(
            t.cus.len() == cu_rows.len(),
            "component usages without records"
        );
        for (id, cu) in t.cus.iter() {
            ensure!(
                cu_rows
                    .get(&id)
                    .is_some_and(|&n| n == t.cu_slots(id).count() as u32),
                "cu {id}: row chain length is wrong"
            );
            ensure!(t.cus.id(&cu.uuid) == Some(id), "cu {id}: uuid map");
            *kind_refs.entry(cu.kind()).or_default() += 1;
        }
        // Kinds: each counts the component usages that have it, and no
        // other kind has the same attributes.
        ensure!(
            t.kinds.len() == kind_refs.len(),
            "kinds without component usages"
        );
        for (id, k, refs) in t.kinds.iter() {
            ensure!(
                kind_refs.get(&id) == Some(&refs),
                "kind {id}: count differs"
            );
            ensure!(t.kinds.id(&k) == Some(id), "kind {id}: map differs");
            ensure!(t.types.is_live(k.ctype), "kind {id}: dead type");
            ensure!(t.units.is_live(k.unit), "kind {id}: dead unit");
            *unit_refs.entry(k.unit).or_default() += 1;
        }
        t.usernames.check()?;
        ensure!(
            t.usernames.dict.len() == user_rows.len(),
            "usernames without records"
        );
        for (id, _, rows) in t.usernames.dict.iter() {
            ensure!(
                user_rows.get(&id) == Some(rows),
                "username {id}: bitmap differs"
            );
        }
        t.types.check()?;
        ensure!(t.types.len() == type_rows.len(), "types without records");
        for (id, _, rows) in t.types.iter() {
            ensure!(
                type_rows.get(&id) == Some(rows),
                "type {id}: bitmap differs"
            );
        }
        t.units.check()?;
        ensure!(t.units.len() == unit_refs.len(), "units without kinds");
        for (id, _, n) in t.units.iter() {
            ensure!(unit_refs.get(&id) == Some(n), "unit {id}: count differs");
        }
        ensure!(periods == t.periods, "billing period index differs");
        ensure!(
            t.period_days.keys().eq(t.periods.keys()),
            "billing period day bounds: periods differ"
        );
        for (p, rows) in &t.periods {
            let (lo, hi) = t.period_days[p];
            for slot in rows {
                let day = micros_to_day(t.cus.get(t.row(slot).cu).date());
                ensure!(
                    (lo..=hi).contains(&day),
                    "record {slot}: report day {day} outside its period's bounds {lo}..={hi}"
                );
            }
        }
        ensure!(days == t.days, "report day index differs");
        let mut period_type_rows = hashbrown::HashMap::new();
        for slot in &t.live {
            let k = t.kind_of(t.cus.get(t.row(slot).cu));
            *period_type_rows.entry((k.period, k.ctype)).or_insert(0u32) += 1;
        }
        ensure!(
            period_type_rows == t.period_type_rows,
            "records per (period, type) differ"
        );
        let mut period_day_rows = BTreeMap::new();
        for slot in &t.live {
            let (day, period, _) = t.slot_keys(slot);
            *period_day_rows.entry((period, day)).or_insert(0u32) += 1;
        }
        ensure!(
            period_day_rows == t.period_day_rows,
            "records per (period, report day) differ"
        );
        // Each customer's records per type, by type id, as `type_rows`
        // keeps them (trailing zeros aside), and each project's, for the
        // types it keeps.
        let mut type_rows: hashbrown::HashMap<u32, Vec<u32>> = hashbrown::HashMap::new();
        let mut project_rows: hashbrown::HashMap<u32, [u32; PROJECT_TYPES]> =
            hashbrown::HashMap::new();
        for slot in &t.live {
            let ty = t.kind_of(t.cus.get(t.row(slot).cu)).ctype as usize;
            let (_, _, p, c) = t.chain(slot);
            let counts = type_rows.entry(c).or_default();
            if counts.len() <= ty {
                counts.resize(ty + 1, 0);
            }
            counts[ty] += 1;
            if ty < PROJECT_TYPES {
                project_rows.entry(p).or_default()[ty] += 1;
            }
        }
        for (p, project) in t.projects.iter() {
            let want = project_rows.remove(&p).unwrap_or_default();
            for (ty, (&kept, &n)) in project.type_rows.iter().zip(&want).enumerate() {
                ensure!(
                    kept == UNKEPT || u32::from(kept) == n,
                    "project {p}: {kept} records of type {ty} held, {n} counted"
                );
            }
        }
        let trimmed = |v: &[u32]| v[..v.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1)].to_vec();
        for (c, customer) in t.customers.iter() {
            let want = type_rows.remove(&c).unwrap_or_default();
            ensure!(
                trimmed(&customer.type_rows) == trimmed(&want),
                "customer {c}: records per type {:?} counted, {want:?} held",
                customer.type_rows
            );
        }
        ensure!(
            t.type_rank == t.type_ranks(),
            "component type ranks are stale"
        );

        // Views: exactly the live slots, strictly ordered.
        ensure!(self.deferred.is_none(), "a deferred write was left open");
        for kind in VIEW_KINDS {
            let v = self.view(kind);
            v.check(|a, b| t.cmp(kind, a, b), |s| t.fence(kind, s))
                .map_err(|e| format!("{kind:?} {e}"))?;
            let slots: RoaringBitmap = v.iter().collect();
            ensure!(
                slots == live && v.len() as u64 == live.len(),
                "{kind:?} view holds other slots"
            );
        }
        Ok(())
    }
}

/// Checks kept counts by key (report days or billing periods, as
/// `by_key`): keys ascending, and the nonzero counts exactly the records
/// of `rows` (none when `None`) in each key's bitmap; a key whose records
/// left keeps a zero. The reason when not.
fn kept_counts(
    kept: &[(i32, u32)],
    by_key: &std::collections::BTreeMap<i32, RoaringBitmap>,
    rows: Option<&RoaringBitmap>,
) -> Result<(), &'static str> {
    let want: Vec<(i32, u32)> = match rows {
        Some(rows) => (by_key.iter())
            .map(|(&k, b)| (k, b.intersection_len(rows) as u32))
            .filter(|e| e.1 > 0)
            .collect(),
        None => Vec::new(),
    };
    same_counts(kept, want)
}

/// Checks kept counts of `rows` per day or period and type, as
/// [`kept_counts`] does per day or period.
fn kept_typed_counts(
    t: &Tables,
    kept: &[((i32, u32), u32)],
    by_key: &std::collections::BTreeMap<i32, RoaringBitmap>,
    rows: &RoaringBitmap,
) -> Result<(), &'static str> {
    let mut want = Vec::new();
    for (&k, b) in by_key {
        let both = b & rows;
        for (ty, _, _) in t.types.iter() {
            let n = both.intersection_len(t.types.payload(ty)) as u32;
            if n > 0 {
                want.push(((k, ty), n));
            }
        }
    }
    want.sort_unstable();
    same_counts(kept, want)
}

/// Whether kept counts ascend by key and, zeros left out, are `want`.
fn same_counts<K: Ord + Copy>(kept: &[(K, u32)], want: Vec<(K, u32)>) -> Result<(), &'static str> {
    if !kept.windows(2).all(|w| w[0].0 < w[1].0) {
        return Err("keys do not ascend");
    }
    let have: Vec<(K, u32)> = kept.iter().copied().filter(|e| e.1 > 0).collect();
    if have != want {
        return Err("counts differ from its records'");
    }
    Ok(())
}
