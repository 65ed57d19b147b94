//! `rt::query_of` and `rt::path_of` cut the same query and path out of a serialised URL as the
//! `url` crate parses; `rt::request_of` reads the Worker's one-string request head.

use nyra_api::rt::{path_of, query_of, request_of};
use proptest::prelude::*;

/// Serialises `input` the WHATWG way (as workerd hands it to the Worker), then compares.
fn agrees(input: &str) -> Result<(), TestCaseError> {
    let Ok(parsed) = url::Url::parse(input) else {
        return Ok(());
    };
    let serialised = parsed.as_str();
    prop_assert_eq!(
        query_of(serialised),
        parsed.query().unwrap_or_default(),
        "{}",
        serialised
    );
    prop_assert_eq!(path_of(serialised), parsed.path(), "{}", serialised);
    Ok(())
}

#[test]
fn query_of_matches_the_url_crate_on_known_shapes() {
    for url in [
        "https://example.com/",
        "https://example.com/foo?a=1&b=/x",
        "https://example.com/foo?",
        "https://example.com/foo#/frag?x",
        "https://example.com/foo?a=%23#frag?b",
        "https://example.com:8080/foo?q=%3F?",
        "https://example.com/a%3F%23%2Fb?c=%20d",
        "https://example.com?query",
        "https://user:p%3Fw@example.com//x?y",
        "http://127.0.0.1:8787/api/license/status?deviceId=dev%2F1&x=%F0%9F%93%B1",
    ] {
        assert_eq!(
            query_of(url),
            url::Url::parse(url).unwrap().query().unwrap_or_default(),
            "{url}"
        );
        assert_eq!(path_of(url), url::Url::parse(url).unwrap().path(), "{url}");
    }
}

#[test]
fn request_of_reads_method_url_and_headers() {
    let head = request_of(
        "post\nhttps://x.test/api/license/status?deviceId=a%3Fb#f\ncontent-length\n12\nX-A\nb: c\n",
    );
    assert_eq!(head.method, "POST");
    assert_eq!(head.path, "/api/license/status");
    assert_eq!(head.query, "deviceId=a%3Fb");
    assert_eq!(
        head.headers,
        [
            ("content-length".to_owned(), "12".to_owned()),
            ("x-a".to_owned(), "b: c".to_owned())
        ]
    );
    assert!(head.body.is_empty());
    assert_eq!(request_of("GET\nhttps://x.test\n").path, "/");
}

proptest! {
    #[test]
    fn query_of_matches_the_url_crate(
        path in "[a-z/%?#&=.2-3A-F ]{0,24}",
        query in proptest::option::of("[a-z/%?#&=.2-3A-F ]{0,24}"),
        fragment in proptest::option::of("[a-z/%?#&= ]{0,12}"),
    ) {
        let mut input = format!("http://127.0.0.1:8787/{path}");
        if let Some(query) = query {
            input.push('?');
            input.push_str(&query);
        }
        if let Some(fragment) = fragment {
            input.push('#');
            input.push_str(&fragment);
        }
        agrees(&input)?;
    }
}
