//! A GraphQL client for one `veritrial serve` process on 127.0.0.1.

use std::time::Duration;

use serde_json::{Value, json};

use crate::stats::Outcome;

/// The longest a request may take before it counts as failed (the server's own request
/// timeout is 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

/// One server's address, sharing a connection pool with the other clients.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Client {
    /// A client of each server in `urls`, over one connection pool.
    pub fn for_each(urls: &[String]) -> Vec<Client> {
        veritrial::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        urls.iter()
            .map(|url| Client {
                http: http.clone(),
                url: url.clone(),
            })
            .collect()
    }

    /// Runs a GraphQL operation; `Err` names why no JSON body came back.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        match response.json().await {
            Ok(body) => Ok(body),
            Err(_) => Err(format!("HTTP {status} without a JSON body")),
        }
    }

    /// Runs an operation and returns the field `field` of its data, or why it failed.
    pub async fn field(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        field: &str,
    ) -> Result<Value, String> {
        let body = self.gql(token, query, variables).await?;
        match &body["data"][field] {
            Value::Null => Err(graphql_error(&body)),
            value => Ok(value.clone()),
        }
    }

    /// Like [`Client::field`], for requests that are only counted.
    pub async fn outcome(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        field: &str,
    ) -> Outcome {
        self.field(Some(token), query, variables, field)
            .await
            .map(drop)
    }

    /// Signs in and returns the token.
    pub async fn login(&self, email: &str, password: &str) -> Result<String, String> {
        let query =
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
        let login = self
            .field(None, query, json!({ "e": email, "p": password }), "login")
            .await
            .map_err(|err| format!("sign-in of {email}: {err}"))?;
        login["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("sign-in of {email}: no token"))
    }

    /// `GET /healthz` as JSON.
    pub async fn health(&self) -> Result<Value, String> {
        let response = self
            .http
            .get(format!("{}/healthz", self.url))
            .send()
            .await
            .map_err(transport)?;
        if !response.status().is_success() {
            return Err(format!("/healthz answered HTTP {}", response.status()));
        }
        response
            .json()
            .await
            .map_err(|_| "/healthz: not JSON".to_string())
    }
}

/// The first error's `code`, or its message when it has none.
fn graphql_error(body: &Value) -> String {
    let error = &body["errors"][0];
    match (
        error["extensions"]["code"].as_str(),
        error["message"].as_str(),
    ) {
        (Some(code), _) => code.to_string(),
        (None, Some(message)) => format!("error without a code: {message}"),
        (None, None) => format!("neither data nor errors: {body}"),
    }
}

/// A transport failure by kind, so that failures of one kind are counted together.
fn transport(err: reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_request() || err.is_body() {
        "connection broken"
    } else {
        "failed"
    };
    format!("request {kind}")
}
