//! Step 7: resizing with fast_image_resize (Lanczos3), `cover` cropping (where the gravity
//! says) in the same pass.

use fast_image_resize as fr;

use super::gravity::Crop;
use super::{PipelineError, Pixels};

pub(super) fn resize(
    resizer: &mut fr::Resizer,
    src: &Pixels,
    w: u32,
    h: u32,
    crop: Option<Crop>,
) -> Result<Pixels, PipelineError> {
    if src.w == w && src.h == h {
        return Ok(src.clone());
    }
    let pixel_type = if src.alpha {
        fr::PixelType::U8x4
    } else {
        fr::PixelType::U8x3
    };
    let src_view = fr::images::ImageRef::new(src.w, src.h, &src.buf, pixel_type)
        .map_err(|e| PipelineError::Corrupt(e.to_string()))?;
    let mut dst = fr::images::Image::new(w, h, pixel_type);
    let mut options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    match crop {
        Some(Crop::Centering(x, y)) => options = options.fit_into_destination(Some((x, y))),
        Some(Crop::Window(l, t, w, h)) => options = options.crop(l, t, w, h),
        None => {}
    }
    resizer
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| PipelineError::EncodeFailed(format!("resize: {e}")))?;
    Ok(Pixels {
        buf: dst.into_vec(),
        w,
        h,
        alpha: src.alpha,
    })
}
