//! The query-string parser: upstream's Django filter set, DRF paginator and
//! ordering filter, message for message.

use std::borrow::Cow;

use super::{DEFAULT_PAGE_SIZE, Filter, MAX_PAGE_SIZE, OrderKey, PageSpec, Query};
use crate::error::{ParamErrors, QueryError};
use crate::record::{Field, FieldSet};
use crate::wire::number::Decimal;
use crate::wire::time::parse_date;
use crate::wire::uuid::{parse_uuid, resource_from_url};

/// Declaration order of the parameters, which is the order of error entries.
pub(crate) const PARAM_ORDER: [&str; 13] = [
    "customer_uuid",
    "project_uuid",
    "offering_uuid",
    "resource_uuid",
    "resource",
    "username",
    "type",
    "billing_period_year",
    "billing_period_month",
    "component_usage__billing_period",
    "date_after",
    "date_before",
    "o",
];

const UUID_MSG: &str = "Enter a valid UUID.";
const NUMBER_MSG: &str = "Enter a number.";
const DATE_MSG: &str = "Enter a valid date.";

/// The decoded `name=value` pairs of a query string, in order
/// (`+` is a space, percent escapes decoded, invalid UTF-8 replaced).
pub(crate) struct RawParams<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> RawParams<'a> {
    pub(crate) fn new(qs: &'a str) -> RawParams<'a> {
        let qs = qs.strip_prefix('?').unwrap_or(qs);
        RawParams {
            pairs: form_urlencoded::parse(qs.as_bytes()).collect(),
        }
    }

    /// The last value of a single-valued parameter, trimmed; `None` when
    /// absent or empty (SPEC §2.1: an empty value is ignored).
    fn last(&self, name: &str) -> Option<&str> {
        let v = self.pairs.iter().rev().find(|(k, _)| k == name)?.1.trim();
        (!v.is_empty()).then_some(v)
    }

    /// Every value of a repeatable parameter, in order.
    fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }
}

fn uuid_param(
    raw: &RawParams<'_>,
    name: &'static str,
    errors: &mut ParamErrors,
) -> Option<uuid::Uuid> {
    let v = raw.last(name)?;
    let u = parse_uuid(v);
    if u.is_none() {
        errors.push(name, UUID_MSG.to_owned());
    }
    u
}

fn date_param(
    raw: &RawParams<'_>,
    name: &'static str,
    errors: &mut ParamErrors,
) -> Option<chrono::NaiveDate> {
    let v = raw.last(name)?;
    let d = parse_date(v);
    if d.is_none() {
        errors.push(name, DATE_MSG.to_owned());
    }
    d
}

/// A `NumberFilter` value: `Some(Some(n))` integral, `Some(None)` a valid
/// number that no year or month can equal.
fn number_param(
    raw: &RawParams<'_>,
    name: &'static str,
    errors: &mut ParamErrors,
) -> Option<Option<i64>> {
    let v = raw.last(name)?;
    match Decimal::parse(v) {
        None => {
            errors.push(name, NUMBER_MSG.to_owned());
            None
        }
        Some(d) => Some(d.to_scaled(0).ok()),
    }
}

pub(crate) fn filter(raw: &RawParams<'_>, errors: &mut ParamErrors) -> Filter {
    let mut f = Filter {
        customer: uuid_param(raw, "customer_uuid", errors),
        project: uuid_param(raw, "project_uuid", errors),
        offering: uuid_param(raw, "offering_uuid", errors),
        resource_uuid: uuid_param(raw, "resource_uuid", errors),
        ..Filter::default()
    };
    if let Some(v) = raw.last("resource") {
        match resource_from_url(v) {
            Some(u) => f.resource = Some(u),
            None => f.nothing = true,
        }
    }
    f.username = raw.last("username").map(str::to_owned);
    f.component_type = raw.last("type").map(str::to_owned);
    match number_param(raw, "billing_period_year", errors) {
        Some(Some(y)) => f = f.billing_year(y),
        Some(None) => f.nothing = true,
        None => {}
    }
    match number_param(raw, "billing_period_month", errors) {
        Some(Some(m)) => f = f.billing_month(m),
        Some(None) => f.nothing = true,
        None => {}
    }
    f.billing_period = date_param(raw, "component_usage__billing_period", errors);
    f.date_after = date_param(raw, "date_after", errors);
    f.date_before = date_param(raw, "date_before", errors);
    f
}

/// `o`: comma-separated and/or repeated keys; empty items are skipped; the
/// first unknown item (exactly as given) is the error.
fn order(raw: &RawParams<'_>, errors: &mut ParamErrors) -> Vec<OrderKey> {
    let mut keys = Vec::new();
    for v in raw.all("o") {
        for item in v.split(',') {
            if item.is_empty() {
                continue;
            }
            match item.parse::<OrderKey>() {
                Ok(k) => keys.push(k),
                Err(()) => {
                    errors.push(
                        "o",
                        format!(
                            "Select a valid choice. {item} is not one of the available choices."
                        ),
                    );
                    return keys;
                }
            }
        }
    }
    keys
}

/// An integer as Python's `int()` reads it (surrounding whitespace, optional
/// sign, ASCII digits), saturated to `i128`. `None` when not an integer.
fn python_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = 0;
    for c in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i128::from(c - b'0'));
    }
    Some(if neg { -v } else { v })
}

/// DRF's `PageNumberPagination`: `page` empty or absent is page 1.
fn page(raw: &RawParams<'_>) -> PageSpec {
    match raw.pairs.iter().rev().find(|(k, _)| k == "page") {
        None => PageSpec::Number(1),
        Some((_, v)) if v.is_empty() => PageSpec::Number(1),
        Some((_, v)) if v == "last" => PageSpec::Last,
        Some((_, v)) => match python_int(v) {
            Some(n) if n >= 1 => PageSpec::Number(u64::try_from(n).unwrap_or(u64::MAX)),
            _ => PageSpec::Invalid,
        },
    }
}

/// DRF's `_positive_int(strict=True, cutoff=300)`, falling back to the default.
fn page_size(raw: &RawParams<'_>) -> usize {
    match raw.pairs.iter().rev().find(|(k, _)| k == "page_size") {
        None => DEFAULT_PAGE_SIZE,
        Some((_, v)) => match python_int(v) {
            Some(n) if n >= 1 => n.min(MAX_PAGE_SIZE as i128) as usize,
            _ => DEFAULT_PAGE_SIZE,
        },
    }
}

/// `field`: repeated and/or comma-separated; unknown names ignored; none
/// valid means all.
fn fields(raw: &RawParams<'_>) -> FieldSet {
    let mut s = FieldSet::empty();
    for v in raw.all("field") {
        for name in v.split(',') {
            if let Some(f) = Field::from_name(name.trim()) {
                s.insert(f);
            }
        }
    }
    if s.is_empty() { FieldSet::all() } else { s }
}

pub(crate) fn query(qs: &str) -> Result<Query, QueryError> {
    let raw = RawParams::new(qs);
    let mut errors = ParamErrors::default();
    let filter = filter(&raw, &mut errors);
    let order = order(&raw, &mut errors);
    if !errors.is_empty() {
        errors.sort_by_declaration(&PARAM_ORDER);
        return Err(QueryError::Params(errors));
    }
    Ok(Query {
        filter,
        order,
        page: page(&raw),
        page_size: page_size(&raw),
        fields: fields(&raw),
        scope: super::Scope::everything(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::SortField;

    #[test]
    fn page_rules() {
        let p = |qs: &str| query(qs).unwrap().page;
        assert_eq!(p(""), PageSpec::Number(1));
        assert_eq!(p("page="), PageSpec::Number(1));
        assert_eq!(p("page=3"), PageSpec::Number(3));
        assert_eq!(p("page=+3"), PageSpec::Number(3));
        assert_eq!(p("page=last"), PageSpec::Last);
        assert_eq!(p("page=Last"), PageSpec::Invalid);
        assert_eq!(p("page=0"), PageSpec::Invalid);
        assert_eq!(p("page=-1"), PageSpec::Invalid);
        assert_eq!(p("page=1.0"), PageSpec::Invalid);
        assert_eq!(p("page=x&page=2"), PageSpec::Number(2));
        assert_eq!(
            p("page=99999999999999999999999999"),
            PageSpec::Number(u64::MAX)
        );
    }

    #[test]
    fn page_size_rules() {
        let s = |qs: &str| query(qs).unwrap().page_size;
        assert_eq!(s(""), 10);
        assert_eq!(s("page_size=25"), 25);
        assert_eq!(s("page_size=301"), 300);
        assert_eq!(s("page_size=99999999999999999999999"), 300);
        assert_eq!(s("page_size=0"), 10);
        assert_eq!(s("page_size=-5"), 10);
        assert_eq!(s("page_size=abc"), 10);
        assert_eq!(s("page_size=2.5"), 10);
    }

    #[test]
    fn ordering_forms() {
        let o = |qs: &str| query(qs).unwrap().order;
        use OrderKey as K;
        assert_eq!(
            o("o=-usage,username&o=component_usage__billing_period"),
            vec![
                K::desc(SortField::Usage),
                K::asc(SortField::Username),
                K::asc(SortField::BillingPeriod)
            ]
        );
        assert_eq!(o("o=&o=usage,"), vec![K::asc(SortField::Usage)]);
        let e = query("o=usage,-created,bogus").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"{"o":["Select a valid choice. -created is not one of the available choices."]}"#
        );
    }

    #[test]
    fn all_errors_at_once_in_declaration_order() {
        let Err(QueryError::Params(e)) = query(
            "o=x&date_before=2025-13-01&billing_period_month=abc&customer_uuid=nope&page=0&resource=junk&username=",
        ) else {
            panic!("expected errors")
        };
        let names: Vec<_> = e.iter().map(|(p, _)| p).collect();
        assert_eq!(
            names,
            ["customer_uuid", "billing_period_month", "date_before", "o"]
        );
        assert_eq!(e.get("billing_period_month").unwrap(), ["Enter a number."]);
    }

    #[test]
    fn filters_and_fields() {
        let q = query("username=%25_&type=%20cpu%20&billing_period_year=2025.0&billing_period_month=2025.5&field=usage,uuid&field=bogus").unwrap();
        assert_eq!(q.filter.username.as_deref(), Some("%_"));
        assert_eq!(q.filter.component_type.as_deref(), Some("cpu"));
        assert_eq!(q.filter.year, Some(2025));
        assert!(q.filter.nothing);
        assert_eq!(q.fields, FieldSet::from_fields([Field::Uuid, Field::Usage]));
        assert_eq!(query("field=nope").unwrap().fields, FieldSet::all());
        assert!(query("billing_period_month=13").unwrap().filter.nothing);
        assert!(query("billing_period_year=1e3").unwrap().filter.year == Some(1000));
        assert!(
            query("customer_uuid=&customer_uuid=")
                .unwrap()
                .filter
                .customer
                .is_none()
        );
        assert!(
            query("customer_uuid=bad&customer_uuid=").is_ok(),
            "last occurrence wins"
        );
    }
}
