//! Operations to typed requests, typed response enums, the `BillingApi` trait and `dispatch`.

use crate::models::{doc_attr, ident};
use crate::spec::{self, Op, StringRules, unsupported};
use crate::{Result, pattern};
use heck::{ToSnakeCase, ToUpperCamelCase};
use openapiv3::{OpenAPI, ReferenceOr, StatusCode};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

/// Default body limit for operations without `x-max-body-bytes`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024;

/// Generates the server module body.
pub fn generate(spec: &OpenAPI) -> Result<TokenStream> {
    let ops = spec::operations(spec)?;
    let mut items = Vec::new();
    let mut table = Vec::new();
    let mut variants = Vec::new();
    let mut names = Vec::new();
    let mut methods = Vec::new();
    let mut arms = Vec::new();
    for op in &ops {
        let served = Served::new(spec, op)?;
        table.push(served.table_entry());
        variants.push(served.id_variant());
        names.push(served.id_name());
        if op.flag("x-static-asset") {
            arms.push(served.static_arm());
            continue;
        }
        items.push(served.request_struct());
        items.push(served.response_enum());
        items.push(served.parse_fn());
        methods.push(served.trait_method());
        arms.push(served.dispatch_arm());
    }
    Ok(quote! {
        use crate::models::*;
        use crate::rt::{self, HttpRequest, HttpResponse};

        #(#items)*

        /// The operations of the spec, one variant per `operationId`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum OperationId { #(#variants)* }

        impl OperationId {
            /// The spec's `operationId`.
            pub fn as_str(&self) -> &'static str { match self { #(#names)* } }
        }

        impl std::fmt::Display for OperationId {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// One operation of the spec as the router sees it.
        pub type Operation = rt::Operation<OperationId>;

        /// Every operation of the spec, including those served as static assets.
        pub const OPERATIONS: &[Operation] = &[ #(#table),* ];

        /// The API the Worker implements: one method per operation, typed both ways.
        #[allow(async_fn_in_trait)]
        pub trait BillingApi {
            #(#methods)*
        }

        /// The one router: the operation for a request's method and path (its body not read
        /// yet); answers CORS preflight, 404 and 405 itself.
        pub fn route(
            config: &rt::DispatchConfig,
            request: &HttpRequest,
        ) -> Result<&'static Operation, HttpResponse> {
            rt::route(OPERATIONS, config, request)
        }

        /// Checks the routed request's body (413, 415), calls the trait and turns its typed
        /// answer back into HTTP.
        pub async fn dispatch<A: BillingApi>(
            api: &A,
            config: &rt::DispatchConfig,
            operation: &'static Operation,
            request: HttpRequest,
        ) -> HttpResponse {
            if let Err(response) = rt::admit(operation, &request) {
                return response;
            }
            let origin = rt::header(&request, "origin");
            let response = match operation.id {
                #(#arms)*
            };
            rt::finish(operation, config, origin.as_deref(), response)
        }
    })
}

/// One parameter of an operation.
struct Param {
    wire: String,
    ident: Ident,
    location: &'static str,
    required: bool,
    rules: StringRules,
    /// The compiled `pattern` argument of its check.
    pattern: TokenStream,
}

/// One documented response.
struct Answer {
    status: u16,
    variant: Ident,
    ty: Ident,
}

/// What the generator knows about one operation.
struct Served<'a> {
    op: &'a Op<'a>,
    id: String,
    name: String,
    params: Vec<Param>,
    bearer: bool,
    body: Option<Ident>,
    raw_body: bool,
    answers: Vec<Answer>,
}

impl<'a> Served<'a> {
    fn new(spec: &OpenAPI, op: &'a Op<'a>) -> Result<Self> {
        let id = op.id()?.to_owned();
        let bearer = op
            .operation
            .security
            .as_ref()
            .or(spec.security.as_ref())
            .is_some_and(|s| !s.is_empty());
        Ok(Served {
            op,
            name: id.to_upper_camel_case(),
            params: params(spec, op)?,
            bearer,
            body: body_type(spec, op)?,
            raw_body: op.flag("x-raw-body"),
            answers: answers(spec, op)?,
            id,
        })
    }

    fn request_ident(&self) -> Ident {
        ident(&format!("{}Request", self.name))
    }

    fn response_ident(&self) -> Ident {
        ident(&format!("{}Response", self.name))
    }

    fn parse_ident(&self) -> Ident {
        ident(&format!("parse_{}", self.id.to_snake_case()))
    }

    fn id_ident(&self) -> Ident {
        ident(&self.name)
    }

    fn id_variant(&self) -> TokenStream {
        let variant = self.id_ident();
        let doc = doc_attr(&format!("`{}`", self.id));
        quote! { #doc #variant, }
    }

    fn id_name(&self) -> TokenStream {
        let variant = self.id_ident();
        let id = &self.id;
        quote! { Self::#variant => #id, }
    }

    fn table_entry(&self) -> TokenStream {
        let id = self.id_ident();
        let method = self.op.method;
        let path = self.op.path;
        let max = self
            .op
            .extension("x-max-body-bytes")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES) as usize;
        let json_body = self.body.is_some();
        let raw_body = self.raw_body;
        let cors = !matches!(
            self.op.extension("x-cors"),
            Some(serde_json::Value::Bool(false))
        );
        let static_asset = self.op.flag("x-static-asset");
        let statuses = self.answers.iter().map(|a| a.status);
        quote! {
            Operation {
                id: OperationId::#id, method: #method, path: #path, max_body_bytes: #max,
                json_body: #json_body, raw_body: #raw_body, cors: #cors,
                static_asset: #static_asset, statuses: &[#(#statuses),*],
            }
        }
    }

    fn request_struct(&self) -> TokenStream {
        let ident = self.request_ident();
        let doc = doc_attr(&format!("The parsed, validated request of `{}`.", self.id));
        let mut fields: Vec<TokenStream> = self
            .params
            .iter()
            .map(|p| {
                let field = &p.ident;
                let doc = doc_attr(&format!("The `{}` {} parameter.", p.wire, p.location));
                let ty = if p.required {
                    quote!(String)
                } else {
                    quote!(Option<String>)
                };
                quote! { #doc pub #field: #ty, }
            })
            .collect();
        if self.bearer {
            fields.push(quote! {
                /// The token of an `Authorization: Bearer` header, if one was sent.
                pub bearer: Option<String>,
            });
        }
        if self.raw_body {
            fields.push(quote! {
                /// The exact request body bytes (the operation is marked `x-raw-body`).
                pub body: Vec<u8>,
            });
        } else if let Some(body) = &self.body {
            fields.push(quote! { /// The request body.
            pub body: #body, });
        }
        quote! { #doc #[derive(Debug, Clone, PartialEq)] pub struct #ident { #(#fields)* } }
    }

    fn response_enum(&self) -> TokenStream {
        let ident = self.response_ident();
        let doc = doc_attr(&format!("Every documented answer of `{}`.", self.id));
        let variants = self.answers.iter().map(|a| {
            let Answer {
                status,
                variant,
                ty,
            } = a;
            let doc = doc_attr(&format!("HTTP {status}."));
            quote! { #doc #variant(#ty), }
        });
        let statuses = self.answers.iter().map(|a| {
            let Answer {
                status,
                variant,
                ty,
            } = a;
            if ty == "Problem" {
                quote! { Self::#variant(body) => rt::status_of(body.code), }
            } else {
                quote! { Self::#variant(_) => #status, }
            }
        });
        let encodes = self.answers.iter().map(|a| {
            let Answer {
                status,
                variant,
                ty,
            } = a;
            if ty == "Problem" {
                quote! { Self::#variant(body) => rt::problem(body), }
            } else {
                quote! { Self::#variant(body) => rt::json(#status, &body), }
            }
        });
        let from_problem = self.problem_conversion();
        quote! {
            #doc
            #[derive(Debug, Clone, PartialEq)]
            pub enum #ident { #(#variants)* }
            impl #ident {
                /// The HTTP status of this answer (a problem's is always its code's status).
                pub fn status(&self) -> u16 { match self { #(#statuses)* } }
                /// Encodes this answer as HTTP.
                pub fn into_http(self) -> HttpResponse { match self { #(#encodes)* } }
            }
            #from_problem
        }
    }

    /// `From<Problem>`: the variant documenting the code's status; an undocumented status
    /// falls to the last problem variant (the status stays the code's own).
    fn problem_conversion(&self) -> TokenStream {
        let problems: Vec<&Answer> = self.answers.iter().filter(|a| a.ty == "Problem").collect();
        let Some((last, rest)) = problems.split_last() else {
            return quote!();
        };
        let ident = self.response_ident();
        let arms = rest.iter().map(|a| {
            let Answer {
                status, variant, ..
            } = a;
            quote! { #status => Self::#variant(problem), }
        });
        let fallback = &last.variant;
        let pick = if rest.is_empty() {
            quote! { Self::#fallback(problem) }
        } else {
            quote! {
                match rt::status_of(problem.code) {
                    #(#arms)*
                    _ => Self::#fallback(problem),
                }
            }
        };
        quote! {
            impl From<Problem> for #ident {
                fn from(problem: Problem) -> Self { #pick }
            }
        }
    }

    fn parse_fn(&self) -> TokenStream {
        let ident = self.parse_ident();
        let request = self.request_ident();
        let mut lets = Vec::new();
        let mut fields = Vec::new();
        if self.params.iter().any(|p| p.location == "query") {
            lets.push(quote! { let query = rt::query_pairs(&request.query); });
        }
        for p in &self.params {
            lets.push(param_let(p));
            let field = &p.ident;
            fields.push(quote!(#field));
        }
        if self.bearer {
            lets.push(quote! { let bearer = rt::bearer(&request); });
            fields.push(quote!(bearer));
        }
        if self.raw_body {
            lets.push(quote! { let body = request.body; });
            fields.push(quote!(body));
        } else if self.body.is_some() {
            lets.push(quote! { let body = rt::json_body(&request.body)?; });
            fields.push(quote!(body));
        }
        let unused = if fields.is_empty() {
            quote!(let _ = request;)
        } else {
            quote!()
        };
        quote! {
            fn #ident(request: HttpRequest) -> Result<#request, HttpResponse> {
                #unused
                #(#lets)*
                Ok(#request { #(#fields),* })
            }
        }
    }

    fn trait_method(&self) -> TokenStream {
        let method = ident(&self.id.to_snake_case());
        let request = self.request_ident();
        let response = self.response_ident();
        let summary = self.op.operation.summary.as_deref().unwrap_or(&self.id);
        let doc = doc_attr(&format!(
            "{summary} (`{} {}`).",
            self.op.method, self.op.path
        ));
        quote! { #doc async fn #method(&self, request: #request) -> #response; }
    }

    fn dispatch_arm(&self) -> TokenStream {
        let variant = self.id_ident();
        let parse = self.parse_ident();
        let method = ident(&self.id.to_snake_case());
        quote! {
            OperationId::#variant => match #parse(request) {
                Ok(parsed) => api.#method(parsed).await.into_http(),
                Err(response) => response,
            },
        }
    }

    /// Static assets never reach the Worker; `route` answers 404 for them.
    fn static_arm(&self) -> TokenStream {
        let variant = self.id_ident();
        quote! { OperationId::#variant => rt::route_not_found(&request.path), }
    }
}

fn param_let(p: &Param) -> TokenStream {
    let Param {
        wire,
        ident,
        location,
        required,
        rules,
        pattern,
    } = p;
    let fetch = if *location == "query" {
        quote! { rt::query_value(&query, #wire) }
    } else {
        let lower = wire.to_ascii_lowercase();
        quote! { rt::header(&request, #lower) }
    };
    let min = opt(rules.min);
    let max = opt(rules.max);
    let check =
        quote! { rt::check_param(#location, #wire, value.as_deref(), #min, #max, #pattern)?; };
    let take = if *required {
        quote! { rt::require_param(#location, #wire, value)? }
    } else {
        quote! { value }
    };
    quote! { let #ident = { let value = #fetch; #check #take }; }
}

fn opt(value: Option<usize>) -> TokenStream {
    match value {
        Some(v) => quote!(Some(#v)),
        None => quote!(None),
    }
}

fn params(spec: &OpenAPI, op: &Op<'_>) -> Result<Vec<Param>> {
    let mut out = Vec::new();
    for param in &op.operation.parameters {
        let (location, data) = spec::parameter(param)?;
        let rules = match &data.format {
            openapiv3::ParameterSchemaOrContent::Schema(schema) => string_rules(spec, schema)?,
            _ => return Err(unsupported(&data.name, "parameter content (use schema)")),
        };
        out.push(Param {
            wire: data.name.clone(),
            ident: ident(&data.name.to_snake_case()),
            location,
            required: data.required,
            pattern: pattern::option_tokens(rules.pattern.as_deref())?,
            rules,
        });
    }
    Ok(out)
}

fn string_rules(spec: &OpenAPI, schema: &ReferenceOr<openapiv3::Schema>) -> Result<StringRules> {
    Ok(match &spec::resolve(spec, schema)?.schema_kind {
        openapiv3::SchemaKind::Type(openapiv3::Type::String(s)) => spec::rules_of(s),
        _ => StringRules::default(),
    })
}

fn body_type(spec: &OpenAPI, op: &Op<'_>) -> Result<Option<Ident>> {
    let Some(body) = &op.operation.request_body else {
        return Ok(None);
    };
    let body = spec::request_body(spec, body)?;
    let media = body
        .content
        .get("application/json")
        .ok_or_else(|| unsupported(op.path, "a request body that is not application/json"))?;
    // `rt::json_body` refuses any body that is not a JSON object before serde sees it.
    match &media.schema {
        Some(schema @ ReferenceOr::Reference { reference })
            if matches!(
                spec::resolve(spec, schema)?.schema_kind,
                openapiv3::SchemaKind::Type(openapiv3::Type::Object(_))
            ) =>
        {
            Ok(Some(ident(spec::ref_name(reference))))
        }
        _ => Err(unsupported(
            op.path,
            "a request body schema that is not a $ref to an object schema",
        )),
    }
}

fn answers(spec: &OpenAPI, op: &Op<'_>) -> Result<Vec<Answer>> {
    let mut out = Vec::new();
    for (code, response) in &op.operation.responses.responses {
        let StatusCode::Code(status) = code else {
            return Err(unsupported(op.path, "status ranges"));
        };
        let response = spec::response(spec, response)?;
        let ty = match response
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
        {
            Some(ReferenceOr::Reference { reference }) => ident(spec::ref_name(reference)),
            _ => ident("Json"),
        };
        out.push(Answer {
            status: *status,
            variant: ident(status_name(*status)),
            ty,
        });
    }
    Ok(out)
}

/// The response-enum variant name of a status code.
fn status_name(status: u16) -> &'static str {
    match status {
        200 => "Ok",
        201 => "Created",
        204 => "NoContent",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "Other",
    }
}
