//! wrangler.jsonc: read as a JSON value, and edited through the CST so comments and layout survive.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstObject, CstObjectProp, CstRootNode};
use serde_json::Value;

use crate::OpsError;

/// The D1 binding the Worker uses.
pub const DB_BINDING: &str = "DB";

/// JSONC as wrangler accepts it: comments and trailing commas, nothing looser.
pub fn parse_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses the file's text into a JSON value.
pub fn parse_value(text: &str, shown: &str) -> Result<Value, OpsError> {
    let value: Option<Value> = jsonc_parser::parse_to_serde_value(text, &parse_options())
        .map_err(|e| parse_error(shown, &e))?;
    value
        .filter(Value::is_object)
        .ok_or_else(|| OpsError::WranglerParse {
            path: shown.to_string(),
            detail: "the top level is not an object".into(),
        })
}

/// A parse error naming the file.
fn parse_error(shown: &str, error: &jsonc_parser::errors::ParseError) -> OpsError {
    OpsError::WranglerParse {
        path: shown.to_string(),
        detail: error.to_string(),
    }
}

/// The `DB` entry of `d1_databases` in `env.<env>`.
pub fn d1_entry<'a>(config: &'a Value, env: &str) -> Option<&'a Value> {
    config
        .pointer(&format!("/env/{env}/d1_databases"))?
        .as_array()?
        .iter()
        .find(|db| db.get("binding").and_then(Value::as_str) == Some(DB_BINDING))
}

/// A string var of `env.<env>`.
pub fn env_var<'a>(config: &'a Value, env: &str, name: &str) -> Option<&'a str> {
    config.pointer(&format!("/env/{env}/vars/{name}"))?.as_str()
}

/// Whether `env` has a `ratelimits` entry named `name` with a `simple` limit.
pub fn has_rate_limiter(config: &Value, env: &str, name: &str) -> bool {
    let entries = config.pointer(&format!("/env/{env}/ratelimits"));
    entries.and_then(Value::as_array).is_some_and(|entries| {
        entries.iter().any(|entry| {
            entry.get("name").and_then(Value::as_str) == Some(name)
                && entry.pointer("/simple/limit").is_some_and(Value::is_u64)
        })
    })
}

/// A production value config-sync may write; nothing else is ever written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `env.production.d1_databases[binding = DB].database_id`.
    D1DatabaseId,
    /// `env.production.vars.ALLOWED_ORIGIN`.
    AllowedOrigin,
    /// `env.production.vars.STRIPE_API_VERSION`.
    StripeApiVersion,
    /// `env.production.vars.BILLING_CHECKOUT`: written only through the checkout gate.
    Checkout,
}

impl Target {
    /// Where the value lives, for reports.
    pub fn location(self) -> &'static str {
        match self {
            Target::D1DatabaseId => "env.production.d1_databases[DB].database_id",
            Target::AllowedOrigin => "env.production.vars.ALLOWED_ORIGIN",
            Target::StripeApiVersion => "env.production.vars.STRIPE_API_VERSION",
            Target::Checkout => "env.production.vars.BILLING_CHECKOUT",
        }
    }
}

/// wrangler.jsonc held as a concrete syntax tree.
pub struct Editor {
    root: CstRootNode,
    shown: String,
}

impl Editor {
    /// Parses the text; a file that is not valid JSONC is an error.
    pub fn parse(text: &str, shown: &str) -> Result<Editor, OpsError> {
        parse_value(text, shown)?;
        let root =
            CstRootNode::parse(text, &parse_options()).map_err(|e| parse_error(shown, &e))?;
        Ok(Editor {
            root,
            shown: shown.to_string(),
        })
    }

    /// The current string value of a target (`None` when the key is absent or not a string).
    pub fn get(&self, target: Target) -> Result<Option<String>, OpsError> {
        let (object, key) = self.holder(target)?;
        Ok(object.get(key).and_then(|prop| string_of(&prop)))
    }

    /// Sets a target to a string, replacing only its value (or appending the key when absent).
    pub fn set(&self, target: Target, value: &str) -> Result<(), OpsError> {
        let (object, key) = self.holder(target)?;
        let input = CstInputValue::String(value.to_string());
        match object.get(key) {
            Some(prop) => prop.set_value(input),
            None => {
                object.append(key, input);
            }
        }
        Ok(())
    }

    /// The edited text.
    pub fn text(&self) -> String {
        self.root.to_string()
    }

    /// The object holding a target, and the target's key in it.
    fn holder(&self, target: Target) -> Result<(CstObject, &'static str), OpsError> {
        let production = self
            .root
            .object_value()
            .and_then(|root| root.object_value("env"))
            .and_then(|env| env.object_value("production"))
            .ok_or_else(|| self.missing("env.production object"))?;
        match target {
            Target::AllowedOrigin => Ok((self.vars(&production)?, "ALLOWED_ORIGIN")),
            Target::StripeApiVersion => Ok((self.vars(&production)?, "STRIPE_API_VERSION")),
            Target::Checkout => Ok((self.vars(&production)?, "BILLING_CHECKOUT")),
            Target::D1DatabaseId => Ok((self.db(&production)?, "database_id")),
        }
    }

    /// `env.production.vars`.
    fn vars(&self, production: &CstObject) -> Result<CstObject, OpsError> {
        production
            .object_value("vars")
            .ok_or_else(|| self.missing("env.production.vars object"))
    }

    /// The `DB` entry of `env.production.d1_databases`.
    fn db(&self, production: &CstObject) -> Result<CstObject, OpsError> {
        production
            .array_value("d1_databases")
            .into_iter()
            .flat_map(|dbs| dbs.elements())
            .filter_map(|node| node.as_object())
            .find(|db| db.get("binding").and_then(|p| string_of(&p)).as_deref() == Some(DB_BINDING))
            .ok_or_else(|| self.missing("env.production.d1_databases entry with binding DB"))
    }

    /// The error for a missing section.
    fn missing(&self, what: &str) -> OpsError {
        OpsError::WranglerShape {
            path: self.shown.clone(),
            what: what.to_string(),
        }
    }
}

/// The decoded string value of a property.
fn string_of(prop: &CstObjectProp) -> Option<String> {
    prop.value()?.as_string_lit()?.decoded_value().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{
  // production only
  "env": {
    "production": {
      "vars": { "ALLOWED_ORIGIN": "https://old.example.com", /* keep */ "STRIPE_API_VERSION": "x" },
      "d1_databases": [{ "binding": "DB", "database_id": "old" }],
    },
  },
}
"#;

    #[test]
    fn edits_only_the_value() {
        let editor = Editor::parse(TEXT, "wrangler.jsonc").expect("parses");
        assert_eq!(
            editor.get(Target::D1DatabaseId).expect("has db").as_deref(),
            Some("old")
        );
        editor
            .set(Target::AllowedOrigin, "https://new.example.com")
            .expect("sets");
        editor.set(Target::D1DatabaseId, "new").expect("sets");
        let expected = TEXT
            .replace("https://old.example.com", "https://new.example.com")
            .replace("\"old\"", "\"new\"");
        assert_eq!(editor.text(), expected);
    }

    #[test]
    fn rejects_loose_jsonc() {
        assert!(Editor::parse("{ 'a': 1 }", "wrangler.jsonc").is_err());
        assert!(Editor::parse("{ \"a\": ", "wrangler.jsonc").is_err());
    }
}
