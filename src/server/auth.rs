//! Token authentication, as Django REST framework's `TokenAuthentication`
//! answers it, and the visibility scope of each token (SPEC §4).

use std::collections::HashMap;
use std::fmt;

use crate::Scope;

/// What a token may do; the values of a token file.
///
/// # Examples
///
/// ```
/// use usage_store::server::Access;
/// assert!(Access::Staff.can_write());
/// assert!(!Access::Support.can_write());
/// assert!(Access::Support.scope().is_everything());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Sees every record and may write (`"staff"`).
    Staff,
    /// Sees every record, read only (`"support"`).
    Support,
    /// Sees the records of the listed customers, projects and offerings,
    /// read only (`{"customers": [...], "projects": [...], "offerings": [...]}`).
    Scoped(Scope),
}

impl Access {
    /// The visibility scope of list, count and retrieve.
    pub fn scope(&self) -> Scope {
        match self {
            Access::Staff | Access::Support => Scope::everything(),
            Access::Scoped(s) => s.clone(),
        }
    }

    /// Whether writes (`POST`, `DELETE`, `replace`) are allowed.
    pub fn can_write(&self) -> bool {
        matches!(self, Access::Staff)
    }
}

/// The tokens a server accepts, each with its [`Access`]; read from a token
/// file with [`Tokens::from_json`].
///
/// The file is one JSON object from token to `"staff"`, `"support"`, or an
/// object with any of the lists `customers`, `projects`, `offerings` of UUIDs
/// (any form Python's `uuid.UUID` reads; unknown keys are an error).
///
/// # Examples
///
/// ```
/// use usage_store::server::{Access, Tokens};
/// let t = Tokens::from_json(r#"{
///     "s3cret": "staff",
///     "viewer": {"customers": ["66666666-6666-4666-8666-666666666666"], "projects": []}
/// }"#).unwrap();
/// assert_eq!(t.get("s3cret"), Some(&Access::Staff));
/// assert!(t.get("viewer").unwrap().scope().allows(&usage_store::Record::example()));
/// assert!(t.get("nope").is_none());
/// assert!(Tokens::from_json(r#"{"x": "admin"}"#).is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    map: HashMap<String, Access>,
}

/// Why a token file was rejected; created by [`Tokens::from_json`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokensError(String);

impl fmt::Display for TokensError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TokensError {}

impl Tokens {
    /// Parses a token file (see the type's documentation). O(size).
    ///
    /// # Errors
    ///
    /// Invalid JSON, a value that is neither `"staff"`, `"support"` nor a
    /// scope object, an unknown scope key, a malformed UUID, or an empty or
    /// space-holding token; the message names the token (first 4 characters).
    pub fn from_json(text: &str) -> Result<Tokens, TokensError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| TokensError(format!("token file: {e}")))?;
        let serde_json::Value::Object(obj) = v else {
            return Err(TokensError(
                "token file: expected a JSON object of token: access".into(),
            ));
        };
        let mut map = HashMap::with_capacity(obj.len());
        for (token, access) in obj {
            let shown: String = token.chars().take(4).collect();
            let err = |m: String| TokensError(format!("token file: token {shown:?}…: {m}"));
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(err("tokens must be non-empty and hold no whitespace".into()));
            }
            let access = match access {
                serde_json::Value::String(s) if s == "staff" => Access::Staff,
                serde_json::Value::String(s) if s == "support" => Access::Support,
                serde_json::Value::Object(scope) => {
                    let mut s = Scope::nothing();
                    for (key, list) in scope {
                        let add: fn(Scope, uuid::Uuid) -> Scope = match key.as_str() {
                            "customers" => Scope::with_customer,
                            "projects" => Scope::with_project,
                            "offerings" => Scope::with_offering,
                            _ => {
                                return Err(err(format!(
                                    "unknown key {key:?} (expected customers, projects, offerings)"
                                )));
                            }
                        };
                        let serde_json::Value::Array(items) = list else {
                            return Err(err(format!("{key}: expected a list of UUIDs")));
                        };
                        for item in items {
                            let u = item
                                .as_str()
                                .and_then(crate::wire::uuid::parse_uuid)
                                .ok_or_else(|| err(format!("{key}: not a UUID: {item}")))?;
                            s = add(s, u);
                        }
                    }
                    Access::Scoped(s)
                }
                other => {
                    return Err(err(format!(
                        "expected \"staff\", \"support\" or {{\"customers\": [...], \"projects\": [...], \"offerings\": [...]}}, got {other}"
                    )));
                }
            };
            map.insert(token, access);
        }
        Ok(Tokens { map })
    }

    /// Adds or replaces one token.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut t = usage_store::server::Tokens::default();
    /// t.insert("k", usage_store::server::Access::Support);
    /// assert_eq!(t.len(), 1);
    /// ```
    pub fn insert(&mut self, token: impl Into<String>, access: Access) {
        self.map.insert(token.into(), access);
    }

    /// The access of a token, if known. O(1) expected.
    pub fn get(&self, token: &str) -> Option<&Access> {
        self.map.get(token)
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no token (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// DRF's messages for a refused `Authorization` header (all 401).
pub(crate) const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
pub(crate) const INVALID_TOKEN: &str = "Invalid token.";
const NO_CREDENTIALS: &str = "Invalid token header. No credentials provided.";
const HAS_SPACES: &str = "Invalid token header. Token string should not contain spaces.";
const BAD_CHARACTERS: &str =
    "Invalid token header. Token string should not contain invalid characters.";

/// Resolves the `Authorization` header as DRF's `TokenAuthentication` does:
/// the keyword `Token` (any case) and one token; another keyword counts as
/// no credentials. Returns the 401 message on failure.
pub(crate) fn authenticate<'t>(
    tokens: &'t Tokens,
    header: Option<&[u8]>,
) -> Result<&'t Access, &'static str> {
    let header = header.unwrap_or_default();
    let mut parts = header
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    match parts.next() {
        Some(k) if k.eq_ignore_ascii_case(b"token") => {}
        _ => return Err(NOT_PROVIDED),
    }
    let token = parts.next().ok_or(NO_CREDENTIALS)?;
    if parts.next().is_some() {
        return Err(HAS_SPACES);
    }
    let token = std::str::from_utf8(token).map_err(|_| BAD_CHARACTERS)?;
    tokens.get(token).ok_or(INVALID_TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let mut t = Tokens::default();
        t.insert("abc", Access::Staff);
        t
    }

    #[test]
    fn drf_messages() {
        let t = tokens();
        assert_eq!(authenticate(&t, Some(b"Token abc")), Ok(&Access::Staff));
        assert_eq!(authenticate(&t, Some(b"token   abc ")), Ok(&Access::Staff));
        assert_eq!(authenticate(&t, None), Err(NOT_PROVIDED));
        assert_eq!(authenticate(&t, Some(b"")), Err(NOT_PROVIDED));
        assert_eq!(authenticate(&t, Some(b"Bearer abc")), Err(NOT_PROVIDED));
        assert_eq!(authenticate(&t, Some(b"Token")), Err(NO_CREDENTIALS));
        assert_eq!(authenticate(&t, Some(b"Token a b")), Err(HAS_SPACES));
        assert_eq!(authenticate(&t, Some(b"Token \xff")), Err(BAD_CHARACTERS));
        assert_eq!(authenticate(&t, Some(b"Token abd")), Err(INVALID_TOKEN));
    }

    #[test]
    fn token_file_errors_name_the_token() {
        let e = Tokens::from_json(r#"{"abcdef": {"customers": ["zz"]}}"#).unwrap_err();
        assert!(e.to_string().contains("\"abcd\""), "{e}");
        assert!(e.to_string().contains("customers: not a UUID"), "{e}");
        assert!(Tokens::from_json(r#"{"a": {"users": []}}"#).is_err());
        assert!(Tokens::from_json(r#"{"a b": "staff"}"#).is_err());
        assert!(Tokens::from_json(r#"["staff"]"#).is_err());
        assert!(Tokens::from_json("{").is_err());
    }

    #[test]
    fn scopes() {
        let r = crate::Record::example();
        let t = Tokens::from_json(&format!(
            r#"{{"c": {{"customers": ["{}"]}}, "p": {{"projects": ["{}"]}}, "o": {{"offerings": ["{}"]}}, "n": {{}}}}"#,
            r.customer_uuid.simple(),
            r.project_uuid.hyphenated(),
            r.offering_uuid.braced()
        ))
        .unwrap();
        for k in ["c", "p", "o"] {
            assert!(t.get(k).unwrap().scope().allows(&r), "{k}");
            assert!(!t.get(k).unwrap().can_write());
        }
        assert!(!t.get("n").unwrap().scope().allows(&r));
    }
}
