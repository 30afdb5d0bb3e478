//! `<repo>/config.toml` with sophon-miner's sections and keys (`node/config/def.go`), or the
//! file given with `--config` (read only, e.g. a mounted ConfigMap), validated once.
//!
//! Keys are case-sensitive as the original's; an unknown key in a section this miner
//! implements is an error naming it. `[Tracing]`, `[Metrics]` and `[F3Node]` are accepted for
//! compatibility and ignored (metrics are served on the API port; see the README on F3).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use venus_goconf::parse_go_duration;

pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/12308";
/// Where the operator passes the shared admin token when the file carries none.
pub const ADMIN_TOKEN_ENV: &str = "VENUS_ADMIN_TOKEN";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Seconds to wait after the base's timestamp before mining on it.
    #[serde(rename = "PropagationDelaySecs")]
    pub propagation_delay_secs: u64,
    /// Per-miner limit for base info → ticket → election → proof (Go duration).
    #[serde(rename = "MinerOnceTimeout")]
    pub miner_once_timeout: String,
    /// Timeout of `MpoolSelects` in seconds; 0 = none.
    #[serde(rename = "MpoolSelectDelaySecs")]
    pub mpool_select_delay_secs: u64,
    #[serde(rename = "API")]
    pub api: ApiSection,
    #[serde(rename = "FullNode")]
    pub full_node: Endpoint,
    #[serde(rename = "Gateway")]
    pub gateway: GatewaySection,
    #[serde(rename = "Auth")]
    pub auth: Endpoint,
    #[serde(rename = "SubmitNodes", default, skip_serializing_if = "Vec::is_empty")]
    pub submit_nodes: Vec<Endpoint>,
    #[serde(rename = "SlashFilter")]
    pub slash_filter: SlashFilterSection,
    /// Primary/standby: the Kubernetes Lease the operator renders (the `VENUS_LEASE_*`
    /// environment decides; these keys document it in the file).
    #[serde(rename = "HA", skip_serializing_if = "Option::is_none")]
    pub ha: Option<HaSection>,
    #[serde(rename = "Recorder", skip_serializing_if = "Option::is_none")]
    pub recorder: Option<RecorderSection>,
    #[serde(rename = "Tracing", skip_serializing_if = "Option::is_none")]
    pub tracing: Option<toml::Table>,
    #[serde(rename = "Metrics", skip_serializing_if = "Option::is_none")]
    pub metrics: Option<toml::Table>,
    #[serde(rename = "F3Node", skip_serializing_if = "Option::is_none")]
    pub f3_node: Option<toml::Table>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            propagation_delay_secs: 12,
            miner_once_timeout: "15s".into(),
            mpool_select_delay_secs: 0,
            api: ApiSection::default(),
            full_node: Endpoint::default(),
            gateway: GatewaySection::default(),
            auth: Endpoint::default(),
            submit_nodes: Vec::new(),
            slash_filter: SlashFilterSection::default(),
            ha: None,
            recorder: None,
            tracing: None,
            metrics: None,
            f3_node: None,
        }
    }
}

/// `[Recorder]`: the mine recorder (`recorder.rs`); absent or `Enable = false` keeps it off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecorderSection {
    #[serde(rename = "Enable")]
    pub enable: bool,
    /// Records older than this many epochs below the newest are deleted (7 days of 30 s epochs).
    #[serde(rename = "ExpireEpoch")]
    pub expire_epoch: i64,
    /// The largest `Limit` a `QueryRecord` may ask for.
    #[serde(rename = "MaxRecordPerQuery")]
    pub max_record_per_query: u64,
}

impl Default for RecorderSection {
    fn default() -> Self {
        Self {
            enable: false,
            expire_epoch: 7 * 2880,
            max_record_per_query: 288,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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

/// `[FullNode]`, `[Auth]`, `[[SubmitNodes]]`: an address and its token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Endpoint {
    #[serde(rename = "Addr")]
    pub addr: String,
    #[serde(rename = "Token")]
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySection {
    #[serde(rename = "ListenAPI")]
    pub listen_api: Vec<String>,
    #[serde(rename = "Token")]
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SlashFilterType {
    #[default]
    #[serde(rename = "local")]
    Local,
    #[serde(rename = "mysql")]
    Mysql,
}

impl std::str::FromStr for SlashFilterType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(Self::Local),
            "mysql" => Ok(Self::Mysql),
            other => Err(format!(
                "unknown slash filter {other:?}: expected local or mysql"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlashFilterSection {
    #[serde(rename = "Type")]
    pub kind: SlashFilterType,
    #[serde(rename = "MySQL")]
    pub mysql: MysqlSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MysqlSection {
    /// Go driver DSN (`user:pw@tcp(host:port)/db?…`) or a `mysql://` URL.
    #[serde(rename = "Conn")]
    pub conn: String,
    #[serde(rename = "MaxOpenConn")]
    pub max_open_conn: u32,
    #[serde(rename = "MaxIdleConn")]
    pub max_idle_conn: u32,
    #[serde(rename = "ConnMaxLifeTime")]
    pub conn_max_life_time: String,
    #[serde(rename = "Debug")]
    pub debug: bool,
}

impl Default for MysqlSection {
    fn default() -> Self {
        Self {
            conn: String::new(),
            max_open_conn: 100,
            max_idle_conn: 10,
            conn_max_life_time: "1m0s".into(),
            debug: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaSection {
    #[serde(rename = "LeaseName")]
    pub lease_name: String,
    #[serde(rename = "LeaseNamespace")]
    pub lease_namespace: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid venus-miner config: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// What `run` needs, checked: every address parsed, every duration read.
#[derive(Debug, Clone)]
pub struct Checked {
    pub listen: SocketAddr,
    pub miner_once_timeout: Duration,
    pub propagation_delay: Duration,
    pub mpool_select_timeout: Option<Duration>,
}

impl Config {
    pub fn file(repo: &Path) -> PathBuf {
        repo.join("config.toml")
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Invalid(format!("encoding the config: {e}")))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| ConfigError::Write {
                path: path.to_owned(),
                source,
            })
    }

    /// Empty tokens of `[FullNode]`, `[Gateway]`, `[Auth]` and `[[SubmitNodes]]` take
    /// `token` (the operator's `VENUS_ADMIN_TOKEN`).
    pub fn fill_tokens(&mut self, token: &str) {
        for t in [
            &mut self.full_node.token,
            &mut self.gateway.token,
            &mut self.auth.token,
        ] {
            if t.is_empty() {
                *t = token.to_owned();
            }
        }
        for n in &mut self.submit_nodes {
            if n.token.is_empty() {
                n.token = token.to_owned();
            }
        }
    }

    /// sophon-miner's `config.Check`, plus parsing of what it leaves to run time.
    pub fn validate(&self) -> Result<Checked, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(m);
        let listen = venus_rpc::process::parse_listen(&self.api.listen_address)
            .map_err(|e| bad(format!("[API] ListenAddress: {e}")))?;
        if self.full_node.addr.trim().is_empty() {
            return Err(bad(
                "[FullNode] Addr is empty: set the node's API multiaddr".into(),
            ));
        }
        if self.full_node.token.trim().is_empty() {
            return Err(bad(format!(
                "[FullNode] Token is empty: set it, or pass the admin token in ${ADMIN_TOKEN_ENV}"
            )));
        }
        venus_auth_client::parse_auth_addr(&self.auth.addr)
            .map_err(|e| bad(format!("[Auth] Addr {:?}: {e}", self.auth.addr)))?;
        if self.gateway.listen_api.iter().all(|g| g.trim().is_empty()) {
            return Err(bad(
                "[Gateway] ListenAPI is empty: give at least one gateway multiaddr".into(),
            ));
        }
        if self.slash_filter.kind == SlashFilterType::Mysql
            && self.slash_filter.mysql.conn.trim().is_empty()
        {
            return Err(bad(
                "[SlashFilter] Type is mysql but [SlashFilter.MySQL] Conn is empty".into(),
            ));
        }
        if let Some(r) = self.recorder.as_ref().filter(|r| r.enable) {
            if r.expire_epoch <= 0 {
                return Err(bad(format!(
                    "[Recorder] ExpireEpoch must be above zero (got {})",
                    r.expire_epoch
                )));
            }
            if r.max_record_per_query == 0 {
                return Err(bad("[Recorder] MaxRecordPerQuery must be above zero".into()));
            }
        }
        let miner_once_timeout = parse_go_duration(&self.miner_once_timeout)
            .map_err(|e| bad(format!("MinerOnceTimeout: {e}")))?;
        if miner_once_timeout.is_zero() {
            return Err(bad("MinerOnceTimeout must be above zero".into()));
        }
        Ok(Checked {
            listen,
            miner_once_timeout,
            propagation_delay: Duration::from_secs(self.propagation_delay_secs),
            mpool_select_timeout: (self.mpool_select_delay_secs > 0)
                .then(|| Duration::from_secs(self.mpool_select_delay_secs)),
        })
    }

    /// Sections read for compatibility only.
    pub fn ignored_sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        for (name, present) in [
            ("Tracing", self.tracing.is_some()),
            ("F3Node", self.f3_node.is_some()),
        ] {
            if present {
                out.push(name);
            }
        }
        out
    }
}

/// PropagationDelaySecs for a network's block delay, as `init` sets it: 30 → 12, 4 → 1,
/// otherwise half the delay.
pub fn propagation_delay_for(block_delay_secs: u64) -> u64 {
    match block_delay_secs {
        30 => 12,
        4 => 1,
        d => d / 2,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn valid() -> Config {
        Config {
            full_node: Endpoint {
                addr: "/ip4/127.0.0.1/tcp/3453".into(),
                token: "t".into(),
            },
            gateway: GatewaySection {
                listen_api: vec!["/ip4/127.0.0.1/tcp/45132".into()],
                token: "t".into(),
            },
            auth: Endpoint {
                addr: "http://127.0.0.1:8989".into(),
                token: "t".into(),
            },
            ..Config::default()
        }
    }

    #[test]
    fn a_saved_config_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let mut c = valid();
        c.submit_nodes.push(Endpoint {
            addr: "/ip4/127.0.0.1/tcp/3454".into(),
            token: "x".into(),
        });
        c.save(&path).unwrap();
        assert_eq!(Config::load_file(&path).unwrap(), c);
    }

    #[test]
    fn the_operators_rendered_file_is_accepted() {
        let text = r#"
[API]
ListenAddress = "/ip4/0.0.0.0/tcp/12308"
[FullNode]
Addr = "/dns/cs-node/tcp/3453"
[Gateway]
ListenAPI = ["/dns/cs-gateway-0.cs-gateway-hl/tcp/45132"]
[Auth]
Addr = "http://cs-auth:8989"
[SlashFilter]
Type = "local"
[HA]
LeaseName = "cs-miner"
LeaseNamespace = "ns"
"#;
        let mut c = Config::parse(text, Path::new("x")).unwrap();
        assert!(c.validate().is_err(), "no token yet");
        c.fill_tokens("admin");
        let checked = c.validate().unwrap();
        assert_eq!(checked.listen.port(), 12308);
        assert_eq!(c.auth.token, "admin");
        assert_eq!(checked.miner_once_timeout, Duration::from_secs(15));
    }

    #[test]
    fn the_recorder_section_is_read_and_checked() {
        let base = "[FullNode]\nAddr = \"/ip4/127.0.0.1/tcp/3453\"\nToken = \"t\"\n[Gateway]\nListenAPI = [\"/ip4/127.0.0.1/tcp/45132\"]\n[Auth]\nAddr = \"http://127.0.0.1:8989\"\n";
        let c = Config::parse(
            &format!("{base}[Recorder]\nEnable = true\n"),
            Path::new("c"),
        )
        .unwrap();
        let r = c.recorder.clone().unwrap();
        assert!(r.enable);
        assert_eq!((r.expire_epoch, r.max_record_per_query), (7 * 2880, 288));
        c.validate().unwrap();
        let c = Config::parse(
            &format!("{base}[Recorder]\nEnable = true\nExpireEpoch = 0\n"),
            Path::new("c"),
        )
        .unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("[Recorder] ExpireEpoch"), "{err}");
        let err = Config::parse(
            &format!("{base}[Recorder]\nEnabled = true\n"),
            Path::new("c"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Enabled"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_it() {
        let err = Config::parse("[FullNode]\nAdress = \"x\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Adress"), "{err}");
    }

    #[test]
    fn validation_names_what_is_missing() {
        let mut c = valid();
        c.gateway.listen_api.clear();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("[Gateway] ListenAPI")
        );
        let mut c = valid();
        c.slash_filter.kind = SlashFilterType::Mysql;
        assert!(c.validate().unwrap_err().to_string().contains("Conn"));
        let mut c = valid();
        c.miner_once_timeout = "fast".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("MinerOnceTimeout")
        );
    }

    #[test]
    fn propagation_delay_follows_the_block_delay() {
        assert_eq!(propagation_delay_for(30), 12);
        assert_eq!(propagation_delay_for(4), 1);
        assert_eq!(propagation_delay_for(6), 3);
    }
}
