//! `[jwt] secretFile` and `[jwt] adminTokenFile`: venus-auth run the way the operator's pods
//! run it, with the token secret and a pre-signed admin token mounted from Secrets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{Backend, Home, mysql_backend, mysql_server, verify_json};
use rand::RngCore;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};

const NAME: &str = "chain-service";

fn claims(perm: Permission) -> Claims {
    Claims {
        name: NAME.into(),
        perm,
        ext: String::new(),
    }
}

/// The mounted files, outside the repo, read-only as a Secret volume leaves them.
struct Mounted {
    secret_file: PathBuf,
    token_file: PathBuf,
    secret: Vec<u8>,
    token: String,
}

fn mount(home: &Home, secret: &[u8], token: &str) -> Mounted {
    use std::os::unix::fs::PermissionsExt;
    let dir = home.dir.path().join("mounted");
    std::fs::create_dir_all(&dir).unwrap();
    let secret_file = dir.join("secret");
    let token_file = dir.join("token");
    for (path, text) in [
        (&secret_file, hex::encode(secret)),
        (&token_file, token.into()),
    ] {
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    let config = home.repo().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    if !text.contains("[jwt]") {
        text.push_str(&format!(
            "[jwt]\nsecretFile = \"{}\"\nadminTokenFile = \"{}\"\n",
            secret_file.display(),
            token_file.display()
        ));
        std::fs::write(&config, text).unwrap();
    }
    Mounted {
        secret_file,
        token_file,
        secret: secret.to_vec(),
        token: token.to_owned(),
    }
}

fn random_secret() -> Vec<u8> {
    let mut s = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

fn chain_service_rows(home: &Home) -> usize {
    home.ok(&["token", "list", "--limit", "1000"])
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(NAME))
        .count()
}

async fn files_suite(backend: Backend) {
    let home = Home::new(&backend);
    let secret = random_secret();
    let m = mount(
        &home,
        &secret,
        &jwt::sign(&claims(Permission::Admin), &secret),
    );

    let mut server = home.start();
    assert!(
        !home.repo().join("secret").exists(),
        "with jwt.secretFile no <repo>/secret is created"
    );
    // The pre-signed token verifies as soon as the server is up.
    let (status, body) = verify_json(&server.url, &m.token, &m.token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["name"].as_str(), body["perm"].as_str()),
        (Some(NAME), Some("admin"))
    );
    // Tokens the server issues are signed with the file's secret too.
    jwt::verify(&server.admin_token, &m.secret).expect("CLI token signed with secretFile");
    assert_eq!(chain_service_rows(&home), 1);

    // A restart finds it registered: still one row, still verifying; the files untouched.
    server.stop();
    let server = home.start();
    let (status, _) = verify_json(&server.url, &m.token, &m.token).await;
    assert_eq!(status, 200);
    assert_eq!(chain_service_rows(&home), 1);
    assert_eq!(
        std::fs::read_to_string(&m.secret_file).unwrap(),
        hex::encode(&m.secret)
    );
    assert_eq!(std::fs::read_to_string(&m.token_file).unwrap(), m.token);

    // Neither the secret nor the token reaches the log.
    let log = server.log_text();
    assert!(log.contains("jwt.adminTokenFile"), "{log}");
    assert!(
        !log.contains(&hex::encode(&m.secret)),
        "secret logged: {log}"
    );
    assert!(!log.contains(&m.token), "token logged: {log}");

    // An admin's removal sticks: the next start does not bring the token back.
    home.ok(&["token", "rm", &m.token]);
    drop(server);
    let server = home.start();
    let (status, _) = verify_json(&server.url, &server.admin_token, &m.token).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn secret_and_admin_token_files_on_the_embedded_store() {
    files_suite(Backend::Sqlite).await;
}

#[tokio::test]
async fn secret_and_admin_token_files_on_mariadb() {
    let Some(server) = mysql_server() else { return };
    files_suite(mysql_backend(&server)).await;
}

/// Several auth replicas on one database start together with the same files: each registers
/// the token if absent, none fails on the others' insert.
#[tokio::test]
async fn replicas_on_mariadb_register_the_admin_token_once() {
    let Some(server) = mysql_server() else { return };
    let backend = mysql_backend(&server);
    let secret = random_secret();
    let token = jwt::sign(&claims(Permission::Admin), &secret);
    let homes: Vec<Home> = (0..3).map(|_| Home::new(&backend)).collect();
    for h in &homes {
        mount(h, &secret, &token);
    }
    let mut servers: Vec<_> = homes.iter().map(|h| h.spawn(&["run"])).collect();
    for (s, h) in servers.iter_mut().zip(&homes) {
        s.wait_ready(&h.repo());
    }
    for s in &servers {
        let (status, body) = verify_json(&s.url, &token, &token).await;
        assert_eq!(status, 200, "{}: {body}", s.url);
    }
    assert_eq!(chain_service_rows(&homes[0]), 1);
}

#[test]
fn bad_files_stop_run_with_the_file_named_and_nothing_leaked() {
    let secret = random_secret();
    let good_token = jwt::sign(&claims(Permission::Admin), &secret);
    let home = Home::new(&Backend::Sqlite);
    let m = mount(&home, &secret, &good_token);
    let hex_secret = hex::encode(&secret);

    let rewrite = |path: &PathBuf, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(path, text).unwrap();
    };
    let check = |what: &str, file: &PathBuf, want: &str, leaked: &[&str]| {
        let err = home.run_fails();
        assert!(
            err.contains(&file.display().to_string()) && err.contains(want),
            "{what}: {err}"
        );
        for l in leaked {
            assert!(!err.contains(l), "{what}: leaked into {err}");
        }
        assert!(!home.repo().join("secret").exists(), "{what}");
    };

    // The secret file.
    std::fs::remove_file(&m.secret_file).unwrap();
    check("missing secret", &m.secret_file, "no such file", &[]);
    rewrite(&m.secret_file, &format!("{}zz", &hex_secret[..62]));
    check("not hex", &m.secret_file, "not hex", &[&hex_secret[..62]]);
    rewrite(&m.secret_file, &hex_secret[..40]);
    check(
        "too short",
        &m.secret_file,
        "shorter than 32",
        &[&hex_secret[..40]],
    );
    rewrite(&m.secret_file, &format!("  {hex_secret}\n"));

    // The admin-token file.
    std::fs::remove_file(&m.token_file).unwrap();
    check("missing token", &m.token_file, "no such file", &[]);
    let foreign = jwt::sign(&claims(Permission::Admin), &random_secret());
    rewrite(&m.token_file, &foreign);
    check(
        "other secret",
        &m.token_file,
        "signature",
        &[&foreign, &hex_secret],
    );
    let read = jwt::sign(&claims(Permission::Read), &secret);
    rewrite(&m.token_file, &read);
    check("not admin", &m.token_file, "expected admin", &[&read]);
    rewrite(&m.token_file, "\n");
    check("empty token", &m.token_file, "empty", &[]);

    // Fixed files: it starts (whitespace around the secret is trimmed).
    rewrite(&m.token_file, &good_token);
    let server = home.start();
    assert!(!server.admin_token.is_empty());
}

/// The operator's form: one admin token per component, each its own user, listed in
/// `adminTokenFiles`. Each verifies; one removed or its user disabled leaves the others working.
#[tokio::test]
async fn one_admin_token_per_component_each_revocable_alone() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new(&Backend::Sqlite);
    let secret = random_secret();
    let dir = home.dir.path().join("component-tokens");
    std::fs::create_dir_all(&dir).unwrap();
    let components = ["gateway", "node", "messager", "miner"];
    let mut tokens = Vec::new();
    for c in components {
        let token = jwt::sign(
            &Claims {
                name: format!("chain-service-{c}"),
                perm: Permission::Admin,
                ext: String::new(),
            },
            &secret,
        );
        let path = dir.join(c);
        std::fs::write(&path, &token).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        tokens.push(token);
    }
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, hex::encode(&secret)).unwrap();
    let files: Vec<String> = components
        .iter()
        .map(|c| format!("\"{}\"", dir.join(c).display()))
        .collect();
    let config = home.repo().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[jwt]\nsecretFile = \"{}\"\nadminTokenFiles = [{}]\n",
        secret_file.display(),
        files.join(", ")
    ));
    std::fs::write(&config, text).unwrap();

    let server = home.start();
    for (c, token) in components.iter().zip(&tokens) {
        let (status, body) = verify_json(&server.url, token, token).await;
        assert_eq!(status, 200, "{c}: {body}");
        assert_eq!(body["name"], format!("chain-service-{c}"));
        assert_eq!(body["perm"], "admin");
    }
    let log = server.log_text();
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token logged: {log}");
    }

    // Revoke the miner's token alone, disable the messager's user alone.
    home.ok(&["token", "rm", &tokens[3]]);
    home.ok(&[
        "user",
        "update",
        "--name",
        "chain-service-messager",
        "--state",
        "2",
    ]);
    let admin = &server.admin_token;
    for (i, c) in components.iter().enumerate() {
        let (status, _) = verify_json(&server.url, admin, &tokens[i]).await;
        let want = if i >= 2 { 401 } else { 200 };
        assert_eq!(status, want, "{c}");
    }
}
