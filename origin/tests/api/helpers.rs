use std::{
    collections::HashMap,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use vitrine_origin::{config::Settings, startup, state::AppState};

pub const API_KEY: &str = "test-key-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    #[allow(dead_code)]
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `GET` with the test API key (job endpoints).
    pub async fn get_json_auth(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(API_KEY)
            .send()
            .await
            .expect("request failed");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(API_KEY)
            .json(body)
            .send()
            .await
            .expect("request failed");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn create_product(&self, body: serde_json::Value) -> serde_json::Value {
        let (status, json) = self.post_json("/api/products", &body).await;
        assert_eq!(status, 201, "{json}");
        json
    }

    /// Stops the server but keeps its data folder (database file, originals) for a restart.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        self.shutdown_and_wait().await;
        let placeholder = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self._dir, placeholder)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown_and_wait().await;
    }

    async fn shutdown_and_wait(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }
}

/// `postgres://…` of a fresh, empty database.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach Postgres at {admin}: {e}\n\
             start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             (or set TEST_DATABASE_URL); scripts/test.sh does this for you"
        )
    });
    let name = format!("vitrine_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("creating the test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

pub fn test_settings(
    database_url: &str,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.to_owned()),
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("DATA_DIR".into(), dir.display().to_string()),
        ("SEARCH_INDEX_DIR".into(), "memory".into()),
        ("API_KEYS".into(), API_KEY.into()),
        ("SEED_DEMO".into(), "false".into()),
        ("CONNECTION_POOL_MIN".into(), "1".into()),
        ("CONNECTION_POOL_SIZE".into(), "5".into()),
        ("ENVIRONMENT".into(), "test".into()),
        ("LOG_LEVEL".into(), "warn".into()),
        // Most tests fire requests faster than a shopper would; the rate-limit tests turn
        // it back on with their own quotas.
        ("RATE_LIMIT_ENABLED".into(), "false".into()),
    ]);
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    // Tests on the shared Redis keep their jobs (descriptor jobs too) under their own queue
    // prefix: the cache's unique prefix when they set one (instances of one test share it).
    if env.contains_key("REDIS_URL") && !env.contains_key("QUEUE_PREFIX") {
        let prefix = env.get("CACHE_KEY_PREFIX").map_or_else(
            || "vitrine".to_owned(),
            |p| format!("q-{}", p.trim_end_matches(':')),
        );
        env.insert("QUEUE_PREFIX".into(), prefix);
    }
    Settings::from_lookup(|k| env.get(k).cloned()).expect("test settings are valid")
}

pub async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join("test.db").display()),
        Backend::Postgres => fresh_postgres().await,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = database_url(backend, dir.path()).await;
    spawn_on(database_url, dir, extra).await
}

pub async fn spawn_on(
    database_url: String,
    dir: tempfile::TempDir,
    extra: &[(&str, &str)],
) -> TestApp {
    let settings = test_settings(&database_url, dir.path(), extra);
    vitrine_origin::telemetry::init(&settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = startup::build_state(settings)
        .await
        .expect("building the app");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(startup::run(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        state,
        database_url,
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
    }
}

pub fn product_json(
    sku: &str,
    title: &str,
    category: &str,
    brand: &str,
    price: i64,
) -> serde_json::Value {
    serde_json::json!({
        "sku": sku, "title": title, "category": category, "brand": brand, "price": price,
        "currency": "USD", "description": format!("{title} from {brand}"),
        "attributes": {"colour": "black"}
    })
}

/// Generates `#[tokio::test]`s that run an async fn against each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

/// The Redis the cache tests use (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
/// Fails the test, saying how to start Redis, when it cannot be reached.
pub fn test_redis_url() -> String {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let authority = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    let authority = if authority.contains(':') {
        authority
    } else {
        format!("{authority}:6379")
    };
    let reachable = authority
        .parse::<SocketAddr>()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some();
    assert!(
        reachable,
        "cannot reach Redis at {url}\n\
         start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save \"\" --appendonly no\n\
         (or set TEST_REDIS_URL); scripts/test.sh does this for you"
    );
    url
}

/// A Redis key prefix no other test uses, so tests sharing one Redis never collide.
pub fn unique_prefix() -> String {
    format!("test-{}:", uuid::Uuid::new_v4().simple())
}

/// A `redis-server` of our own on a free port, killed on drop.
pub struct OwnRedis {
    child: Option<Child>,
}

impl OwnRedis {
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): install it with apt-get install -y redis-server"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis { child: Some(child) }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy owned by a test, between the origin and a real server (Postgres), that the test
/// can cut (every open connection dropped, new ones accepted and closed at once: what a
/// crashed or unreachable database looks like to the pool), reopen, or slow down (each chunk
/// forwarded after a delay). The real server is never touched.
pub struct FaultProxy {
    pub addr: SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: String) -> FaultProxy {
        use std::sync::{
            Arc, Mutex,
            atomic::{AtomicBool, AtomicU64, Ordering},
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let open = Arc::new(AtomicBool::new(true));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (o, d, c) = (open.clone(), delay_ms.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !o.load(Ordering::SeqCst) {
                    drop(client); // cut: accept and close at once
                    continue;
                }
                let (upstream, delay) = (upstream.clone(), d.clone());
                let h = tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, delay.clone()) => {},
                        _ = pipe(sr, cw, delay) => {},
                    }
                });
                let mut list = c.lock().unwrap_or_else(|p| p.into_inner());
                list.retain(|h| !h.is_finished());
                list.push(h);
            }
        });
        FaultProxy {
            addr,
            open,
            delay_ms,
            conns,
            accept,
        }
    }

    /// Drops every connection and refuses (accepts and closes) new ones.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for h in self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            h.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every chunk in either direction waits this long before it is forwarded.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            delay.as_millis() as u64,
            std::sync::atomic::Ordering::SeqCst,
        );
    }

    /// `url` (`postgres://user@host:port/db`) with its host and port replaced by the proxy's.
    pub fn rewrite(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (userinfo, hostpath) = match rest.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), rest),
        };
        let path = hostpath.find('/').map_or("", |i| &hostpath[i..]);
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `host:port` of a `postgres://` URL (5432 when no port is given).
pub fn upstream_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostpath = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = hostpath.split('/').next().unwrap_or("127.0.0.1:5432");
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = delay_ms.load(std::sync::atomic::Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
