//! Sockets: where a server listens ([`Address`]), connected streams of either kind, and the
//! frames that carry messages over them (a 4-byte little-endian length, then the body).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

/// Frames longer than this are refused (the codec's own decode limit).
pub const MAX_FRAME: usize = 256 << 20;

/// Frames written in one system call, at most.
pub(crate) const WRITE_BATCH: usize = 64;

/// A write that blocks this long (a stopped peer's buffers are full) breaks the connection.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A Unix-domain socket at this path.
    Unix(PathBuf),
    /// A TCP address, `host:port` (port 0 when serving picks a free port).
    Tcp(String),
}

impl Address {
    /// Parses `tcp:HOST:PORT` as TCP and anything else (optionally prefixed `unix:`) as the
    /// path of a Unix-domain socket.
    pub fn parse(text: &str) -> Address {
        if let Some(tcp) = text.strip_prefix("tcp:") {
            Address::Tcp(tcp.to_string())
        } else {
            Address::Unix(PathBuf::from(text.strip_prefix("unix:").unwrap_or(text)))
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// A connected socket of either kind.
pub(crate) enum Stream {
    #[cfg(unix)]
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    pub(crate) fn connect(address: &Address, timeout: Duration) -> io::Result<Stream> {
        match address {
            #[cfg(unix)]
            Address::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
            #[cfg(not(unix))]
            Address::Unix(path) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "unix:{}: Unix-domain sockets need a Unix system",
                    path.display()
                ),
            )),
            Address::Tcp(host) => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                for addr in host.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(stream) => {
                            stream.set_nodelay(true)?;
                            return Ok(Stream::Tcp(stream));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.try_clone().map(Stream::Unix),
            Stream::Tcp(s) => s.try_clone().map(Stream::Tcp),
        }
    }

    #[cfg(test)]
    pub(crate) fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.set_write_timeout(timeout),
            Stream::Tcp(s) => s.set_write_timeout(timeout),
        }
    }

    pub(crate) fn shutdown(&self) {
        let _ = match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

/// A frame: the 4-byte little-endian length, then `body`.
pub(crate) fn frame_of(body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Writes one frame.
#[cfg(test)]
pub(crate) fn write_frame(stream: &mut Stream, body: &[u8]) -> io::Result<()> {
    if body.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes is over the limit", body.len()),
        ));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(body);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Reads one frame; `Ok(None)` at a clean end of stream (between frames).
pub(crate) fn read_frame(stream: &mut Stream) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match stream.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit"),
        ));
    }
    // Grown as the bytes arrive: a header alone cannot make the server allocate the frame.
    let mut body = Vec::with_capacity(len.min(64 << 10));
    Read::by_ref(stream)
        .take(len as u64)
        .read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(body))
}

/// A listening socket of either kind.
pub(crate) enum Listener {
    #[cfg(unix)]
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// Checks that a server may listen at `address`: a Unix socket path must be free or hold a socket.
/// Something else at that path (a regular file, a directory, a link) is someone's data, and a
/// typo in a path must not delete it: this fails with [`io::ErrorKind::AlreadyExists`].
/// (A program can call it before starting anything, to fail early; serving checks it too.)
pub fn check_address(address: &Address) -> io::Result<()> {
    #[cfg(unix)]
    if let Address::Unix(path) = address
        && let Ok(metadata) = std::fs::symlink_metadata(path)
    {
        use std::os::unix::fs::FileTypeExt as _;
        if !metadata.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket: refusing to replace it (choose another \
                     socket path)",
                    path.display()
                ),
            ));
        }
    }
    let _ = address;
    Ok(())
}

impl Listener {
    /// Binds `address`; returns the listener and the address it really listens on.
    pub(crate) fn bind(address: &Address) -> io::Result<(Listener, Address)> {
        match address {
            #[cfg(unix)]
            Address::Unix(path) => {
                remove_stale_socket(path)?;
                Ok((
                    Listener::Unix(UnixListener::bind(path)?),
                    Address::Unix(path.clone()),
                ))
            }
            #[cfg(not(unix))]
            Address::Unix(path) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "unix:{}: Unix-domain sockets need a Unix system; use tcp:HOST:PORT",
                    path.display()
                ),
            )),
            Address::Tcp(host) => {
                let listener = TcpListener::bind(host.as_str())?;
                let local = listener.local_addr()?;
                Ok((Listener::Tcp(listener), Address::Tcp(local.to_string())))
            }
        }
    }
}

impl Listener {
    /// Waits for the next connection.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        match self {
            #[cfg(unix)]
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
        }
    }
}

/// Removes a socket file left at `path` by a dead server. Refuses if a live server answers
/// there, and never removes anything that is not a socket (see [`check_address`]).
#[cfg(unix)]
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    check_address(&Address::Unix(path.to_path_buf()))?;
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a server is already listening on {}", path.display()),
        ));
    }
    std::fs::remove_file(path)
}
