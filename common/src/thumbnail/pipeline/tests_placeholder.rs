//! The placeholder an ingest computes from its one decode.

use image::{Rgb, RgbImage};

use super::tests::{jpeg_of, png_of, with_exif_orientation};
use super::*;
use crate::thumbnail::spec::{Format, Preset};

fn small_webp() -> (ThumbSpec, OutputFormat) {
    let mut spec = Preset::Small.spec();
    spec.format = Format::Fixed(OutputFormat::Webp);
    (spec, OutputFormat::Webp)
}

fn aspect_of(hash: &[u8]) -> f32 {
    thumbhash::thumb_hash_to_approximate_aspect_ratio(hash).unwrap()
}

#[test]
fn ingest_makes_the_thumbnails_and_the_placeholder_of_a_solid_png() {
    let src = png_of(&RgbImage::from_pixel(300, 200, Rgb([200, 30, 60])));
    let job = small_webp();
    let got = ingest(&src, &[job], &Limits::default()).unwrap();
    assert_eq!(
        got.outputs,
        process_many(&src, &[job], &Limits::default()).unwrap()
    );
    assert_eq!(got.placeholder.color_hex(), "#c81e3c");
    assert!((aspect_of(&got.placeholder.thumbhash) / 1.5 - 1.0).abs() < 0.15);
}

#[test]
fn the_placeholder_is_of_the_displayed_orientation() {
    // Stored 400 × 100, shown (EXIF 6: rotated 90°) as 100 × 400.
    let stored = jpeg_of(&RgbImage::from_pixel(400, 100, Rgb([20, 90, 200])));
    for (orientation, portrait) in [(1, false), (6, true), (8, true), (3, false)] {
        let src = with_exif_orientation(&stored, orientation);
        let p = ingest(&src, &[], &Limits::default()).unwrap().placeholder;
        let ratio = aspect_of(&p.thumbhash);
        assert_eq!(ratio < 1.0, portrait, "orientation {orientation}: {ratio}");
        for (got, want) in p.color.iter().zip([20u8, 90, 200]) {
            assert!(
                got.abs_diff(want) <= 4,
                "orientation {orientation}: {:?}",
                p.color
            );
        }
    }
}

#[test]
fn a_large_photo_goes_through_a_small_decode_and_the_encoders_bound() {
    // 2400 × 1600 → shrink-on-load, then 100 × 67 for the encoder (which asserts ≤ 100).
    let src = jpeg_of(&RgbImage::from_fn(2400, 1600, |x, _| {
        if x < 1800 {
            Rgb([240, 200, 10])
        } else {
            Rgb([10, 10, 10])
        }
    }));
    let p = ingest(&src, &[], &Limits::default()).unwrap().placeholder;
    // The pure decoder gives the yellow within 6; libjpeg-turbo's 1/8-scale shrink-on-load
    // (`native-codecs`) shifts this saturated JPEG yellow to about (225, 188, 9).
    for (got, want) in p.color.iter().zip([240u8, 200, 10]) {
        assert!(got.abs_diff(want) <= 20, "{:?}", p.color);
    }
    assert!((aspect_of(&p.thumbhash) / 1.5 - 1.0).abs() < 0.15);
}

#[test]
fn ingest_refuses_what_process_refuses() {
    assert_eq!(
        ingest(b"", &[], &Limits::default()).unwrap_err().code(),
        "empty_input"
    );
    let truncated = {
        let full = jpeg_of(&RgbImage::from_pixel(64, 64, Rgb([1, 2, 3])));
        full[..full.len() / 2].to_vec()
    };
    assert!(ingest(&truncated, &[small_webp()], &Limits::default()).is_err());
}
