//! Building `/img` URLs the storefront can use.
//!
//! Only URLs the shop made may trigger a resize, so every URL the origin hands out (search
//! results' `thumbnail_url`, batch job results, the demo catalog) is built here and signed with
//! the current key of `IMAGE_SIGNING_KEYS` (or carries `_` when signing is off).

use std::collections::HashMap;

use vitrine_common::{
    api::{ImageCandidate, Product, ProductImages},
    signature::SigningKeys,
    thumbnail::{OutputFormat, Preset},
};

use crate::db::{Db, images::ImageFacts};

/// `/img/{signature}/{options}/{image_id}` for raw `options` (e.g. `w:300/h:300/fit:cover`).
/// `options` may be empty.
pub fn img_url(keys: &SigningKeys, options: &str, image_id: &str) -> String {
    let options = options.trim_matches('/');
    let signed = if options.is_empty() {
        format!("/{image_id}")
    } else {
        format!("/{options}/{image_id}")
    };
    format!("/img/{}{signed}", keys.sign(&signed))
}

/// The URL of a preset thumbnail (`small`/`medium`/`large`) in `format`, or `f:auto` when
/// `format` is `None` (the browser's `Accept` then picks WebP or JPEG).
pub fn preset_url(
    keys: &SigningKeys,
    preset: Preset,
    format: Option<OutputFormat>,
    image_id: &str,
) -> String {
    let f = format.map_or("auto", OutputFormat::as_str);
    img_url(keys, &format!("{}/f:{f}", preset.as_str()), image_id)
}

/// The thumbnail a product card shows: the medium preset, format negotiated.
pub fn product_thumbnail_url(keys: &SigningKeys, image_id: &str) -> String {
    preset_url(keys, Preset::Medium, None, image_id)
}

/// The widths, in pixels, of the square thumbnails every product carries in `images.srcset`:
/// enough steps for a grid cell or a product view at DPR 1–3, few enough to keep product JSON
/// small (each is one signed URL).
pub const SRCSET_WIDTHS: [u32; 5] = [160, 320, 480, 640, 960];

/// Each image's displayed size and placeholder, by id, as [`image_facts`] finds them.
pub type ImagesById = HashMap<String, ImageFacts>;

/// The `srcset` widths for an original of `size`: thumbnails are never enlarged, so a square
/// crop is at most the original's shorter side; widths above it are replaced by one candidate
/// at that side (at least one entry is kept). Unknown size: every width.
pub fn srcset_widths(size: Option<(u32, u32)>) -> Vec<u32> {
    let Some(side) = size.map(|(w, h)| w.min(h)).filter(|&s| s > 0) else {
        return SRCSET_WIDTHS.to_vec();
    };
    let mut widths: Vec<u32> = SRCSET_WIDTHS
        .iter()
        .copied()
        .filter(|&w| w < side)
        .collect();
    let top = side.min(SRCSET_WIDTHS[SRCSET_WIDTHS.len() - 1]);
    if !widths.contains(&top) {
        widths.push(top);
    }
    widths
}

/// A product image's `srcset` (square, cropped to fill (`fit:cover`), format negotiated, capped
/// at the original's size when known) and its placeholder, from `facts` when the row was
/// found.
pub fn product_images(
    keys: &SigningKeys,
    image_id: &str,
    facts: Option<&ImageFacts>,
) -> ProductImages {
    let size = facts.map(|f| (f.width, f.height));
    ProductImages {
        placeholder: facts.and_then(|f| f.placeholder.clone()),
        srcset: srcset_widths(size)
            .into_iter()
            .map(|w| ImageCandidate {
                w,
                url: img_url(keys, &format!("w:{w}/h:{w}/fit:cover/f:auto"), image_id),
            })
            .collect(),
    }
}

/// The sizes and placeholders of the originals of `products`, one query. A failed lookup is
/// logged and leaves the srcsets uncapped and without placeholders rather than failing the
/// response.
pub async fn image_facts<'a>(
    db: &Db,
    products: impl IntoIterator<Item = &'a Product>,
) -> ImagesById {
    let ids: Vec<&str> = products
        .into_iter()
        .filter_map(|p| p.image_id.as_deref())
        .collect();
    if ids.is_empty() {
        return ImagesById::new();
    }
    db.image_facts(&ids).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "image facts lookup failed; srcsets left uncapped");
        ImagesById::new()
    })
}

/// Sets (or clears) `product.images` from its `image_id`. Call it on products about to be
/// sent, never on ones about to be stored: URLs are signed with the current key.
pub fn attach_images(keys: &SigningKeys, facts: &ImagesById, product: &mut Product) {
    product.images = product
        .image_id
        .as_deref()
        .map(|id| product_images(keys, id, facts.get(id)));
}

/// [`attach_images`] on the way out of a handler.
pub fn with_images(keys: &SigningKeys, facts: &ImagesById, mut product: Product) -> Product {
    attach_images(keys, facts, &mut product);
    product
}

/// [`with_images`] for one product, looking its original's size and placeholder up first.
pub async fn with_images_of(db: &Db, keys: &SigningKeys, product: Product) -> Product {
    let facts = image_facts(db, [&product]).await;
    with_images(keys, &facts, product)
}

/// The signing keys configured in `IMAGE_SIGNING_KEYS` (first = current).
pub fn signing_keys(settings: &crate::config::Settings) -> SigningKeys {
    let keys: Vec<&[u8]> = settings
        .images
        .signing_keys
        .iter()
        .map(|k| k.0.as_bytes())
        .collect();
    SigningKeys::from_keys(&keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitrine_common::thumbnail::split_img_path;

    #[test]
    fn urls_verify_and_parse() {
        let keys = SigningKeys::from_keys(&["k1-0123456789abcdef"]);
        let id = "a".repeat(64);
        let url = product_thumbnail_url(&keys, &id);
        let p = split_img_path(&url).unwrap();
        assert_eq!(p.options, "medium/f:auto");
        keys.verify(p.signature, p.signed_path).unwrap();
        assert!(img_url(&SigningKeys::default(), "", &id).starts_with("/img/_/"));
    }

    #[test]
    fn srcset_urls_are_signed_square_and_ascending() {
        let keys = SigningKeys::from_keys(&["k1-0123456789abcdef"]);
        let id = "b".repeat(64);
        let images = product_images(&keys, &id, None);
        assert_eq!(images.placeholder, None, "no row, no placeholder");
        let widths: Vec<u32> = images.srcset.iter().map(|c| c.w).collect();
        assert_eq!(widths, SRCSET_WIDTHS);
        for c in &images.srcset {
            let p = split_img_path(&c.url).unwrap();
            keys.verify(p.signature, p.signed_path).unwrap();
            let spec = vitrine_common::thumbnail::ThumbSpec::parse(p.options).unwrap();
            assert_eq!(p.options, format!("w:{0}/h:{0}/fit:cover/f:auto", c.w));
            assert!(spec.format.fixed().is_none(), "f:auto is negotiated");
        }
        // Another key's URLs do not verify.
        let other = SigningKeys::from_keys(&["k2-0123456789abcdef"]);
        let p = split_img_path(&images.srcset[0].url).unwrap();
        assert!(other.verify(p.signature, p.signed_path).is_err());
    }

    #[test]
    fn srcset_never_advertises_an_upscaled_width() {
        assert_eq!(srcset_widths(None), SRCSET_WIDTHS);
        assert_eq!(srcset_widths(Some((4000, 3000))), SRCSET_WIDTHS);
        assert_eq!(srcset_widths(Some((960, 1200))), SRCSET_WIDTHS);
        assert_eq!(srcset_widths(Some((700, 500))), [160, 320, 480, 500]);
        assert_eq!(srcset_widths(Some((640, 640))), [160, 320, 480, 640]);
        assert_eq!(srcset_widths(Some((265, 352))), [160, 265]);
        assert_eq!(srcset_widths(Some((14, 25))), [14]);
        let keys = SigningKeys::default();
        let facts = ImageFacts {
            width: 14,
            height: 25,
            placeholder: Some(vitrine_common::api::ImagePlaceholder {
                thumbhash: "1QcSHQRnh493V4dIh4eXh1h4kJUI".into(),
                color: "#c81e3c".into(),
            }),
        };
        let images = product_images(&keys, &"c".repeat(64), Some(&facts));
        assert_eq!(
            images.placeholder, facts.placeholder,
            "the row's placeholder"
        );
        assert_eq!(images.srcset.len(), 1);
        assert!(images.srcset[0].url.contains("/w:14/h:14/fit:cover/"));
    }
}
