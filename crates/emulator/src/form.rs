//! Stripe's form encoding: `a[b][c]=v` bodies parsed into ordered key/value params.

use serde_json::{Map, Value};

/// The parameters of one form-encoded request, in the order received.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body (invalid UTF-8 is replaced, never fatal).
    pub fn parse(body: &[u8]) -> Params {
        let pairs = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs }
    }

    /// The value of `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// The `name` of every `prefix[name]` key, e.g. metadata keys, with their values.
    pub fn children(&self, prefix: &str) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter_map(|(k, v)| match split_key(k).as_deref() {
                Some([.., last]) if k.len() > prefix.len() && k.starts_with(prefix) => {
                    let rest = &k[prefix.len()..];
                    (rest == format!("[{last}]")).then(|| (last.to_string(), v.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The params as a flat JSON object `{"line_items[0][price]": "price_..."}` for the request log.
    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Value::Object(map)
    }
}

/// Splits `a[b][c]` into `["a", "b", "c"]`; `None` when the brackets are malformed.
pub fn split_key(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut out = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let segment = &inner[..end];
        if segment.contains('[') {
            return None;
        }
        out.push(segment);
        rest = &inner[end + 1..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_keys_and_plus_encoding() {
        let p = Params::parse(
            b"mode=subscription&line_items%5B0%5D%5Bprice%5D=price_x&metadata[deviceId]=dev+1",
        );
        assert_eq!(p.get("line_items[0][price]"), Some("price_x"));
        assert_eq!(p.get("metadata[deviceId]"), Some("dev 1"));
        assert_eq!(
            p.children("metadata"),
            vec![("deviceId".into(), "dev 1".into())]
        );
    }

    #[test]
    fn splits_keys() {
        assert_eq!(split_key("a"), Some(vec!["a"]));
        assert_eq!(split_key("a[b][0]"), Some(vec!["a", "b", "0"]));
        assert_eq!(split_key("expand[]"), Some(vec!["expand", ""]));
        assert_eq!(split_key("a[b"), None);
        assert_eq!(split_key("[b]"), None);
        assert_eq!(split_key("a[b]c"), None);
    }

    #[test]
    fn children_only_takes_direct_children() {
        let p = Params::parse(b"subscription_data[metadata][k]=v&metadata[x]=y");
        assert_eq!(
            p.children("subscription_data[metadata]"),
            vec![("k".into(), "v".into())]
        );
        assert_eq!(p.children("metadata"), vec![("x".into(), "y".into())]);
    }
}
