//! The Redis serialization protocol (RESP 2), as much of it as a key/value front end needs:
//! reading commands (arrays of bulk strings, as `redis-cli` and `redis-benchmark` send them,
//! or inline commands typed into `telnet`), and writing replies.
//!
//! Every size is capped ([`Limits`]): a client cannot make the server allocate more than a
//! command's worth of memory, whatever it sends. Input that breaks the protocol is a
//! [`ProtocolError`]; the server answers it with an error and closes the connection.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// Caps on what one command may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Arguments in one command (the command's name included).
    pub max_args: usize,
    /// Bytes in one argument.
    pub max_arg_bytes: usize,
    /// Bytes in one command, all arguments together.
    pub max_command_bytes: usize,
    /// Bytes in one line: an inline command, or a header line (`*3`, `$5`).
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_args: 1024,
            max_arg_bytes: 1 << 20,
            max_command_bytes: 4 << 20,
            max_line_bytes: 64 << 10,
        }
    }
}

/// Input that is not RESP, or is over a [`Limits`] cap.
#[derive(Debug)]
pub enum ProtocolError {
    /// Malformed or over a cap: what was wrong.
    Invalid(String),
    /// The connection failed (or ended in the middle of a command).
    Io(io::Error),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Invalid(what) => write!(f, "Protocol error: {what}"),
            ProtocolError::Io(error) => write!(f, "connection error: {error}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<io::Error> for ProtocolError {
    fn from(error: io::Error) -> ProtocolError {
        ProtocolError::Io(error)
    }
}

fn invalid(what: impl Into<String>) -> ProtocolError {
    ProtocolError::Invalid(what.into())
}

/// Reads one line ending in `\n` (without it, and without a `\r` before it), at most `max`
/// bytes. `Ok(None)` at the end of the input before any byte.
fn read_line(input: &mut impl BufRead, max: usize) -> Result<Option<Vec<u8>>, ProtocolError> {
    let mut line = Vec::new();
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error.into()),
        };
        if available.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..taken]);
        input.consume(taken);
        if line.len() > max + 2 {
            return Err(invalid(format!("line longer than {max} bytes")));
        }
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(line));
        }
    }
}

/// Parses the number after a `*` or `$` header byte.
fn header_number(line: &[u8], kind: &str) -> Result<i64, ProtocolError> {
    std::str::from_utf8(&line[1..])
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| invalid(format!("invalid {kind} length")))
}

/// Reads a bulk string's `len` bytes and the two after it, growing the buffer as the bytes
/// arrive (a length alone cannot make the server allocate it).
fn read_bulk(input: &mut impl BufRead, len: usize) -> Result<Vec<u8>, ProtocolError> {
    let mut bytes = Vec::with_capacity((len + 2).min(64 << 10));
    input
        .by_ref()
        .take(len as u64 + 2)
        .read_to_end(&mut bytes)?;
    if bytes.len() < len + 2 {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(bytes)
}

/// Reads the next command: its arguments, the command's name first. `Ok(None)` when the
/// client closed the connection between commands. An empty inline line is skipped.
pub fn read_command(
    input: &mut impl BufRead,
    limits: &Limits,
) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
    loop {
        let Some(line) = read_line(input, limits.max_line_bytes)? else {
            return Ok(None);
        };
        if line.first() != Some(&b'*') {
            let args = inline_arguments(&line, limits)?;
            if args.is_empty() {
                continue;
            }
            return Ok(Some(args));
        }
        let count = header_number(&line, "multibulk")?;
        if count <= 0 {
            // `*0` and `*-1` are no command at all (Redis skips them too).
            continue;
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > limits.max_args {
            return Err(invalid(format!(
                "{count} arguments, more than the limit of {}",
                limits.max_args
            )));
        }
        let mut args = Vec::with_capacity(count);
        let mut total = 0usize;
        for _ in 0..count {
            let header = read_line(input, limits.max_line_bytes)?
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            if header.first() != Some(&b'$') {
                let got = header.first().map_or("end of line".into(), |&b| {
                    format!("'{}'", char::from(b).escape_default())
                });
                return Err(invalid(format!("expected '$', got {got}")));
            }
            let len = header_number(&header, "bulk")?;
            let len = usize::try_from(len).map_err(|_| invalid("invalid bulk length"))?;
            if len > limits.max_arg_bytes {
                return Err(invalid(format!(
                    "an argument of {len} bytes, over the limit of {}",
                    limits.max_arg_bytes
                )));
            }
            total += len;
            if total > limits.max_command_bytes {
                return Err(invalid(format!(
                    "a command of more than {} bytes",
                    limits.max_command_bytes
                )));
            }
            let arg = read_bulk(input, len)?;
            if arg[len..] != *b"\r\n" {
                return Err(invalid("a bulk string not followed by CRLF"));
            }
            args.push(arg[..len].to_vec());
        }
        return Ok(Some(args));
    }
}

/// Splits an inline command at spaces and tabs (quotes are not interpreted).
fn inline_arguments(line: &[u8], limits: &Limits) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let args: Vec<Vec<u8>> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|word| !word.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if args.len() > limits.max_args {
        return Err(invalid(format!(
            "{} arguments, more than the limit of {}",
            args.len(),
            limits.max_args
        )));
    }
    Ok(args)
}

/// A reply, as RESP 2 writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+text`: a status such as `OK` or `PONG`.
    Status(String),
    /// `-text`: an error (the text starts with its kind, `ERR`).
    Error(String),
    /// `:n`.
    Integer(i64),
    /// `$len` and the bytes.
    Bulk(Vec<u8>),
    /// `*n` and the elements.
    Array(Vec<Reply>),
    /// `$-1`: no value (Redis's reply to `GET` of a missing key; this front end never sends
    /// it, since the lab's store reads a missing key as `""`).
    Nil,
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Status("OK".into())
    }

    /// An `ERR` error with this message.
    pub fn error(message: impl fmt::Display) -> Reply {
        Reply::Error(format!("ERR {message}"))
    }

    /// Writes the reply.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        match self {
            Reply::Status(text) => write!(out, "+{text}\r\n"),
            // An error's text must be one line.
            Reply::Error(text) => write!(out, "-{}\r\n", text.replace(['\r', '\n'], " ")),
            Reply::Integer(n) => write!(out, ":{n}\r\n"),
            Reply::Bulk(bytes) => {
                write!(out, "${}\r\n", bytes.len())?;
                out.write_all(bytes)?;
                out.write_all(b"\r\n")
            }
            Reply::Array(items) => {
                write!(out, "*{}\r\n", items.len())?;
                for item in items {
                    item.write_to(out)?;
                }
                Ok(())
            }
            Reply::Nil => out.write_all(b"$-1\r\n"),
        }
    }

    /// The reply's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes)
            .expect("writing to a Vec cannot fail");
        bytes
    }
}

/// Reads one reply (what a client does), within `limits` (an array's elements count as
/// arguments, a bulk string as one argument).
pub fn read_reply(input: &mut impl BufRead, limits: &Limits) -> Result<Reply, ProtocolError> {
    let line = read_line(input, limits.max_line_bytes)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    let text = || String::from_utf8_lossy(&line[1..]).into_owned();
    match line.first() {
        Some(b'+') => Ok(Reply::Status(text())),
        Some(b'-') => Ok(Reply::Error(text())),
        Some(b':') => Ok(Reply::Integer(header_number(&line, "integer")?)),
        Some(b'$') => {
            let len = header_number(&line, "bulk")?;
            if len == -1 {
                return Ok(Reply::Nil);
            }
            let len = usize::try_from(len).map_err(|_| invalid("invalid bulk length"))?;
            if len > limits.max_arg_bytes {
                return Err(invalid(format!(
                    "a bulk reply of {len} bytes is over the limit"
                )));
            }
            let mut bytes = read_bulk(input, len)?;
            bytes.truncate(len);
            Ok(Reply::Bulk(bytes))
        }
        Some(b'*') => {
            let count = header_number(&line, "multibulk")?;
            if count == -1 {
                return Ok(Reply::Nil);
            }
            let count = usize::try_from(count).map_err(|_| invalid("invalid multibulk length"))?;
            if count > limits.max_args {
                return Err(invalid(format!(
                    "an array of {count} elements is over the limit"
                )));
            }
            (0..count)
                .map(|_| read_reply(input, limits))
                .collect::<Result<_, _>>()
                .map(Reply::Array)
        }
        _ => Err(invalid(format!("not a reply: {:?}", text()))),
    }
}

/// Writes a command as an array of bulk strings (what `redis-cli` sends).
pub fn write_command(out: &mut impl Write, args: &[&[u8]]) -> io::Result<()> {
    write!(out, "*{}\r\n", args.len())?;
    for arg in args {
        write!(out, "${}\r\n", arg.len())?;
        out.write_all(arg)?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Vec<Result<Vec<String>, String>> {
        let mut reader = io::BufReader::with_capacity(7, input); // small: commands span refills
        let limits = Limits {
            max_args: 4,
            max_arg_bytes: 10,
            max_command_bytes: 16,
            max_line_bytes: 20,
        };
        let mut out = Vec::new();
        loop {
            match read_command(&mut reader, &limits) {
                Ok(Some(args)) => out.push(Ok(args
                    .into_iter()
                    .map(|a| String::from_utf8(a).unwrap())
                    .collect())),
                Ok(None) => return out,
                Err(error) => {
                    out.push(Err(error.to_string()));
                    return out;
                }
            }
        }
    }

    fn ok(args: &[&str]) -> Result<Vec<String>, String> {
        Ok(args.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn reads_arrays_and_inline_commands() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv a\r\n\r\n*0\r\nPING\r\n  get   key \n\r\n*1\r\n$0\r\n\r\n";
        assert_eq!(
            parse(input),
            [
                ok(&["SET", "k", "v a\r\n"]),
                ok(&["PING"]),
                ok(&["get", "key"]),
                ok(&[""])
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_problem() {
        let cases: [(&[u8], &str); 9] = [
            (b"*x\r\n", "invalid multibulk length"),
            (b"*2\r\n+OK\r\n", "expected '$', got '+'"),
            (b"*1\r\n$-4\r\n", "invalid bulk length"),
            (b"*1\r\n$2\r\nabcd\r\n", "not followed by CRLF"),
            (b"*5\r\n", "5 arguments, more than the limit of 4"),
            (
                b"*1\r\n$11\r\n",
                "an argument of 11 bytes, over the limit of 10",
            ),
            (
                b"*2\r\n$9\r\n123456789\r\n$9\r\n",
                "a command of more than 16 bytes",
            ),
            (b"*1\r\n$3\r\nab", "connection error"),
            (b"this inline line is far too long\r\n", "longer than 20"),
        ];
        for (input, expected) in cases {
            let parsed = parse(input);
            let last = parsed.last().expect("a result");
            let message = last.as_ref().expect_err("an error");
            assert!(
                message.contains(expected),
                "{:?}: {message}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn writes_replies() {
        let reply = Reply::Array(vec![
            Reply::ok(),
            Reply::error("bad\r\nthing"),
            Reply::Integer(-3),
            Reply::Bulk(b"hi".to_vec()),
            Reply::Array(vec![]),
            Reply::Nil,
        ]);
        let bytes = reply.to_bytes();
        assert_eq!(
            bytes,
            b"*6\r\n+OK\r\n-ERR bad  thing\r\n:-3\r\n$2\r\nhi\r\n*0\r\n$-1\r\n"
        );
        let read = read_reply(&mut &bytes[..], &Limits::default()).unwrap();
        let Reply::Array(items) = read else {
            panic!("an array")
        };
        assert_eq!(items[1], Reply::Error("ERR bad  thing".into()));
        assert_eq!(items[3], Reply::Bulk(b"hi".to_vec()));
        assert_eq!(items[5], Reply::Nil);
        let mut command = Vec::new();
        write_command(&mut command, &[b"SET", b"k", b""]).unwrap();
        assert_eq!(command, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
