//! `components.schemas` to serde structs, string enums and type aliases, each with `validate`.

use crate::spec::{self, StringRules, unsupported};
use crate::{Result, pattern};
use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::{
    AdditionalProperties, IntegerFormat, ObjectType, OpenAPI, ReferenceOr, Schema, SchemaKind,
    StringType, Type, VariantOrUnknownOrEmpty,
};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// Generates the models module body.
pub fn generate(spec: &OpenAPI) -> Result<TokenStream> {
    let mut items = Vec::new();
    let schemas = spec.components.as_ref().map(|c| &c.schemas);
    for (name, schema) in schemas.into_iter().flatten() {
        let schema = schema
            .as_item()
            .ok_or_else(|| unsupported(name, "a component schema that is a $ref"))?;
        items.push(schema_item(spec, name, schema)?);
    }
    Ok(quote! {
        use crate::rt::{FieldError, Validate};
        #(#items)*
    })
}

fn schema_item(spec: &OpenAPI, name: &str, schema: &Schema) -> Result<TokenStream> {
    let doc = doc_attr(schema.schema_data.description.as_deref().unwrap_or(name));
    let ident = ident(name);
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(object)) => object_item(spec, name, &doc, object),
        SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => {
            Ok(enum_item(&ident, &doc, s))
        }
        SchemaKind::Type(Type::String(s)) => {
            // Refuse a pattern the runtime cannot match, even where no field uses the schema.
            pattern::option_tokens(s.pattern.as_deref())?;
            Ok(quote! { #doc pub type #ident = String; })
        }
        _ => Err(unsupported(
            name,
            "a component schema that is not an object or string",
        )),
    }
}

fn enum_item(name: &Ident, doc: &TokenStream, s: &StringType) -> TokenStream {
    let values: Vec<&str> = s.enumeration.iter().flatten().map(String::as_str).collect();
    let variants: Vec<Ident> = values
        .iter()
        .map(|v| ident(&v.to_upper_camel_case()))
        .collect();
    let docs = values.iter().map(|v| doc_attr(&format!("`{v}`")));
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum #name {
            #( #docs #[serde(rename = #values)] #variants, )*
        }
        impl #name {
            /// Every value, in spec order.
            pub const ALL: &'static [Self] = &[ #( Self::#variants ),* ];
            /// The wire value.
            pub fn as_str(self) -> &'static str {
                match self { #( Self::#variants => #values, )* }
            }
        }
        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

fn object_item(
    spec: &OpenAPI,
    name: &str,
    doc: &TokenStream,
    object: &ObjectType,
) -> Result<TokenStream> {
    let ident = ident(name);
    let mut fields = Vec::new();
    let mut checks = Vec::new();
    for (wire, prop) in &object.properties {
        let required = object.required.iter().any(|r| r == wire);
        let field = Field::new(spec, wire, prop, required)?;
        checks.push(field.check()?);
        fields.push(field.declaration());
    }
    let deny = match object.additional_properties {
        Some(AdditionalProperties::Any(true)) => {
            fields.push(quote! {
                /// Fields not described by the spec, kept as sent.
                #[serde(flatten)]
                pub extra: serde_json::Map<String, serde_json::Value>,
            });
            quote! {}
        }
        _ => quote! { #[serde(deny_unknown_fields)] },
    };
    Ok(quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #deny
        pub struct #ident { #(#fields)* }
        impl Validate for #ident {
            fn validate(&self) -> Result<(), FieldError> {
                #(#checks)*
                Ok(())
            }
        }
    })
}

/// One struct field and what is known about its schema.
struct Field {
    wire: String,
    ident: Ident,
    ty: TokenStream,
    optional: bool,
    skip_none: bool,
    rules: StringRules,
    nested: bool,
    doc: Option<String>,
}

impl Field {
    fn new(
        spec: &OpenAPI,
        wire: &str,
        prop: &ReferenceOr<Box<Schema>>,
        required: bool,
    ) -> Result<Self> {
        let resolved = spec::resolve_boxed(spec, prop)?;
        let nullable = resolved.schema_data.nullable;
        let (ty, nested) = rust_type(spec, wire, prop)?;
        Ok(Field {
            wire: wire.to_owned(),
            ident: ident(&wire.to_snake_case()),
            ty,
            optional: !required || nullable,
            skip_none: !required,
            rules: spec::string_rules(spec, prop)?,
            nested,
            doc: resolved.schema_data.description.clone(),
        })
    }

    fn declaration(&self) -> TokenStream {
        let Field {
            wire, ident, ty, ..
        } = self;
        let fallback = format!("The `{wire}` field.");
        let doc = doc_attr(self.doc.as_deref().unwrap_or(&fallback));
        let ty = if self.optional {
            quote!(Option<#ty>)
        } else {
            quote!(#ty)
        };
        let skip = if self.skip_none {
            // Absent is `None`; an explicit `null` is refused, as the schema is not nullable.
            quote!(#[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::rt::present")])
        } else {
            quote!()
        };
        quote! { #doc #[serde(rename = #wire)] #skip pub #ident: #ty, }
    }

    fn check(&self) -> Result<TokenStream> {
        let wire = &self.wire;
        let ident = &self.ident;
        let body = if self.nested {
            quote! { value.validate().map_err(|e| e.within(#wire))?; }
        } else if !self.rules.is_empty() {
            let min = option_tokens(self.rules.min);
            let max = option_tokens(self.rules.max);
            let pattern = pattern::option_tokens(self.rules.pattern.as_deref())?;
            quote! { crate::rt::check_str(#wire, value, #min, #max, #pattern)?; }
        } else {
            return Ok(quote!());
        };
        Ok(if self.optional {
            quote! { if let Some(value) = &self.#ident { #body } }
        } else {
            quote! { { let value = &self.#ident; #body } }
        })
    }
}

fn option_tokens(value: Option<usize>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

/// The Rust type of a property, and whether it is a generated struct to validate recursively.
fn rust_type(
    spec: &OpenAPI,
    at: &str,
    prop: &ReferenceOr<Box<Schema>>,
) -> Result<(TokenStream, bool)> {
    let schema = match prop {
        ReferenceOr::Reference { reference } => {
            let name = spec::ref_name(reference);
            let target = spec::schema(spec, name)?;
            let nested = matches!(target.schema_kind, SchemaKind::Type(Type::Object(_)));
            let ident = ident(name);
            return Ok((quote!(#ident), nested));
        }
        ReferenceOr::Item(schema) => schema,
    };
    let ty = match &schema.schema_kind {
        SchemaKind::Type(Type::String(_)) => quote!(String),
        SchemaKind::Type(Type::Boolean(_)) => quote!(bool),
        SchemaKind::Type(Type::Number(_)) => quote!(f64),
        SchemaKind::Type(Type::Integer(i)) => match i.format {
            VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32) => quote!(i32),
            _ => quote!(i64),
        },
        SchemaKind::Type(Type::Array(array)) => {
            let items = array
                .items
                .as_ref()
                .ok_or_else(|| unsupported(at, "an array without items"))?;
            let (inner, _) = rust_type(spec, at, items)?;
            quote!(Vec<#inner>)
        }
        SchemaKind::Type(Type::Object(o)) if o.properties.is_empty() => {
            quote!(serde_json::Map<String, serde_json::Value>)
        }
        _ => {
            return Err(unsupported(
                at,
                "an inline object with properties (move it to components)",
            ));
        }
    };
    Ok((ty, false))
}

/// A `#[doc]` attribute from spec text.
pub fn doc_attr(text: &str) -> TokenStream {
    let text = format!(" {}", text.trim());
    quote!(#[doc = #text])
}

/// An identifier, raw when it is a keyword.
pub fn ident(name: &str) -> Ident {
    match name {
        "type" | "ref" | "match" | "self" | "mod" | "use" | "fn" | "struct" | "enum" => {
            Ident::new_raw(name, Span::call_site())
        }
        _ => Ident::new(name, Span::call_site()),
    }
}
