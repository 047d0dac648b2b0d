//! What both editions' testers share: random values (labtest's), readable differences between values,
//! and the memory check.

#![allow(dead_code)] // Each test binary uses a different part.

use labrpc::sim::Node;

/// One mebibyte.
pub const MIB: i64 = 1 << 20;

pub use labtest::kv::random_value;

/// At most 60 characters of `value` from byte `from`, quoted, with `...` where it was cut.
pub fn excerpt(value: &str, from: usize) -> String {
    const SHOW: usize = 60;
    let mut start = from.min(value.len());
    while !value.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + SHOW).min(value.len());
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}{:?}{}",
        if start > 0 { "..." } else { "" },
        &value[start..end],
        if end < value.len() { "..." } else { "" }
    )
}

/// Where `got` first differs from `wanted`, in words (for a value that should have been
/// exactly `wanted`).
pub fn difference(wanted: &str, got: &str) -> String {
    let at = wanted
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(wanted.len().min(got.len()));
    format!(
        "wanted {} bytes, got {}; they differ from byte {at}: wanted {}, got {}",
        wanted.len(),
        got.len(),
        excerpt(wanted, at),
        excerpt(got, at)
    )
}

/// `bytes` in readable units.
pub fn show_bytes(bytes: i64) -> String {
    if bytes.abs() >= MIB {
        format!("{bytes} bytes ({:.2} MiB)", bytes as f64 / MIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// Bytes allocated by `server`'s code (its handlers, argument decoding included) that are
/// still allocated.
pub fn server_bytes(server: Node) -> i64 {
    labtest::alloc::live_bytes(server)
}

/// A bound on the bytes a server may keep, as the original states it.
#[derive(Clone, Copy, Debug)]
pub enum Limit {
    /// Fewer than this many bytes.
    Under(i64),
    /// This many bytes or fewer.
    AtMost(i64),
}

impl Limit {
    fn allows(self, bytes: i64) -> bool {
        match self {
            Limit::Under(limit) => bytes < limit,
            Limit::AtMost(limit) => bytes <= limit,
        }
    }

    fn describe(self) -> String {
        match self {
            Limit::Under(limit) => format!("under {}", show_bytes(limit)),
            Limit::AtMost(limit) => format!("at most {}", show_bytes(limit)),
        }
    }
}

/// Fails the test unless `kept` (bytes the server keeps) is within `limit`, saying what the
/// test did (`after`) and what a server that keeps too much typically keeps (`hint`).
pub fn check_kept(kept: i64, limit: Limit, after: &str, hint: &str) {
    log::info!(
        "the server keeps {} {after} (limit: {})",
        show_bytes(kept),
        limit.describe()
    );
    assert!(
        limit.allows(kept),
        "server using too much memory: it keeps {} {after}; it must keep {}. {hint}",
        show_bytes(kept),
        limit.describe()
    );
}
