//! A local Lambda Runtime API: the real function binaries poll it exactly as they poll Lambda,
//! so tests, the demo and the benchmarks run them unchanged.

use crate::http::{read_request, write_response};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// How an invocation ended, as the function reported it.
#[derive(Debug, Clone)]
pub enum Completion {
    Response(Value),
    Error(Value),
}

struct Pending {
    request_id: String,
    event: Value,
    deadline_ms: u64,
}

struct State {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Completion>>>,
    polls: Mutex<Vec<Instant>>,
    init_error: Mutex<Option<Value>>,
}

pub struct RuntimeApi {
    pub addr: std::net::SocketAddr,
    queue: mpsc::UnboundedSender<Pending>,
    state: Arc<State>,
}

const BASE: &str = "/2018-06-01/runtime";

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let socket = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let addr = socket.local_addr().expect("local addr");
        let (queue, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            queue: tokio::sync::Mutex::new(rx),
            waiting: Mutex::default(),
            polls: Mutex::default(),
            init_error: Mutex::default(),
        });
        let served = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let state = served.clone();
                tokio::spawn(async move { serve(state, stream).await });
            }
        });
        RuntimeApi { addr, queue, state }
    }

    /// Queues `event` and waits for the function's answer. `timeout` is the Lambda timeout
    /// the function sees through its deadline.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Completion {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let request_id = format!("invoke-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.state
            .waiting
            .lock()
            .expect("lock")
            .insert(request_id.clone(), tx);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.queue
            .send(Pending {
                request_id: request_id.clone(),
                event,
                deadline_ms: now_ms + timeout.as_millis() as u64,
            })
            .expect("runtime api running");
        match tokio::time::timeout(timeout + Duration::from_secs(5), rx).await {
            Ok(Ok(completion)) => completion,
            _ => {
                panic!("the function did not complete {request_id} within its timeout {timeout:?}")
            }
        }
    }

    /// When the function first asked for work: the end of its cold start.
    pub async fn first_poll(&self, within: Duration) -> Option<Instant> {
        let give_up = Instant::now() + within;
        loop {
            if let Some(first) = self.state.polls.lock().expect("lock").first() {
                return Some(*first);
            }
            if Instant::now() > give_up {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub fn init_error(&self) -> Option<Value> {
        self.state.init_error.lock().expect("lock").clone()
    }

    /// Starts a function binary against this Runtime API, with a clean environment plus `env`.
    pub fn spawn(&self, binary: &Path, env: &[(String, String)]) -> FunctionProcess {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", self.addr.to_string())
            .env(
                "AWS_LAMBDA_FUNCTION_NAME",
                binary
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut all = output.lock().expect("lock");
                    all.push_str(&line);
                    all.push('\n');
                }
            });
        }
        let secrets = env
            .iter()
            .filter(|(name, value)| {
                matches!(
                    name.as_str(),
                    "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN"
                ) && value.len() >= 8
            })
            .map(|(_, value)| value.clone())
            .collect();
        FunctionProcess {
            child,
            output,
            started,
            secrets,
        }
    }
}

async fn serve(state: Arc<State>, stream: tokio::net::TcpStream) {
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader).await {
        let path = request.path.as_str();
        if request.method == "GET" && path == format!("{BASE}/invocation/next") {
            state.polls.lock().expect("lock").push(Instant::now());
            let next = state.queue.lock().await.recv().await;
            let Some(next) = next else { return };
            let headers = [
                ("lambda-runtime-aws-request-id", next.request_id.clone()),
                ("lambda-runtime-deadline-ms", next.deadline_ms.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:local".to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ];
            let body = serde_json::to_vec(&next.event).unwrap_or_default();
            if write_response(reader.get_mut(), 200, &headers, &body)
                .await
                .is_err()
            {
                return;
            }
            continue;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if path == format!("{BASE}/init/error") {
            *state.init_error.lock().expect("lock") = Some(body);
        } else if let Some(rest) = path.strip_prefix(&format!("{BASE}/invocation/")) {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let completion = if kind == "response" {
                Completion::Response(body)
            } else {
                Completion::Error(body)
            };
            if let Some(waiter) = state.waiting.lock().expect("lock").remove(id) {
                let _ = waiter.send(completion);
            }
        }
        if write_response(reader.get_mut(), 202, &[], b"{}")
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A running function binary and everything it printed. When it is dropped, its logs are
/// scanned for secrets (see [`FunctionProcess::leaks`]): every test, the demo and the
/// benchmarks that run a binary through this harness fail if one leaked.
pub struct FunctionProcess {
    pub child: Child,
    pub output: Arc<Mutex<String>>,
    pub started: Instant,
    /// The credential values the binary was given.
    secrets: Vec<String>,
}

/// Signs that a raw event was logged whole: its JSON keys, as serialized or escaped.
const RAW_EVENT_KEYS: [&str; 4] = [
    "\"ResponseURL\":",
    "\\\"ResponseURL\\\":",
    "\"detail-type\":",
    "\\\"detail-type\\\":",
];

impl FunctionProcess {
    pub fn output(&self) -> String {
        self.output.lock().expect("lock").clone()
    }

    /// What the logs hold that they must not: the ResponseURL's signature or credential, an
    /// access key, secret key or session token, or a whole incoming event.
    pub fn leaks(&self) -> Vec<String> {
        let output = self.output();
        let mut found = Vec::new();
        for (what, needle) in [
            ("the ResponseURL signature", crate::SECRET_SIGNATURE),
            ("the ResponseURL credential", crate::SECRET_CREDENTIAL),
        ] {
            if output.contains(needle) {
                found.push(what.to_owned());
            }
        }
        for secret in &self.secrets {
            if output.contains(secret.as_str()) {
                found.push(format!(
                    "a credential ({}...)",
                    &secret[..4.min(secret.len())]
                ));
            }
        }
        for key in RAW_EVENT_KEYS {
            if output.contains(key) {
                found.push(format!("a whole event ({key})"));
            }
        }
        found
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let leaks = self.leaks();
        assert!(
            leaks.is_empty(),
            "{} logged {}:\n{}",
            self.child
                .id()
                .map_or_else(String::new, |pid| format!("pid {pid}")),
            leaks.join(", "),
            self.output()
        );
    }
}

/// A binary in the shared target directory: `target/<profile>/<name>`.
pub fn binary(profile: &str, name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::emulator::workspace_root().join("target"));
    let path = target.join(profile).join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build --workspace --bins`, or `make test`)",
        path.display()
    );
    path
}
