//! The L2 value format. Values are binary (`[version=1][expires_at unix ms, u64 LE][payload]`):
//! the payload is the bytes the caller stored, with no JSON or base64 round trip, and the
//! absolute expiry lets an L1 filled from L2 expire when the L2 entry does, not a full TTL
//! later. The Redis client itself is `crate::redis`.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

const VALUE_VERSION: u8 = 1;

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Encodes a stored value: version, absolute expiry, payload.
pub fn encode_value(expires_at_ms: u64, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(9 + payload.len());
    b.put_u8(VALUE_VERSION);
    b.put_u64_le(expires_at_ms);
    b.put_slice(payload);
    b.freeze()
}

/// Decodes a stored value; `None` for anything this version did not write.
pub fn decode_value(raw: &Bytes) -> Option<(u64, Bytes)> {
    if raw.len() < 9 || raw[0] != VALUE_VERSION {
        return None;
    }
    let mut ms = [0u8; 8];
    ms.copy_from_slice(&raw[1..9]);
    Some((u64::from_le_bytes(ms), raw.slice(9..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_garbage_is_rejected() {
        let v = encode_value(1_700_000_000_000, b"{\"a\":1}");
        let (exp, payload) = decode_value(&v).unwrap();
        assert_eq!(exp, 1_700_000_000_000);
        assert_eq!(&payload[..], b"{\"a\":1}");
        assert!(decode_value(&Bytes::from_static(b"")).is_none());
        assert!(decode_value(&Bytes::from_static(b"\x02........x")).is_none());
        assert!(decode_value(&Bytes::from_static(b"\x01short")).is_none());
    }
}
