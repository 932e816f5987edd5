//! Plays the presigned ResponseURL: records every PUT (method, headers, body) and answers 200,
//! or the statuses a test asks for first.

use crate::http::{read_request, write_response};
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Stand-ins for a presigned URL's secrets; no log line may ever contain them.
pub const SECRET_SIGNATURE: &str = "5ecre7516na7ure0f7he9re519ned0r1";
pub const SECRET_CREDENTIAL: &str = "ASIASECRETCREDENTIAL";

#[derive(Debug, Clone)]
pub struct RecordedPut {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub raw_body: Vec<u8>,
    pub body: Value,
    pub status_sent: u16,
    pub at: Instant,
}

impl RecordedPut {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::find_header(&self.headers, name)
    }
    pub fn status(&self) -> &str {
        self.body["Status"].as_str().unwrap_or_default()
    }
    pub fn reason(&self) -> &str {
        self.body["Reason"].as_str().unwrap_or_default()
    }
    pub fn physical_id(&self) -> &str {
        self.body["PhysicalResourceId"].as_str().unwrap_or_default()
    }
    pub fn data(&self, attribute: &str) -> &str {
        self.body["Data"][attribute].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct ResponseListener {
    addr: SocketAddr,
    recorded: Arc<Mutex<Vec<RecordedPut>>>,
    planned: Arc<Mutex<VecDeque<u16>>>,
    arrived: Arc<Notify>,
}

impl ResponseListener {
    pub async fn start() -> ResponseListener {
        let socket = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind listener");
        let listener = ResponseListener {
            addr: socket.local_addr().expect("local addr"),
            recorded: Arc::default(),
            planned: Arc::default(),
            arrived: Arc::default(),
        };
        let state = listener.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let state = state.clone();
                tokio::spawn(async move { state.serve(stream).await });
            }
        });
        listener
    }

    async fn serve(&self, stream: tokio::net::TcpStream) {
        let mut reader = BufReader::new(stream);
        while let Ok(Some(request)) = read_request(&mut reader).await {
            let status = self
                .planned
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or(200);
            self.recorded.lock().expect("lock").push(RecordedPut {
                body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                raw_body: request.body,
                method: request.method,
                path: request.path,
                headers: request.headers,
                status_sent: status,
                at: Instant::now(),
            });
            self.arrived.notify_waiters();
            if write_response(reader.get_mut(), status, &[], b"")
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// The ResponseURL for one request, shaped like a presigned S3 URL.
    pub fn url(&self, request_id: &str) -> String {
        format!(
            "http://{}/cloudformation-custom-resource-response/{request_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={SECRET_CREDENTIAL}%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Expires=7200&X-Amz-Signature={SECRET_SIGNATURE}",
            self.addr
        )
    }

    /// The next PUTs get these statuses, then 200 again.
    pub fn answer_next_with(&self, statuses: &[u16]) {
        self.planned.lock().expect("lock").extend(statuses);
    }

    /// Every PUT recorded for `request_id`, in arrival order.
    pub fn puts(&self, request_id: &str) -> Vec<RecordedPut> {
        let needle = format!("/{request_id}?");
        self.recorded
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path.contains(&needle))
            .cloned()
            .collect()
    }

    /// The response CloudFormation accepted (the first 2xx) for `request_id`, waiting for it.
    pub async fn response(&self, request_id: &str, within: Duration) -> RecordedPut {
        let give_up = Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            if let Some(accepted) = self
                .puts(request_id)
                .into_iter()
                .find(|r| (200..300).contains(&r.status_sent))
            {
                return accepted;
            }
            if tokio::time::timeout_at(give_up, notified).await.is_err() {
                panic!("no response for {request_id} within {within:?}");
            }
        }
    }
}
