//! Profiling aid for the native thumbnail pipeline: makes the benchmark's three thumbnails
//! (600/300/150 px, q80) of every JPEG in a folder, `REPEAT` times, on one thread, and prints
//! source images/s. Run it under `perf record` to see where the time goes.
//!
//! `cargo run --release -p vitrine-common --features native-codecs --example thumbs_profile -- DIR [jpeg|webp|png] [REPEAT]`
//! (`OUT_DIR=…` also writes each source's 600 px output there, to compare quality.)

use std::time::Instant;

use vitrine_common::thumbnail::{Limits, OutputFormat, ThumbSpec, process_many};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: thumbs_profile DIR [jpeg|webp] [REPEAT]");
    let format = match args.next().as_deref() {
        Some("webp") => OutputFormat::Webp,
        Some("png") => OutputFormat::Png,
        _ => OutputFormat::Jpeg,
    };
    let repeat: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(1);
    let mut sources: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("reading the folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (
                name.unwrap_or_default(),
                std::fs::read(&p).expect("reading a photo"),
            )
        })
        .collect();
    let out_dir = std::env::var("OUT_DIR").ok();
    sources.sort();
    let jobs: Vec<(ThumbSpec, OutputFormat)> =
        ["w:600/h:600/q:80", "w:300/h:300/q:80", "w:150/h:150/q:80"]
            .iter()
            .map(|o| (ThumbSpec::parse(o).expect("spec"), format))
            .collect();
    let limits = Limits::default();
    let started = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..repeat {
        for (name, s) in &sources {
            let out = process_many(s, &jobs, &limits).expect("thumbnails");
            bytes += out.iter().map(|o| o.bytes.len()).sum::<usize>();
            if let Some(dir) = &out_dir {
                let path = format!("{dir}/{name}.{}", format.as_str());
                std::fs::write(path, &out[0].bytes).expect("writing an output");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} sources × {repeat}: {:.1} images/s, {bytes} bytes out",
        sources.len(),
        (sources.len() * repeat) as f64 / secs
    );
}
