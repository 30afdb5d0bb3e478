//! The repo directory (`--repo`, env `VENUS_PATH`, default `~/.venus`): `config.json`, `api`
//! (the daemon's listen multiaddr), `token` (the node's local admin token), `chain/` (the
//! chain store) and `keystore/` (the node's own wallet keys).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};

pub const CONFIG_FILE: &str = "config.json";
pub const API_FILE: &str = "api";
pub const TOKEN_FILE: &str = "token";
pub const KEYSTORE_DIR: &str = "keystore";
pub const CHAIN_DIR: &str = "chain";

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("repo {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "can't find API endpoint address in environment, command-line, or local repo \
         (is the daemon running?): {0}"
    )]
    NoApi(String),
    #[error("no token in {0}: start the daemon first or pass --token")]
    NoToken(String),
}

#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

/// `--repo`, else `VENUS_PATH`, else `~/.venus`.
pub fn default_repo_path() -> PathBuf {
    if let Some(p) = std::env::var_os("VENUS_PATH") {
        return PathBuf::from(p);
    }
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".venus")
}

/// Expand a leading `~/`.
pub fn expand_home(p: &Path) -> PathBuf {
    match p.strip_prefix("~") {
        Ok(rest) => dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(rest),
        Err(_) => p.to_path_buf(),
    }
}

impl Repo {
    pub fn new(root: &Path) -> Repo {
        Repo {
            root: expand_home(root),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn io(&self, source: std::io::Error) -> RepoError {
        RepoError::Io {
            path: self.root.display().to_string(),
            source,
        }
    }

    /// A repo is initialised once its chain store exists (config.json may be put there
    /// beforehand by the operator, as the seed guide does).
    pub fn is_initialised(&self) -> bool {
        self.path(CHAIN_DIR).exists()
    }

    pub fn ensure_dirs(&self) -> Result<(), RepoError> {
        std::fs::create_dir_all(&self.root).map_err(|e| self.io(e))?;
        let ks = self.path(KEYSTORE_DIR);
        std::fs::create_dir_all(&ks).map_err(|e| self.io(e))?;
        restrict_permissions(&ks, 0o700).map_err(|e| self.io(e))
    }

    /// The config file overlaid on the defaults, or the defaults when there is none.
    pub fn load_config(&self) -> Result<Config, RepoError> {
        let path = self.path(CONFIG_FILE);
        if path.exists() {
            Ok(Config::load(&path)?)
        } else {
            Ok(Config::default())
        }
    }

    pub fn save_config(&self, cfg: &Config) -> Result<(), RepoError> {
        Ok(cfg.save(&self.path(CONFIG_FILE))?)
    }

    pub fn write_api(&self, multiaddr: &str) -> Result<(), RepoError> {
        write_atomic(&self.path(API_FILE), multiaddr.as_bytes()).map_err(|e| self.io(e))
    }

    pub fn read_api(&self) -> Result<String, RepoError> {
        std::fs::read_to_string(self.path(API_FILE))
            .map(|s| s.trim().to_owned())
            .map_err(|e| RepoError::NoApi(e.to_string()))
    }

    /// The token file is readable by the owner only.
    pub fn write_token(&self, token: &str) -> Result<(), RepoError> {
        let path = self.path(TOKEN_FILE);
        write_atomic(&path, token.as_bytes()).map_err(|e| self.io(e))?;
        restrict_permissions(&path, 0o600).map_err(|e| self.io(e))
    }

    pub fn read_token(&self) -> Result<String, RepoError> {
        let path = self.path(TOKEN_FILE);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_owned())
            .map_err(|_| RepoError::NoToken(path.display().to_string()))
    }

    pub fn remove_runtime_files(&self) {
        // Best effort: stale files only mislead the CLI, they hold no data.
        let _ = std::fs::remove_file(self.path(API_FILE));
    }
}

/// Write to a temp file in the same directory, fsync, then rename: a crash leaves either
/// the old or the new content, never a torn file.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(unix)]
pub fn restrict_permissions(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn restrict_permissions(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_api_round_trip_and_token_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::new(dir.path());
        repo.ensure_dirs().expect("dirs");
        assert!(matches!(repo.read_token(), Err(RepoError::NoToken(_))));
        repo.write_token("abc").expect("token");
        repo.write_api("/ip4/127.0.0.1/tcp/1234").expect("api");
        assert_eq!(repo.read_token().expect("read"), "abc");
        assert_eq!(repo.read_api().expect("read"), "/ip4/127.0.0.1/tcp/1234");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(repo.path(TOKEN_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!repo.is_initialised());
        assert_eq!(repo.load_config().expect("defaults"), Config::default());
    }
}
