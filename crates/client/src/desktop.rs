//! The desktop app's license calls: first activation with the app token and the buyer's activation code, refresh with the device token.

use crate::{Client, Error, types};

/// One desktop device talking to the billing API.
#[derive(Debug, Clone)]
pub struct Desktop {
    /// The API's base URL, e.g. `https://billing.example.com`.
    pub base_url: String,
    /// This device's identifier (8 to 128 characters of `A-Z a-z 0-9 . _ : -`).
    pub device_id: String,
    /// The activation code the checkout answered; keep it like a licence key so a reinstall can
    /// activate again.
    pub activation_code: Option<String>,
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
            activation_code: None,
        }
    }

    /// The same device, holding the activation code of its checkout.
    pub fn with_activation_code(mut self, code: impl Into<String>) -> Desktop {
        self.activation_code = Some(code.into());
        self
    }

    /// First activation after checkout: the app token, the Checkout Session id and the
    /// activation code this device holds (`401 activation_code_invalid` without it).
    pub async fn activate(
        &self,
        app_token: &str,
        checkout_session_id: &str,
    ) -> Result<types::LicenseStatus, DesktopError> {
        let session = types::CheckoutSessionId::try_from(checkout_session_id)
            .map_err(|e| DesktopError::Argument(format!("checkoutSessionId: {e}")))?;
        let code = self
            .activation_code
            .as_deref()
            .map(types::ActivationCode::try_from)
            .transpose()
            .map_err(|e| DesktopError::Argument(format!("activationCode: {e}")))?;
        self.status(app_token, Some(&session), code.as_ref()).await
    }

    /// Refresh with the device access token of the previous answer (always keep the newest:
    /// older tokens are refused online).
    pub async fn refresh(&self, device_token: &str) -> Result<types::LicenseStatus, DesktopError> {
        self.status(device_token, None, None).await
    }

    async fn status(
        &self,
        bearer: &str,
        checkout_session_id: Option<&types::CheckoutSessionId>,
        activation_code: Option<&types::ActivationCode>,
    ) -> Result<types::LicenseStatus, DesktopError> {
        let device = types::DeviceId::try_from(self.device_id.as_str())
            .map_err(|e| DesktopError::Argument(format!("deviceId: {e}")))?;
        let client = self.client(bearer)?;
        let answer = client
            .license_status(activation_code, checkout_session_id, &device)
            .await;
        match answer {
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
