//! `<repo>/config.toml` (venus-wallet's Go field names) merged with the `run` flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keystore::KdfParams;
use crate::policy::{SignPolicy, chain_service_types};

pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/5678/http";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    #[serde(rename = "API")]
    pub api: ApiSection,
    #[serde(rename = "JWT")]
    pub jwt: JwtSection,
    #[serde(rename = "Factor")]
    pub factor: FactorSection,
    #[serde(rename = "APIRegisterHub")]
    pub hub: HubSection,
    /// Accepted for compatibility; the script sign filter is not implemented (README Limits).
    #[serde(rename = "SignFilter", skip_serializing_if = "Option::is_none")]
    pub sign_filter: Option<toml::Table>,
    /// Accepted for compatibility; keys live in `<repo>/keystore/`, not SQLite.
    #[serde(rename = "DB", skip_serializing_if = "Option::is_none")]
    pub db: Option<toml::Table>,
    #[serde(rename = "SignRecorder", skip_serializing_if = "Option::is_none")]
    pub sign_recorder: Option<toml::Table>,
    #[serde(rename = "SignPolicy")]
    pub sign_policy: SignPolicySection,
}

/// Which `MsgMeta` types the wallet signs (this project's section; venus-wallet has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignPolicySection {
    /// venus msg type names; default the chain service's: `message`, `block`,
    /// `drawrandomparam`, `verifyaddress`. Add `unknown` to sign raw bytes.
    #[serde(rename = "AllowedTypes")]
    pub allowed_types: Vec<String>,
}

impl Default for SignPolicySection {
    fn default() -> Self {
        Self {
            allowed_types: chain_service_types(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSection {
    #[serde(rename = "ListenAddress")]
    pub listen_address: String,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen_address: DEFAULT_LISTEN.into(),
        }
    }
}

/// The secret of the wallet's own API tokens (hex), generated on first start.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtSection {
    #[serde(rename = "Secret")]
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FactorSection {
    /// scrypt N (a power of two; venus-wallet's default 2^18).
    #[serde(rename = "ScryptN")]
    pub scrypt_n: u64,
    #[serde(rename = "ScryptP")]
    pub scrypt_p: u32,
}

impl Default for FactorSection {
    fn default() -> Self {
        Self {
            scrypt_n: 1 << 18,
            scrypt_p: 1,
        }
    }
}

/// Gateways to register with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HubSection {
    #[serde(rename = "RegisterAPI")]
    pub register_api: Vec<String>,
    #[serde(rename = "Token")]
    pub token: String,
    #[serde(rename = "SupportAccounts")]
    pub support_accounts: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid wallet config: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("[Factor] ScryptN = {0} must be a power of two between 2^4 and 2^30")]
    ScryptN(u64),
    #[error(
        "gateway token not set: --gateway-api needs --gateway-token (or [APIRegisterHub] Token)"
    )]
    NoGatewayToken,
    #[error("{0}")]
    SignPolicy(String),
}

impl Config {
    pub fn load(repo: &Path) -> Result<(Self, bool), ConfigError> {
        let path = repo.join("config.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })?,
                true,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Self::default(), false)),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    pub fn save(&self, repo: &Path) -> Result<(), ConfigError> {
        let path = repo.join("config.toml");
        // Plain structs of strings and numbers always serialise.
        let text = toml::to_string_pretty(self).unwrap_or_default();
        // The file holds the API secret and the gateway token.
        venus_rpc::process::write_private(&path, text.as_bytes())
            .map_err(|source| ConfigError::Write { path, source })
    }

    pub fn kdf(&self) -> Result<KdfParams, ConfigError> {
        let n = self.factor.scrypt_n;
        if !n.is_power_of_two() || !(16..=1 << 30).contains(&n) {
            return Err(ConfigError::ScryptN(n));
        }
        // A power of two up to 2^30: its log fits in a u8.
        let log_n = u8::try_from(n.trailing_zeros()).unwrap_or(18);
        Ok(KdfParams {
            log_n,
            r: 8,
            p: self.factor.scrypt_p.max(1),
        })
    }

    /// The sign policy of `[SignPolicy]`.
    pub fn sign_policy(&self) -> Result<SignPolicy, ConfigError> {
        SignPolicy::new(&self.sign_policy.allowed_types).map_err(ConfigError::SignPolicy)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.kdf()?;
        self.sign_policy()?;
        if !self.hub.register_api.is_empty() && self.hub.token.is_empty() {
            return Err(ConfigError::NoGatewayToken);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_venus_wallet_config_and_checks_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("config.toml"),
            "[API]\nListenAddress = \"/ip4/127.0.0.1/tcp/5679/http\"\n[Factor]\nScryptN = 1024\nScryptP = 1\n\
             [APIRegisterHub]\nRegisterAPI = [\"/ip4/127.0.0.1/tcp/45132\"]\nToken = \"\"\nSupportAccounts = [\"u1\"]\n\
             [SignFilter]\nExpr = \"\"\n",
        )
        .expect("write");
        let (cfg, existed) = Config::load(dir.path()).expect("load");
        assert!(existed);
        assert_eq!(cfg.kdf().expect("kdf").log_n, 10);
        assert!(matches!(cfg.validate(), Err(ConfigError::NoGatewayToken)));
        let mut bad = cfg.clone();
        bad.factor.scrypt_n = 1000;
        assert!(
            bad.kdf()
                .expect_err("not a power of two")
                .to_string()
                .contains("ScryptN = 1000")
        );
    }

    #[test]
    fn sign_policy_defaults_to_the_chain_services_types_and_checks_names() {
        use venus_types::MsgType;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), "[API]\n").expect("write");
        let (cfg, _) = Config::load(dir.path()).expect("load");
        let policy = cfg.sign_policy().expect("default policy");
        assert!(policy.allows(&MsgType::ChainMsg) && policy.allows(&MsgType::Block));
        assert!(
            !policy.allows(&MsgType::Unknown),
            "raw bytes are off by default"
        );
        std::fs::write(
            dir.path().join("config.toml"),
            "[SignPolicy]\nAllowedTypes = [\"message\", \"unknown\"]\n",
        )
        .expect("write");
        let (cfg, _) = Config::load(dir.path()).expect("load");
        assert!(cfg.sign_policy().expect("policy").allows(&MsgType::Unknown));
        std::fs::write(
            dir.path().join("config.toml"),
            "[SignPolicy]\nAllowedTypes = [\"mesage\"]\n",
        )
        .expect("write");
        let (cfg, _) = Config::load(dir.path()).expect("load");
        assert!(
            cfg.validate()
                .expect_err("typo")
                .to_string()
                .contains("mesage")
        );
    }

    #[test]
    fn defaults_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = Config::default();
        cfg.save(dir.path()).expect("save");
        assert_eq!(Config::load(dir.path()).expect("load"), (cfg, true));
        assert_eq!(Config::default().kdf().expect("kdf").log_n, 18);
    }
}
