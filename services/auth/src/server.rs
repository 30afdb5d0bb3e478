//! `venus-auth run`: open the store, make sure the default admin token exists (and the
//! `[jwt] adminTokenFile` token is registered), serve.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};

use crate::api::{AppState, app};
use crate::authority::{Authority, DEFAULT_CACHE_TTL};
use crate::config::{Config, parse_db_kind};
use crate::metrics::Metrics;
use crate::repo;
use crate::store::{Store, StoreError, TokenRow};

/// The user whose admin token the CLI uses, as in the original.
pub const DEFAULT_ADMIN_USER: &str = "defaultLocalToken";

/// Flags of `run` that override the config file (not written back).
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    pub listen: Option<String>,
    pub db_type: Option<String>,
    pub mysql_dsn: Option<String>,
}

/// Read the config (creating it on first run) and apply the flags.
pub fn prepare_config(
    repo_dir: &Path,
    config_file: Option<&Path>,
    o: &RunOverrides,
) -> anyhow::Result<Config> {
    let mut config = repo::load_or_init_config(repo_dir, config_file)?;
    if let Some(l) = &o.listen {
        config.listen = l.clone();
    }
    if let Some(t) = &o.db_type {
        config.db.kind = parse_db_kind(t).map_err(|e| anyhow::anyhow!("--db-type: {e}"))?;
    }
    if let Some(dsn) = &o.mysql_dsn {
        config.db.dsn = dsn.trim().to_owned();
    }
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    Ok(config)
}

pub async fn run(repo_dir: PathBuf, config: Config, db_wait: Duration) -> anyhow::Result<()> {
    let secret = match &config.jwt.secret_file {
        Some(path) => {
            let secret = repo::read_secret_file(path)?;
            tracing::info!(path = %path.display(), "token secret read from jwt.secretFile");
            secret
        }
        None => repo::load_or_create_secret(&repo_dir)?,
    };
    // Checked before the store opens, so a bad file fails fast.
    let provided_admin = config
        .jwt
        .admin_token_files
        .iter()
        .map(|path| read_admin_token_file(path, &secret))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = Store::open(&repo_dir, &config.db, db_wait).await?;
    tracing::info!(backend = store.backend(), repo = %repo_dir.display(), "store open");
    let authority = Authority::new(store, secret, DEFAULT_CACHE_TTL);
    let admin_token = ensure_default_admin(&authority).await?;
    repo::write_private(&repo_dir.join(repo::TOKEN_FILE), admin_token.as_bytes())?;
    for (token, claims) in provided_admin {
        register_provided_token(&authority, &token, &claims).await?;
    }

    let metrics = Metrics::default();
    metrics.up.set(1);
    let state = Arc::new(AppState { authority, metrics });
    let app = app(state.clone(), timeouts(&config));
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "venus-auth listening");
    // venus-rpc's serve, as every service: TCP_NODELAY on each connection, graceful shutdown;
    // plus Go's IdleTimeout (zero falls back to ReadTimeout; both zero: keep idle connections).
    let idle = [config.idle_timeout, config.read_timeout]
        .into_iter()
        .find(|t| !t.is_zero());
    let options = venus_rpc::ServeOptions {
        idle_timeout: idle,
        ..Default::default()
    };
    venus_rpc::serve_with(
        listener,
        app,
        venus_rpc::process::shutdown_signal(),
        options,
    )
    .await?;
    state.metrics.up.set(0);
    state.authority.store().close().await;
    tracing::info!("venus-auth stopped");
    Ok(())
}

/// The config's `ReadTimeout` and `WriteTimeout`, as Go's http.Server applies them: a request
/// body that has not arrived within `ReadTimeout` fails, and a request not answered within
/// `ReadTimeout + WriteTimeout` gets 503, so a stuck database or a slow client cannot hold a
/// connection slot forever. (`IdleTimeout` is applied by `venus_rpc::serve_with`, in `run`.)
/// venus-rpc's layer starts no timer for a request answered at once
/// (tower-http's cost a third of `/verify`'s throughput).
fn timeouts(config: &Config) -> venus_rpc::timeout::TimeoutLayer {
    // Zero is "no timeout", as in Go: no answer deadline without a WriteTimeout.
    let total = if config.write_timeout.is_zero() {
        Duration::ZERO
    } else {
        config.read_timeout + config.write_timeout
    };
    venus_rpc::timeout::TimeoutLayer::new(config.read_timeout, total)
}

/// Create `name` unless it exists; another replica creating it at the same moment is fine.
async fn ensure_user(store: &Store, name: &str, comment: &str) -> anyhow::Result<()> {
    if store.get_user(name).await?.is_some() {
        return Ok(());
    }
    match store.create_user(name, comment, 1).await {
        Ok(_) => Ok(()),
        // Created concurrently, or removed by an admin: both are left as they are.
        Err(StoreError::Conflict(msg)) => {
            if store.get_user(name).await?.is_none() {
                tracing::warn!(user = name, "{msg}");
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The `defaultLocalToken` user and an admin token for it, reused across restarts.
async fn ensure_default_admin(authority: &Authority) -> anyhow::Result<String> {
    let store = authority.store();
    ensure_user(
        store,
        DEFAULT_ADMIN_USER,
        "the local admin user of the venus-auth CLI",
    )
    .await?;
    let usable = || async {
        for t in store.tokens_by_name(DEFAULT_ADMIN_USER).await? {
            if t.perm == Permission::Admin.as_str() && authority.verify(&t.token).await.is_ok() {
                return Ok::<_, StoreError>(Some(t.token));
            }
        }
        Ok(None)
    };
    if let Some(t) = usable().await? {
        return Ok(t);
    }
    // Tokens are deterministic (same claims, same secret): a replica starting at the same
    // moment may have inserted this very token, or an admin removed it earlier.
    match authority
        .issue(DEFAULT_ADMIN_USER, Permission::Admin, "")
        .await
    {
        Ok(t) => Ok(t),
        Err(e) if e.is_unique_violation() => {
            if let Some(t) = usable().await? {
                return Ok(t);
            }
            // The removed one stays removed; a distinct `ext` gives a new token.
            let ext = format!("local-{}", uuid::Uuid::new_v4().simple());
            Ok(authority
                .issue(DEFAULT_ADMIN_USER, Permission::Admin, &ext)
                .await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Read one file of `[jwt] adminTokenFile(s)` and check it against the secret: a valid HS256 signature and
/// an admin token of a named user. Errors name the file and never quote the token.
pub fn read_admin_token_file(path: &Path, secret: &[u8]) -> anyhow::Result<(String, Claims)> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("jwt.adminTokenFile(s) {shown}: no such file")
        } else {
            anyhow::anyhow!("jwt.adminTokenFile(s) {shown}: cannot read it: {e}")
        }
    })?;
    let token = text.trim();
    anyhow::ensure!(
        !token.is_empty(),
        "jwt.adminTokenFile(s) {shown}: the file is empty"
    );
    // JwtError messages describe the defect, never the token.
    let claims = jwt::verify(token, secret).map_err(|e| {
        anyhow::anyhow!(
            "jwt.adminTokenFile(s) {shown}: {e} (it must be signed with the token secret)"
        )
    })?;
    anyhow::ensure!(
        claims.perm == Permission::Admin,
        "jwt.adminTokenFile(s) {shown}: the token's perm is {}, expected admin",
        claims.perm
    );
    anyhow::ensure!(
        !claims.name.trim().is_empty(),
        "jwt.adminTokenFile(s) {shown}: the token names no user"
    );
    Ok((token.to_owned(), claims))
}

/// Record a token issued outside this server (one of the operator's component tokens) so it
/// verifies: its user is created if missing and the token inserted if absent. Idempotent, and
/// safe when several replicas on one MySQL database start together. A token or user an admin
/// removed is not restored, only reported.
pub async fn register_provided_token(
    authority: &Authority,
    token: &str,
    claims: &Claims,
) -> anyhow::Result<()> {
    let store = authority.store();
    ensure_user(
        store,
        &claims.name,
        "owner of an admin token in jwt.adminTokenFile(s)",
    )
    .await?;
    let row = TokenRow {
        token: token.to_owned(),
        name: claims.name.clone(),
        perm: claims.perm.to_string(),
        secret: String::new(),
        extra: claims.ext.clone(),
        create_time: chrono::Utc::now().timestamp(),
    };
    let inserted = store.insert_token_if_absent(&row).await?;
    match authority.verify(token).await {
        Ok(_) if inserted => {
            tracing::info!(user = %claims.name, "registered an admin token of jwt.adminTokenFile(s)")
        }
        Ok(_) => {
            tracing::info!(user = %claims.name, "an admin token of jwt.adminTokenFile(s) is registered")
        }
        Err(e) => {
            tracing::warn!(user = %claims.name, reason = %e, "an admin token of jwt.adminTokenFile(s) is registered but refused")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DbKind;

    #[test]
    fn a_mysql_file_without_dsn_takes_it_from_the_flag() {
        // The operator's form: `[db] type = "mysql"` in the ConfigMap, the DSN from a Secret.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[db]\ntype = \"mysql\"\n").unwrap();
        let c = prepare_config(
            dir.path(),
            Some(&file),
            &RunOverrides {
                mysql_dsn: Some("u:p@(db:3306)/auth".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (c.db.kind, c.db.dsn.as_str()),
            (DbKind::Mysql, "u:p@(db:3306)/auth")
        );
        let e = prepare_config(dir.path(), Some(&file), &RunOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("DSN"), "{e}");
    }

    fn admin_claims(name: &str) -> Claims {
        Claims {
            name: name.into(),
            perm: Permission::Admin,
            ext: String::new(),
        }
    }

    #[tokio::test]
    async fn a_provided_token_is_registered_once_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Config::default().db, Duration::ZERO)
            .await
            .unwrap();
        let secret = vec![9u8; 32];
        let authority = Authority::new(store, secret.clone(), Duration::ZERO);
        let claims = admin_claims("chain-service");
        let token = jwt::sign(&claims, &secret);
        assert!(
            authority.verify(&token).await.is_err(),
            "not registered yet"
        );

        register_provided_token(&authority, &token, &claims)
            .await
            .unwrap();
        register_provided_token(&authority, &token, &claims)
            .await
            .unwrap();
        let v = authority.verify(&token).await.unwrap();
        assert_eq!(
            (v.name.as_str(), v.perm),
            ("chain-service", Permission::Admin)
        );
        assert_eq!(
            authority
                .store()
                .tokens_by_name("chain-service")
                .await
                .unwrap()
                .len(),
            1
        );

        // A token an admin removed stays removed across restarts.
        authority
            .store()
            .set_token_removed(&token, true)
            .await
            .unwrap();
        register_provided_token(&authority, &token, &claims)
            .await
            .unwrap();
        assert!(authority.verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn the_local_admin_token_is_reused_and_replaced_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Config::default().db, Duration::ZERO)
            .await
            .unwrap();
        let authority = Authority::new(store, vec![3u8; 32], Duration::ZERO);
        let t1 = ensure_default_admin(&authority).await.unwrap();
        assert_eq!(ensure_default_admin(&authority).await.unwrap(), t1);
        // Removed by an admin: the same (deterministic) token must not collide on insert.
        authority
            .store()
            .set_token_removed(&t1, true)
            .await
            .unwrap();
        let t2 = ensure_default_admin(&authority).await.unwrap();
        assert_ne!(t1, t2);
        assert!(authority.verify(&t2).await.is_ok());
        assert!(authority.verify(&t1).await.is_err());
    }

    #[test]
    fn admin_token_files_are_checked_against_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let secret = vec![1u8; 32];
        let good = jwt::sign(&admin_claims("cs"), &secret);
        std::fs::write(&path, format!("{good}\n")).unwrap();
        let (token, claims) = read_admin_token_file(&path, &secret).unwrap();
        assert_eq!(
            (token.as_str(), claims.name.as_str()),
            (good.as_str(), "cs")
        );

        let read = Claims {
            perm: Permission::Read,
            ..admin_claims("cs")
        };
        for (content, want) in [
            (jwt::sign(&admin_claims("cs"), &[2u8; 32]), "signature"),
            (jwt::sign(&read, &secret), "expected admin"),
            (jwt::sign(&admin_claims(""), &secret), "names no user"),
            ("not a jwt".to_owned(), "three base64url parts"),
            (String::new(), "empty"),
        ] {
            std::fs::write(&path, &content).unwrap();
            let e = read_admin_token_file(&path, &secret)
                .unwrap_err()
                .to_string();
            assert!(e.contains("adminTokenFile") && e.contains(want), "{e}");
            if !content.is_empty() {
                assert!(!e.contains(&content), "the token leaked: {e}");
            }
        }
        let e = read_admin_token_file(&dir.path().join("absent"), &secret)
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent") && e.contains("no such file"), "{e}");
    }
}
