//! Mirror a Waldur-compatible server into a local [`Store`]: pull every
//! record by following `Link: rel="next"`, then apply each billing period
//! with [`Store::replace`] so that rows deleted upstream disappear, and
//! report what changed per period.
//!
//! The client is blocking ([`ureq`]); plain `http://` always works, `https://`
//! needs the crate feature `tls`.
//!
//! # Examples
//!
//! ```no_run
//! use usage_store::Store;
//! use usage_store::server::sync::{Client, sync};
//!
//! let upstream = Client::new("https://waldur.example.com", Some("TOKEN".into()));
//! let local = Store::new();
//! let report = sync(&upstream, &local, |got, total| eprintln!("{got}/{total:?}")).unwrap();
//! for p in &report.periods {
//!     println!("{}: {:?}", p.period, p.result);
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::NaiveDate;

use crate::{Filter, OrderKey, Query, Record, SortField, Store, WriteError, WriteSummary};

use super::LIST_PATH;

/// A blocking client of `GET /api/marketplace-component-user-usages/`.
///
/// # Examples
///
/// ```
/// let c = usage_store::server::sync::Client::new("http://localhost:8000/", None).page_size(100);
/// assert_eq!(c.first_page_url(), "http://localhost:8000/api/marketplace-component-user-usages/?page_size=100");
/// ```
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    token: Option<String>,
    page_size: usize,
    max_pages: usize,
}

/// Why a pull failed; created by [`Client::fetch_all`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncError {
    /// The connection or the HTTP exchange failed.
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        error: String,
    },
    /// The server answered with a status other than 200.
    Status {
        /// The URL asked.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A page's body is not a valid list of records.
    Body {
        /// The URL asked.
        url: String,
        /// The JSON error, naming the element and field.
        error: String,
    },
    /// The `next` links did not end after the page limit (a loop).
    TooManyPages(usize),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Http { url, error } => write!(f, "GET {url}: {error}"),
            SyncError::Status { url, status, body } => {
                write!(f, "GET {url}: status {status}: {body}")
            }
            SyncError::Body { url, error } => write!(f, "GET {url}: bad page: {error}"),
            SyncError::TooManyPages(n) => write!(f, "more than {n} pages: the next links loop"),
        }
    }
}

impl std::error::Error for SyncError {}

/// One page of a list, as fetched by [`Client::fetch_page`].
#[derive(Debug)]
pub struct FetchedPage {
    /// The records, in the server's order.
    pub records: Vec<Record>,
    /// `X-Result-Count`, if the server sent it.
    pub count: Option<u64>,
    /// The `rel="next"` URL of the `Link` header, if any.
    pub next: Option<String>,
}

impl Client {
    /// A client of the server at `base_url` (no trailing slash needed),
    /// sending `Authorization: Token <token>` when a token is given;
    /// 300 records per page, 60 s timeout per request.
    pub fn new(base_url: &str, token: Option<String>) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("usage-store-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            page_size: crate::MAX_PAGE_SIZE,
            max_pages: 10_000_000,
        }
    }

    /// Sets the `page_size` asked for (upstream caps it at 300).
    pub fn page_size(mut self, n: usize) -> Client {
        self.page_size = n.max(1);
        self
    }

    /// The URL of the first page: the list with `page_size`.
    pub fn first_page_url(&self) -> String {
        format!("{}{LIST_PATH}?page_size={}", self.base_url, self.page_size)
    }

    /// Fetches one page by absolute URL (or a path relative to the base URL).
    ///
    /// # Errors
    ///
    /// See [`SyncError`].
    pub fn fetch_page(&self, url: &str) -> Result<FetchedPage, SyncError> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base_url)
        } else {
            url.to_owned()
        };
        let http = |e: ureq::Error| SyncError::Http {
            url: url.clone(),
            error: e.to_string(),
        };
        let mut req = self.agent.get(&url).header("Accept", "application/json");
        if let Some(t) = &self.token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        let mut resp = req.call().map_err(http)?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(http)?;
        if status != 200 {
            let body: String = body.chars().take(500).collect();
            return Err(SyncError::Status { url, status, body });
        }
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok());
        let count = header("x-result-count").and_then(|v| v.trim().parse().ok());
        let next = header("link").and_then(|l| {
            super::links::parse_link_header(l)
                .into_iter()
                .find(|(rel, _)| *rel == "next")
                .map(|(_, u)| u.to_owned())
        });
        let records = crate::read_records(&body).map_err(|e| SyncError::Body {
            url: url.clone(),
            error: e.to_string(),
        })?;
        Ok(FetchedPage {
            records,
            count,
            next,
        })
    }

    /// Fetches every record of the list, following `Link: rel="next"` from
    /// the first page. `progress(records so far, X-Result-Count)` is called
    /// after each page. Records seen twice (the upstream list moved under the
    /// pages) are kept once, the later copy winning.
    ///
    /// # Errors
    ///
    /// The first failing page; see [`SyncError`].
    pub fn fetch_all(
        &self,
        mut progress: impl FnMut(usize, Option<u64>),
    ) -> Result<Vec<Record>, SyncError> {
        let mut all = Vec::new();
        let mut url = Some(self.first_page_url());
        let mut pages = 0usize;
        while let Some(u) = url {
            pages += 1;
            if pages > self.max_pages {
                return Err(SyncError::TooManyPages(self.max_pages));
            }
            let page = self.fetch_page(&u)?;
            all.extend(page.records);
            progress(all.len(), page.count);
            url = page.next;
        }
        Ok(dedup_by_uuid(all))
    }
}

/// Keeps the last copy of each uuid, in the order of first appearance.
fn dedup_by_uuid(records: Vec<Record>) -> Vec<Record> {
    let mut pos: hashbrown::HashMap<uuid::Uuid, usize> =
        hashbrown::HashMap::with_capacity(records.len());
    let mut out: Vec<Record> = Vec::with_capacity(records.len());
    for r in records {
        match pos.get(&r.uuid) {
            Some(&i) => out[i] = r,
            None => {
                pos.insert(r.uuid, out.len());
                out.push(r);
            }
        }
    }
    out
}

/// What one billing period's `replace` did; part of a [`SyncReport`].
#[derive(Debug)]
pub struct PeriodChange {
    /// The billing period (`component_usage__billing_period`).
    pub period: NaiveDate,
    /// Records upstream for this period.
    pub upstream: usize,
    /// The counts, or why the period was left unchanged.
    pub result: Result<WriteSummary, WriteError>,
}

/// The outcome of [`sync`] or [`apply_by_period`].
#[derive(Debug, Default)]
pub struct SyncReport {
    /// One entry per billing period upstream or local, in date order.
    pub periods: Vec<PeriodChange>,
}

impl SyncReport {
    /// The counts added up over the periods that applied.
    pub fn total(&self) -> WriteSummary {
        let mut t = WriteSummary::default();
        for p in &self.periods {
            if let Ok(s) = &p.result {
                t.inserted += s.inserted;
                t.replaced += s.replaced;
                t.unchanged += s.unchanged;
                t.removed += s.removed;
            }
        }
        t
    }

    /// The periods whose `replace` failed.
    pub fn failures(&self) -> impl Iterator<Item = &PeriodChange> {
        self.periods.iter().filter(|p| p.result.is_err())
    }
}

/// The distinct billing periods of a store, ascending. Two reads per
/// period (the first record in period order, then the period's count).
///
/// # Examples
///
/// ```
/// let s = usage_store::Store::new();
/// s.upsert(&usage_store::Record::example()).unwrap();
/// let p = usage_store::server::sync::local_periods(&s);
/// assert_eq!(p, [chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()]);
/// ```
pub fn local_periods(store: &Store) -> Vec<NaiveDate> {
    let txn = store.read();
    let total = txn.len() as u64;
    let by_period = Query::new()
        .order_by(OrderKey::asc(SortField::BillingPeriod))
        .with_page_size(1);
    let mut out = Vec::new();
    let mut index = 0u64;
    while index < total {
        let Ok(page) = txn.query(&by_period.clone().page_number(index + 1)) else {
            break;
        };
        let Some(r) = page.iter().next() else { break };
        let period = r.billing_period();
        let n = txn
            .count(&Query::new().with_filter(Filter::new().billing_period(period)))
            .map(|i| i.count)
            .unwrap_or(0);
        out.push(period);
        index += n.max(1);
    }
    out
}

/// Applies a full upstream snapshot to `store`, one `replace` per billing
/// period (filter `component_usage__billing_period`), ascending: each period
/// gets exactly the upstream records of that period, and local periods
/// absent upstream are emptied. A period whose replace fails is reported
/// and left unchanged; the others still apply.
///
/// # Examples
///
/// ```
/// use usage_store::{Record, Store};
/// use usage_store::server::sync::apply_by_period;
/// let s = Store::new();
/// let r = Record::example();
/// let rep = apply_by_period(&s, vec![r.clone()]);
/// assert_eq!(rep.total().inserted, 1);
/// let rep = apply_by_period(&s, vec![r]);
/// assert_eq!(rep.total().unchanged, 1);
/// let rep = apply_by_period(&s, vec![]);
/// assert_eq!(rep.total().removed, 1);
/// assert!(s.is_empty());
/// ```
pub fn apply_by_period(store: &Store, upstream: Vec<Record>) -> SyncReport {
    let mut by_period: BTreeMap<NaiveDate, Vec<Record>> = BTreeMap::new();
    for p in local_periods(store) {
        by_period.entry(p).or_default();
    }
    for r in upstream {
        by_period.entry(r.billing_period).or_default().push(r);
    }
    let periods = by_period
        .into_iter()
        .map(|(period, records)| {
            let result = store.replace(&Filter::new().billing_period(period), &records);
            PeriodChange {
                period,
                upstream: records.len(),
                result,
            }
        })
        .collect();
    SyncReport { periods }
}

/// Pulls everything from `upstream` ([`Client::fetch_all`]) and applies it
/// to `store` ([`apply_by_period`]).
///
/// # Errors
///
/// A failed pull; then the store is unchanged.
pub fn sync(
    upstream: &Client,
    store: &Store,
    progress: impl FnMut(usize, Option<u64>),
) -> Result<SyncReport, SyncError> {
    let records = upstream.fetch_all(progress)?;
    Ok(apply_by_period(store, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_last_copy_in_first_position() {
        let a = Record::example();
        let mut b = a.clone();
        b.uuid = uuid::Uuid::from_u128(9);
        let mut a2 = a.clone();
        a2.username = "zed".into();
        let out = dedup_by_uuid(vec![a, b.clone(), a2.clone()]);
        assert_eq!(out, [a2, b]);
    }

    #[test]
    fn periods_moved_and_emptied() {
        let s = Store::new();
        let mut recs = Vec::new();
        for m in 1..=3u32 {
            for k in 0..4u128 {
                let mut r = Record::example();
                r.uuid = uuid::Uuid::from_u128(u128::from(m) * 100 + k);
                r.username = format!("u{k}").into();
                r.component_usage = uuid::Uuid::from_u128(u128::from(m) + 1000);
                r.billing_period = NaiveDate::from_ymd_opt(2025, m, 1).unwrap();
                recs.push(r);
            }
        }
        assert_eq!(apply_by_period(&s, recs.clone()).total().inserted, 12);
        assert_eq!(local_periods(&s).len(), 3);
        // Upstream drops March, deletes one January record and edits one in February.
        let mut next: Vec<Record> = recs
            .iter()
            .filter(|r| r.billing_period.month() < 3)
            .cloned()
            .collect();
        next.remove(0);
        next[4].usage = "1".parse().unwrap();
        let rep = apply_by_period(&s, next);
        let by: Vec<_> = rep
            .periods
            .iter()
            .map(|p| {
                let s = p.result.as_ref().unwrap();
                (
                    p.period.month(),
                    s.inserted,
                    s.replaced,
                    s.unchanged,
                    s.removed,
                )
            })
            .collect();
        assert_eq!(by, [(1, 0, 0, 3, 1), (2, 0, 1, 3, 0), (3, 0, 0, 0, 4)]);
        assert_eq!(s.len(), 7);
        assert_eq!(local_periods(&s).len(), 2);
    }

    use chrono::Datelike;
}
