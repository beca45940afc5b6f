//! `REDIS_URL`: one Redis server, or a Redis Cluster named by some of its nodes.
//!
//! `redis://`, `rediss://` and `redis+unix://` name one server (the `redis` crate parses the
//! rest). `redis+cluster://[user:password@]host:port,host:port,…` names a cluster by seed
//! nodes: the client asks them for the slot map and finds the other nodes itself, so any
//! reachable seed is enough, and listing several keeps start-up working when one is down.

/// What `REDIS_URL` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisEndpoint {
    /// One server; the URL as given.
    Server(String),
    /// A cluster: one `redis://[credentials@]host:port` URL per seed node.
    Cluster(Vec<String>),
}

/// The scheme of the cluster form.
pub const CLUSTER_SCHEME: &str = "redis+cluster://";

/// Parses `REDIS_URL`; the error says what is wrong (the caller names the variable).
pub fn parse_redis_url(url: &str) -> Result<RedisEndpoint, String> {
    if let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) {
        return parse_cluster(rest).map(RedisEndpoint::Cluster);
    }
    if ["redis://", "rediss://", "redis+unix://"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        return Ok(RedisEndpoint::Server(url.to_owned()));
    }
    Err("must start with redis://, rediss://, redis+unix:// or redis+cluster://".into())
}

fn parse_cluster(rest: &str) -> Result<Vec<String>, String> {
    let (credentials, nodes) = match rest.rsplit_once('@') {
        Some((c, n)) => (Some(c), n),
        None => (None, rest),
    };
    if nodes.contains(['/', '?']) {
        return Err("redis+cluster:// takes host:port,host:port,… only (a cluster has no database number or options)".into());
    }
    let mut out = Vec::new();
    for node in nodes.split(',').map(str::trim) {
        let Some((host, port)) = node.rsplit_once(':') else {
            return Err(format!("cluster node `{node}` is not host:port"));
        };
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
            });
        match port.parse::<u16>() {
            Ok(p) if p > 0 && host_ok => {}
            _ => return Err(format!("cluster node `{node}` is not host:port")),
        }
        out.push(match credentials {
            Some(c) => format!("redis://{c}@{host}:{port}"),
            None => format!("redis://{host}:{port}"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_servers_pass_through_and_clusters_become_one_url_per_seed() {
        assert_eq!(
            parse_redis_url("redis://127.0.0.1:6379/2"),
            Ok(RedisEndpoint::Server("redis://127.0.0.1:6379/2".into()))
        );
        assert_eq!(
            parse_redis_url("redis+cluster://10.0.0.1:7000, redis-b:7001"),
            Ok(RedisEndpoint::Cluster(vec![
                "redis://10.0.0.1:7000".into(),
                "redis://redis-b:7001".into()
            ]))
        );
        assert_eq!(
            parse_redis_url("redis+cluster://app:s3cret@[::1]:7000,h:7001"),
            Ok(RedisEndpoint::Cluster(vec![
                "redis://app:s3cret@[::1]:7000".into(),
                "redis://app:s3cret@h:7001".into()
            ]))
        );
    }

    #[test]
    fn bad_cluster_forms_say_which_node() {
        for (url, says) in [
            ("redis+cluster://", "``"),
            ("redis+cluster://h1:7000,h2", "`h2`"),
            ("redis+cluster://h1:0", "`h1:0`"),
            ("redis+cluster://h1:70000", "`h1:70000`"),
            ("redis+cluster://h1:7000,,h2:7001", "``"),
            ("redis+cluster://h 1:7000", "`h 1:7000`"),
            ("redis+cluster://h1:7000/0", "no database"),
            ("http://h1:7000", "must start with"),
        ] {
            let e = parse_redis_url(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
        }
    }
}
