//! The JSON shapes of venus-auth's REST API, as the Go original (sophon-auth) writes them.
//!
//! Field names follow the original exactly (Go field names where it has no `json` tag), so
//! the original's Go clients can talk to our server and this client can talk to the original.
//! Requests accept the lower-case spellings too: Go decodes JSON keys case-insensitively.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use venus_rpc::Permission;

/// User state: 1 enabled, 2 disabled (0 in an update means "unchanged").
pub const STATE_ENABLED: i64 = 1;
pub const STATE_DISABLED: i64 = 2;

/// `POST /verify` answer: the token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub name: String,
    pub perm: Permission,
    #[serde(default)]
    pub ext: String,
}

/// `POST /verify` JSON body (`{"Token": …}` as current sophon-auth's client sends it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenBody {
    #[serde(rename = "Token", alias = "token")]
    pub token: String,
}

/// `POST /genToken` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenTokenRequest {
    #[serde(alias = "Name")]
    pub name: String,
    #[serde(alias = "Perm")]
    pub perm: String,
    #[serde(default, alias = "Extra")]
    pub extra: String,
}

/// `POST /genToken` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenTokenResponse {
    pub token: String,
}

/// One token as `GET /token(s)` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub token: String,
    pub name: String,
    pub perm: String,
    /// Never filled by the original either (it does not copy `extra` here).
    #[serde(default)]
    pub custom: String,
    #[serde(rename = "createTime")]
    pub create_time: DateTime<Utc>,
}

/// A user as the API returns it; times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputUser {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub comment: String,
    pub state: i64,
    #[serde(rename = "createTime")]
    pub create_time: i64,
    #[serde(rename = "updateTime")]
    pub update_time: i64,
}

impl OutputUser {
    pub fn is_enabled(&self) -> bool {
        self.state == STATE_ENABLED
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputMiner {
    pub miner: String,
    pub user: String,
    pub open_mining: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputSigner {
    pub signer: String,
    pub user: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /user/new` and `POST /user/update` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateUserRequest {
    #[serde(rename = "Name", alias = "name")]
    pub name: String,
    #[serde(
        rename = "Comment",
        alias = "comment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    #[serde(rename = "State", alias = "state", default)]
    pub state: i64,
}

/// `{"Name": …}` bodies (`/user/del`, `/user/recover`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NameBody {
    #[serde(rename = "Name", alias = "name")]
    pub name: String,
}

/// `POST /user/verify` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamesBody {
    #[serde(rename = "Names", alias = "names")]
    pub names: Vec<String>,
}

/// `POST /user/miner/add` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpsertMinerRequest {
    #[serde(rename = "User", alias = "user")]
    pub user: String,
    #[serde(rename = "Miner", alias = "miner")]
    pub miner: String,
    #[serde(
        rename = "OpenMining",
        alias = "openMining",
        alias = "open_mining",
        default = "yes"
    )]
    pub open_mining: bool,
}

fn yes() -> bool {
    true
}

/// `POST /user/miner/del` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MinerBody {
    #[serde(rename = "miner", alias = "Miner")]
    pub miner: String,
}

/// `POST /signer/del` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignerBody {
    #[serde(rename = "signer", alias = "Signer")]
    pub signer: String,
}

/// `POST /user/signer/register|unregister` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignersRequest {
    #[serde(rename = "User", alias = "user")]
    pub user: String,
    #[serde(rename = "Signers", alias = "signers")]
    pub signers: Vec<String>,
}

/// A per-user request limit: at most `Cap` requests per `ResetDur` (nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqLimit {
    #[serde(rename = "Cap")]
    pub cap: i64,
    #[serde(rename = "ResetDur")]
    pub reset_dur: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRateLimit {
    #[serde(rename = "Id", alias = "id", default)]
    pub id: String,
    #[serde(rename = "Name", alias = "name")]
    pub name: String,
    #[serde(rename = "Service", alias = "service", default)]
    pub service: String,
    #[serde(rename = "API", alias = "api", default)]
    pub api: String,
    #[serde(rename = "ReqLimit", alias = "reqLimit")]
    pub req_limit: ReqLimit,
}

/// `POST /user/ratelimit/del` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DelRateLimitRequest {
    #[serde(rename = "Name", alias = "name")]
    pub name: String,
    #[serde(rename = "Id", alias = "id")]
    pub id: String,
}

/// The error body of every non-200 answer: `{"error": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// `GET /version` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionResponse {
    #[serde(rename = "Version")]
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_go_and_lower_case_keys() {
        let a: UpsertMinerRequest =
            serde_json::from_str(r#"{"user":"u","miner":"f01000","openMining":false}"#).unwrap();
        let b: UpsertMinerRequest =
            serde_json::from_str(r#"{"User":"u","Miner":"f01000"}"#).unwrap();
        assert_eq!((a.user.as_str(), a.open_mining), ("u", false));
        assert!(
            b.open_mining,
            "OpenMining defaults to true as in the original"
        );
        let t: TokenBody = serde_json::from_str(r#"{"Token":"x"}"#).unwrap();
        assert_eq!(t.token, "x");
    }

    #[test]
    fn outputs_use_the_original_field_names() {
        let m = OutputMiner {
            miner: "f01000".into(),
            user: "u".into(),
            open_mining: true,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            updated_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["Miner"], "f01000");
        assert_eq!(v["OpenMining"], true);
        assert_eq!(v["CreatedAt"], "1970-01-01T00:00:00Z");
    }
}
