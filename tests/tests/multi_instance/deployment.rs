//! The deployment under test: three origin processes with separate `DATA_DIR`s, one Postgres
//! database reached through PgBouncer (transaction mode), one Redis Cluster (3 masters, 3
//! replicas), one S3-compatible object store, and nginx balancing round-robin over the three.

use std::time::Duration;

use vitrine_testkit::{
    Nginx, ObjectStoreServer, OriginProcess, PgBouncer, RedisCluster, Stdout, TempDir,
    fresh_postgres, origin_binary, temp_dir,
};

pub const KEY: &str = "multi-instance-key-0123456789";
/// How long an origin may take to become ready.
pub const READY: Duration = Duration::from_secs(90);
pub const INSTANCES: usize = 3;

/// Everything the three instances share, and the instances themselves.
pub struct Deployment {
    pub instances: Vec<Instance>,
    pub balancer: Option<Nginx>,
    env: Vec<(String, String)>,
    _bouncer: PgBouncer,
    _cluster: RedisCluster,
    _store: ObjectStoreServer,
}

/// One origin process and its own data folder.
pub struct Instance {
    pub process: OriginProcess,
    pub data: TempDir,
}

impl Instance {
    pub fn base(&self) -> &str {
        &self.process.base
    }
}

impl Deployment {
    /// Starts the shared services and three instances (the first alone, so it runs the
    /// migrations; the others then start side by side), then nginx in front of them. `None`
    /// when no S3 server can be installed here (see [`ObjectStoreServer::start_or_skip`]).
    pub async fn start(client: &reqwest::Client) -> Option<Deployment> {
        let store = ObjectStoreServer::start_or_skip("multi_instance")?;
        let cluster = RedisCluster::start();
        let direct = fresh_postgres().await;
        let bouncer = PgBouncer::start(&vitrine_testkit::postgres::admin_url());
        let pooled = bouncer.rewrite(&direct);
        let prefix = vitrine_testkit::unique_prefix();
        let mut env: Vec<(String, String)> = [
            ("API_KEYS", KEY),
            ("SEED_DEMO", "false"),
            ("LOG_LEVEL", "warn"),
            ("RATE_LIMIT_ENABLED", "false"),
            ("DATABASE_POOLER", "pgbouncer"),
            ("CONNECTION_POOL_MIN", "1"),
            ("CONNECTION_POOL_SIZE", "5"),
            ("SEARCH_SYNC_INTERVAL", "1s"),
            ("QUEUE_PREFIX", "multi"),
            ("JOB_VISIBILITY_TIMEOUT", "2s"),
            ("ASYNC_WORKERS", "1"),
            ("THREAD_POOL_SIZE", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.push(("DATABASE_URL".into(), pooled));
        env.push(("DATABASE_DIRECT_URL".into(), direct));
        env.push(("REDIS_URL".into(), cluster.url()));
        env.push(("CACHE_KEY_PREFIX".into(), prefix));
        for (k, v) in store.env() {
            env.push((k.to_owned(), v.to_owned()));
        }
        let mut deployment = Deployment {
            instances: Vec::new(),
            balancer: None,
            env,
            _bouncer: bouncer,
            _cluster: cluster,
            _store: store,
        };
        let first = deployment.spawn();
        first.process.wait_ready(client, READY).await;
        deployment.instances.push(first);
        for _ in 1..INSTANCES {
            let next = deployment.spawn();
            deployment.instances.push(next);
        }
        for i in &deployment.instances[1..] {
            i.process.wait_ready(client, READY).await;
        }
        let backends: Vec<String> = deployment
            .instances
            .iter()
            .map(|i| i.base().trim_start_matches("http://").to_owned())
            .collect();
        deployment.balancer = Some(Nginx::start(&backends));
        Some(deployment)
    }

    /// A new origin process with the shared settings and an empty `DATA_DIR` of its own.
    fn spawn(&self) -> Instance {
        let data = temp_dir();
        let data_dir = data.path().display().to_string();
        let mut env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        env.push(("DATA_DIR", &data_dir));
        let process = OriginProcess::start(&origin_binary(), &env, Stdout::Discard);
        Instance { process, data }
    }

    /// Replaces instance `i` (already killed) with a new process on a new port and an empty
    /// `DATA_DIR`, and waits until it is ready. nginx keeps balancing over the old addresses;
    /// the replacement is reached directly.
    pub async fn replace(&mut self, i: usize, client: &reqwest::Client) {
        let next = self.spawn();
        next.process.wait_ready(client, READY).await;
        self.instances[i] = next;
    }

    pub fn balancer(&self) -> &str {
        self.balancer.as_ref().map_or("", |n| n.base.as_str())
    }
}
