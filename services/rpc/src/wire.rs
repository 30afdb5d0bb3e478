//! JSON-RPC 2.0 frames as go-jsonrpc writes them, parsed without copying params.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::RpcError;

/// Names of go-jsonrpc's built-in notifications.
pub const CH_VALUE: &str = "xrpc.ch.val";
pub const CH_CLOSE: &str = "xrpc.ch.close";
pub const CANCEL: &str = "xrpc.cancel";

/// Any incoming frame: a request, a notification or a response. Borrowed from the input.
#[derive(Deserialize)]
pub struct InFrame<'a> {
    #[serde(default, borrow)]
    pub jsonrpc: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub result: Option<&'a RawValue>,
    #[serde(default)]
    pub error: Option<RpcError>,
}

impl InFrame<'_> {
    /// An id of JSON `null` counts as absent, as in go-jsonrpc.
    pub fn id(&self) -> Option<&RawValue> {
        self.id.filter(|id| id.get() != "null")
    }

    /// A JSON-RPC request must be a 2.0 frame with a method (go-jsonrpc is lenient about
    /// the version; so are we when it is absent, but a different version is refused).
    pub fn check_version(&self) -> Result<(), RpcError> {
        match self.jsonrpc.as_deref() {
            None | Some("2.0") => Ok(()),
            Some(other) => Err(RpcError::invalid_request(format!(
                "unsupported jsonrpc version {other:?}"
            ))),
        }
    }
}

/// What a body or message holds: one frame or a batch.
pub enum Body<'a> {
    Single(InFrame<'a>),
    Batch(Vec<&'a RawValue>),
}

pub fn parse_body(bytes: &[u8]) -> Result<Body<'_>, RpcError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        Some(b'[') => serde_json::from_slice::<Vec<&RawValue>>(bytes)
            .map(Body::Batch)
            .map_err(RpcError::parse),
        Some(b'{') => serde_json::from_slice::<InFrame<'_>>(bytes)
            .map(Body::Single)
            .map_err(|e| {
                if e.is_data() {
                    RpcError::invalid_request(format!("unmarshaling request: {e}"))
                } else {
                    RpcError::parse(e)
                }
            }),
        Some(_) => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(_) => Err(RpcError::invalid_request(
                "request must be a JSON object or array",
            )),
            Err(e) => Err(RpcError::parse(e)),
        },
        None => Err(RpcError::parse("empty body")),
    }
}

pub fn parse_frame(raw: &RawValue) -> Result<InFrame<'_>, RpcError> {
    serde_json::from_str::<InFrame<'_>>(raw.get()).map_err(|e| {
        if e.is_data() {
            RpcError::invalid_request(format!("unmarshaling request: {e}"))
        } else {
            RpcError::parse(e)
        }
    })
}

/// Decode positional params into `P` (a tuple). Absent params mean `[]`; `()` accepts `[]`.
pub fn decode_params<P: DeserializeOwned>(
    method: &str,
    params: Option<&RawValue>,
) -> Result<P, RpcError> {
    let text = params.map_or("[]", RawValue::get);
    // `()` (a method without params) is read from `null`; try that first for the empty
    // list, so the common no-params call builds no error on the way.
    if text == "[]"
        && std::mem::size_of::<P>() == 0
        && let Ok(p) = serde_json::from_str::<P>("null")
    {
        return Ok(p);
    }
    match serde_json::from_str::<P>(text) {
        Ok(p) => Ok(p),
        Err(first) => {
            // serde reads `()` from `null`, not from `[]`; an empty list or null is "no params".
            let trimmed = text.trim();
            let empty = trimmed == "null"
                || (trimmed.starts_with('[')
                    && trimmed.ends_with(']')
                    && trimmed[1..trimmed.len() - 1].trim().is_empty());
            if empty && let Ok(p) = serde_json::from_str::<P>("null") {
                return Ok(p);
            }
            Err(RpcError::invalid_params(method, first))
        }
    }
}

/// Encode params `P` as the positional JSON array go-jsonrpc expects.
pub fn encode_params<P: Serialize>(params: &P) -> Result<Box<RawValue>, serde_json::Error> {
    let raw = serde_json::value::to_raw_value(params)?;
    if raw.get() == "null" {
        return RawValue::from_string("[]".to_owned());
    }
    Ok(raw)
}

/// Append a response frame to `buf`.
pub fn write_response(
    buf: &mut Vec<u8>,
    id: Option<&RawValue>,
    outcome: Result<&RawValue, &RpcError>,
) {
    buf.extend_from_slice(br#"{"jsonrpc":"2.0","#);
    match outcome {
        Ok(result) => {
            buf.extend_from_slice(br#""result":"#);
            buf.extend_from_slice(result.get().as_bytes());
        }
        Err(err) => {
            buf.extend_from_slice(br#""error":"#);
            // An error object of a number and strings always serialises.
            if serde_json::to_writer(&mut *buf, err).is_err() {
                buf.extend_from_slice(br#"{"code":-32603,"message":"unencodable error"}"#);
            }
        }
    }
    buf.extend_from_slice(br#","id":"#);
    buf.extend_from_slice(id.map_or("null", RawValue::get).as_bytes());
    buf.push(b'}');
}

pub fn response_string(id: Option<&RawValue>, outcome: Result<&RawValue, &RpcError>) -> String {
    let mut buf = Vec::with_capacity(64 + outcome.map_or(64, |r| r.get().len()));
    write_response(&mut buf, id, outcome);
    // Built only from UTF-8 pieces.
    String::from_utf8(buf).unwrap_or_default()
}

/// A request (with id) or notification (without) frame.
pub fn request_string(id: Option<u64>, method: &str, params: &RawValue) -> String {
    let method = serde_json::to_string(method).unwrap_or_else(|_| "\"\"".into());
    match id {
        Some(id) => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":{method},"params":{}}}"#,
            params.get()
        ),
        None => format!(
            r#"{{"jsonrpc":"2.0","method":{method},"params":{}}}"#,
            params.get()
        ),
    }
}

pub fn ch_value_string(chan: u64, value: &RawValue) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"{CH_VALUE}","params":[{chan},{}]}}"#,
        value.get()
    )
}

pub fn ch_close_string(chan: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"{CH_CLOSE}","params":[{chan}]}}"#)
}

pub fn cancel_string(call_id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"{CANCEL}","params":[{call_id}]}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_params_accept_empty_list_and_absence() {
        assert!(decode_params::<()>("m", None).is_ok());
        let empty = RawValue::from_string("[ ]".into()).unwrap();
        assert!(decode_params::<()>("m", Some(&empty)).is_ok());
        let one = RawValue::from_string("[1]".into()).unwrap();
        assert_eq!(
            decode_params::<()>("m", Some(&one)).unwrap_err().code,
            RpcError::INVALID_PARAMS
        );
    }

    #[test]
    fn tuple_params_check_count_and_types() {
        let ok = RawValue::from_string(r#"[1,"a"]"#.into()).unwrap();
        assert_eq!(
            decode_params::<(u8, String)>("m", Some(&ok)).unwrap(),
            (1, "a".into())
        );
        for bad in ["[1]", r#"[1,"a",2]"#, r#"["x","a"]"#, "{}"] {
            let raw = RawValue::from_string(bad.into()).unwrap();
            let err = decode_params::<(u8, String)>("m", Some(&raw)).unwrap_err();
            assert_eq!(err.code, RpcError::INVALID_PARAMS, "{bad}");
        }
    }

    #[test]
    fn unit_params_encode_as_empty_list() {
        assert_eq!(encode_params(&()).unwrap().get(), "[]");
        assert_eq!(encode_params(&(1, "a")).unwrap().get(), r#"[1,"a"]"#);
    }

    #[test]
    fn responses_echo_the_id_verbatim() {
        let id = RawValue::from_string(r#""abc""#.into()).unwrap();
        let result = RawValue::from_string("null".into()).unwrap();
        assert_eq!(
            response_string(Some(&id), Ok(&result)),
            r#"{"jsonrpc":"2.0","result":null,"id":"abc"}"#
        );
        let err = RpcError::method("boom");
        assert_eq!(
            response_string(None, Err(&err)),
            r#"{"jsonrpc":"2.0","error":{"code":1,"message":"boom"},"id":null}"#
        );
    }

    #[test]
    fn bodies_are_classified() {
        assert!(matches!(parse_body(b" [1,2]"), Ok(Body::Batch(v)) if v.len() == 2));
        assert_eq!(parse_body(b"{").err().unwrap().code, RpcError::PARSE_ERROR);
        assert_eq!(
            parse_body(b"42").err().unwrap().code,
            RpcError::INVALID_REQUEST
        );
        assert_eq!(
            parse_body(br#"{"method":5}"#).err().unwrap().code,
            RpcError::INVALID_REQUEST
        );
    }
}
