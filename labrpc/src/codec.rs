//! The one place that knows how values become bytes (serde + bincode 2).
//!
//! RPC arguments and replies, and whatever a lab persists, go through [`encode`] and
//! [`decode`]. Swapping the wire format means changing this file only.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::fmt;

/// Standard bincode: little-endian, variable-length integers, and a cap on what a decode may
/// claim, so that a corrupt length prefix cannot ask for gigabytes.
const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<{ 256 << 20 }>,
> = bincode::config::standard().with_limit::<{ 256 << 20 }>();

/// A value could not be encoded, or bytes could not be decoded as a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError {
    /// The Rust type involved.
    pub type_name: &'static str,
    /// True for a decode failure, false for an encode failure.
    pub decoding: bool,
    /// What went wrong, in the codec's words.
    pub detail: String,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.decoding { "decode" } else { "encode" };
        write!(f, "cannot {verb} {}: {}", self.type_name, self.detail)
    }
}

impl std::error::Error for CodecError {}

thread_local! {
    /// Where [`encode`] writes before copying out exactly the bytes written: a `Vec` grown
    /// from empty for every message cost more in reallocations than the encoding itself.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The scratch buffer keeps at most this much capacity between encodes.
const SCRATCH_KEPT: usize = 1 << 20;

/// bincode's writer into the scratch buffer.
struct Scratch<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for Scratch<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Encodes `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    // Taken, not borrowed: a `Serialize` that encodes something itself gets a fresh buffer.
    let mut scratch = SCRATCH.take();
    scratch.clear();
    let result = bincode::serde::encode_into_writer(value, Scratch(&mut scratch), CONFIG);
    let bytes = scratch.as_slice().to_vec();
    if scratch.capacity() <= SCRATCH_KEPT {
        SCRATCH.set(scratch);
    }
    result.map(|_| bytes).map_err(|e| CodecError {
        type_name: std::any::type_name::<T>(),
        decoding: false,
        detail: e.to_string(),
    })
}

/// Decodes a whole `T` from `bytes`; leftover bytes are an error (they mean the bytes were
/// not a `T`).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let error = |detail: String| CodecError {
        type_name: std::any::type_name::<T>(),
        decoding: true,
        detail,
    };
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, CONFIG).map_err(|e| error(e.to_string()))?;
    if used != bytes.len() {
        return Err(error(format!(
            "{} trailing bytes after the value ({} bytes in all)",
            bytes.len() - used,
            bytes.len()
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Entry {
        term: u64,
        command: String,
    }

    #[test]
    fn round_trip() {
        let entries = vec![
            Entry {
                term: 1,
                command: "x".into(),
            },
            Entry {
                term: 7,
                command: String::new(),
            },
        ];
        let bytes = encode(&entries).unwrap();
        assert_eq!(decode::<Vec<Entry>>(&bytes).unwrap(), entries);
    }

    #[test]
    fn wrong_type_and_garbage_are_errors() {
        let bytes = encode(&(1u8, 2u8, 3u8)).unwrap();
        let err = decode::<u8>(&bytes).unwrap_err();
        assert!(err.to_string().contains("trailing bytes"), "{err}");
        assert!(decode::<String>(&[0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode::<Entry>(&[]).is_err());
    }

    #[test]
    fn huge_length_prefix_is_refused_not_allocated() {
        // A varint length of about 2^62 elements.
        let bytes = [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f];
        assert!(decode::<Vec<u64>>(&bytes).is_err());
        assert!(decode::<String>(&bytes).is_err());
    }
}
