//! The PUT to the presigned ResponseURL: no Content-Type (S3 signs the request without one),
//! an explicit Content-Length, and retries on transport errors and 5xx until the deadline.

use super::event::redact_url;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::time::Instant;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const MAX_ATTEMPT: Duration = Duration::from_secs(10);
/// Even past the deadline one attempt is made, with this much time.
const LAST_CHANCE: Duration = Duration::from_secs(2);

/// Built on first use, not at init: loading the trust store is not needed to answer the
/// Runtime API's first poll.
fn client() -> &'static HttpClient {
    static CLIENT: OnceLock<HttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let builder = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(with_roots) => with_roots,
            Err(err) => {
                // Plain-http ResponseURLs (local runs) still work; https ones will fail loudly.
                tracing::warn!(error = %err, "no system trust store; https ResponseURLs will fail");
                let config = rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth();
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        Client::builder(TokioExecutor::new()).build(connector)
    })
}

/// Sends `body`, retrying until `give_up_at`. Returns the final HTTP status.
pub async fn send_response(url: &str, body: Vec<u8>, give_up_at: Instant) -> Result<u16, String> {
    let shown_url = redact_url(url);
    let uri: hyper::Uri = url
        .parse()
        .map_err(|err| format!("ResponseURL {shown_url} is not a valid URL: {err}"))?;
    let body = Bytes::from(body);
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let request = hyper::Request::put(uri.clone())
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .body(Full::new(body.clone()))
            .map_err(|err| format!("could not build the response request: {err}"))?;
        let now = Instant::now();
        let budget = give_up_at
            .saturating_duration_since(now)
            .clamp(LAST_CHANCE.min(MAX_ATTEMPT), MAX_ATTEMPT);
        let failure = match tokio::time::timeout(budget, client().request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => {
                tracing::info!(url = %shown_url, status = response.status().as_u16(), attempt, "response delivered");
                return Ok(response.status().as_u16());
            }
            Ok(Ok(response)) if !retryable(response.status()) => {
                return Err(format!(
                    "{shown_url} answered {} (not retried)",
                    response.status()
                ));
            }
            Ok(Ok(response)) => format!("answered {}", response.status()),
            Ok(Err(err)) => format!("transport error: {err}"),
            Err(_) => format!("no answer within {} ms", budget.as_millis()),
        };
        let next_try = Instant::now() + backoff;
        if next_try >= give_up_at {
            return Err(format!(
                "{shown_url}: gave up after {attempt} attempts at the deadline; last: {failure}"
            ));
        }
        tracing::warn!(url = %shown_url, attempt, failure = %failure, "response PUT failed; retrying");
        tokio::time::sleep_until(next_try).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn retryable(status: hyper::StatusCode) -> bool {
    status.is_server_error() || status == hyper::StatusCode::TOO_MANY_REQUESTS
}
