//! The `Link` header of a list response (SPEC §2.3).
//!
//! Each entry is `<URL>; rel="NAME"`, in the order `first`, `prev` (if any),
//! `next` (if any), `last`, separated by `", "`. The URL is the request URL
//! with `page` replaced: the parameters are decoded, `page` is dropped, the
//! new `page` is added unless it is 1, and all of them are sorted by name
//! (stably, so repeated parameters keep their order — what Django REST
//! framework's `replace_query_param` does) and encoded as
//! `application/x-www-form-urlencoded`. Clients split the header on commas,
//! so no URL holds a raw comma, space, `<`, `>` or `;`: `o=-usage,username`
//! comes out as `o=-usage%2Cusername`.

use std::borrow::Cow;

use crate::PageInfo;

/// The decoded parameters of a query string without `page`, sorted stably
/// by name, ready to build page URLs; created by [`PageLinks::new`].
///
/// # Examples
///
/// ```
/// use usage_store::server::links::PageLinks;
/// let l = PageLinks::new("http://x", "/api/u/", "page=2&o=-usage,username&a=1");
/// assert_eq!(l.url(1), "http://x/api/u/?a=1&o=-usage%2Cusername");
/// assert_eq!(l.url(3), "http://x/api/u/?a=1&o=-usage%2Cusername&page=3");
/// ```
#[derive(Clone, Debug)]
pub struct PageLinks<'q> {
    prefix: String,
    params: Vec<(Cow<'q, str>, Cow<'q, str>)>,
}

impl<'q> PageLinks<'q> {
    /// Prepares the links of the list at `base_url` + `path` (base URL
    /// without trailing slash, path starting with `/`) requested with the
    /// raw `query` string (without `?`). O(p log p) for p parameters.
    pub fn new(base_url: &str, path: &str, query: &'q str) -> PageLinks<'q> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut params: Vec<_> = form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k != "page")
            .collect();
        // `sort_by` is stable: repeated parameters keep their relative order.
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let prefix = format!("{}{}", base_url.trim_end_matches('/'), path);
        PageLinks { prefix, params }
    }

    /// The URL of page `n` (1-based); page 1 has no `page` parameter.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::server::links::PageLinks;
    /// let l = PageLinks::new("http://x", "/l/", "username=a b&page_size=5");
    /// assert_eq!(l.url(1), "http://x/l/?page_size=5&username=a+b");
    /// assert_eq!(l.url(2), "http://x/l/?page=2&page_size=5&username=a+b");
    /// assert_eq!(PageLinks::new("http://x", "/l/", "").url(1), "http://x/l/");
    /// ```
    pub fn url(&self, n: u64) -> String {
        let page = n.to_string();
        let mut ser = form_urlencoded::Serializer::new(String::new());
        let mut page_written = n == 1;
        for (k, v) in &self.params {
            if !page_written && k.as_ref() > "page" {
                ser.append_pair("page", &page);
                page_written = true;
            }
            ser.append_pair(k, v);
        }
        if !page_written {
            ser.append_pair("page", &page);
        }
        let qs = ser.finish();
        if qs.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}?{qs}", self.prefix)
        }
    }

    /// The whole header value for a page: `first`, `prev` (if any), `next`
    /// (if any) and `last`.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::PageInfo;
    /// use usage_store::server::links::PageLinks;
    /// let info = PageInfo { count: 25, number: 2, num_pages: 3, page_size: 10 };
    /// assert_eq!(
    ///     PageLinks::new("http://x", "/l/", "page=2").header(&info),
    ///     r#"<http://x/l/>; rel="first", <http://x/l/>; rel="prev", <http://x/l/?page=3>; rel="next", <http://x/l/?page=3>; rel="last""#
    /// );
    /// ```
    pub fn header(&self, info: &PageInfo) -> String {
        let mut out = String::new();
        let mut push = |n: u64, rel: &str| {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push('<');
            out.push_str(&self.url(n));
            out.push_str(">; rel=\"");
            out.push_str(rel);
            out.push('"');
        };
        push(1, "first");
        if info.has_previous() {
            push(info.number - 1, "prev");
        }
        if info.has_next() {
            push(info.number + 1, "next");
        }
        push(info.num_pages.max(1), "last");
        out
    }
}

/// The `Link` header value of one list response: a shorthand for
/// [`PageLinks::new`] followed by [`PageLinks::header`].
///
/// # Examples
///
/// ```
/// use usage_store::PageInfo;
/// use usage_store::server::links::link_header;
/// let info = PageInfo { count: 1, number: 1, num_pages: 1, page_size: 10 };
/// let h = link_header("http://x", "/l/", "o=-usage,username", &info);
/// assert_eq!(h, r#"<http://x/l/?o=-usage%2Cusername>; rel="first", <http://x/l/?o=-usage%2Cusername>; rel="last""#);
/// ```
pub fn link_header(base_url: &str, path: &str, query: &str, info: &PageInfo) -> String {
    PageLinks::new(base_url, path, query).header(info)
}

/// The `(rel, URL)` pairs of a `Link` header value, in order; the inverse of
/// [`link_header`] as clients (the Waldur SDK, `sync`) read it: split on
/// commas, then on semicolons.
///
/// # Examples
///
/// ```
/// let h = r#"<http://x/l/>; rel="first", <http://x/l/?page=2>; rel="next""#;
/// let links = usage_store::server::links::parse_link_header(h);
/// assert_eq!(links, [("first", "http://x/l/"), ("next", "http://x/l/?page=2")]);
/// ```
pub fn parse_link_header(value: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for entry in value.split(',') {
        let mut parts = entry.split(';');
        let Some(url) = parts.next() else { continue };
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        for p in parts {
            if let Some(rel) = p.trim().strip_prefix("rel=") {
                out.push((rel.trim_matches(|c| c == '"' || c == '\''), url));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(number: u64, num_pages: u64) -> PageInfo {
        PageInfo {
            count: num_pages * 10,
            number,
            num_pages,
            page_size: 10,
        }
    }

    fn rels(h: &str) -> Vec<(String, String)> {
        parse_link_header(h)
            .into_iter()
            .map(|(r, u)| (r.to_owned(), u.to_owned()))
            .collect()
    }

    const B: &str = "http://localhost:8000";
    const P: &str = "/api/marketplace-component-user-usages/";

    #[test]
    fn first_page_has_no_page_parameter_and_no_prev() {
        let h = link_header(B, P, "page_size=5", &info(1, 3));
        assert_eq!(
            rels(&h),
            [
                ("first".into(), format!("{B}{P}?page_size=5")),
                ("next".into(), format!("{B}{P}?page=2&page_size=5")),
                ("last".into(), format!("{B}{P}?page=3&page_size=5")),
            ]
        );
    }

    #[test]
    fn middle_page_has_all_four_in_order() {
        let h = link_header(B, P, "page=2&page_size=5", &info(2, 3));
        let names: Vec<_> = parse_link_header(&h).into_iter().map(|(r, _)| r).collect();
        assert_eq!(names, ["first", "prev", "next", "last"]);
        // prev of page 2 is page 1: no page parameter at all.
        assert_eq!(parse_link_header(&h)[1].1, format!("{B}{P}?page_size=5"));
    }

    #[test]
    fn last_page_has_no_next_and_single_page_links_to_itself() {
        let h = link_header(B, P, "page=last", &info(3, 3));
        let names: Vec<_> = parse_link_header(&h).into_iter().map(|(r, _)| r).collect();
        assert_eq!(names, ["first", "prev", "last"]);
        assert_eq!(parse_link_header(&h)[2].1, format!("{B}{P}?page=3"));
        let h = link_header(B, P, "", &info(1, 1));
        assert_eq!(h, format!(r#"<{B}{P}>; rel="first", <{B}{P}>; rel="last""#));
    }

    #[test]
    fn parameters_sorted_stably_and_page_sorted_in() {
        let l = PageLinks::new(
            B,
            P,
            "type=cpu&o=username&page=9&o=-usage&field=uuid&username=x",
        );
        assert_eq!(
            l.url(4),
            format!("{B}{P}?field=uuid&o=username&o=-usage&page=4&type=cpu&username=x")
        );
        assert_eq!(
            l.url(1),
            format!("{B}{P}?field=uuid&o=username&o=-usage&type=cpu&username=x")
        );
    }

    #[test]
    fn every_page_parameter_is_replaced_even_when_repeated() {
        let l = PageLinks::new(B, P, "page=1&page=2&page=x");
        assert_eq!(l.url(2), format!("{B}{P}?page=2"));
    }

    #[test]
    fn no_raw_separators_in_urls() {
        let q = "o=-usage,username&username=a%20b%3Cc%3E%3Bd%2Ce&resource=http://h/api/marketplace-resources/1/&x=%22";
        let h = link_header(B, P, q, &info(2, 3));
        for (_, url) in parse_link_header(&h) {
            let query = url.split_once('?').unwrap().1;
            for bad in [',', ' ', '<', '>', ';', '"'] {
                assert!(!query.contains(bad), "{bad:?} in {url}");
            }
            assert!(query.contains("o=-usage%2Cusername"), "{url}");
        }
        // Splitting on commas, as clients do, gives exactly four entries.
        assert_eq!(h.split(',').count(), 4);
        // The values round-trip through decoding.
        let url = parse_link_header(&h)[0].1;
        let decoded: Vec<_> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()).collect();
        assert!(
            decoded
                .iter()
                .any(|(k, v)| k == "username" && v == "a b<c>;d,e")
        );
        assert!(decoded.iter().any(|(k, v)| k == "x" && v == "\""));
    }

    #[test]
    fn empty_values_and_plus_signs_are_kept() {
        let l = PageLinks::new(B, P, "?type=&username=a+b");
        assert_eq!(l.url(2), format!("{B}{P}?page=2&type=&username=a+b"));
    }

    #[test]
    fn base_url_trailing_slash_is_trimmed() {
        let l = PageLinks::new("http://h:1/", P, "");
        assert_eq!(l.url(2), format!("http://h:1{P}?page=2"));
    }

    #[test]
    fn parse_link_header_tolerates_noise() {
        assert!(parse_link_header("").is_empty());
        assert_eq!(parse_link_header(" <u>;rel='next' ,junk"), [("next", "u")]);
    }
}
