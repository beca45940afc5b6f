//! Pipeline tests. Every input is generated in code, so nothing binary is checked in.

use std::time::{Duration, Instant};

use image::{ImageEncoder as _, Rgb, RgbImage};

use super::*;
use crate::thumbnail::spec::{Dpr, Fit, Format, Preset, Quality};

fn spec(w: Option<u32>, h: Option<u32>, fit: Fit) -> ThumbSpec {
    ThumbSpec::new(w, h, fit, Format::Auto, Quality::DEFAULT, Dpr::ONE).unwrap()
}

/// A smooth gradient, so lossy codecs behave like on photos.
fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128])
    })
}

pub(super) fn jpeg_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

pub(super) fn png_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// Inserts an EXIF APP1 segment with the given orientation right after SOI.
pub(super) fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // big-endian TIFF, IFD0 at 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut seg = b"Exif\0\0".to_vec();
    seg.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&seg);
    out.extend_from_slice(&jpeg[2..]);
    out
}

pub(super) fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

#[test]
fn golden_dimensions_through_the_pipeline() {
    let src = jpeg_of(&gradient(800, 400));
    let cases = [
        (spec(Some(300), Some(300), Fit::Contain), (300, 150)),
        (spec(Some(300), Some(300), Fit::Cover), (300, 300)),
        (spec(Some(300), Some(300), Fit::Fill), (300, 300)),
        (spec(Some(300), Some(300), Fit::Inside), (300, 150)),
        (spec(Some(1000), Some(1000), Fit::Inside), (800, 400)),
        (spec(Some(1000), Some(1000), Fit::Contain), (800, 400)),
        (spec(None, Some(100), Fit::Contain), (200, 100)),
        (spec(None, None, Fit::Contain), (800, 400)),
    ];
    for (s, (w, h)) in cases {
        let out = process(&src, &s, OutputFormat::Png, &Limits::default()).unwrap();
        assert_eq!((out.width, out.height), (w, h), "{s}");
        let img = decode(&out.bytes);
        assert_eq!((img.width(), img.height()), (w, h), "{s}");
    }
}

#[test]
fn cover_crops_the_centre() {
    // Left third red, middle green, right third blue: a square cover keeps mostly green.
    let img = RgbImage::from_fn(300, 100, |x, _| match x {
        0..100 => Rgb([255, 0, 0]),
        100..200 => Rgb([0, 255, 0]),
        _ => Rgb([0, 0, 255]),
    });
    let out = process(
        &png_of(&img),
        &spec(Some(50), Some(50), Fit::Cover),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let px = decode(&out.bytes).into_rgb8();
    for (x, y) in [(2, 2), (47, 47), (25, 25)] {
        let p = px.get_pixel(x, y);
        assert!(p[1] > 200 && p[0] < 60 && p[2] < 60, "({x},{y}) = {p:?}");
    }
}

#[test]
fn exif_orientations_1_to_8() {
    // 40×20 stored image: the stored top-left 20×10 quadrant is red, the rest blue.
    let stored = RgbImage::from_fn(40, 20, |x, y| {
        if x < 20 && y < 10 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let base = jpeg_of(&stored);
    // Where the stored top-left corner ends up after display orientation.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Corner {
        TL,
        TR,
        BR,
        BL,
    }
    use Corner::*;
    let expected = [TL, TR, BR, BL, TL, TR, BR, BL];
    for o in 1..=8u16 {
        let src = with_exif_orientation(&base, o);
        let info = probe(&src, &Limits::default()).unwrap();
        let (w, h) = if o >= 5 { (20, 40) } else { (40, 20) };
        assert_eq!((info.width, info.height), (w, h), "probe, orientation {o}");
        let out = process(
            &src,
            &spec(None, None, Fit::Contain),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!((out.width, out.height), (w, h), "orientation {o}");
        let px = decode(&out.bytes).into_rgb8();
        let red = |x: u32, y: u32| px.get_pixel(x, y)[0] > 200;
        let corners = [
            (TL, 1, 1),
            (TR, w - 2, 1),
            (BR, w - 2, h - 2),
            (BL, 1, h - 2),
        ];
        for (corner, x, y) in corners {
            assert_eq!(
                red(x, y),
                corner == expected[o as usize - 1],
                "orientation {o}, corner {corner:?}"
            );
        }
        // And through a resize (which happens before orienting).
        let out = process(
            &src,
            &spec(Some(10), None, Fit::Contain),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(out.width, 10, "orientation {o}");
        assert_eq!(out.height, if o >= 5 { 20 } else { 5 }, "orientation {o}");
    }
}

#[test]
fn cmyk_jpeg_is_decoded_not_mangled() {
    // Adobe-style (inverted) CMYK as Photoshop writes it, in pure cyan, magenta, yellow, black.
    let (w, h) = (64u16, 64u16);
    let mut cmyk = Vec::new();
    for _y in 0..h {
        for x in 0..w {
            cmyk.extend_from_slice(match x / 16 {
                0 => &[255, 0, 0, 0],
                1 => &[0, 255, 0, 0],
                2 => &[0, 0, 255, 0],
                _ => &[0, 0, 0, 255],
            });
        }
    }
    for color in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let mut bytes = Vec::new();
        jpeg_encoder::Encoder::new(&mut bytes, 95)
            .encode(&cmyk, w, h, color)
            .unwrap();
        let info = probe(&bytes, &Limits::default()).unwrap();
        assert_eq!((info.width, info.height), (64, 64));
        let out = process(
            &bytes,
            &spec(None, None, Fit::Contain),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap();
        let px = decode(&out.bytes).into_rgb8();
        let at = |x: u32| *px.get_pixel(x, 32);
        let near =
            |p: Rgb<u8>, want: [u8; 3]| p.0.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40);
        assert!(near(at(8), [0, 255, 255]), "{color:?} cyan → {:?}", at(8));
        assert!(
            near(at(24), [255, 0, 255]),
            "{color:?} magenta → {:?}",
            at(24)
        );
        assert!(
            near(at(40), [255, 255, 0]),
            "{color:?} yellow → {:?}",
            at(40)
        );
        assert!(near(at(56), [0, 0, 0]), "{color:?} black → {:?}", at(56));
    }
}

#[test]
fn sixteen_bit_png_is_handled() {
    let img = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(64, 32, |x, _| {
        image::Rgb([(x * 1000) as u16, 65535, 0])
    });
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            bytemuck_u16(img.as_raw()).as_slice(),
            64,
            32,
            image::ExtendedColorType::Rgb16,
        )
        .unwrap();
    let out = process(
        &bytes,
        &spec(Some(32), None, Fit::Contain),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let px = decode(&out.bytes);
    assert_eq!(px.color(), image::ColorType::Rgb8, "output is 8-bit");
    let px = px.into_rgb8();
    assert_eq!((px.width(), px.height()), (32, 16));
    let p = px.get_pixel(16, 8);
    assert!(p[1] > 250 && p[2] < 5, "{p:?}");
}

/// Native-endian bytes of u16 samples, as `write_image` expects them.
fn bytemuck_u16(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_ne_bytes()).collect()
}

#[test]
fn alpha_is_kept_for_png_and_webp_and_flattened_for_jpeg() {
    let img = image::RgbaImage::from_fn(20, 20, |x, _| {
        if x < 10 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(img.as_raw(), 20, 20, image::ExtendedColorType::Rgba8)
        .unwrap();
    let s = spec(None, None, Fit::Contain);
    let png = decode(
        &process(&bytes, &s, OutputFormat::Png, &Limits::default())
            .unwrap()
            .bytes,
    );
    assert!(png.color().has_alpha());
    assert_eq!(png.into_rgba8().get_pixel(15, 10)[3], 0);
    let webp = decode(
        &process(&bytes, &s, OutputFormat::Webp, &Limits::default())
            .unwrap()
            .bytes,
    );
    assert!(webp.color().has_alpha());
    let jpeg = decode(
        &process(&bytes, &s, OutputFormat::Jpeg, &Limits::default())
            .unwrap()
            .bytes,
    )
    .into_rgb8();
    assert!(
        jpeg.get_pixel(17, 10).0.iter().all(|&c| c > 230),
        "transparent → white"
    );
}

#[test]
fn round_trip_every_output_format() {
    let sources = [
        ("jpeg", jpeg_of(&gradient(640, 480))),
        ("png", png_of(&gradient(640, 480))),
    ];
    for (name, src) in &sources {
        for format in [OutputFormat::Jpeg, OutputFormat::Webp, OutputFormat::Png] {
            let out = process(src, &Preset::Medium.spec(), format, &Limits::default()).unwrap();
            assert_eq!((out.width, out.height), (300, 225), "{name} → {format}");
            assert_eq!(out.content_type, format.content_type());
            // What we wrote is what it says it is, and decodes at that size.
            let info = probe(&out.bytes, &Limits::default()).unwrap();
            assert_eq!(info.format.as_str(), format.as_str(), "{name} → {format}");
            assert_eq!((info.width, info.height), (300, 225));
            let img = decode(&out.bytes);
            assert_eq!((img.width(), img.height()), (300, 225));
            // Close to the source colours (gradient centre ≈ (127,127,128)).
            let p = img.into_rgb8().get_pixel(150, 112).0;
            assert!(
                p.iter().all(|&c| (100..=160).contains(&c)),
                "{name} → {format}: {p:?}"
            );
            // Re-processing the output works too (outputs are valid inputs).
            process(
                &out.bytes,
                &Preset::Small.spec(),
                OutputFormat::Jpeg,
                &Limits::default(),
            )
            .unwrap();
        }
    }
    // GIF and WebP sources.
    let mut gif = Vec::new();
    image::DynamicImage::ImageRgb8(gradient(64, 48))
        .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap();
    let out = process(
        &gif,
        &spec(Some(32), None, Fit::Contain),
        OutputFormat::Jpeg,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (32, 24));
    let webp = process(
        &png_of(&gradient(64, 48)),
        &spec(None, None, Fit::Contain),
        OutputFormat::Webp,
        &Limits::default(),
    )
    .unwrap();
    let out = process(
        &webp.bytes,
        &spec(Some(32), None, Fit::Contain),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((out.width, out.height), (32, 24));
}

#[test]
fn outputs_carry_no_metadata() {
    let src = with_exif_orientation(&jpeg_of(&gradient(200, 100)), 6);
    for format in [OutputFormat::Jpeg, OutputFormat::Webp, OutputFormat::Png] {
        let out = process(
            &src,
            &spec(Some(50), None, Fit::Contain),
            format,
            &Limits::default(),
        )
        .unwrap();
        assert!(
            !out.bytes.windows(6).any(|w| w == b"Exif\0\0"),
            "{format} has EXIF"
        );
        assert!(
            !out.bytes
                .windows(4)
                .any(|w| w == b"EXIF" || w == b"eXIf" || w == b"iCCP" || w == b"ICCP"),
            "{format}"
        );
        // Already oriented: a reader applying EXIF would rotate it again.
        assert_eq!((out.width, out.height), (50, 100));
    }
}

#[test]
fn avif_output_is_refused_cleanly() {
    assert!(!encoder_available(OutputFormat::Avif));
    let err = process(
        &png_of(&gradient(8, 8)),
        &spec(None, None, Fit::Contain),
        OutputFormat::Avif,
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "unsupported_output");
}

#[test]
fn deterministic_output() {
    let src = jpeg_of(&gradient(1200, 900));
    for format in [OutputFormat::Jpeg, OutputFormat::Webp, OutputFormat::Png] {
        let s = ThumbSpec::parse("w:300/h:300/fit:cover/q:75").unwrap();
        let a = process(&src, &s, format, &Limits::default()).unwrap();
        let b = process(&src, &s, format, &Limits::default()).unwrap();
        assert_eq!(a, b, "{format}");
    }
}

#[test]
fn batch_decodes_once_and_cascades() {
    let src = jpeg_of(&gradient(2000, 1000));
    let jobs: Vec<_> = [Preset::Small, Preset::Large, Preset::Medium]
        .iter()
        .map(|p| (p.spec(), OutputFormat::Jpeg))
        .chain([(
            ThumbSpec::parse("w:100/h:100/fit:cover").unwrap(),
            OutputFormat::Webp,
        )])
        .collect();
    let outs = process_many(&src, &jobs, &Limits::default()).unwrap();
    let dims: Vec<_> = outs.iter().map(|o| (o.width, o.height)).collect();
    assert_eq!(
        dims,
        [(150, 75), (600, 300), (300, 150), (100, 100)],
        "input order kept"
    );
    for o in &outs {
        let img = decode(&o.bytes);
        assert_eq!((img.width(), img.height()), (o.width, o.height));
    }
    // The cascaded small thumbnail is close to a directly made one.
    let direct = decode(
        &process(
            &src,
            &Preset::Small.spec(),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap()
        .bytes,
    )
    .into_rgb8();
    let cascaded = decode(&outs[0].bytes).into_rgb8();
    let diff: u64 = direct
        .pixels()
        .zip(cascaded.pixels())
        .map(|(a, b)| {
            a.0.iter()
                .zip(b.0)
                .map(|(x, y)| u64::from(x.abs_diff(y)))
                .sum::<u64>()
        })
        .sum();
    let mean = diff as f64 / (150.0 * 75.0 * 3.0);
    assert!(mean < 6.0, "mean abs diff {mean}");
}

// ----- adversarial inputs: the right error, fast, without big allocations -----

fn assert_fast_err(bytes: &[u8], limits: &Limits, code: &str) -> PipelineError {
    let t = Instant::now();
    let err = process(bytes, &Preset::Small.spec(), OutputFormat::Jpeg, limits).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{code} took {:?}",
        t.elapsed()
    );
    assert_eq!(probe(bytes, limits).unwrap_err().code(), code, "probe");
    err
}

#[test]
fn zero_bytes() {
    let e = assert_fast_err(&[], &Limits::default(), "empty_input");
    assert_eq!(e.status(), 400);
}

#[test]
fn truncated_files() {
    let jpeg = jpeg_of(&gradient(300, 200));
    for cut in [3, 20, jpeg.len() / 2, jpeg.len() - 2] {
        assert_fast_err(&jpeg[..cut], &Limits::default(), "truncated");
    }
    let png = png_of(&gradient(300, 200));
    for cut in [10, 20] {
        assert_fast_err(&png[..cut], &Limits::default(), "truncated");
    }
    let err = process(
        &png[..png.len() / 2],
        &Preset::Small.spec(),
        OutputFormat::Jpeg,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err.code(), "truncated" | "corrupt"), "{err}");
    assert_eq!(err.status(), 422);
}

#[test]
fn wrong_magic_and_random_bytes() {
    let mut png = png_of(&gradient(30, 20));
    png[0] = b'X';
    let e = assert_fast_err(&png, &Limits::default(), "unknown_format");
    assert_eq!(e.status(), 415);
    // Deterministic pseudo-random bytes (xorshift).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    assert_fast_err(&random, &Limits::default(), "unknown_format");
    // Right magic, garbage after it.
    let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
    fake.extend_from_slice(&random[..100]);
    let err = process(
        &fake,
        &Preset::Small.spec(),
        OutputFormat::Jpeg,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err.status(), 413 | 422), "{err}");
}

#[test]
fn png_header_declaring_50000_square_is_refused_before_decoding() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(b"IHDR");
    png.extend_from_slice(&50_000u32.to_be_bytes());
    png.extend_from_slice(&50_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&[0, 0, 0, 0]); // CRC (never reached)
    let e = assert_fast_err(&png, &Limits::default(), "too_large");
    assert_eq!(e.status(), 413);
    assert!(e.to_string().contains("50000×50000"), "{e}");
    // Per-side limit too.
    let limits = Limits {
        max_side: 1000,
        ..Limits::default()
    };
    assert_fast_err(&png_of(&gradient(1001, 10)), &limits, "too_large");
    // And a byte limit.
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert_fast_err(&png_of(&gradient(100, 100)), &limits, "too_many_bytes");
}

/// A minimal valid GIF with `frames` 1×1 frames.
fn gif_with_frames(frames: usize) -> Vec<u8> {
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0]); // 1×1, global table of 2 colours
    g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    for _ in 0..frames {
        g.extend_from_slice(&[0x21, 0xF9, 4, 0, 1, 0, 0, 0]); // graphic control, 1/100 s
        g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // image descriptor 1×1
        g.extend_from_slice(&[2, 2, 0x44, 0x01, 0]); // LZW min 2, one sub-block, end
    }
    g.push(0x3B);
    g
}

#[test]
fn animated_gif_with_too_many_frames() {
    let ok = gif_with_frames(3);
    let info = probe(&ok, &Limits::default()).unwrap();
    assert_eq!((info.width, info.height, info.frames), (1, 1, 3));
    process(
        &ok,
        &Preset::Small.spec(),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let e = assert_fast_err(
        &gif_with_frames(5000),
        &Limits::default(),
        "too_many_frames",
    );
    assert_eq!(e.status(), 413);
}

#[test]
fn svg_and_other_formats_are_named() {
    for svg in [
        &b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>"[..],
        b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<!DOCTYPE svg><svg></svg>",
    ] {
        let e = assert_fast_err(svg, &Limits::default(), "unsupported_format");
        assert_eq!(e, PipelineError::Unsupported("svg"));
    }
    let mut avif = vec![0, 0, 0, 0x1c];
    avif.extend_from_slice(b"ftypavif\0\0\0\0mif1avif");
    assert_eq!(
        assert_fast_err(&avif, &Limits::default(), "unsupported_format"),
        PipelineError::Unsupported("avif")
    );
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    assert_eq!(
        assert_fast_err(&heic, &Limits::default(), "unsupported_format"),
        PipelineError::Unsupported("heif")
    );
    assert_fast_err(
        b"<html><body>hi</body></html>",
        &Limits::default(),
        "unknown_format",
    );
}

#[test]
fn error_codes_are_stable() {
    let all = [
        PipelineError::EmptyInput,
        PipelineError::TooManyBytes { len: 1, limit: 0 },
        PipelineError::UnknownFormat,
        PipelineError::Unsupported("svg"),
        PipelineError::TooLarge {
            width: 1,
            height: 1,
            limit: String::new(),
        },
        PipelineError::TooManyFrames { limit: 1 },
        PipelineError::Truncated,
        PipelineError::Corrupt(String::new()),
        PipelineError::UnsupportedOutput(OutputFormat::Avif),
        PipelineError::EncodeFailed(String::new()),
    ];
    let codes: Vec<_> = all.iter().map(PipelineError::code).collect();
    assert_eq!(
        codes,
        [
            "empty_input",
            "too_many_bytes",
            "unknown_format",
            "unsupported_format",
            "too_large",
            "too_many_frames",
            "truncated",
            "corrupt",
            "unsupported_output",
            "encode_failed"
        ]
    );
    let statuses: Vec<_> = all.iter().map(PipelineError::status).collect();
    assert_eq!(statuses, [400, 413, 415, 415, 413, 413, 422, 422, 406, 500]);
}

#[test]
fn icc_tagged_inputs_are_converted_to_srgb() {
    use moxcms::{ColorProfile, Layout, TransformOptions};
    let p3 = ColorProfile::new_display_p3();
    let icc = p3.encode().unwrap();
    let colour = [40u8, 180, 90];
    let mut want = [0u8; 3];
    p3.create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    )
    .unwrap()
    .transform(&colour, &mut want)
    .unwrap();
    assert!(
        want.iter().zip(colour).any(|(a, b)| a.abs_diff(b) > 10),
        "P3 differs from sRGB: {want:?}"
    );
    let img = RgbImage::from_pixel(16, 16, Rgb(colour));

    // PNG with an iCCP chunk (pure decode path).
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_icc_profile(icc.clone()).unwrap();
    enc.write_image(img.as_raw(), 16, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    // JPEG with an ICC_PROFILE APP2 segment (the native path reads it itself).
    let plain = jpeg_of(&img);
    let mut seg = b"ICC_PROFILE\0\x01\x01".to_vec();
    seg.extend_from_slice(&icc);
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE2]);
    jpeg.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(&seg);
    jpeg.extend_from_slice(&plain[2..]);

    for (name, src) in [("png", png), ("jpeg", jpeg)] {
        let out = process(
            &src,
            &spec(None, None, Fit::Contain),
            OutputFormat::Png,
            &Limits::default(),
        )
        .unwrap();
        let p = decode(&out.bytes).into_rgb8().get_pixel(8, 8).0;
        assert!(
            p.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 6),
            "{name}: got {p:?}, want {want:?}"
        );
        assert!(
            !out.bytes.windows(4).any(|w| w == b"iCCP"),
            "{name}: profile not copied"
        );
    }
}

#[test]
fn encode_rgb_encodes_decoded_pixels_and_refuses_a_short_buffer() {
    let src = jpeg_of(&gradient(320, 200));
    let px = decode_rgb(&src, 160, &Limits::default()).unwrap();
    assert_eq!((px.w, px.h), (160, 100));
    let png = encode_rgb(&px, OutputFormat::Png, 80).unwrap();
    let back = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!((back.width(), back.height()), (160, 100));
    assert_eq!(back.as_raw(), &px.buf);
    let short = RgbPixels {
        w: 160,
        h: 100,
        buf: vec![0; 10],
    };
    assert!(matches!(
        encode_rgb(&short, OutputFormat::Png, 80),
        Err(PipelineError::EncodeFailed(_))
    ));
}

#[cfg(feature = "native-codecs")]
#[test]
fn a_webp_wider_than_the_format_allows_is_an_error_not_a_panic() {
    // Lossy WebP (libwebp) stores sides in 14 bits: 16,383 px at most. (Lossless stores
    // side − 1, so the pure build's encoder may write 16,384.)
    let wide = RgbPixels {
        w: 16_384,
        h: 1,
        buf: vec![128; 16_384 * 3],
    };
    assert!(matches!(
        encode_rgb(&wide, OutputFormat::Webp, 80),
        Err(PipelineError::EncodeFailed(_))
    ));
}
