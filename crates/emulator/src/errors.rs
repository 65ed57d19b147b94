//! Stripe-shaped API errors: `{"error": {"type", "code"?, "message", "param"?}}` with a status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// One Stripe API error answer.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    fn invalid(status: StatusCode, code: Option<&'static str>, message: String) -> ApiError {
        ApiError {
            status,
            kind: "invalid_request_error",
            code,
            message,
            param: None,
        }
    }

    /// Attaches the offending parameter's name.
    pub fn param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }

    /// 400 `parameter_unknown`.
    pub fn unknown(param: &str) -> ApiError {
        let msg = format!("Received unknown parameter: {param}");
        Self::invalid(StatusCode::BAD_REQUEST, Some("parameter_unknown"), msg).param(param)
    }

    /// 400 `parameter_missing`.
    pub fn missing(param: &str) -> ApiError {
        let msg = format!("Missing required param: {param}.");
        Self::invalid(StatusCode::BAD_REQUEST, Some("parameter_missing"), msg).param(param)
    }

    /// 400 `parameter_invalid_empty` (an empty string for a parameter that cannot be unset).
    pub fn empty(param: &str) -> ApiError {
        let msg = format!(
            "You passed an empty string for '{param}'. We assume empty values are an attempt to unset a parameter; however '{param}' cannot be unset. You should remove '{param}' from your request or supply a non-empty value."
        );
        Self::invalid(
            StatusCode::BAD_REQUEST,
            Some("parameter_invalid_empty"),
            msg,
        )
        .param(param)
    }

    /// 400 with an optional code, naming `param`.
    pub fn bad(param: &str, code: Option<&'static str>, message: impl Into<String>) -> ApiError {
        Self::invalid(StatusCode::BAD_REQUEST, code, message.into()).param(param)
    }

    /// 400 with no parameter (e.g. a bad content type).
    pub fn request(message: impl Into<String>) -> ApiError {
        Self::invalid(StatusCode::BAD_REQUEST, None, message.into())
    }

    /// 413 for a body over the emulator's limit.
    pub fn too_large() -> ApiError {
        let msg = "Request body too large.".to_owned();
        Self::invalid(StatusCode::PAYLOAD_TOO_LARGE, None, msg)
    }

    /// `resource_missing` for `No such <what>: '<id>'` with the given status.
    pub fn no_such(status: StatusCode, what: &str, id: &str, param: &str) -> ApiError {
        let msg = format!("No such {what}: '{id}'");
        Self::invalid(status, Some("resource_missing"), msg).param(param)
    }

    /// 401 for a missing or wrong secret key (the key is masked).
    pub fn unauthorized(presented: Option<&str>) -> ApiError {
        let msg = match presented {
            Some(key) => format!("Invalid API Key provided: {}", mask_key(key)),
            None => "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').".to_owned(),
        };
        Self::invalid(StatusCode::UNAUTHORIZED, None, msg)
    }

    /// 400 `idempotency_error` for a reused key with different parameters.
    pub fn idempotency(key: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "idempotency_error",
            code: None,
            message: format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
            param: None,
        }
    }

    /// 500 `api_error`, as during a Stripe incident.
    pub fn internal() -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "api_error",
            code: None,
            message: "An unknown error occurred (fault injected by the Stripe emulator).".into(),
            param: None,
        }
    }

    /// 404 for a URL Stripe does not serve.
    pub fn unrecognized(method: &str, path: &str) -> ApiError {
        let msg = format!(
            "Unrecognized request URL ({method}: {path}). The Stripe emulator serves only the subset the billing Worker calls."
        );
        Self::invalid(StatusCode::NOT_FOUND, None, msg)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        error.insert("type".into(), json!(self.kind));
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Masks a key like Stripe does: `sk_test_****************abcd`.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let prefix_len = key
        .match_indices('_')
        .nth(1)
        .map(|(i, _)| key[..=i].chars().count())
        .filter(|&n| n + 12 <= chars.len())
        .unwrap_or(0);
    let tail = if chars.len() >= prefix_len + 12 { 4 } else { 0 };
    let prefix: String = chars[..prefix_len].iter().collect();
    let suffix: String = chars[chars.len() - tail..].iter().collect();
    let stars = "*".repeat(chars.len() - prefix_len - tail);
    format!("{prefix}{stars}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::mask_key;

    #[test]
    fn masks_keys() {
        assert_eq!(
            mask_key("sk_test_local_abcdefgh1234"),
            "sk_test_**************1234"
        );
        assert_eq!(mask_key("short"), "*****");
        assert_eq!(mask_key("sk_test_"), "********");
        assert!(!mask_key("sk_live_secretvalue99").contains("secret"));
    }
}
