//! Reading and writing histories: Porcupine's key/value files, Jepsen etcd logs, and our own
//! `jsonl` format (see `docs/linearizability.md`).
//!
//! Every parser returns a [`ParseError`] naming the (1-based) line for malformed input; none
//! panics, whatever the bytes.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::history::{Event, EventKind, History, HistoryError, Operation};
use super::models::{KvInput, KvOutput, RegisterInput, RegisterOutput};

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Porcupine's key/value files (`{:process 0, :type :invoke, :f :get, ...}`).
    PorcupineKv,
    /// Jepsen etcd client logs (`INFO  jepsen.util - 3 :invoke :cas [1 2]`).
    Etcd,
    /// Our format: one JSON object per line (an operation or a call/return event).
    Jsonl,
}

impl Format {
    /// The format's name on the command line (`porcupine-kv`, `etcd`, `jsonl`).
    pub fn name(self) -> &'static str {
        match self {
            Format::PorcupineKv => "porcupine-kv",
            Format::Etcd => "etcd",
            Format::Jsonl => "jsonl",
        }
    }

    /// Guesses the format from the first non-blank line; `None` for a blank text.
    pub fn detect(text: &str) -> Option<Format> {
        let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        Some(if line.starts_with("{:") {
            Format::PorcupineKv
        } else if line.starts_with("INFO") {
            Format::Etcd
        } else {
            Format::Jsonl
        })
    }
}

/// Malformed input: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number (0 when the problem is not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ParseError {}

/// Pairs Jepsen-style invoke/complete lines per process. Time = line number.
struct Pairing<I, O> {
    ops: Vec<Option<Operation<I, O>>>,
    call_line: Vec<usize>,
    open: HashMap<u64, usize>,
}

impl<I, O> Pairing<I, O> {
    fn new() -> Self {
        Pairing {
            ops: Vec::new(),
            call_line: Vec::new(),
            open: HashMap::new(),
        }
    }

    fn invoke(&mut self, line: usize, process: u64, input: I) -> Result<(), ParseError> {
        if let Some(&i) = self.open.get(&process) {
            return Err(ParseError::new(
                line,
                format!(
                    "process {process} invokes while its operation from line {} is still open",
                    self.call_line[i]
                ),
            ));
        }
        self.open.insert(process, self.ops.len());
        self.call_line.push(line);
        self.ops
            .push(Some(Operation::unknown(process, line as u64, input)));
        Ok(())
    }

    /// Closes the process's open operation; `f` checks it and gives the output, or `Err`.
    fn complete(
        &mut self,
        line: usize,
        process: u64,
        f: impl FnOnce(&I) -> Result<Completion<O>, String>,
    ) -> Result<(), ParseError> {
        let Some(i) = self.open.remove(&process) else {
            return Err(ParseError::new(
                line,
                format!("process {process} completes an operation it never invoked"),
            ));
        };
        let op = self.ops[i].as_mut().expect("open operation present");
        match f(&op.input).map_err(|m| ParseError::new(line, m))? {
            Completion::Returned(out) => {
                op.ret = Some(line as u64);
                op.output = out;
            }
            Completion::Unknown => {}
            Completion::DidNotHappen => self.ops[i] = None,
        }
        Ok(())
    }

    fn finish(self, open_ok: bool) -> Result<History<I, O>, ParseError> {
        if !open_ok && let Some(&i) = self.open.values().min() {
            return Err(ParseError::new(
                self.call_line[i],
                "operation invoked here never completes (and is not marked :info)",
            ));
        }
        History::from_operations(self.ops.into_iter().flatten().collect())
            .map_err(|e| ParseError::new(0, e.to_string()))
    }
}

enum Completion<O> {
    Returned(Option<O>),
    Unknown,
    DidNotHappen,
}

fn parse_u64(s: &str, what: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("expected {what} (a non-negative integer), found {s:?}"))
}

/// Reads a Porcupine key/value history (`kv/*.txt`): one
/// `{:process P, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key "K", :value V}` per
/// line, in real-time order. `:info` leaves the operation's outcome unknown, `:fail` means it
/// did not happen.
pub fn parse_porcupine_kv(text: &str) -> Result<History<KvInput, KvOutput>, ParseError> {
    let mut p = Pairing::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let (process, ty, f, key, value) =
            split_kv_line(l).map_err(|m| ParseError::new(line, m))?;
        match ty {
            "invoke" => {
                let input = match (f, value) {
                    ("get", _) => KvInput::Get { key },
                    ("put", Some(value)) => KvInput::Put { key, value },
                    ("append", Some(value)) => KvInput::Append { key, value },
                    (_, None) => {
                        return Err(ParseError::new(line, format!(":{f} needs a string value")));
                    }
                    _ => unreachable!("checked in split_kv_line"),
                };
                p.invoke(line, process, input)?;
            }
            "ok" | "fail" | "info" => p.complete(line, process, |inp| {
                let same = matches!(
                    (inp, f),
                    (KvInput::Get { .. }, "get")
                        | (KvInput::Put { .. }, "put")
                        | (KvInput::Append { .. }, "append")
                );
                if !same || inp.key() != key {
                    return Err(format!(
                        "completion :{f} of key {key:?} does not match the open operation ({})",
                        kv_invocation(inp)
                    ));
                }
                Ok(match ty {
                    "ok" => Completion::Returned(Some(KvOutput {
                        value: value.unwrap_or_default(),
                    })),
                    "info" => Completion::Unknown,
                    _ => Completion::DidNotHappen,
                })
            })?,
            _ => unreachable!("checked in split_kv_line"),
        }
    }
    p.finish(false)
}

/// An operation as its invoke line spells it: `:append "1" "x 1 2 y"`.
fn kv_invocation(input: &KvInput) -> String {
    match input {
        KvInput::Get { key } => format!(":get {key:?}"),
        KvInput::Put { key, value } => format!(":put {key:?} {value:?}"),
        KvInput::Append { key, value } => format!(":append {key:?} {value:?}"),
        KvInput::AppendReturningOld { key, value } => {
            format!(":append-returning-old {key:?} {value:?}")
        }
    }
}

/// An operation as an etcd log spells it: `:cas [1 2]`.
fn etcd_invocation(input: &RegisterInput) -> String {
    match input {
        RegisterInput::Read => ":read".into(),
        RegisterInput::Write { value } => format!(":write {value}"),
        RegisterInput::Cas { from, to } => format!(":cas [{from} {to}]"),
    }
}

type KvLine<'a> = (u64, &'a str, &'a str, String, Option<String>);

fn split_kv_line(l: &str) -> Result<KvLine<'_>, String> {
    let bad =
        || format!("expected {{:process P, :type T, :f F, :key \"K\", :value V}}, found {l:?}");
    let rest = l
        .strip_prefix("{:process ")
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(bad)?;
    let (process, rest) = rest.split_once(", :type :").ok_or_else(bad)?;
    let process = parse_u64(process.trim(), "a process id")?;
    let (ty, rest) = rest.split_once(", :f :").ok_or_else(bad)?;
    if !matches!(ty, "invoke" | "ok" | "fail" | "info") {
        return Err(format!("unknown :type :{ty}"));
    }
    let (f, rest) = rest.split_once(", :key ").ok_or_else(bad)?;
    if !matches!(f, "get" | "put" | "append") {
        return Err(format!("unknown :f :{f} (expected :get, :put or :append)"));
    }
    let (key, rest) = parse_quoted(rest).ok_or_else(bad)?;
    let rest = rest.strip_prefix(", :value ").ok_or_else(bad)?;
    let value = if rest == "nil" {
        None
    } else {
        match parse_quoted(rest) {
            Some((v, "")) => Some(v),
            _ => {
                return Err(format!(
                    "expected nil or a quoted string as :value, found {rest}"
                ));
            }
        }
    };
    Ok((process, ty, f, key, value))
}

/// A double-quoted string (backslash escapes `\"` and `\\` allowed) and the rest of the text.
fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// Reads a Jepsen etcd log (`INFO  jepsen.util - P :type :f VALUE`, whitespace-separated): a
/// single register with `:read`, `:write` and `:cas`. `:fail :cas` = the comparison failed;
/// `:fail :read` = the read's result is unknown; `:fail :write` = did not happen; `:info` and
/// operations still open at the end of the log have an unknown outcome (Jepsen's convention).
pub fn parse_etcd(text: &str) -> Result<History<RegisterInput, RegisterOutput>, ParseError> {
    let mut p = Pairing::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let toks: Vec<&str> = raw.split_whitespace().collect();
        if toks.is_empty() {
            continue;
        }
        let err = |m: String| ParseError::new(line, m);
        if toks.len() < 7 || toks[0] != "INFO" || toks[1] != "jepsen.util" || toks[2] != "-" {
            return Err(err(format!(
                "expected `INFO  jepsen.util - PROCESS :TYPE :F VALUE`, found {:?}",
                raw.trim()
            )));
        }
        let process = parse_u64(toks[3], "a process id").map_err(err)?;
        let ty = toks[4];
        let f = toks[5];
        let value = toks[6..].join(" ");
        let value = value.as_str();
        let int = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| err(format!("expected an integer, found {s:?}")))
        };
        let opt_int = |s: &str| {
            if s == "nil" {
                Ok(None)
            } else {
                int(s).map(Some)
            }
        };
        let pair = |s: &str| -> Result<(i64, i64), ParseError> {
            let inner = s
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .ok_or_else(|| err(format!("expected [A B], found {s:?}")))?;
            let mut it = inner.split_whitespace();
            match (it.next(), it.next(), it.next()) {
                (Some(a), Some(b), None) => Ok((int(a)?, int(b)?)),
                _ => Err(err(format!("expected [A B], found {s:?}"))),
            }
        };
        match (ty, f) {
            (":invoke", ":read") => p.invoke(line, process, RegisterInput::Read)?,
            (":invoke", ":write") => {
                let v = int(value)?;
                p.invoke(line, process, RegisterInput::Write { value: v })?
            }
            (":invoke", ":cas") => {
                let (from, to) = pair(value)?;
                p.invoke(line, process, RegisterInput::Cas { from, to })?
            }
            (":ok" | ":fail" | ":info", ":read" | ":write" | ":cas") => {
                let read_val = if ty == ":ok" && f == ":read" {
                    Some(opt_int(value)?)
                } else {
                    None
                };
                if ty != ":info" && f == ":cas" && value != ":timed-out" {
                    pair(value)?;
                }
                p.complete(line, process, |inp| {
                    let kind_ok = matches!(
                        (inp, f),
                        (RegisterInput::Read, ":read")
                            | (RegisterInput::Write { .. }, ":write")
                            | (RegisterInput::Cas { .. }, ":cas")
                    );
                    if !kind_ok {
                        return Err(format!(
                            "completion {ty} {f} does not match the open operation ({})",
                            etcd_invocation(inp)
                        ));
                    }
                    Ok(match (ty, inp) {
                        (":info", _) => Completion::Unknown,
                        (":ok", RegisterInput::Read) => {
                            Completion::Returned(Some(RegisterOutput::Read {
                                value: read_val.flatten(),
                            }))
                        }
                        (":ok", RegisterInput::Write { .. }) => {
                            Completion::Returned(Some(RegisterOutput::Write))
                        }
                        (":ok", RegisterInput::Cas { .. }) => {
                            Completion::Returned(Some(RegisterOutput::Cas { ok: true }))
                        }
                        (_, RegisterInput::Read) => Completion::Returned(None),
                        (_, RegisterInput::Write { .. }) => Completion::DidNotHappen,
                        (_, RegisterInput::Cas { .. }) if value == ":timed-out" => {
                            Completion::Returned(None)
                        }
                        (_, RegisterInput::Cas { .. }) => {
                            Completion::Returned(Some(RegisterOutput::Cas { ok: false }))
                        }
                    })
                })?
            }
            _ => {
                return Err(err(format!(
                    "unknown type/function {ty} {f} (expected :invoke/:ok/:fail/:info and :read/:write/:cas)"
                )));
            }
        }
    }
    p.finish(true)
}

/// The fields each kind of `jsonl` line may have; any other field is an error (a misspelled
/// `"outptu"` must not silently turn a result into an unknown one).
const HEADER_FIELDS: &[&str] = &["model"];
const OPERATION_FIELDS: &[&str] = &["client", "call", "return", "input", "output"];
const CALL_FIELDS: &[&str] = &["event", "id", "client", "input"];
const RETURN_FIELDS: &[&str] = &["event", "id", "output"];
const UNKNOWN_FIELDS: &[&str] = &["event", "id"];

/// Rejects a field of `obj` that is not in `allowed`, naming the fields that are.
fn only_fields(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(format!(
            "unknown field {k:?} in {what} (expected {})",
            allowed
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Fields of `original` that do not come back when the value it was read into is written
/// out again: fields the model's input or output type ignored (serde skips unknown fields
/// of a variant without fields, so this catches them all, at any depth).
fn ignored_field(original: &Value, reread: &Value, path: &str) -> Option<String> {
    let (Value::Object(a), Value::Object(b)) = (original, reread) else {
        return None;
    };
    a.iter().find_map(|(k, v)| {
        let here = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match b.get(k) {
            None => Some(here),
            Some(w) => ignored_field(v, w, &here),
        }
    })
}

/// The model named by a `jsonl` header line (`{"model": "kv"}`), if the text has one.
pub fn jsonl_model(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let v: Value = serde_json::from_str(line).ok()?;
    let obj = v.as_object()?;
    if obj.contains_key("input") || obj.contains_key("event") {
        return None;
    }
    obj.get("model")?.as_str().map(str::to_string)
}

/// Reads our `jsonl` format: optionally a header `{"model": NAME}`, then either operation
/// lines `{"client": C, "call": T, "return": T|null, "input": I, "output": O|null}` or event
/// lines `{"event": "call", "id": N, "client": C, "input": I}`,
/// `{"event": "return", "id": N, "output": O|null}`, `{"event": "unknown", "id": N}`
/// (not both kinds in one file). A missing or null `return` makes the operation's outcome
/// unknown; a missing or null `output` with a return means the result is unknown.
///
/// Unknown fields are errors, at the top level and inside inputs and outputs.
pub fn parse_jsonl<I: DeserializeOwned + Serialize, O: DeserializeOwned + Serialize>(
    text: &str,
) -> Result<History<I, O>, ParseError> {
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    let mut op_lines: Vec<usize> = Vec::new();
    let mut events: Vec<Event<I, O>> = Vec::new();
    let mut event_lines: Vec<usize> = Vec::new();
    let mut first = true;
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let err = |m: String| ParseError::new(line, m);
        let v: Value = serde_json::from_str(l).map_err(|e| err(format!("invalid JSON: {e}")))?;
        let Value::Object(obj) = v else {
            return Err(err("expected a JSON object".into()));
        };
        let is_first = std::mem::replace(&mut first, false);
        if obj.contains_key("event") {
            if !ops.is_empty() {
                return Err(err("event line in a file of operation lines".into()));
            }
            events.push(json_event(&obj).map_err(err)?);
            event_lines.push(line);
        } else if obj.contains_key("input") {
            if !events.is_empty() {
                return Err(err("operation line in a file of event lines".into()));
            }
            ops.push(json_operation(&obj).map_err(err)?);
            op_lines.push(line);
        } else if is_first && obj.contains_key("model") {
            only_fields(&obj, HEADER_FIELDS, "the header").map_err(err)?;
        } else {
            return Err(err(
                "expected an operation (with \"input\") or an event (with \"event\")".into(),
            ));
        }
    }
    if !events.is_empty() {
        return History::from_events(events).map_err(|e| {
            let line = e.event().map_or(0, |i| event_lines[i]);
            ParseError::new(line, e.to_string())
        });
    }
    History::from_operations(ops).map_err(|e| {
        let line = match e {
            HistoryError::ReturnBeforeCall { op } | HistoryError::OutputWithoutReturn { op } => {
                op_lines[op]
            }
            _ => 0,
        };
        ParseError::new(line, e.to_string())
    })
}

fn field_u64(obj: &Map<String, Value>, name: &str) -> Result<u64, String> {
    obj.get(name)
        .ok_or_else(|| format!("missing \"{name}\""))?
        .as_u64()
        .ok_or_else(|| format!("\"{name}\" must be a non-negative integer"))
}

fn field_opt<T: DeserializeOwned + Serialize>(
    obj: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let parsed = T::deserialize(v).map_err(|e| format!("bad \"{name}\": {e}"))?;
            let reread = serde_json::to_value(&parsed).unwrap_or(Value::Null);
            match ignored_field(v, &reread, "") {
                Some(path) => Err(format!("unknown field {path:?} in \"{name}\"")),
                None => Ok(Some(parsed)),
            }
        }
    }
}

fn field<T: DeserializeOwned + Serialize>(
    obj: &Map<String, Value>,
    name: &str,
) -> Result<T, String> {
    field_opt(obj, name)?.ok_or_else(|| format!("missing \"{name}\""))
}

fn json_operation<I: DeserializeOwned + Serialize, O: DeserializeOwned + Serialize>(
    obj: &Map<String, Value>,
) -> Result<Operation<I, O>, String> {
    only_fields(obj, OPERATION_FIELDS, "an operation")?;
    Ok(Operation {
        client: field_u64(obj, "client")?,
        call: field_u64(obj, "call")?,
        ret: field_opt(obj, "return")?,
        input: field(obj, "input")?,
        output: field_opt(obj, "output")?,
    })
}

fn json_event<I: DeserializeOwned + Serialize, O: DeserializeOwned + Serialize>(
    obj: &Map<String, Value>,
) -> Result<Event<I, O>, String> {
    let kind = match obj.get("event").and_then(Value::as_str) {
        Some("call") => {
            only_fields(obj, CALL_FIELDS, "a call event")?;
            EventKind::Call {
                client: field_u64(obj, "client")?,
                input: field(obj, "input")?,
            }
        }
        Some("return") => {
            only_fields(obj, RETURN_FIELDS, "a return event")?;
            EventKind::Return {
                output: field_opt(obj, "output")?,
            }
        }
        Some("unknown") => {
            only_fields(obj, UNKNOWN_FIELDS, "an unknown event")?;
            EventKind::Unknown
        }
        _ => return Err("\"event\" must be \"call\", \"return\" or \"unknown\"".into()),
    };
    let id = field_u64(obj, "id")?;
    Ok(Event { id, kind })
}

/// Writes a history in our `jsonl` format (operation lines), with a header naming `model`
/// when given.
pub fn to_jsonl<I: Serialize, O: Serialize>(
    model: Option<&str>,
    history: &History<I, O>,
) -> String {
    let mut out = String::new();
    if let Some(m) = model {
        out.push_str(&serde_json::json!({ "model": m }).to_string());
        out.push('\n');
    }
    for op in history.operations() {
        let v = serde_json::json!({
            "client": op.client,
            "call": op.call,
            "return": op.ret,
            "input": op.input,
            "output": op.output,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}
