//! `<repo>/config.toml` (Go field names, as sophon-gateway's) or the file given with
//! `--config`, merged with the `run` flags, validated once.
//!
//! Keys are case-sensitive (as the original's go-toml). An unknown key in a section this
//! gateway implements is an error naming it, so a misspelt key cannot silently fall back to a
//! default; the sections it only accepts for compatibility (`[Metrics]`, `[Trace]`,
//! `[RateLimit]`) take anything.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/45132";
pub const DEFAULT_AUTH_URL: &str = "http://127.0.0.1:8989";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    #[serde(rename = "API")]
    pub api: ApiSection,
    #[serde(rename = "Auth")]
    pub auth: AuthSection,
    #[serde(rename = "Request")]
    pub request: RequestSection,
    /// Accepted for compatibility with sophon-gateway config files; this gateway serves
    /// `/metrics` on the API port and has no separate exporter.
    #[serde(rename = "Metrics", skip_serializing_if = "Option::is_none")]
    pub metrics: Option<toml::Table>,
    /// Accepted for compatibility; Jaeger tracing is not implemented (see README Limits).
    #[serde(rename = "Trace", skip_serializing_if = "Option::is_none")]
    pub trace: Option<toml::Table>,
    #[serde(rename = "RateLimit", skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<toml::Table>,
    /// Targets of the header reverse proxy (multiaddr or URL), see [`crate::proxy`].
    #[serde(rename = "Node", skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(rename = "Messager", skip_serializing_if = "Option::is_none")]
    pub messager: Option<String>,
    #[serde(rename = "Miner", skip_serializing_if = "Option::is_none")]
    pub miner: Option<String>,
    #[serde(rename = "Droplet", skip_serializing_if = "Option::is_none")]
    pub droplet: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    #[serde(rename = "URL")]
    pub url: String,
    /// venus-auth token (admin) the gateway uses for its own calls to venus-auth.
    #[serde(rename = "Token")]
    pub token: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            url: DEFAULT_AUTH_URL.into(),
            token: String::new(),
        }
    }
}

/// Per-request timeouts (the original has a fixed 5-minute sweeper instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestSection {
    /// Seconds one wallet connection gets to answer a `WalletSign` before another is tried.
    #[serde(rename = "WalletTimeoutSecs")]
    pub wallet_timeout_secs: u64,
    /// Seconds one prover connection gets to answer a `ComputeProof`.
    #[serde(rename = "ProofTimeoutSecs")]
    pub proof_timeout_secs: u64,
    /// Seconds one market connection gets to answer a `SectorsUnsealPiece` (an unseal takes
    /// hours: seven, as the original).
    #[serde(rename = "MarketTimeoutSecs")]
    pub market_timeout_secs: u64,
    /// Seconds one market connection gets to answer an `IsUnsealed` query.
    #[serde(rename = "MarketQueryTimeoutSecs")]
    pub market_query_timeout_secs: u64,
}

impl Default for RequestSection {
    fn default() -> Self {
        Self {
            wallet_timeout_secs: 30,
            proof_timeout_secs: 120,
            market_timeout_secs: 7 * 3600,
            market_query_timeout_secs: 30,
        }
    }
}

impl RequestSection {
    pub fn wallet_timeout(&self) -> Duration {
        Duration::from_secs(self.wallet_timeout_secs)
    }

    pub fn proof_timeout(&self) -> Duration {
        Duration::from_secs(self.proof_timeout_secs)
    }

    pub fn market_timeout(&self) -> Duration {
        Duration::from_secs(self.market_timeout_secs)
    }

    pub fn market_query_timeout(&self) -> Duration {
        Duration::from_secs(self.market_query_timeout_secs)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid gateway config: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Listen(#[from] venus_rpc::process::ListenError),
    #[error("invalid auth URL {url:?}: must start with http:// or https://")]
    AuthUrl { url: String },
    #[error("invalid [Request] {key}: must be at least 1 second")]
    Timeout { key: &'static str },
}

impl Config {
    /// Read `<repo>/config.toml`, or the defaults when the file does not exist yet.
    pub fn load(repo: &Path) -> Result<(Self, bool), ConfigError> {
        let path = repo.join("config.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok((Self::parse(path, &text)?, true)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Self::default(), false)),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Read an explicit config file (`--config`); it must exist, and it is never written.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path.to_path_buf(), &text)
    }

    fn parse(path: PathBuf, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse { path, source })
    }

    /// Write `<repo>/config.toml` (only done on first run, as the original); mode 0600, as
    /// it holds the venus-auth token.
    pub fn save(&self, repo: &Path) -> Result<(), ConfigError> {
        let path = repo.join("config.toml");
        // Serialising plain structs of strings and numbers cannot fail.
        let text = toml::to_string_pretty(self).unwrap_or_default();
        venus_rpc::process::write_private(&path, text.as_bytes())
            .map_err(|source| ConfigError::Write { path, source })
    }

    pub fn validate(&self) -> Result<SocketAddr, ConfigError> {
        let url = self.auth.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::AuthUrl {
                url: self.auth.url.clone(),
            });
        }
        let r = &self.request;
        for (key, secs) in [
            ("WalletTimeoutSecs", r.wallet_timeout_secs),
            ("ProofTimeoutSecs", r.proof_timeout_secs),
            ("MarketTimeoutSecs", r.market_timeout_secs),
            ("MarketQueryTimeoutSecs", r.market_query_timeout_secs),
        ] {
            if secs == 0 {
                return Err(ConfigError::Timeout { key });
            }
        }
        parse_listen(&self.api.listen_address)
    }

    /// Sections read for compatibility but not acted on, for a start-up warning.
    pub fn ignored_sections(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.trace.is_some() {
            out.push("[Trace]");
        }
        if self.rate_limit.as_ref().is_some_and(|t| {
            t.get("Redis")
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty())
        }) {
            out.push("[RateLimit] Redis");
        }
        out
    }
}

/// A listen multiaddr (`/ip4/H/tcp/P`, `/ip6/…`, `/dns/…`, optionally ending in `/http` or
/// `/ws`) or a plain `host:port`, as a socket address.
pub fn parse_listen(addr: &str) -> Result<SocketAddr, ConfigError> {
    Ok(venus_rpc::process::parse_listen(addr)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("/ip4/0.0.0.0/tcp/45132").expect("valid"),
            "0.0.0.0:45132".parse().expect("addr")
        );
        assert_eq!(
            parse_listen("/ip4/127.0.0.1/tcp/1/http")
                .expect("valid")
                .port(),
            1
        );
        assert_eq!(
            parse_listen("/ip6/::1/tcp/9").expect("valid"),
            "[::1]:9".parse().expect("addr")
        );
        assert_eq!(parse_listen("127.0.0.1:80").expect("valid").port(), 80);
        for bad in [
            "/ip4/1.2.3.4/udp/1",
            "/ip4/x/tcp/1",
            "/ip4/1.2.3.4/tcp/99999",
            "/ip4/::1/tcp/1",
            "/ip4/1.2.3.4",
        ] {
            let e = parse_listen(bad).expect_err(bad).to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn reads_a_sophon_gateway_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("config.toml"),
            r#"
[API]
  ListenAddress = "/ip4/0.0.0.0/tcp/45132"
[Auth]
  Token = "t"
  URL = "http://10.0.0.1:8989"
[Metrics]
  Enabled = false
[Trace]
  JaegerTracingEnabled = false
"#,
        )
        .expect("write");
        let (cfg, existed) = Config::load(dir.path()).expect("load");
        assert!(existed);
        assert_eq!(cfg.auth.url, "http://10.0.0.1:8989");
        assert_eq!(cfg.request, RequestSection::default());
        assert_eq!(cfg.validate().expect("valid").port(), 45132);
        assert_eq!(cfg.ignored_sections(), vec!["[Trace]"]);
    }

    #[test]
    fn bad_files_and_values_name_the_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), "[API]\nListenAddress = 5\n")
            .expect("write");
        let e = Config::load(dir.path()).expect_err("bad type").to_string();
        assert!(
            e.contains("config.toml") && e.contains("ListenAddress"),
            "{e}"
        );

        let mut cfg = Config::default();
        cfg.auth.url = "127.0.0.1:8989".into();
        assert!(
            cfg.validate()
                .expect_err("bad url")
                .to_string()
                .contains("http://")
        );
        let mut cfg = Config::default();
        cfg.request.wallet_timeout_secs = 0;
        assert!(
            cfg.validate()
                .expect_err("zero")
                .to_string()
                .contains("WalletTimeoutSecs")
        );
    }

    #[test]
    fn unknown_keys_are_named_and_compat_sections_take_anything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gw.toml");
        for (text, key) in [
            (
                "[API]\nListenAdress = \"/ip4/0.0.0.0/tcp/1\"\n",
                "ListenAdress",
            ),
            ("[Auth]\nUrl = \"http://a:1\"\n", "Url"),
            ("Listen = \"x\"\n", "Listen"),
        ] {
            std::fs::write(&path, text).expect("write");
            let e = Config::load_file(&path).expect_err(text).to_string();
            assert!(e.contains("gw.toml") && e.contains(key), "{e}");
        }
        std::fs::write(
            &path,
            "[Metrics]\nEnabled = true\n[Metrics.Exporter]\nType = \"prometheus\"\n[RateLimit]\nRedis = \"\"\n",
        )
        .expect("write");
        let cfg = Config::load_file(&path).expect("compat sections");
        assert_eq!(cfg.api, ApiSection::default());
        let e = Config::load_file(&dir.path().join("absent.toml"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("absent.toml"), "{e}");
    }

    #[test]
    fn first_run_writes_a_file_that_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cfg, existed) = Config::load(dir.path()).expect("load");
        assert!(!existed);
        cfg.save(dir.path()).expect("save");
        assert_eq!(Config::load(dir.path()).expect("reload"), (cfg, true));
    }
}
