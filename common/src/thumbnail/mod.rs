//! Thumbnails: what a URL asks for ([`spec`], [`parse`]) and how it is made ([`pipeline`]).
//!
//! The spec and the pipeline live in `common` so the origin (native, fast C codecs behind the
//! `native-codecs` feature) and the wasm edge (pure Rust) produce the same thumbnails from the
//! same URL.

pub mod options;
pub mod parse;
pub mod spec;

pub use options::{Background, Gravity, Pad, ShotOptions, Trim};
pub use parse::{ImgPath, split_img_path};
pub use spec::{Dpr, Fit, Format, MAX_SIDE, OutputFormat, OutputSize, Preset, Quality, ThumbSpec};
pub mod pipeline;
mod sniff;

pub use pipeline::{
    ImageInfo, Ingested, Limits, Output, PipelineError, encoder_available, ingest, probe, process,
    process_many,
};
pub use sniff::SourceFormat;
