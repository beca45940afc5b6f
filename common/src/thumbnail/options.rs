//! Product-shot options of a thumbnail URL: `enlarge`, `trim`, `pad`, `background`, `gravity`.
//!
//! Each is a parsed value (a `ShotOptions` that exists is valid) with a canonical spelling, and
//! each default is left out of the canonical form, so URLs without these options keep the cache
//! keys they always had.
//!
//! - `enlarge:1` (`el:1`): allow the output to exceed the source's pixel size (default: never);
//! - `trim[:threshold]` (`t`): remove a uniform border, the colour of the top-left pixel, with
//!   every channel within `threshold` (0–255, default [`Trim::DEFAULT_THRESHOLD`]);
//! - `pad:N` or `pad:T:R:B:L` (`pd`): CSS pixels (× DPR) added around the resized image,
//!   painted with the background;
//! - `background:RRGGBB` (`bg`): exactly six hex digits; the padding's colour, and alpha is
//!   flattened onto it;
//! - `gravity:` (`g`) for `fit:cover` crops: `ce`, `no`, `so`, `ea`, `we`, `nowe`, `noea`,
//!   `sowe`, `soea`, or `sm` (the most detailed window).

use std::fmt;

use crate::error::InvalidInput;

use super::spec::MAX_SIDE;

/// Border removal before resizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trim {
    /// Largest per-channel difference from the border colour still counted as border.
    pub threshold: u8,
}

impl Trim {
    pub const DEFAULT_THRESHOLD: u8 = 10;

    /// `None` is the bare `trim` (default threshold).
    pub fn parse(value: Option<&str>) -> Result<Self, InvalidInput> {
        let Some(value) = value else {
            return Ok(Self {
                threshold: Self::DEFAULT_THRESHOLD,
            });
        };
        match small_int(value, 3) {
            Some(t) if t <= 255 => Ok(Self { threshold: t as u8 }),
            _ => Err(InvalidInput::new(
                "trim",
                "threshold must be an integer from 0 to 255",
            )),
        }
    }
}

/// Padding in CSS pixels, per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pad {
    pub top: u16,
    pub right: u16,
    pub bottom: u16,
    pub left: u16,
}

impl Pad {
    /// `N` (every side) or `T:R:B:L`, each 0..=[`MAX_SIDE`].
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let err = || {
            InvalidInput::new(
                "pad",
                format!("must be N or T:R:B:L, each an integer from 0 to {MAX_SIDE}"),
            )
        };
        let mut sides = [0u16; 4];
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() != 1 && parts.len() != 4 {
            return Err(err());
        }
        for (i, p) in parts.iter().enumerate() {
            match small_int(p, 4) {
                Some(v) if v <= MAX_SIDE => sides[i] = v as u16,
                _ => return Err(err()),
            }
        }
        if parts.len() == 1 {
            sides = [sides[0]; 4];
        }
        Ok(Self {
            top: sides[0],
            right: sides[1],
            bottom: sides[2],
            left: sides[3],
        })
    }

    pub fn is_zero(self) -> bool {
        self == Self::default()
    }
}

/// An opaque sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Background(pub [u8; 3]);

impl Background {
    pub const WHITE: Self = Self([255, 255, 255]);

    /// Exactly six hex digits, either case (no `#`).
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        let err = || InvalidInput::new("background", "must be exactly 6 hex digits (RRGGBB)");
        if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err());
        }
        let byte = |i: usize| u8::from_str_radix(&value[i..i + 2], 16).map_err(|_| err());
        Ok(Self([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl fmt::Display for Background {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "{r:02x}{g:02x}{b:02x}")
    }
}

/// Which part of the image a `fit:cover` crop keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    #[default]
    Centre,
    North,
    South,
    East,
    West,
    NorthWest,
    NorthEast,
    SouthWest,
    SouthEast,
    /// The window with the most detail (edge energy).
    Smart,
}

impl Gravity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Centre => "ce",
            Self::North => "no",
            Self::South => "so",
            Self::East => "ea",
            Self::West => "we",
            Self::NorthWest => "nowe",
            Self::NorthEast => "noea",
            Self::SouthWest => "sowe",
            Self::SouthEast => "soea",
            Self::Smart => "sm",
        }
    }

    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        Ok(match value {
            "ce" => Self::Centre,
            "no" => Self::North,
            "so" => Self::South,
            "ea" => Self::East,
            "we" => Self::West,
            "nowe" => Self::NorthWest,
            "noea" => Self::NorthEast,
            "sowe" => Self::SouthWest,
            "soea" => Self::SouthEast,
            "sm" => Self::Smart,
            _ => {
                return Err(InvalidInput::new(
                    "gravity",
                    "must be one of ce, no, so, ea, we, nowe, noea, sowe, soea, sm",
                ));
            }
        })
    }

    /// Where the crop sits in the displayed image, as fractions `(x, y)` of the cropped-away
    /// extent (0 = left/top, 1 = right/bottom); `None` for [`Gravity::Smart`].
    pub fn centering(self) -> Option<(f64, f64)> {
        Some(match self {
            Self::Centre => (0.5, 0.5),
            Self::North => (0.5, 0.0),
            Self::South => (0.5, 1.0),
            Self::East => (1.0, 0.5),
            Self::West => (0.0, 0.5),
            Self::NorthWest => (0.0, 0.0),
            Self::NorthEast => (1.0, 0.0),
            Self::SouthWest => (0.0, 1.0),
            Self::SouthEast => (1.0, 1.0),
            Self::Smart => return None,
        })
    }
}

/// The product-shot options of a spec; `Default` is none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShotOptions {
    pub enlarge: bool,
    pub trim: Option<Trim>,
    pub pad: Pad,
    pub background: Option<Background>,
    pub gravity: Gravity,
}

impl ShotOptions {
    /// `enlarge` takes `0` or `1`.
    pub fn parse_enlarge(value: &str) -> Result<bool, InvalidInput> {
        match value {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(InvalidInput::new("enlarge", "must be 0 or 1")),
        }
    }

    /// The non-default options in canonical form, each preceded by `/`.
    pub fn canonical_suffix(&self) -> String {
        let mut s = String::new();
        if self.enlarge {
            s.push_str("/el:1");
        }
        if let Some(t) = self.trim {
            s.push_str(&format!("/trim:{}", t.threshold));
        }
        if !self.pad.is_zero() {
            let p = self.pad;
            s.push_str(&format!(
                "/pad:{}:{}:{}:{}",
                p.top, p.right, p.bottom, p.left
            ));
        }
        if let Some(bg) = self.background {
            s.push_str(&format!("/bg:{bg}"));
        }
        if self.gravity != Gravity::Centre {
            s.push_str(&format!("/g:{}", self.gravity.as_str()));
        }
        s
    }
}

/// A plain decimal integer of at most `digits` digits.
fn small_int(value: &str, digits: usize) -> Option<u32> {
    if value.is_empty() || value.len() > digits || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_bounds() {
        assert_eq!(Trim::parse(None).unwrap().threshold, 10);
        assert_eq!(Trim::parse(Some("0")).unwrap().threshold, 0);
        assert_eq!(Trim::parse(Some("255")).unwrap().threshold, 255);
        for bad in ["256", "-1", "", "1.5", "abc", "0010"] {
            assert_eq!(Trim::parse(Some(bad)).unwrap_err().field, "trim", "{bad}");
        }
    }

    #[test]
    fn pad_one_or_four_sides() {
        let p = Pad::parse("8").unwrap();
        assert_eq!((p.top, p.right, p.bottom, p.left), (8, 8, 8, 8));
        let p = Pad::parse("1:2:3:4").unwrap();
        assert_eq!((p.top, p.right, p.bottom, p.left), (1, 2, 3, 4));
        assert!(Pad::parse("0").unwrap().is_zero());
        for bad in ["", "1:2", "1:2:3", "1:2:3:4:5", "4097", "-1", "a", "1::3:4"] {
            assert_eq!(Pad::parse(bad).unwrap_err().field, "pad", "{bad}");
        }
    }

    #[test]
    fn background_is_six_hex_digits() {
        assert_eq!(Background::parse("FF8000").unwrap().0, [255, 128, 0]);
        assert_eq!(Background::parse("ff8000").unwrap().to_string(), "ff8000");
        for bad in [
            "fff", "#ff8000", "ff80001", "gg0000", "", "ff 000", "ＦＦ00",
        ] {
            assert_eq!(
                Background::parse(bad).unwrap_err().field,
                "background",
                "{bad}"
            );
        }
    }

    #[test]
    fn gravity_names_round_trip() {
        for g in [
            "ce", "no", "so", "ea", "we", "nowe", "noea", "sowe", "soea", "sm",
        ] {
            assert_eq!(Gravity::parse(g).unwrap().as_str(), g);
        }
        for bad in ["north", "n", "", "CE", "center"] {
            assert_eq!(Gravity::parse(bad).unwrap_err().field, "gravity", "{bad}");
        }
        assert_eq!(Gravity::North.centering(), Some((0.5, 0.0)));
        assert_eq!(Gravity::Smart.centering(), None);
    }
}
