//! A sorted view: every live record slot in one total order, as a list of
//! sorted blocks with a Fenwick tree over the block lengths.
//!
//! Insert costs O(log n) comparisons plus a move inside one block (at
//! most [`MAX_BLOCK`] slots); remove O(log blocks) comparisons plus a scan
//! of one block for the slot's number and the move; the slot at a
//! position is found in O(log blocks). Comparisons look the keys up in
//! the store's tables, so the view holds 4 bytes per record, and per
//! block of about 512 a fence.
//!
//! A fence is a `u64` the caller derives from a slot's keys (its *fence
//! function*), coarse but consistent with the order: it lets an insert or
//! a remove choose its block without reading the records that end the
//! blocks (each a random read of a row and a component usage, most of a
//! re-dating write's time), reading one only where the fences tie. A
//! binary search within a range of positions ([`View::partition_in`],
//! [`View::partition_pair`]) likewise finds its block by the fences, and
//! reads records only within that block.
//!
//! Invariant (checked by `validate`): the concatenated blocks are strictly
//! increasing under the view's order, no block is empty, the tree's
//! prefix sums equal the block lengths, and each block's fence is the
//! fence function's value for its last slot.

use std::cmp::Ordering;

use crate::par::PARALLEL_MIN;

/// Blocks split when they reach this many slots.
pub(crate) const MAX_BLOCK: usize = 1024;
/// Bulk builds fill blocks to this many slots, leaving room for inserts.
const FILL: usize = MAX_BLOCK / 2;

#[derive(Clone, Debug, Default)]
pub(crate) struct View {
    blocks: Vec<Vec<u32>>,
    /// `fences[i]`: the fence of `blocks[i]`'s last slot.
    fences: Vec<u64>,
    /// Fenwick tree over `blocks[i].len()` (slots are `u32`, so are sums).
    fen: Vec<u32>,
    len: usize,
}

/// How an insert or a remove finds its place: `before(s)` says whether
/// entry `s` sorts before the slot sought, on the current tables (the
/// caller reads the sought slot's keys once, where a comparison of two
/// slots read both); `fence(f)` says the same of a block's last slot from
/// its fence alone, `None` where the fence cannot tell; `fence_of(s)` is
/// the fence function, for the blocks whose last slot changes.
pub(crate) struct Seek<B, F, O> {
    pub(crate) before: B,
    pub(crate) fence: F,
    pub(crate) fence_of: O,
}

impl View {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Replaces the content with `sorted` (already in view order).
    pub(crate) fn rebuild(&mut self, sorted: &[u32], fence_of: impl Fn(u32) -> u64) {
        self.blocks = sorted.chunks(FILL).map(<[u32]>::to_vec).collect();
        self.len = sorted.len();
        self.rebuild_fenwick();
        self.rebuild_fences(fence_of);
    }

    fn rebuild_fences(&mut self, fence_of: impl Fn(u32) -> u64) {
        self.fences = (self.blocks.iter())
            .map(|b| fence_of(*b.last().expect("blocks are never empty")))
            .collect();
    }

    fn rebuild_fenwick(&mut self) {
        let n = self.blocks.len();
        self.fen = vec![0; n];
        for i in 0..n {
            self.fen[i] += self.blocks[i].len() as u32;
            let j = i | (i + 1);
            if j < n {
                self.fen[j] += self.fen[i];
            }
        }
    }

    fn fen_add(&mut self, mut i: usize, delta: i32) {
        while i < self.fen.len() {
            self.fen[i] = self.fen[i].wrapping_add_signed(delta);
            i |= i + 1;
        }
    }

    /// Number of slots in blocks `0..i`.
    fn prefix(&self, i: usize) -> usize {
        let mut sum = 0;
        let mut i = i;
        while i > 0 {
            sum += self.fen[i - 1] as usize;
            i &= i - 1;
        }
        sum
    }

    /// `(block, offset)` of position `pos` (< len).
    fn locate(&self, pos: usize) -> (usize, usize) {
        // Fenwick descent: the largest block index whose prefix is <= pos.
        let mut idx = 0usize;
        let mut rem = pos;
        let mut step = self.fen.len().next_power_of_two();
        while step > 0 {
            let next = idx + step;
            if next <= self.fen.len() && self.fen[next - 1] as usize <= rem {
                idx = next;
                rem -= self.fen[next - 1] as usize;
            }
            step >>= 1;
        }
        (idx, rem)
    }

    /// The slot at position `pos`.
    pub(crate) fn get(&self, pos: usize) -> u32 {
        let (b, o) = self.locate(pos);
        self.blocks[b][o]
    }

    /// The block that holds, or would hold, the slot sought: the first
    /// whose last slot does not sort before it (or the last block),
    /// decided by the fences where they can.
    fn block_for<B, F, O>(&self, seek: &Seek<B, F, O>) -> usize
    where
        B: Fn(u32) -> bool,
        F: Fn(u64) -> Option<bool>,
    {
        let lo = self.first_failing(0..self.blocks.len(), &seek.before, &seek.fence);
        lo.min(self.blocks.len().saturating_sub(1))
    }

    /// The first of `blocks` whose last slot fails `pred` (which holds on
    /// a prefix of them), or `blocks.end`: a binary search that asks
    /// `fence` of each block's fence first, and `pred` of its last slot
    /// only where the fence cannot tell. O(log blocks).
    fn first_failing(
        &self,
        blocks: std::ops::Range<usize>,
        pred: &impl Fn(u32) -> bool,
        fence: &impl Fn(u64) -> Option<bool>,
    ) -> usize {
        let (mut lo, mut hi) = (blocks.start, blocks.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let holds = fence(self.fences[mid])
                .unwrap_or_else(|| pred(*self.blocks[mid].last().expect("blocks are never empty")));
            if holds {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Inserts `slot`, located by `seek`. O(log n) comparisons, most of
    /// them of fences.
    pub(crate) fn insert<B, F, O>(&mut self, slot: u32, seek: Seek<B, F, O>)
    where
        B: Fn(u32) -> bool,
        F: Fn(u64) -> Option<bool>,
        O: Fn(u32) -> u64,
    {
        if self.blocks.is_empty() {
            self.blocks.push(vec![slot]);
            self.fences.push((seek.fence_of)(slot));
            self.len = 1;
            self.rebuild_fenwick();
            return;
        }
        let b = self.block_for(&seek);
        let blk = &mut self.blocks[b];
        let i = partition4(blk, &seek.before);
        blk.insert(i, slot);
        self.len += 1;
        if i + 1 == blk.len() {
            self.fences[b] = (seek.fence_of)(slot);
        }
        if blk.len() >= MAX_BLOCK {
            let tail = blk.split_off(blk.len() / 2);
            let last = *blk.last().expect("half of a full block");
            self.blocks.insert(b + 1, tail);
            self.fences.insert(b, (seek.fence_of)(last));
            self.rebuild_fenwick();
        } else {
            self.fen_add(b, 1);
        }
    }

    /// Removes `slot`, its block located by `seek` (as for
    /// [`View::insert`]) on the *same* keys it was inserted with, then
    /// scanned for it. Returns false (and changes nothing) when it is not
    /// there. O(log blocks) comparisons, most of them of fences, and
    /// O([`MAX_BLOCK`]) reads of slot numbers.
    pub(crate) fn remove<B, F, O>(&mut self, slot: u32, seek: Seek<B, F, O>) -> bool
    where
        B: Fn(u32) -> bool,
        F: Fn(u64) -> Option<bool>,
        O: Fn(u32) -> u64,
    {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_for(&seek);
        let blk = &mut self.blocks[b];
        // The slot's number is known: the block is scanned for it (a few
        // kilobytes read in order) instead of searched by key (a dozen
        // random records read in turn).
        let Some(i) = blk.iter().position(|&s| s == slot) else {
            return false;
        };
        blk.remove(i);
        self.len -= 1;
        if blk.is_empty() {
            self.blocks.remove(b);
            self.fences.remove(b);
            self.rebuild_fenwick();
        } else {
            if i == blk.len() {
                self.fences[b] = (seek.fence_of)(blk[i - 1]);
            }
            self.fen_add(b, -1);
        }
        true
    }

    /// [`View::merge_parts`] of an order without parts, nothing removed.
    #[cfg(test)]
    pub(crate) fn merge<K: Sync>(
        &mut self,
        sorted: &[(K, u32)],
        before: impl Fn(u32, &K) -> bool + Sync,
        fence_of: impl Fn(u32) -> u64,
    ) {
        self.merge_parts(|_| false, sorted, |_| 0, |_| 0, before, fence_of, 1);
    }

    /// Merges `sorted` (in view order, disjoint from the content, each
    /// slot with its sort key) into the view: O(n) moves, O(k log(n/k))
    /// comparisons (a short scan where they are dense, then a galloping
    /// search: see [`SCAN_GAP`]). `before(s, k)` says whether the stored
    /// slot `s` sorts before key `k` (it may read only as much of `s`'s
    /// key as the comparison needs).
    ///
    /// The order is led by a *part* (a small number, nondecreasing along
    /// the view; 0 throughout where there are none): `part(s)` of a stored
    /// slot, `key_part(k)` of a key. Each part's bounds are found once, by
    /// O(log n) reads of `part`; then `before(s, k)` is asked only of
    /// stored slots of `k`'s part, so it may skip comparing parts (where
    /// reading the part is a cache miss of its own, as in the usage view,
    /// led by the component type).
    ///
    /// With `threads` ≥ 2 and at least [`PARALLEL_MIN`] new slots, the
    /// merge runs as two halves at once, split at the middle new slot.
    ///
    /// First drops every stored slot for which `gone` holds (no comparison
    /// needed; in the same pass that reads the view out for the merge).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn merge_parts<K: Sync>(
        &mut self,
        gone: impl Fn(u32) -> bool,
        sorted: &[(K, u32)],
        part: impl Fn(u32) -> u32 + Sync,
        key_part: impl Fn(&K) -> u32 + Sync,
        before: impl Fn(u32, &K) -> bool + Sync,
        fence_of: impl Fn(u32) -> u64,
        threads: usize,
    ) {
        if self.len == 0 {
            let slots: Vec<u32> = sorted.iter().map(|e| e.1).collect();
            self.rebuild(&slots, fence_of);
            return;
        }
        let old: Vec<u32> = self.iter().filter(|&s| !gone(s)).collect();
        if sorted.is_empty() {
            self.rebuild(&old, fence_of);
            return;
        }
        let merge = |old: &[u32], sorted: &[(K, u32)]| {
            let mut out = Vec::with_capacity(old.len() + sorted.len());
            merge_into(old, sorted, &part, &key_part, &before, &mut out);
            out
        };
        let out = if threads >= 2 && sorted.len() >= PARALLEL_MIN {
            // Every stored slot before the middle new slot's place, and
            // every new slot before it, sorts before everything after:
            // the halves merge apart.
            let mid = sorted.len() / 2;
            let k = &sorted[mid].0;
            let within = part_range(&old, &part, key_part(k));
            let at = within.start + old[within].partition_point(|&s| before(s, k));
            let ((old_a, old_b), (new_a, new_b)) = (old.split_at(at), sorted.split_at(mid));
            let (mut a, b) = crate::par::join(|| merge(old_a, new_a), || merge(old_b, new_b));
            a.extend_from_slice(&b);
            a
        } else {
            merge(&old, sorted)
        };
        self.rebuild(&out, fence_of);
    }

    /// The first position whose slot does not satisfy `pred` (which must hold
    /// on a prefix of the view). O(log n) evaluations.
    pub(crate) fn partition_point(&self, pred: impl Fn(u32) -> bool) -> usize {
        let b = self
            .blocks
            .partition_point(|blk| pred(*blk.last().expect("blocks are never empty")));
        if b == self.blocks.len() {
            return self.len;
        }
        self.prefix(b) + self.blocks[b].partition_point(|&s| pred(s))
    }

    /// The first position of `r` whose slot does not satisfy `pred`, which
    /// must hold on a prefix of `r`; `fence(f)` says the same of a block's
    /// last slot from its fence alone, `None` where the fence cannot tell.
    ///
    /// O(log blocks) fences and O(log [`MAX_BLOCK`]) evaluations of `pred`.
    /// A binary search of positions, each found by a Fenwick descent and
    /// its slot's row read, cost a usage selection over the whole view
    /// about 37 ns a step (1,207 steps, 45 µs, for `o=-usage&page=500` at
    /// 1M records): here the blocks are searched by their fences (a few
    /// kilobytes, read in cache) and only the last block's slots by `pred`.
    pub(crate) fn partition_in(
        &self,
        r: std::ops::Range<usize>,
        pred: impl Fn(u32) -> bool,
        fence: impl Fn(u64) -> Option<bool>,
    ) -> usize {
        if r.is_empty() {
            return r.start;
        }
        let (first, from) = self.locate(r.start);
        let (last, to) = self.locate(r.end - 1);
        // Every block from `first` up to (not with) `last` ends inside `r`,
        // so its last slot's test is the range's test there.
        let lo = self.first_failing(first..last, &pred, &fence);
        let start = if lo == first { from } else { 0 };
        let end = if lo == last {
            to + 1
        } else {
            self.blocks[lo].len()
        };
        let within = self.blocks[lo][start..end].partition_point(|&s| pred(s));
        if lo == first {
            r.start + within
        } else {
            self.prefix(lo) + within
        }
    }

    /// [`View::partition_in`] of two predicates at once, `before` holding
    /// on a prefix of `through`'s (a group's first position and the one
    /// past its last, say): the two share the range's blocks, and the
    /// second end is sought by galloping from the first within its block
    /// (a group is mostly a few records, often none), by the fences past
    /// it. `fence_before` and `fence_through` are the predicates' fence
    /// tests.
    pub(crate) fn partition_pair(
        &self,
        r: std::ops::Range<usize>,
        (before, fence_before): (impl Fn(u32) -> bool, impl Fn(u64) -> Option<bool>),
        (through, fence_through): (impl Fn(u32) -> bool, impl Fn(u64) -> Option<bool>),
    ) -> (usize, usize) {
        if r.is_empty() {
            return (r.start, r.start);
        }
        let (first, from) = self.locate(r.start);
        let (last, to) = self.locate(r.end - 1);
        // Every block from `first` up to (not with) `last` ends inside `r`.
        // A block's part of `r`, and its first position.
        let span = |b: usize| {
            let start = if b == first { from } else { 0 };
            let end = if b == last {
                to + 1
            } else {
                self.blocks[b].len()
            };
            (
                start..end,
                if b == first {
                    r.start - from
                } else {
                    self.prefix(b)
                },
            )
        };
        let ba = self.first_failing(first..last, &before, &fence_before);
        let (sa, base_a) = span(ba);
        let blk = &self.blocks[ba][sa.clone()];
        let a = blk.partition_point(|&s| before(s));
        // Gallop from `a`: the first failing `through` past a run of
        // passing ones, found in O(log run) tests.
        let (mut lo, mut step) = (a, 1);
        let mut hi = blk.len();
        while lo < hi {
            let probe = (lo + step - 1).min(hi - 1);
            if through(blk[probe]) {
                lo = probe + 1;
                step *= 2;
            } else {
                hi = probe;
                break;
            }
        }
        let a_pos = base_a + sa.start + a;
        if hi < blk.len() || ba == last {
            // The end lies in this block (or the range ends in it).
            let b = lo + blk[lo..hi].partition_point(|&s| through(s));
            return (a_pos, base_a + sa.start + b);
        }
        // Past this block: the blocks after it by their fences.
        let bb = self.first_failing(ba + 1..last, &through, &fence_through);
        let (sb, base_b) = span(bb);
        let b = self.blocks[bb][sb.clone()].partition_point(|&s| through(s));
        (a_pos, base_b + sb.start + b)
    }

    /// [`View::locate`], or one past the last block for a position at or
    /// past the end.
    fn locate_or_end(&self, pos: usize) -> (usize, usize) {
        if pos >= self.len {
            (self.blocks.len(), 0)
        } else {
            self.locate(pos)
        }
    }

    /// Slots from position `pos` on, in order.
    pub(crate) fn iter_from(&self, pos: usize) -> impl Iterator<Item = u32> + '_ {
        self.chunks_from(pos).flatten().copied()
    }

    /// The slots from position `pos` on, as the slices of consecutive
    /// blocks: a walk's inner loop runs over a slice, where the flattened
    /// iterator branched between blocks at every step.
    pub(crate) fn chunks_from(&self, pos: usize) -> impl Iterator<Item = &[u32]> + '_ {
        let (b, o) = self.locate_or_end(pos);
        self.blocks
            .get(b..)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(move |(i, blk)| &blk[if i == 0 { o } else { 0 }..])
    }

    /// The slots before position `end`, as the slices of consecutive
    /// blocks, last block first (each slice in view order).
    pub(crate) fn chunks_rev_before(&self, end: usize) -> impl Iterator<Item = &[u32]> + '_ {
        let (b, o) = self.locate_or_end(end);
        let partial = self.blocks.get(b).map_or(&[][..], |blk| &blk[..o]);
        std::iter::once(partial).chain(self.blocks[..b].iter().rev().map(Vec::as_slice))
    }

    /// Slots before position `end`, last first.
    pub(crate) fn iter_rev_before(&self, end: usize) -> impl Iterator<Item = u32> + '_ {
        self.chunks_rev_before(end)
            .flat_map(|c| c.iter().rev().copied())
    }

    /// Every slot, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.blocks.iter().flatten().copied()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks.iter().map(|b| b.capacity() * 4).sum::<usize>()
            + self.blocks.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.fen.capacity() * std::mem::size_of::<u32>()
            + self.fences.capacity() * std::mem::size_of::<u64>()
    }

    pub(crate) fn check(
        &self,
        cmp: impl Fn(u32, u32) -> Ordering,
        fence_of: impl Fn(u32) -> u64,
    ) -> Result<(), String> {
        if self.blocks.iter().any(Vec::is_empty) {
            return Err("view: empty block".into());
        }
        if self.fences.len() != self.blocks.len() {
            return Err(format!(
                "view: {} fences for {} blocks",
                self.fences.len(),
                self.blocks.len()
            ));
        }
        for (i, (blk, &f)) in self.blocks.iter().zip(&self.fences).enumerate() {
            let last = *blk.last().expect("checked non-empty");
            if fence_of(last) != f {
                return Err(format!(
                    "view: block {i}'s fence {f:#x} is not its last slot {last}'s ({:#x})",
                    fence_of(last)
                ));
            }
        }
        if self.blocks.iter().any(|b| b.len() > MAX_BLOCK) {
            return Err("view: oversized block".into());
        }
        let total: usize = self.blocks.iter().map(Vec::len).sum();
        if total != self.len {
            return Err(format!("view: len {} but blocks hold {total}", self.len));
        }
        for i in 0..=self.blocks.len() {
            let want: usize = self.blocks[..i].iter().map(Vec::len).sum();
            if self.prefix(i) != want {
                return Err(format!(
                    "view: prefix({i}) = {} but should be {want}",
                    self.prefix(i)
                ));
            }
        }
        let mut prev: Option<u32> = None;
        for s in self.iter() {
            if let Some(p) = prev
                && cmp(p, s) != Ordering::Less
            {
                return Err(format!("view: slots {p} and {s} out of order"));
            }
            prev = Some(s);
        }
        Ok(())
    }
}

/// Merges `old` and `sorted` (see [`View::merge_parts`]) onto `out`.
fn merge_into<K>(
    old: &[u32],
    sorted: &[(K, u32)],
    part: &impl Fn(u32) -> u32,
    key_part: &impl Fn(&K) -> u32,
    before: &impl Fn(u32, &K) -> bool,
    out: &mut Vec<u32>,
) {
    let mut rest = old;
    for run in sorted.chunk_by(|a, b| key_part(&a.0) == key_part(&b.0)) {
        let range = part_range(rest, part, key_part(&run[0].0));
        out.extend_from_slice(&rest[..range.start]);
        let hi = range.end;
        let mut within = &rest[range];
        let scan = if within.len() <= SCAN_GAP * run.len() {
            SCAN
        } else {
            0
        };
        for (ka, a) in run {
            let i = place(within, scan, &|s| before(s, ka));
            out.extend_from_slice(&within[..i]);
            out.push(*a);
            within = &within[i..];
        }
        out.extend_from_slice(within);
        rest = &rest[hi..];
    }
    out.extend_from_slice(rest);
}

/// Where the slots of part `p` lie in `slots` (ordered by part).
/// O(log n) reads of `part`.
fn part_range(slots: &[u32], part: &impl Fn(u32) -> u32, p: u32) -> std::ops::Range<usize> {
    let lo = slots.partition_point(|&s| part(s) < p);
    lo..lo + slots[lo..].partition_point(|&s| part(s) == p)
}

/// How far apart, on average, new slots may fall among the stored ones
/// of their part for a merge to scan for each place before galloping
/// ([`place`]). A 10% re-report at 1M records puts about 9 stored slots
/// between two new ones: a scan's reads of their rows, independent of
/// each other, overlap, where a galloping search waits for each (the
/// usage view's merge: 50 → 25 ms). Galloping costs about 2 log₂ g
/// dependent reads against g overlapped ones (about 60 and 28 ns each
/// there, derived: the merge's times divided by the comparisons
/// estimated, not counted), so they meet near g = 20; chosen a little
/// above, with a scan long enough ([`SCAN`]) for the gaps' tail.
const SCAN_GAP: usize = 24;

/// Stored slots a dense merge tests one by one before it gallops.
const SCAN: usize = 64;

/// `slots.partition_point(before)`, for a place expected near the start:
/// a scan of the first `scan` slots, then a galloping search.
fn place(slots: &[u32], scan: usize, before: &impl Fn(u32) -> bool) -> usize {
    let scan = slots.len().min(scan);
    if let Some(i) = slots[..scan].iter().position(|&s| !before(s)) {
        return i;
    }
    let rest = &slots[scan..];
    // Gallop: find a bound past which slots sort after the key, then bisect.
    let mut hi = 1;
    while hi <= rest.len() && before(rest[hi - 1]) {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(rest.len());
    scan + lo + rest[lo..hi].partition_point(|&s| before(s))
}

/// `blk.partition_point(before)`, a quarter of the range at a time: the
/// three tests of a round are independent, so their reads of random
/// records overlap, where a binary search waits for each in turn.
fn partition4(blk: &[u32], before: &impl Fn(u32) -> bool) -> usize {
    let (mut lo, mut hi) = (0, blk.len());
    while hi - lo >= 8 {
        let q = (hi - lo) / 4;
        let (a, b, c) = (lo + q, lo + 2 * q, lo + 3 * q);
        let (ta, tb, tc) = (before(blk[a]), before(blk[b]), before(blk[c]));
        (lo, hi) = match (ta, tb, tc) {
            (false, _, _) => (lo, a),
            (true, false, _) => (a + 1, b),
            (true, true, false) => (b + 1, c),
            (true, true, true) => (c + 1, hi),
        };
    }
    lo + blk[lo..hi].partition_point(|&s| before(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view against a sorted `Vec`, with a coarse fence (`coarse`
    /// slots share each fence value; 1 is exact, 1000 ties everywhere).
    fn against_a_vec(coarse: u32) {
        let cmp = |a: u32, b: u32| (a % 1000, a).cmp(&(b % 1000, b));
        let fence_of = |s: u32| u64::from(s % 1000 / coarse);
        let seek = |x: u32| Seek {
            before: move |s: u32| cmp(s, x) == Ordering::Less,
            fence: move |f: u64| (f != fence_of(x)).then_some(f < fence_of(x)),
            fence_of,
        };
        let mut v = View::default();
        let mut model: Vec<u32> = Vec::new();
        let mut x: u64 = 12345;
        for step in 0..20_000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let s = (x >> 40) as u32 % 5000;
            if model.contains(&s) {
                assert!(v.remove(s, seek(s)));
                model.retain(|&m| m != s);
            } else {
                v.insert(s, seek(s));
                model.push(s);
                model.sort_by(|a, b| cmp(*a, *b));
            }
            if step % 997 == 0 {
                v.check(cmp, fence_of).unwrap();
                assert_eq!(v.iter().collect::<Vec<_>>(), model);
                for (i, &m) in model.iter().enumerate().step_by(37) {
                    assert_eq!(v.get(i), m);
                    assert_eq!(v.iter_from(i).next(), Some(m));
                    assert_eq!(v.iter_rev_before(i + 1).next(), Some(m));
                }
                let k = 500;
                assert_eq!(
                    v.partition_point(|s| s % 1000 < k),
                    model.partition_point(|s| s % 1000 < k)
                );
                // Ranges inside one block, across a few, and the whole
                // view, against keys below, inside and above the slots'.
                let n = model.len();
                let mut y = x;
                for _ in 0..40 {
                    y = y.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let a = (y >> 33) as usize % (n + 1);
                    let len = [0, 1, 5, 300, 2000, n][(y >> 20) as usize % 6];
                    let b = (a + len).min(n);
                    let a = if len == n { 0 } else { a };
                    for k in [0, (y >> 8) as u32 % 1000, 999, 1000] {
                        let pred = |s: u32| s % 1000 < k;
                        let fence = |f: u64| {
                            let (lo, hi) = (f as u32 * coarse, (f as u32 + 1) * coarse);
                            (hi <= k || lo >= k).then_some(hi <= k)
                        };
                        let want = a + model[a..b].partition_point(|&s| pred(s));
                        assert_eq!(v.partition_in(a..b, pred, fence), want, "{a}..{b} k {k}");
                        let unknown = v.partition_in(a..b, pred, |_| None);
                        assert_eq!(unknown, want);
                        // A group of one key (most a few slots), or of
                        // several up to all (its end found blocks on).
                        for k2 in [k, k + 1, k + 40, 1000] {
                            let through = |s: u32| s % 1000 < k2;
                            let fence_through = |f: u64| {
                                let (lo, hi) = (f as u32 * coarse, (f as u32 + 1) * coarse);
                                (hi <= k2 || lo >= k2).then_some(hi <= k2)
                            };
                            let end = a + model[a..b].partition_point(|&s| through(s));
                            let got =
                                v.partition_pair(a..b, (pred, fence), (through, fence_through));
                            assert_eq!(got, (want, end), "{a}..{b} k {k}..{k2}");
                            let unknown = (pred, |_| None);
                            let got = v.partition_pair(a..b, unknown, (through, |_| None));
                            assert_eq!(got, (want, end));
                        }
                    }
                }
            }
        }
        v.check(cmp, fence_of).unwrap();
        assert!(!v.remove(999_999, seek(999_999)));
        let rev: Vec<u32> = v.iter_rev_before(v.len()).collect();
        assert_eq!(rev, model.iter().rev().copied().collect::<Vec<_>>());
        // Dense (each new slot a few stored ones after the last: the scan)
        // and sparse (hundreds: the gallop).
        let dense = (5000..5100).map(|s| (s, s));
        let add: Vec<(u32, u32)> = dense.chain([(5600, 5600), (5950, 5950)]).collect();
        v.merge(&add, |s, k| cmp(s, *k) == Ordering::Less, fence_of);
        model.extend(add.iter().map(|e| e.1));
        model.sort_by(|a, b| cmp(*a, *b));
        assert_eq!(v.iter().collect::<Vec<_>>(), model);
        v.check(cmp, fence_of).unwrap();
        // By parts (a hundred of the order's leading key each), with a
        // comparison that ignores the part: only a slot of the key's part
        // may be asked about.
        let part = |s: u32| s % 1000 / 100;
        let mut add: Vec<(u32, u32)> = (5100..5400).chain(7000..7050).map(|s| (s, s)).collect();
        add.sort_by(|a, b| cmp(a.1, b.1));
        let within = |s: u32, k: u32| (s % 100, s) < (k % 100, k);
        merge_within_parts(&mut v, &add, part, within, fence_of, 1);
        model.extend(add.iter().map(|e| e.1));
        model.sort_by(|a, b| cmp(*a, *b));
        assert_eq!(v.iter().collect::<Vec<_>>(), model);
        v.check(cmp, fence_of).unwrap();
        v.merge_parts(
            |s| s % 2 == 0,
            &[],
            |_| 0,
            |&k: &u32| k,
            |_, _| true,
            fence_of,
            1,
        );
        model.retain(|s| s % 2 == 1);
        v.check(cmp, fence_of).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), model);
        // A fence left stale is caught.
        if let Some(f) = v.fences.first_mut() {
            *f ^= 1 << 40;
            assert!(v.check(cmp, fence_of).is_err());
        }
    }

    #[test]
    fn insert_remove_locate_against_a_vec() {
        for coarse in [1, 7, 1000] {
            against_a_vec(coarse);
        }
    }

    /// `View::merge_parts` of slots keyed by themselves, whose comparison
    /// `within` ignores the part: asking it across parts fails.
    fn merge_within_parts(
        v: &mut View,
        add: &[(u32, u32)],
        part: impl Fn(u32) -> u32 + Sync,
        within: impl Fn(u32, u32) -> bool + Sync,
        fence_of: impl Fn(u32) -> u64,
        threads: usize,
    ) {
        v.merge_parts(
            |_| false,
            add,
            &part,
            |&k| part(k),
            |s, &k| {
                assert_eq!(part(s), part(k), "asked across parts");
                within(s, k)
            },
            fence_of,
            threads,
        );
    }

    #[test]
    fn merge_in_two_halves() {
        // Parts of 7,000 values; the comparison ignores the part, so a
        // half that crossed into another part's slots would misplace them.
        // The middle new slot (50,001) lies a thousand values into its
        // part, so a split in the wrong place misorders the halves.
        let part = |s: u32| s / 7_000;
        let fence_of = |s: u32| u64::from(s);
        let mut v = View::default();
        let old: Vec<u32> = (0..100_000).filter(|s| s % 3 != 0).collect();
        v.rebuild(&old, fence_of);
        for threads in [1, 2] {
            let mut v = v.clone();
            let add: Vec<(u32, u32)> = (0..100_000)
                .filter(|s| s % 3 == 0)
                .map(|s| (s, s))
                .collect();
            assert!(add.len() >= PARALLEL_MIN);
            let within = |s: u32, k: u32| s % 7_000 < k % 7_000;
            merge_within_parts(&mut v, &add, part, within, fence_of, threads);
            assert_eq!(
                v.iter().collect::<Vec<_>>(),
                (0..100_000).collect::<Vec<_>>()
            );
            v.check(|a, b| a.cmp(&b), fence_of).unwrap();
        }
    }
}
