//! `vitrine-origin import FILE`: bulk-load products from CSV or NDJSON.
//!
//! Rows are validated with the same types as the API (a bad row is reported with its line
//! number and reason, never inserted), then upserted by SKU in batches through the
//! [`Catalog`], so running the same import twice changes nothing. The import command serves
//! nothing and so uses a database-only catalog ([`Catalog::database_only`]): a running
//! origin's sync loop (`remote.rs`) picks the rows up, and a stopped one rebuilds its index at
//! start. Through a serving catalog, each batch propagates like any other write.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    time::Instant,
};

use anyhow::Context;
use vitrine_common::api::NewProduct;

use super::Catalog;

const BATCH: usize = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn from_path(path: &Path) -> anyhow::Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Format::Csv),
            Some("ndjson" | "jsonl" | "json") => Ok(Format::Ndjson),
            _ => anyhow::bail!(
                "{}: expected a .csv, .ndjson or .jsonl file",
                path.display()
            ),
        }
    }
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// The first rejections, as `(line, reason)`.
    pub errors: Vec<(u64, String)>,
    pub seconds: f64,
}

impl ImportSummary {
    pub fn rows_per_second(&self) -> f64 {
        let rows = (self.inserted + self.updated + self.unchanged) as f64;
        if self.seconds > 0.0 {
            rows / self.seconds
        } else {
            0.0
        }
    }
}

/// Imports `reader` through `catalog`, calling `progress(bytes_read)` as it goes.
pub async fn import_reader<R: Read + Send + 'static>(
    catalog: &Catalog,
    reader: R,
    format: Format,
    progress: impl Fn(u64),
) -> anyhow::Result<ImportSummary> {
    let started = Instant::now();
    let counting = CountingReader {
        inner: reader,
        count: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
    };
    let counter = counting.count.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<NewProduct>, Vec<(u64, String)>)>(2);
    // Parsing is CPU work: do it on a blocking thread while the previous batch is written.
    let parser = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut batch = Vec::with_capacity(BATCH);
        let mut errors = Vec::new();
        let flush = |batch: &mut Vec<NewProduct>, errors: &mut Vec<(u64, String)>| {
            tx.blocking_send((std::mem::take(batch), std::mem::take(errors)))
                .is_ok()
        };
        match format {
            Format::Ndjson => {
                for (i, line) in BufReader::new(counting).lines().enumerate() {
                    let line = line.context("reading the file")?;
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<NewProduct>(line) {
                        Ok(p) => batch.push(p),
                        Err(e) => errors.push((i as u64 + 1, e.to_string())),
                    }
                    if batch.len() >= BATCH && !flush(&mut batch, &mut errors) {
                        return Ok(());
                    }
                }
            }
            Format::Csv => {
                let mut csv = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(counting);
                let headers = csv.headers().context("reading the CSV header")?.clone();
                for (i, record) in csv.records().enumerate() {
                    let line = i as u64 + 2;
                    match record
                        .map_err(|e| e.to_string())
                        .and_then(|r| csv_row(&headers, &r))
                    {
                        Ok(p) => batch.push(p),
                        Err(e) => errors.push((line, e)),
                    }
                    if batch.len() >= BATCH && !flush(&mut batch, &mut errors) {
                        return Ok(());
                    }
                }
            }
        }
        flush(&mut batch, &mut errors);
        Ok(())
    });
    let mut summary = ImportSummary::default();
    while let Some((rows, errors)) = rx.recv().await {
        summary.rejected += errors.len() as u64;
        for e in errors {
            if summary.errors.len() < 100 {
                summary.errors.push(e);
            }
        }
        if !rows.is_empty() {
            let s = catalog.upsert_many(&rows).await?;
            summary.inserted += s.inserted;
            summary.updated += s.updated;
            summary.unchanged += s.unchanged;
        }
        progress(counter.load(std::sync::atomic::Ordering::Relaxed));
    }
    parser.await??;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// One CSV record → a product, through the same validation as the JSON API.
fn csv_row(headers: &csv::StringRecord, record: &csv::StringRecord) -> Result<NewProduct, String> {
    let mut obj = serde_json::Map::new();
    for (name, value) in headers.iter().zip(record.iter()) {
        let name = name.trim();
        let json = match name {
            "price" => serde_json::Value::from(value.trim().parse::<i64>().map_err(|_| {
                format!("price: {value:?} is not an integer number of minor units")
            })?),
            "attributes" if value.trim().is_empty() => continue,
            "attributes" => {
                serde_json::from_str(value).map_err(|e| format!("attributes: not JSON ({e})"))?
            }
            "image_id" | "description" | "currency" if value.trim().is_empty() => continue,
            _ => serde_json::Value::from(value),
        };
        obj.insert(name.to_owned(), json);
    }
    serde_json::from_value(serde_json::Value::Object(obj)).map_err(|e| e.to_string())
}

struct CountingReader<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// The CLI entry: imports `path` with a progress bar and prints the summary.
pub async fn import_file(catalog: &Catalog, path: &Path) -> anyhow::Result<ImportSummary> {
    let format = Format::from_path(path)?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let summary = import_reader(catalog, file, format, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_validate_like_the_api() {
        let headers = csv::StringRecord::from(vec![
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "attributes",
        ]);
        let ok =
            csv::StringRecord::from(vec!["S-1", "Lamp", "Lumen", "Lamps", "1999", "{\"w\":1}"]);
        let p = csv_row(&headers, &ok).unwrap();
        assert_eq!(p.price.minor_units(), 1999);
        let bad = csv::StringRecord::from(vec!["S-1", "Lamp", "Lumen", "Lamps", "-5", ""]);
        assert!(csv_row(&headers, &bad).unwrap_err().contains("price"));
        let bad = csv::StringRecord::from(vec!["S-1", "Lamp", "Lumen", "Lamps", "12.5", ""]);
        assert!(csv_row(&headers, &bad).unwrap_err().contains("price"));
    }
}
