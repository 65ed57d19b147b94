//! HTML escaping and a small hand-written JSON/JSONC and SQL syntax highlighter.

/// The placeholder prefix wrangler.jsonc uses for ids not created yet.
pub const PLACEHOLDER_PREFIX: &str = "replace-with-";

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Wraps escaped text in a span of a token class.
fn span(class: &str, text: &str) -> String {
    format!("<span class=\"tok-{class}\">{}</span>", escape(text))
}

/// Highlights JSON (and JSONC comments); placeholder strings are marked.
pub fn json(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let (token, end) = json_token(&chars, i);
        out.push_str(&token);
        i = end;
    }
    out
}

/// One JSON token starting at `i`, rendered, and where the next one starts.
fn json_token(chars: &[char], i: usize) -> (String, usize) {
    let c = chars[i];
    if c == '"' {
        let end = string_end(chars, i, '"');
        let literal: String = chars[i..end].iter().collect();
        let is_key = chars[end..]
            .iter()
            .find(|c| !c.is_whitespace())
            .is_some_and(|c| *c == ':');
        return (json_string(&literal, is_key), end);
    }
    if c == '/' && chars.get(i + 1) == Some(&'/') {
        let end = until(chars, i, |c| c == '\n');
        return (span("comment", &collect(chars, i, end)), end);
    }
    if c == '-' || c.is_ascii_digit() {
        let end = until(chars, i + 1, |c| {
            !(c.is_ascii_alphanumeric() || ".+-".contains(c))
        });
        return (span("number", &collect(chars, i, end)), end);
    }
    if c.is_ascii_alphabetic() {
        let end = until(chars, i, |c| !c.is_ascii_alphanumeric());
        return (span("literal", &collect(chars, i, end)), end);
    }
    (escape(&c.to_string()), i + 1)
}

/// A string literal: key, value, or highlighted placeholder value.
fn json_string(literal: &str, is_key: bool) -> String {
    if is_key {
        span("key", literal)
    } else if literal.trim_matches('"').starts_with(PLACEHOLDER_PREFIX) {
        format!(
            "<mark class=\"placeholder\" title=\"placeholder: not created yet\">{}</mark>",
            span("string", literal)
        )
    } else {
        span("string", literal)
    }
}

/// SQL keywords highlighted by [`sql`].
const SQL_KEYWORDS: [&str; 41] = [
    "ADD",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "AUTOINCREMENT",
    "BEGIN",
    "BY",
    "CHECK",
    "COLUMN",
    "COMMIT",
    "CREATE",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DROP",
    "EXISTS",
    "FOREIGN",
    "FROM",
    "IF",
    "IN",
    "INDEX",
    "INSERT",
    "INTEGER",
    "INTO",
    "KEY",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "PRIMARY",
    "REAL",
    "REFERENCES",
    "SELECT",
    "SET",
    "STRICT",
    "TABLE",
    "TEXT",
    "UNIQUE",
    "UPDATE",
    "WHERE",
];

/// Highlights SQL: keywords, strings, numbers and `--` / `/* */` comments.
pub fn sql(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let (token, end) = sql_token(&chars, i);
        out.push_str(&token);
        i = end;
    }
    out
}

/// One SQL token starting at `i`, rendered, and where the next one starts.
fn sql_token(chars: &[char], i: usize) -> (String, usize) {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    if c == '-' && next == Some('-') {
        let end = until(chars, i, |c| c == '\n');
        return (span("comment", &collect(chars, i, end)), end);
    }
    if c == '/' && next == Some('*') {
        let end = block_comment_end(chars, i);
        return (span("comment", &collect(chars, i, end)), end);
    }
    if c == '\'' {
        let end = string_end(chars, i, '\'');
        return (span("string", &collect(chars, i, end)), end);
    }
    if c.is_ascii_digit() {
        let end = until(chars, i, |c| !(c.is_ascii_digit() || c == '.'));
        return (span("number", &collect(chars, i, end)), end);
    }
    if c.is_alphabetic() || c == '_' {
        let end = until(chars, i, |c| !(c.is_alphanumeric() || c == '_'));
        let word = collect(chars, i, end);
        let upper = word.to_ascii_uppercase();
        let class = if SQL_KEYWORDS.contains(&upper.as_str()) {
            "keyword"
        } else {
            "ident"
        };
        return (span(class, &word), end);
    }
    (escape(&c.to_string()), i + 1)
}

/// The index after a quoted string starting at `start` (backslash escapes for `"`, doubling for `'`).
fn string_end(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote == '"' => i += 2,
            '\'' if quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index after a `/* ... */` comment starting at `start`.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < chars.len() {
        if chars[i] == '*' && chars[i + 1] == '/' {
            return i + 2;
        }
        i += 1;
    }
    chars.len()
}

/// The first index at or after `start` where `stop` holds (or the end).
fn until(chars: &[char], start: usize, stop: impl Fn(char) -> bool) -> usize {
    (start..chars.len())
        .find(|&i| stop(chars[i]))
        .unwrap_or(chars.len())
}

/// `chars[start..end]` as a string.
fn collect(chars: &[char], start: usize, end: usize) -> String {
    chars[start..end].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn json_marks_keys_values_and_placeholders() {
        let html = json(r#"{"id": "replace-with-cloudflare-d1-database-id", "n": 1, "<b>": true}"#);
        assert!(html.contains("<span class=\"tok-key\">&quot;id&quot;</span>"));
        assert!(html.contains("<mark class=\"placeholder\""));
        assert!(html.contains("<span class=\"tok-number\">1</span>"));
        assert!(html.contains("&quot;&lt;b&gt;&quot;"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn sql_marks_keywords_strings_and_comments() {
        let html = sql("-- <x>\nCREATE TABLE t (a TEXT DEFAULT 'it''s');");
        assert!(html.contains("<span class=\"tok-comment\">-- &lt;x&gt;</span>"));
        assert!(html.contains("<span class=\"tok-keyword\">CREATE</span>"));
        assert!(html.contains("<span class=\"tok-string\">&#39;it&#39;&#39;s&#39;</span>"));
        assert!(html.contains("<span class=\"tok-ident\">t</span>"));
    }
}
