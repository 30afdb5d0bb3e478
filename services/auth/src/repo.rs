//! The repo directory: `config.toml`, `secret` (0600), `token` (0600), `auth.db`.
//!
//! Chosen by `--repo`, else `SOPHON_AUTH_PATH`, else `VENUS_AUTH_PATH`, else `~/.venus-auth`
//! (the seed's path).

use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::config::{Config, ConfigError, DEFAULT_FILE};

pub const CONFIG_FILE: &str = "config.toml";
pub const SECRET_FILE: &str = "secret";
pub const TOKEN_FILE: &str = "token";

/// Resolve the repo directory from the flag and environment.
pub fn resolve(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(expand_home(p));
    }
    for var in ["SOPHON_AUTH_PATH", "VENUS_AUTH_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return Ok(expand_home(Path::new(&v)));
        }
    }
    let home = dirs::home_dir().ok_or_else(|| anyhow::anyhow!("no home directory: pass --repo"))?;
    Ok(home.join(".venus-auth"))
}

fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), dirs::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

/// Load `<repo>/config.toml` (or `explicit`), writing the defaults first if it is missing.
pub fn load_or_init_config(repo: &Path, explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo.join(CONFIG_FILE));
    if !path.exists() && explicit.is_none() {
        std::fs::create_dir_all(repo)
            // 0600: a MySQL DSN in it carries the database password.
            .and_then(|()| venus_rpc::process::write_private(&path, DEFAULT_FILE.as_bytes()))
            .map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
        tracing::info!(path = %path.display(), "wrote the default config");
    }
    Config::load(&path)
}

/// Load the config if there is one (CLI commands never create files).
pub fn load_config_if_present(
    repo: &Path,
    explicit: Option<&Path>,
) -> Result<Option<Config>, ConfigError> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo.join(CONFIG_FILE));
    if !path.exists() && explicit.is_none() {
        return Ok(None);
    }
    Config::load(&path).map(Some)
}

/// Shortest accepted HMAC secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// The server's HMAC secret: 32 random bytes, hex in `<repo>/secret`, created with mode 0600.
pub fn load_or_create_secret(repo: &Path) -> anyhow::Result<Vec<u8>> {
    let path = repo.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            check_private(&path)?;
            parse_secret(&path, &text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            write_private(&path, hex::encode(&secret).as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new token secret");
            Ok(secret)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// The secret from `[jwt] secretFile` (same format as `<repo>/secret`), never created or
/// written: the deployment owns it. Errors name the file and never quote its content.
pub fn read_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("jwt.secretFile {}: no such file", path.display())
        } else {
            anyhow::anyhow!("jwt.secretFile {}: cannot read it: {e}", path.display())
        }
    })?;
    use std::os::unix::fs::PermissionsExt;
    // Group read is normal here (a Kubernetes Secret volume with fsGroup); others is not.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o007 != 0
    {
        tracing::warn!(path = %path.display(), "the jwt.secretFile is readable by every user; restrict it");
    }
    parse_secret(path, &text).map_err(|e| anyhow::anyhow!("jwt.secretFile {e}"))
}

/// Hex text (surrounding whitespace ignored) of at least [`MIN_SECRET_LEN`] bytes.
fn parse_secret(path: &Path, text: &str) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    anyhow::ensure!(!text.is_empty(), "{}: the file is empty", path.display());
    // The reason names a position, never the content (not even one character of it).
    let secret = hex::decode(text).map_err(|e| {
        let why = match e {
            hex::FromHexError::InvalidHexCharacter { index, .. } => {
                format!("a non-hex character at offset {index}")
            }
            hex::FromHexError::OddLength => "an odd number of hex digits".into(),
            other => other.to_string(),
        };
        anyhow::anyhow!("{}: not hex text: {why}", path.display())
    })?;
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_LEN,
        "{}: the secret is {} bytes, shorter than {MIN_SECRET_LEN}",
        path.display(),
        secret.len()
    );
    Ok(secret)
}

/// Write `data` to `path` readable by the owner only (replacing any older file).
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    venus_rpc::process::write_private(path, data)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the secret file is readable by others; chmod 600 it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(dir.path()).unwrap();
        let b = load_or_create_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn secret_file_is_read_never_written_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt-secret");
        let e = read_secret_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("jwt-secret") && e.contains("no such file"),
            "{e}"
        );
        assert!(!path.exists());

        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(read_secret_file(&path).unwrap(), vec![0xab; 32]);

        for (content, want) in [
            (String::new(), "empty"),
            ("zz".repeat(32), "not hex"),
            ("ab".repeat(31), "shorter than 32"),
        ] {
            std::fs::write(&path, &content).unwrap();
            let e = read_secret_file(&path).unwrap_err().to_string();
            assert!(e.contains("jwt-secret") && e.contains(want), "{e}");
        }
    }

    #[test]
    fn config_is_written_on_first_load() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        assert!(load_config_if_present(&repo, None).unwrap().is_none());
        let c = load_or_init_config(&repo, None).unwrap();
        assert_eq!(c, Config::default());
        assert!(repo.join(CONFIG_FILE).exists());
    }
}
