//! The messages between processes: a request names its method with the caller's types
//! ([`MethodId`]) and carries the encoded arguments; a reply carries the encoded result, or an
//! error in a form that crosses the wire.

use labrpc::codec::CodecError;
use labrpc::{Method, MethodId, RpcError, Side};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

/// One call, as sent.
#[derive(Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) args_type: String,
    pub(crate) reply_type: String,
    pub(crate) payload: Vec<u8>,
}

impl Request {
    /// The request of call `id` of `method` with these encoded arguments.
    pub(crate) fn new(id: u64, method: MethodId, payload: Vec<u8>) -> Request {
        Request {
            id,
            service: method.service.to_string(),
            method: method.method.to_string(),
            args_type: method.args_type.to_string(),
            reply_type: method.reply_type.to_string(),
            payload,
        }
    }
}

/// One reply, as sent.
#[derive(Serialize, Deserialize)]
pub(crate) struct Response {
    pub(crate) id: u64,
    pub(crate) result: Result<Vec<u8>, WireError>,
}

/// The server-side errors of [`RpcError`], in a form that crosses the wire.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) enum WireError {
    UnknownService {
        known: Vec<String>,
    },
    UnknownMethod {
        known: Vec<String>,
    },
    WrongType {
        args: String,
        reply: String,
    },
    Codec {
        type_name: String,
        decoding: bool,
        detail: String,
    },
}

impl WireError {
    /// The error as the caller of `method` sees it.
    pub(crate) fn into_rpc_error(self, method: MethodId) -> RpcError {
        let MethodId {
            service,
            method: name,
            args_type,
            reply_type,
        } = method;
        match self {
            WireError::UnknownService { known } => RpcError::UnknownService {
                service,
                method: name,
                known,
            },
            WireError::UnknownMethod { known } => RpcError::UnknownMethod {
                service,
                method: name,
                known,
            },
            WireError::WrongType { args, reply } => RpcError::WrongType {
                service,
                method: name,
                server: (intern(args), intern(reply)),
                client: (args_type, reply_type),
            },
            WireError::Codec {
                type_name,
                decoding,
                detail,
            } => method.codec_error(
                Side::Server,
                CodecError {
                    type_name: intern(type_name),
                    decoding,
                    detail,
                },
            ),
        }
    }
}

/// A `'static` copy of a type name received from a server (each distinct name is leaked once,
/// so the memory is bounded by the number of distinct names).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A handler's outcome as it crosses the wire.
pub(crate) fn to_wire(result: Result<Vec<u8>, RpcError>) -> Result<Vec<u8>, WireError> {
    match result {
        Ok(reply) => Ok(reply),
        Err(RpcError::Codec { error, .. }) => Err(WireError::Codec {
            type_name: error.type_name.to_string(),
            decoding: error.decoding,
            detail: error.detail,
        }),
        // Handlers only fail to codec; anything else would be a labrpc bug.
        Err(other) => Err(WireError::Codec {
            type_name: "?".to_string(),
            decoding: false,
            detail: other.to_string(),
        }),
    }
}

/// Services' methods by (service, method) name, as a server looks them up.
#[derive(Default)]
pub(crate) struct Methods<T> {
    by_name: BTreeMap<(String, String), (Method, T)>,
}

impl<T> Methods<T> {
    /// Adds every method of `service`, each with `extra` (what the server keeps beside it).
    pub(crate) fn add(&mut self, service: labrpc::Service, extra: T)
    where
        T: Clone,
    {
        for method in service.into_methods() {
            let id = method.id();
            let key = (id.service.to_string(), id.method.to_string());
            self.by_name.insert(key, (method, extra.clone()));
        }
    }

    /// The method `service.method`, if the server has it with the caller's argument and reply
    /// types; else the error the caller gets.
    pub(crate) fn lookup(
        &self,
        service: &str,
        method: &str,
        args_type: &str,
        reply_type: &str,
    ) -> Result<&(Method, T), WireError> {
        let key = (service.to_string(), method.to_string());
        let Some(found) = self.by_name.get(&key) else {
            let of_service: Vec<String> = self
                .by_name
                .keys()
                .filter(|(s, _)| s == service)
                .map(|(_, m)| m.clone())
                .collect();
            return Err(if of_service.is_empty() {
                let mut known: Vec<String> = self.by_name.keys().map(|(s, _)| s.clone()).collect();
                known.dedup();
                WireError::UnknownService { known }
            } else {
                WireError::UnknownMethod { known: of_service }
            });
        };
        let id = found.0.id();
        if (id.args_type, id.reply_type) != (args_type, reply_type) {
            return Err(WireError::WrongType {
                args: id.args_type.to_string(),
                reply: id.reply_type.to_string(),
            });
        }
        Ok(found)
    }
}
