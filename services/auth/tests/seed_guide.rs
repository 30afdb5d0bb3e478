//! Every venus-auth command of the seed deployment guide, verbatim, in order, in a fresh
//! HOME — on the embedded store and on MariaDB — followed by the corrections the project
//! makes (revocation, disabled users) and bad input.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

async fn seed_guide(backend: Backend) {
    let home = Home::new(&backend);
    // $ nohup ./venus-auth run > auth.log 2>&1 &
    let mut server = home.start();
    assert!(
        home.repo().join("config.toml").exists(),
        "~/.venus-auth/config.toml exists"
    );

    // $ ./venus-auth token gen --perm admin <SHARED>   (SHARED is not a user yet)
    let shared = home
        .ok(&["token", "gen", "--perm", "admin", "shared"])
        .trim()
        .to_owned();
    assert!(is_jwt(&shared), "token gen prints the token: {shared:?}");
    let (status, v) = verify_json(&server.url, &shared, &shared).await;
    assert_eq!(
        (status, v["name"].as_str(), v["perm"].as_str()),
        (200, Some("shared"), Some("admin"))
    );

    // $ ./venus-auth user add --name=<USER> --miner=<minerID>
    let out = home.ok(&["user", "add", "--name=u1", "--miner=f01000"]);
    assert!(out.contains("Add user success"), "{out}");
    assert!(
        out.contains("create user:u1 miner:f01000 success."),
        "{out}"
    );

    // $ ./venus-auth token gen --perm write <USER> / --perm read <USER>
    let write = home
        .ok(&["token", "gen", "--perm", "write", "u1"])
        .trim()
        .to_owned();
    let read = home
        .ok(&["token", "gen", "--perm", "read", "u1"])
        .trim()
        .to_owned();
    for (token, perm) in [(&write, "write"), (&read, "read")] {
        let (status, v) = verify_json(&server.url, &shared, token).await;
        assert_eq!(
            (status, v["name"].as_str(), v["perm"].as_str()),
            (200, Some("u1"), Some(perm))
        );
    }

    // $ ./venus-auth user update --name <USER> --miner=<minerID>
    let out = home.ok(&["user", "update", "--name", "u1", "--miner=f01001"]);
    assert!(out.contains("update user success"), "{out}");

    // $ ./venus-auth user list
    let out = home.ok(&["user", "list"]);
    assert!(out.contains("name: u1"), "{out}");
    assert!(out.contains("miners: [f01000 f01001]"), "{out}");
    assert!(out.contains("name: shared"), "{out}");

    // $ ./venus-auth token list
    let out = home.ok(&["token", "list"]);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(&shared) || l.contains(&write) || l.contains(&read))
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("shared") && l.contains("admin")),
        "{out}"
    );

    // The original's forms work too.
    home.ok(&["user", "add", "u2"]);
    assert!(
        home.ok(&["user", "miner", "add", "u2", "t02000"])
            .contains("miner:f02000")
    );
    assert_eq!(
        home.ok(&["user", "miner", "exist", "--user", "u2", "f02000"])
            .trim(),
        "true"
    );
    assert_eq!(home.ok(&["miner", "has", "f09999"]).trim(), "false");
    let signer = "f1tclomb6b7dyohhken7bbqpgskiplvgyzd6bekoi";
    home.ok(&["user", "signer", "register", "u2", signer]);
    assert_eq!(
        home.ok(&["user", "signer", "exist", "--user", "u2", signer])
            .trim(),
        "true"
    );
    assert!(home.ok(&["user", "signer", "list", "u2"]).contains(signer));
    assert!(home.ok(&["user", "get", "u2"]).contains("state: enabled"));
    home.ok(&["user", "rate-limit", "add", "u2", "100", "1m"]);
    assert!(
        home.ok(&["user", "rate-limit", "get", "u2"])
            .contains("request limit amount:100")
    );

    // Bad input: unknown perm, duplicate user, malformed miner id — each named, non-zero exit.
    assert!(
        home.fails(&["token", "gen", "--perm", "root", "u1"])
            .contains("root")
    );
    assert!(
        home.fails(&["user", "add", "--name=u1"])
            .contains("already exists")
    );
    let err = home.fails(&["user", "add", "--name=u3", "--miner=f1abc"]);
    assert!(err.contains("f1abc"), "{err}");
    assert_eq!(
        home.ok(&["user", "list"]).matches("name: u3").count(),
        0,
        "no half-made user"
    );
    assert!(
        home.fails(&["user", "miner", "add", "u2", "f0x1"])
            .contains("f0x1")
    );
    assert!(
        home.fails(&["user", "signer", "register", "u2", "f01000"])
            .contains("signer")
    );

    // A removed token stops verifying at once.
    home.ok(&["token", "rm", &read]);
    assert_eq!(verify_json(&server.url, &shared, &read).await.0, 401);
    home.ok(&["token", "recover", &read]);
    assert_eq!(verify_json(&server.url, &shared, &read).await.0, 200);

    // A disabled, then removed, user's tokens stop verifying (the original keeps them valid).
    home.ok(&["user", "update", "--name", "u1", "--state", "2"]);
    let (status, v) = verify_json(&server.url, &shared, &write).await;
    assert_eq!(status, 401);
    assert!(
        v["error"].as_str().unwrap_or_default().contains("disabled"),
        "{v}"
    );
    home.ok(&["user", "active", "u1"]);
    assert_eq!(verify_json(&server.url, &shared, &write).await.0, 200);
    home.ok(&["user", "delete", "u1"]);
    assert_eq!(verify_json(&server.url, &shared, &write).await.0, 401);
    assert_eq!(
        home.ok(&["miner", "has", "f01000"]).trim(),
        "false",
        "a removed user's miners go"
    );

    // Data survives a restart; the CLI token is reused.
    let sign = home
        .ok(&["token", "gen", "--perm", "sign", "u2"])
        .trim()
        .to_owned();
    let admin_before = server.admin_token.clone();
    server.stop();
    let server = home.start();
    assert_eq!(server.admin_token, admin_before);
    let (status, v) = verify_json(&server.url, &shared, &sign).await;
    assert_eq!((status, v["perm"].as_str()), (200, Some("sign")));
    assert_eq!(
        verify_json(&server.url, &shared, &read).await.0,
        401,
        "u1 stays removed"
    );
    assert!(home.ok(&["user", "list"]).contains("name: u2"));

    // Logs never contain a token or the secret.
    let secret = std::fs::read_to_string(home.repo().join("secret")).unwrap();
    let log = server.log_text();
    for t in [&shared, &write, &read, &sign, &admin_before] {
        assert!(!log.contains(t.as_str()), "a token leaked into the log");
    }
    assert!(
        !log.contains(secret.trim()),
        "the secret leaked into the log"
    );
}

#[tokio::test]
async fn seed_guide_on_the_embedded_store() {
    seed_guide(Backend::Sqlite).await;
}

#[tokio::test]
async fn seed_guide_on_mariadb() {
    let Some(server) = mysql_server() else { return };
    seed_guide(mysql_backend(&server)).await;
}

#[test]
fn secret_and_token_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new(&Backend::Sqlite);
    let _server = home.start();
    for f in ["secret", "token"] {
        let mode = std::fs::metadata(home.repo().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
}

#[test]
fn bad_config_names_the_key_and_missing_dsn_is_refused() {
    let home = Home::new(&Backend::Sqlite);
    let cfg = home.repo().join("config.toml");
    std::fs::write(&cfg, "[db]\ntype = \"badger\"\nmaxOpenConn = 3\n").unwrap();
    let out = home.cli(&["run"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("maxopenconn"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(&cfg, "[db]\ntype = \"mysql\"\n").unwrap();
    let out = home.cli(&["run"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DSN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(&cfg, "[db]\ntype = \"postgres\"\n").unwrap();
    let err = String::from_utf8(home.cli(&["run"]).stderr).unwrap();
    assert!(err.contains("postgres") && err.contains("db.type"), "{err}");
}

#[test]
fn a_database_that_is_down_gives_a_clear_error_after_retrying() {
    let home = Home::new(&Backend::Sqlite);
    let port = free_port(); // nothing listens there
    let dsn = format!("root:pw@(127.0.0.1:{port})/venus_auth?parseTime=true&readTimeout=10s");
    let out = home.cli(&[
        "run",
        "--db-type",
        "mysql",
        "--mysql-dsn",
        &dsn,
        "--db-wait",
        "2s",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to MySQL") && err.contains(&port.to_string()),
        "{err}"
    );
    assert!(
        err.contains("retrying"),
        "it retried before giving up: {err}"
    );
    assert!(
        err.contains("readTimeout"),
        "the ignored DSN parameter is named: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains(":pw@"), "the password is not printed: {err}");
}

#[test]
fn client_commands_without_a_server_fail_clearly() {
    let home = Home::new(&Backend::Sqlite);
    let err = home.fails(&["user", "list"]);
    assert!(err.contains("venus-auth run"), "{err}");
}
