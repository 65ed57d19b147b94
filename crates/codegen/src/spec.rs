//! Loading the spec and answering questions about it: references, constraints, vendor extensions.

use crate::{CodegenError, Result};
use openapiv3::{
    OpenAPI, Operation, Parameter, ParameterData, ReferenceOr, RequestBody, Response, Schema,
    SchemaKind, StringType, Type,
};
use std::path::Path;

/// Reads and parses an OpenAPI 3.0 YAML document.
pub fn load(path: &Path) -> Result<OpenAPI> {
    let text = std::fs::read_to_string(path).map_err(|source| CodegenError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

/// Parses an OpenAPI 3.0 YAML document from text.
pub fn parse(text: &str) -> Result<OpenAPI> {
    yaml_serde::from_str(text).map_err(|e| CodegenError::Parse(e.to_string()))
}

/// An operation together with where it lives.
pub struct Op<'a> {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template.
    pub path: &'a str,
    /// The operation object.
    pub operation: &'a Operation,
}

impl Op<'_> {
    /// The operationId, required by this generator.
    pub fn id(&self) -> Result<&str> {
        self.operation
            .operation_id
            .as_deref()
            .ok_or_else(|| unsupported(self.path, "an operation without operationId"))
    }

    /// A vendor extension of the operation.
    pub fn extension(&self, name: &str) -> Option<&serde_json::Value> {
        self.operation.extensions.get(name)
    }

    /// True when the extension is the boolean `true`.
    pub fn flag(&self, name: &str) -> bool {
        self.extension(name).and_then(serde_json::Value::as_bool) == Some(true)
    }
}

/// Every operation of the spec, in document order.
pub fn operations(spec: &OpenAPI) -> Result<Vec<Op<'_>>> {
    let mut ops = Vec::new();
    for (path, item) in &spec.paths.paths {
        let item = item
            .as_item()
            .ok_or_else(|| unsupported(path, "a path item $ref"))?;
        for (method, operation) in item.iter() {
            ops.push(Op {
                method: method_name(method),
                path,
                operation,
            });
        }
    }
    Ok(ops)
}

fn method_name(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "put" => "PUT",
        "post" => "POST",
        "delete" => "DELETE",
        "options" => "OPTIONS",
        "head" => "HEAD",
        "patch" => "PATCH",
        _ => "TRACE",
    }
}

/// The name a `#/components/...` reference points at.
pub fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Looks up a component schema by name.
pub fn schema<'a>(spec: &'a OpenAPI, name: &str) -> Result<&'a Schema> {
    spec.components
        .as_ref()
        .and_then(|c| c.schemas.get(name))
        .and_then(ReferenceOr::as_item)
        .ok_or_else(|| unsupported(name, "a reference to a missing schema"))
}

/// Resolves a possibly-referenced schema to the schema itself.
pub fn resolve<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> Result<&'a Schema> {
    match schema {
        ReferenceOr::Item(item) => Ok(item),
        ReferenceOr::Reference { reference } => self::schema(spec, ref_name(reference)),
    }
}

/// Resolves a possibly-referenced boxed schema.
pub fn resolve_boxed<'a>(
    spec: &'a OpenAPI,
    schema: &'a ReferenceOr<Box<Schema>>,
) -> Result<&'a Schema> {
    match schema {
        ReferenceOr::Item(item) => Ok(item),
        ReferenceOr::Reference { reference } => self::schema(spec, ref_name(reference)),
    }
}

/// Resolves a possibly-referenced response.
pub fn response<'a>(
    spec: &'a OpenAPI,
    response: &'a ReferenceOr<Response>,
) -> Result<&'a Response> {
    match response {
        ReferenceOr::Item(item) => Ok(item),
        ReferenceOr::Reference { reference } => spec
            .components
            .as_ref()
            .and_then(|c| c.responses.get(ref_name(reference)))
            .and_then(ReferenceOr::as_item)
            .ok_or_else(|| unsupported(reference, "a reference to a missing response")),
    }
}

/// Resolves a possibly-referenced request body.
pub fn request_body<'a>(
    spec: &'a OpenAPI,
    body: &'a ReferenceOr<RequestBody>,
) -> Result<&'a RequestBody> {
    match body {
        ReferenceOr::Item(item) => Ok(item),
        ReferenceOr::Reference { reference } => spec
            .components
            .as_ref()
            .and_then(|c| c.request_bodies.get(ref_name(reference)))
            .and_then(ReferenceOr::as_item)
            .ok_or_else(|| unsupported(reference, "a reference to a missing request body")),
    }
}

/// The parameter data of a query or header parameter.
pub fn parameter(param: &ReferenceOr<Parameter>) -> Result<(&'static str, &ParameterData)> {
    match param {
        ReferenceOr::Item(Parameter::Query { parameter_data, .. }) => Ok(("query", parameter_data)),
        ReferenceOr::Item(Parameter::Header { parameter_data, .. }) => {
            Ok(("header", parameter_data))
        }
        _ => Err(unsupported(
            "parameters",
            "only inline query and header parameters",
        )),
    }
}

/// String constraints that the generated code checks at run time.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StringRules {
    /// `minLength`, in characters.
    pub min: Option<usize>,
    /// `maxLength`, in characters.
    pub max: Option<usize>,
    /// `pattern`, an ECMA-style regular expression.
    pub pattern: Option<String>,
}

impl StringRules {
    /// True when nothing needs checking.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The string constraints of a schema (after resolving a reference), if it is a plain string.
pub fn string_rules(spec: &OpenAPI, schema: &ReferenceOr<Box<Schema>>) -> Result<StringRules> {
    Ok(match &resolve_boxed(spec, schema)?.schema_kind {
        SchemaKind::Type(Type::String(s)) if s.enumeration.is_empty() => rules_of(s),
        _ => StringRules::default(),
    })
}

/// The constraints of a string type.
pub fn rules_of(s: &StringType) -> StringRules {
    StringRules {
        min: s.min_length,
        max: s.max_length,
        pattern: s.pattern.clone(),
    }
}

/// Builds an "unsupported" error.
pub fn unsupported(at: &str, what: &str) -> CodegenError {
    CodegenError::Unsupported {
        at: at.to_owned(),
        what: what.to_owned(),
    }
}
