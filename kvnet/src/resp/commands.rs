//! Which Redis commands the front end understands, and what each becomes.
//!
//! The lab's service has three operations — `Get`, `Put`, `Append` on string keys and values —
//! so `GET`, `SET` and `APPEND` go to it through a clerk. `PING`, `ECHO`, `COMMAND`, `CONFIG
//! GET`, `QUIT` are answered by the front end itself, `INFO` by the server it runs in. `DEL`
//! and every other command get an error saying why; none is silently approximated:
//!
//! - `GET` of a key that was never set returns `""`, not Redis's nil: the lab's `Get` returns
//!   `""` for a missing key, and the two cannot be told apart.
//! - `APPEND` replies `+OK`, not the new length: the lab's `Append` returns nothing, and
//!   reading the length afterwards would not be atomic.
//! - `SET` takes no options (`EX`, `NX`, ...), and keys and values must be UTF-8 (the store
//!   holds Rust `String`s).

use super::protocol::Reply;

/// What a command asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Answered at once by the front end.
    Answer(Reply),
    /// `QUIT`: answer `+OK` and close the connection.
    Quit,
    /// An operation of the key/value service, or a question for the server.
    Service(ServiceCommand),
}

/// A command the connection cannot answer by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceCommand {
    /// `GET key`: the clerk's `get`.
    Get {
        /// The key.
        key: String,
    },
    /// `SET key value`: the clerk's `put`.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// `APPEND key value`: the clerk's `append`.
    Append {
        /// The key.
        key: String,
        /// The suffix.
        value: String,
    },
    /// `INFO [section]`: the server's description of itself.
    Info,
}

/// Turns a command's arguments (its name first) into what to do.
pub fn parse(args: Vec<Vec<u8>>) -> Command {
    let Some((name, rest)) = args.split_first() else {
        return Command::Answer(Reply::error("empty command"));
    };
    let name = String::from_utf8_lossy(name).to_ascii_uppercase();
    let arity = |expected: &str| {
        Command::Answer(Reply::error(format!(
            "wrong number of arguments for '{}' command (expected {expected})",
            name.to_ascii_lowercase()
        )))
    };
    match name.as_str() {
        "PING" => match rest {
            [] => Command::Answer(Reply::Status("PONG".into())),
            [message] => Command::Answer(Reply::Bulk(message.clone())),
            _ => arity("at most 1 argument"),
        },
        "ECHO" => match rest {
            [message] => Command::Answer(Reply::Bulk(message.clone())),
            _ => arity("1 argument"),
        },
        "QUIT" => Command::Quit,
        "GET" => match rest {
            [key] => text(key, "key").map_or_else(Command::Answer, |key| {
                Command::Service(ServiceCommand::Get { key })
            }),
            _ => arity("1 argument"),
        },
        "SET" => match rest {
            [key, value] => key_value(key, value, |key, value| ServiceCommand::Set { key, value }),
            [_, _, ..] => Command::Answer(Reply::error(
                "SET options (EX, PX, NX, XX, KEEPTTL, GET, ...) are not supported: the lab's \
                 key/value service only sets a value",
            )),
            _ => arity("2 arguments"),
        },
        "APPEND" => match rest {
            [key, value] => key_value(key, value, |key, value| ServiceCommand::Append {
                key,
                value,
            }),
            _ => arity("2 arguments"),
        },
        "DEL" | "UNLINK" | "GETDEL" => Command::Answer(Reply::error(format!(
            "{name} is not supported: the lab's key/value service has no delete operation (SET \
             the key to an empty string instead)"
        ))),
        "INFO" => Command::Service(ServiceCommand::Info),
        // redis-cli asks for the command table (for hints) when it starts: it has none here.
        "COMMAND" => match rest
            .first()
            .map(|s| String::from_utf8_lossy(s).to_uppercase())
        {
            Some(sub) if sub == "COUNT" => Command::Answer(Reply::Integer(0)),
            _ => Command::Answer(Reply::Array(Vec::new())),
        },
        // redis-benchmark reads `save` and `appendonly` before it starts: there is no such
        // setting here, which CONFIG GET says with an empty answer, as Redis does for an
        // unknown parameter.
        "CONFIG" => match rest
            .first()
            .map(|s| String::from_utf8_lossy(s).to_uppercase())
        {
            Some(sub) if sub == "GET" => Command::Answer(Reply::Array(Vec::new())),
            _ => Command::Answer(Reply::error(
                "only CONFIG GET is understood here (and knows no parameter)",
            )),
        },
        _ => Command::Answer(Reply::error(unknown(&name, rest))),
    }
}

/// Redis's message for an unknown command.
fn unknown(name: &str, rest: &[Vec<u8>]) -> String {
    let mut message = format!(
        "unknown command '{}', with args beginning with:",
        name.to_ascii_lowercase()
    );
    for arg in rest.iter().take(8) {
        let shown: String = String::from_utf8_lossy(arg).chars().take(40).collect();
        message.push_str(&format!(" '{shown}'"));
    }
    message.push_str(" (this server speaks GET, SET, APPEND, PING, ECHO, INFO, QUIT)");
    message
}

/// `bytes` as a `String`, or the error reply for a value the store cannot hold.
fn text(bytes: &[u8], what: &str) -> Result<String, Reply> {
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Reply::error(format!(
            "the {what} is not UTF-8 text: the lab's store holds strings"
        ))
    })
}

fn key_value(
    key: &[u8],
    value: &[u8],
    make: impl FnOnce(String, String) -> ServiceCommand,
) -> Command {
    match (text(key, "key"), text(value, "value")) {
        (Ok(key), Ok(value)) => Command::Service(make(key, value)),
        (Err(reply), _) | (_, Err(reply)) => Command::Answer(reply),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Command {
        parse(words.iter().map(|w| w.as_bytes().to_vec()).collect())
    }

    fn error_of(words: &[&str]) -> String {
        match command(words) {
            Command::Answer(Reply::Error(message)) => message,
            other => panic!("{words:?}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn commands_of_the_service() {
        assert_eq!(
            command(&["get", "k"]),
            Command::Service(ServiceCommand::Get { key: "k".into() })
        );
        assert_eq!(
            command(&["SeT", "k", "v"]),
            Command::Service(ServiceCommand::Set {
                key: "k".into(),
                value: "v".into()
            })
        );
        assert_eq!(
            command(&["APPEND", "k", ""]),
            Command::Service(ServiceCommand::Append {
                key: "k".into(),
                value: "".into()
            })
        );
        assert_eq!(
            command(&["info", "server"]),
            Command::Service(ServiceCommand::Info)
        );
    }

    #[test]
    fn commands_answered_at_once() {
        assert_eq!(
            command(&["PING"]),
            Command::Answer(Reply::Status("PONG".into()))
        );
        assert_eq!(
            command(&["ping", "hi"]),
            Command::Answer(Reply::Bulk(b"hi".to_vec()))
        );
        assert_eq!(
            command(&["COMMAND", "DOCS"]),
            Command::Answer(Reply::Array(vec![]))
        );
        assert_eq!(
            command(&["CONFIG", "GET", "save"]),
            Command::Answer(Reply::Array(vec![]))
        );
        assert_eq!(command(&["quit"]), Command::Quit);
    }

    #[test]
    fn what_the_service_cannot_do_is_an_error_saying_why() {
        assert!(error_of(&["DEL", "k"]).contains("no delete operation"));
        assert!(error_of(&["SET", "k", "v", "EX", "10"]).contains("not supported"));
        assert!(error_of(&["GET"]).contains("wrong number of arguments for 'get'"));
        assert!(error_of(&["SET", "k"]).contains("wrong number of arguments for 'set'"));
        assert!(error_of(&["FLUSHALL"]).starts_with("ERR unknown command 'flushall'"));
        assert!(error_of(&["HSET", "h", "f", "v"]).contains("'h' 'f' 'v'"));
        let not_text = parse(vec![b"SET".to_vec(), b"k".to_vec(), vec![0xff, 0xfe]]);
        match not_text {
            Command::Answer(Reply::Error(message)) => assert!(message.contains("UTF-8")),
            other => panic!("{other:?}"),
        }
        assert!(parse(Vec::new()) == Command::Answer(Reply::error("empty command")));
    }
}
