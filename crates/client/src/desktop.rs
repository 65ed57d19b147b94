//! The desktop app's license calls: first activation with the app token, refresh with the device token.

use crate::{Client, Error, types};

/// One desktop device talking to the billing API.
#[derive(Debug, Clone)]
pub struct Desktop {
    /// The API's base URL, e.g. `https://billing.example.com`.
    pub base_url: String,
    /// This device's identifier (8 to 128 characters of `A-Z a-z 0-9 . _ : -`).
    pub device_id: String,
}

/// Why a license call failed.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// An argument does not satisfy the spec (device id, checkout session id, token text).
    #[error("invalid argument: {0}")]
    Argument(String),
    /// The HTTP client could not be built.
    #[error("cannot build the http client: {0}")]
    Client(#[from] reqwest::Error),
    /// The API answered with a documented problem (`code` says which).
    #[error("the billing api refused ({status}): {code}", status = .0.status, code = .0.code)]
    Refused(types::Problem),
    /// No answer, or an undocumented one: stay offline in grace.
    #[error("the billing api did not answer usably: {0}")]
    Unavailable(String),
}

impl DesktopError {
    /// Network errors, 408, 429 and 5xx keep the device in offline grace; other 4xx deny.
    pub fn stay_in_grace(&self) -> bool {
        match self {
            DesktopError::Refused(problem) => {
                problem.status >= 500 || matches!(problem.status, 408 | 429)
            }
            DesktopError::Unavailable(_) => true,
            DesktopError::Argument(_) | DesktopError::Client(_) => false,
        }
    }
}

impl Desktop {
    /// A device of the API at `base_url`.
    pub fn new(base_url: impl Into<String>, device_id: impl Into<String>) -> Desktop {
        Desktop {
            base_url: base_url.into(),
            device_id: device_id.into(),
        }
    }

    /// First activation after checkout: the app token plus the Checkout Session id.
    pub async fn activate(
        &self,
        app_token: &str,
        checkout_session_id: &str,
    ) -> Result<types::LicenseStatus, DesktopError> {
        let session = types::CheckoutSessionId::try_from(checkout_session_id)
            .map_err(|e| DesktopError::Argument(format!("checkoutSessionId: {e}")))?;
        self.status(app_token, Some(&session)).await
    }

    /// Refresh with the device access token of the previous answer.
    pub async fn refresh(&self, device_token: &str) -> Result<types::LicenseStatus, DesktopError> {
        self.status(device_token, None).await
    }

    async fn status(
        &self,
        bearer: &str,
        checkout_session_id: Option<&types::CheckoutSessionId>,
    ) -> Result<types::LicenseStatus, DesktopError> {
        let device = types::DeviceId::try_from(self.device_id.as_str())
            .map_err(|e| DesktopError::Argument(format!("deviceId: {e}")))?;
        let client = self.client(bearer)?;
        match client.license_status(checkout_session_id, &device).await {
            Ok(answer) => Ok(answer.into_inner()),
            Err(Error::ErrorResponse(problem)) => Err(DesktopError::Refused(problem.into_inner())),
            Err(other) => Err(DesktopError::Unavailable(other.to_string())),
        }
    }

    /// The generated client with `Authorization: Bearer <bearer>` on every request.
    fn client(&self, bearer: &str) -> Result<Client, DesktopError> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {bearer}"))
            .map_err(|_| DesktopError::Argument("token: not a valid header value".to_owned()))?;
        value.set_sensitive(true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, value);
        let timeout = std::time::Duration::from_secs(15);
        let http = reqwest::ClientBuilder::new()
            .default_headers(headers)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Client::new_with_client(&self.base_url, http))
    }
}
