//! Why an image could not be processed, with its stable code and HTTP status.

use image::ImageError;

use crate::thumbnail::spec::OutputFormat;

/// Why an image could not be processed. [`PipelineError::code`] is stable for machines,
/// `Display` is a message a client can read, [`PipelineError::status`] the HTTP status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("the image is empty")]
    EmptyInput,
    #[error("the image is {len} bytes, more than the limit of {limit}")]
    TooManyBytes { len: usize, limit: usize },
    #[error("the image format is not recognised (JPEG, PNG, GIF and WebP are accepted)")]
    UnknownFormat,
    #[error("{0} images are not supported (JPEG, PNG, GIF and WebP are accepted)")]
    Unsupported(&'static str),
    #[error("the image is {width}×{height}, over the limit ({limit})")]
    TooLarge {
        width: u32,
        height: u32,
        limit: String,
    },
    #[error("the image has more than {limit} frames")]
    TooManyFrames { limit: u32 },
    #[error("the image data is truncated")]
    Truncated,
    #[error("the image data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} output is not available on this server")]
    UnsupportedOutput(OutputFormat),
    #[error("encoding failed: {0}")]
    EncodeFailed(String),
}

impl PipelineError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyInput => "empty_input",
            Self::TooManyBytes { .. } => "too_many_bytes",
            Self::UnknownFormat => "unknown_format",
            Self::Unsupported(_) => "unsupported_format",
            Self::TooLarge { .. } => "too_large",
            Self::TooManyFrames { .. } => "too_many_frames",
            Self::Truncated => "truncated",
            Self::Corrupt(_) => "corrupt",
            Self::UnsupportedOutput(_) => "unsupported_output",
            Self::EncodeFailed(_) => "encode_failed",
        }
    }

    /// The HTTP status the origin and the edge answer with.
    pub fn status(&self) -> u16 {
        match self {
            Self::EmptyInput => 400,
            Self::TooManyBytes { .. } | Self::TooLarge { .. } | Self::TooManyFrames { .. } => 413,
            Self::UnknownFormat | Self::Unsupported(_) => 415,
            Self::Truncated | Self::Corrupt(_) => 422,
            Self::UnsupportedOutput(_) => 406,
            Self::EncodeFailed(_) => 500,
        }
    }
}

pub(super) fn map_image_error(e: ImageError) -> PipelineError {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PipelineError::Truncated
        }
        ImageError::Limits(_) => PipelineError::TooLarge {
            width: 0,
            height: 0,
            limit: "decoder memory limit".into(),
        },
        ImageError::Unsupported(u) => PipelineError::Corrupt(u.to_string()),
        other => {
            let msg = other.to_string();
            let lower = msg.to_ascii_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat") {
                PipelineError::Truncated
            } else {
                PipelineError::Corrupt(msg)
            }
        }
    }
}
