//! The Waldur JSON form of a record (SPEC §1, §1.1, §1.2), in both directions,
//! and the JSON error bodies (SPEC §2.1–§2.3, §3).
//!
//! - Reading: `impl Deserialize for Record`, [`Record::from_json`],
//!   [`read_records`] (a JSON array or JSON Lines), errors as [`JsonError`].
//! - Rendering: straight into a byte buffer, no intermediate values and no
//!   per-row allocation: [`Page::write_json`], [`RecordRef::write_json`],
//!   [`Record::write_json`], [`Record::to_json`]; and a serde view,
//!   [`Record::serialize_with`] / [`RecordJson`], byte-identical with
//!   `serde_json`'s compact output.
//! - Error bodies: [`ParamErrors::write_json`], [`QueryError::write_json`],
//!   [`INVALID_PAGE_BODY`], [`NOT_FOUND_BODY`].
//!
//! Output is compact (no spaces), as Django REST framework's `JSONRenderer`
//! writes it by default (`COMPACT_JSON = True`), with non-ASCII characters
//! passed through as UTF-8 (`UNICODE_JSON = True`).

use std::cell::{Cell, RefCell};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::{ParamErrors, QueryError};
use crate::record::{Field, FieldSet, Record, Usage};
use crate::store::{Page, RecordRef};
use crate::wire::time::{
    date_to_day, day_to_date, format_timestamp, parse_record_date, parse_timestamp,
};
use crate::wire::uuid::{parse_uuid, uuid_from_url};

/// The 404 body of a page that does not exist (SPEC §2.3), compact as upstream renders it.
///
/// # Examples
///
/// ```
/// assert_eq!(usage_store::INVALID_PAGE_BODY, r#"{"detail":"Invalid page."}"#);
/// ```
pub const INVALID_PAGE_BODY: &str = r#"{"detail":"Invalid page."}"#;

/// The 404 body of a retrieve whose uuid is unknown, malformed or invisible (SPEC §3, §4).
///
/// # Examples
///
/// ```
/// assert_eq!(usage_store::NOT_FOUND_BODY, r#"{"detail":"Not found."}"#);
/// ```
pub const NOT_FOUND_BODY: &str = r#"{"detail":"Not found."}"#;

/// URL path of the `user` field, between the base URL and the hex UUID.
const USERS_PATH: &str = "/api/marketplace-offering-users/";
/// URL path of the `component_usage` field, between the base URL and the hex UUID.
const COMPONENT_USAGES_PATH: &str = "/api/marketplace-component-usages/";

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Why a JSON document did not decode into records; created by
/// [`Record::from_json`] and [`read_records`].
///
/// Names, as far as known, the element (0-based index), the input line
/// (1-based), the field, and the reason. Displayed as
/// `record 3 (line 4): usage: more than two fraction digits`.
///
/// # Examples
///
/// ```
/// let e = usage_store::read_records("{}").unwrap_err();
/// assert_eq!((e.index(), e.line(), e.field()), (Some(0), Some(1), Some("uuid")));
/// assert_eq!(e.to_string(), "record 0 (line 1): uuid: required key is missing");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonError {
    index: Option<usize>,
    line: Option<usize>,
    field: Option<&'static str>,
    message: String,
}

impl JsonError {
    /// The 0-based position of the offending record in the input, when the
    /// input holds several ([`read_records`]) and the error is inside one.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// The wire name of the offending field, when the error is about one.
    pub fn field(&self) -> Option<&str> {
        self.field
    }

    /// The 1-based input line: for JSON Lines the line of the record; for a
    /// JSON array or a single object the line where decoding stopped.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The reason alone, without index, line and field.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Builds the error of a failed decode from serde_json's error and what
    /// the record visitor noted on the way.
    fn from_serde(
        e: &serde_json::Error,
        ctx: &Ctx,
        index: Option<usize>,
        line: Option<usize>,
    ) -> JsonError {
        let message = match ctx.reason.borrow_mut().take() {
            Some(m) => m,
            None => strip_position(&e.to_string()).to_owned(),
        };
        JsonError {
            index,
            line: line.or((e.line() != 0).then_some(e.line())),
            field: ctx.field.get(),
            message,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.line) {
            (Some(i), Some(l)) => write!(f, "record {i} (line {l}): ")?,
            (Some(i), None) => write!(f, "record {i}: ")?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        if let Some(field) = self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

/// Drops the ` at line L column C` that serde_json appends to its messages.
fn strip_position(msg: &str) -> &str {
    let Some(i) = msg.rfind(" at line ") else {
        return msg;
    };
    let rest = &msg[i + " at line ".len()..];
    let Some((line, col)) = rest.split_once(" column ") else {
        return msg;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(line) && digits(col) {
        &msg[..i]
    } else {
        msg
    }
}

/// What the record visitor notes for the error report: the field being read
/// and, for errors it raises itself, the bare reason.
#[derive(Default)]
struct Ctx {
    /// The field whose value is being read (or is at fault), if any.
    field: Cell<Option<&'static str>>,
    /// The reason of an error raised by the visitor (not by the parser).
    reason: RefCell<Option<String>>,
    /// Whether decoding is inside a record (vs. between array elements).
    in_record: Cell<bool>,
    /// Plain serde use (no [`JsonError`] built afterwards): prefix the
    /// parser's own errors inside a value with the field name.
    plain: bool,
}

impl Ctx {
    /// Notes and returns an error about `field`.
    fn fail<E: de::Error>(&self, field: &'static str, reason: impl fmt::Display) -> E {
        let reason = reason.to_string();
        let e = E::custom(format_args!("{field}: {reason}"));
        self.field.set(Some(field));
        *self.reason.borrow_mut() = Some(reason);
        e
    }

    /// Reads the value of `field` with `seed`; in plain mode the parser's
    /// errors get the field name in front.
    fn value<'de, A: MapAccess<'de>, S: DeserializeSeed<'de>>(
        &self,
        map: &mut A,
        field: Field,
        seed: S,
    ) -> Result<S::Value, A::Error> {
        self.field.set(Some(field.name()));
        match map.next_value_seed(seed) {
            Ok(v) => Ok(v),
            Err(e) if self.plain => {
                let msg = e.to_string();
                Err(de::Error::custom(format_args!(
                    "{}: {}",
                    field.name(),
                    strip_position(&msg)
                )))
            }
            Err(e) => Err(e),
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    /// Reads one record in the Waldur JSON form (SPEC §1, §1.1, §1.2).
    ///
    /// - All 21 keys, in any order; unknown keys are ignored; a repeated key
    ///   is an error.
    /// - Required: every key except `user` (absent or `null`: no offering
    ///   user), `description` and `backend_id` (absent or `null`: empty).
    ///   `measured_unit` is required (may be `""`): it is an attribute shared
    ///   by every record of the component usage (SPEC §1.3), so defaulting
    ///   it would silently blank the unit of all of them.
    /// - `user`, `component_usage`: a URL whose last UUID path segment is the
    ///   value, or a bare UUID; UUID fields in any form Python's
    ///   `uuid.UUID` accepts.
    /// - `created`, `modified`, `date`: RFC 3339 with any offset, converted
    ///   to UTC and truncated to microseconds. `billing_period`: `YYYY-MM-DD`.
    /// - `usage`: a JSON number or a decimal string, read from its exact
    ///   text (never through a float): at most two significant fraction digits.
    /// - The decoded record must pass [`Record::validate`].
    ///
    /// Errors name the field and the reason (`usage: more than two fraction digits`).
    ///
    /// The exact reading of `usage` needs serde_json's raw values, so this
    /// impl is meant for serde_json's deserializers (`from_str`, `from_slice`,
    /// `from_reader`, `from_value`); other formats fail on `usage`. A
    /// `serde_json::Value` already holds fractional numbers as `f64`, so
    /// `from_value` is exact only up to 15 significant digits.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        let ctx = Ctx {
            plain: true,
            ..Ctx::default()
        };
        RecordSeed { ctx: &ctx }.deserialize(d)
    }
}

/// Deserializes one record, noting error details in a [`Ctx`].
struct RecordSeed<'c> {
    ctx: &'c Ctx,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Record, D::Error> {
        self.ctx.in_record.set(true);
        self.ctx.field.set(None);
        let r = d.deserialize_map(RecordVisitor { ctx: self.ctx })?;
        self.ctx.in_record.set(false);
        Ok(r)
    }
}

struct RecordVisitor<'c> {
    ctx: &'c Ctx,
}

/// A key of the record object: one of the 21 fields, or ignored.
enum Key {
    Known(Field),
    Unknown,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(Field::from_name(s).map_or(Key::Unknown, Key::Known))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Reads a string and parses it with `F` without allocating; `None` when
/// the text does not parse (the caller names the reason).
struct Parsed<F> {
    parse: F,
    expecting: &'static str,
}

impl<'de, T, F: FnOnce(&str) -> Option<T>> Visitor<'de> for Parsed<F> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<T>, E> {
        Ok((self.parse)(s))
    }
}

impl<'de, T, F: FnOnce(&str) -> Option<T>> DeserializeSeed<'de> for Parsed<F> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_str(self)
    }
}

/// `null` or a string parsed with `F`: `Ok(None)` for null, `Err(())` for
/// text that does not parse.
struct Nullable<F>(Parsed<F>);

impl<'de, T, F: FnOnce(&str) -> Option<T>> Visitor<'de> for Nullable<F> {
    type Value = Result<Option<T>, ()>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "null or {}", self.0.expecting)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Ok(self.0.deserialize(d)?.map(Some).ok_or(()))
    }
}

impl<'de, T, F: FnOnce(&str) -> Option<T>> DeserializeSeed<'de> for Nullable<F> {
    type Value = Result<Option<T>, ()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

/// The `usage` value from the exact text of a JSON number or string.
fn parse_usage_raw(raw: &str) -> Result<Usage, crate::UsageError> {
    let raw = raw.trim();
    if raw.starts_with('"') {
        // A JSON string: usually no escapes, so the quotes can simply go.
        let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
        if inner.contains('\\') {
            let s: String = serde_json::from_str(raw).map_err(|_| crate::UsageError::NotANumber)?;
            s.parse()
        } else {
            inner.parse()
        }
    } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        // A JSON number: its grammar is a subset of what Usage parses.
        raw.parse()
    } else {
        Err(crate::UsageError::NotANumber)
    }
}

const UUID_EXPECTED: &str = "a UUID string";
const URL_EXPECTED: &str = "a URL string";
const TS_EXPECTED: &str = "an RFC 3339 timestamp string";
const DATE_EXPECTED: &str = "a YYYY-MM-DD date string";

const NOT_A_UUID: &str = "not a valid UUID";
const NOT_A_URL: &str = "not a URL ending in a UUID";
const NOT_A_TIMESTAMP: &str = "not an RFC 3339 timestamp";
const NOT_A_DATE: &str = "not a YYYY-MM-DD date";

impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with the fields of a component user usage record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let ctx = self.ctx;
        let uuid_seed = || Parsed {
            parse: parse_uuid,
            expecting: UUID_EXPECTED,
        };
        let ts_seed = || Parsed {
            parse: parse_timestamp,
            expecting: TS_EXPECTED,
        };
        let mut seen = FieldSet::empty();
        let mut uuid = None;
        let mut user = None;
        let mut username = None;
        let mut component_usage = None;
        let mut usage = None;
        let mut measured_unit = None;
        let mut description = None;
        let mut created = None;
        let mut modified = None;
        let mut backend_id = None;
        let mut resource_name = None;
        let mut resource_uuid = None;
        let mut offering_name = None;
        let mut offering_uuid = None;
        let mut project_name = None;
        let mut project_uuid = None;
        let mut customer_name = None;
        let mut customer_uuid = None;
        let mut component_type = None;
        let mut date = None;
        let mut billing_period = None;

        while let Some(key) = map.next_key::<Key>()? {
            let Key::Known(f) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let name = f.name();
            if seen.contains(f) {
                return Err(ctx.fail(name, "duplicate key"));
            }
            seen.insert(f);
            let string = |map: &mut A| ctx.value(map, f, std::marker::PhantomData::<CompactString>);
            let uuid_value = |map: &mut A| -> Result<Uuid, A::Error> {
                ctx.value(map, f, uuid_seed())?
                    .ok_or_else(|| ctx.fail(name, NOT_A_UUID))
            };
            let ts_value = |map: &mut A| -> Result<DateTime<Utc>, A::Error> {
                ctx.value(map, f, ts_seed())?
                    .ok_or_else(|| ctx.fail(name, NOT_A_TIMESTAMP))
            };
            match f {
                Field::Uuid => uuid = Some(uuid_value(&mut map)?),
                Field::User => {
                    let seed = Nullable(Parsed {
                        parse: uuid_from_url,
                        expecting: URL_EXPECTED,
                    });
                    user = Some(
                        ctx.value(&mut map, f, seed)?
                            .map_err(|()| ctx.fail(name, NOT_A_URL))?,
                    );
                }
                Field::Username => username = Some(string(&mut map)?),
                Field::ComponentUsage => {
                    let seed = Parsed {
                        parse: uuid_from_url,
                        expecting: URL_EXPECTED,
                    };
                    component_usage = Some(
                        ctx.value(&mut map, f, seed)?
                            .ok_or_else(|| ctx.fail(name, NOT_A_URL))?,
                    );
                }
                Field::Usage => {
                    let raw = ctx.value(&mut map, f, std::marker::PhantomData::<Box<RawValue>>)?;
                    usage = Some(parse_usage_raw(raw.get()).map_err(|e| ctx.fail(name, e))?);
                }
                Field::MeasuredUnit => measured_unit = Some(string(&mut map)?),
                Field::Description => {
                    description = Some(ctx.value(
                        &mut map,
                        f,
                        std::marker::PhantomData::<Option<CompactString>>,
                    )?);
                }
                Field::Created => created = Some(ts_value(&mut map)?),
                Field::Modified => modified = Some(ts_value(&mut map)?),
                Field::BackendId => {
                    backend_id = Some(ctx.value(
                        &mut map,
                        f,
                        std::marker::PhantomData::<Option<CompactString>>,
                    )?);
                }
                Field::ResourceName => resource_name = Some(string(&mut map)?),
                Field::ResourceUuid => resource_uuid = Some(uuid_value(&mut map)?),
                Field::OfferingName => offering_name = Some(string(&mut map)?),
                Field::OfferingUuid => offering_uuid = Some(uuid_value(&mut map)?),
                Field::ProjectName => project_name = Some(string(&mut map)?),
                Field::ProjectUuid => project_uuid = Some(uuid_value(&mut map)?),
                Field::CustomerName => customer_name = Some(string(&mut map)?),
                Field::CustomerUuid => customer_uuid = Some(uuid_value(&mut map)?),
                Field::ComponentType => component_type = Some(string(&mut map)?),
                Field::Date => date = Some(ts_value(&mut map)?),
                Field::BillingPeriod => {
                    let seed = Parsed {
                        parse: parse_record_date,
                        expecting: DATE_EXPECTED,
                    };
                    billing_period = Some(
                        ctx.value(&mut map, f, seed)?
                            .ok_or_else(|| ctx.fail(name, NOT_A_DATE))?,
                    );
                }
            }
            ctx.field.set(None);
        }

        fn req<T, E: de::Error>(ctx: &Ctx, v: Option<T>, f: Field) -> Result<T, E> {
            v.ok_or_else(|| ctx.fail(f.name(), "required key is missing"))
        }
        let r = Record {
            uuid: req(ctx, uuid, Field::Uuid)?,
            user: user.unwrap_or(None),
            username: req(ctx, username, Field::Username)?,
            component_usage: req(ctx, component_usage, Field::ComponentUsage)?,
            usage: req(ctx, usage, Field::Usage)?,
            measured_unit: req(ctx, measured_unit, Field::MeasuredUnit)?,
            description: description.flatten().unwrap_or_default(),
            created: req(ctx, created, Field::Created)?,
            modified: req(ctx, modified, Field::Modified)?,
            backend_id: backend_id.flatten().unwrap_or_default(),
            resource_name: req(ctx, resource_name, Field::ResourceName)?,
            resource_uuid: req(ctx, resource_uuid, Field::ResourceUuid)?,
            offering_name: req(ctx, offering_name, Field::OfferingName)?,
            offering_uuid: req(ctx, offering_uuid, Field::OfferingUuid)?,
            project_name: req(ctx, project_name, Field::ProjectName)?,
            project_uuid: req(ctx, project_uuid, Field::ProjectUuid)?,
            customer_name: req(ctx, customer_name, Field::CustomerName)?,
            customer_uuid: req(ctx, customer_uuid, Field::CustomerUuid)?,
            component_type: req(ctx, component_type, Field::ComponentType)?,
            date: req(ctx, date, Field::Date)?,
            billing_period: req(ctx, billing_period, Field::BillingPeriod)?,
        };
        if let Err(e) = r.validate() {
            let field = e.field();
            let msg = e.to_string();
            let reason = msg
                .strip_prefix(field)
                .and_then(|m| m.strip_prefix(": "))
                .unwrap_or(&msg);
            return Err(ctx.fail(field, reason));
        }
        Ok(r)
    }
}

/// Decodes one record from a complete JSON text (one object, surrounding
/// whitespace allowed), noting details in `ctx`.
fn decode_one(s: &str, ctx: &Ctx) -> Result<Record, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(s);
    let r = RecordSeed { ctx }.deserialize(&mut de)?;
    de.end()?;
    Ok(r)
}

impl Record {
    /// Reads one record from its Waldur JSON form (one object).
    ///
    /// The rules are those of the `Deserialize` impl: every key required
    /// except `user`, `description` and `backend_id`; URLs or bare UUIDs for
    /// `user` and `component_usage`; exact `usage`; the result passes
    /// [`Record::validate`]. Cost: O(length of `s`).
    ///
    /// # Errors
    ///
    /// A [`JsonError`] naming the field (when known), the line and the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::Record;
    /// let r = Record::example();
    /// assert_eq!(Record::from_json(&r.to_json("https://waldur.example.com")).unwrap(), r);
    ///
    /// let bad = r.to_json("").replace(r#""usage":12.5"#, r#""usage":0.125"#);
    /// let e = Record::from_json(&bad).unwrap_err();
    /// assert_eq!(e.field(), Some("usage"));
    /// assert_eq!(e.message(), "more than two fraction digits");
    /// ```
    pub fn from_json(s: &str) -> Result<Record, JsonError> {
        let ctx = Ctx::default();
        decode_one(s, &ctx).map_err(|e| JsonError::from_serde(&e, &ctx, None, None))
    }
}

/// Reads records from a JSON array of objects or from JSON Lines (one
/// object per non-empty line).
///
/// The input is an array when its first non-whitespace character is `[`,
/// JSON Lines otherwise (empty input: no record). A leading byte order mark
/// is skipped. Each record follows the
/// rules of [`Record::from_json`]. Cost: O(input length).
///
/// # Errors
///
/// The first bad record, as a [`JsonError`] with its 0-based index, its line
/// (for JSON Lines, the record's line) and the field when known.
///
/// # Examples
///
/// ```
/// use usage_store::{read_records, Record};
/// let r = Record::example();
/// let line = r.to_json("https://waldur.example.com");
/// assert_eq!(read_records(&format!("[{line}, {line}]")).unwrap(), [r.clone(), r.clone()]);
///
/// let bad = line.replace("alice", "");
/// let e = read_records(&format!("{line}\n\n{bad}\n")).unwrap_err();
/// assert_eq!(e.to_string(), "record 1 (line 3): username: must not be empty");
/// ```
pub fn read_records(input: &str) -> Result<Vec<Record>, JsonError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    if input.trim_start().starts_with('[') {
        read_array(input)
    } else {
        read_lines(input)
    }
}

fn read_array(input: &str) -> Result<Vec<Record>, JsonError> {
    struct Elements<'c> {
        ctx: &'c Ctx,
        index: &'c Cell<usize>,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = Vec<Record>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Record>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            loop {
                self.index.set(out.len());
                match seq.next_element_seed(RecordSeed { ctx: self.ctx })? {
                    Some(r) => out.push(r),
                    None => return Ok(out),
                }
            }
        }
    }
    let ctx = Ctx::default();
    let index = Cell::new(0);
    let mut de = serde_json::Deserializer::from_str(input);
    let res = de
        .deserialize_seq(Elements {
            ctx: &ctx,
            index: &index,
        })
        .and_then(|v| de.end().map(|()| v));
    res.map_err(|e| {
        let index = ctx.in_record.get().then(|| index.get());
        JsonError::from_serde(&e, &ctx, index, None)
    })
}

fn read_lines(input: &str) -> Result<Vec<Record>, JsonError> {
    let mut out = Vec::new();
    for (n, line) in input.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ctx = Ctx::default();
        let index = out.len();
        match decode_one(line, &ctx) {
            Ok(r) => out.push(r),
            Err(e) => return Err(JsonError::from_serde(&e, &ctx, Some(index), Some(n + 1))),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// The 21 field values of a record, owned ([`Record`]) or borrowed from the
/// store ([`RecordRef`]): what the JSON writer renders.
pub(crate) trait RecordFields {
    fn uuid(&self) -> Uuid;
    fn user(&self) -> Option<Uuid>;
    fn username(&self) -> &str;
    fn component_usage(&self) -> Uuid;
    fn usage(&self) -> Usage;
    fn measured_unit(&self) -> &str;
    fn description(&self) -> &str;
    fn created(&self) -> DateTime<Utc>;
    fn modified(&self) -> DateTime<Utc>;
    fn backend_id(&self) -> &str;
    fn resource_name(&self) -> &str;
    fn resource_uuid(&self) -> Uuid;
    fn offering_name(&self) -> &str;
    fn offering_uuid(&self) -> Uuid;
    fn project_name(&self) -> &str;
    fn project_uuid(&self) -> Uuid;
    fn customer_name(&self) -> &str;
    fn customer_uuid(&self) -> Uuid;
    fn component_type(&self) -> &str;
    fn date(&self) -> DateTime<Utc>;
    fn billing_period(&self) -> NaiveDate;

    /// `created` in microseconds since the epoch.
    fn created_micros(&self) -> i64 {
        self.created().timestamp_micros()
    }
    /// `modified` in microseconds since the epoch.
    fn modified_micros(&self) -> i64 {
        self.modified().timestamp_micros()
    }
    /// `date` in microseconds since the epoch.
    fn date_micros(&self) -> i64 {
        self.date().timestamp_micros()
    }
    /// `billing_period` in days since 1970-01-01.
    fn billing_period_days(&self) -> i64 {
        i64::from(date_to_day(self.billing_period()))
    }
}

impl RecordFields for Record {
    fn uuid(&self) -> Uuid {
        self.uuid
    }
    fn user(&self) -> Option<Uuid> {
        self.user
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn component_usage(&self) -> Uuid {
        self.component_usage
    }
    fn usage(&self) -> Usage {
        self.usage
    }
    fn measured_unit(&self) -> &str {
        &self.measured_unit
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn created(&self) -> DateTime<Utc> {
        self.created
    }
    fn modified(&self) -> DateTime<Utc> {
        self.modified
    }
    fn backend_id(&self) -> &str {
        &self.backend_id
    }
    fn resource_name(&self) -> &str {
        &self.resource_name
    }
    fn resource_uuid(&self) -> Uuid {
        self.resource_uuid
    }
    fn offering_name(&self) -> &str {
        &self.offering_name
    }
    fn offering_uuid(&self) -> Uuid {
        self.offering_uuid
    }
    fn project_name(&self) -> &str {
        &self.project_name
    }
    fn project_uuid(&self) -> Uuid {
        self.project_uuid
    }
    fn customer_name(&self) -> &str {
        &self.customer_name
    }
    fn customer_uuid(&self) -> Uuid {
        self.customer_uuid
    }
    fn component_type(&self) -> &str {
        &self.component_type
    }
    fn date(&self) -> DateTime<Utc> {
        self.date
    }
    fn billing_period(&self) -> NaiveDate {
        self.billing_period
    }
}

impl RecordFields for RecordRef<'_> {
    fn uuid(&self) -> Uuid {
        RecordRef::uuid(self)
    }
    fn user(&self) -> Option<Uuid> {
        RecordRef::user(self)
    }
    fn username(&self) -> &str {
        RecordRef::username(self)
    }
    fn component_usage(&self) -> Uuid {
        RecordRef::component_usage(self)
    }
    fn usage(&self) -> Usage {
        RecordRef::usage(self)
    }
    fn measured_unit(&self) -> &str {
        RecordRef::measured_unit(self)
    }
    fn description(&self) -> &str {
        RecordRef::description(self)
    }
    fn created(&self) -> DateTime<Utc> {
        RecordRef::created(self)
    }
    fn modified(&self) -> DateTime<Utc> {
        RecordRef::modified(self)
    }
    fn backend_id(&self) -> &str {
        RecordRef::backend_id(self)
    }
    fn resource_name(&self) -> &str {
        RecordRef::resource_name(self)
    }
    fn resource_uuid(&self) -> Uuid {
        RecordRef::resource_uuid(self)
    }
    fn offering_name(&self) -> &str {
        RecordRef::offering_name(self)
    }
    fn offering_uuid(&self) -> Uuid {
        RecordRef::offering_uuid(self)
    }
    fn project_name(&self) -> &str {
        RecordRef::project_name(self)
    }
    fn project_uuid(&self) -> Uuid {
        RecordRef::project_uuid(self)
    }
    fn customer_name(&self) -> &str {
        RecordRef::customer_name(self)
    }
    fn customer_uuid(&self) -> Uuid {
        RecordRef::customer_uuid(self)
    }
    fn component_type(&self) -> &str {
        RecordRef::component_type(self)
    }
    fn date(&self) -> DateTime<Utc> {
        RecordRef::date(self)
    }
    fn billing_period(&self) -> NaiveDate {
        RecordRef::billing_period(self)
    }
    // The store keeps these as integers: skip the round trip through chrono.
    fn created_micros(&self) -> i64 {
        self.row.created()
    }
    fn modified_micros(&self) -> i64 {
        self.row.modified()
    }
    fn date_micros(&self) -> i64 {
        self.cu.date()
    }
    fn billing_period_days(&self) -> i64 {
        i64::from(self.kind.period)
    }
}

/// Escape table: 0 = copy as is; otherwise the letter after the backslash
/// (`u` for `\u00XX`). Only control characters, `"` and `\` are escaped, as
/// serde_json and Python's `json.dumps(ensure_ascii=False)` do.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Two ASCII digits of every number below 100.
static DIGITS2: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Whether any byte of `s` needs escaping. Eight bytes at a time: a byte
/// below 0x20, a `"` or a `\`.
#[inline]
fn needs_escape(s: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Bytes ≥ 0x80 have their high bit set in `x` itself; mask those out so
    // that UTF-8 continuation bytes never look like matches.
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let below_space = x.wrapping_sub(LO * 0x20) & !x & HI;
        if below_space | has_zero(x ^ (LO * b'"' as u64)) | has_zero(x ^ (LO * b'\\' as u64)) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| ESCAPE[b as usize] != 0)
}

/// Writes the contents of a JSON string (no quotes).
#[inline]
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if !needs_escape(b) {
        out.extend_from_slice(b);
        return;
    }
    push_escaped_slow(out, b);
}

#[cold]
fn push_escaped_slow(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let e = ESCAPE[c as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        if e == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// Writes a JSON string.
#[inline]
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

/// The 16 lowercase hex digits of `x`, most significant first, without
/// branches or tables: one nibble per byte, then `0`–`9` / `a`–`f` per byte.
#[inline]
fn hex16(x: u64) -> [u8; 16] {
    const fn rep(b: u8) -> u128 {
        u128::from_ne_bytes([b; 16])
    }
    // Spread: byte i of `v` (counting from the least significant) = nibble i of `x`.
    let mut v = u128::from(x);
    v = (v | (v << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & rep(0x0f);
    // 0x01 in every byte whose nibble is ≥ 10.
    let letters = ((v + rep(0x06)) >> 4) & rep(0x01);
    (v + rep(b'0') + letters * u128::from(b'a' - b'0' - 10)).to_be_bytes()
}

/// The 32 lowercase hex digits of a UUID (its simple form).
#[inline]
fn hex32(u: Uuid) -> [u8; 32] {
    let (hi, lo) = u.as_u64_pair();
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&hex16(hi));
    out[16..].copy_from_slice(&hex16(lo));
    out
}

/// Writes a UUID as a JSON string of 32 lowercase hex digits.
#[inline]
fn push_uuid(out: &mut Vec<u8>, u: Uuid) {
    let mut buf = [0u8; 34];
    buf[0] = b'"';
    buf[1..33].copy_from_slice(&hex32(u));
    buf[33] = b'"';
    out.extend_from_slice(&buf);
}

/// Writes `"{base}{path}{hex}/"`; `base` is already escaped.
#[inline]
fn push_url(out: &mut Vec<u8>, base: &[u8], path: &str, u: Uuid) {
    out.push(b'"');
    out.extend_from_slice(base);
    out.extend_from_slice(path.as_bytes());
    let mut buf = [0u8; 34];
    buf[..32].copy_from_slice(&hex32(u));
    buf[32] = b'/';
    buf[33] = b'"';
    out.extend_from_slice(&buf);
}

/// The (year, month, day) of a day count since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
#[inline]
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Writes `YYYY-MM-DD` into `buf[..10]`; `year` must be in 0..=9999.
#[inline]
fn ymd_into(buf: &mut [u8], year: u32, month: u32, day: u32) {
    let (hi, lo) = ((year / 100) as usize, (year % 100) as usize);
    buf[0..2].copy_from_slice(&DIGITS2[2 * hi..2 * hi + 2]);
    buf[2..4].copy_from_slice(&DIGITS2[2 * lo..2 * lo + 2]);
    buf[4] = b'-';
    buf[5..7].copy_from_slice(&DIGITS2[2 * month as usize..2 * month as usize + 2]);
    buf[7] = b'-';
    buf[8..10].copy_from_slice(&DIGITS2[2 * day as usize..2 * day as usize + 2]);
}

/// Formats a timestamp as SPEC §1.1 says (`2025-03-15T10:00:00Z`, or with
/// `.ffffff` when the microseconds are non-zero) into `buf`, returning the
/// length; `None` for years outside 0..=9999 (left to chrono).
#[inline]
fn timestamp_into(buf: &mut [u8; 27], micros: i64) -> Option<usize> {
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000) as u64;
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    ymd_into(&mut buf[..10], y as u32, m, d);
    let secs = (in_day / 1_000_000) as usize;
    let frac = (in_day % 1_000_000) as usize;
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    buf[10] = b'T';
    buf[11..13].copy_from_slice(&DIGITS2[2 * h..2 * h + 2]);
    buf[13] = b':';
    buf[14..16].copy_from_slice(&DIGITS2[2 * mi..2 * mi + 2]);
    buf[16] = b':';
    buf[17..19].copy_from_slice(&DIGITS2[2 * s..2 * s + 2]);
    if frac == 0 {
        buf[19] = b'Z';
        return Some(20);
    }
    let (a, b, c) = (frac / 10_000, frac / 100 % 100, frac % 100);
    buf[19] = b'.';
    buf[20..22].copy_from_slice(&DIGITS2[2 * a..2 * a + 2]);
    buf[22..24].copy_from_slice(&DIGITS2[2 * b..2 * b + 2]);
    buf[24..26].copy_from_slice(&DIGITS2[2 * c..2 * c + 2]);
    buf[26] = b'Z';
    Some(27)
}

/// The text of a timestamp outside the years 0..=9999, as chrono writes it.
#[cold]
fn timestamp_fallback(micros: i64) -> String {
    let mut s = String::new();
    if let Some(t) = DateTime::from_timestamp_micros(micros) {
        format_timestamp(t, &mut s);
    }
    s
}

/// Writes a timestamp (microseconds since the epoch) as a JSON string.
#[inline]
fn push_timestamp(out: &mut Vec<u8>, micros: i64) {
    let mut buf = [0u8; 29];
    buf[0] = b'"';
    let inner: &mut [u8; 27] = (&mut buf[1..28]).try_into().expect("27 bytes");
    match timestamp_into(inner, micros) {
        Some(n) => {
            buf[n + 1] = b'"';
            out.extend_from_slice(&buf[..n + 2]);
        }
        None => {
            out.push(b'"');
            out.extend_from_slice(timestamp_fallback(micros).as_bytes());
            out.push(b'"');
        }
    }
}

/// Formats the date `days` after 1970-01-01 as `YYYY-MM-DD` into `buf`;
/// `false` for years outside 0..=9999.
#[inline]
fn date_into(buf: &mut [u8; 10], days: i64) -> bool {
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return false;
    }
    ymd_into(buf, y as u32, m, d);
    true
}

/// Writes a date as a JSON string.
#[inline]
fn push_date(out: &mut Vec<u8>, days: i64) {
    let mut buf = [0u8; 12];
    buf[0] = b'"';
    buf[11] = b'"';
    if date_into((&mut buf[1..11]).try_into().expect("10 bytes"), days) {
        out.extend_from_slice(&buf);
    } else {
        out.push(b'"');
        out.extend_from_slice(day_to_date(days as i32).to_string().as_bytes());
        out.push(b'"');
    }
}

/// Writes a usage as a JSON number: `12`, `12.5`, `0.25`, `-0.05`.
#[inline]
fn push_usage(out: &mut Vec<u8>, u: Usage) {
    let cents = u.cents();
    let abs = cents.unsigned_abs();
    if cents < 0 {
        out.push(b'-');
    }
    let mut ibuf = itoa::Buffer::new();
    out.extend_from_slice(ibuf.format(abs / 100).as_bytes());
    let frac = (abs % 100) as usize;
    if frac != 0 {
        if frac.is_multiple_of(10) {
            out.extend_from_slice(&[b'.', b'0' + (frac / 10) as u8]);
        } else {
            out.extend_from_slice(&[b'.', DIGITS2[2 * frac], DIGITS2[2 * frac + 1]]);
        }
    }
}

/// `,"key":` for every field, in canonical order.
const KEYS: [&str; 21] = [
    ",\"uuid\":",
    ",\"user\":",
    ",\"username\":",
    ",\"component_usage\":",
    ",\"usage\":",
    ",\"measured_unit\":",
    ",\"description\":",
    ",\"created\":",
    ",\"modified\":",
    ",\"backend_id\":",
    ",\"resource_name\":",
    ",\"resource_uuid\":",
    ",\"offering_name\":",
    ",\"offering_uuid\":",
    ",\"project_name\":",
    ",\"project_uuid\":",
    ",\"customer_name\":",
    ",\"customer_uuid\":",
    ",\"component_type\":",
    ",\"date\":",
    ",\"billing_period\":",
];

/// A base URL ready to be written inside JSON strings: one trailing slash
/// dropped, escaped once (base URLs normally need no escaping: borrowed).
pub(crate) struct Base<'a>(std::borrow::Cow<'a, [u8]>);

impl<'a> Base<'a> {
    pub(crate) fn new(base_url: &'a str) -> Base<'a> {
        let b = base_url.strip_suffix('/').unwrap_or(base_url);
        if needs_escape(b.as_bytes()) {
            let mut v = Vec::with_capacity(b.len() + 8);
            push_escaped(&mut v, b);
            Base(std::borrow::Cow::Owned(v))
        } else {
            Base(std::borrow::Cow::Borrowed(b.as_bytes()))
        }
    }
}

/// Writes one record as a JSON object: the keys of `fields` in canonical
/// order (SPEC §1, §1.1, §2.4), URLs built on `base_url`.
pub(crate) fn write_record(
    out: &mut Vec<u8>,
    base_url: &str,
    fields: FieldSet,
    r: &impl RecordFields,
) {
    write_row(out, &Base::new(base_url), fields, r);
}

/// [`write_record`] with the base URL prepared once (per page, not per row).
pub(crate) fn write_row(
    out: &mut Vec<u8>,
    base: &Base<'_>,
    fields: FieldSet,
    r: &impl RecordFields,
) {
    let base: &[u8] = &base.0;
    // Every member is written as `,"key":value`; the first comma becomes the `{`.
    let start = out.len();
    macro_rules! member {
        ($f:expr, $write:expr) => {
            if fields.contains($f) {
                out.extend_from_slice(KEYS[$f as usize].as_bytes());
                $write;
            }
        };
    }
    member!(Field::Uuid, push_uuid(out, r.uuid()));
    member!(
        Field::User,
        match r.user() {
            Some(u) => push_url(out, base, USERS_PATH, u),
            None => out.extend_from_slice(b"null"),
        }
    );
    member!(Field::Username, push_str(out, r.username()));
    member!(
        Field::ComponentUsage,
        push_url(out, base, COMPONENT_USAGES_PATH, r.component_usage())
    );
    member!(Field::Usage, push_usage(out, r.usage()));
    member!(Field::MeasuredUnit, push_str(out, r.measured_unit()));
    member!(Field::Description, push_str(out, r.description()));
    member!(Field::Created, push_timestamp(out, r.created_micros()));
    member!(Field::Modified, push_timestamp(out, r.modified_micros()));
    member!(Field::BackendId, push_str(out, r.backend_id()));
    member!(Field::ResourceName, push_str(out, r.resource_name()));
    member!(Field::ResourceUuid, push_uuid(out, r.resource_uuid()));
    member!(Field::OfferingName, push_str(out, r.offering_name()));
    member!(Field::OfferingUuid, push_uuid(out, r.offering_uuid()));
    member!(Field::ProjectName, push_str(out, r.project_name()));
    member!(Field::ProjectUuid, push_uuid(out, r.project_uuid()));
    member!(Field::CustomerName, push_str(out, r.customer_name()));
    member!(Field::CustomerUuid, push_uuid(out, r.customer_uuid()));
    member!(Field::ComponentType, push_str(out, r.component_type()));
    member!(Field::Date, push_timestamp(out, r.date_micros()));
    member!(
        Field::BillingPeriod,
        push_date(out, r.billing_period_days())
    );
    if out.len() > start {
        out[start] = b'{';
    } else {
        out.push(b'{');
    }
    out.push(b'}');
}

/// Rough bytes of one full row, for reserving the output buffer.
const ROW_BYTES_HINT: usize = 900;

impl Page<'_> {
    /// Renders the page as upstream's list body: a JSON array of the
    /// records, with the query's sparse fields (SPEC §2.4), appended to `out`.
    ///
    /// `base_url` is the API root the URL fields are built on, e.g.
    /// `https://waldur.example.com` (a trailing slash is ignored).
    /// Cost: O(bytes written); no allocation besides growing `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Query, Record, Store};
    /// let s = Store::new();
    /// s.upsert(&Record::example()).unwrap();
    /// let txn = s.read();
    /// let page = txn.query(&Query::parse("field=username&field=usage").unwrap()).unwrap();
    /// let mut out = Vec::new();
    /// page.write_json(&mut out, "https://waldur.example.com");
    /// assert_eq!(out, br#"[{"username":"alice","usage":12.5}]"#);
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>, base_url: &str) {
        let base = Base::new(base_url);
        let fields = self.fields();
        out.reserve(2 + self.len() * ROW_BYTES_HINT * fields.len() / 21);
        out.push(b'[');
        let rows: Vec<RecordRef<'_>> = self.iter().collect();
        for (c, chunk) in rows.chunks(WARM_CHUNK).enumerate() {
            warm(chunk, fields);
            for (i, r) in chunk.iter().enumerate() {
                if c + i > 0 {
                    out.push(b',');
                }
                write_row(out, &base, fields, r);
            }
        }
        out.push(b']');
    }
}

/// Rows warmed up together before they are rendered.
const WARM_CHUNK: usize = 16;

/// Loads what `chunk`'s rows will render, one level of indirection at a
/// time across all rows: the loads of one level are independent of each
/// other, so their cache misses overlap instead of stalling row by row.
/// Cost: a few loads per row; rendering then finds the data in cache.
fn warm(chunk: &[RecordRef<'_>], fields: FieldSet) {
    let has = |fs: &[Field]| fs.iter().any(|&f| fields.contains(f));
    let username = fields.contains(Field::Username);
    let user = fields.contains(Field::User);
    let text = has(&[Field::Description, Field::BackendId]);
    let cu = has(&[
        Field::ComponentUsage,
        Field::MeasuredUnit,
        Field::ComponentType,
        Field::Date,
        Field::BillingPeriod,
    ]);
    let resource = has(&Field::ALL[Field::ResourceName as usize..=Field::CustomerUuid as usize]);
    let first = |s: &str| u64::from(s.as_bytes().first().copied().unwrap_or(0));
    let mut acc = 0u64;
    // Level 1: the rows.
    for r in chunk {
        acc ^= r.usage().cents() as u64;
    }
    // Level 2: what the rows point to.
    for r in chunk {
        if username {
            acc ^= r.username().len() as u64;
        }
        if user {
            acc ^= r.user().map_or(0, |u| u.as_u64_pair().0);
        }
        if text {
            acc ^= r.description().len() as u64;
        }
        if cu || resource {
            acc ^= r.date_micros() as u64;
        }
    }
    // Level 3: string bytes, and the entities further out.
    for r in chunk {
        if username {
            acc ^= first(r.username());
        }
        if text {
            acc ^= first(r.description()) ^ first(r.backend_id());
        }
        if cu {
            acc ^= first(r.measured_unit()) ^ first(r.component_type());
        }
        if resource {
            acc ^= first(r.resource_name()) ^ first(r.offering_name()) ^ first(r.project_name());
        }
    }
    if resource {
        for r in chunk {
            acc ^= first(r.customer_name());
        }
    }
    std::hint::black_box(acc);
}

impl RecordRef<'_> {
    /// Renders the record as upstream's retrieve body (SPEC §3): a JSON
    /// object with the keys of `fields` in canonical order, appended to `out`.
    ///
    /// URLs are built on `base_url` (a trailing slash is ignored).
    /// Cost: O(bytes written); no allocation besides growing `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Field, FieldSet, Record, Scope, Store};
    /// let s = Store::new();
    /// let r = Record::example();
    /// s.upsert(&r).unwrap();
    /// let txn = s.read();
    /// let mut out = Vec::new();
    /// let fields = FieldSet::from_fields([Field::User, Field::Created]);
    /// txn.get(r.uuid, &Scope::everything()).unwrap().write_json(&mut out, "https://w.example", fields);
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     r#"{"user":"https://w.example/api/marketplace-offering-users/11111111111141118111111111111111/","created":"2025-03-15T10:00:00Z"}"#
    /// );
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>, base_url: &str, fields: FieldSet) {
        write_record(out, base_url, fields, self);
    }
}

impl Record {
    /// Renders the record in the Waldur JSON form with the keys of `fields`
    /// in canonical order, appended to `out`.
    ///
    /// URLs are built on `base_url` (a trailing slash is ignored).
    /// Cost: O(bytes written); no allocation besides growing `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Field, FieldSet, Record};
    /// let mut out = Vec::new();
    /// Record::example().write_json(&mut out, "", FieldSet::from_fields([Field::Usage, Field::BillingPeriod]));
    /// assert_eq!(out, br#"{"usage":12.5,"billing_period":"2025-03-01"}"#);
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>, base_url: &str, fields: FieldSet) {
        write_record(out, base_url, fields, self);
    }

    /// The record in the Waldur JSON form, all fields, as a `String`.
    ///
    /// URLs are built on `base_url` (a trailing slash is ignored).
    /// Cost: O(bytes written), one allocation.
    ///
    /// # Examples
    ///
    /// ```
    /// let json = usage_store::Record::example().to_json("https://waldur.example.com");
    /// assert!(json.starts_with(r#"{"uuid":"3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42","user":"https://waldur.example.com/api/"#));
    /// assert!(json.ends_with(r#""date":"2025-03-31T23:00:00Z","billing_period":"2025-03-01"}"#));
    /// ```
    pub fn to_json(&self, base_url: &str) -> String {
        let mut out = Vec::with_capacity(ROW_BYTES_HINT);
        write_record(&mut out, base_url, FieldSet::all(), self);
        // The writer copies valid UTF-8 and adds ASCII only.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// A serde view of the record in the Waldur JSON form, with URLs built
    /// on `base_url`; with `serde_json` its output is byte-identical to
    /// [`Record::to_json`].
    ///
    /// Cost: O(1) to create; serializing is O(bytes written).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = usage_store::Record::example();
    /// let base = "https://waldur.example.com";
    /// assert_eq!(serde_json::to_string(&r.serialize_with(base)).unwrap(), r.to_json(base));
    /// ```
    pub fn serialize_with<'a>(&'a self, base_url: &'a str) -> RecordJson<'a> {
        RecordJson {
            record: self,
            base_url: base_url.strip_suffix('/').unwrap_or(base_url),
        }
    }
}

/// A [`Record`] with the base URL of its URL fields: serializes the Waldur
/// JSON form (all 21 keys in canonical order); created by [`Record::serialize_with`].
///
/// With `serde_json` the output is byte-identical to [`Record::to_json`]
/// (compact) — `usage` is written as a JSON number from its exact digits.
/// Other serde formats get strings for UUIDs, URLs, timestamps and dates, and
/// a number for `usage` (a float for fractional values; values of 10¹³ or
/// more with a fraction are exact only in JSON).
///
/// # Examples
///
/// ```
/// let r = usage_store::Record::example();
/// let v = serde_json::to_value(r.serialize_with("https://waldur.example.com")).unwrap();
/// assert_eq!(v["usage"], serde_json::json!(12.5));
/// assert_eq!(v["billing_period"], "2025-03-01");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RecordJson<'a> {
    record: &'a Record,
    base_url: &'a str,
}

/// Serializes a UUID as 32 lowercase hex digits.
struct HexUuid(Uuid);

impl Serialize for HexUuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex = hex32(self.0);
        s.serialize_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

/// Serializes `{base}{path}{hex}/`.
struct Url<'a>(&'a str, &'static str, Uuid);

impl Serialize for Url<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}{}{}/", self.0, self.1, self.2.simple()))
    }
}

/// Serializes a timestamp as SPEC §1.1 writes it.
struct Timestamp(DateTime<Utc>);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 27];
        match timestamp_into(&mut buf, self.0.timestamp_micros()) {
            Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
            None => {
                let mut t = String::new();
                format_timestamp(self.0, &mut t);
                s.serialize_str(&t)
            }
        }
    }
}

/// Serializes a date as `YYYY-MM-DD`.
struct Date(NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 10];
        if date_into(&mut buf, i64::from(date_to_day(self.0))) {
            s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
        } else {
            s.collect_str(&self.0)
        }
    }
}

/// Serializes a usage as a JSON number with the digits [`push_usage`] writes.
struct UsageNumber(Usage);

impl Serialize for UsageNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cents = self.0.cents();
        if cents % 100 == 0 {
            s.serialize_i64(cents / 100)
        } else if cents.unsigned_abs() < 1_000_000_000_000_000 {
            // At most 15 significant digits: the nearest double's shortest
            // round-trip form is exactly these digits.
            s.serialize_f64(cents as f64 / 100.0)
        } else {
            let mut v = Vec::with_capacity(24);
            push_usage(&mut v, self.0);
            let raw = RawValue::from_string(String::from_utf8(v).unwrap_or_default())
                .map_err(serde::ser::Error::custom)?;
            raw.serialize(s)
        }
    }
}

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut m = s.serialize_map(Some(21))?;
        m.serialize_entry("uuid", &HexUuid(r.uuid))?;
        m.serialize_entry("user", &r.user.map(|u| Url(self.base_url, USERS_PATH, u)))?;
        m.serialize_entry("username", &r.username)?;
        m.serialize_entry(
            "component_usage",
            &Url(self.base_url, COMPONENT_USAGES_PATH, r.component_usage),
        )?;
        m.serialize_entry("usage", &UsageNumber(r.usage))?;
        m.serialize_entry("measured_unit", &r.measured_unit)?;
        m.serialize_entry("description", &r.description)?;
        m.serialize_entry("created", &Timestamp(r.created))?;
        m.serialize_entry("modified", &Timestamp(r.modified))?;
        m.serialize_entry("backend_id", &r.backend_id)?;
        m.serialize_entry("resource_name", &r.resource_name)?;
        m.serialize_entry("resource_uuid", &HexUuid(r.resource_uuid))?;
        m.serialize_entry("offering_name", &r.offering_name)?;
        m.serialize_entry("offering_uuid", &HexUuid(r.offering_uuid))?;
        m.serialize_entry("project_name", &r.project_name)?;
        m.serialize_entry("project_uuid", &HexUuid(r.project_uuid))?;
        m.serialize_entry("customer_name", &r.customer_name)?;
        m.serialize_entry("customer_uuid", &HexUuid(r.customer_uuid))?;
        m.serialize_entry("component_type", &r.component_type)?;
        m.serialize_entry("date", &Timestamp(r.date))?;
        m.serialize_entry("billing_period", &Date(r.billing_period))?;
        m.end()
    }
}

// ---------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------

impl ParamErrors {
    /// Renders the 400 body (SPEC §2.1, §2.2), compact as upstream renders
    /// it: `{"customer_uuid":["Enter a valid UUID."]}`, appended to `out`.
    ///
    /// Cost: O(bytes written).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::{Query, QueryError};
    /// let Err(QueryError::Params(e)) = Query::parse("customer_uuid=x&o=-created") else { panic!() };
    /// let mut out = Vec::new();
    /// e.write_json(&mut out);
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     r#"{"customer_uuid":["Enter a valid UUID."],"o":["Select a valid choice. -created is not one of the available choices."]}"#
    /// );
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (param, messages)) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, param);
            out.extend_from_slice(b":[");
            for (j, m) in messages.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                push_str(out, m);
            }
            out.push(b']');
        }
        out.push(b'}');
    }
}

impl QueryError {
    /// Renders the error body upstream answers with (status
    /// [`QueryError::status`]): the parameter map for 400,
    /// [`INVALID_PAGE_BODY`] for 404; appended to `out`. Cost: O(bytes written).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = Vec::new();
    /// usage_store::QueryError::InvalidPage.write_json(&mut out);
    /// assert_eq!(out, usage_store::INVALID_PAGE_BODY.as_bytes());
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            QueryError::Params(e) => e.write_json(out),
            QueryError::InvalidPage => out.extend_from_slice(INVALID_PAGE_BODY.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://waldur.example.com";

    fn t(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    /// Varied records: null user, µs, negative and fractional usage,
    /// Unicode and control characters, extreme values.
    fn varied() -> Vec<Record> {
        let mut out = vec![Record::example()];
        let mut r = Record::example();
        r.uuid = Uuid::from_u128(1);
        r.user = None;
        r.usage = Usage::from_cents(-5);
        r.created = t("1999-12-31T23:59:59.000001Z");
        r.modified = t("2025-03-15T10:00:00.999999+02:00");
        r.description =
            "line1\nline2\t\"quoted\" \\ back\u{0}\u{1f}\u{7f} é 日本 🎉 \u{2028}".into();
        r.backend_id = "slurm/job-42".into();
        r.username = "Zoë \"z\" O'Brien".into();
        out.push(r);
        let mut r = Record::example();
        r.uuid = Uuid::from_u128(u128::MAX);
        r.usage = Usage::from_cents(i64::MIN);
        r.measured_unit = CompactString::default();
        r.resource_name = "\u{8}\u{c}\r".into();
        r.date = t("0001-01-01T00:00:00Z");
        r.billing_period = NaiveDate::from_ymd_opt(9999, 12, 1).unwrap();
        out.push(r);
        for (i, cents) in [
            0,
            1,
            10,
            99,
            100,
            101,
            1250,
            -1250,
            25,
            i64::MAX,
            123_456_789_012_345,
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = Record::example();
            r.uuid = Uuid::from_u128(1000 + i as u128);
            r.usage = Usage::from_cents(cents);
            r.created =
                DateTime::from_timestamp_micros(1_700_000_000_000_000 + 7_777 * i as i64).unwrap();
            out.push(r);
        }
        out
    }

    #[test]
    fn round_trip() {
        for r in varied() {
            let json = r.to_json(BASE);
            assert_eq!(Record::from_json(&json).unwrap(), r, "{json}");
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 21);
            let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
            let mut canon: Vec<_> = Field::ALL.iter().map(|f| f.name().to_owned()).collect();
            canon.sort();
            assert_eq!(keys, canon); // serde_json's map sorts; all present
            assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
            // A `Value` holds fractions as f64: exact for realistic magnitudes.
            if r.usage.cents().unsigned_abs() < 1_000_000_000_000_000 {
                assert_eq!(serde_json::from_value::<Record>(v).unwrap(), r);
            }
            assert_eq!(
                serde_json::from_reader::<_, Record>(json.as_bytes()).unwrap(),
                r
            );
        }
    }

    #[test]
    fn serialize_is_byte_identical() {
        for r in varied() {
            for base in [BASE, "", "https://x.org/\"q\"/"] {
                let a = serde_json::to_string(&r.serialize_with(base)).unwrap();
                assert_eq!(a, r.to_json(base));
            }
        }
        for cents in (-100_000..100_000).step_by(7).chain([
            999_999_999_999_999,
            -999_999_999_999_999,
            1_000_000_000_000_001,
        ]) {
            let mut r = Record::example();
            r.usage = Usage::from_cents(cents);
            assert_eq!(
                serde_json::to_string(&r.serialize_with(BASE)).unwrap(),
                r.to_json(BASE),
                "{cents}"
            );
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let cents = (x % 1_000_000_000_000_000) as i64 * if x & 1 == 0 { 1 } else { -1 };
            let mut out = Vec::new();
            push_usage(&mut out, Usage::from_cents(cents));
            let via_serde = serde_json::to_string(&UsageNumber(Usage::from_cents(cents))).unwrap();
            assert_eq!(via_serde.as_bytes(), &out[..], "{cents}");
        }
    }

    #[test]
    fn example_exact_output() {
        assert_eq!(
            Record::example().to_json(BASE),
            concat!(
                r#"{"uuid":"3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42","#,
                r#""user":"https://waldur.example.com/api/marketplace-offering-users/11111111111141118111111111111111/","#,
                r#""username":"alice","#,
                r#""component_usage":"https://waldur.example.com/api/marketplace-component-usages/22222222222242228222222222222222/","#,
                r#""usage":12.5,"measured_unit":"hours","description":"","#,
                r#""created":"2025-03-15T10:00:00Z","modified":"2025-03-15T10:00:00.250000Z","backend_id":"","#,
                r#""resource_name":"vm-1","resource_uuid":"33333333333343338333333333333333","#,
                r#""offering_name":"HPC cluster","offering_uuid":"44444444444444448444444444444444","#,
                r#""project_name":"Climate","project_uuid":"55555555555545558555555555555555","#,
                r#""customer_name":"University","customer_uuid":"66666666666646668666666666666666","#,
                r#""component_type":"cpu","date":"2025-03-31T23:00:00Z","billing_period":"2025-03-01"}"#
            )
        );
        // A trailing slash on the base is ignored.
        assert_eq!(
            Record::example().to_json(&format!("{BASE}/")),
            Record::example().to_json(BASE)
        );
    }

    #[test]
    fn sparse_fields() {
        let r = Record::example();
        let mut out = Vec::new();
        let fs = FieldSet::from_fields([
            Field::BillingPeriod,
            Field::User,
            Field::Usage,
            Field::Description,
        ]);
        r.write_json(&mut out, BASE, fs);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"user":"https://waldur.example.com/api/marketplace-offering-users/11111111111141118111111111111111/","usage":12.5,"description":"","billing_period":"2025-03-01"}"#
        );
        out.clear();
        r.write_json(&mut out, BASE, FieldSet::from_fields([Field::Uuid]));
        assert_eq!(out, br#"{"uuid":"3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42"}"#);
        out.clear();
        r.write_json(&mut out, BASE, FieldSet::empty());
        assert_eq!(out, b"{}");
        // Appends.
        out.clear();
        out.extend_from_slice(b"xy");
        r.write_json(&mut out, BASE, FieldSet::from_fields([Field::Usage]));
        assert_eq!(out, br#"xy{"usage":12.5}"#);
    }

    #[test]
    fn store_rows_render_like_records() {
        let store = crate::Store::new();
        let recs: Vec<_> = varied()
            .into_iter()
            .filter(|r| r.validate().is_ok())
            .collect();
        let mut distinct = Vec::new();
        for (i, mut r) in recs.into_iter().enumerate() {
            r.component_usage = Uuid::from_u128(500 + i as u128);
            distinct.push(r);
        }
        store.upsert_batch(&distinct).unwrap();
        let txn = store.read();
        for r in &distinct {
            let rr = txn.get(r.uuid, &crate::Scope::everything()).unwrap();
            let mut a = Vec::new();
            rr.write_json(&mut a, BASE, FieldSet::all());
            // Entity attributes are shared (last write wins): compare with the stored view.
            assert_eq!(String::from_utf8(a).unwrap(), rr.to_record().to_json(BASE));
            assert_eq!(rr.to_record().usage, r.usage);
        }
        let q = crate::Query::parse("page_size=300&o=usage")
            .unwrap()
            .with_scope(crate::Scope::everything());
        let page = txn.query(&q).unwrap();
        let mut out = Vec::new();
        page.write_json(&mut out, BASE);
        let back = read_records(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back, page.iter().map(|r| r.to_record()).collect::<Vec<_>>());
        assert_eq!(back.len(), distinct.len());
        // An empty page is `[]`.
        let q = crate::Query::parse("type=nope")
            .unwrap()
            .with_scope(crate::Scope::everything());
        out.clear();
        txn.query(&q).unwrap().write_json(&mut out, BASE);
        assert_eq!(out, b"[]");
    }

    #[test]
    fn timestamps_match_chrono() {
        let mut x: u64 = 12345;
        let lo = parse_timestamp("0000-01-01T00:00:00Z")
            .unwrap()
            .timestamp_micros();
        let hi = parse_timestamp("9999-12-31T23:59:59.999999Z")
            .unwrap()
            .timestamp_micros();
        let span = (hi - lo) as u64;
        let mut cases: Vec<i64> = vec![
            lo,
            hi,
            0,
            -1,
            1,
            86_400_000_000,
            -86_400_000_000,
            951_782_400_000_000,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut m = lo + (x % (span + 1)) as i64;
            if x & 3 == 0 {
                m -= m.rem_euclid(1_000_000); // whole seconds
            }
            cases.push(m);
        }
        for m in cases {
            let ts = DateTime::from_timestamp_micros(m).unwrap();
            let mut expected = String::new();
            format_timestamp(ts, &mut expected);
            let mut out = Vec::new();
            push_timestamp(&mut out, ts.timestamp_micros());
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                format!("\"{expected}\""),
                "{m}"
            );
            let mut d = Vec::new();
            push_date(&mut d, i64::from(date_to_day(ts.date_naive())));
            assert_eq!(
                std::str::from_utf8(&d).unwrap(),
                format!("\"{}\"", ts.date_naive())
            );
        }
        // Outside 0000..=9999: chrono's form, no panic.
        let far = DateTime::from_timestamp(300_000_000_000, 0).unwrap();
        let mut out = Vec::new();
        push_timestamp(&mut out, far.timestamp_micros());
        assert!(out.starts_with(b"\"+"), "{}", String::from_utf8_lossy(&out));
        // Sub-microsecond precision is truncated on output too.
        let ns = DateTime::from_timestamp(0, 1_999).unwrap();
        out.clear();
        push_timestamp(&mut out, crate::wire::time::truncate(ns).timestamp_micros());
        assert_eq!(out, br#""1970-01-01T00:00:00.000001Z""#);
    }

    #[test]
    fn hex_matches_uuid_crate() {
        let mut x: u64 = 7;
        let mut cases = vec![0u128, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210];
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(u128::from(x) << 64 | u128::from(x.rotate_left(17)));
        }
        for c in cases {
            let u = Uuid::from_u128(c);
            assert_eq!(
                std::str::from_utf8(&hex32(u)).unwrap(),
                u.simple().to_string()
            );
        }
    }

    #[test]
    fn escaping() {
        let all: String = (0u32..0x80)
            .filter_map(char::from_u32)
            .chain("é日🎉\u{2028}\u{fffd}".chars())
            .collect();
        for s in [
            all.as_str(),
            "",
            "plain",
            "12345678\"",
            "1234567\u{1f}",
            "\\\\\\\\\\\\\\\\x",
            "ÿÿÿÿÿÿÿÿ",
        ] {
            let mut out = Vec::new();
            push_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
        let mut out = Vec::new();
        push_str(&mut out, "a\u{1}\n\"\\");
        assert_eq!(out, br#""a\u0001\n\"\\""#);
        // Every byte position of every escapable byte inside 8-byte chunks.
        for n in 0..20 {
            for c in (0u8..0x20).chain([b'"', b'\\']) {
                let mut s = "a".repeat(n);
                s.push(c as char);
                s.push_str("bc");
                assert!(needs_escape(s.as_bytes()), "{n} {c}");
                assert!(!needs_escape("a".repeat(n).as_bytes()));
            }
        }
        assert!(!needs_escape("éééééééé日本語🎉🎉🎉 ~\u{7f}".as_bytes()));
        // An escaped base URL.
        let mut out = Vec::new();
        write_record(
            &mut out,
            "https://x/\"a\"",
            FieldSet::from_fields([Field::ComponentUsage]),
            &Record::example(),
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["component_usage"],
            "https://x/\"a\"/api/marketplace-component-usages/22222222222242228222222222222222/"
        );
    }

    fn with(key: &str, value: &str) -> String {
        let mut v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&Record::example().to_json(BASE)).unwrap();
        v.remove(key);
        let mut s = serde_json::to_string(&v).unwrap();
        s.pop();
        format!("{s},\"{key}\":{value}}}")
    }

    fn usage_of(value: &str) -> Result<Usage, JsonError> {
        Record::from_json(&with("usage", value)).map(|r| r.usage)
    }

    #[test]
    fn usage_inputs() {
        let ok =
            |v: &str, cents: i64| assert_eq!(usage_of(v).unwrap(), Usage::from_cents(cents), "{v}");
        ok("12", 1200);
        ok("12.5", 1250);
        ok("\"12.50\"", 1250);
        ok("0.1", 10);
        ok("\"0.1\"", 10);
        ok("1e2", 10000);
        ok("\"1E2\"", 10000);
        ok("1E2", 10000);
        ok("-0.05", -5);
        ok("12.500000000000000000000", 1250);
        ok("\" 7 \"", 700);
        ok("\"\\u0037\"", 700);
        ok("92233720368547758.07", i64::MAX);
        ok("0.300000000000000000000e1", 300);
        ok("-0", 0);
        let bad = |v: &str, msg: &str| {
            let e = usage_of(v).unwrap_err();
            assert_eq!(e.field(), Some("usage"), "{v}");
            assert_eq!(e.message(), msg, "{v}");
            assert_eq!(e.to_string(), format!("line 1: usage: {msg}"));
        };
        bad("0.125", "more than two fraction digits");
        bad("\"0.125\"", "more than two fraction digits");
        bad("0.1000000000000000001", "more than two fraction digits");
        bad("\"abc\"", "not a decimal number");
        bad("\"\"", "not a decimal number");
        bad("true", "not a decimal number");
        bad("null", "not a decimal number");
        bad("[1]", "not a decimal number");
        bad("{}", "not a decimal number");
        bad("1e30", "out of range");
        bad("1e999999", "out of range");
        bad("92233720368547758.08", "out of range");
        // Plain serde names the field too.
        let e = serde_json::from_str::<Record>(&with("usage", "0.125")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("usage: more than two fraction digits"),
            "{e}"
        );
    }

    #[test]
    fn field_forms() {
        let r = |k: &str, v: &str| Record::from_json(&with(k, v));
        let h = "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42";
        for v in [
            format!("\"{h}\""),
            "\"3F2C0B9E-1D4A-4C6F-9B2E-7A5D8C1F0E42\"".into(),
            "\"{3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42}\"".into(),
            "\"urn:uuid:3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42\"".into(),
            format!("\" {h} \""),
        ] {
            assert_eq!(
                r("customer_uuid", &v).unwrap().customer_uuid,
                Uuid::from_u128(0x3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42),
                "{v}"
            );
        }
        let u = Uuid::from_u128(0x3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42);
        assert_eq!(r("user", "null").unwrap().user, None);
        assert_eq!(r("user", &format!("\"{h}\"")).unwrap().user, Some(u));
        assert_eq!(
            r("user", &format!("\"/api/marketplace-offering-users/{h}/\""))
                .unwrap()
                .user,
            Some(u)
        );
        assert_eq!(
            r("component_usage", &format!("\"http://o/api/x/{h}/?y=1\""))
                .unwrap()
                .component_usage,
            u
        );
        assert_eq!(
            r("created", "\"2025-03-15T12:00:00.1234567+02:00\"")
                .unwrap()
                .created,
            t("2025-03-15T10:00:00.123456Z")
        );
        assert_eq!(r("description", "null").unwrap().description, "");
        // Absent optional keys.
        let mut v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&Record::example().to_json(BASE)).unwrap();
        for k in ["user", "description", "backend_id"] {
            v.remove(k);
        }
        v.insert(
            "extra".into(),
            serde_json::json!({"nested": [1, 2.5, null]}),
        );
        let rec = Record::from_json(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(
            (rec.user, rec.description.as_str(), rec.backend_id.as_str()),
            (None, "", "")
        );
    }

    #[test]
    fn every_error_names_its_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("uuid", "\"nope\"", "not a valid UUID"),
            (
                "uuid",
                "5",
                "invalid type: integer `5`, expected a UUID string",
            ),
            (
                "user",
                "\"https://x/api/marketplace-offering-users/\"",
                "not a URL ending in a UUID",
            ),
            (
                "user",
                "3",
                "invalid type: integer `3`, expected a URL string",
            ),
            ("username", "\"\"", "must not be empty"),
            ("username", "null", "invalid type: null, expected a string"),
            ("component_usage", "\"x\"", "not a URL ending in a UUID"),
            ("usage", "\"x\"", "not a decimal number"),
            (
                "measured_unit",
                &format!("\"{}\"", "u".repeat(151)),
                "at most 150 characters allowed, got 151",
            ),
            (
                "description",
                &format!("\"{}\"", "d".repeat(2001)),
                "at most 2000 characters allowed, got 2001",
            ),
            (
                "created",
                "\"2025-03-15 10:00\"",
                "not an RFC 3339 timestamp",
            ),
            ("modified", "\"yesterday\"", "not an RFC 3339 timestamp"),
            (
                "backend_id",
                &format!("\"{}\"", "b".repeat(256)),
                "at most 255 characters allowed, got 256",
            ),
            (
                "resource_name",
                "1",
                "invalid type: integer `1`, expected a string",
            ),
            ("resource_uuid", "\"\"", "not a valid UUID"),
            (
                "offering_name",
                "[]",
                "invalid type: sequence, expected a string",
            ),
            ("offering_uuid", "\"0\"", "not a valid UUID"),
            ("project_name", "{}", "invalid type: map, expected a string"),
            (
                "project_uuid",
                "null",
                "invalid type: null, expected a UUID string",
            ),
            (
                "customer_name",
                "false",
                "invalid type: boolean `false`, expected a string",
            ),
            ("customer_uuid", "\"x\"", "not a valid UUID"),
            (
                "component_type",
                &format!("\"{}\"", "c".repeat(51)),
                "at most 50 characters allowed, got 51",
            ),
            ("date", "\"2025-03-31\"", "not an RFC 3339 timestamp"),
            ("billing_period", "\"2025-3-1\"", "not a YYYY-MM-DD date"),
            (
                "billing_period",
                "\"2025-03-01T00:00:00Z\"",
                "not a YYYY-MM-DD date",
            ),
        ];
        for (field, value, msg) in cases {
            let json = with(field, value);
            let e = Record::from_json(&json).unwrap_err();
            assert_eq!(e.field(), Some(*field), "{json}: {e}");
            assert_eq!(e.message(), *msg, "{json}");
            assert_eq!(e.index(), None);
            assert_eq!(e.line(), Some(1));
            let plain = serde_json::from_str::<Record>(&json)
                .unwrap_err()
                .to_string();
            assert!(plain.starts_with(&format!("{field}: {msg}")), "{plain}");
        }
        // Missing required keys, including measured_unit.
        for f in Field::ALL {
            let mut v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&Record::example().to_json(BASE)).unwrap();
            v.remove(f.name());
            let res = Record::from_json(&serde_json::to_string(&v).unwrap());
            if matches!(f, Field::User | Field::Description | Field::BackendId) {
                assert!(res.is_ok(), "{f:?}");
            } else {
                let e = res.unwrap_err();
                assert_eq!(
                    (e.field(), e.message()),
                    (Some(f.name()), "required key is missing")
                );
            }
        }
        // A repeated key.
        let e = Record::from_json(&with("usage", "1,\"usage\":2")).unwrap_err();
        assert_eq!((e.field(), e.message()), (Some("usage"), "duplicate key"));
        // Not an object, bad syntax, trailing data: no field.
        for s in ["[]", "5", "{", "", "{,}", "{\"x\":1,}"] {
            let e = Record::from_json(s).unwrap_err();
            assert_eq!(e.field(), None, "{s}: {e}");
        }
        // A syntax error right after a key belongs to that key.
        let e = Record::from_json("{\"uuid\" 1}").unwrap_err();
        assert_eq!((e.field(), e.message()), (Some("uuid"), "expected `:`"));
        let e = Record::from_json(&format!("{} x", Record::example().to_json(BASE))).unwrap_err();
        assert_eq!((e.field(), e.message()), (None, "trailing characters"));
    }

    #[test]
    fn read_array_and_lines() {
        let recs = varied();
        let lines: Vec<_> = recs.iter().map(|r| r.to_json(BASE)).collect();
        let array = format!("[\n{}\n]", lines.join(",\n"));
        assert_eq!(read_records(&array).unwrap(), recs);
        assert_eq!(
            read_records(&format!("  {}\r\n\n  \n{}\n", lines[0], lines[1])).unwrap(),
            recs[..2]
        );
        assert_eq!(read_records("").unwrap(), vec![]);
        assert_eq!(read_records(" \n\n").unwrap(), vec![]);
        assert_eq!(read_records("[]").unwrap(), vec![]);
        assert_eq!(
            read_records(&format!("\u{feff}{}", lines[0])).unwrap(),
            recs[..1]
        );
        assert_eq!(
            read_records(&format!("\u{feff} [{}]", lines[0])).unwrap(),
            recs[..1]
        );

        // JSON Lines with a bad record on line 3.
        let bad = with("usage", "0.125");
        let input = format!("{}\n{}\n{bad}\n{}\n", lines[0], lines[1], lines[2]);
        let e = read_records(&input).unwrap_err();
        assert_eq!(
            (e.index(), e.line(), e.field()),
            (Some(2), Some(3), Some("usage"))
        );
        assert_eq!(
            e.to_string(),
            "record 2 (line 3): usage: more than two fraction digits"
        );
        // Blank lines count as lines, not records.
        let input = format!("{}\n\n{bad}\n", lines[0]);
        let e = read_records(&input).unwrap_err();
        assert_eq!((e.index(), e.line()), (Some(1), Some(3)));
        // A syntax error on a line.
        let e = read_records(&format!("{}\n{{\"uuid\":\n", lines[0])).unwrap_err();
        assert_eq!(
            (e.index(), e.line(), e.field()),
            (Some(1), Some(2), Some("uuid"))
        );

        // An array with a bad element: index, line, field.
        let input = format!("[\n{},\n{},\n{bad}\n]", lines[0], lines[1]);
        let e = read_records(&input).unwrap_err();
        assert_eq!(
            (e.index(), e.line(), e.field()),
            (Some(2), Some(4), Some("usage"))
        );
        assert_eq!(
            e.to_string(),
            "record 2 (line 4): usage: more than two fraction digits"
        );
        let e = read_records(&format!("[{}, 5]", lines[0])).unwrap_err();
        assert_eq!((e.index(), e.field()), (Some(1), None));
        let e = read_records(&format!("[{}, {}", lines[0], with("username", "\"\""))).unwrap_err();
        assert_eq!(
            (e.index(), e.field(), e.message()),
            (Some(1), Some("username"), "must not be empty")
        );
        // Errors between elements or after the array carry no index.
        let e = read_records(&format!("[{} {}]", lines[0], lines[1])).unwrap_err();
        assert_eq!(e.index(), None, "{e}");
        let e = read_records(&format!("[{}] x", lines[0])).unwrap_err();
        assert_eq!(e.index(), None, "{e}");
        // Not JSON at all.
        let e = read_records("hello").unwrap_err();
        assert_eq!((e.index(), e.line()), (Some(0), Some(1)));
    }

    #[test]
    fn error_bodies() {
        let mut e = ParamErrors::default();
        let mut out = Vec::new();
        e.write_json(&mut out);
        assert_eq!(out, b"{}");
        e.push("customer_uuid", "Enter a valid UUID.".into());
        e.push(
            "o",
            "Select a valid choice. \"x\\ is not one of the available choices.".into(),
        );
        e.push("customer_uuid", "second".into());
        out.clear();
        e.write_json(&mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            r#"{"customer_uuid":["Enter a valid UUID.","second"],"o":["Select a valid choice. \"x\\ is not one of the available choices."]}"#
        );
        assert_eq!(e.to_string(), s);
        let mut out = Vec::new();
        QueryError::Params(e).write_json(&mut out);
        assert_eq!(out, s.as_bytes());
        for body in [INVALID_PAGE_BODY, NOT_FOUND_BODY] {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(v["detail"].is_string());
        }
    }

    #[test]
    fn strip_positions() {
        assert_eq!(
            strip_position("expected value at line 1 column 2"),
            "expected value"
        );
        assert_eq!(strip_position("x at line 1"), "x at line 1");
        assert_eq!(
            strip_position("x at line a column 2"),
            "x at line a column 2"
        );
        assert_eq!(strip_position("plain"), "plain");
    }
}
