//! Step 1–2 of the pipeline: what the bytes are, and how big they say they are.
//!
//! The format comes from the magic bytes only (never a file name or a client's content type).
//! Dimensions, frame counts and the EXIF orientation are read by walking the container headers
//! with bounds-checked slices: nothing here allocates in proportion to what the header claims,
//! so a 60-byte PNG declaring 50000×50000 or a GIF with 100,000 frames is refused in
//! microseconds, before any decoder sees it.

use image::metadata::Orientation;

use super::pipeline::PipelineError;

/// A source format the pipeline recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

/// What the header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub format: SourceFormat,
    /// Stored (pre-orientation) size.
    pub width: u32,
    pub height: u32,
    /// Frames counted so far; counting stops one past the limit.
    pub frames: u32,
    pub orientation: Orientation,
    /// JPEG only: 4-component (CMYK/YCCK) data.
    pub cmyk: bool,
}

/// Identifies the format from the first bytes.
pub(crate) fn sniff(bytes: &[u8]) -> Result<SourceFormat, PipelineError> {
    if bytes.is_empty() {
        return Err(PipelineError::EmptyInput);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(SourceFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(SourceFormat::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(SourceFormat::Webp);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return Err(PipelineError::Unsupported(match brand {
            b"avif" | b"avis" => "avif",
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => "heif",
            _ => "isobmff",
        }));
    }
    if bytes.starts_with(b"BM") {
        return Err(PipelineError::Unsupported("bmp"));
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Err(PipelineError::Unsupported("tiff"));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(PipelineError::Unsupported("pdf"));
    }
    if looks_like_svg(bytes) {
        return Err(PipelineError::Unsupported("svg"));
    }
    if bytes.len() < 12 {
        // Too short to tell; a prefix of a known signature is a truncated file.
        for magic in [
            &b"\xFF\xD8\xFF"[..],
            b"\x89PNG\r\n\x1a\n",
            b"GIF89a",
            b"GIF87a",
            b"RIFF",
        ] {
            if magic.starts_with(bytes) || (bytes.len() >= magic.len() && bytes.starts_with(magic))
            {
                return Err(PipelineError::Truncated);
            }
        }
    }
    Err(PipelineError::UnknownFormat)
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    if !head.starts_with(b"<") {
        return false;
    }
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    lower.starts_with(b"<svg")
        || ((lower.starts_with(b"<?xml")
            || lower.starts_with(b"<!doctype")
            || lower.starts_with(b"<!--"))
            && lower.windows(4).any(|w| w == b"<svg"))
}

/// Reads the header of `format`, counting frames up to `max_frames + 1`.
pub(crate) fn read_header(
    bytes: &[u8],
    format: SourceFormat,
    max_frames: u32,
) -> Result<Header, PipelineError> {
    let mut h = Header {
        format,
        width: 0,
        height: 0,
        frames: 1,
        orientation: Orientation::NoTransforms,
        cmyk: false,
    };
    match format {
        SourceFormat::Jpeg => jpeg(bytes, &mut h)?,
        SourceFormat::Png => png(bytes, &mut h, max_frames)?,
        SourceFormat::Gif => gif(bytes, &mut h, max_frames)?,
        SourceFormat::Webp => webp(bytes, &mut h, max_frames)?,
    }
    if h.width == 0 || h.height == 0 {
        return Err(PipelineError::Corrupt("zero width or height".into()));
    }
    Ok(h)
}

fn be16(b: &[u8], at: usize) -> Result<u32, PipelineError> {
    b.get(at..at + 2)
        .map(|s| u32::from(u16::from_be_bytes([s[0], s[1]])))
        .ok_or(PipelineError::Truncated)
}

fn le16(b: &[u8], at: usize) -> Result<u32, PipelineError> {
    b.get(at..at + 2)
        .map(|s| u32::from(u16::from_le_bytes([s[0], s[1]])))
        .ok_or(PipelineError::Truncated)
}

fn be32(b: &[u8], at: usize) -> Result<u32, PipelineError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(PipelineError::Truncated)
}

fn le32(b: &[u8], at: usize) -> Result<u32, PipelineError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(PipelineError::Truncated)
}

fn le24(b: &[u8], at: usize) -> Result<u32, PipelineError> {
    b.get(at..at + 3)
        .map(|s| u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
        .ok_or(PipelineError::Truncated)
}

/// JPEG: walk the marker segments up to the first scan; SOFn gives the size, APP1 the EXIF
/// orientation, APP14/component count the colour model. A file without an EOI marker after the
/// scan is truncated (decoders would otherwise fill the missing part with grey).
fn jpeg(b: &[u8], h: &mut Header) -> Result<(), PipelineError> {
    let mut i = 2;
    let mut sof = false;
    loop {
        // Skip fill bytes.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *b.get(i).ok_or(PipelineError::Truncated)? != 0xFF {
            return Err(PipelineError::Corrupt("bad JPEG marker".into()));
        }
        let marker = *b.get(i + 1).ok_or(PipelineError::Truncated)?;
        if marker == 0xD9 {
            return Err(PipelineError::Corrupt("JPEG without image data".into()));
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = be16(b, i + 2)? as usize;
        if len < 2 {
            return Err(PipelineError::Corrupt("bad JPEG segment length".into()));
        }
        let seg = b.get(i + 4..i + 2 + len).ok_or(PipelineError::Truncated)?;
        match marker {
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                h.height = be16(seg, 1)?;
                h.width = be16(seg, 3)?;
                let components = *seg.get(5).ok_or(PipelineError::Truncated)?;
                h.cmyk = components == 4;
                sof = true;
            }
            0xE1 if seg.starts_with(b"Exif\0\0") => {
                if let Some(o) = Orientation::from_exif_chunk(&seg[6..]) {
                    h.orientation = o;
                }
            }
            0xDA => {
                if !sof {
                    return Err(PipelineError::Corrupt(
                        "JPEG scan before frame header".into(),
                    ));
                }
                let data = &b[i + 2 + len..];
                if !data.windows(2).any(|w| w == [0xFF, 0xD9]) {
                    return Err(PipelineError::Truncated);
                }
                return Ok(());
            }
            _ => {}
        }
        i += 2 + len;
    }
}

/// PNG: IHDR gives the size; an `acTL` chunk before the image data gives the APNG frame count.
fn png(b: &[u8], h: &mut Header, _max_frames: u32) -> Result<(), PipelineError> {
    if b.get(12..16) != Some(b"IHDR") {
        return Err(if b.len() < 16 {
            PipelineError::Truncated
        } else {
            PipelineError::Corrupt("PNG without IHDR".into())
        });
    }
    h.width = be32(b, 16)?;
    h.height = be32(b, 20)?;
    let mut i = 8usize;
    while let (Ok(len), Some(kind)) = (be32(b, i), b.get(i + 4..i + 8)) {
        match kind {
            b"acTL" => {
                h.frames = be32(b, i + 8)?.max(1);
                break;
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        i = i.saturating_add(12).saturating_add(len as usize);
    }
    Ok(())
}

/// GIF: the logical screen gives the size; walk the blocks to count image descriptors (and check
/// each frame's own size), skipping data sub-blocks without decoding them.
fn gif(b: &[u8], h: &mut Header, max_frames: u32) -> Result<(), PipelineError> {
    h.width = le16(b, 6)?;
    h.height = le16(b, 8)?;
    let flags = *b.get(10).ok_or(PipelineError::Truncated)?;
    let mut i = 13usize;
    if flags & 0x80 != 0 {
        i += 3 * (1usize << ((flags & 7) + 1));
    }
    let skip_sub_blocks = |mut i: usize| -> Result<usize, PipelineError> {
        loop {
            let n = *b.get(i).ok_or(PipelineError::Truncated)? as usize;
            i += 1;
            if n == 0 {
                return Ok(i);
            }
            i += n;
        }
    };
    let mut frames = 0u32;
    loop {
        match b.get(i) {
            None => {
                if frames == 0 {
                    return Err(PipelineError::Truncated);
                }
                // Missing trailer after at least one frame: decoders cope.
                break;
            }
            Some(0x3B) => break,
            Some(0x21) => i = skip_sub_blocks(i + 2)?,
            Some(0x2C) => {
                frames += 1;
                if frames > max_frames {
                    break;
                }
                let fw = le16(b, i + 5)?;
                let fh = le16(b, i + 7)?;
                // A frame larger than the screen makes the decoder allocate for it.
                h.width = h.width.max(fw);
                h.height = h.height.max(fh);
                let lflags = *b.get(i + 9).ok_or(PipelineError::Truncated)?;
                i += 10;
                if lflags & 0x80 != 0 {
                    i += 3 * (1usize << ((lflags & 7) + 1));
                }
                i = skip_sub_blocks(i + 1)?;
            }
            Some(_) => {
                if frames == 0 {
                    return Err(PipelineError::Corrupt("bad GIF block".into()));
                }
                break;
            }
        }
    }
    h.frames = frames.max(1);
    Ok(())
}

/// WebP: the first chunk says lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`, whose
/// canvas size is used and whose `ANMF` chunks are counted).
fn webp(b: &[u8], h: &mut Header, max_frames: u32) -> Result<(), PipelineError> {
    let kind = b.get(12..16).ok_or(PipelineError::Truncated)?;
    let data = 20;
    match kind {
        b"VP8 " => {
            if b.get(data + 3..data + 6) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(if b.len() < data + 6 {
                    PipelineError::Truncated
                } else {
                    PipelineError::Corrupt("bad VP8 start code".into())
                });
            }
            h.width = le16(b, data + 6)? & 0x3FFF;
            h.height = le16(b, data + 8)? & 0x3FFF;
        }
        b"VP8L" => {
            if b.get(data) != Some(&0x2f) {
                return Err(PipelineError::Corrupt("bad VP8L signature".into()));
            }
            let bits = le32(b, data + 1)?;
            h.width = (bits & 0x3FFF) + 1;
            h.height = ((bits >> 14) & 0x3FFF) + 1;
        }
        b"VP8X" => {
            let flags = *b.get(data).ok_or(PipelineError::Truncated)?;
            h.width = le24(b, data + 4)? + 1;
            h.height = le24(b, data + 7)? + 1;
            if flags & 0x02 != 0 {
                let mut frames = 0u32;
                let mut i = 12usize;
                while let (Some(k), Ok(len)) = (b.get(i..i + 4), le32(b, i + 4)) {
                    if k == b"ANMF" {
                        frames += 1;
                        if frames > max_frames {
                            break;
                        }
                    }
                    i = i
                        .saturating_add(8)
                        .saturating_add(len as usize + (len as usize & 1));
                }
                h.frames = frames.max(1);
            }
        }
        _ => return Err(PipelineError::Corrupt("unknown WebP chunk".into())),
    }
    Ok(())
}

/// The ICC profile of a JPEG: the `ICC_PROFILE` APP2 chunks before the first scan, joined in
/// sequence order. `None` when absent or malformed.
#[cfg_attr(not(feature = "native-codecs"), allow(dead_code))] // the pure path gets it from image
pub(crate) fn jpeg_icc_profile(b: &[u8]) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut i = 2;
    while b.get(i) == Some(&0xFF) {
        let marker = *b.get(i + 1)?;
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = be16(b, i + 2).ok()? as usize;
        let seg = b.get(i + 4..i + 2 + len)?;
        if marker == 0xE2 && seg.starts_with(b"ICC_PROFILE\0") && seg.len() > 14 {
            chunks.push((seg[12], &seg[14..]));
        }
        i += 2 + len.max(2);
    }
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|c| c.0);
    Some(chunks.iter().flat_map(|c| c.1.iter().copied()).collect())
}
