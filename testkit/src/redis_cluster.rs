//! A Redis Cluster of the test's own: three masters with one replica each, from
//! `redis-server` and `redis-cli --cluster create`, on free loopback ports, with its files in
//! a temp dir, every node killed on drop.
//!
//! Nodes run without persistence and with a one-second `cluster-node-timeout`, so a killed
//! master is marked failed and its replica promoted within a few seconds. The helpers that
//! inspect the cluster (`cluster info`, `cluster nodes`, the master of a key) run `redis-cli`,
//! which the `redis-server` package installs alongside the server.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{free_port, temp::TempDir, temp_dir, wait::wait_for_port};

/// How long a node may be unreachable before the others mark it failed.
const NODE_TIMEOUT_MS: u64 = 1000;

/// One `redis-server` of the cluster.
struct Node {
    port: u16,
    child: Option<Child>,
}

/// A running local Redis Cluster (3 masters + 3 replicas), killed on drop.
pub struct RedisCluster {
    nodes: Vec<Node>,
    _dir: TempDir,
}

impl RedisCluster {
    /// Starts six nodes, joins them into a cluster with one replica per master and waits (up to
    /// 30 s) until every node says `cluster_state:ok` and every replica is in sync. Fails the
    /// test, saying what to install, when it cannot.
    pub fn start() -> RedisCluster {
        RedisCluster::try_start().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`RedisCluster::start`], with the error returned.
    pub fn try_start() -> Result<RedisCluster, String> {
        let dir = temp_dir();
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            _dir: dir,
        };
        for _ in 0..6 {
            let port = free_port();
            let node_dir = cluster._dir.path().join(port.to_string());
            std::fs::create_dir_all(&node_dir)
                .map_err(|e| format!("creating {node_dir:?}: {e}"))?;
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
                // A replica may take over however long ago it last heard its master.
                .args(["--cluster-replica-validity-factor", "0"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot run redis-server ({e}): install it with apt-get install -y redis-server"
                    )
                })?;
            cluster.nodes.push(Node {
                port,
                child: Some(child),
            });
            if !wait_for_port(port, Duration::from_secs(5)) {
                return Err(format!("redis-server did not start on {port}"));
            }
        }
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(
                cluster
                    .nodes
                    .iter()
                    .map(|n| format!("127.0.0.1:{}", n.port)),
            )
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .map_err(|e| format!("cannot run redis-cli ({e}): it comes with redis-server"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !cluster.is_settled() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "the cluster did not settle in 30 s:\n{}",
                    cluster.nodes_table()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    /// `REDIS_URL` for the origin: `redis+cluster://` with every node as a seed.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// The ports of the nodes still running.
    pub fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.port)
            .collect()
    }

    /// `redis-cli -p port args…`, its standard output (empty when it failed).
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// `cluster nodes` as seen by the first live node.
    pub fn nodes_table(&self) -> String {
        self.live_ports()
            .first()
            .map(|p| self.cli(*p, &["cluster", "nodes"]))
            .unwrap_or_default()
    }

    /// The port of the master that serves `key`'s slot now.
    pub fn master_of(&self, key: &str) -> Option<u16> {
        let port = *self.live_ports().first()?;
        let slot: u16 = self
            .cli(port, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .ok()?;
        self.nodes_table().lines().find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let is_live_master = f.get(2)?.contains("master") && !f[2].contains("fail");
            let serves = f.get(8..)?.iter().any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
            });
            (is_live_master && serves)
                .then(|| f[1].split(['@', ':']).nth(1)?.parse().ok())
                .flatten()
        })
    }

    /// Whether every live node says `cluster_state:ok`.
    pub fn state_ok(&self) -> bool {
        self.live_ports().iter().all(|p| {
            self.cli(*p, &["cluster", "info"])
                .contains("cluster_state:ok")
        })
    }

    /// `cluster_state:ok` everywhere, three masters serving slots, and every replica's link to
    /// its master up (so a failover has a replica to promote).
    fn is_settled(&self) -> bool {
        if !self.state_ok() {
            return false;
        }
        let table = self.nodes_table();
        let masters = table
            .lines()
            .filter(|l| l.contains("master") && l.split_whitespace().count() > 8)
            .count();
        masters == 3
            && self.live_ports().iter().all(|p| {
                let info = self.cli(*p, &["info", "replication"]);
                info.contains("role:master") || info.contains("master_link_status:up")
            })
    }

    /// SIGKILLs the node on `port` (the others see it fail after the node timeout).
    pub fn kill(&mut self, port: u16) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.port == port)
            && let Some(mut c) = node.child.take()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Polls (every 100 ms, up to `timeout`) until every live node says `cluster_state:ok`
    /// and `port` no longer serves any slot as a master; whether it happened.
    pub fn wait_failed_over(&self, port: u16, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let table = self.nodes_table();
            let dead_still_serves = table
                .lines()
                .any(|l| l.contains(&format!(":{port}@")) && l.split_whitespace().count() > 8);
            if self.state_ok() && !dead_still_serves && !table.is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut c) = node.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
