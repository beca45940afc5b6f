//! `vitrine-origin`: parses the command line and settings, then hands over to the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vitrine_origin::{
    catalog::{Catalog, demo, import},
    config::Settings,
    db::Db,
    observability::logging as telemetry,
    startup,
};

#[derive(Parser)]
#[command(
    name = "vitrine-origin",
    version,
    about = "The Vitrine origin service (settings come from the environment; see README.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Import products from a CSV or NDJSON file (idempotent on sku).
    Import { file: PathBuf },
    /// Create the demo catalog (products with generated images).
    SeedDemo {
        #[arg(long, default_value_t = demo::DEFAULT_PRODUCTS)]
        count: usize,
    },
}

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads exist (see alloc.rs).
    vitrine_origin::alloc::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vitrine-origin: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(&settings);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.server.bind_addr)
                .await
                .with_context(|| format!("binding {}", settings.server.bind_addr))?;
            let state = build_state_or_exit(settings).await?;
            startup::run(listener, state, startup::shutdown_signal()).await
        }
        Command::Import { file } => {
            // This process serves nothing: running origins pick the rows up in their sync loop.
            let catalog = Catalog::database_only(Db::connect(&settings).await?);
            let s = import::import_file(&catalog, &file).await?;
            println!(
                "imported {}: {} inserted, {} updated, {} unchanged, {} rejected in {:.2} s ({:.0} rows/s)",
                file.display(),
                s.inserted,
                s.updated,
                s.unchanged,
                s.rejected,
                s.seconds,
                s.rows_per_second()
            );
            for (line, reason) in &s.errors {
                println!("  line {line}: {reason}");
            }
            Ok(())
        }
        Command::SeedDemo { count } => {
            let mut settings = settings;
            settings.catalog.seed_demo = false;
            let state = build_state_or_exit(settings).await?;
            let s = demo::seed(&state.catalog, &state.thumbs, count, true).await?;
            println!(
                "demo catalog: {} inserted, {} updated, {} unchanged",
                s.inserted, s.updated, s.unchanged
            );
            Ok(())
        }
    }
}

/// Builds the state; a setting that names something unusable (`VISUAL_MODEL`), found only
/// here, exits 2 with its message like any other invalid setting.
async fn build_state_or_exit(
    settings: vitrine_origin::config::Settings,
) -> anyhow::Result<vitrine_origin::http::AppState> {
    match startup::build_state(settings).await {
        Ok(state) => Ok(state),
        Err(e)
            if e.downcast_ref::<vitrine_origin::config::ConfigError>()
                .is_some() =>
        {
            eprintln!("vitrine-origin: {e}");
            std::process::exit(2);
        }
        Err(e) => Err(e),
    }
}
