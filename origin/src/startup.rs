//! Building and running the server: `build` connects everything, `run` serves on a listener
//! until the shutdown future resolves, then lets in-flight requests finish.
//!
//! Tests call the same two functions on port 0, so what they exercise is what runs.

use std::{future::Future, sync::Arc, time::Instant};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{
    auth::ApiKeys,
    cache::Cache,
    compression::CompressionStats,
    config::{IndexLocation, Settings},
    db::Db,
    demo,
    images::{Images, store::FsStore},
    rate_limit::RateLimiter,
    routes,
    search::{
        SearchIndex,
        visual::{VisualSearch, descriptor::HandcraftedEmbedder, index::IndexConfig},
    },
    state::AppState,
    stats::RequestStats,
};

/// Connects the database (running migrations), opens the search index (rebuilding it when
/// stale) and, on the embedded default with an empty catalog, seeds the demo catalog.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let db = Db::connect(&settings).await.with_context(|| {
        format!(
            "connecting to the {} database",
            settings.database_url.backend()
        )
    })?;
    let search = match &settings.search_index {
        IndexLocation::Memory => SearchIndex::open(None)?,
        IndexLocation::Dir(dir) => SearchIndex::open(Some(dir))?,
    };
    let images = Images {
        store: Arc::new(FsStore::new(settings.data_dir.join("originals"))),
        db: db.clone(),
    };
    let visual = VisualSearch::start(
        db.clone(),
        images.clone(),
        Arc::new(HandcraftedEmbedder),
        IndexConfig {
            exact_threshold: settings.visual_exact_threshold,
            ..IndexConfig::default()
        },
    );
    let cache = Cache::from_settings(&settings).context("setting up the cache")?;
    let rate_limiter = Arc::new(RateLimiter::new(&settings, cache.redis().cloned()));
    // Another instance's product write reaches us over pub/sub before our index has synced
    // it: catch the index up first, so we never re-cache a search from a stale index.
    {
        let (search, db) = (search.clone(), db.clone());
        cache.set_remote_hook(Arc::new(move |ns| {
            let (search, db) = (search.clone(), db.clone());
            Box::pin(async move {
                if ns == vitrine_common::cache_key::Namespace::Search
                    && let Err(e) = search.sync(&db).await
                {
                    tracing::warn!(error = %e, "search index sync before invalidation failed");
                }
            })
        }));
    }
    let state = AppState {
        visual,
        cache,
        rate_limiter,
        compression: Arc::new(CompressionStats::default()),
        api_keys: ApiKeys::new(&settings.api_keys),
        settings: Arc::new(settings),
        db,
        search,
        images,
        stats: Arc::new(RequestStats::default()),
        started_at: Instant::now(),
    };
    if state.settings.embedded_database && state.settings.seed_demo {
        let fp = state.db.fingerprint().await?;
        if fp.count == 0 {
            tracing::info!("empty embedded catalog: seeding the demo catalog");
            demo::seed(&state, state.settings.demo_products, false).await?;
        }
    }
    state.search.ensure_fresh(&state.db).await?;
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
    let sync = tokio::spawn(search_sync_loop(state.clone(), stop_rx));
    let app = routes::router(state.clone());
    tracing::info!(addr = %listener.local_addr()?, database = state.db.backend(), "vitrine-origin listening");
    // ConnectInfo gives the rate limiter the client's address.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving HTTP")?;
    state.cache.shutdown();
    let _ = stop_tx.send(true);
    let _ = sync.await;
    state.db.close().await;
    tracing::info!("vitrine-origin stopped");
    Ok(())
}

/// Keeps the search index in step with writes made by other instances or the importer.
async fn search_sync_loop(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = state.settings.search_sync_interval;
    if every.is_zero() {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match state.search.sync(&state.db).await {
            // Writes made outside this process's handlers (the import command, an instance
            // without Redis pub/sub) reach the cache only through here.
            Ok(outcome) => {
                if outcome.rebuilt {
                    if let Err(e) = state.visual.load().await {
                        tracing::warn!(error = %e, "visual index reload failed");
                    }
                    state
                        .cache
                        .invalidate_namespace(vitrine_common::cache_key::Namespace::Product)
                        .await;
                    state
                        .cache
                        .invalidate_namespace(vitrine_common::cache_key::Namespace::Search)
                        .await;
                } else if !outcome.changed.is_empty() {
                    state.visual.on_products_changed(&outcome.changed).await;
                    let ids: Vec<i64> = outcome.changed.iter().map(|p| p.id).collect();
                    state.cache.invalidate_products(&ids).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "search index sync failed; will retry"),
        }
    }
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
