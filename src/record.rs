//! The record model: [`Record`], [`Usage`], and the field list [`Field`] / [`FieldSet`].

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use compact_str::CompactString;
use uuid::Uuid;

use crate::error::{RecordError, RecordErrorKind};

/// The usage of one offering component by one user in one billing period.
///
/// Field order is the canonical order of the Waldur API (SPEC §1), which is
/// also the key order of every JSON rendering. URL-valued fields of the wire
/// form (`user`, `component_usage`) are held as the UUID they end with.
///
/// Strings are [`CompactString`]s (re-exported as
/// [`usage_store::CompactString`](crate::CompactString)): a `String`'s size,
/// but up to 24 bytes are kept inline, so the owned copies of a page's
/// records ([`RecordRef::to_record`](crate::RecordRef::to_record),
/// [`Store::query`](crate::Store::query)) allocate only for longer names,
/// where `String`s would allocate nine times per record. They deref to
/// `str`, compare with `&str` and convert from `&str` and `String` with
/// `.into()`.
///
/// The `*_name`, `measured_unit`, `component_type`, `date` and
/// `billing_period` fields are attributes of shared entities (SPEC §1.3):
/// writing a record makes them current for every record of the same entity.
///
/// # Examples
///
/// ```
/// use usage_store::{Record, Usage};
/// let mut r = Record::example();
/// assert_eq!(r.usage, "12.50".parse::<Usage>().unwrap());
/// r.username = "ann".into();
/// r.project_name = String::from("Climate modelling").into();
/// assert_eq!(r.username, "ann");
/// assert!(r.project_name.starts_with("Climate"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Identity of the record.
    pub uuid: Uuid,
    /// The offering user, or `None` when upstream has `null`.
    pub user: Option<Uuid>,
    /// The user's name, 1 to 100 characters.
    pub username: CompactString,
    /// The component usage this record belongs to.
    pub component_usage: Uuid,
    /// Exact decimal usage, two fraction digits.
    pub usage: Usage,
    /// Unit of the component (attribute of the component usage), ≤ 150 characters.
    pub measured_unit: CompactString,
    /// Free text, ≤ 2000 characters, may be empty.
    pub description: CompactString,
    /// Creation time (microsecond precision is kept; finer is truncated on write).
    pub created: DateTime<Utc>,
    /// Last modification time.
    pub modified: DateTime<Utc>,
    /// Backend identifier, ≤ 255 characters, may be empty.
    pub backend_id: CompactString,
    /// Name of the resource (attribute of the resource).
    pub resource_name: CompactString,
    /// The resource.
    pub resource_uuid: Uuid,
    /// Name of the offering (attribute of the offering).
    pub offering_name: CompactString,
    /// The offering of the resource.
    pub offering_uuid: Uuid,
    /// Name of the project (attribute of the project).
    pub project_name: CompactString,
    /// The project of the resource.
    pub project_uuid: Uuid,
    /// Name of the customer (attribute of the customer).
    pub customer_name: CompactString,
    /// The customer of the project.
    pub customer_uuid: Uuid,
    /// Component type, e.g. `cpu`, ≤ 50 characters (attribute of the component usage).
    pub component_type: CompactString,
    /// Date of the component usage report (attribute of the component usage).
    pub date: DateTime<Utc>,
    /// First day of the billed month, as reported (attribute of the component usage).
    pub billing_period: NaiveDate,
}

/// Maximum lengths, in Unicode scalar values, of the bounded string fields.
pub(crate) const MAX_USERNAME: usize = 100;
pub(crate) const MAX_MEASURED_UNIT: usize = 150;
pub(crate) const MAX_DESCRIPTION: usize = 2000;
pub(crate) const MAX_BACKEND_ID: usize = 255;
pub(crate) const MAX_COMPONENT_TYPE: usize = 50;

impl Record {
    /// A fixed, valid record, handy in examples and tests.
    ///
    /// # Examples
    ///
    /// ```
    /// let r = usage_store::Record::example();
    /// assert!(r.validate().is_ok());
    /// ```
    pub fn example() -> Record {
        let t = |s: &str| s.parse::<DateTime<Utc>>().expect("valid literal");
        Record {
            uuid: Uuid::from_u128(0x3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42),
            user: Some(Uuid::from_u128(0x11111111111141118111111111111111)),
            username: "alice".into(),
            component_usage: Uuid::from_u128(0x22222222222242228222222222222222),
            usage: Usage::from_cents(1250),
            measured_unit: "hours".into(),
            description: CompactString::default(),
            created: t("2025-03-15T10:00:00Z"),
            modified: t("2025-03-15T10:00:00.250Z"),
            backend_id: CompactString::default(),
            resource_name: "vm-1".into(),
            resource_uuid: Uuid::from_u128(0x33333333333343338333333333333333),
            offering_name: "HPC cluster".into(),
            offering_uuid: Uuid::from_u128(0x44444444444444448444444444444444),
            project_name: "Climate".into(),
            project_uuid: Uuid::from_u128(0x55555555555545558555555555555555),
            customer_name: "University".into(),
            customer_uuid: Uuid::from_u128(0x66666666666646668666666666666666),
            component_type: "cpu".into(),
            date: t("2025-03-31T23:00:00Z"),
            billing_period: NaiveDate::from_ymd_opt(2025, 3, 1).expect("valid literal"),
        }
    }

    /// Checks the length limits of SPEC §1 and names the first field that breaks one.
    ///
    /// Lengths count Unicode scalar values, as upstream (Python) does.
    /// Cost: O(total string length).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = usage_store::Record::example();
    /// r.username.clear();
    /// assert_eq!(r.validate().unwrap_err().field(), "username");
    /// ```
    pub fn validate(&self) -> Result<(), RecordError> {
        fn max(field: &'static str, s: &str, max: usize) -> Result<(), RecordError> {
            // Byte length bounds the char count from above: skip the count when it cannot exceed.
            if s.len() > max {
                let len = s.chars().count();
                if len > max {
                    return Err(RecordError::new(
                        field,
                        RecordErrorKind::TooLong { max, len },
                    ));
                }
            }
            Ok(())
        }
        if self.username.is_empty() {
            return Err(RecordError::new("username", RecordErrorKind::Empty));
        }
        max("username", &self.username, MAX_USERNAME)?;
        max("measured_unit", &self.measured_unit, MAX_MEASURED_UNIT)?;
        max("description", &self.description, MAX_DESCRIPTION)?;
        max("backend_id", &self.backend_id, MAX_BACKEND_ID)?;
        max("component_type", &self.component_type, MAX_COMPONENT_TYPE)?;
        Ok(())
    }
}

/// An exact usage amount: a fixed-point decimal with two fraction digits.
///
/// Held as a signed count of hundredths in an `i64`, so ordering and equality
/// are exact (never a float). The range is ±92 233 720 368 547 758.07
/// (deliberate difference: upstream's NUMERIC(20,2) reaches 10¹⁸; values
/// beyond the `i64` range are rejected as out of range).
///
/// Parsing (`FromStr`) accepts what upstream emits and what clients send:
/// an optional sign, digits, an optional fraction and an optional exponent
/// (`12`, `12.50`, `-0.25`, `1.5e2`). More than two *significant* fraction
/// digits (`0.125`) are rejected; trailing zeros are fine (`1.2500`).
/// Display writes whole values without a fraction (`12`) and others with
/// the digits needed (`12.5`, `0.25`).
///
/// # Examples
///
/// ```
/// use usage_store::Usage;
/// let u: Usage = "12.50".parse().unwrap();
/// assert_eq!(u.cents(), 1250);
/// assert_eq!(u.to_string(), "12.5");
/// assert!("0.125".parse::<Usage>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usage(i64);

/// Why a usage value was rejected; created by [`Usage`]'s `FromStr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// Not a decimal number.
    NotANumber,
    /// More than two significant fraction digits.
    TooPrecise,
    /// Outside the representable range.
    OutOfRange,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UsageError::NotANumber => "not a decimal number",
            UsageError::TooPrecise => "more than two fraction digits",
            UsageError::OutOfRange => "out of range",
        })
    }
}

impl std::error::Error for UsageError {}

impl Usage {
    /// Zero.
    pub const ZERO: Usage = Usage(0);

    /// The usage of `cents` hundredths. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(usage_store::Usage::from_cents(250).to_string(), "2.5");
    /// ```
    pub const fn from_cents(cents: i64) -> Usage {
        Usage(cents)
    }

    /// The value in hundredths. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!("3".parse::<usage_store::Usage>().unwrap().cents(), 300);
    /// ```
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Whether the value has no fraction. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(usage_store::Usage::from_cents(300).is_whole());
    /// ```
    pub const fn is_whole(self) -> bool {
        self.0 % 100 == 0
    }

    /// The usage of a whole number of units, if in range. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(usage_store::Usage::from_units(7).unwrap().cents(), 700);
    /// ```
    pub const fn from_units(units: i64) -> Option<Usage> {
        match units.checked_mul(100) {
            Some(c) => Some(Usage(c)),
            None => None,
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / 100, abs % 100);
        if neg {
            f.write_str("-")?;
        }
        if frac == 0 {
            write!(f, "{int}")
        } else if frac % 10 == 0 {
            write!(f, "{int}.{}", frac / 10)
        } else {
            write!(f, "{int}.{frac:02}")
        }
    }
}

impl FromStr for Usage {
    type Err = UsageError;

    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]`, exactly.
    fn from_str(s: &str) -> Result<Usage, UsageError> {
        let d = crate::wire::number::Decimal::parse(s).ok_or(UsageError::NotANumber)?;
        d.to_scaled(2)
            .map_err(|e| match e {
                crate::wire::number::ScaleError::Fraction => UsageError::TooPrecise,
                crate::wire::number::ScaleError::Range => UsageError::OutOfRange,
            })
            .map(Usage)
    }
}

/// One of the 21 record fields, in canonical order (SPEC §1); the unit of the
/// sparse-fields parameter `field` (SPEC §2.4).
///
/// # Examples
///
/// ```
/// use usage_store::Field;
/// assert_eq!(Field::from_name("billing_period"), Some(Field::BillingPeriod));
/// assert_eq!(Field::Uuid.name(), "uuid");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Field {
    Uuid = 0,
    User,
    Username,
    ComponentUsage,
    Usage,
    MeasuredUnit,
    Description,
    Created,
    Modified,
    BackendId,
    ResourceName,
    ResourceUuid,
    OfferingName,
    OfferingUuid,
    ProjectName,
    ProjectUuid,
    CustomerName,
    CustomerUuid,
    ComponentType,
    Date,
    BillingPeriod,
}

impl Field {
    /// All fields in canonical order.
    pub const ALL: [Field; 21] = [
        Field::Uuid,
        Field::User,
        Field::Username,
        Field::ComponentUsage,
        Field::Usage,
        Field::MeasuredUnit,
        Field::Description,
        Field::Created,
        Field::Modified,
        Field::BackendId,
        Field::ResourceName,
        Field::ResourceUuid,
        Field::OfferingName,
        Field::OfferingUuid,
        Field::ProjectName,
        Field::ProjectUuid,
        Field::CustomerName,
        Field::CustomerUuid,
        Field::ComponentType,
        Field::Date,
        Field::BillingPeriod,
    ];

    const NAMES: [&'static str; 21] = [
        "uuid",
        "user",
        "username",
        "component_usage",
        "usage",
        "measured_unit",
        "description",
        "created",
        "modified",
        "backend_id",
        "resource_name",
        "resource_uuid",
        "offering_name",
        "offering_uuid",
        "project_name",
        "project_uuid",
        "customer_name",
        "customer_uuid",
        "component_type",
        "date",
        "billing_period",
    ];

    /// The wire name of the field. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(usage_store::Field::ComponentType.name(), "component_type");
    /// ```
    pub const fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The field with this exact wire name. O(1) (21 comparisons at most).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(usage_store::Field::from_name("nope"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Field> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

/// A set of [`Field`]s; iterates in canonical order.
///
/// The empty set is never stored by the query parser: per SPEC §2.4, when no
/// valid name remains every field is returned.
///
/// # Examples
///
/// ```
/// use usage_store::{Field, FieldSet};
/// let s = FieldSet::from_fields([Field::Usage, Field::Uuid]);
/// assert_eq!(s.iter().collect::<Vec<_>>(), vec![Field::Uuid, Field::Usage]);
/// assert_eq!(FieldSet::all().len(), 21);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldSet(u32);

impl Default for FieldSet {
    fn default() -> Self {
        FieldSet::all()
    }
}

impl FieldSet {
    /// Every field. O(1).
    pub const fn all() -> FieldSet {
        FieldSet((1 << 21) - 1)
    }

    /// No field. O(1).
    pub const fn empty() -> FieldSet {
        FieldSet(0)
    }

    /// The set of the given fields. O(n).
    pub fn from_fields(fields: impl IntoIterator<Item = Field>) -> FieldSet {
        let mut s = FieldSet::empty();
        for f in fields {
            s.insert(f);
        }
        s
    }

    /// Adds a field. O(1).
    pub fn insert(&mut self, f: Field) {
        self.0 |= 1 << f as u32;
    }

    /// Whether the field is in the set. O(1).
    pub const fn contains(self, f: Field) -> bool {
        self.0 & (1 << f as u32) != 0
    }

    /// Number of fields. O(1).
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty. O(1).
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        Field::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}
