//! Validates every answer the tests see against openapi.yaml: documented status, documented body shape.

use jsonschema::Validator;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The spec as JSON, with component schemas rewritten as JSON Schema.
struct Spec {
    document: Value,
    definitions: Value,
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(crate::paths::root().join("openapi.yaml"))
            .expect("openapi.yaml is readable");
        let document: Value = yaml_serde::from_str(&text).expect("openapi.yaml parses");
        let definitions = to_json_schema(&document["components"]["schemas"]);
        Spec {
            document,
            definitions,
        }
    })
}

/// Rewrites OpenAPI 3.0 schema objects as JSON Schema: `$ref` targets and `nullable`.
pub fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(r)) => {
                        out.insert(
                            key.clone(),
                            json!(r.replace("#/components/schemas/", "#/definitions/")),
                        );
                    }
                    ("nullable" | "example" | "x-max-body-bytes", _) => {}
                    _ => {
                        out.insert(key.clone(), to_json_schema(inner));
                    }
                }
            }
            if let (Some(Value::Bool(true)), Some(Value::String(t))) =
                (map.get("nullable"), map.get("type"))
            {
                out.insert("type".into(), json!([t, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// Why an answer does not match the spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The status is not documented for the operation.
    #[error("{method} {path} answered {status}, which openapi.yaml does not document")]
    UndocumentedStatus {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status.
        status: u16,
    },
    /// The body does not match the documented schema.
    #[error("{method} {path} {status}: body does not match the spec: {detail}\nbody: {body}")]
    Shape {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status.
        status: u16,
        /// Validator messages.
        detail: String,
        /// The body.
        body: String,
    },
}

/// The JSON schema the spec documents for an answer; route-level answers (404/405/403) are problems.
fn schema_for(method: &str, path: &str, status: u16) -> Option<Value> {
    let spec = spec();
    let operation = &spec.document["paths"][path][method.to_ascii_lowercase()];
    if operation.is_null() || method == "OPTIONS" {
        return (403..=405)
            .contains(&status)
            .then(|| json!({"$ref": "#/definitions/Problem"}));
    }
    let mut response = operation["responses"][status.to_string()].clone();
    if let Some(Value::String(r)) = response.get("$ref") {
        let name = r.rsplit('/').next().unwrap_or_default();
        response = spec.document["components"]["responses"][name].clone();
    }
    if response.is_null() {
        return None;
    }
    Some(to_json_schema(
        &response["content"]["application/json"]["schema"],
    ))
}

/// The media types the spec documents for an answer (empty when it documents no body).
fn media_types(method: &str, path: &str, status: u16) -> Vec<String> {
    let spec = spec();
    let operation = &spec.document["paths"][path][method.to_ascii_lowercase()];
    if operation.is_null() || method == "OPTIONS" {
        return vec!["application/json".to_owned()];
    }
    let mut response = operation["responses"][status.to_string()].clone();
    if let Some(Value::String(r)) = response.get("$ref") {
        let name = r.rsplit('/').next().unwrap_or_default();
        response = spec.document["components"]["responses"][name].clone();
    }
    response["content"]
        .as_object()
        .map(|content| content.keys().cloned().collect())
        .unwrap_or_default()
}

/// Checks the headers the spec and HTTP require of an answer: a `Content-Type` the spec
/// documents for it (when it has a body), and `Allow` on every 405 (RFC 9110).
pub fn check_headers(
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    allow: Option<&str>,
    has_body: bool,
) -> Result<(), String> {
    if status == 405 && allow.is_none_or(str::is_empty) {
        return Err(format!("{method} {path}: 405 without an Allow header"));
    }
    let documented = media_types(method, path, status);
    if !has_body || documented.is_empty() {
        return Ok(());
    }
    let media = content_type
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if documented.contains(&media) {
        Ok(())
    } else {
        Err(format!(
            "{method} {path}: {status} answered content-type {media:?}, the spec documents {documented:?}"
        ))
    }
}

/// Checks that `status` is documented for `method path` and that a JSON body matches its schema.
pub fn check(method: &str, path: &str, status: u16, body: &[u8]) -> Result<(), SpecError> {
    if status == 204 && method == "OPTIONS" {
        return Ok(());
    }
    if method == "HEAD" && status == 200 {
        // HEAD is GET without the body (RFC 9110): the status must be one GET documents.
        return check("GET", path, status, b"null").or_else(|e| match e {
            SpecError::Shape { .. } => Ok(()),
            other => Err(other),
        });
    }
    let Some(schema) = schema_for(method, path, status) else {
        return Err(SpecError::UndocumentedStatus {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    };
    if schema.is_null() {
        return Ok(());
    }
    let shape = |detail: String| SpecError::Shape {
        method: method.to_owned(),
        path: path.to_owned(),
        status,
        detail,
        body: String::from_utf8_lossy(body).chars().take(2000).collect(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| shape(e.to_string()))?;
    let mut full = schema;
    full["definitions"] = spec().definitions.clone();
    let validator: Validator = jsonschema::draft4::new(&full).map_err(|e| shape(e.to_string()))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(shape(errors.join("; ")))
    }
}
