//! The query language of SPEC §2: [`Filter`], [`Query`], [`OrderKey`],
//! [`Scope`], and the query-string parser.

mod parse;

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::record::{FieldSet, Record};

/// The filters of SPEC §2.1, combined with AND.
///
/// Build one with the methods below or take it from a query string with
/// [`Filter::parse`]. Values that upstream accepts but that can never match
/// (a `resource` URL of another kind, `billing_period_year=2025.5`,
/// `billing_period_month=13`) make the filter match nothing rather than fail.
///
/// # Examples
///
/// ```
/// use usage_store::Filter;
/// let f = Filter::new().billing_year(2025).billing_month(3).component_type("cpu");
/// assert!(f.matches(&usage_store::Record::example()).is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub(crate) customer: Option<Uuid>,
    pub(crate) project: Option<Uuid>,
    pub(crate) offering: Option<Uuid>,
    pub(crate) resource_uuid: Option<Uuid>,
    pub(crate) resource: Option<Uuid>,
    pub(crate) username: Option<String>,
    pub(crate) component_type: Option<String>,
    pub(crate) year: Option<i32>,
    pub(crate) month: Option<u32>,
    pub(crate) billing_period: Option<NaiveDate>,
    pub(crate) date_after: Option<NaiveDate>,
    pub(crate) date_before: Option<NaiveDate>,
    /// Set when some parameter can match no record at all.
    pub(crate) nothing: bool,
}

impl Filter {
    /// A filter that matches every record. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(usage_store::Filter::new().is_empty());
    /// ```
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Whether no filter is set. O(1).
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Which kinds of filter are set ([`Filter::ENTITIES`] and the rest),
    /// for plans that serve only some: an empty `username` or `type` is
    /// no filter. A filter that matches nothing sets [`Filter::NOTHING`].
    /// O(1).
    pub(crate) fn kinds(&self) -> u8 {
        let on = |b: bool, k: u8| if b { k } else { 0 };
        on(self.nothing, Filter::NOTHING)
            | on(
                self.customer.is_some()
                    || self.project.is_some()
                    || self.offering.is_some()
                    || self.resource_uuid.is_some()
                    || self.resource.is_some(),
                Filter::ENTITIES,
            )
            | on(
                self.username.as_deref().is_some_and(|s| !s.is_empty()),
                Filter::USERNAME,
            )
            | on(
                self.component_type
                    .as_deref()
                    .is_some_and(|s| !s.is_empty()),
                Filter::TYPE,
            )
            | on(
                self.year.is_some() || self.month.is_some() || self.billing_period.is_some(),
                Filter::PERIODS,
            )
            | on(
                self.date_after.is_some() || self.date_before.is_some(),
                Filter::DATES,
            )
    }

    /// [`Filter::kinds`]: customer, project, offering or resource.
    pub(crate) const ENTITIES: u8 = 1;
    /// [`Filter::kinds`]: a username substring.
    pub(crate) const USERNAME: u8 = 2;
    /// [`Filter::kinds`]: a component type.
    pub(crate) const TYPE: u8 = 4;
    /// [`Filter::kinds`]: billing year, month or period.
    pub(crate) const PERIODS: u8 = 8;
    /// [`Filter::kinds`]: a report date range.
    pub(crate) const DATES: u8 = 16;
    /// [`Filter::kinds`]: some parameter matches no record.
    pub(crate) const NOTHING: u8 = 32;

    /// `customer_uuid`: records of this customer.
    pub fn customer(mut self, uuid: Uuid) -> Filter {
        self.customer = Some(uuid);
        self
    }

    /// `project_uuid`: records of this project.
    pub fn project(mut self, uuid: Uuid) -> Filter {
        self.project = Some(uuid);
        self
    }

    /// `offering_uuid`: records of this offering.
    pub fn offering(mut self, uuid: Uuid) -> Filter {
        self.offering = Some(uuid);
        self
    }

    /// `resource_uuid`: records of this resource.
    pub fn resource_uuid(mut self, uuid: Uuid) -> Filter {
        self.resource_uuid = Some(uuid);
        self
    }

    /// `resource`: records of the resource named by a URL whose path is
    /// `/api/marketplace-resources/{uuid}/`; any other URL matches nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = usage_store::Filter::new().resource_url("https://x/api/offerings/1/");
    /// assert!(f.matches(&usage_store::Record::example()).is_err());
    /// ```
    pub fn resource_url(mut self, url: &str) -> Filter {
        match crate::wire::uuid::resource_from_url(url) {
            Some(u) => self.resource = Some(u),
            None => self.nothing = true,
        }
        self
    }

    /// `username`: case-insensitive substring of the username (`%` and `_` literal).
    pub fn username(mut self, needle: &str) -> Filter {
        self.username = Some(needle.to_owned());
        self
    }

    /// `type`: exact, case-sensitive component type.
    pub fn component_type(mut self, t: &str) -> Filter {
        self.component_type = Some(t.to_owned());
        self
    }

    /// `billing_period_year`: the year of the billing period.
    pub fn billing_year(mut self, year: i64) -> Filter {
        match i32::try_from(year) {
            Ok(y) => self.year = Some(y),
            Err(_) => self.nothing = true,
        }
        self
    }

    /// `billing_period_month`: the month (1–12) of the billing period; any other number matches nothing.
    pub fn billing_month(mut self, month: i64) -> Filter {
        match u32::try_from(month) {
            Ok(m @ 1..=12) => self.month = Some(m),
            _ => self.nothing = true,
        }
        self
    }

    /// `component_usage__billing_period`: the exact billing period.
    pub fn billing_period(mut self, d: NaiveDate) -> Filter {
        self.billing_period = Some(d);
        self
    }

    /// `date_after`: the UTC calendar date of `date` is on or after `d`.
    pub fn date_after(mut self, d: NaiveDate) -> Filter {
        self.date_after = Some(d);
        self
    }

    /// `date_before`: the UTC calendar date of `date` is on or before `d`.
    pub fn date_before(mut self, d: NaiveDate) -> Filter {
        self.date_before = Some(d);
        self
    }

    /// Parses the filter parameters of a raw query string (SPEC §2.1),
    /// reporting every invalid one. Other parameters are ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = usage_store::Filter::parse("type=cpu&billing_period_year=2025.0").unwrap();
    /// assert_eq!(f, usage_store::Filter::new().component_type("cpu").billing_year(2025));
    /// ```
    pub fn parse(query_string: &str) -> Result<Filter, crate::ParamErrors> {
        let raw = parse::RawParams::new(query_string);
        let mut errors = crate::ParamErrors::default();
        let f = parse::filter(&raw, &mut errors);
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(errors)
        }
    }

    /// Checks one record against the filter by its own fields, naming the
    /// first parameter it fails. O(length of the strings compared).
    ///
    /// # Examples
    ///
    /// ```
    /// let f = usage_store::Filter::new().component_type("gpu");
    /// assert_eq!(f.matches(&usage_store::Record::example()), Err("type"));
    /// ```
    pub fn matches(&self, r: &Record) -> Result<(), &'static str> {
        fn check(ok: bool, p: &'static str) -> Result<(), &'static str> {
            if ok { Ok(()) } else { Err(p) }
        }
        let f = self;
        check(!f.nothing, "filter")?;
        check(
            f.customer.is_none_or(|u| u == r.customer_uuid),
            "customer_uuid",
        )?;
        check(
            f.project.is_none_or(|u| u == r.project_uuid),
            "project_uuid",
        )?;
        check(
            f.offering.is_none_or(|u| u == r.offering_uuid),
            "offering_uuid",
        )?;
        check(
            f.resource_uuid.is_none_or(|u| u == r.resource_uuid),
            "resource_uuid",
        )?;
        check(f.resource.is_none_or(|u| u == r.resource_uuid), "resource")?;
        check(
            f.username
                .as_ref()
                .is_none_or(|n| r.username.to_lowercase().contains(&n.to_lowercase())),
            "username",
        )?;
        check(
            f.component_type
                .as_ref()
                .is_none_or(|t| t.is_empty() || *t == r.component_type),
            "type",
        )?;
        check(
            f.year.is_none_or(|y| y == r.billing_period.year()),
            "billing_period_year",
        )?;
        check(
            f.month.is_none_or(|m| m == r.billing_period.month()),
            "billing_period_month",
        )?;
        check(
            f.billing_period.is_none_or(|d| d == r.billing_period),
            "component_usage__billing_period",
        )?;
        let day = r.date.date_naive();
        check(f.date_after.is_none_or(|d| day >= d), "date_after")?;
        check(f.date_before.is_none_or(|d| day <= d), "date_before")?;
        Ok(())
    }
}

/// A sortable column of the `o` parameter (SPEC §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortField {
    /// `component_usage__billing_period`.
    BillingPeriod,
    /// `usage`, numerically.
    Usage,
    /// `username`, by Unicode code points.
    Username,
}

impl SortField {
    /// The parameter spelling.
    pub fn name(self) -> &'static str {
        match self {
            SortField::BillingPeriod => "component_usage__billing_period",
            SortField::Usage => "usage",
            SortField::Username => "username",
        }
    }
}

/// One key of the `o` parameter: a column and a direction.
///
/// # Examples
///
/// ```
/// use usage_store::{OrderKey, SortField};
/// let k: OrderKey = "-usage".parse().unwrap();
/// assert_eq!(k, OrderKey::desc(SortField::Usage));
/// assert_eq!(k.to_string(), "-usage");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderKey {
    /// The column.
    pub field: SortField,
    /// Descending when true.
    pub descending: bool,
}

impl OrderKey {
    /// Ascending on `field`.
    pub fn asc(field: SortField) -> OrderKey {
        OrderKey {
            field,
            descending: false,
        }
    }

    /// Descending on `field`.
    pub fn desc(field: SortField) -> OrderKey {
        OrderKey {
            field,
            descending: true,
        }
    }
}

impl std::str::FromStr for OrderKey {
    type Err = ();

    /// Parses `usage`, `-username`, … exactly (no trimming).
    fn from_str(s: &str) -> Result<OrderKey, ()> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, s),
        };
        let field = match name {
            "component_usage__billing_period" => SortField::BillingPeriod,
            "usage" => SortField::Usage,
            "username" => SortField::Username,
            _ => return Err(()),
        };
        Ok(OrderKey { field, descending })
    }
}

impl std::fmt::Display for OrderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.field.name())
    }
}

/// The visibility scope of a caller (SPEC §4): everything (staff, support),
/// or the records whose customer, project or offering is listed.
///
/// # Examples
///
/// ```
/// use usage_store::Scope;
/// let r = usage_store::Record::example();
/// assert!(Scope::everything().allows(&r));
/// assert!(!Scope::nothing().allows(&r));
/// assert!(Scope::nothing().with_project(r.project_uuid).allows(&r));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub(crate) everything: bool,
    pub(crate) customers: Vec<Uuid>,
    pub(crate) projects: Vec<Uuid>,
    pub(crate) offerings: Vec<Uuid>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope::everything()
    }
}

impl Scope {
    /// Sees every record.
    pub fn everything() -> Scope {
        Scope {
            everything: true,
            customers: Vec::new(),
            projects: Vec::new(),
            offerings: Vec::new(),
        }
    }

    /// Sees no record; widen it with the `with_*` methods.
    pub fn nothing() -> Scope {
        Scope {
            everything: false,
            ..Scope::everything()
        }
    }

    /// Also sees the records of this customer.
    pub fn with_customer(mut self, uuid: Uuid) -> Scope {
        self.customers.push(uuid);
        self
    }

    /// Also sees the records of this project.
    pub fn with_project(mut self, uuid: Uuid) -> Scope {
        self.projects.push(uuid);
        self
    }

    /// Also sees the records of this offering.
    pub fn with_offering(mut self, uuid: Uuid) -> Scope {
        self.offerings.push(uuid);
        self
    }

    /// Whether this is the unrestricted scope.
    pub fn is_everything(&self) -> bool {
        self.everything
    }

    /// Whether a record is visible, judged by its own fields.
    pub fn allows(&self, r: &Record) -> bool {
        self.everything
            || self.customers.contains(&r.customer_uuid)
            || self.projects.contains(&r.project_uuid)
            || self.offerings.contains(&r.offering_uuid)
    }
}

/// Which page a [`Query`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSpec {
    /// A 1-based page number.
    Number(u64),
    /// `page=last`.
    Last,
    /// Zero, negative or not an integer: answers 404 `Invalid page.` (after any 400).
    Invalid,
}

/// Default page size (SPEC §2.3).
pub const DEFAULT_PAGE_SIZE: usize = 10;
/// Largest page size; larger requests are capped (SPEC §2.3).
pub const MAX_PAGE_SIZE: usize = 300;

/// A complete list request: filter, ordering, page, sparse fields and scope.
///
/// # Examples
///
/// ```
/// use usage_store::{Query, OrderKey, SortField, PageSpec};
/// let q = Query::parse("o=-usage,username&page=2&page_size=500&type=cpu").unwrap();
/// assert_eq!(q.order(), &[OrderKey::desc(SortField::Usage), OrderKey::asc(SortField::Username)]);
/// assert_eq!(q.page(), PageSpec::Number(2));
/// assert_eq!(q.page_size(), 300);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub(crate) filter: Filter,
    pub(crate) order: Vec<OrderKey>,
    pub(crate) page: PageSpec,
    pub(crate) page_size: usize,
    pub(crate) fields: FieldSet,
    pub(crate) scope: Scope,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            filter: Filter::new(),
            order: Vec::new(),
            page: PageSpec::Number(1),
            page_size: DEFAULT_PAGE_SIZE,
            fields: FieldSet::all(),
            scope: Scope::everything(),
        }
    }
}

impl Query {
    /// Page 1 of 10 records, all records, default order, all fields, unrestricted scope.
    pub fn new() -> Query {
        Query::default()
    }

    /// Parses a raw query string (SPEC §2): filters, `o`, `page`, `page_size`
    /// and `field`. Every invalid filter or ordering parameter is reported
    /// at once ([`QueryError::Params`](crate::QueryError::Params)); an invalid
    /// `page` is kept and reported by the query, after parameter errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = usage_store::Query::parse("o=-created").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     r#"{"o":["Select a valid choice. -created is not one of the available choices."]}"#
    /// );
    /// ```
    pub fn parse(query_string: &str) -> Result<Query, crate::QueryError> {
        parse::query(query_string)
    }

    /// Replaces the filter.
    pub fn with_filter(mut self, f: Filter) -> Query {
        self.filter = f;
        self
    }

    /// Appends an ordering key.
    pub fn order_by(mut self, key: OrderKey) -> Query {
        self.order.push(key);
        self
    }

    /// Asks for a page by number (1-based; 0 is an invalid page).
    pub fn page_number(mut self, n: u64) -> Query {
        self.page = if n == 0 {
            PageSpec::Invalid
        } else {
            PageSpec::Number(n)
        };
        self
    }

    /// Asks for the last page.
    pub fn last_page(mut self) -> Query {
        self.page = PageSpec::Last;
        self
    }

    /// Sets the page size: 0 means the default, values above 300 are capped.
    pub fn with_page_size(mut self, n: usize) -> Query {
        self.page_size = match n {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        self
    }

    /// Sets the sparse fields; an empty set means all fields.
    pub fn with_fields(mut self, fields: FieldSet) -> Query {
        self.fields = if fields.is_empty() {
            FieldSet::all()
        } else {
            fields
        };
        self
    }

    /// Sets the visibility scope.
    pub fn with_scope(mut self, scope: Scope) -> Query {
        self.scope = scope;
        self
    }

    /// The filter.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The `o` keys, in the order given.
    pub fn order(&self) -> &[OrderKey] {
        &self.order
    }

    /// The page asked for.
    pub fn page(&self) -> PageSpec {
        self.page
    }

    /// The effective page size (1..=300).
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The fields to render.
    pub fn fields(&self) -> FieldSet {
        self.fields
    }

    /// The visibility scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
