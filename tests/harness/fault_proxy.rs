//! A proxy between a function binary and the emulator that injects the faults AWS endpoints
//! show: reset connections, silence, 500/503, throttling, a connection cut mid-response,
//! and an emulator that dies part-way through a multi-call Create.
//!
//! Requests are forwarded one per upstream connection (`connection: close`), so each fault is
//! applied per request. Throttling answers in the request's own protocol, so the SDK sees a
//! real `ThrottlingException`/`Throttling` error code and applies its retry policy.

use crate::http::{HttpRequest, read_request, write_response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Close every connection as soon as it is accepted (a reset; for a refused connection,
    /// give the function an endpoint nothing listens on).
    Reset,
    /// Read the request and never answer.
    Hang,
    /// Answer every request with this status and an `InternalFailure`/`ServiceUnavailable` body.
    Status(u16),
    /// Answer the next N requests with a throttling error, then forward.
    Throttle(u32),
    /// Forward, then send only the first half of the response and close.
    DropMidResponse,
    /// Forward N requests, then refuse everything: the emulator died mid-way.
    DieAfter(u32),
    /// Forward every request this many milliseconds late: a slow endpoint.
    Slow(u64),
}

struct State {
    fault: Mutex<Fault>,
    /// The signing name of the only service the fault applies to (`sns`, `monitoring`);
    /// every other service's requests pass. `None`: every request.
    only: Mutex<Option<String>>,
    /// Requests counted since the fault was set (for Throttle and DieAfter).
    seen: AtomicU32,
    /// The operations that reached the emulator, in order.
    forwarded: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub endpoint: String,
    upstream: SocketAddr,
    state: Arc<State>,
}

impl FaultProxy {
    /// A proxy in front of `upstream` (the emulator's `http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("emulator endpoint is host:port");
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = socket.local_addr().expect("proxy addr");
        let proxy = FaultProxy {
            endpoint: format!("http://{addr}"),
            upstream,
            state: Arc::new(State {
                fault: Mutex::new(Fault::Pass),
                seen: AtomicU32::new(0),
                forwarded: Mutex::default(),
                only: Mutex::default(),
            }),
        };
        let serving = proxy.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let proxy = serving.clone();
                tokio::spawn(async move { proxy.serve(stream).await });
            }
        });
        proxy
    }

    /// Applies `fault` to every request from now on.
    pub fn set(&self, fault: Fault) {
        self.apply(fault, None);
    }

    /// Applies `fault` to the requests of one service only, named as requests are signed
    /// (`kms`, `sns`, `monitoring` for CloudWatch, `logs`); the others pass.
    pub fn set_for(&self, service: &str, fault: Fault) {
        self.apply(fault, Some(service.to_owned()));
    }

    fn apply(&self, fault: Fault, only: Option<String>) {
        *self.state.fault.lock().expect("lock") = fault;
        *self.state.only.lock().expect("lock") = only;
        self.state.seen.store(0, Ordering::SeqCst);
    }

    /// The operations that reached the emulator since the proxy started, in order.
    pub fn forwarded(&self) -> Vec<String> {
        self.state.forwarded.lock().expect("lock").clone()
    }

    fn fault(&self) -> Fault {
        *self.state.fault.lock().expect("lock")
    }

    /// The fault for `request`, and how many requests it has seen including this one.
    fn fault_for(&self, request: &HttpRequest) -> (Fault, u32) {
        let targeted = match &*self.state.only.lock().expect("lock") {
            Some(only) => service(request).as_deref() == Some(only.as_str()),
            None => true,
        };
        if !targeted {
            return (Fault::Pass, 0);
        }
        (
            self.fault(),
            self.state.seen.fetch_add(1, Ordering::SeqCst) + 1,
        )
    }

    async fn serve(&self, stream: TcpStream) {
        let untargeted = self.state.only.lock().expect("lock").is_none();
        if untargeted && self.fault() == Fault::Reset {
            return;
        }
        let mut reader = BufReader::new(stream);
        while let Ok(Some(request)) = read_request(&mut reader).await {
            let (fault, n) = self.fault_for(&request);
            let client = reader.get_mut();
            let kept_open = match fault {
                Fault::Pass => self.forward(&request, client, false).await,
                Fault::Reset => false,
                Fault::Hang => {
                    std::future::pending::<()>().await;
                    false
                }
                Fault::Status(status) => {
                    let code = if status == 503 {
                        "ServiceUnavailable"
                    } else {
                        "InternalFailure"
                    };
                    answer_error(client, &request, status, code).await
                }
                Fault::Throttle(times) if n <= times => {
                    let code = if is_query(&request) {
                        "Throttling"
                    } else {
                        "ThrottlingException"
                    };
                    answer_error(client, &request, 400, code).await
                }
                Fault::Throttle(_) => self.forward(&request, client, false).await,
                Fault::DropMidResponse => self.forward(&request, client, true).await,
                Fault::DieAfter(passed) if n <= passed => {
                    self.forward(&request, client, false).await
                }
                Fault::DieAfter(_) => false,
                Fault::Slow(millis) => {
                    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                    self.forward(&request, client, false).await
                }
            };
            if !kept_open {
                return;
            }
        }
    }

    /// Sends `request` upstream and relays the answer (only half of it when `cut`).
    async fn forward(&self, request: &HttpRequest, client: &mut TcpStream, cut: bool) -> bool {
        let Ok(mut upstream) = TcpStream::connect(self.upstream).await else {
            return false;
        };
        let mut raw = format!("{} {} HTTP/1.1\r\n", request.method, request.path).into_bytes();
        for (name, value) in &request.headers {
            let lower = name.to_ascii_lowercase();
            if lower == "connection" || lower == "content-length" || lower == "transfer-encoding" {
                continue;
            }
            raw.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        raw.extend_from_slice(
            format!(
                "content-length: {}\r\nconnection: close\r\n\r\n",
                request.body.len()
            )
            .as_bytes(),
        );
        raw.extend_from_slice(&request.body);
        if upstream.write_all(&raw).await.is_err() {
            return false;
        }
        let mut answer = Vec::new();
        if upstream.read_to_end(&mut answer).await.is_err() {
            return false;
        }
        self.state
            .forwarded
            .lock()
            .expect("lock")
            .push(operation(request));
        let sent = if cut {
            &answer[..answer.len() / 2]
        } else {
            &answer[..]
        };
        let _ = client.write_all(sent).await;
        let _ = client.flush().await;
        // The emulator closes after each answer; so does the proxy, and the SDK reconnects.
        false
    }
}

/// The service a request was signed for: the fourth part of the SigV4 credential scope
/// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
pub fn service(request: &HttpRequest) -> Option<String> {
    let authorization = request.header("authorization")?;
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split(['/', ',']).nth(3).map(str::to_owned)
}

/// The operation a request calls: `X-Amz-Target` (AWS JSON), the path (RPC v2 CBOR) or
/// `Action=` (awsQuery).
pub fn operation(request: &HttpRequest) -> String {
    if let Some(target) = request.header("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    if let Some((_, op)) = request.path.rsplit_once("/operation/") {
        return op.to_owned();
    }
    String::from_utf8_lossy(&request.body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("?")
        .to_owned()
}

fn is_query(request: &HttpRequest) -> bool {
    request
        .header("content-type")
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn is_cbor(request: &HttpRequest) -> bool {
    request
        .header("smithy-protocol")
        .is_some_and(|v| v.contains("cbor"))
}

/// An error in the protocol the request used: awsQuery XML, RPC v2 CBOR, or AWS JSON.
async fn answer_error(
    client: &mut TcpStream,
    request: &HttpRequest,
    status: u16,
    code: &str,
) -> bool {
    let (content_type, body): (&str, Vec<u8>) = if is_query(request) {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>injected by the fault proxy</Message></Error>\
                 <RequestId>fault</RequestId></ErrorResponse>"
            )
            .into_bytes(),
        )
    } else if is_cbor(request) {
        ("application/cbor", cbor_error(code))
    } else {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"injected by the fault proxy"}}"#)
                .into_bytes(),
        )
    };
    let mut headers = vec![
        ("content-type", content_type.to_owned()),
        ("x-amzn-errortype", code.to_owned()),
        ("connection", "close".to_owned()),
    ];
    if is_cbor(request) {
        headers.push(("smithy-protocol", "rpc-v2-cbor".to_owned()));
    }
    let _ = write_response(client, status, &headers, &body).await;
    false
}

/// `{"__type": code}` in CBOR: a one-entry map of two text strings.
fn cbor_error(code: &str) -> Vec<u8> {
    let mut out = vec![0xa1];
    for text in ["__type", code] {
        let len = text.len();
        if len < 24 {
            out.push(0x60 | len as u8);
        } else {
            out.push(0x78);
            out.push(len as u8);
        }
        out.extend_from_slice(text.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cbor_error;

    #[test]
    fn cbor_error_is_a_map_of_two_strings() {
        let encoded = cbor_error("ThrottlingException");
        assert_eq!(encoded[0], 0xa1);
        assert_eq!(encoded[1], 0x66);
        assert_eq!(&encoded[2..8], b"__type");
        assert_eq!(encoded[8], 0x73);
        assert_eq!(&encoded[9..], b"ThrottlingException");
    }
}
