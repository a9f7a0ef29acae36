//! One small test per rule of SPEC.md, each with a concrete example, through
//! the public API only.

use chrono::{DateTime, NaiveDate, Utc};
use usage_store::{
    Filter, PageInfo, Query, QueryError, Record, Scope, Store, Usage, WriteError, WriteSummary,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn ts(s: &str) -> DateTime<Utc> {
    s.parse().expect("valid timestamp literal")
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date literal")
}

fn u(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// `Record::example()` with its own uuid, username and component usage.
fn rec(id: u128, username: &str) -> Record {
    let mut r = Record::example();
    r.uuid = u(id);
    r.username = username.to_owned().into();
    r.component_usage = u(0xc000 + id);
    r
}

fn store_with(records: &[Record]) -> Store {
    let s = Store::new();
    s.upsert_batch(records).expect("valid records");
    s.validate().expect("consistent store");
    s
}

/// Parses and runs a query (scope: everything).
fn run(store: &Store, qs: &str) -> Result<(PageInfo, Vec<Record>), QueryError> {
    run_scoped(store, qs, Scope::everything())
}

fn run_scoped(
    store: &Store,
    qs: &str,
    scope: Scope,
) -> Result<(PageInfo, Vec<Record>), QueryError> {
    let q = Query::parse(qs)?.with_scope(scope);
    store.query(&q)
}

/// The usernames of a successful query's page, in order.
fn names(store: &Store, qs: &str) -> Vec<String> {
    let (_, rows) = run(store, qs).unwrap_or_else(|e| panic!("{qs}: {e}"));
    rows.into_iter().map(|r| r.username.into()).collect()
}

fn count(store: &Store, qs: &str) -> u64 {
    run(store, qs)
        .unwrap_or_else(|e| panic!("{qs}: {e}"))
        .0
        .count
}

/// The `(parameter, first message)` pairs of a 400.
fn param_errors(qs: &str) -> Vec<(String, String)> {
    match Query::parse(qs) {
        Err(QueryError::Params(e)) => e.iter().map(|(p, m)| (p.to_owned(), m.join("|"))).collect(),
        other => panic!("{qs}: expected parameter errors, got {other:?}"),
    }
}

fn all_records(store: &Store) -> Vec<Record> {
    let (_, mut rows) = run(store, "page_size=300").expect("page 1");
    rows.sort_by_key(|r| r.uuid);
    rows
}

// ---------------------------------------------------------------------------
// §2.1 username: icontains
// ---------------------------------------------------------------------------

#[test]
fn username_is_case_insensitive_substring_with_literal_wildcards() {
    let s = store_with(&[
        rec(1, "50%off"),
        rec(2, "a_b"),
        rec(3, "ab"),
        rec(4, "JOANNA"),
        rec(5, "Élodie"),
        rec(6, "élan"),
        rec(7, "x5off"),
    ]);
    let sorted = |qs: &str| {
        let mut v = names(&s, qs);
        v.sort();
        v
    };
    // `%` and `_` are literal, not SQL wildcards.
    assert_eq!(sorted("username=%25"), ["50%off"]);
    assert_eq!(sorted("username=0%25o"), ["50%off"]);
    assert_eq!(sorted("username=_"), ["a_b"]);
    assert_eq!(sorted("username=a_"), ["a_b"]);
    // Case-insensitive both ways.
    assert_eq!(sorted("username=ann"), ["JOANNA"]);
    assert_eq!(sorted("username=jOaNnA"), ["JOANNA"]);
    // Unicode lowercase mapping of both sides.
    assert_eq!(sorted("username=%C3%89LO"), ["Élodie"]);
    assert_eq!(sorted("username=%C3%A9l"), ["Élodie", "élan"]);
    assert_eq!(sorted("username=%C3%89L"), ["Élodie", "élan"]);
    // Unaccented letters do not match accented ones.
    assert_eq!(sorted("username=elo"), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// §2.1 billing_period_year / _month: decimal numbers
// ---------------------------------------------------------------------------

#[test]
fn year_and_month_accept_decimals_and_fractions_match_nothing() {
    let mut a = rec(1, "a");
    a.billing_period = ymd(2025, 3, 1);
    let mut b = rec(2, "b");
    b.billing_period = ymd(2024, 3, 1);
    let s = store_with(&[a, b]);
    assert_eq!(count(&s, "billing_period_year=2025"), 1);
    assert_eq!(count(&s, "billing_period_year=2025.0"), 1);
    assert_eq!(count(&s, "billing_period_year=2025.000"), 1);
    assert_eq!(count(&s, "billing_period_year=2.025e3"), 1);
    assert_eq!(count(&s, "billing_period_year=20250e-1"), 1);
    // A number with a non-zero fraction is valid but matches nothing.
    assert_eq!(count(&s, "billing_period_year=2025.5"), 0);
    assert_eq!(count(&s, "billing_period_month=3"), 2);
    assert_eq!(count(&s, "billing_period_month=3.0"), 2);
    assert_eq!(count(&s, "billing_period_month=3.5"), 0);
    assert_eq!(
        count(&s, "billing_period_month=03&billing_period_year=2024"),
        1
    );
    assert_eq!(
        param_errors("billing_period_year=abc"),
        [("billing_period_year".into(), "Enter a number.".into())]
    );
    assert_eq!(
        param_errors("billing_period_month=2025,0"),
        [("billing_period_month".into(), "Enter a number.".into())]
    );
}

#[test]
fn year_in_exponent_notation() {
    let mut a = rec(1, "a");
    a.billing_period = ymd(1000, 1, 1);
    let mut b = rec(2, "b");
    b.billing_period = ymd(2025, 1, 1);
    let s = store_with(&[a, b]);
    assert_eq!(names(&s, "billing_period_year=1e3"), ["a"]);
    assert_eq!(names(&s, "billing_period_year=1E%2B3"), ["a"]);
    assert_eq!(names(&s, "billing_period_month=1e0"), ["a", "b"]);
    assert_eq!(names(&s, "billing_period_month=0.1e1"), ["a", "b"]);
}

#[test]
fn month_out_of_range_matches_nothing_without_error() {
    let mut a = rec(1, "a");
    a.billing_period = ymd(2025, 12, 1);
    let s = store_with(&[a]);
    assert_eq!(count(&s, "billing_period_month=12"), 1);
    assert_eq!(count(&s, "billing_period_month=120e-1"), 1);
    for m in ["13", "0", "-1", "-12", "1e2", "99999999999999999999999"] {
        let (info, rows) = run(&s, &format!("billing_period_month={m}"))
            .unwrap_or_else(|e| panic!("month {m}: {e}"));
        assert_eq!(
            (info.count, info.num_pages, rows.len()),
            (0, 1, 0),
            "month {m}"
        );
    }
}

// ---------------------------------------------------------------------------
// §2.1 resource: URL forms
// ---------------------------------------------------------------------------

#[test]
fn resource_url_forms() {
    let a = rec(1, "a");
    let mut b = rec(2, "b");
    b.resource_uuid = u(0xbbbb);
    let s = store_with(&[a.clone(), b]);
    let hex = a.resource_uuid.simple().to_string();
    let hy = a.resource_uuid.hyphenated().to_string();
    for url in [
        format!("https://waldur.example.com/api/marketplace-resources/{hex}/"),
        format!("https://waldur.example.com/api/marketplace-resources/{hex}"),
        format!("http://localhost:8000/api/marketplace-resources/{hy}/"),
        format!("/api/marketplace-resources/{hex}/"),
        format!("/api/marketplace-resources/{hex}"),
        format!("//other.host/api/marketplace-resources/{hex}/"),
        format!("https://waldur.example.com/api/marketplace-resources/{hex}/?x=1#frag"),
        format!(
            "https://waldur.example.com/api/marketplace-resources/{}/",
            hex.to_uppercase()
        ),
    ] {
        let qs = format!(
            "resource={}",
            url.replace('?', "%3F")
                .replace('#', "%23")
                .replace('&', "%26")
                .replace('=', "%3D")
        );
        assert_eq!(names(&s, &qs), ["a"], "{url}");
    }
    // Anything else matches nothing, and is not an error.
    for url in [
        format!("https://waldur.example.com/api/marketplace-offerings/{hex}/"),
        format!("api/marketplace-resources/{hex}/"),
        format!("/api/marketplace-resources/{hex}/extra/"),
        format!("/api/v2/marketplace-resources/{hex}/"),
        hex.clone(),
        "/api/marketplace-resources//".to_owned(),
        "/api/marketplace-resources/not-a-uuid/".to_owned(),
        "https://waldur.example.com".to_owned(),
    ] {
        let (info, rows) =
            run(&s, &format!("resource={url}")).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!((info.count, rows.len(), info.num_pages), (0, 0, 1), "{url}");
    }
}

// ---------------------------------------------------------------------------
// §1.1 / §2.1 uuid forms
// ---------------------------------------------------------------------------

#[test]
fn accepted_uuid_forms() {
    let c = u(0x3f2c0b9e_1d4a_4c6f_9b2e_7a5d8c1f0e42);
    for form in [
        "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42",
        "3F2C0B9E1D4A4C6F9B2E7A5D8C1F0E42",
        "3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
        "3F2C0B9E-1D4A-4C6F-9B2E-7A5D8C1F0E42",
        "{3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42}",
        "{3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42}",
        "urn:uuid:3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
        "urn:uuid:3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42",
        "3f2c-0b9e1d4a4c6f9b2e7a5d8c1f0e-42",
        "  3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42  ",
    ] {
        let qs = format!(
            "customer_uuid={}",
            form.replace(' ', "%20")
                .replace('{', "%7B")
                .replace('}', "%7D")
        );
        let q = Query::parse(&qs).unwrap_or_else(|e| panic!("{form:?} rejected: {e}"));
        assert_eq!(q.filter(), &Filter::new().customer(c), "{form:?}");
    }
}

#[test]
fn rejected_uuid_forms() {
    for form in [
        "x",
        "not-a-uuid",
        "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e4",
        "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e421",
        "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e4g",
        "URN:UUID:3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
        "3f2c0b9e_1d4a4c6f9b2e7a5d8c1f0e42",
        "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42%C3%A9",
        "3f2c0b9e%201d4a4c6f9b2e7a5d8c1f0e42",
        "%7B%7D",
    ] {
        assert_eq!(
            param_errors(&format!("customer_uuid={form}")),
            [("customer_uuid".into(), "Enter a valid UUID.".into())],
            "{form:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// §2.2 ordering and tie-breaking
// ---------------------------------------------------------------------------

#[test]
fn ties_break_by_date_desc_then_type_then_uuid() {
    let mk = |id: u128, name: &str, date: &str, ctype: &str| {
        let mut r = rec(id, name);
        r.usage = Usage::from_cents(500);
        r.date = ts(date);
        r.component_type = ctype.to_owned().into();
        r
    };
    let mut big = rec(9, "big");
    big.usage = Usage::from_cents(900);
    let s = store_with(&[
        mk(0xb0, "ram-late-uuid-b", "2025-03-01T00:00:00Z", "ram"),
        mk(0xa0, "ram-late-uuid-a", "2025-03-01T00:00:00Z", "ram"),
        mk(0x10, "cpu-late", "2025-03-01T00:00:00Z", "cpu"),
        mk(0x01, "latest", "2025-03-02T00:00:00Z", "storage"),
        mk(0x02, "early", "2025-02-01T00:00:00Z", "cpu"),
        big,
    ]);
    // Equal usage: -date, then component_type, then uuid.
    assert_eq!(
        names(&s, "o=-usage"),
        [
            "big",
            "latest",
            "cpu-late",
            "ram-late-uuid-a",
            "ram-late-uuid-b",
            "early"
        ]
    );
    // Ascending usage: the same tie-break, not reversed.
    assert_eq!(
        names(&s, "o=usage"),
        [
            "latest",
            "cpu-late",
            "ram-late-uuid-a",
            "ram-late-uuid-b",
            "early",
            "big"
        ]
    );
    // Without `o`: the default keys alone (the example's date is 2025-03-31).
    assert_eq!(names(&s, "")[0], "big");
    // Pages cut a tie deterministically.
    assert_eq!(
        names(&s, "o=-usage&page_size=2&page=2"),
        ["cpu-late", "ram-late-uuid-a"]
    );
}

#[test]
fn uuid_tie_break_uses_the_16_bytes() {
    let mk = |id: u128, name: &str| {
        let mut r = rec(id, name);
        r.usage = Usage::from_cents(1);
        r
    };
    // 0x01.. < 0x0f.. < 0xf0.. byte-wise.
    let s = store_with(&[
        mk(0xf0 << 120, "f0"),
        mk(1 << 120, "01"),
        mk(0x0f << 120, "0f"),
    ]);
    assert_eq!(names(&s, "o=usage"), ["01", "0f", "f0"]);
}

#[test]
fn username_order_is_by_code_point_and_repeated_keys_are_ignored() {
    let s = store_with(&[
        rec(1, "Élodie"),
        rec(2, "ann"),
        rec(3, "Zed"),
        rec(4, "Ann"),
    ]);
    assert_eq!(names(&s, "o=username"), ["Ann", "Zed", "ann", "Élodie"]);
    assert_eq!(names(&s, "o=-username"), ["Élodie", "ann", "Zed", "Ann"]);
    // `o=username,-username`: the repeat of a column decides nothing.
    assert_eq!(
        names(&s, "o=username,-username"),
        ["Ann", "Zed", "ann", "Élodie"]
    );
    assert_eq!(
        names(&s, "o=username&o=-username"),
        ["Ann", "Zed", "ann", "Élodie"]
    );
}

#[test]
fn unknown_ordering_key_is_reported_as_given() {
    assert_eq!(
        param_errors("o=-usage,-created,bogus"),
        [(
            "o".into(),
            "Select a valid choice. -created is not one of the available choices.".into()
        )]
    );
    assert_eq!(
        param_errors("o=usage&o=%20usage"),
        [(
            "o".into(),
            "Select a valid choice.  usage is not one of the available choices.".into()
        )]
    );
    assert!(
        Query::parse("o=&o=usage,,").is_ok(),
        "empty items are skipped"
    );
}

// ---------------------------------------------------------------------------
// §2.3 pagination
// ---------------------------------------------------------------------------

fn numbered(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut r = rec(1000 + i as u128, &format!("user{i:04}"));
            r.component_usage = u(0xc0);
            r
        })
        .collect()
}

#[test]
fn page_last() {
    let s = store_with(&numbered(25));
    let (info, rows) = run(&s, "page=last&o=username").expect("last page");
    assert_eq!((info.count, info.number, info.num_pages), (25, 3, 3));
    assert!(info.has_previous() && !info.has_next());
    let names: Vec<_> = rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(
        names,
        ["user0020", "user0021", "user0022", "user0023", "user0024"]
    );
    assert_eq!(run(&s, "page=4").unwrap_err(), QueryError::InvalidPage);
    assert_eq!(run(&s, "page=Last").unwrap_err(), QueryError::InvalidPage);
}

#[test]
fn page_size_is_capped_at_300() {
    let s = store_with(&numbered(301));
    let (info, rows) = run(&s, "page_size=1000").expect("page 1");
    assert_eq!(
        (info.count, info.num_pages, info.page_size, rows.len()),
        (301, 2, 300, 300)
    );
    let (info, rows) = run(&s, "page_size=1000&page=2").expect("page 2");
    assert_eq!((info.number, rows.len()), (2, 1));
    // Zero, negative and non-integers mean the default.
    for ps in ["0", "-5", "abc", "2.5", ""] {
        let (info, rows) = run(&s, &format!("page_size={ps}")).expect("page 1");
        assert_eq!((info.page_size, rows.len()), (10, 10), "page_size={ps}");
    }
}

#[test]
fn empty_result_has_one_empty_page() {
    let s = Store::new();
    for qs in ["", "page=1", "page=last"] {
        let (info, rows) = run(&s, qs).expect("the single empty page");
        assert_eq!(
            (info.count, info.number, info.num_pages, rows.len()),
            (0, 1, 1, 0),
            "{qs}"
        );
        assert!(!info.has_previous() && !info.has_next());
    }
    assert_eq!(run(&s, "page=2").unwrap_err(), QueryError::InvalidPage);
    assert_eq!(run(&s, "page=0").unwrap_err(), QueryError::InvalidPage);
    // Same with records that the filter excludes.
    let s = store_with(&[rec(1, "a")]);
    assert_eq!(run(&s, "type=gpu").unwrap().0.num_pages, 1);
    assert_eq!(
        run(&s, "type=gpu&page=2").unwrap_err(),
        QueryError::InvalidPage
    );
}

// ---------------------------------------------------------------------------
// §2.1 errors: all at once, 400 before 404
// ---------------------------------------------------------------------------

#[test]
fn every_invalid_parameter_is_reported_at_once_in_declaration_order() {
    let e = param_errors(
        "o=-created&date_before=2025-02-30&billing_period_year=abc&project_uuid=nope&customer_uuid=x\
         &component_usage__billing_period=2025/01/01&resource=junk&username=&type=",
    );
    assert_eq!(
        e,
        [
            ("customer_uuid".into(), "Enter a valid UUID.".into()),
            ("project_uuid".into(), "Enter a valid UUID.".into()),
            ("billing_period_year".into(), "Enter a number.".into()),
            (
                "component_usage__billing_period".into(),
                "Enter a valid date.".into()
            ),
            ("date_before".into(), "Enter a valid date.".into()),
            (
                "o".into(),
                "Select a valid choice. -created is not one of the available choices.".into()
            ),
        ]
    );
    let Err(err) = Query::parse("customer_uuid=x&date_after=y") else {
        panic!("expected 400")
    };
    assert_eq!(err.status(), 400);
    assert_eq!(
        err.to_string(),
        r#"{"customer_uuid":["Enter a valid UUID."],"date_after":["Enter a valid date."]}"#
    );
}

#[test]
fn parameter_errors_come_before_page_errors() {
    let s = store_with(&[rec(1, "a")]);
    let e = run(&s, "page=999&customer_uuid=bad").unwrap_err();
    assert!(matches!(e, QueryError::Params(_)), "{e:?}");
    assert_eq!(e.status(), 400);
    let e = run(&s, "page=abc&billing_period_month=x").unwrap_err();
    assert_eq!(e.status(), 400);
    // With valid parameters the page error shows.
    let e = run(
        &s,
        "page=999&customer_uuid=66666666666646668666666666666666",
    )
    .unwrap_err();
    assert_eq!((e.clone(), e.status()), (QueryError::InvalidPage, 404));
}

#[test]
fn empty_and_repeated_parameters() {
    let s = store_with(&[rec(1, "a")]);
    // Empty means absent; the last occurrence wins, even if empty.
    assert_eq!(count(&s, "customer_uuid=&type=&username=&date_after="), 1);
    assert_eq!(count(&s, "customer_uuid=bad&customer_uuid="), 1);
    assert_eq!(count(&s, "type=gpu&type=cpu"), 1);
    assert_eq!(count(&s, "type=cpu&type=gpu"), 0);
    assert_eq!(count(&s, "type=CPU"), 0, "type is case-sensitive");
    assert_eq!(count(&s, "type=+cpu+"), 1, "values are trimmed");
}

#[test]
fn date_filters_are_inclusive_on_the_utc_calendar_date() {
    let mut a = rec(1, "a");
    a.date = ts("2025-01-31T23:59:59.999999Z");
    let mut b = rec(2, "b");
    b.date = ts("2025-02-01T00:00:00Z");
    let s = store_with(&[a, b]);
    assert_eq!(names(&s, "date_after=2025-02-01"), ["b"]);
    assert_eq!(names(&s, "date_before=2025-01-31"), ["a"]);
    assert_eq!(
        names(&s, "date_after=2025-1-31&date_before=2025-2-1"),
        ["b", "a"]
    );
    assert_eq!(count(&s, "date_after=2025-02-02"), 0);
    assert_eq!(
        param_errors("date_after=2025-02-29"),
        [("date_after".into(), "Enter a valid date.".into())]
    );
}

// ---------------------------------------------------------------------------
// §5 writes
// ---------------------------------------------------------------------------

#[test]
fn batch_failing_on_third_element_changes_nothing() {
    let before = [rec(1, "a")];
    let s = store_with(&before);
    let content = all_records(&s);

    // A natural-key conflict at index 2 (same component usage and username as `a`).
    let mut renamed = rec(2, "b");
    renamed.project_name = "Renamed".into();
    let mut clash = rec(3, "a");
    clash.component_usage = before[0].component_usage;
    let e = s
        .upsert_batch(&[rec(5, "e"), renamed.clone(), clash])
        .unwrap_err();
    assert!(matches!(e, WriteError::Conflict { index: 2, .. }), "{e:?}");
    assert_eq!(all_records(&s), content);
    s.validate().unwrap();

    // An invalid element at index 2.
    let mut invalid = rec(4, "d");
    invalid.username = "x".repeat(101).into();
    let e = s
        .upsert_batch(&[rec(5, "e"), renamed, invalid])
        .unwrap_err();
    assert!(matches!(e, WriteError::Invalid { index: 2, .. }), "{e:?}");
    assert_eq!(all_records(&s), content);
    assert_eq!(s.len(), 1);
    s.validate().unwrap();
}

#[test]
fn batch_elements_apply_one_by_one() {
    let s = Store::new();
    // Element 0 takes key (X, "a"), element 1 moves uuid 1 to (X, "b") and frees (X, "a"),
    // element 2 takes (X, "a") with another uuid: no conflict.
    let a = rec(1, "a");
    let mut a_moved = a.clone();
    a_moved.username = "b".into();
    let mut c = rec(2, "a");
    c.component_usage = a.component_usage;
    let sum = s
        .upsert_batch(&[a.clone(), a_moved.clone(), c.clone()])
        .unwrap();
    assert_eq!(
        sum,
        WriteSummary {
            inserted: 2,
            replaced: 1,
            unchanged: 0,
            removed: 0
        }
    );
    // Writing the same again: all unchanged... except that uuid 1 is first
    // written back to "a", which conflicts with uuid 2 now holding (X, "a").
    let e = s
        .upsert_batch(&[a, a_moved.clone(), c.clone()])
        .unwrap_err();
    assert!(matches!(e, WriteError::Conflict { index: 0, .. }), "{e:?}");
    let sum = s.upsert_batch(&[a_moved, c]).unwrap();
    assert_eq!(
        sum,
        WriteSummary {
            inserted: 0,
            replaced: 0,
            unchanged: 2,
            removed: 0
        }
    );
}

#[test]
fn validation_counts_unicode_scalar_values() {
    let s = Store::new();
    let mut r = rec(1, &"é".repeat(100));
    r.backend_id = "é".repeat(255).into();
    r.component_type = "ß".repeat(50).into();
    assert!(
        s.upsert(&r).is_ok(),
        "100 two-byte characters are 100 characters"
    );
    type Mutate = fn(&mut Record);
    let cases: [(&str, Mutate); 6] = [
        ("username", |r| r.username = String::new().into()),
        ("username", |r| r.username = "é".repeat(101).into()),
        ("measured_unit", |r| {
            r.measured_unit = "u".repeat(151).into()
        }),
        ("description", |r| r.description = "d".repeat(2001).into()),
        ("backend_id", |r| r.backend_id = "é".repeat(256).into()),
        ("component_type", |r| {
            r.component_type = "t".repeat(51).into()
        }),
    ];
    for (field, set) in cases {
        let mut bad = rec(2, "b");
        set(&mut bad);
        match s.upsert(&bad) {
            Err(WriteError::Invalid { index: 0, error }) => assert_eq!(error.field(), field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(s.len(), 1);
}

#[test]
fn replace_removes_stale_rows_of_the_slice_only() {
    let mut a = rec(1, "a");
    let mut b = rec(2, "b");
    let mut c = rec(3, "c");
    let mut other_period = rec(4, "d");
    other_period.billing_period = ymd(2025, 4, 1);
    let mut other_resource = rec(5, "e");
    other_resource.resource_uuid = u(0xeeee);
    let s = store_with(&[
        a.clone(),
        b.clone(),
        c.clone(),
        other_period,
        other_resource,
    ]);
    let f = Filter::parse(&format!(
        "resource_uuid={}&component_usage__billing_period=2025-03-01",
        a.resource_uuid.simple()
    ))
    .unwrap();
    // Upstream now has a (changed), b (same) and no c.
    a.usage = Usage::from_cents(1);
    let sum = s.replace(&f, &[a.clone(), b.clone()]).unwrap();
    assert_eq!(
        sum,
        WriteSummary {
            inserted: 0,
            replaced: 1,
            unchanged: 1,
            removed: 1
        }
    );
    let left: Vec<_> = all_records(&s).into_iter().map(|r| r.username).collect();
    assert_eq!(left, ["a", "b", "d", "e"]);
    // An element outside the filter changes nothing.
    b.billing_period = ymd(2025, 5, 1);
    let e = s.replace(&f, &[a.clone(), b]).unwrap_err();
    assert!(
        matches!(e, WriteError::OutsideFilter { index: 1, .. }),
        "{e:?}"
    );
    assert_eq!(s.len(), 4);
    // A new record may take over the natural key of a record the same replace removes.
    c.component_usage = a.component_usage;
    c.username = "a".into();
    let sum = s.replace(&f, &[c]).unwrap();
    assert_eq!(
        sum,
        WriteSummary {
            inserted: 1,
            replaced: 0,
            unchanged: 0,
            removed: 2
        }
    );
    s.validate().unwrap();
}

#[test]
fn remove_returns_the_record() {
    let s = store_with(&[rec(1, "a"), rec(2, "b")]);
    let got = s.remove(u(1)).expect("present");
    assert_eq!(got.username, "a");
    assert_eq!(s.remove(u(1)), None);
    assert_eq!(names(&s, ""), ["b"]);
    s.validate().unwrap();
}

// ---------------------------------------------------------------------------
// §1.3 entity normalisation
// ---------------------------------------------------------------------------

#[test]
fn renaming_a_project_through_one_record_renames_it_everywhere() {
    let a = rec(1, "a");
    let mut b = rec(2, "b");
    b.resource_uuid = u(0xbbbb); // another resource of the same project
    let s = store_with(&[a.clone(), b]);
    let mut renamed = a;
    renamed.project_name = "Climate 2".into();
    renamed.customer_name = "Uni 2".into();
    renamed.offering_name = "HPC 2".into();
    s.upsert(&renamed).unwrap();
    for r in all_records(&s) {
        assert_eq!(
            (
                r.project_name.as_str(),
                r.customer_name.as_str(),
                r.offering_name.as_str()
            ),
            ("Climate 2", "Uni 2", "HPC 2"),
            "{}",
            r.username
        );
    }
    s.validate().unwrap();
}

#[test]
fn moving_a_component_usage_to_another_period_moves_all_its_records() {
    let cu = u(0xc1);
    let mk = |id: u128, name: &str, cents: i64| {
        let mut r = rec(id, name);
        r.component_usage = cu;
        r.usage = Usage::from_cents(cents);
        r
    };
    let mut other = rec(9, "other");
    other.billing_period = ymd(2025, 3, 1);
    let s = store_with(&[mk(1, "a", 1), mk(2, "b", 2), other]);
    assert_eq!(count(&s, "component_usage__billing_period=2025-03-01"), 3);
    // Re-report of `a` with the component usage in April.
    let mut a = mk(1, "a", 1);
    a.billing_period = ymd(2025, 4, 1);
    a.date = ts("2025-04-30T00:00:00Z");
    a.component_type = "gpu".into();
    s.upsert(&a).unwrap();
    assert_eq!(
        names(&s, "component_usage__billing_period=2025-04-01&o=usage"),
        ["a", "b"]
    );
    assert_eq!(names(&s, "billing_period_month=4&o=-usage"), ["b", "a"]);
    assert_eq!(
        names(&s, "component_usage__billing_period=2025-03-01"),
        ["other"]
    );
    assert_eq!(
        names(&s, "o=-component_usage__billing_period,usage"),
        ["a", "b", "other"]
    );
    assert_eq!(
        names(&s, "o=component_usage__billing_period,usage"),
        ["other", "a", "b"]
    );
    assert_eq!(names(&s, "type=gpu&date_after=2025-04-30"), ["a", "b"]);
    let b = s.get(u(2), &Scope::everything()).unwrap();
    assert_eq!(
        (b.billing_period, b.component_type.as_str()),
        (ymd(2025, 4, 1), "gpu")
    );
    s.validate().unwrap();
}

#[test]
fn moving_a_project_to_another_customer_moves_its_records() {
    let c1 = Record::example().customer_uuid;
    let c2 = u(0xc2c2);
    let a = rec(1, "a");
    let mut b = rec(2, "b");
    b.resource_uuid = u(0xbbbb); // same project, another resource
    let mut elsewhere = rec(3, "elsewhere");
    elsewhere.resource_uuid = u(0xeeee);
    elsewhere.project_uuid = u(0x9999);
    let s = store_with(&[a.clone(), b, elsewhere]);
    assert_eq!(count(&s, &format!("customer_uuid={}", c1.simple())), 3);
    let mut moved = a;
    moved.customer_uuid = c2;
    moved.customer_name = "New customer".into();
    s.upsert(&moved).unwrap();
    let mut in_c2 = names(&s, &format!("customer_uuid={}", c2.simple()));
    in_c2.sort();
    assert_eq!(in_c2, ["a", "b"]);
    assert_eq!(
        names(&s, &format!("customer_uuid={}", c1.simple())),
        ["elsewhere"]
    );
    // Visibility follows the move too.
    assert_eq!(
        run_scoped(&s, "", Scope::nothing().with_customer(c1))
            .unwrap()
            .0
            .count,
        1
    );
    assert!(s.get(u(2), &Scope::nothing().with_customer(c1)).is_none());
    assert!(s.get(u(2), &Scope::nothing().with_customer(c2)).is_some());
    s.validate().unwrap();
}

// ---------------------------------------------------------------------------
// §4 visibility
// ---------------------------------------------------------------------------

#[test]
fn visibility_scopes() {
    let mine = rec(1, "mine");
    let mut by_project = rec(2, "by-project");
    by_project.resource_uuid = u(0x22);
    by_project.customer_uuid = u(0xc9);
    by_project.project_uuid = u(0x99);
    let mut by_offering = rec(3, "by-offering");
    by_offering.resource_uuid = u(0x33);
    by_offering.customer_uuid = u(0xc8);
    by_offering.project_uuid = u(0x98);
    by_offering.offering_uuid = u(0x0f);
    let mut hidden = rec(4, "hidden");
    hidden.resource_uuid = u(0x44);
    hidden.customer_uuid = u(0xc7);
    hidden.project_uuid = u(0x97);
    hidden.offering_uuid = u(0x0e);
    let s = store_with(&[mine.clone(), by_project, by_offering, hidden.clone()]);

    let scope = Scope::nothing()
        .with_customer(mine.customer_uuid)
        .with_project(u(0x99))
        .with_offering(u(0x0f));
    let (info, rows) = run_scoped(&s, "o=username", scope.clone()).unwrap();
    let seen: Vec<_> = rows.iter().map(|r| r.username.as_str()).collect();
    assert_eq!(info.count, 3);
    assert_eq!(seen, ["by-offering", "by-project", "mine"]);
    // Invisible: absent from counts and retrieve; filtering on it yields nothing.
    assert_eq!(s.get(hidden.uuid, &scope), None);
    assert!(s.get(hidden.uuid, &Scope::everything()).is_some());
    let (info, _) = run_scoped(
        &s,
        &format!("customer_uuid={}", hidden.customer_uuid.simple()),
        scope.clone(),
    )
    .unwrap();
    assert_eq!(info.count, 0);
    assert_eq!(
        s.read()
            .count(&Query::new().with_scope(scope))
            .unwrap()
            .count,
        3
    );
    assert_eq!(run_scoped(&s, "", Scope::nothing()).unwrap().0.count, 0);
    assert_eq!(s.get(mine.uuid, &Scope::nothing()), None);
}

// ---------------------------------------------------------------------------
// §2.4 sparse fields
// ---------------------------------------------------------------------------

#[test]
fn field_parameter() {
    use usage_store::{Field, FieldSet};
    let f = |qs: &str| Query::parse(qs).unwrap().fields();
    assert_eq!(
        f("field=usage&field=uuid"),
        FieldSet::from_fields([Field::Uuid, Field::Usage])
    );
    assert_eq!(
        f("field=usage,%20uuid%20,bogus"),
        FieldSet::from_fields([Field::Uuid, Field::Usage])
    );
    assert_eq!(f("field=bogus"), FieldSet::all());
    assert_eq!(f("field="), FieldSet::all());
    assert_eq!(f(""), FieldSet::all());
}

// ---------------------------------------------------------------------------
// §5 / §6: which element a failing batch names, and bulk writes
// ---------------------------------------------------------------------------

/// A batch is checked element by element, in order, as if applied one by
/// one: the error names the *first* offending element, whatever the reason.
#[test]
fn batch_names_the_first_offending_element_in_order() {
    let a = rec(1, "a");
    let s = store_with(std::slice::from_ref(&a));
    let mut clash = rec(2, "a");
    clash.component_usage = a.component_usage;
    let mut invalid = rec(3, "c");
    invalid.username.clear();
    let e = s.upsert_batch(&[clash, invalid.clone()]).unwrap_err();
    assert!(matches!(e, WriteError::Conflict { index: 0, .. }), "{e:?}");

    // replace: element 0 is outside the filter, element 1 is invalid.
    let outside = rec(4, "d"); // component type "cpu"
    let e = s
        .replace(&Filter::new().component_type("gpu"), &[outside, invalid])
        .unwrap_err();
    assert!(
        matches!(e, WriteError::OutsideFilter { index: 0, .. }),
        "{e:?}"
    );
    assert_eq!(all_records(&s), [a]);
}

/// A batch of 64+ records (the store's bulk path) in which a later element
/// moves a component usage of an earlier one to another resource.
#[test]
fn bulk_batch_moving_a_component_usage_between_resources() {
    let a = rec(1, "a");
    let mut b = rec(2, "b");
    b.component_usage = a.component_usage;
    b.resource_uuid = u(0xabc);
    let mut batch = vec![a, b];
    batch.extend((0..62).map(|i| rec(100 + i, &format!("filler{i}"))));
    let s = Store::new();
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.upsert_batch(&batch)));
    let sum = got.expect("upsert_batch must not panic");
    assert_eq!(
        sum,
        Ok(WriteSummary {
            inserted: 64,
            replaced: 0,
            unchanged: 0,
            removed: 0
        })
    );
    s.validate().unwrap();
    assert_eq!(
        count(&s, "resource_uuid=00000000000000000000000000000abc"),
        2
    );
}

#[test]
fn empty_type_is_no_filter_even_beside_a_year() {
    // Records of an empty component type (valid) and of `cpu`, for two
    // customers, over two billing periods of 2025: `type=` (empty) filters
    // nothing, so the customer's count is all of its 2025 records — not
    // the empty type's records (a type ∧ year count is kept per period and
    // type, and must only be used when there is a type).
    let mut records = Vec::new();
    for i in 0..8u128 {
        let mut r = rec(i + 1, &format!("user{i}"));
        r.component_type = if i % 2 == 0 {
            String::new().into()
        } else {
            "cpu".into()
        };
        // The customer is the project's: one project per customer.
        r.customer_uuid = u(0xa + i % 3 / 2);
        r.project_uuid = u(0x9a + i % 3 / 2);
        r.resource_uuid = u(0x8a + i % 3 / 2);
        r.billing_period = ymd(2025, 1 + (i % 4) as u32 / 2, 1);
        records.push(r);
    }
    let store = store_with(&records);
    let a = u(0xa).simple();
    let want = records.iter().filter(|r| r.customer_uuid == u(0xa)).count() as u64;
    assert!(want > 0 && want < 8);
    assert_eq!(
        count(
            &store,
            &format!("customer_uuid={a}&type=&billing_period_year=2025")
        ),
        want
    );
    // The parser drops an empty value; the builder keeps it, as no filter.
    let f = Filter::new()
        .customer(u(0xa))
        .component_type("")
        .billing_year(2025);
    let q = Query::new().with_filter(f).with_scope(Scope::everything());
    assert_eq!(store.query(&q).expect("page 1").0.count, want);
    assert_eq!(store.read().count(&q).expect("count").count, want);
    let empty = records
        .iter()
        .filter(|r| r.component_type.is_empty())
        .count() as u64;
    assert_ne!(want, empty, "the example must tell the two counts apart");
}
