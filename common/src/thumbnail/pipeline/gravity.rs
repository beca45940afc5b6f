//! Step 7a: `gravity` — where a `fit:cover` crop sits, for the resize step.
//!
//! Compass gravities are given in the displayed orientation and mapped to the stored one
//! (resizing happens before orienting). `sm` picks the window with the most edge energy (see
//! [`super::smart`]); energy does not depend on orientation, so it is searched as stored.

use image::metadata::Orientation;

use super::Pixels;
use super::smart::smart_window;
use crate::thumbnail::options::Gravity;

/// How the resize step crops the source to the output's aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Crop {
    /// Fractions of the cropped-away extent on each axis (0.5 = centre).
    Centering(f64, f64),
    /// An explicit window of the source: left, top, width, height.
    Window(f64, f64, f64, f64),
}

/// The crop of `src` for an `out_w × out_h` cover output (stored frame).
pub(super) fn crop_for(
    gravity: Gravity,
    orientation: Orientation,
    src: &Pixels,
    out_w: u32,
    out_h: u32,
) -> Crop {
    match gravity.centering() {
        Some((x, y)) => {
            let (sx, sy) = stored_centering(x, y, orientation);
            Crop::Centering(sx, sy)
        }
        None => {
            let (l, t, w, h) = smart_window(src, out_w, out_h);
            Crop::Window(l, t, w, h)
        }
    }
}

/// A displayed-frame point `(x, y)` (fractions) in the stored frame.
fn stored_centering(x: f64, y: f64, o: Orientation) -> (f64, f64) {
    match o {
        Orientation::NoTransforms => (x, y),
        Orientation::FlipHorizontal => (1.0 - x, y),
        Orientation::Rotate180 => (1.0 - x, 1.0 - y),
        Orientation::FlipVertical => (x, 1.0 - y),
        Orientation::Rotate90FlipH => (y, x),
        Orientation::Rotate90 => (y, 1.0 - x),
        Orientation::Rotate270FlipH => (1.0 - y, 1.0 - x),
        Orientation::Rotate270 => (1.0 - y, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_top_maps_to_the_stored_edge_that_becomes_it() {
        // EXIF 6 rotates clockwise for display: the stored left edge becomes the top.
        assert_eq!(
            stored_centering(0.5, 0.0, Orientation::Rotate90),
            (0.0, 0.5)
        );
        // EXIF 8 rotates counter-clockwise: the stored right edge becomes the top.
        assert_eq!(
            stored_centering(0.5, 0.0, Orientation::Rotate270),
            (1.0, 0.5)
        );
        assert_eq!(
            stored_centering(0.0, 0.0, Orientation::Rotate180),
            (1.0, 1.0)
        );
    }
}
