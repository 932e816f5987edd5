//! One moto server (with stackhand's extension) per test process, on a free loopback port, and
//! one AWS account per test through STS AssumeRole.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
/// The user-agent app name of a test's own calls; the emulator's request quotas leave them out.
pub const OBSERVER_APP: &str = "stackhand-observer";
const READY_WITHIN: Duration = Duration::from_secs(60);

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The Python that has the pinned moto: `STACKHAND_PYTHON`, or the project's `.venv`.
pub fn python() -> PathBuf {
    if let Some(explicit) = std::env::var_os("STACKHAND_PYTHON") {
        return PathBuf::from(explicit);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `make venv` (or `make test`, which creates it)",
        venv.display()
    );
    venv
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub struct Emulator {
    pub endpoint: String,
    pub log_file: PathBuf,
    child: Mutex<Child>,
}

impl Emulator {
    /// Starts `tests/emulator/serve.py` and waits until `GET /moto-api/` answers.
    pub fn start() -> Emulator {
        let port = free_port();
        let log_file = std::env::temp_dir().join(format!("stackhand-emulator-{port}.log"));
        let log = std::fs::File::create(&log_file).expect("emulator log file");
        let child = Command::new(python())
            .arg(workspace_root().join("tests/emulator/serve.py"))
            .args([
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--exit-with-parent",
                // CloudWatch's alarm request quotas, as AWS enforces them.
                "--request-quotas",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        let emulator = Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            log_file,
            child: Mutex::new(child),
        };
        emulator.wait_ready(port);
        emulator
    }

    fn wait_ready(&self, port: u16) {
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let mut answer = String::new();
                let asked = stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: localhost\r\n\r\n");
                if asked.is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.")
                    && answer.contains(" 200 ")
                {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.lock().expect("lock").try_wait() {
                panic!(
                    "the emulator exited with {status}; see {}",
                    self.log_file.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the emulator was not ready within {READY_WITHIN:?}; see {}",
            self.log_file.display()
        );
    }

    /// Kills the emulator process outright (SIGKILL), as a crash would; its state is gone.
    pub fn kill(&self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A fresh, empty AWS account on the emulator.
    pub async fn new_account(&self) -> Account {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = format!(
            "{:04}{:08}",
            std::process::id() % 10_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.account(&id).await
    }

    pub async fn account(&self, account_id: &str) -> Account {
        let base = self
            .config_with(Credentials::new(
                "testing", "testing", None, None, "emulator",
            ))
            .await;
        let assumed = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account_id}:role/t"))
            .role_session_name("stackhand-test")
            .send()
            .await
            .expect("STS AssumeRole on the emulator");
        let creds = assumed.credentials().expect("credentials");
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "assumed",
        );
        Account {
            id: account_id.to_owned(),
            config: self.config_with(credentials.clone()).await,
            credentials,
            endpoint: self.endpoint.clone(),
        }
    }

    async fn config_with(&self, credentials: Credentials) -> SdkConfig {
        shared::aws::tuned(aws_config::defaults(BehaviorVersion::latest()))
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials)
            .load()
            .await
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The emulator shared by every test in this process (one per test binary).
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(Emulator::start)
}

/// One isolated account: its SDK config, and the same credentials as environment variables
/// for a function binary.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub config: SdkConfig,
    pub credentials: Credentials,
    pub endpoint: String,
}

impl Account {
    /// The configuration for a test's own calls (staging a resource, checking one): the same
    /// account, but left out of the emulator's request quotas, which model the product's traffic.
    /// A check must neither throttle the provider it checks nor fail because the provider used
    /// the account's quota a moment before.
    pub fn observer(&self) -> SdkConfig {
        self.config
            .to_builder()
            .app_name(aws_config::AppName::new(OBSERVER_APP).expect("a valid app name"))
            .build()
    }

    /// Raises this account's CloudWatch alarm request quotas `scale` times in the emulator, as a
    /// granted quota increase would (suites that test something else than quotas).
    pub async fn raise_alarm_quotas(&self, scale: u32) {
        let body = format!("{{\"account\": \"{}\", \"scale\": {scale}}}", self.id);
        self.control("/stackhand/quotas", &body).await;
    }

    /// Moves a key's creation and rotation dates `days` into the past in the emulator, so a
    /// rotation schedule that is due after days can be run now.
    pub async fn age_key(&self, key_id: &str, days: u32) {
        let body = format!(
            "{{\"account\": \"{}\", \"region\": \"{REGION}\", \"key_id\": \"{key_id}\", \"days\": {days}}}",
            self.id
        );
        self.control("/stackhand/kms/age", &body).await;
    }

    /// Sets a stack's status as DescribeStacks reports it (moto finishes every operation at once).
    pub async fn set_stack_status(&self, stack: &str, status: &str) {
        let body = format!(
            "{{\"account\": \"{}\", \"region\": \"{REGION}\", \"stack\": \"{stack}\", \"status\": \"{status}\"}}",
            self.id
        );
        self.control("/stackhand/cloudformation/stack-status", &body)
            .await;
    }

    /// Moves an alarm's last state change `minutes` into the past in the emulator, as if it had
    /// held its state that long.
    pub async fn age_alarm(&self, alarm: &str, minutes: u32) {
        let body = format!(
            "{{\"account\": \"{}\", \"region\": \"{REGION}\", \"alarm\": \"{alarm}\", \"minutes\": {minutes}}}",
            self.id
        );
        self.control("/stackhand/cloudwatch/age-alarm", &body).await;
    }

    /// Moves the start of KMS's usage tracking for `key_id` to `days` ago (the emulator's
    /// GetKeyLastUsage then reports no use before it).
    pub async fn start_usage_tracking(&self, key_id: &str, days: u32) {
        let body = format!(
            "{{\"account\": \"{}\", \"region\": \"{REGION}\", \"key_id\": \"{key_id}\", \"tracking_started_days_ago\": {days}}}",
            self.id
        );
        self.control("/stackhand/kms/usage", &body).await;
    }

    /// How many calls of each operation the emulator's request quotas refused in this account.
    pub async fn throttled_calls(&self) -> std::collections::HashMap<String, u64> {
        let body = format!("{{\"account\": \"{}\"}}", self.id);
        let answer = self.control("/stackhand/quotas/throttled", &body).await;
        let json = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(json).expect("throttled counts")
    }

    /// A POST to one of the emulator extension's test controls; the whole HTTP answer.
    async fn control(&self, path: &str, body: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.endpoint.trim_start_matches("http://");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("emulator");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{path}: {answer}"
        );
        answer
    }

    pub fn stack_id(&self, stack: &str) -> String {
        format!(
            "arn:aws:cloudformation:{REGION}:{}:stack/{stack}/0f0e0d0c-{}",
            self.id, self.id
        )
    }

    /// What Lambda would set, pointed at the emulator through `AWS_ENDPOINT_URL`.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_REGION".into(), REGION.into()),
            (
                "AWS_ACCESS_KEY_ID".into(),
                self.credentials.access_key_id().into(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".into(),
                self.credentials.secret_access_key().into(),
            ),
            (
                "AWS_SESSION_TOKEN".into(),
                self.credentials.session_token().unwrap_or_default().into(),
            ),
        ]
    }
}
