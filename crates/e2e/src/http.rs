//! An HTTP client for tests that checks every answer against openapi.yaml before handing it over.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// One answer of the Worker.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Talks to one Worker.
#[derive(Clone)]
pub struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    /// A client of the Worker at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Self {
        Http {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// Sends a request and checks the answer against the spec (panics on a mismatch).
    pub async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        let mut request = self
            .client
            .request(method_value, format!("{}{target}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send().await.expect("the worker answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("a body").to_vec();
        let path = target.split('?').next().unwrap_or(target);
        if let Err(e) = crate::spec::check(method, path, status, &body) {
            panic!("{e}");
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (content_type, allow) = (header("content-type"), header("allow"));
        let has_body = !body.is_empty();
        if let Err(e) =
            crate::spec::check_headers(method, path, status, content_type, allow, has_body)
        {
            panic!("{e}");
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET.
    pub async fn get(&self, target: &str, headers: &[(&str, &str)]) -> Answer {
        self.send("GET", target, headers, Vec::new()).await
    }

    /// POST with a JSON body.
    pub async fn post_json(&self, target: &str, headers: &[(&str, &str)], body: &Value) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(
            "POST",
            target,
            &all,
            serde_json::to_vec(body).unwrap_or_default(),
        )
        .await
    }
}
