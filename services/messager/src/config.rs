//! `config.toml` with the original's sections, keys and defaults (sophon-messager
//! `config/config.go`), the `run` flags merged over it, and validation into what the
//! service uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use venus_goconf::parse_go_duration;

pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/39812";
pub const CONFIG_FILE: &str = "config.toml";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub api: ApiConfig,
    pub db: DbConfig,
    pub jwt: JwtConfig,
    pub node: NodeConfig,
    pub gateway: GatewayConfig,
    #[serde(rename = "messageService")]
    pub message_service: MessageServiceConfig,
    pub publisher: PublisherConfig,
    pub log: LogConfig,
    /// Primary/standby: the Kubernetes Lease the operator renders (the `VENUS_LEASE_*`
    /// environment decides; these keys are informative).
    pub ha: HaConfig,
    /// Sections the original has that this implementation accepts and ignores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub libp2p: Option<toml::Value>,
    #[serde(rename = "rateLimit", skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<toml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<toml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<toml::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    #[serde(rename = "Address")]
    pub address: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            address: DEFAULT_LISTEN.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DbConfig {
    #[serde(rename = "type")]
    pub kind: String,
    pub mysql: MysqlConfig,
    pub sqlite: SqliteConfig,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            kind: "sqlite".into(),
            mysql: MysqlConfig::default(),
            sqlite: SqliteConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MysqlConfig {
    #[serde(rename = "connectionString")]
    pub connection_string: String,
    #[serde(rename = "maxOpenConn")]
    pub max_open_conn: u32,
    #[serde(rename = "maxIdleConn")]
    pub max_idle_conn: u32,
    #[serde(rename = "connMaxLifeTime")]
    pub conn_max_life_time: String,
    pub debug: bool,
}

impl Default for MysqlConfig {
    fn default() -> Self {
        Self {
            connection_string: String::new(),
            max_open_conn: 10,
            max_idle_conn: 10,
            conn_max_life_time: "1m0s".into(),
            debug: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SqliteConfig {
    pub debug: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtConfig {
    #[serde(rename = "authURL")]
    pub auth_url: String,
    pub token: String,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            auth_url: "http://127.0.0.1:8989".into(),
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeConfig {
    pub url: String,
    pub token: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            url: "/ip4/127.0.0.1/tcp/3453".into(),
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    pub url: Vec<String>,
    pub token: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            url: vec!["/ip4/127.0.0.1/tcp/45132".into()],
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageServiceConfig {
    #[serde(rename = "WaitingChainHeadStableDuration")]
    pub waiting_chain_head_stable_duration: String,
    #[serde(rename = "DefaultTimeout")]
    pub default_timeout: String,
    #[serde(rename = "SignMessageTimeout")]
    pub sign_message_timeout: String,
    #[serde(rename = "EstimateMessageTimeout")]
    pub estimate_message_timeout: String,
    #[serde(rename = "skipProcessHead")]
    pub skip_process_head: bool,
    #[serde(rename = "skipPushMessage")]
    pub skip_push_message: bool,
    /// Not in the original: a Fill message still off chain this many epochs after it was
    /// signed is re-priced (premium ×1.25 and more) and re-signed; 0 turns it off.
    #[serde(rename = "replaceStuckAfterEpochs")]
    pub replace_stuck_after_epochs: u64,
    /// Not in the original: how often every node's head is checked for failover.
    #[serde(rename = "nodeHealthInterval")]
    pub node_health_interval: String,
}

impl Default for MessageServiceConfig {
    fn default() -> Self {
        Self {
            waiting_chain_head_stable_duration: "8s".into(),
            default_timeout: "1s".into(),
            sign_message_timeout: "3s".into(),
            estimate_message_timeout: "30s".into(),
            skip_process_head: false,
            skip_push_message: false,
            replace_stuck_after_epochs: 0,
            node_health_interval: "2s".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PublisherConfig {
    pub concurrency: u32,
    #[serde(rename = "cacheReleasePeriod")]
    pub cache_release_period: i64,
    #[serde(rename = "enablePubsub")]
    pub enable_pubsub: bool,
    #[serde(rename = "enableMultiNode")]
    pub enable_multi_node: bool,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        Self {
            concurrency: 5,
            cache_release_period: 0,
            enable_pubsub: false,
            enable_multi_node: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub level: String,
    pub path: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            path: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HaConfig {
    #[serde(rename = "leaseName")]
    pub lease_name: String,
    #[serde(rename = "leaseNamespace")]
    pub lease_namespace: String,
}

/// The database to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Mysql(String),
}

/// Timings of the service loops, validated.
#[derive(Debug, Clone)]
pub struct Timings {
    pub head_stable: Duration,
    pub default_timeout: Duration,
    pub sign_timeout: Duration,
    pub estimate_timeout: Duration,
    pub node_health_interval: Duration,
}

impl Config {
    /// `<repo>/config.toml` (defaults when absent) and whether it existed.
    pub fn load(repo: &Path) -> anyhow::Result<(Self, bool)> {
        let path = repo.join(CONFIG_FILE);
        if !path.exists() {
            return Ok((Self::default(), false));
        }
        Ok((Self::load_file(&path)?, true))
    }

    /// A config file given with `--config`: it must exist.
    pub fn load_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
    }

    pub fn save(&self, repo: &Path) -> anyhow::Result<()> {
        let path = repo.join(CONFIG_FILE);
        let text = toml::to_string_pretty(self).context("encoding config")?;
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    }

    pub fn listen(&self) -> anyhow::Result<SocketAddr> {
        venus_rpc::process::parse_listen(&self.api.address)
            .map_err(|e| anyhow::anyhow!("[api] Address {:?}: {e}", self.api.address))
    }

    pub fn db_target(&self, repo: &Path) -> anyhow::Result<DbTarget> {
        match self.db.kind.as_str() {
            "sqlite" | "" => Ok(DbTarget::Sqlite(repo.join(crate::store::SQLITE_FILE))),
            "mysql" => {
                let dsn = self.db.mysql.connection_string.trim();
                if dsn.is_empty() {
                    bail!(
                        "[db] type is mysql but [db.mysql] connectionString is empty (give --mysql-dsn)"
                    );
                }
                Ok(DbTarget::Mysql(dsn.to_owned()))
            }
            other => bail!("[db] type {other:?} is not sqlite or mysql"),
        }
    }

    pub fn timings(&self) -> anyhow::Result<Timings> {
        let ms = &self.message_service;
        let d = |key: &str, v: &str| {
            parse_go_duration(v).map_err(|e| anyhow::anyhow!("[messageService] {key}: {e}"))
        };
        Ok(Timings {
            head_stable: d(
                "WaitingChainHeadStableDuration",
                &ms.waiting_chain_head_stable_duration,
            )?,
            default_timeout: d("DefaultTimeout", &ms.default_timeout)?,
            sign_timeout: d("SignMessageTimeout", &ms.sign_message_timeout)?,
            estimate_timeout: d("EstimateMessageTimeout", &ms.estimate_message_timeout)?,
            node_health_interval: d("nodeHealthInterval", &ms.node_health_interval)?
                .max(Duration::from_millis(200)),
        })
    }

    /// Everything `run` needs, checked once with errors naming the key.
    pub fn validate(&self, repo: &Path) -> anyhow::Result<()> {
        self.listen()?;
        self.db_target(repo)?;
        self.timings()?;
        if self.node.url.trim().is_empty() {
            bail!("[node] url is empty (give --node-url)");
        }
        if self.gateway.url.iter().all(|u| u.trim().is_empty()) {
            bail!("[gateway] url is empty (give --gateway-url)");
        }
        venus_auth_client::parse_auth_addr(&self.jwt.auth_url)
            .map_err(|e| anyhow::anyhow!("[jwt] authURL {:?}: {e}", self.jwt.auth_url))?;
        Ok(())
    }

    pub fn ignored_sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.libp2p.is_some() {
            out.push("libp2p");
        }
        if self.rate_limit.is_some() {
            out.push("rateLimit");
        }
        if self.tracing.is_some() {
            out.push("tracing");
        }
        if self.metrics.is_some() {
            out.push("metrics (Prometheus is always on /metrics)");
        }
        if self.publisher.enable_pubsub {
            out.push("publisher.enablePubsub");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_config_parses() {
        let text = r#"
[api]
  Address = "/ip4/0.0.0.0/tcp/39812"
[db]
  type = "mysql"
  [db.mysql]
    connectionString = "u:p@(127.0.0.1:3306)/venus_messager?parseTime=true&loc=Local"
    maxOpenConn = 10
    connMaxLifeTime = "1m0s"
[jwt]
  authURL = "http://127.0.0.1:8989"
[node]
  url = "/ip4/127.0.0.1/tcp/3453"
[gateway]
  url = ["/ip4/127.0.0.1/tcp/45132"]
[messageService]
  WaitingChainHeadStableDuration = "2s"
  skipPushMessage = false
[publisher]
  concurrency = 5
[rateLimit]
  redis = ""
[ha]
  leaseName = "cs-messager"
  leaseNamespace = "venus"
"#;
        let cfg: Config = toml::from_str(text).expect("parses");
        let repo = Path::new("/tmp/x");
        cfg.validate(repo).expect("valid");
        assert!(matches!(
            cfg.db_target(repo).expect("db"),
            DbTarget::Mysql(_)
        ));
        assert_eq!(
            cfg.timings().expect("t").head_stable,
            Duration::from_secs(2)
        );
        assert_eq!(cfg.ha.lease_name, "cs-messager");
        assert_eq!(cfg.ignored_sections(), vec!["rateLimit"]);
    }

    #[test]
    fn bad_values_name_the_key() {
        let mut cfg = Config::default();
        cfg.db.kind = "postgres".into();
        let e = cfg
            .validate(Path::new("/r"))
            .expect_err("bad db")
            .to_string();
        assert!(e.contains("postgres"), "{e}");
        let mut cfg = Config::default();
        cfg.message_service.sign_message_timeout = "soon".into();
        let e = cfg.validate(Path::new("/r")).expect_err("bad").to_string();
        assert!(e.contains("SignMessageTimeout"), "{e}");
        let mut cfg = Config::default();
        cfg.db.kind = "mysql".into();
        let e = cfg
            .validate(Path::new("/r"))
            .expect_err("no dsn")
            .to_string();
        assert!(e.contains("connectionString"), "{e}");
    }
}
