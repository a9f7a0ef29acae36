//! Error types, one small enum per operation, each naming the field or
//! parameter at fault and the reason.

use std::fmt;

use uuid::Uuid;

/// A record field that breaks a rule of SPEC §1; created by
/// [`Record::validate`](crate::Record::validate) and the store's writes.
///
/// # Examples
///
/// ```
/// let mut r = usage_store::Record::example();
/// r.component_type = "x".repeat(51).into();
/// let e = r.validate().unwrap_err();
/// assert_eq!(e.field(), "component_type");
/// assert_eq!(e.to_string(), "component_type: at most 50 characters allowed, got 51");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError {
    field: &'static str,
    kind: RecordErrorKind,
}

/// What is wrong with a field; see [`RecordError::kind`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordErrorKind {
    /// The field must not be empty.
    Empty,
    /// The field is longer than allowed (in Unicode scalar values).
    TooLong {
        /// The limit.
        max: usize,
        /// The actual length.
        len: usize,
    },
}

impl RecordError {
    pub(crate) fn new(field: &'static str, kind: RecordErrorKind) -> Self {
        RecordError { field, kind }
    }

    /// The wire name of the offending field.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &RecordErrorKind {
        &self.kind
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RecordErrorKind::Empty => write!(f, "{}: must not be empty", self.field),
            RecordErrorKind::TooLong { max, len } => {
                write!(
                    f,
                    "{}: at most {max} characters allowed, got {len}",
                    self.field
                )
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Why a write ([`Store::upsert`](crate::Store::upsert),
/// [`Store::upsert_batch`](crate::Store::upsert_batch),
/// [`Store::replace`](crate::Store::replace)) changed nothing.
///
/// `index` is the position of the offending element in the written slice
/// (0 for a single upsert).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// An element breaks a field rule.
    Invalid {
        /// Position of the element.
        index: usize,
        /// The field and reason.
        error: RecordError,
    },
    /// An element's `(component_usage, username)` belongs to another record
    /// (already stored, or earlier in the same batch).
    Conflict {
        /// Position of the element.
        index: usize,
        /// The component usage of the natural key.
        component_usage: Uuid,
        /// The username of the natural key.
        username: String,
        /// The uuid that holds the natural key.
        holder: Uuid,
    },
    /// A [`replace`](crate::Store::replace) element does not match the replace filter.
    OutsideFilter {
        /// Position of the element.
        index: usize,
        /// The first filter parameter the element fails.
        param: &'static str,
    },
}

impl WriteError {
    /// The position of the offending element.
    pub fn index(&self) -> usize {
        match self {
            WriteError::Invalid { index, .. }
            | WriteError::Conflict { index, .. }
            | WriteError::OutsideFilter { index, .. } => *index,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Invalid { index, error } => write!(f, "record {index}: {error}"),
            WriteError::Conflict {
                index,
                component_usage,
                username,
                holder,
            } => write!(
                f,
                "record {index}: (component_usage, username) = ({}, {username:?}) already belongs to record {}",
                component_usage.simple(),
                holder.simple()
            ),
            WriteError::OutsideFilter { index, param } => {
                write!(
                    f,
                    "record {index}: does not match the replace filter on `{param}`"
                )
            }
        }
    }
}

impl std::error::Error for WriteError {}

/// Invalid query parameters: a map from parameter name to messages, in the
/// order the parameters are declared (SPEC §2.1, then `o`). Rendered by
/// upstream as `{"customer_uuid": ["Enter a valid UUID."]}` with status 400.
///
/// # Examples
///
/// ```
/// use usage_store::{Query, QueryError};
/// let Err(QueryError::Params(e)) = Query::parse("customer_uuid=x&date_after=y") else { panic!() };
/// let v: Vec<_> = e.iter().map(|(p, m)| (p, m[0].as_str())).collect();
/// assert_eq!(v, [("customer_uuid", "Enter a valid UUID."), ("date_after", "Enter a valid date.")]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParamErrors {
    entries: Vec<(&'static str, Vec<String>)>,
}

impl ParamErrors {
    pub(crate) fn push(&mut self, param: &'static str, message: String) {
        match self.entries.iter_mut().find(|(p, _)| *p == param) {
            Some((_, m)) => m.push(message),
            None => self.entries.push((param, vec![message])),
        }
    }

    pub(crate) fn sort_by_declaration(&mut self, order: &[&str]) {
        self.entries
            .sort_by_key(|(p, _)| order.iter().position(|o| o == p).unwrap_or(usize::MAX));
    }

    /// Whether there is no error.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of parameters in error.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The messages for one parameter.
    pub fn get(&self, param: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, m)| m.as_slice())
    }

    /// `(parameter, messages)` pairs in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        self.entries.iter().map(|(p, m)| (*p, m.as_slice()))
    }
}

impl fmt::Display for ParamErrors {
    /// The upstream JSON body, e.g. `{"o":["Select a valid choice. x is not one of the available choices."]}`,
    /// as [`ParamErrors::write_json`] renders it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_json(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// Why a query produced no page; created by [`Query::parse`](crate::Query::parse)
/// and [`ReadTxn::query`](crate::ReadTxn::query).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryError {
    /// HTTP 400: invalid parameters (all of them).
    Params(ParamErrors),
    /// HTTP 404 `{"detail": "Invalid page."}`: `page` is not a positive
    /// integer or `last`, or is past the end.
    InvalidPage,
}

impl QueryError {
    /// The HTTP status upstream answers with (400 or 404).
    pub fn status(&self) -> u16 {
        match self {
            QueryError::Params(_) => 400,
            QueryError::InvalidPage => 404,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Params(e) => e.fmt(f),
            QueryError::InvalidPage => f.write_str(r#"{"detail": "Invalid page."}"#),
        }
    }
}

impl std::error::Error for QueryError {}
