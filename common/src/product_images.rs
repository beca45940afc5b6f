//! The `images` object every product response carries: its thumbnails' `srcset` and its
//! placeholder, as the API shows them (the origin builds them, the edge passes them on).

use serde::{Deserialize, Serialize};

/// The thumbnails of a product's image: one square (`fit:cover`, `f:auto`) `/img` URL per
/// width, smallest first, for a browser's `srcset` (`url w` pairs) to pick by viewport and DPR.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductImages {
    pub srcset: Vec<ImageCandidate>,
    /// What to paint before a thumbnail arrives; absent only while an image stored before
    /// placeholders existed waits for the background pass that computes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<ImagePlaceholder>,
}

/// One `srcset` candidate: a URL and its width in pixels (its height is the same).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCandidate {
    pub w: u32,
    pub url: String,
}

/// An image's placeholder, computed at ingest by [`crate::placeholder`]: a ThumbHash to
/// decode into a blurred preview of the whole image (its aspect ratio included; draw it with
/// `object-fit: cover` for a square crop), and the dominant colour to paint at once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePlaceholder {
    /// The ThumbHash, standard base64 with padding (about 30 characters).
    #[cfg_attr(feature = "openapi", schema(example = "1QcSHQRnh493V4dIh4eXh1h4kJUI"))]
    pub thumbhash: String,
    /// The dominant colour, `#rrggbb` in lower case: the most common colour, not counting
    /// transparent pixels or a white product-shot background.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^#[0-9a-f]{6}$", example = "#c81e3c")
    )]
    pub color: String,
}
