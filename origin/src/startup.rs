//! Building and running the server: `build` connects everything, `run` serves on a listener
//! until the shutdown future resolves, then lets in-flight requests finish.
//!
//! Tests call the same two functions on port 0, so what they exercise is what runs.

use std::{future::Future, sync::Arc, time::Instant};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    cache::Cache,
    catalog::{Catalog, demo},
    config::{IndexLocation, Settings},
    db::Db,
    http::{self, AppParts, AppState, auth::ApiKeys, middleware::compression::CompressionStats},
    images::{
        self, Images, backfill,
        batch::ImageBatchHandler,
        cache::DiskCache,
        orphans::{self, OrphanSweepHandler},
        thumbs::Thumbnailer,
    },
    jobs::{
        Jobs,
        dispatch::Dispatcher,
        limits::Limits,
        schedule::{PeriodicJob, Scheduler},
        worker::{Workers, consumer_base},
    },
    observability::{Metrics, RequestStats},
    rate_limit::RateLimiter,
    search::{
        SearchIndex,
        visual::{
            VisualSearch,
            describe_task::{self, DescribeHandler},
            index::IndexConfig,
            neural,
        },
    },
};

/// Connects the database (running migrations), opens the search index (rebuilding it when
/// stale) and, on the embedded default with an empty catalog, seeds the demo catalog.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let metrics = Arc::new(Metrics::new(&settings).context("declaring the metrics")?);
    let db = Db::connect(&settings)
        .await
        .with_context(|| {
            format!(
                "connecting to the {} database",
                settings.database.url.backend()
            )
        })?
        .with_metrics(metrics.clone());
    let search = match &settings.search.index {
        IndexLocation::Memory => SearchIndex::open(None)?,
        IndexLocation::Dir(dir) => SearchIndex::open(Some(dir))?,
    };
    let store = images::store::open(&settings.object_store).context("OBJECT_STORE_URL")?;
    tracing::info!(store = %store.describe(), "object store for originals");
    let images = Images {
        store,
        db: db.clone(),
        limits: images::limits_from(&settings),
    };
    let cache_dir = settings.images.cache_dir.clone();
    let cache_max = settings.images.cache_max_bytes;
    let disk_cache = tokio::task::spawn_blocking(move || DiskCache::open(&cache_dir, cache_max))
        .await?
        .with_context(|| {
            format!(
                "opening the thumbnail cache in {}",
                settings.images.cache_dir.display()
            )
        })?;
    let thumbs = Thumbnailer::new(
        images.clone(),
        disk_cache,
        images::urls::signing_keys(&settings),
        settings.images.pool_threads(),
        settings.images.memory_budget_bytes,
    );
    thumbs.stats.attach_metrics(metrics.clone());
    let jobs = Jobs::from_settings(&settings).await?;
    jobs.stats.attach_metrics(metrics.clone());
    let cache = Cache::from_settings(&settings).context("setting up the cache")?;
    cache.stats().attach_metrics(metrics.clone());
    // VISUAL_MODEL: an explicit model that does not load is a ConfigError (exit 2 in main).
    let (embedder, embedder_status) = {
        let model = settings.search.visual_model.clone();
        tokio::task::spawn_blocking(move || neural::select::select(&model)).await??
    };
    // Descriptors are `describe` jobs on the shared queue; analyses are cached in the `embed`
    // namespace; announcements use the cache's Redis.
    let visual = VisualSearch::start(
        db.clone(),
        images.clone(),
        thumbs.pool(),
        embedder,
        IndexConfig {
            exact_threshold: settings.search.visual_exact_threshold,
            ..IndexConfig::default()
        },
        jobs.queue.clone(),
        cache.clone(),
    );
    visual.set_embedder_status(embedder_status);
    let rate_limiter = Arc::new(RateLimiter::new(&settings, cache.redis().cloned()));
    let schedules = Arc::new(Scheduler::new(
        db.clone(),
        jobs.queue.clone(),
        periodic_jobs(&settings),
        consumer_base(),
    ));
    // Every product write goes through the catalog; it also catches this instance's indexes
    // up before the cache applies another instance's invalidation.
    let catalog = Catalog::new(db.clone(), search.clone(), visual.clone(), cache.clone());
    let state = AppState::from(AppParts {
        catalog,
        visual,
        thumbs,
        jobs,
        schedules,
        cache,
        rate_limiter,
        compression: Arc::new(CompressionStats::default()),
        api_keys: ApiKeys::new(&settings.server.api_keys),
        settings: Arc::new(settings),
        db,
        search,
        images,
        stats: Arc::new(RequestStats::default()),
        metrics,
        started_at: Instant::now(),
    });
    if state.settings.database.embedded && state.settings.catalog.seed_demo {
        let fp = state.db.fingerprint().await?;
        if fp.count == 0 {
            tracing::info!("empty embedded catalog: seeding the demo catalog");
            demo::seed(
                &state.catalog,
                &state.thumbs,
                state.settings.catalog.demo_products,
                false,
            )
            .await?;
        }
    }
    state.search.ensure_fresh(&state.db).await?;
    state.search.load_synonyms_if_changed(&state.db).await?;
    let loaded = state.visual.load().await?;
    tracing::info!(
        products = loaded,
        pending = state.visual.pending(),
        "visual index loaded"
    );
    Ok(state)
}

/// Serves `state` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Writes made outside this process's catalog (the import command, an instance without
    // Redis pub/sub) reach the indexes and the cache through the catalog's sync loop.
    let sync = tokio::spawn(
        state
            .catalog
            .clone()
            .sync_loop(state.settings.search.sync_interval, stop_rx.clone()),
    );
    // Periodic jobs (the orphan sweep), fired once per occurrence across the instances.
    let stop_rx_backfill = stop_rx.clone();
    let scheduler = tokio::spawn(state.schedules.clone().run(stop_rx));
    // Placeholders of images stored before they existed.
    let backfill = tokio::spawn(backfill::backfill_loop(
        state.thumbs.clone(),
        state.cache.clone(),
        stop_rx_backfill,
    ));
    let workers = start_workers(&state);
    let app = http::router(state.clone());
    tracing::info!(addr = %listener.local_addr()?, database = state.db.backend(), "vitrine-origin listening");
    // The accept loop gives each request the client's address (ConnectInfo, for the rate
    // limiter) and applies the connection limits.
    http::serve::serve(
        listener,
        app,
        state.settings.server.connections,
        state.metrics.connections.clone(),
        shutdown,
        state.settings.server.shutdown_timeout,
    )
    .await;
    state.cache.shutdown();
    state.visual.shutdown();
    let _ = stop_tx.send(true);
    if let Some(w) = workers {
        w.shutdown(state.settings.server.shutdown_timeout).await;
    }
    // Thumbnails already answered but not yet written to the disk cache.
    let _ = tokio::time::timeout(
        state.settings.server.shutdown_timeout,
        state.thumbs.settled(),
    )
    .await;
    let _ = sync.await;
    let _ = scheduler.await;
    let _ = backfill.await;
    state.db.close().await;
    tracing::info!("vitrine-origin stopped");
    Ok(())
}

/// Starts `ASYNC_WORKERS` job workers (none when it is 0: an API-only process).
pub fn start_workers(state: &AppState) -> Option<Workers> {
    let n = state.settings.jobs.workers;
    if n == 0 {
        return None;
    }
    Some(start_workers_n(state, n))
}

/// Starts `n` job workers on `state`'s queue.
pub fn start_workers_n(state: &AppState, n: usize) -> Workers {
    let handler = Arc::new(
        Dispatcher::new()
            .with(
                images::batch::KIND,
                ImageBatchHandler {
                    thumbs: state.thumbs.clone(),
                },
            )
            .with(
                describe_task::KIND,
                DescribeHandler {
                    visual: state.visual.clone(),
                },
            )
            .with(
                orphans::KIND,
                OrphanSweepHandler {
                    images: state.images.clone(),
                    grace: state.settings.object_store.orphan_grace,
                },
            ),
    );
    let jobs = &state.settings.jobs;
    tracing::info!(
        workers = n,
        queue = state.jobs.queue.backend(),
        concurrency = ?jobs.concurrency,
        cluster_concurrency = ?jobs.cluster_concurrency,
        "starting job workers"
    );
    Workers::start_limited(
        state.jobs.queue.clone(),
        handler,
        state.jobs.stats.clone(),
        n,
        2,
        Limits::new(&jobs.concurrency, &jobs.cluster_concurrency),
    )
}

/// The periodic jobs the system owes, from the settings. Their handlers are registered in
/// [`start_workers_n`].
pub fn periodic_jobs(settings: &Settings) -> Vec<PeriodicJob> {
    let mut jobs = Vec::new();
    // Objects that never got a row (a failed insert, a staged batch item never ingested).
    if let Some(cadence) = settings.object_store.orphan_schedule.clone() {
        jobs.push(PeriodicJob {
            name: orphans::KIND,
            kind: orphans::KIND,
            cadence,
            payload: serde_json::Value::Null,
        });
    }
    jobs
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
