//! Waldur's wire protocol over HTTP (feature `server`): an [`axum`] router
//! serving a [`Store`] as `/api/marketplace-component-user-usages/`, with
//! token authentication, visibility scopes and write endpoints for a service
//! that feeds the cache, plus the `Link` header ([`links`]) and a blocking
//! client that mirrors a Waldur-compatible server into a local store
//! ([`sync`]).
//!
//! # Endpoints
//!
//! | method | path | answer |
//! |---|---|---|
//! | `GET` | `/api/marketplace-component-user-usages/` | a page (SPEC §2), `X-Result-Count`, `Link` |
//! | `HEAD` | same | the same status and headers, no body; counts without rendering a page |
//! | `GET` | `…/{uuid}/` | one record (SPEC §3), `field` honoured; 404 `{"detail":"Not found."}` |
//! | `POST` | `…/` | body: JSON array (or JSON Lines) of records; one all-or-nothing batch |
//! | `POST` | `…/replace/?<filters>` | body: records; SPEC §5 `replace` on the filter of the query string |
//! | `DELETE` | `…/{uuid}/` | 204, or 404 `{"detail":"Not found."}` |
//!
//! Writes answer `200` with the counts, e.g.
//! `{"inserted":2,"replaced":0,"unchanged":1,"removed":0}`. A bad write body
//! answers `400` with a `detail` message and, where they apply, the element
//! `index` (0-based position in the body), the `field` at fault, the JSON
//! `line`, or the filter `param` that an element of a `replace` fails:
//! `{"detail":"record 3 (line 1): usage: more than two fraction digits","index":3,"line":1,"field":"usage"}`;
//! a natural-key clash adds `"conflict"` (the uuid holding the key).
//! `replace` needs at least one filter parameter (an empty filter would
//! replace the whole store; a misspelt parameter is ignored like any unknown
//! one, so this guards against wiping the cache by mistake).
//!
//! # Authentication
//!
//! Without [`Tokens`] every request is allowed (staff). With them, every
//! request needs `Authorization: Token <token>`; failures answer `401` with
//! Django REST framework's messages and `WWW-Authenticate: Token`; the
//! token's [`Access`] gives the visibility scope, and writes need
//! [`Access::Staff`] (else `403`). Authentication comes before parameter
//! errors (400), which come before page errors (404).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use usage_store::server::{Config, router};
//! use usage_store::{Record, Store};
//!
//! let store = Arc::new(Store::new());
//! store.upsert(&Record::example()).unwrap();
//! let app = router(store, Config::new("http://localhost:8000"));
//! // Serve it with `usage_store::server::serve(listener, app, shutdown)`.
//! # drop(app);
//! ```

// Handlers return `Result<_, Response>` so that `?` answers with the error
// response; boxing the (128-byte) response would only add an allocation.
#![allow(clippy::result_large_err)]

pub mod links;
pub mod load;
pub mod sync;

mod auth;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use uuid::Uuid;

pub use auth::{Access, Tokens, TokensError};

use crate::{Filter, PageInfo, Query, QueryError, Record, Store, WriteError, WriteSummary};

/// The list path; the retrieve path is this followed by `{uuid}/`.
pub const LIST_PATH: &str = "/api/marketplace-component-user-usages/";

/// Default limit on a write request's body: 1 GiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 30;

const FORBIDDEN: &str = "You do not have permission to perform this action.";

/// Settings of a [`router`].
///
/// # Examples
///
/// ```
/// let c = usage_store::server::Config::new("https://waldur.example.com/");
/// assert_eq!(c.base_url, "https://waldur.example.com");
/// assert!(c.tokens.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Prefix of the URLs in records (`user`, `component_usage`) and in
    /// `Link` headers, without trailing slash.
    pub base_url: String,
    /// Accepted tokens; `None` disables authentication (everyone is staff).
    pub tokens: Option<Arc<Tokens>>,
    /// Largest accepted write body, in bytes (larger: 413).
    pub max_body_bytes: usize,
}

impl Config {
    /// No authentication, [`DEFAULT_MAX_BODY_BYTES`]; the trailing slash of
    /// `base_url` is dropped.
    pub fn new(base_url: &str) -> Config {
        Config {
            base_url: base_url.trim_end_matches('/').to_owned(),
            tokens: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Requires one of these tokens on every request.
    pub fn with_tokens(mut self, tokens: Tokens) -> Config {
        self.tokens = Some(Arc::new(tokens));
        self
    }
}

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    config: Arc<Config>,
}

/// The router of the endpoints above, serving `store`.
///
/// Reads run on the async worker (they take microseconds); writes run on
/// tokio's blocking pool, so a large batch never stalls other requests.
pub fn router(store: Arc<Store>, config: Config) -> Router {
    let state = AppState {
        store,
        config: Arc::new(config),
    };
    let item = format!("{LIST_PATH}{{uuid}}/");
    Router::new()
        .route(LIST_PATH, get(list).head(count).post(upsert_batch))
        .route(&format!("{LIST_PATH}replace/"), post(replace))
        .route(&item, get(retrieve).delete(remove))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM; pass it to [`serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

// ---------------------------------------------------------------- responses

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"detail": "<message>"}`.
fn detail(status: StatusCode, message: &str) -> Response {
    json(status, detail_body(message, &[]).into_bytes())
}

/// `{"detail":"…", extra…}` with string-escaped detail; `extra` values are raw JSON.
fn detail_body(message: &str, extra: &[(&str, String)]) -> String {
    let mut s = String::from("{\"detail\":");
    s.push_str(&serde_json::to_string(message).unwrap_or_default());
    for (k, v) in extra {
        s.push_str(",\"");
        s.push_str(k);
        s.push_str("\":");
        s.push_str(v);
    }
    s.push('}');
    s
}

fn unauthorized(message: &str) -> Response {
    let mut r = detail(StatusCode::UNAUTHORIZED, message);
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    r
}

fn params_error(e: &crate::ParamErrors) -> Response {
    let mut out = Vec::new();
    e.write_json(&mut out);
    json(StatusCode::BAD_REQUEST, out)
}

fn summary_body(s: &WriteSummary) -> Response {
    let body = format!(
        "{{\"inserted\":{},\"replaced\":{},\"unchanged\":{},\"removed\":{}}}",
        s.inserted, s.replaced, s.unchanged, s.removed
    );
    json(StatusCode::OK, body.into_bytes())
}

/// An empty body that does not announce its size, so that `HEAD` answers
/// carry no `Content-Length`: RFC 9110 §8.6 allows only the length the
/// `GET` body would have, and `HEAD` never renders that body.
struct NoLength;

impl axum::body::HttpBody for NoLength {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

fn without_body(mut r: Response) -> Response {
    *r.body_mut() = Body::new(NoLength);
    r
}

fn not_found_response() -> Response {
    json(
        StatusCode::NOT_FOUND,
        crate::NOT_FOUND_BODY.as_bytes().to_vec(),
    )
}

async fn not_found() -> Response {
    not_found_response()
}

async fn method_not_allowed(method: Method) -> Response {
    detail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("Method \"{method}\" not allowed."),
    )
}

// ---------------------------------------------------------------- auth

/// Staff access for servers without tokens.
static OPEN: Access = Access::Staff;

impl AppState {
    fn access(&self, headers: &HeaderMap) -> Result<&Access, Response> {
        match &self.config.tokens {
            None => Ok(&OPEN),
            Some(t) => {
                auth::authenticate(t, headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()))
                    .map_err(unauthorized)
            }
        }
    }

    fn writer(&self, headers: &HeaderMap) -> Result<(), Response> {
        if self.access(headers)?.can_write() {
            Ok(())
        } else {
            Err(detail(StatusCode::FORBIDDEN, FORBIDDEN))
        }
    }
}

// ---------------------------------------------------------------- reads

/// Parses the list query with the caller's scope: 401, then 400.
fn list_query(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Query, Response> {
    let access = state.access(headers)?;
    let q = Query::parse(uri.query().unwrap_or("")).map_err(|e| query_error(&e))?;
    Ok(q.with_scope(access.scope()))
}

fn query_error(e: &QueryError) -> Response {
    let mut out = Vec::new();
    e.write_json(&mut out);
    json(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        out,
    )
}

fn page_headers(r: &mut Response, state: &AppState, uri: &Uri, info: &PageInfo) {
    let h = r.headers_mut();
    h.insert("x-result-count", HeaderValue::from(info.count));
    let link = links::link_header(
        &state.config.base_url,
        LIST_PATH,
        uri.query().unwrap_or(""),
        info,
    );
    if let Ok(v) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, v);
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match list_query(&state, &headers, &uri) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let txn = state.store.read();
    let page = match txn.query(&q) {
        Ok(p) => p,
        Err(e) => return query_error(&e),
    };
    let info = page.info();
    let mut out = Vec::with_capacity(256 + page.len() * 900);
    page.write_json(&mut out, &state.config.base_url);
    drop(page);
    drop(txn);
    let mut r = json(StatusCode::OK, out);
    page_headers(&mut r, &state, &uri, &info);
    r
}

async fn count(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let q = match list_query(&state, &headers, &uri) {
        Ok(q) => q,
        Err(r) => return without_body(r),
    };
    let info = state.store.read().count(&q);
    match info {
        Ok(info) => {
            let mut r = without_body(json(StatusCode::OK, Vec::new()));
            page_headers(&mut r, &state, &uri, &info);
            r
        }
        Err(e) => without_body(query_error(&e)),
    }
}

/// The `uuid` path segment as Python's `uuid.UUID` reads it (any case,
/// hyphens optional, braces, `urn:uuid:`); `None` answers 404.
fn path_uuid(s: &str) -> Option<Uuid> {
    crate::wire::uuid::parse_uuid(s)
}

/// The `field` parameters of a query string, ignoring everything else.
fn fields_of(query: &str) -> crate::FieldSet {
    let only: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "field"))
        .finish();
    Query::parse(&only).map(|q| q.fields()).unwrap_or_default()
}

async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let access = match state.access(&headers) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(uuid) = path_uuid(&id) else {
        return not_found_response();
    };
    let fields = fields_of(uri.query().unwrap_or(""));
    let txn = state.store.read();
    let Some(rec) = txn.get(uuid, &access.scope()) else {
        return not_found_response();
    };
    let mut out = Vec::with_capacity(1024);
    rec.write_json(&mut out, &state.config.base_url, fields);
    drop(txn);
    json(StatusCode::OK, out)
}

// ---------------------------------------------------------------- writes

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = state.writer(&headers) {
        return r;
    }
    let Some(uuid) = path_uuid(&id) else {
        return not_found_response();
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.remove(uuid)).await {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => not_found_response(),
        Err(_) => detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A server error occurred.",
        ),
    }
}

async fn upsert_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    if let Err(r) = state.writer(&headers) {
        return r;
    }
    write(state, body, None).await
}

async fn replace(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    if let Err(r) = state.writer(&headers) {
        return r;
    }
    let filter = match Filter::parse(uri.query().unwrap_or("")) {
        Ok(f) => f,
        Err(e) => return params_error(&e),
    };
    if filter.is_empty() {
        return detail(
            StatusCode::BAD_REQUEST,
            "replace needs at least one filter parameter in the query string.",
        );
    }
    write(state, body, Some(filter)).await
}

/// Reads the body, parses the records and applies them on the blocking pool.
async fn write(state: AppState, body: Body, filter: Option<Filter>) -> Response {
    let bytes = match read_body(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let store = state.store.clone();
    let job = move || -> Result<WriteSummary, Response> {
        let records = parse_body(&bytes)?;
        let result = match &filter {
            None => store.upsert_batch(&records),
            Some(f) => store.replace(f, &records),
        };
        result.map_err(|e| write_error(&e))
    };
    match tokio::task::spawn_blocking(job).await {
        Ok(Ok(s)) => summary_body(&s),
        Ok(Err(r)) => r,
        Err(_) => detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "A server error occurred.",
        ),
    }
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let msg = e.to_string();
        if msg.contains("length limit") {
            detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body larger than {limit} bytes."),
            )
        } else {
            detail(
                StatusCode::BAD_REQUEST,
                &format!("Could not read the request body: {msg}"),
            )
        }
    })
}

/// The records of a write body: a JSON array, or JSON Lines.
fn parse_body(bytes: &[u8]) -> Result<Vec<Record>, Response> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        detail(
            StatusCode::BAD_REQUEST,
            &format!("Request body is not UTF-8 (byte {}).", e.valid_up_to()),
        )
    })?;
    crate::read_records(text)
        .map_err(|e| json(StatusCode::BAD_REQUEST, json_error_body(&e).into_bytes()))
}

/// `{"detail": …, "index": …, "line": …, "field": …}` of a JSON input error.
fn json_error_body(e: &crate::JsonError) -> String {
    let mut extra = Vec::new();
    if let Some(i) = e.index() {
        extra.push(("index", i.to_string()));
    }
    if let Some(l) = e.line() {
        extra.push(("line", l.to_string()));
    }
    if let Some(f) = e.field() {
        extra.push(("field", serde_json::to_string(f).unwrap_or_default()));
    }
    detail_body(&e.to_string(), &extra)
}

fn write_error(e: &WriteError) -> Response {
    let mut extra = vec![("index", e.index().to_string())];
    match e {
        WriteError::Invalid { error, .. } => {
            extra.push((
                "field",
                serde_json::to_string(error.field()).unwrap_or_default(),
            ));
        }
        WriteError::Conflict { holder, .. } => {
            extra.push(("field", "\"username\"".into()));
            extra.push(("conflict", format!("\"{}\"", holder.simple())));
        }
        WriteError::OutsideFilter { param, .. } => {
            extra.push(("param", serde_json::to_string(param).unwrap_or_default()));
        }
    }
    json(
        StatusCode::BAD_REQUEST,
        detail_body(&e.to_string(), &extra).into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_bodies_escape() {
        assert_eq!(detail_body("a\"b", &[]), r#"{"detail":"a\"b"}"#);
        assert_eq!(
            detail_body("x", &[("index", "3".into()), ("field", "\"usage\"".into())]),
            r#"{"detail":"x","index":3,"field":"usage"}"#
        );
    }

    #[test]
    fn uuid_forms() {
        let u = Uuid::from_u128(0x3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42);
        for s in [
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42",
            "3F2C0B9E-1D4A-4C6F-9B2E-7A5D8C1F0E42",
            "{3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42}",
            "urn:uuid:3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
        ] {
            assert_eq!(path_uuid(s), Some(u), "{s}");
        }
        assert_eq!(path_uuid("3f2c"), None);
        assert_eq!(path_uuid("replace"), None);
    }

    #[test]
    fn fields_ignore_other_parameters() {
        use crate::{Field, FieldSet};
        assert_eq!(
            fields_of("customer_uuid=bad&field=usage,uuid&page=x"),
            FieldSet::from_fields([Field::Uuid, Field::Usage])
        );
        assert_eq!(fields_of("field=nope"), FieldSet::all());
        assert_eq!(fields_of(""), FieldSet::all());
    }
}
