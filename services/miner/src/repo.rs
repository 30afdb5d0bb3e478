//! The repo directory (`~/.venus-miner`, `--repo`, `SOPHON_MINER_PATH`/`VENUS_MINER_PATH`):
//! `config.toml`, `token` (the local admin token, rewritten at each `run`) and `api` (the
//! multiaddr the daemon listens on, for the CLI).

use std::path::{Path, PathBuf};

use anyhow::Context;

pub const TOKEN_FILE: &str = "token";
pub const API_FILE: &str = "api";

pub fn config_path(repo: &Path) -> PathBuf {
    repo.join("config.toml")
}

/// Write a file readable only by its owner (it may hold a token).
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn write_token(repo: &Path, token: &str) -> anyhow::Result<()> {
    write_private(&repo.join(TOKEN_FILE), token)
}

pub fn write_api(repo: &Path, multiaddr: &str) -> anyhow::Result<()> {
    write_private(&repo.join(API_FILE), multiaddr)
}

fn read_trimmed(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} ({what}): is the repo right and has `venus-miner run` started?",
            path.display()
        )
    })?;
    let text = text.trim().to_owned();
    if text.is_empty() {
        anyhow::bail!("{} is empty", path.display());
    }
    Ok(text)
}

pub fn read_token(repo: &Path) -> anyhow::Result<String> {
    read_trimmed(&repo.join(TOKEN_FILE), "the local admin token")
}

pub fn read_api(repo: &Path) -> anyhow::Result<String> {
    read_trimmed(&repo.join(API_FILE), "the daemon's API address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_api_round_trip_and_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        write_token(dir.path(), "secret\n").unwrap();
        write_api(dir.path(), "/ip4/127.0.0.1/tcp/12308").unwrap();
        assert_eq!(read_token(dir.path()).unwrap(), "secret");
        assert_eq!(read_api(dir.path()).unwrap(), "/ip4/127.0.0.1/tcp/12308");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
        let err = read_token(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("venus-miner run"), "{err}");
    }
}
