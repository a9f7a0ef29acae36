//! UUIDs on the wire: written as 32 lowercase hex digits, read in every form
//! Python's `uuid.UUID(hex)` accepts.

use uuid::Uuid;

/// Parses a UUID the way Django's `UUIDField` does (`uuid.UUID(value.strip())`).
///
/// Python removes every `urn:` and `uuid:` (case-sensitively, as Python's
/// `str.replace` does), strips braces from both ends, removes every hyphen,
/// and needs exactly 32 hex digits (either case) to remain. Deliberate
/// difference: the `+` sign and `_` separators that Python's `int(…, 16)`
/// would tolerate are rejected.
pub(crate) fn parse_uuid(s: &str) -> Option<Uuid> {
    let s = s.trim_matches(|c: char| c.is_whitespace());
    // Fast path: the canonical simple and hyphenated forms.
    if (s.len() == 32 || s.len() == 36)
        && let Ok(u) = Uuid::try_parse(s)
    {
        return Some(u);
    }
    let mut buf = [0u8; 32];
    let mut n = 0usize;
    let stripped = strip_urn(s);
    let stripped = stripped.trim_matches(|c| c == '{' || c == '}');
    for c in stripped.bytes() {
        if c == b'-' {
            continue;
        }
        if !c.is_ascii_hexdigit() || n == 32 {
            return None;
        }
        buf[n] = c;
        n += 1;
    }
    if n != 32 {
        return None;
    }
    let hex = std::str::from_utf8(&buf).ok()?;
    u128::from_str_radix(hex, 16).ok().map(Uuid::from_u128)
}

/// Python's `hex.replace('urn:', '').replace('uuid:', '')`, without allocating
/// in the common case where neither occurs.
fn strip_urn(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("urn:") && !s.contains("uuid:") {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.replace("urn:", "").replace("uuid:", ""))
}

/// The UUID at the end of a URL's path (`…/{uuid}/`), as URL-valued record
/// fields are read: only the last path segment that is a UUID matters.
pub(crate) fn uuid_from_url(url: &str) -> Option<Uuid> {
    let path = url_path(url);
    path.rsplit('/')
        .filter(|seg| !seg.is_empty())
        .find_map(parse_uuid)
}

/// The path of an absolute or relative URL: without scheme and authority,
/// query and fragment.
pub(crate) fn url_path(url: &str) -> &str {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or("");
    if let Some(i) = url.find("://") {
        let rest = &url[i + 3..];
        match rest.find('/') {
            Some(j) => &rest[j..],
            None => "",
        }
    } else if let Some(rest) = url.strip_prefix("//") {
        match rest.find('/') {
            Some(j) => &rest[j..],
            None => "",
        }
    } else {
        url
    }
}

/// The resource UUID named by a `resource` filter value: the URL's path must
/// be exactly `/api/marketplace-resources/{uuid}/`, the trailing slash optional.
pub(crate) fn resource_from_url(url: &str) -> Option<Uuid> {
    let path = url_path(url);
    let rest = path.strip_prefix("/api/marketplace-resources/")?;
    let seg = rest.strip_suffix('/').unwrap_or(rest);
    if seg.is_empty() || seg.contains('/') {
        return None;
    }
    parse_uuid(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: u128 = 0x3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42;

    #[test]
    fn accepted_forms() {
        for s in [
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42",
            "3F2C0B9E1D4A4C6F9B2E7A5D8C1F0E42",
            "3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
            "{3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42}",
            "{3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42}",
            "urn:uuid:3f2c0b9e-1d4a-4c6f-9b2e-7a5d8c1f0e42",
            "  3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42\n",
            "3f2c-0b9e-1d4a4c6f9b2e7a5d8c1f0e-42",
            "{{3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42}",
        ] {
            assert_eq!(parse_uuid(s), Some(Uuid::from_u128(U)), "{s:?}");
        }
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "",
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e4",
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e421",
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e4g",
            "URN:UUID:3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42",
            "+3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e4",
            "3f2c0b9e_1d4a4c6f9b2e7a5d8c1f0e42",
            "not-a-uuid",
            "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42é",
        ] {
            assert_eq!(parse_uuid(s), None, "{s:?}");
        }
    }

    #[test]
    fn resource_urls() {
        let u = Some(Uuid::from_u128(U));
        let h = "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42";
        assert_eq!(
            resource_from_url(&format!("https://x.org/api/marketplace-resources/{h}/")),
            u
        );
        assert_eq!(
            resource_from_url(&format!("http://x.org:8000/api/marketplace-resources/{h}")),
            u
        );
        assert_eq!(
            resource_from_url(&format!("/api/marketplace-resources/{h}/")),
            u
        );
        assert_eq!(
            resource_from_url(&format!("/api/marketplace-resources/{h}/?a=b#c")),
            u
        );
        assert_eq!(
            resource_from_url(&format!("//x.org/api/marketplace-resources/{h}/")),
            u
        );
        assert_eq!(
            resource_from_url(&format!("/api/marketplace-offerings/{h}/")),
            None
        );
        assert_eq!(
            resource_from_url(&format!("api/marketplace-resources/{h}/")),
            None
        );
        assert_eq!(
            resource_from_url(&format!("/api/marketplace-resources/{h}/x/")),
            None
        );
        assert_eq!(resource_from_url(h), None);
        assert_eq!(resource_from_url("/api/marketplace-resources//"), None);
    }

    #[test]
    fn record_urls() {
        let h = "3f2c0b9e1d4a4c6f9b2e7a5d8c1f0e42";
        let u = Some(Uuid::from_u128(U));
        assert_eq!(
            uuid_from_url(&format!(
                "https://w.example.com/api/marketplace-offering-users/{h}/"
            )),
            u
        );
        assert_eq!(
            uuid_from_url(&format!("https://w.example.com/api/x/{h}/extra/")),
            u
        );
        assert_eq!(uuid_from_url(h), u);
        assert_eq!(uuid_from_url("https://w.example.com/api/x/"), None);
    }
}
