//! The HTTP layer on the wire: a server started in-process on
//! `127.0.0.1:0`, a real HTTP client (ureq), every rule of the SPEC that
//! shows in statuses, bodies, key order and headers; writes, auth, and the
//! sync client against a live server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use usage_store::server::links::parse_link_header;
use usage_store::server::sync::{Client, sync};
use usage_store::server::{self, Access, Config, LIST_PATH, Tokens};
use usage_store::{Field, Query, Record, Scope, Store, Usage};
use uuid::Uuid;

// ---------------------------------------------------------------- fixture

const CUSTOMERS: u128 = 3;
const PROJECTS: u128 = 6;
const RESOURCES: u128 = 12;
const TYPES: [&str; 3] = ["cpu", "gpu", "storage"];
const USERS: [&str; 7] = [
    "alice",
    "Alice2",
    "bob",
    "Ünïcode",
    "carol_x",
    "dave%",
    "erin",
];

fn customer(i: u128) -> Uuid {
    Uuid::from_u128(0xc000 + i)
}
fn project(i: u128) -> Uuid {
    Uuid::from_u128(0xb000 + i)
}
fn offering(i: u128) -> Uuid {
    Uuid::from_u128(0xa000 + i)
}
fn resource(i: u128) -> Uuid {
    Uuid::from_u128(0xd000 + i)
}

/// Consistent records: resource r belongs to project r % 6 (customer
/// project % 3) and offering r % 2; one component usage per (resource,
/// period, type); one record per (component usage, user).
fn fixture(n: usize) -> Vec<Record> {
    let mut out = Vec::with_capacity(n);
    let mut i: u128 = 0;
    while out.len() < n {
        let r = i % RESOURCES;
        let period = (i / RESOURCES) % 4;
        let t = (i / (RESOURCES * 4)) % 3;
        let u = (i / (RESOURCES * 12)) as usize % USERS.len();
        let p = r % PROJECTS;
        let month = 1 + period as u32;
        let cu = Uuid::from_u128(0xe000_0000 + (r << 8) + (period << 4) + t);
        let created = Utc.with_ymd_and_hms(2025, month, 3, 0, 0, 0).unwrap()
            + chrono::Duration::microseconds((i as i64) * 1_000_250);
        out.push(Record {
            uuid: Uuid::from_u128(0xf000_0000_0000 + i * 7919),
            user: (!i.is_multiple_of(5)).then(|| Uuid::from_u128(0x9000 + u as u128)),
            username: USERS[u].to_owned().into(),
            component_usage: cu,
            usage: Usage::from_cents(((i * 7_777) % 100_000) as i64),
            measured_unit: if t == 2 { "GB".into() } else { "hours".into() },
            description: if i.is_multiple_of(3) {
                format!("note \"{i}\", <x>; y").into()
            } else {
                String::new().into()
            },
            created,
            modified: created + chrono::Duration::microseconds(250_000),
            backend_id: format!("b{i}").into(),
            resource_name: format!("vm-{r}").into(),
            resource_uuid: resource(r),
            offering_name: format!("Offering {}", r % 2).into(),
            offering_uuid: offering(r % 2),
            project_name: format!("Project {p}").into(),
            project_uuid: project(p),
            customer_name: format!("Customer {}", p % CUSTOMERS).into(),
            customer_uuid: customer(p % CUSTOMERS),
            component_type: TYPES[t as usize].to_owned().into(),
            date: Utc
                .with_ymd_and_hms(2025, month, 20 + (r as u32 % 8), (t as u32) * 3, 0, 0)
                .unwrap(),
            billing_period: NaiveDate::from_ymd_opt(2025, month, 1).unwrap(),
        });
        i += 1;
    }
    out
}

fn store_with(records: &[Record]) -> Arc<Store> {
    let s = Arc::new(Store::new());
    s.upsert_batch(records).unwrap();
    s
}

// ---------------------------------------------------------------- server + client

struct Server {
    addr: SocketAddr,
    base: String,
    store: Arc<Store>,
}

/// Starts a server on its own runtime thread; it lives until the test process ends.
fn start(store: Arc<Store>, tokens: Option<Tokens>) -> Server {
    let (tx, rx) = std::sync::mpsc::channel();
    let s = store.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut config = Config::new(&format!("http://{addr}"));
            if let Some(t) = tokens {
                config = config.with_tokens(t);
            }
            tx.send(addr).unwrap();
            server::serve(listener, server::router(s, config), std::future::pending())
                .await
                .unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    Server {
        addr,
        base: format!("http://{addr}"),
        store,
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn count(&self) -> u64 {
        self.header("x-result-count").unwrap().parse().unwrap()
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn links(&self) -> Vec<(String, String)> {
        parse_link_header(self.header("link").unwrap_or(""))
            .into_iter()
            .map(|(r, u)| (r.to_owned(), u.to_owned()))
            .collect()
    }
    fn link(&self, rel: &str) -> Option<String> {
        self.links()
            .into_iter()
            .find(|(r, _)| r == rel)
            .map(|(_, u)| u)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn finish(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
    let mut r = r.unwrap();
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

impl Server {
    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
    fn list_url(&self, qs: &str) -> String {
        if qs.is_empty() {
            self.url(LIST_PATH)
        } else {
            self.url(&format!("{LIST_PATH}?{qs}"))
        }
    }
    fn get(&self, qs: &str) -> Resp {
        self.get_as(qs, None)
    }
    fn get_as(&self, qs: &str, token: Option<&str>) -> Resp {
        let mut req = agent().get(self.list_url(qs));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        finish(req.call())
    }
    fn head(&self, qs: &str, token: Option<&str>) -> Resp {
        let mut req = agent().head(self.list_url(qs));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        finish(req.call())
    }
    fn retrieve(&self, id: &str, qs: &str, token: Option<&str>) -> Resp {
        let mut req = agent().get(self.url(&format!("{LIST_PATH}{id}/?{qs}")));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        finish(req.call())
    }
    fn post(&self, path_and_query: &str, body: &str, token: Option<&str>) -> Resp {
        let mut req = agent()
            .post(self.url(path_and_query))
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        finish(req.send(body))
    }
    fn delete(&self, id: &str, token: Option<&str>) -> Resp {
        let mut req = agent().delete(self.url(&format!("{LIST_PATH}{id}/")));
        if let Some(t) = token {
            req = req.header("Authorization", &format!("Token {t}"));
        }
        finish(req.call())
    }

    /// What the library renders for a query string and scope: the wire must say exactly this.
    fn expected(&self, qs: &str, scope: Scope) -> (u16, Option<u64>, String) {
        let q = match Query::parse(qs) {
            Ok(q) => q.with_scope(scope),
            Err(e) => {
                let mut out = Vec::new();
                e.write_json(&mut out);
                return (e.status(), None, String::from_utf8(out).unwrap());
            }
        };
        let txn = self.store.read();
        match txn.query(&q) {
            Ok(page) => {
                let mut out = Vec::new();
                page.write_json(&mut out, &self.base);
                (200, Some(page.count()), String::from_utf8(out).unwrap())
            }
            Err(e) => {
                let mut out = Vec::new();
                e.write_json(&mut out);
                (e.status(), None, String::from_utf8(out).unwrap())
            }
        }
    }
}

fn json_of(records: &[Record]) -> String {
    let items: Vec<String> = records
        .iter()
        .map(|r| r.to_json("http://upstream.example"))
        .collect();
    format!("[{}]", items.join(","))
}

// ---------------------------------------------------------------- reads

#[test]
fn list_bodies_and_counts_match_the_library_for_many_queries() {
    let srv = start(store_with(&fixture(700)), None);
    let r = &fixture(1)[0];
    let queries = [
        String::new(),
        "page_size=300".into(),
        "page_size=1000".into(),
        "page_size=0".into(),
        "page_size=-3".into(),
        "page_size=x".into(),
        "page=2&page_size=25".into(),
        "page=last&page_size=33".into(),
        format!("customer_uuid={}", customer(1).hyphenated()),
        format!("project_uuid={}&o=-usage", project(2).simple()),
        format!("offering_uuid={}&o=username,-usage", offering(1)),
        format!("resource_uuid={}", resource(3)),
        format!(
            "resource=https://x/api/marketplace-resources/{}/",
            resource(4).simple()
        ),
        "resource=https://x/api/offerings/1/".into(),
        "username=ALICE".into(),
        "username=%25".into(),
        "username=_".into(),
        "type=gpu&o=component_usage__billing_period".into(),
        "type=".into(),
        "billing_period_year=2025.0&billing_period_month=3".into(),
        "billing_period_year=2025.5".into(),
        "billing_period_month=13".into(),
        "component_usage__billing_period=2025-02-01&o=-component_usage__billing_period".into(),
        "date_after=2025-03-22&date_before=2025-04-25".into(),
        "o=-usage,username&page=3".into(),
        "o=-usage&o=username&page=3".into(),
        "field=uuid&field=usage".into(),
        "field=usage,uuid,bogus".into(),
        "field=bogus".into(),
        format!("uuid={}", r.uuid.simple()),
        "unknown=1&o=usage".into(),
        "type=gpu&type=cpu&page_size=50".into(),
        "username=&customer_uuid=&field=".into(),
        "o=username&o=-usage,component_usage__billing_period&page=2".into(),
        // errors: 400 (all of them, before 404), 404
        "customer_uuid=x&date_after=y&billing_period_year=z&o=-created&page=999".into(),
        "o=usage,nope,-worse".into(),
        "page=999".into(),
        "page=0".into(),
        "page=-1".into(),
        "page=abc".into(),
        "type=none".into(),
        "type=none&page=2".into(),
    ];
    for qs in &queries {
        let resp = srv.get(qs);
        let (status, count, body) = srv.expected(qs, Scope::everything());
        assert_eq!(resp.status, status, "{qs}: {}", resp.body);
        assert_eq!(resp.body, body, "{qs}");
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "{qs}"
        );
        match count {
            Some(c) => {
                assert_eq!(resp.count(), c, "{qs}");
                assert!(resp.header("link").is_some(), "{qs}");
            }
            None => {
                assert!(resp.header("x-result-count").is_none(), "{qs}");
                assert!(resp.header("link").is_none(), "{qs}");
            }
        }
        // HEAD: the same status and headers, no body.
        let head = srv.head(qs, None);
        assert_eq!(head.status, status, "HEAD {qs}");
        assert_eq!(head.body, "", "HEAD {qs}");
        assert_eq!(
            head.header("x-result-count"),
            resp.header("x-result-count"),
            "HEAD {qs}"
        );
        assert_eq!(head.header("link"), resp.header("link"), "HEAD {qs}");
    }
}

#[test]
fn list_shape_key_order_and_error_bodies() {
    let srv = start(store_with(&fixture(40)), None);
    let resp = srv.get("page_size=3");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.count(), 40);
    let v = resp.json();
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    // Key order is canonical: check it on the raw text.
    let first = &resp.body[1..];
    let mut pos = 0;
    for f in Field::ALL {
        let at = first[pos..].find(&format!("\"{}\":", f.name())).unwrap() + pos;
        pos = at;
    }
    // Default order: date descending.
    let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    // URL fields use the base URL.
    let cu = items[0]["component_usage"].as_str().unwrap();
    assert!(
        cu.starts_with(&format!("{}/api/marketplace-component-usages/", srv.base)),
        "{cu}"
    );

    let e = srv.get("customer_uuid=x&date_after=y&o=-created&page=5");
    assert_eq!(e.status, 400);
    assert_eq!(
        e.body,
        r#"{"customer_uuid":["Enter a valid UUID."],"date_after":["Enter a valid date."],"o":["Select a valid choice. -created is not one of the available choices."]}"#
    );
    let e = srv.get("page=5");
    assert_eq!(
        (e.status, e.body.as_str()),
        (404, r#"{"detail":"Invalid page."}"#)
    );
    // An empty result has one empty page.
    let e = srv.get("type=nope");
    assert_eq!((e.status, e.body.as_str(), e.count()), (200, "[]", 0));
    assert_eq!(srv.get("type=nope&page=last").status, 200);
    assert_eq!(srv.get("type=nope&page=2").status, 404);
    // page_size is capped at 300 and defaults to 10.
    let srv = start(store_with(&fixture(320)), None);
    assert_eq!(
        srv.get("page_size=1000").json().as_array().unwrap().len(),
        300
    );
    assert_eq!(srv.get("page_size=0").json().as_array().unwrap().len(), 10);
    assert_eq!(
        srv.get("page_size=1.5").json().as_array().unwrap().len(),
        10
    );
}

#[test]
fn link_headers_follow_the_rules_and_walk_every_record_once() {
    let records = fixture(95);
    let srv = start(store_with(&records), None);
    let qs = "username=a&o=-usage,username&page_size=7&field=uuid&field=usage";
    let resp = srv.get(qs);
    let n = resp.count();
    assert!(n > 14, "{n}");
    let pages = n.div_ceil(7);
    let b = format!("{}{LIST_PATH}", srv.base);
    assert_eq!(
        resp.header("link").unwrap(),
        format!(
            "<{b}?field=uuid&field=usage&o=-usage%2Cusername&page_size=7&username=a>; rel=\"first\", \
             <{b}?field=uuid&field=usage&o=-usage%2Cusername&page=2&page_size=7&username=a>; rel=\"next\", \
             <{b}?field=uuid&field=usage&o=-usage%2Cusername&page={pages}&page_size=7&username=a>; rel=\"last\""
        )
    );
    // Page 2: prev is page 1, which has no page parameter.
    let p2 = srv.get(&format!("{qs}&page=2"));
    let rels: Vec<String> = p2.links().into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, ["first", "prev", "next", "last"]);
    assert_eq!(p2.link("prev"), resp.link("first"));
    // Walking `next` from page 1 visits every match once, in order.
    let mut url = Some(srv.list_url(qs));
    let mut seen = Vec::new();
    let mut walked = 0;
    while let Some(u) = url {
        let r = finish(agent().get(&u).call());
        assert_eq!(r.status, 200, "{u}");
        if walked > 0 {
            assert!(!u.contains(',') && !u.contains(' '), "{u}");
        }
        for item in r.json().as_array().unwrap() {
            assert_eq!(item.as_object().unwrap().keys().count(), 2);
            seen.push(item["uuid"].as_str().unwrap().to_owned());
        }
        walked += 1;
        url = r.link("next");
    }
    assert_eq!(walked, pages);
    assert_eq!(seen.len() as u64, n);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len());
    // The last link is the last page; page=last answers the same page.
    let last = srv.get(&format!("{qs}&page=last"));
    assert_eq!(
        last.body,
        finish(agent().get(&resp.link("last").unwrap()).call()).body
    );
    assert!(last.link("next").is_none());
    // Special characters in values are percent-encoded; values round-trip.
    let r = srv.get("username=%3Ca%20b%3E%3B%2C&page_size=1");
    for (_, u) in r.links() {
        let q = u.split_once('?').unwrap().1;
        assert!(!q.contains(['<', '>', ';', ',', ' ']), "{u}");
    }
}

#[test]
fn head_sends_no_body_on_the_wire() {
    let srv = start(store_with(&fixture(30)), None);
    for (qs, status) in [
        ("page_size=5", "200"),
        ("page=9", "404"),
        ("customer_uuid=x", "400"),
    ] {
        let mut s = TcpStream::connect(srv.addr).unwrap();
        write!(
            s,
            "HEAD {LIST_PATH}?{qs} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            srv.addr
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        assert_eq!(rest, "", "{qs}: HEAD must not carry a body");
        // No Content-Length: HEAD does not render the GET body it would describe.
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{head}"
        );
        if status == "200" {
            assert!(
                head.to_ascii_lowercase().contains("x-result-count: 30"),
                "{head}"
            );
            assert!(head.to_ascii_lowercase().contains("link: <"), "{head}");
        }
    }
}

#[test]
fn retrieve_honours_fields_and_hides_what_it_must() {
    let records = fixture(30);
    let srv = start(store_with(&records), None);
    let r = &records[7];
    let resp = srv.retrieve(&r.uuid.simple().to_string(), "", None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let stored = srv.store.get(r.uuid, &Scope::everything()).unwrap();
    assert_eq!(resp.body, stored.to_json(&srv.base));
    // Hyphenated and upper-case forms (the SDK sends str(UUID)).
    let hy = srv.retrieve(&r.uuid.hyphenated().to_string().to_uppercase(), "", None);
    assert_eq!(hy.body, resp.body);
    let sparse = srv.retrieve(
        &r.uuid.simple().to_string(),
        "field=usage&field=uuid,nope",
        None,
    );
    assert_eq!(
        sparse.body,
        format!(
            r#"{{"uuid":"{}","usage":{}}}"#,
            r.uuid.simple(),
            stored.usage
        )
    );
    // Filters do not apply to retrieve; bad ones are not errors there.
    assert_eq!(
        srv.retrieve(&r.uuid.simple().to_string(), "customer_uuid=bad", None)
            .status,
        200
    );
    for id in [
        Uuid::from_u128(1).simple().to_string(),
        "nope".into(),
        "123".into(),
    ] {
        let e = srv.retrieve(&id, "", None);
        assert_eq!(
            (e.status, e.body.as_str()),
            (404, r#"{"detail":"Not found."}"#),
            "{id}"
        );
    }
    // Unknown paths and methods.
    let e = finish(agent().get(srv.url("/api/nope/")).call());
    assert_eq!(
        (e.status, e.body.as_str()),
        (404, r#"{"detail":"Not found."}"#)
    );
    let e = finish(agent().put(srv.url(LIST_PATH)).send("[]"));
    assert_eq!(
        (e.status, e.body.as_str()),
        (405, r#"{"detail":"Method \"PUT\" not allowed."}"#)
    );
}

// ---------------------------------------------------------------- auth

fn tokens() -> Tokens {
    Tokens::from_json(&format!(
        r#"{{"staff-token": "staff", "support-token": "support",
            "cust0": {{"customers": ["{}"]}},
            "proj-off": {{"projects": ["{}"], "offerings": ["{}"]}},
            "none": {{}}}}"#,
        customer(0),
        project(1).hyphenated(),
        offering(1).simple()
    ))
    .unwrap()
}

#[test]
fn authentication_and_visibility_scopes() {
    let records = fixture(200);
    let srv = start(store_with(&records), Some(tokens()));
    // 401s, before 400s.
    for (auth, msg) in [
        (None, "Authentication credentials were not provided."),
        (
            Some("Bearer staff-token"),
            "Authentication credentials were not provided.",
        ),
        (Some("Token nope"), "Invalid token."),
        (
            Some("Token"),
            "Invalid token header. No credentials provided.",
        ),
        (
            Some("Token a b"),
            "Invalid token header. Token string should not contain spaces.",
        ),
    ] {
        let mut req = agent().get(srv.list_url("customer_uuid=bad"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = finish(req.call());
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.body, format!(r#"{{"detail":"{msg}"}}"#));
        assert_eq!(r.header("www-authenticate"), Some("Token"));
    }
    assert_eq!(srv.head("", None).status, 401);
    assert_eq!(
        srv.retrieve(&records[0].uuid.simple().to_string(), "", None)
            .status,
        401
    );

    let scopes = [
        ("staff-token", Scope::everything()),
        ("support-token", Scope::everything()),
        ("cust0", Scope::nothing().with_customer(customer(0))),
        (
            "proj-off",
            Scope::nothing()
                .with_project(project(1))
                .with_offering(offering(1)),
        ),
        ("none", Scope::nothing()),
    ];
    for (token, scope) in &scopes {
        for qs in [
            "page_size=300".to_owned(),
            "o=-usage&page=2".into(),
            format!("customer_uuid={}", customer(1)),
            "type=cpu&page=last".into(),
            "page=40".into(),
        ] {
            let r = srv.get_as(&qs, Some(token));
            let (status, count, body) = srv.expected(&qs, scope.clone());
            assert_eq!((r.status, &r.body), (status, &body), "{token} {qs}");
            if let Some(c) = count {
                assert_eq!(r.count(), c, "{token} {qs}");
                assert_eq!(srv.head(&qs, Some(token)).count(), c);
            }
        }
        let visible = records.iter().filter(|r| scope.allows(r)).count() as u64;
        assert_eq!(srv.get_as("", Some(token)).count(), visible, "{token}");
        for r in records.iter().step_by(17) {
            let resp = srv.retrieve(&r.uuid.simple().to_string(), "", Some(token));
            let want = if scope.allows(r) { 200 } else { 404 };
            assert_eq!(resp.status, want, "{token}");
        }
    }
    assert_eq!(srv.get_as("", Some("none")).body, "[]");
    // Writes need staff.
    let body = json_of(&records[..1]);
    for token in ["support-token", "cust0", "none"] {
        for r in [
            srv.post(LIST_PATH, &body, Some(token)),
            srv.post(&format!("{LIST_PATH}replace/?type=cpu"), "[]", Some(token)),
            srv.delete(&records[0].uuid.simple().to_string(), Some(token)),
        ] {
            assert_eq!(r.status, 403, "{token}");
            assert_eq!(
                r.body,
                r#"{"detail":"You do not have permission to perform this action."}"#
            );
        }
    }
    assert_eq!(srv.post(LIST_PATH, &body, None).status, 401);
    assert_eq!(srv.store.len(), 200);
    let r = srv.post(LIST_PATH, &body, Some("staff-token"));
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            200,
            r#"{"inserted":0,"replaced":0,"unchanged":1,"removed":0}"#
        )
    );
    let r = srv.delete(&records[0].uuid.simple().to_string(), Some("staff-token"));
    assert_eq!(r.status, 204);
}

// ---------------------------------------------------------------- writes

#[test]
fn writes_upsert_remove_replace() {
    let records = fixture(120);
    let srv = start(store_with(&records[..100]), None);

    // Insert 20 new, replace 1, keep 1; the usage may be a decimal string.
    let mut batch: Vec<Record> = records[100..].to_vec();
    let mut changed = records[5].clone();
    changed.usage = "99.5".parse().unwrap();
    batch.push(changed.clone());
    batch.push(records[6].clone());
    let body = json_of(&batch).replace("\"usage\":99.5", "\"usage\":\"99.50\"");
    let r = srv.post(LIST_PATH, &body, None);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/json"))
    );
    assert_eq!(
        r.body,
        r#"{"inserted":20,"replaced":1,"unchanged":1,"removed":0}"#
    );
    assert_eq!(srv.store.len(), 120);
    let got = srv.retrieve(&changed.uuid.simple().to_string(), "field=usage", None);
    assert_eq!(got.body, r#"{"usage":99.5}"#);

    // JSON Lines works too.
    let lines: String = records[..3].iter().map(|r| r.to_json("") + "\n").collect();
    assert_eq!(
        srv.post(LIST_PATH, &lines, None).body,
        r#"{"inserted":0,"replaced":0,"unchanged":3,"removed":0}"#
    );

    // A bad element: 400 naming index and field; nothing changes.
    let mut bad: Vec<Record> = fixture(130)[120..].to_vec();
    let text = json_of(&bad);
    let third = bad[3].to_json("http://upstream.example");
    let text = text.replace(
        &third,
        &third.replace(&format!("\"usage\":{}", bad[3].usage), "\"usage\":0.125"),
    );
    let r = srv.post(LIST_PATH, &text, None);
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(v["index"], 3);
    assert_eq!(v["field"], "usage");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("more than two fraction digits"),
        "{v}"
    );
    assert!(r.body.starts_with(r#"{"detail":"record 3"#), "{}", r.body);
    assert_eq!(srv.store.len(), 120);
    // A rule broken after parsing (empty username) and a natural-key conflict.
    bad[2].username = String::new().into();
    let r = srv.post(LIST_PATH, &json_of(&bad), None);
    assert_eq!(
        (
            r.status,
            r.json()["index"].clone(),
            r.json()["field"].clone()
        ),
        (400, 2.into(), "username".into())
    );
    let mut clash = records[0].clone();
    clash.uuid = Uuid::from_u128(77);
    let r = srv.post(LIST_PATH, &json_of(&[records[119].clone(), clash]), None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["index"], 1);
    assert_eq!(r.json()["conflict"], records[0].uuid.simple().to_string());
    assert_eq!(srv.store.len(), 120);
    // Broken JSON and non-UTF-8.
    let r = srv.post(LIST_PATH, "[{\"uuid\": ", None);
    assert_eq!(r.status, 400);
    assert!(r.json()["detail"].is_string());
    let r = finish(agent().post(srv.url(LIST_PATH)).send(&b"[\xff]"[..]));
    assert_eq!(r.status, 400);
    assert_eq!(
        srv.post(LIST_PATH, "[]", None).body,
        r#"{"inserted":0,"replaced":0,"unchanged":0,"removed":0}"#
    );

    // DELETE.
    let id = records[9].uuid.simple().to_string();
    let r = srv.delete(&id, None);
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    assert_eq!(srv.delete(&id, None).status, 404);
    assert_eq!(srv.delete("nope", None).body, r#"{"detail":"Not found."}"#);
    assert_eq!(srv.retrieve(&id, "", None).status, 404);
    assert_eq!(srv.store.len(), 119);

    // replace: one resource and period re-pulled; one record gone upstream, one edited.
    let res = records[0].resource_uuid;
    let period = records[0].billing_period;
    let slice: Vec<Record> = srv
        .store
        .query(
            &Query::parse(&format!(
                "resource_uuid={}&component_usage__billing_period={period}&page_size=300",
                res.simple()
            ))
            .unwrap(),
        )
        .unwrap()
        .1;
    assert!(slice.len() >= 3, "{}", slice.len());
    let mut upstream = slice[1..].to_vec();
    upstream[0].description = "edited".into();
    let path = format!(
        "{LIST_PATH}replace/?resource_uuid={}&component_usage__billing_period={period}",
        res.hyphenated()
    );
    let r = srv.post(&path, &json_of(&upstream), None);
    assert_eq!(
        r.body,
        format!(
            r#"{{"inserted":0,"replaced":1,"unchanged":{},"removed":1}}"#,
            upstream.len() - 1
        )
    );
    assert!(srv.store.get(slice[0].uuid, &Scope::everything()).is_none());
    // An element outside the filter: 400 with the parameter, nothing changes.
    let r = srv.post(&path, &json_of(&[records[1].clone()]), None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["index"], 0);
    assert!(r.json()["param"].is_string(), "{}", r.body);
    assert_eq!(srv.store.len(), 118);
    // Bad filters: the parameter map; no filter at all: refused.
    let r = srv.post(
        &format!("{LIST_PATH}replace/?resource_uuid=x&date_after=y"),
        "[]",
        None,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            400,
            r#"{"resource_uuid":["Enter a valid UUID."],"date_after":["Enter a valid date."]}"#
        )
    );
    let r = srv.post(&format!("{LIST_PATH}replace/?resource_uid=x"), "[]", None);
    assert_eq!(r.status, 400);
    assert_eq!(srv.store.len(), 118);
    srv.store.validate().unwrap();
}

#[test]
fn body_limit_answers_413() {
    let store = Arc::new(Store::new());
    let (tx, rx) = std::sync::mpsc::channel();
    let s = store.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let mut config = Config::new("http://x");
            config.max_body_bytes = 1000;
            server::serve(listener, server::router(s, config), std::future::pending())
                .await
                .unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let r = finish(
        agent()
            .post(format!("http://{addr}{LIST_PATH}"))
            .send(" ".repeat(5000)),
    );
    assert_eq!(r.status, 413);
    assert!(r.body.starts_with(r#"{"detail":"#));
}

// ---------------------------------------------------------------- sync

#[test]
fn sync_mirrors_a_live_server_and_reports_changes() {
    let records = fixture(650);
    let srv = start(store_with(&records), Some(tokens()));
    let local = Store::new();
    let client = Client::new(&srv.base, Some("staff-token".into()));
    let mut calls = 0;
    let report = sync(&client, &local, |_, total| {
        calls += 1;
        assert_eq!(total, Some(650));
    })
    .unwrap();
    assert_eq!(calls, 3, "650 records at 300 a page");
    assert_eq!(report.periods.len(), 4);
    assert_eq!(report.total().inserted, 650);
    assert_eq!(local.len(), 650);
    for r in &records {
        assert_eq!(local.get(r.uuid, &Scope::everything()).as_ref(), Some(r));
    }
    local.validate().unwrap();

    // Upstream changes: one edit, one delete, one insert in a new period,
    // and the whole of January deleted.
    let march = |r: &&Record| r.billing_period.to_string() == "2025-03-01";
    let mut edited = records.iter().find(march).unwrap().clone();
    edited.usage = "1234.56".parse().unwrap();
    srv.post(LIST_PATH, &json_of(&[edited.clone()]), Some("staff-token"));
    let gone = records
        .iter()
        .find(|r| r.billing_period.to_string() == "2025-02-01")
        .unwrap();
    assert_eq!(
        srv.delete(&gone.uuid.simple().to_string(), Some("staff-token"))
            .status,
        204
    );
    let mut fresh = records[0].clone();
    fresh.uuid = Uuid::from_u128(0x1234);
    fresh.component_usage = Uuid::from_u128(0x5678);
    fresh.billing_period = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    fresh.date = Utc.with_ymd_and_hms(2025, 6, 30, 0, 0, 0).unwrap();
    srv.post(LIST_PATH, &json_of(&[fresh.clone()]), Some("staff-token"));
    let r = srv.post(
        &format!("{LIST_PATH}replace/?component_usage__billing_period=2025-01-01"),
        "[]",
        Some("staff-token"),
    );
    let january = r.json()["removed"].as_u64().unwrap() as usize;
    assert!(january > 0);

    let report = sync(&client, &local, |_, _| {}).unwrap();
    let rows: Vec<(String, usize, usize, usize, usize)> = report
        .periods
        .iter()
        .map(|p| {
            let s = p.result.as_ref().unwrap();
            (
                p.period.to_string(),
                s.inserted,
                s.replaced,
                s.removed,
                s.unchanged,
            )
        })
        .collect();
    let want = [
        ("2025-01-01".to_owned(), 0, 0, january),
        ("2025-02-01".into(), 0, 0, 1),
        ("2025-03-01".into(), 0, 1, 0),
        ("2025-04-01".into(), 0, 0, 0),
        ("2025-06-01".into(), 1, 0, 0),
    ];
    let got: Vec<_> = rows
        .iter()
        .map(|(p, i, r, m, _)| (p.clone(), *i, *r, *m))
        .collect();
    assert_eq!(got, want);
    assert_eq!(local.len(), srv.store.len());
    assert_eq!(local.get(fresh.uuid, &Scope::everything()).unwrap(), fresh);
    let t = report.total();
    assert_eq!(t.inserted + t.replaced + t.unchanged, srv.store.len());
    local.validate().unwrap();

    // A scoped token mirrors only what it sees; a bad token fails cleanly.
    let scoped = Store::new();
    sync(
        &Client::new(&srv.base, Some("cust0".into())),
        &scoped,
        |_, _| {},
    )
    .unwrap();
    let scope = Scope::nothing().with_customer(customer(0));
    assert_eq!(
        scoped.len() as u64,
        srv.store
            .read()
            .count(&Query::new().with_scope(scope))
            .unwrap()
            .count
    );
    let err = sync(
        &Client::new(&srv.base, Some("wrong".into())),
        &Store::new(),
        |_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let _ = Access::Staff;
}
