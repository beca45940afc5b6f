//! Step 7: the EXIF orientation applied to the resized pixels.

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage, RgbaImage};

use super::Pixels;

pub(super) fn orient(px: &Pixels, o: Orientation) -> Pixels {
    if o == Orientation::NoTransforms {
        return px.clone();
    }
    let image = if px.alpha {
        RgbaImage::from_raw(px.w, px.h, px.buf.clone()).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(px.w, px.h, px.buf.clone()).map(DynamicImage::ImageRgb8)
    };
    let Some(mut image) = image else {
        return px.clone();
    };
    image.apply_orientation(o);
    let (w, h) = (image.width(), image.height());
    let buf = match image {
        DynamicImage::ImageRgba8(i) => i.into_raw(),
        DynamicImage::ImageRgb8(i) => i.into_raw(),
        other => other.into_rgb8().into_raw(),
    };
    Pixels {
        buf,
        w,
        h,
        alpha: px.alpha,
    }
}
