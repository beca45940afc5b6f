//! The recording calls the rest of the origin makes: each updates the Prometheus series and,
//! where the performance report reads it, the rolling windows.

use super::*;

impl Metrics {
    /// One answered HTTP request. `endpoint` is the route template (`MatchedPath`), `None`
    /// for requests no route matched.
    pub fn record_request(
        &self,
        method: &Method,
        endpoint: Option<&str>,
        status: StatusCode,
        elapsed: Duration,
    ) {
        if !self.enabled {
            return;
        }
        let method = method_label(method);
        let endpoint = endpoint.unwrap_or(UNMATCHED_ENDPOINT);
        let secs = elapsed.as_secs_f64();
        let now = self.now();
        // This thread's stripe: the lock is uncontended, and the endpoint's Prometheus
        // children were resolved on its first request (no label hashing per request).
        let mut stripe = self.request_series[stripe() % STRIPES]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let routes = stripe.entry(method).or_default();
        let series = match routes.get_mut(endpoint) {
            Some(s) => s,
            None => routes
                .entry(endpoint.to_owned())
                .or_insert_with(|| EndpointSeries {
                    window: Rolling::default(),
                    duration: self.http_duration.with_label_values(&[method, endpoint]),
                    by_status: Vec::new(),
                }),
        };
        series.duration.observe(secs);
        match series.by_status.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => counter.inc(),
            None => {
                let counter =
                    self.http_requests
                        .with_label_values(&[method, endpoint, status.as_str()]);
                counter.inc();
                series.by_status.push((status, counter));
            }
        }
        series.window.at(now).record(secs, status.as_u16());
    }

    /// One database query of kind `query_type` (a fixed name per call site).
    pub fn db_query(&self, query_type: &'static str, seconds: f64) {
        if !self.enabled {
            return;
        }
        self.db_query_duration
            .with_label_values(&[query_type])
            .observe(seconds);
        let now = self.now();
        lock(&self.windows)
            .queries
            .entry(query_type)
            .or_default()
            .at(now)
            .record(seconds);
    }

    /// `n` cache operations (`cache_operations_total{operation, status, tier}`). Lookups
    /// should use [`Metrics::cache_get`], which also feeds the hit rates by namespace.
    pub fn cache_ops(&self, op: Operation, status: Status, tier: Tier, n: u64) {
        if !self.enabled {
            return;
        }
        self.cache_children[op.index()][status.index()][tier.index()]
            .get_or_init(|| {
                self.cache_operations.with_label_values(&[
                    op.as_str(),
                    status.as_str(),
                    tier.as_str(),
                ])
            })
            .inc_by(n);
    }

    /// One cache lookup in `tier`. Call it for `l1` on every lookup and for `l2` only after
    /// an `l1` miss: the hit rate is hits of either tier over `l1` lookups. L1 hits, the hot
    /// path, go through [`Metrics::cache_l1_hit`] instead.
    pub fn cache_get(&self, namespace: Namespace, tier: Tier, hit: bool) {
        if !self.enabled {
            return;
        }
        let status = if hit { Status::Hit } else { Status::Miss };
        self.cache_ops(Operation::Get, status, tier, 1);
        self.cache_window[stripe()][namespace.index()].add(
            self.now(),
            Counts {
                a: u64::from(tier == Tier::L1),
                b: u64::from(hit),
                c: 0,
            },
        );
    }

    /// One L1 hit, into the hit-rate window of the caller's `stripe` only (no shared
    /// write); its `cache_operations_total` count is added at read time
    /// (`CacheStats::report_l1_hits`).
    pub fn cache_l1_hit(&self, namespace: Namespace, stripe: usize) {
        if self.enabled {
            self.cache_window[stripe % STRIPES][namespace.index()]
                .add(self.now(), Counts { a: 1, b: 1, c: 0 });
        }
    }

    /// One compressed response body: `algorithm` is the `Content-Encoding` token.
    pub fn compression(&self, algorithm: &'static str, bytes_in: u64, bytes_out: u64) {
        if !self.enabled {
            return;
        }
        self.compression_in
            .with_label_values(&[algorithm])
            .inc_by(bytes_in);
        self.compression_out
            .with_label_values(&[algorithm])
            .inc_by(bytes_out);
        let now = self.now();
        let mut w = lock(&self.windows);
        let slot = w.compression.entry(algorithm).or_default().at(now);
        slot.a += bytes_in;
        slot.b += bytes_out;
    }

    /// One rate-limit decision.
    pub fn rate_limit(&self, allowed: bool) {
        if !self.enabled {
            return;
        }
        self.rate_limit
            .with_label_values(&[if allowed { "allowed" } else { "limited" }])
            .inc();
    }

    /// Time spent in one image pipeline stage (see [`IMAGE_STAGES`]).
    pub fn image_stage(&self, stage: &'static str, seconds: f64) {
        if self.enabled {
            self.image_duration
                .with_label_values(&[stage])
                .observe(seconds);
        }
    }

    /// One image produced, by output format (`OutputFormat::as_str()`).
    pub fn image_processed(&self, format: &'static str) {
        if self.enabled {
            self.images_processed.with_label_values(&[format]).inc();
        }
    }

    /// One image that could not be processed (`PipelineError::code()`, or `internal`).
    pub fn image_failed(&self, reason: &'static str) {
        if self.enabled {
            self.images_failed.with_label_values(&[reason]).inc();
        }
    }

    /// Items waiting in the queue (read from the queue when metrics are read:
    /// `jobs::Jobs::refresh_queued`).
    /// The visual re-index's size and progress (`search::visual::reindex`).
    pub fn visual_reindex(&self, queued: u64, done: u64) {
        if self.enabled {
            self.visual_reindex_queued
                .set(i64::try_from(queued).unwrap_or(i64::MAX));
            self.visual_reindex_done
                .set(i64::try_from(done).unwrap_or(i64::MAX));
        }
    }

    pub fn jobs_queued(&self, queued: u64) {
        if self.enabled {
            self.jobs_queued
                .set(i64::try_from(queued).unwrap_or(i64::MAX));
        }
    }

    /// Item attempts in progress in this process.
    pub fn jobs_running(&self, running: usize) {
        if self.enabled {
            self.jobs_running
                .set(i64::try_from(running).unwrap_or(i64::MAX));
        }
    }

    /// A job attempt that completed after `seconds`.
    pub fn job_completed(&self, seconds: f64) {
        if self.enabled {
            self.jobs_completed.inc();
            self.job_duration.observe(seconds);
            let now = self.now();
            lock(&self.windows).jobs.at(now).a += 1;
        }
    }

    /// A job attempt that failed after `seconds` (it may be retried).
    pub fn job_failed(&self, seconds: f64) {
        if self.enabled {
            self.jobs_failed.inc();
            self.job_duration.observe(seconds);
            let now = self.now();
            lock(&self.windows).jobs.at(now).b += 1;
        }
    }

    /// A job given up on and moved to the dead-letter queue.
    pub fn job_dead_lettered(&self) {
        if self.enabled {
            self.jobs_dead_lettered.inc();
            let now = self.now();
            lock(&self.windows).jobs.at(now).c += 1;
        }
    }
}
