//! JSON-RPC error objects, with the codes and texts go-jsonrpc uses.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::perm::Permission;

/// A JSON-RPC error object: `{"code", "message", "data"?}`.
///
/// Errors a handler returns travel to the caller as-is; go-jsonrpc gives every error a method
/// returns code [`RpcError::METHOD_ERROR`] (1), and so do the helpers here unless a handler
/// picks another code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// The body was not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON but not a JSON-RPC request (also: body too large).
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method, or a channel method called without channel support.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Wrong parameter count or types.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The server failed in a way that is not the method's own error.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// What go-jsonrpc sends for any error a method returns.
    pub const METHOD_ERROR: i64 = 1;

    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// A method's own failure (code 1, as go-jsonrpc).
    pub fn method(message: impl fmt::Display) -> Self {
        Self::new(Self::METHOD_ERROR, message.to_string())
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn parse(detail: impl fmt::Display) -> Self {
        Self::new(Self::PARSE_ERROR, format!("unmarshaling request: {detail}"))
    }

    pub fn invalid_request(detail: impl fmt::Display) -> Self {
        Self::new(Self::INVALID_REQUEST, detail.to_string())
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            Self::METHOD_NOT_FOUND,
            format!("method '{method}' not found"),
        )
    }

    pub fn invalid_params(method: &str, detail: impl fmt::Display) -> Self {
        Self::new(
            Self::INVALID_PARAMS,
            format!("unmarshaling params for '{method}': {detail}"),
        )
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(Self::INTERNAL_ERROR, detail.to_string())
    }

    /// venus's permission error, word for word (including the two spaces); `method` is the
    /// name without its namespace, as the originals print it.
    pub fn missing_permission(method: &str, need: Permission) -> Self {
        let short = method.rsplit_once('.').map_or(method, |(_, m)| m);
        Self::method(format!(
            "missing permission to invoke '{short}'  (need '{need}')"
        ))
    }

    /// go-jsonrpc's answer when a channel method is called over plain HTTP.
    pub fn no_channel_support(method: &str) -> Self {
        Self::new(
            Self::METHOD_NOT_FOUND,
            format!("method '{method}' not supported in this mode (no out channel support)"),
        )
    }

    /// Whether this is one of JSON-RPC's protocol errors rather than a method's own.
    pub fn is_protocol_error(&self) -> bool {
        (-32768..=-32000).contains(&self.code)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_error_matches_venus_text() {
        let e = RpcError::missing_permission("Gateway.WalletSign", Permission::Admin);
        assert_eq!(e.code, 1);
        assert_eq!(
            e.message,
            "missing permission to invoke 'WalletSign'  (need 'admin')"
        );
    }

    #[test]
    fn serialises_without_absent_data() {
        let e = RpcError::method_not_found("A.B");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":-32601,"message":"method 'A.B' not found"}"#
        );
        assert!(e.is_protocol_error());
        assert!(!RpcError::method("x").is_protocol_error());
    }
}
