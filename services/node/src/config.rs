//! `<repo>/config.json`, read as venus reads it: start from the defaults and unmarshal the
//! file over them, so a partial file such as the seed's
//! `{"api":{"apiAddress":"/ip4/0.0.0.0/tcp/3453"}}` is valid. Written with tab indentation.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::network::{Network, from_network_type};

pub const DEFAULT_API_ADDRESS: &str = "/ip4/127.0.0.1/tcp/3453";
/// venus's default libp2p listen address: every interface, a port the kernel picks.
pub const DEFAULT_SWARM_ADDRESS: &str = "/ip4/0.0.0.0/tcp/0";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub api: ApiConfig,
    pub bootstrap: BootstrapConfig,
    pub datastore: DatastoreConfig,
    pub mpool: MpoolConfig,
    pub parameters: ParametersConfig,
    pub observability: ObservabilityConfig,
    pub swarm: SwarmConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ApiConfig {
    #[serde(rename = "venusAuthURL")]
    pub venus_auth_url: String,
    pub venus_auth_token: String,
    pub api_address: String,
    pub access_control_allow_origin: Vec<String>,
    pub access_control_allow_credentials: bool,
    pub access_control_allow_methods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapConfig {
    pub addresses: Vec<String>,
    pub period: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatastoreConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MpoolConfig {
    pub max_nonce_gap: u64,
    /// A FIL amount as venus writes it, e.g. `"10 FIL"`.
    pub max_fee: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ParametersConfig {
    /// venus `types.NetworkType`: 1 mainnet, 2 2k, 4 calibnet, 5 nerpa, 6 interop, 7 force,
    /// 8 butterfly. 0 until the repo is initialised.
    pub network_type: u8,
    pub allowable_clock_drift_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ObservabilityConfig {
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MetricsConfig {
    pub prometheus_enabled: bool,
    pub report_interval: String,
    pub prometheus_endpoint: String,
}

/// venus's `swarm` section: the libp2p listen address, peers the connection manager never
/// trims, and its water marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SwarmConfig {
    pub address: String,
    #[serde(
        rename = "public_relay_address",
        skip_serializing_if = "String::is_empty"
    )]
    pub public_relay_address: String,
    pub protected_peers: Vec<String>,
    pub conn_mgr_low: u32,
    pub conn_mgr_high: u32,
    pub conn_mgr_grace: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            venus_auth_url: String::new(),
            venus_auth_token: String::new(),
            api_address: DEFAULT_API_ADDRESS.to_owned(),
            access_control_allow_origin: vec![
                "http://localhost:8080".into(),
                "https://localhost:8080".into(),
                "http://127.0.0.1:8080".into(),
                "https://127.0.0.1:8080".into(),
            ],
            access_control_allow_credentials: false,
            access_control_allow_methods: vec!["GET".into(), "POST".into(), "PUT".into()],
        }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            addresses: Vec::new(),
            period: "1m".into(),
        }
    }
}

impl Default for DatastoreConfig {
    fn default() -> Self {
        Self {
            kind: "redb".into(),
            path: "chain".into(),
        }
    }
}

impl Default for MpoolConfig {
    fn default() -> Self {
        Self {
            max_nonce_gap: 100,
            max_fee: "10 FIL".into(),
        }
    }
}

impl Default for ParametersConfig {
    fn default() -> Self {
        Self {
            network_type: 0,
            allowable_clock_drift_secs: 1,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            prometheus_enabled: false,
            report_interval: "5s".into(),
            prometheus_endpoint: "/ip4/0.0.0.0/tcp/9400".into(),
        }
    }
}

impl Default for SwarmConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_SWARM_ADDRESS.into(),
            public_relay_address: String::new(),
            protected_peers: Vec::new(),
            conn_mgr_low: 150,
            conn_mgr_high: 180,
            conn_mgr_grace: "20s".into(),
        }
    }
}

/// A config file that could not be used; every message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("invalid config: api.apiAddress {value:?}: {reason}")]
    ApiAddress { value: String, reason: String },
    #[error("invalid config: parameters.networkType {0} is not a known network")]
    NetworkType(u8),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Config {
    /// Defaults overlaid with the file; the result is validated.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let cfg: Config = serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_listen_multiaddr(&self.api.api_address)?;
        if self.parameters.network_type != 0
            && from_network_type(self.parameters.network_type).is_none()
        {
            return Err(ConfigError::NetworkType(self.parameters.network_type));
        }
        Ok(())
    }

    /// The network recorded at init, if any.
    pub fn network(&self) -> Option<Network> {
        from_network_type(self.parameters.network_type)
    }

    /// Write atomically (temp file + rename), tab-indented as venus does; mode 0600: it
    /// holds the venus-auth token (`auth.token`).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |source| ConfigError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        self.serialize(&mut ser)
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        out.push(b'\n');
        venus_rpc::process::write_private(path, &out).map_err(err)
    }
}

/// `api.apiAddress` (a multiaddr as the other services' `--listen`) → the socket address to bind.
pub fn parse_listen_multiaddr(value: &str) -> Result<SocketAddr, ConfigError> {
    // venus writes and reads this field as a multiaddr only; `host:port` is not accepted.
    if !value.starts_with('/') {
        return Err(ConfigError::ApiAddress {
            value: value.to_owned(),
            reason: "expected a multiaddr such as /ip4/127.0.0.1/tcp/3453".into(),
        });
    }
    venus_rpc::process::parse_listen(value).map_err(|e| ConfigError::ApiAddress {
        value: e.addr,
        reason: e.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_seed_file_overlays_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{ "api": { "apiAddress": "/ip4/0.0.0.0/tcp/3453" } }"#,
        )
        .expect("write");
        let cfg = Config::load(&path).expect("load");
        assert_eq!(cfg.api.api_address, "/ip4/0.0.0.0/tcp/3453");
        assert_eq!(cfg.mpool.max_nonce_gap, 100);
        assert_eq!(
            parse_listen_multiaddr(&cfg.api.api_address).expect("addr"),
            "0.0.0.0:3453".parse().expect("literal")
        );
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{ "api": { "apiAddress": "localhost:3453" } }"#).expect("write");
        let err = Config::load(&path).expect_err("must fail").to_string();
        assert!(err.contains("api.apiAddress"), "{err}");
        std::fs::write(&path, r#"{ "api": { "apiAddress": 5 } }"#).expect("write");
        let err = Config::load(&path).expect_err("must fail").to_string();
        assert!(err.contains("config.json"), "{err}");
        std::fs::write(&path, r#"{ "parameters": { "networkType": 42 } }"#).expect("write");
        assert!(matches!(
            Config::load(&path),
            Err(ConfigError::NetworkType(42))
        ));
    }

    #[test]
    fn save_then_load_round_trips_with_tabs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        let mut cfg = Config::default();
        cfg.parameters.network_type = 2;
        cfg.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("\n\t\"api\""));
        assert_eq!(Config::load(&path).expect("load"), cfg);
    }

    #[cfg(unix)]
    #[test]
    fn the_config_holding_the_auth_token_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{}").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let mut cfg = Config::default();
        cfg.api.venus_auth_token = "secret-token".into();
        cfg.save(&path).expect("save");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
