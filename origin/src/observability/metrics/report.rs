//! Reading the metrics: the Prometheus text exposition and the `/api/performance` snapshot.

use super::*;

impl Metrics {
    /// Refreshes the gauges that mirror state owned elsewhere, then renders every metric in
    /// the text exposition format.
    pub fn render(&self, pool: PoolStats) -> prometheus::Result<String> {
        self.db_connections_active.set(i64::from(pool.active));
        self.db_connections_max.set(i64::from(pool.max));
        let cache = self.snapshot(pool).cache_total;
        self.cache_hit_rate.set(if cache.a == 0 {
            0.0
        } else {
            (cache.b as f64 / cache.a as f64).min(1.0)
        });
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }

    /// Everything `/api/performance` reports, read at once.
    pub fn snapshot(&self, pool: PoolStats) -> performance::Snapshot {
        let now = self.now();
        let mut merged: HashMap<(&'static str, String), Requests> = HashMap::new();
        for stripe in self.request_series.iter() {
            let stripe = stripe.lock().unwrap_or_else(|e| e.into_inner());
            for (method, routes) in stripe.iter() {
                for (endpoint, series) in routes {
                    window::Merge::merge(
                        merged.entry((*method, endpoint.clone())).or_default(),
                        &series.window.total(now),
                    );
                }
            }
        }
        let mut requests: Vec<_> = merged
            .into_iter()
            .filter(|(_, r)| r.latency.count > 0)
            .map(|((method, endpoint), r)| (method.to_owned(), endpoint, r))
            .collect();
        requests.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let w = lock(&self.windows);
        let queries = w
            .queries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.total(now)))
            .filter(|(_, h)| h.count > 0)
            .collect();
        let mut cache_total = Counts::default();
        let cache = Namespace::ALL
            .iter()
            .enumerate()
            .map(|(i, ns)| {
                let mut c = Counts::default();
                for stripe in self.cache_window.iter() {
                    window::Merge::merge(&mut c, &stripe[i].total(now));
                }
                (ns.as_str().to_owned(), c)
            })
            .filter(|(_, c)| *c != Counts::default())
            .inspect(|(_, c)| window::Merge::merge(&mut cache_total, c))
            .collect();
        let compression = w
            .compression
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.total(now)))
            .collect();
        let jobs = w.jobs.total(now);
        drop(w);
        performance::Snapshot {
            elapsed_secs: now,
            monitoring_enabled: self.enabled,
            requests,
            queries,
            cache,
            cache_total,
            cache_lifetime: self.cache_lifetime(),
            jobs,
            jobs_lifetime: Counts {
                a: self.jobs_completed.get(),
                b: self.jobs_failed.get(),
                c: self.jobs_dead_lettered.get(),
            },
            jobs_queued: self.jobs_queued.get(),
            jobs_running: self.jobs_running.get(),
            compression,
            compression_lifetime: self.compression_lifetime(),
            pool,
        }
    }

    /// (l1 lookups, hits of either tier) since start, from the counters.
    fn cache_lifetime(&self) -> Counts {
        let mut out = Counts::default();
        for mf in self.cache_operations.collect() {
            for m in mf.get_metric() {
                let label = |name: &str| {
                    m.get_label()
                        .iter()
                        .find(|l| l.name() == name)
                        .map(|l| l.value().to_owned())
                        .unwrap_or_default()
                };
                if label("operation") != "get" {
                    continue;
                }
                let n = m.get_counter().get_value() as u64;
                let status = label("status");
                if label("tier") == "l1" && (status == "hit" || status == "miss") {
                    out.a += n;
                }
                if status == "hit" {
                    out.b += n;
                }
            }
        }
        out
    }

    /// algorithm → (bytes in, bytes out) since start, from the counters.
    fn compression_lifetime(&self) -> Vec<(String, Counts)> {
        Encoding::PREFERENCE
            .iter()
            .map(|e| {
                let name = e.as_str();
                (
                    name.to_owned(),
                    Counts {
                        a: self.compression_in.with_label_values(&[name]).get(),
                        b: self.compression_out.with_label_values(&[name]).get(),
                        c: 0,
                    },
                )
            })
            .collect()
    }
}
