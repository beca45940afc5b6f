use std::{collections::HashMap, net::SocketAddr, time::Duration};

use vitrine_origin::{config::Settings, http::AppState, startup};
use vitrine_testkit::{TempDir, fresh_postgres, temp_dir};

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
    _dir: TempDir,
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
    pub async fn stop_keeping_data(mut self) -> TempDir {
        self.shutdown_and_wait().await;
        let placeholder = temp_dir();
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
        // The descriptor alone: the neural embedder is checked by tests/neural_reference.rs
        // and tests/api/visual_model.rs, and unoptimised it takes about a second a photo.
        ("VISUAL_MODEL".into(), "descriptor".into()),
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
    let dir = temp_dir();
    let database_url = database_url(backend, dir.path()).await;
    spawn_on(database_url, dir, extra).await
}

pub async fn spawn_on(database_url: String, dir: TempDir, extra: &[(&str, &str)]) -> TestApp {
    let settings = test_settings(&database_url, dir.path(), extra);
    vitrine_origin::observability::logging::init(&settings);
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
