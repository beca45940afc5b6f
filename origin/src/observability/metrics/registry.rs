//! Declaring every metric in a fresh registry, with the series known in advance at zero so
//! they exist from the first scrape.

use super::*;

fn counter_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn int_counter(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    let c = IntCounter::new(name, help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// Declares every metric in a fresh registry.
    pub fn new(settings: &Settings) -> prometheus::Result<Metrics> {
        let r = Registry::new();
        let m = Metrics {
            enabled: settings.observability.monitoring_enabled,
            http_requests: counter_vec(
                &r,
                "http_requests_total",
                "HTTP requests answered, by method, route template and status code.",
                &["method", "endpoint", "status"],
            )?,
            http_duration: histogram_vec(
                &r,
                "http_request_duration_seconds",
                "Time from receiving a request to its response head, by method and route template.",
                &["method", "endpoint"],
                HTTP_BUCKETS,
            )?,
            cache_operations: counter_vec(
                &r,
                "cache_operations_total",
                "Cache operations by operation (get, set, invalidate), outcome (hit, miss, ok, error) and tier (l1 in-process, l2 Redis). An l2 get is counted only after an l1 miss.",
                &["operation", "status", "tier"],
            )?,
            cache_children: Default::default(),
            cache_window: Default::default(),
            cache_hit_rate: {
                let g = Gauge::new(
                    "cache_hit_rate",
                    "Share of cache lookups answered by either tier over the last 5 minutes (0 when there were none).",
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            db_connections_active: int_gauge(
                &r,
                "db_connections_active",
                "Database connections checked out of the pool (open minus idle).",
            )?,
            db_connections_max: int_gauge(
                &r,
                "db_connections_max",
                "Largest number of connections the database pool may open (CONNECTION_POOL_SIZE).",
            )?,
            db_query_duration: histogram_vec(
                &r,
                "db_query_duration_seconds",
                "Database query time including waiting for a pooled connection, by query type.",
                &["query_type"],
                DB_BUCKETS,
            )?,
            image_duration: histogram_vec(
                &r,
                "image_processing_duration_seconds",
                "Time spent in each image pipeline stage.",
                &["stage"],
                IMAGE_BUCKETS,
            )?,
            images_processed: counter_vec(
                &r,
                "images_processed_total",
                "Images processed successfully, by output format.",
                &["format"],
            )?,
            images_failed: counter_vec(
                &r,
                "images_failed_total",
                "Images that could not be processed, by reason.",
                &["reason"],
            )?,
            jobs_queued: int_gauge(
                &r,
                "jobs_queued",
                "Job items waiting in the queue (ready, or delayed for a retry).",
            )?,
            jobs_running: int_gauge(&r, "jobs_running", "Jobs being worked on now.")?,
            jobs_completed: int_counter(&r, "jobs_completed_total", "Jobs that completed.")?,
            jobs_failed: int_counter(
                &r,
                "jobs_failed_total",
                "Job attempts that failed (a failed job may be retried).",
            )?,
            jobs_dead_lettered: int_counter(
                &r,
                "jobs_dead_lettered_total",
                "Jobs given up on after their last retry and moved to the dead-letter queue.",
            )?,
            job_duration: {
                let h = Histogram::with_opts(
                    HistogramOpts::new(
                        "job_duration_seconds",
                        "Time a job attempt ran, completed or failed.",
                    )
                    .buckets(JOB_BUCKETS.to_vec()),
                )?;
                r.register(Box::new(h.clone()))?;
                h
            },
            compression_in: counter_vec(
                &r,
                "compression_bytes_in_total",
                "Response bytes before compression, by algorithm.",
                &["algorithm"],
            )?,
            compression_out: counter_vec(
                &r,
                "compression_bytes_out_total",
                "Response bytes after compression, by algorithm.",
                &["algorithm"],
            )?,
            rate_limit: counter_vec(
                &r,
                "rate_limit_decisions_total",
                "Rate-limit decisions: allowed or limited (answered 429).",
                &["decision"],
            )?,
            visual_reindex_queued: int_gauge(
                &r,
                "vitrine_visual_reindex_queued_images",
                "Product images this instance found without a row of the running visual model at start (the re-index's size).",
            )?,
            visual_reindex_done: int_gauge(
                &r,
                "vitrine_visual_reindex_done_images",
                "Of those, images re-indexed with the running visual model (or given up on).",
            )?,
            memory_budget: int_gauge(
                &r,
                "vitrine_memory_budget_bytes",
                "Memory this instance is meant to stay within (MEMORY_BUDGET_BYTES); alerts compare the resident set size with it.",
            )?,
            connections: connections::ConnectionMetrics::register(&r)?,
            registry: r,
            clock: Instant::now(),
            windows: Mutex::new(Windows::default()),
            request_series: (0..STRIPES).map(|_| CachePadded::default()).collect(),
        };
        #[cfg(target_os = "linux")]
        m.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        // Series known in advance exist at zero from the first scrape.
        let mut tiers = vec!["l1"];
        if settings.redis_url.is_some() {
            tiers.push("l2");
        }
        for tier in tiers {
            for (op, status) in CACHE_PRESET {
                m.cache_operations.with_label_values(&[op, status, tier]);
            }
        }
        for stage in IMAGE_STAGES {
            m.image_duration.with_label_values(&[stage]);
        }
        for format in IMAGE_FORMATS {
            m.images_processed.with_label_values(&[format]);
        }
        for reason in IMAGE_FAILURES {
            m.images_failed.with_label_values(&[reason]);
        }
        for e in Encoding::PREFERENCE {
            m.compression_in.with_label_values(&[e.as_str()]);
            m.compression_out.with_label_values(&[e.as_str()]);
        }
        for decision in ["allowed", "limited"] {
            m.rate_limit.with_label_values(&[decision]);
        }
        m.db_query_duration.with_label_values(&["ping"]);
        m.memory_budget
            .set(i64::try_from(settings.observability.memory_budget_bytes).unwrap_or(i64::MAX));
        m.db_connections_max
            .set(i64::from(settings.database.pool_max));
        Ok(m)
    }
}
