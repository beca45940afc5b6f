//! Golden tests of the product-shot options and of no-enlargement, with pixel checks.

use image::{ImageEncoder as _, Rgb, RgbImage, Rgba, RgbaImage};

use super::tests::{decode, jpeg_of, png_of, with_exif_orientation};
use super::*;

fn run(src: &[u8], options: &str) -> image::DynamicImage {
    let spec = ThumbSpec::parse(options).unwrap();
    let format = spec.format.fixed().unwrap_or(OutputFormat::Png);
    let out = process(src, &spec, format, &Limits::default()).unwrap();
    let img = decode(&out.bytes);
    assert_eq!((img.width(), img.height()), (out.width, out.height));
    img
}

fn size(img: &image::DynamicImage) -> (u32, u32) {
    (img.width(), img.height())
}

fn near(p: &Rgb<u8>, want: [u8; 3], tol: u8) -> bool {
    p.0.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= tol)
}

fn rgba_png(img: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

fn gif_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let rgba = image::DynamicImage::ImageRgb8(img.clone()).into_rgba8();
    image::codecs::gif::GifEncoder::new(&mut out)
        .encode(
            rgba.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// Three bands along x (`horizontal`) or y: red, green, blue.
fn bands(w: u32, h: u32, horizontal: bool) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (i, n) = if horizontal { (x, w) } else { (y, h) };
        Rgb(match i * 3 / n {
            0 => RED,
            1 => GREEN,
            _ => BLUE,
        })
    })
}

#[test]
fn small_sources_are_not_enlarged_unless_asked() {
    let gif = gif_of(&bands(14, 25, true));
    assert_eq!(size(&run(&gif, "w:300/f:png")), (14, 25));
    let png = png_of(&bands(265, 352, true));
    assert_eq!(size(&run(&png, "w:300/f:webp")), (265, 352));
    assert_eq!(size(&run(&png, "w:300/f:png")), (265, 352));
    assert_eq!(size(&run(&png, "w:300/el:1/f:png")), (300, 398));
    assert_eq!(size(&run(&png, "w:300/h:300/fit:cover")), (265, 265));
    assert_eq!(size(&run(&png, "w:300/h:300/fit:cover/el:1")), (300, 300));
    // dpr multiplies the request, but not past the source.
    assert_eq!(size(&run(&png, "w:200/dpr:2")), (265, 352));
    assert_eq!(size(&run(&png, "w:100/dpr:2")), (200, 266));
    assert_eq!(size(&run(&png, "w:200/dpr:2/el:1")), (400, 531));
}

/// A `w × h` white image with a red `sw × sh` rectangle at `(x0, y0)`.
fn red_on_white(w: u32, h: u32, (x0, y0, sw, sh): (u32, u32, u32, u32)) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if (x0..x0 + sw).contains(&x) && (y0..y0 + sh).contains(&y) {
            Rgb(RED)
        } else {
            Rgb([255, 255, 255])
        }
    })
}

#[test]
fn trim_removes_a_uniform_border() {
    let png = png_of(&red_on_white(60, 40, (7, 5, 20, 20)));
    let img = run(&png, "trim").into_rgb8();
    assert_eq!(img.dimensions(), (20, 20));
    assert!(img.pixels().all(|p| p.0 == RED));
    // Then resized: the trimmed square fills the output.
    let img = run(&png, "trim:0/w:10").into_rgb8();
    assert_eq!(img.dimensions(), (10, 10));
    assert!(
        img.pixels().all(|p| near(p, RED, 8)),
        "{:?}",
        img.get_pixel(0, 0)
    );
    // A threshold of 255 counts everything as border: the image is kept whole.
    assert_eq!(size(&run(&png, "trim:255")), (60, 40));
    // JPEG noise stays within the default threshold.
    let jpeg = jpeg_of(&red_on_white(60, 40, (7, 5, 20, 20)));
    let (w, h) = size(&run(&jpeg, "t:40"));
    assert!(w.abs_diff(20) <= 2 && h.abs_diff(20) <= 2, "{w}×{h}");
}

#[test]
fn trim_on_an_exif_rotated_source() {
    // Stored 60×40 with a red 30×10 bar; EXIF 6 shows it rotated, as a 10×30 bar.
    let jpeg = with_exif_orientation(&jpeg_of(&red_on_white(60, 40, (5, 5, 30, 10))), 6);
    let (w, h) = size(&run(&jpeg, "t:40/f:png"));
    assert!(w.abs_diff(10) <= 2 && h.abs_diff(30) <= 2, "{w}×{h}");
}

#[test]
fn pad_paints_the_background_in_the_right_places() {
    let png = png_of(&RgbImage::from_pixel(20, 10, Rgb(BLUE)));
    let img = run(&png, "pad:1:2:3:4/bg:ff0000/f:png").into_rgb8();
    assert_eq!(img.dimensions(), (26, 14));
    for y in 0..14 {
        for x in 0..26 {
            let inside = (4..24).contains(&x) && (1..11).contains(&y);
            let want = if inside { BLUE } else { RED };
            assert_eq!(img.get_pixel(x, y).0, want, "({x},{y})");
        }
    }
    // Padding follows DPR; a bare pad is white on an opaque image.
    let img = run(&png, "pad:2/dpr:1.5/f:png").into_rgb8();
    assert_eq!(img.dimensions(), (26, 16));
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(3, 3).0, BLUE);
}

#[test]
fn pad_is_transparent_on_alpha_images_without_bg_and_bg_flattens_alpha() {
    let src = rgba_png(&RgbaImage::from_pixel(8, 8, Rgba([0, 0, 255, 128])));
    let img = run(&src, "pad:2/f:png").into_rgba8();
    assert_eq!(img.dimensions(), (12, 12));
    assert_eq!(img.get_pixel(0, 0)[3], 0, "transparent padding");
    assert_eq!(img.get_pixel(6, 6).0, [0, 0, 255, 128], "alpha kept");
    // bg: no alpha left, the half-transparent blue composited over green.
    let out = process(
        &src,
        &ThumbSpec::parse("pad:2/bg:00ff00/f:png").unwrap(),
        OutputFormat::Png,
        &Limits::default(),
    )
    .unwrap();
    let img = decode(&out.bytes);
    assert!(!img.color().has_alpha());
    let img = img.into_rgb8();
    assert_eq!(img.get_pixel(0, 0).0, GREEN);
    assert!(
        near(img.get_pixel(6, 6), [0, 127, 128], 1),
        "{:?}",
        img.get_pixel(6, 6)
    );
    // JPEG flattens onto bg too.
    let img = run(&src, "bg:ff0000/f:jpeg").into_rgb8();
    assert!(
        near(img.get_pixel(4, 4), [127, 0, 128], 6),
        "{:?}",
        img.get_pixel(4, 4)
    );
}

/// The colour a cover crop of `src` keeps with `options` (its centre pixel), checked uniform.
fn kept(src: &[u8], options: &str) -> [u8; 3] {
    let img = run(src, options).into_rgb8();
    let c = *img.get_pixel(img.width() / 2, img.height() / 2);
    for p in [
        img.get_pixel(1, 1),
        img.get_pixel(img.width() - 2, img.height() - 2),
    ] {
        assert!(near(p, c.0, 40), "{options}: {p:?} vs {c:?}");
    }
    c.0
}

#[test]
fn compass_gravity_picks_the_edge() {
    let tall = png_of(&bands(100, 300, false));
    let cover = "w:50/h:50/fit:cover/f:png";
    assert_eq!(kept(&tall, &format!("{cover}/g:no")), RED);
    assert_eq!(kept(&tall, &format!("{cover}/g:so")), BLUE);
    assert_eq!(kept(&tall, &format!("{cover}/g:ce")), GREEN);
    assert_eq!(kept(&tall, cover), GREEN);
    // g:no keeps the top row exactly.
    let img = run(&tall, "w:100/h:100/fit:cover/g:no/f:png").into_rgb8();
    assert!((0..100).all(|x| img.get_pixel(x, 0).0 == RED));
    let wide = png_of(&bands(300, 100, true));
    assert_eq!(kept(&wide, &format!("{cover}/g:we")), RED);
    assert_eq!(kept(&wide, &format!("{cover}/g:ea")), BLUE);
    assert_eq!(kept(&wide, &format!("{cover}/g:nowe")), RED);
    assert_eq!(kept(&wide, &format!("{cover}/g:soea")), BLUE);
}

#[test]
fn compass_gravity_follows_the_displayed_orientation() {
    // Stored 300×100, red | green | blue from left to right.
    let stored = jpeg_of(&bands(300, 100, true));
    let cover = "w:50/h:50/fit:cover/f:png";
    let close = |got: [u8; 3], want: [u8; 3]| near(&Rgb(got), want, 40);
    // EXIF 6 (clockwise): the stored left (red) is the displayed top.
    let cw = with_exif_orientation(&stored, 6);
    assert!(close(kept(&cw, &format!("{cover}/g:no")), RED));
    assert!(close(kept(&cw, &format!("{cover}/g:so")), BLUE));
    // EXIF 8 (counter-clockwise): the stored right (blue) is the displayed top.
    let ccw = with_exif_orientation(&stored, 8);
    assert!(close(kept(&ccw, &format!("{cover}/g:no")), BLUE));
    // EXIF 3 (180°): the stored right is the displayed left.
    let flipped = with_exif_orientation(&stored, 3);
    assert!(close(kept(&flipped, &format!("{cover}/g:we")), BLUE));
}

/// Flat grey with a black-and-white checkerboard in `(x0, y0, w, h)`.
fn detail_at(w: u32, h: u32, (x0, y0, dw, dh): (u32, u32, u32, u32)) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if (x0..x0 + dw).contains(&x) && (y0..y0 + dh).contains(&y) {
            let on = ((x / 4) + (y / 4)) % 2 == 0;
            Rgb(if on { [0, 0, 0] } else { [255, 255, 255] })
        } else {
            Rgb([128, 128, 128])
        }
    })
}

/// How much of `img` is far from flat grey.
fn detail_share(img: &RgbImage) -> f64 {
    let busy = img.pixels().filter(|p| p[0].abs_diff(128) > 60).count();
    busy as f64 / f64::from(img.width() * img.height())
}

#[test]
fn smart_gravity_keeps_the_detailed_region() {
    let src = png_of(&detail_at(400, 100, (290, 0, 100, 100)));
    let sm = run(&src, "w:100/h:100/fit:cover/g:sm/f:png").into_rgb8();
    let ce = run(&src, "w:100/h:100/fit:cover/f:png").into_rgb8();
    assert!(detail_share(&sm) > 0.8, "smart kept {}", detail_share(&sm));
    assert!(
        detail_share(&ce) < 0.05,
        "centre kept {}",
        detail_share(&ce)
    );
    // Vertical search, and a flat image crops like the centre.
    let src = png_of(&detail_at(100, 400, (0, 10, 100, 100)));
    let sm = run(&src, "w:50/h:50/fit:cover/g:sm/f:png").into_rgb8();
    assert!(detail_share(&sm) > 0.8, "smart kept {}", detail_share(&sm));
    let flat = png_of(&bands(300, 100, true));
    assert_eq!(kept(&flat, "w:50/h:50/fit:cover/g:sm/f:png"), GREEN);
}

#[test]
fn smart_gravity_on_an_exif_rotated_source() {
    // Stored 400×100 with detail at the stored right; EXIF 6 shows it at the bottom.
    let jpeg = with_exif_orientation(&jpeg_of(&detail_at(400, 100, (290, 0, 100, 100))), 6);
    let sm = run(&jpeg, "w:100/h:100/fit:cover/g:sm/f:png").into_rgb8();
    assert!(detail_share(&sm) > 0.6, "smart kept {}", detail_share(&sm));
    let so = run(&jpeg, "w:100/h:100/fit:cover/g:so/f:png").into_rgb8();
    assert!(detail_share(&so) > 0.6, "south kept {}", detail_share(&so));
    let no = run(&jpeg, "w:100/h:100/fit:cover/g:no/f:png").into_rgb8();
    assert!(detail_share(&no) < 0.05, "north kept {}", detail_share(&no));
}

#[test]
fn options_in_a_batch_do_not_leak_into_other_jobs() {
    let png = png_of(&red_on_white(60, 40, (7, 5, 20, 20)));
    let jobs = [
        (ThumbSpec::parse("w:30/trim").unwrap(), OutputFormat::Png),
        (ThumbSpec::parse("w:30").unwrap(), OutputFormat::Png),
        (ThumbSpec::parse("w:20/pad:2").unwrap(), OutputFormat::Png),
    ];
    let out = process_many(&png, &jobs, &Limits::default()).unwrap();
    let dims: Vec<(u32, u32)> = out.iter().map(|o| (o.width, o.height)).collect();
    assert_eq!(dims, [(20, 20), (30, 20), (24, 17)]);
}
