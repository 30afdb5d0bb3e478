//! `<repo>/config.toml`: read once, validated once.
//!
//! Keys are matched case-insensitively, as the original's viper does, so both the seed's
//! `[db]` block (`type`, `DSN`, `maxOpenConns`) and the original's generated `[DB]` (`Type`,
//! `MaxOpenConns`) work. Durations are Go strings (`"120s"`, `"1m30s"`) or integer
//! nanoseconds (what the original writes). An unknown key is an error that names it.
//!
//! `[jwt]` is ours (the original has no such section): `secretFile` replaces `<repo>/secret`
//! with a file the deployment provides (a mounted Kubernetes Secret), `adminTokenFile` names
//! an admin token signed with that secret which is registered at start (see
//! [`crate::server`]), and `adminTokenFiles` several (one per component, so one can be revoked
//! without the others). Relative paths are relative to the config file's directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use venus_goconf::parse_go_duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8989";

/// Which store backs venus-auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    /// The embedded store: an SQLite file in the repo. `badger` (the original's embedded
    /// database and default) selects it too.
    Sqlite,
    Mysql,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DbConfig {
    pub kind: DbKind,
    pub dsn: String,
    pub max_open_conns: u32,
    pub max_idle_conns: u32,
    pub max_life_time: Duration,
    pub max_idle_time: Duration,
}

/// `[jwt]`: where the token secret and a pre-made admin token come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JwtConfig {
    /// Hex secret file read instead of `<repo>/secret` (never written).
    pub secret_file: Option<PathBuf>,
    /// Files each holding an admin token signed with the secret, registered in the store at
    /// start: `adminTokenFile` first, then `adminTokenFiles` in order.
    pub admin_token_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: String,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub idle_timeout: Duration,
    pub db: DbConfig,
    pub jwt: JwtConfig,
    pub log_level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.into(),
            read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            db: DbConfig {
                kind: DbKind::Sqlite,
                dsn: String::new(),
                max_open_conns: 64,
                max_idle_conns: 128,
                max_life_time: Duration::from_secs(120),
                max_idle_time: Duration::from_secs(60),
            },
            jwt: JwtConfig::default(),
            log_level: "info".into(),
        }
    }
}

/// The file written on first run.
pub const DEFAULT_FILE: &str = r#"# venus-auth configuration. Keys are case-insensitive.
Listen = "127.0.0.1:8989"
ReadTimeout = "1m"
WriteTimeout = "1m"
IdleTimeout = "1m"

# Data source configuration item
[db]
# support: badger (default; the embedded store, an SQLite file <repo>/auth.db), sqlite, mysql
# the mysql DDL is in services/auth/scripts/mysql-ddl.sql
type = "badger"
# The following parameters apply to MySQL, e.g.
# DSN = "<USER>:<PASSWORD>@(127.0.0.1:3306)/venus_auth?parseTime=true&loc=Local&charset=utf8mb4&collation=utf8mb4_unicode_ci&readTimeout=10s&writeTimeout=10s"
DSN = ""
maxOpenConns = 64
maxIdleConns = 128
maxLifeTime = "120s"
maxIdleTime = "60s"

[log]
# trace, debug, info, warn, error (RUST_LOG overrides)
LogLevel = "info"

# [jwt]
# Read the token secret (hex, at least 32 bytes) from this file instead of <repo>/secret;
# it is never written. Relative paths are relative to this file's directory.
# secretFile = "/var/run/secrets/venus/jwt/secret"
# An admin token signed with that secret, registered at start so other components can use it.
# adminTokenFile = "/var/run/secrets/venus/admin-token/token"
# Or several, one per component (each its own user, revocable alone):
# adminTokenFiles = ["/var/run/secrets/venus/admin-token/gateway", "/var/run/secrets/venus/admin-token/node"]
"#;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

// The raw file, keys lower-cased. Sections the original has but we do not use (tracing to
// Jaeger, InfluxDB log hooks, its own metrics exporter) are accepted and ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    listen: Option<String>,
    port: Option<toml::Value>,
    secret: Option<String>,
    #[serde(deserialize_with = "opt_duration")]
    readtimeout: Option<Duration>,
    #[serde(deserialize_with = "opt_duration")]
    writetimeout: Option<Duration>,
    #[serde(deserialize_with = "opt_duration")]
    idletimeout: Option<Duration>,
    db: RawDb,
    jwt: RawJwt,
    log: RawLog,
    trace: Option<toml::Value>,
    metrics: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawDb {
    r#type: Option<String>,
    dsn: Option<String>,
    maxopenconns: Option<u32>,
    maxidleconns: Option<u32>,
    #[serde(deserialize_with = "opt_duration")]
    maxlifetime: Option<Duration>,
    #[serde(deserialize_with = "opt_duration")]
    maxidletime: Option<Duration>,
    debug: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawJwt {
    secretfile: Option<String>,
    admintokenfile: Option<String>,
    admintokenfiles: Option<OneOrMany>,
}

/// `adminTokenFiles`: a list, or one path as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(p) => vec![p],
            Self::Many(ps) => ps,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    loglevel: Option<String>,
    r#type: Option<toml::Value>,
    hookswitch: Option<bool>,
    influxdb: Option<toml::Value>,
}

impl Config {
    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut c = Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: shown,
            message,
        })?;
        // Relative `[jwt]` paths follow the config file, not the working directory.
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in c
            .jwt
            .secret_file
            .iter_mut()
            .chain(c.jwt.admin_token_files.iter_mut())
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(c)
    }

    /// Parse and validate the text of a config file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let lowered = lower_keys(toml::Value::Table(table));
        let raw: RawConfig = lowered.try_into().map_err(|e: toml::de::Error| {
            format!("{} (keys are case-insensitive)", e.message().trim())
        })?;
        let mut c = Config::default();
        if let Some(l) = raw.listen.filter(|l| !l.is_empty()) {
            c.listen = l;
        } else if let Some(p) = raw.port {
            // Config files of venus-auth ≤ 1.11 only had `Port` (listening on all interfaces).
            let p = match p {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                other => return Err(format!("Port: expected a port number, got {other}")),
            };
            c.listen = format!("0.0.0.0:{p}");
        }
        if raw.secret.is_some() {
            tracing::warn!(
                "config key `Secret` is ignored: the token secret lives in <repo>/secret or [jwt] secretFile"
            );
        }
        c.read_timeout = raw.readtimeout.unwrap_or(c.read_timeout);
        c.write_timeout = raw.writetimeout.unwrap_or(c.write_timeout);
        c.idle_timeout = raw.idletimeout.unwrap_or(c.idle_timeout);
        if let Some(t) = raw.db.r#type {
            c.db.kind = parse_db_kind(&t)?;
        }
        c.db.dsn = raw.db.dsn.unwrap_or_default().trim().to_owned();
        c.db.max_open_conns = raw.db.maxopenconns.unwrap_or(c.db.max_open_conns);
        c.db.max_idle_conns = raw.db.maxidleconns.unwrap_or(c.db.max_idle_conns);
        c.db.max_life_time = raw.db.maxlifetime.unwrap_or(c.db.max_life_time);
        c.db.max_idle_time = raw.db.maxidletime.unwrap_or(c.db.max_idle_time);
        let path = |p: Option<String>| p.filter(|p| !p.trim().is_empty()).map(PathBuf::from);
        c.jwt.secret_file = path(raw.jwt.secretfile);
        c.jwt.admin_token_files = path(raw.jwt.admintokenfile).into_iter().collect();
        for (i, p) in raw
            .jwt
            .admintokenfiles
            .map(OneOrMany::into_vec)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if p.trim().is_empty() {
                return Err(format!(
                    "jwt.adminTokenFiles[{i}] is empty: give a file path"
                ));
            }
            let p = PathBuf::from(p);
            if !c.jwt.admin_token_files.contains(&p) {
                c.jwt.admin_token_files.push(p);
            }
        }
        if let Some(level) = raw.log.loglevel {
            c.log_level = level.to_lowercase();
        }
        c.validate_values()?;
        Ok(c)
    }

    /// Every check, including those `run` flags can satisfy (`--mysql-dsn` supplies the DSN
    /// of a file that says `type = "mysql"`): run after the flags override the file.
    pub fn validate(&self) -> Result<(), String> {
        if self.db.kind == DbKind::Mysql && self.db.dsn.is_empty() {
            return Err(
                "db.DSN is missing: db.type = \"mysql\" needs a DSN (or run --mysql-dsn)".into(),
            );
        }
        self.validate_values()
    }

    /// Checks of values no flag overrides; done when the file is read.
    fn validate_values(&self) -> Result<(), String> {
        if self.db.max_open_conns == 0 {
            return Err("db.maxOpenConns must be at least 1".into());
        }
        if ![
            "trace", "debug", "info", "warn", "warning", "error", "fatal", "panic",
        ]
        .contains(&self.log_level.as_str())
        {
            return Err(format!(
                "log.LogLevel {:?} is not one of trace, debug, info, warn, error",
                self.log_level
            ));
        }
        Ok(())
    }
}

/// `badger` (the original's default) and `sqlite` select the embedded store.
pub fn parse_db_kind(s: &str) -> Result<DbKind, String> {
    match s.trim().to_lowercase().as_str() {
        "badger" | "sqlite" | "" => Ok(DbKind::Sqlite),
        "mysql" => Ok(DbKind::Mysql),
        other => Err(format!(
            "db.type {other:?} is not supported: use badger, sqlite or mysql"
        )),
    }
}

fn lower_keys(v: toml::Value) -> toml::Value {
    match v {
        toml::Value::Table(t) => toml::Value::Table(
            t.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect(),
        ),
        other => other,
    }
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Nanos(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Nanos(n) => Ok(Some(Duration::from_nanos(n))),
        Raw::Text(s) => parse_go_duration(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        assert_eq!(Config::parse(DEFAULT_FILE).unwrap(), Config::default());
    }

    #[test]
    fn the_seed_db_block_is_accepted_verbatim() {
        let c = Config::parse(
            r#"[db]
# support: badger (default), mysql
type = "mysql"
DSN = "u:p@(127.0.0.1:3306)/venus_auth?parseTime=true&loc=Local"
# conns 1500 concurrent
maxOpenConns = 64
maxIdleConns = 128
maxLifeTime = "120s"
maxIdleTime = "30s"
"#,
        )
        .unwrap();
        assert_eq!(c.db.kind, DbKind::Mysql);
        assert_eq!(c.db.max_idle_time, Duration::from_secs(30));
        assert!(c.db.dsn.starts_with("u:p@"));
    }

    #[test]
    fn the_originals_generated_file_is_accepted() {
        let c = Config::parse(
            "Listen = \"0.0.0.0:9999\"\nReadTimeout = 60000000000\n[DB]\nType = \"badger\"\nDSN = \"\"\nMaxOpenConns = 8\n[Log]\nLogLevel = \"trace\"\nType = 0\nHookSwitch = false\n[Trace]\nJaegerTracingEnabled = false\n",
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9999");
        assert_eq!(c.read_timeout, Duration::from_secs(60));
        assert_eq!(c.db.max_open_conns, 8);
        assert_eq!(c.db.kind, DbKind::Sqlite);
    }

    #[test]
    fn bad_configs_name_the_bad_key() {
        let e = Config::parse("[db]\nmaxOpenConn = 3\n").unwrap_err();
        assert!(e.contains("maxopenconn"), "{e}");
        let e = Config::parse("[db]\ntype = \"postgres\"\n").unwrap_err();
        assert!(e.contains("db.type") && e.contains("postgres"), "{e}");
        // The DSN may come from `run --mysql-dsn`, so only the final check refuses it.
        let c = Config::parse("[db]\ntype = \"mysql\"\n").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.contains("DSN"), "{e}");
        let e = Config::parse("[db]\nmaxLifeTime = \"2 weeks\"\n").unwrap_err();
        assert!(e.contains("2 weeks"), "{e}");
    }

    #[test]
    fn jwt_files_are_read_and_relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[jwt]\nsecretFile = \"/run/jwt/secret\"\nadminTokenFile = \"admin/token\"\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.jwt.secret_file.as_deref(),
            Some(Path::new("/run/jwt/secret"))
        );
        assert_eq!(
            c.jwt.admin_token_files,
            vec![dir.path().join("admin/token")]
        );
        // Several files (one per component), after the single one, each once.
        std::fs::write(
            &path,
            "[jwt]\nadminTokenFile = \"a\"\nadminTokenFiles = [\"/run/t/gateway\", \"b\", \"a\"]\n",
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            c.jwt.admin_token_files,
            vec![
                dir.path().join("a"),
                PathBuf::from("/run/t/gateway"),
                dir.path().join("b")
            ]
        );
        let e = Config::parse("[jwt]\nadminTokenFiles = [\"x\", \" \"]\n").unwrap_err();
        assert!(e.contains("adminTokenFiles[1]"), "{e}");
        let c = Config::parse("[jwt]\nadminTokenFiles = \"/x\"\n").unwrap();
        assert_eq!(c.jwt.admin_token_files, vec![PathBuf::from("/x")]);
        assert!(Config::parse("[jwt]\nadminTokenFiles = 3\n").is_err());
        // Empty means unset, as for the other string keys.
        let c = Config::parse("[JWT]\nSecretFile = \"\"\n").unwrap();
        assert_eq!(c.jwt, JwtConfig::default());
        let e = Config::parse("[jwt]\nsecret = \"x\"\n").unwrap_err();
        assert!(e.contains("secret"), "{e}");
    }
}
