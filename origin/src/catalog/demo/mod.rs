//! The demo catalog: a few hundred products with generated product photos, so a fresh
//! machine shows real search results and real images.
//!
//! The products are generated here and their pictures in `render.rs`; seeding stores the
//! pictures as originals and writes the products through the [`Catalog`], so they reach the
//! text index, visual search and the cache like any other write.

mod render;

use vitrine_common::api::{
    Attributes, Brand, Category, Currency, Description, ImageId, NewProduct, Price, Sku, Title,
};

pub use self::render::render_image;
use super::Catalog;
use crate::{db::products::UpsertSummary, images::thumbs::Thumbnailer};

pub const DEFAULT_PRODUCTS: usize = 300;
const SIZE: u32 = 320;

const BRANDS: [&str; 8] = [
    "Acme", "Nordlys", "Kumo", "Veloce", "Atlas", "Pebble", "Lumen", "Orbit",
];
const COLOURS: [(&str, [u8; 3]); 12] = [
    ("Red", [205, 40, 45]),
    ("Blue", [35, 90, 200]),
    ("Green", [40, 150, 70]),
    ("Yellow", [240, 200, 40]),
    ("Black", [30, 30, 34]),
    ("Orange", [240, 130, 30]),
    ("Purple", [120, 60, 170]),
    ("Pink", [235, 120, 170]),
    ("Teal", [30, 150, 150]),
    ("Brown", [120, 75, 40]),
    ("Grey", [130, 130, 135]),
    ("Navy", [25, 40, 90]),
];
const ADJECTIVES: [&str; 5] = ["Classic", "Ultralight", "Pro", "Compact", "Premium"];

struct Kind {
    category: &'static str,
    noun: &'static str,
    price_range: (i64, i64),
    blurb: &'static str,
}

const KINDS: [Kind; 10] = [
    Kind {
        category: "Laptops",
        noun: "Laptop",
        price_range: (49_900, 249_900),
        blurb: "A portable computer with an all-day battery, a bright display and a quiet keyboard.",
    },
    Kind {
        category: "Headphones",
        noun: "Headphones",
        price_range: (2_900, 39_900),
        blurb: "Over-ear wireless headphones with noise cancelling and a soft headband.",
    },
    Kind {
        category: "Mugs",
        noun: "Mug",
        price_range: (900, 3_500),
        blurb: "A stoneware coffee mug, dishwasher safe, with a comfortable handle.",
    },
    Kind {
        category: "Sneakers",
        noun: "Sneakers",
        price_range: (4_900, 18_900),
        blurb: "Running shoes with a cushioned sole and a breathable knit upper.",
    },
    Kind {
        category: "Watches",
        noun: "Watch",
        price_range: (7_900, 59_900),
        blurb: "A wrist watch with a sapphire glass, steel case and leather strap.",
    },
    Kind {
        category: "Backpacks",
        noun: "Backpack",
        price_range: (3_900, 15_900),
        blurb: "A water-resistant backpack with a padded laptop sleeve and many pockets.",
    },
    Kind {
        category: "Lamps",
        noun: "Desk Lamp",
        price_range: (2_500, 14_900),
        blurb: "A dimmable LED desk lamp with an adjustable arm and warm light.",
    },
    Kind {
        category: "Chairs",
        noun: "Chair",
        price_range: (8_900, 69_900),
        blurb: "An ergonomic office chair with lumbar support and breathable mesh.",
    },
    Kind {
        category: "Sunglasses",
        noun: "Sunglasses",
        price_range: (2_900, 24_900),
        blurb: "Polarised sunglasses with UV400 lenses and a lightweight frame.",
    },
    Kind {
        category: "Bottles",
        noun: "Water Bottle",
        price_range: (1_500, 4_900),
        blurb: "An insulated steel water bottle that keeps drinks cold for a day.",
    },
];

/// A cheap deterministic hash for picking prices and variations.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The `i`-th demo product (without its image id).
pub fn product(i: usize) -> anyhow::Result<NewProduct> {
    let kind = &KINDS[i % KINDS.len()];
    let (colour, _) = COLOURS[(i / KINDS.len()) % COLOURS.len()];
    let brand = BRANDS[(i * 5 + i / 7) % BRANDS.len()];
    let adjective = ADJECTIVES[(i / (KINDS.len() * COLOURS.len())) % ADJECTIVES.len()];
    let (lo, hi) = kind.price_range;
    let price = lo + (mix(i as u64) % ((hi - lo) as u64)) as i64;
    let price = price / 100 * 100 - 1; // shop prices end in .99
    let title = format!("{brand} {adjective} {colour} {}", kind.noun);
    let description = format!(
        "{} This {} {} comes in {}. Model {}-{:04}.",
        kind.blurb,
        adjective.to_lowercase(),
        kind.noun.to_lowercase(),
        colour.to_lowercase(),
        brand.to_uppercase(),
        i
    );
    Ok(NewProduct {
        sku: Sku::parse(format!("DEMO-{:05}", i))?,
        title: Title::parse(title)?,
        description: Description::parse(description)?,
        brand: Brand::parse(brand)?,
        category: Category::parse(kind.category)?,
        price: Price::parse(price.max(99))?,
        currency: Currency::parse("USD")?,
        attributes: Attributes::parse(serde_json::json!({
            "colour": colour.to_lowercase(),
            "variant": adjective.to_lowercase(),
            "demo": true,
        }))?,
        image_id: None,
    })
}

/// Seeds `count` demo products, their pictures ingested like uploads (decoded once: the
/// `small` thumbnail and the placeholder). With `show_progress`, draws a progress bar.
pub async fn seed(
    catalog: &Catalog,
    thumbs: &Thumbnailer,
    count: usize,
    show_progress: bool,
) -> anyhow::Result<UpsertSummary> {
    let bar = if show_progress {
        indicatif::ProgressBar::new(count as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut rows = Vec::with_capacity(count);
    for i in 0..count {
        let jpeg = tokio::task::spawn_blocking(move || render_image(i)).await??;
        let record = thumbs
            .ingest_checked(jpeg)
            .await
            .map_err(|e| anyhow::anyhow!("storing demo image {i}: {e}"))?;
        let mut p = product(i)?;
        p.image_id = Some(ImageId::parse(&record.0.id)?);
        rows.push(p);
        bar.inc(1);
    }
    let summary = catalog.upsert_many(&rows).await?;
    bar.finish_and_clear();
    tracing::info!(
        inserted = summary.inserted,
        updated = summary.updated,
        "demo catalog seeded"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_valid_and_distinct() {
        let skus: std::collections::HashSet<_> = (0..DEFAULT_PRODUCTS)
            .map(|i| product(i).unwrap().sku)
            .collect();
        assert_eq!(skus.len(), DEFAULT_PRODUCTS);
        assert!(product(0).unwrap().title.as_str().contains("Laptop"));
    }

    #[test]
    fn images_are_deterministic_and_distinct() {
        let a = render_image(3).unwrap();
        assert_eq!(a, render_image(3).unwrap());
        assert_ne!(a, render_image(13).unwrap());
        let decoded = image::load_from_memory(&a).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (SIZE, SIZE));
    }
}
