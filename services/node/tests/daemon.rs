//! The `venus` binary end to end: flags and config errors, the seed's daemon command, tokens,
//! health endpoints and `venus sync status`.

mod common;

use common::*;

#[test]
fn bad_flags_and_config_fail_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let out = venus(&repo, &["daemon", "--network=testnetnet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown network \"testnetnet\""), "{err}");

    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(
        repo.join("config.json"),
        r#"{"api":{"apiAddress":"localhost:3453"}}"#,
    )
    .expect("write");
    let out = venus(&repo, &["daemon", "--network=2k"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("api.apiAddress") && err.contains("localhost:3453"),
        "{err}"
    );

    std::fs::write(repo.join("config.json"), "{ not json").expect("write");
    let out = venus(&repo, &["daemon"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.json"));

    write_free_port_config(&repo);
    let out = venus(&repo, &["daemon", "--network=2k", "--make-genesis=g.car"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--genesis-template"));

    // A client command with no daemon: a clear error, not a panic.
    let out = venus(&dir.path().join("empty"), &["sync", "status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the daemon running?"));
}

const CALIBNET_GENESIS: &str = "bafy2bzacecyaggy24wol5ruvs6qm73gjibs2l2iyhcqmvi7r7a4ph7zx3yqd4";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_network_serves_but_never_claims_to_be_synced() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A public network's node never makes up a genesis: it needs the network's own.
    let repo = dir.path().join("calib");
    write_free_port_config(&repo);
    let out = venus(&repo, &["daemon", "--network=calibnet"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--genesisfile") && err.contains(CALIBNET_GENESIS),
        "{err}"
    );
    assert!(!repo.join("chain").exists(), "no chain made");
    let out = venus(
        &repo,
        &[
            "daemon",
            "--network=mainnet",
            "--make-genesis=g.car",
            "--genesis-template=t.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("never makes one"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A genesis made here (a local template named after butterflynet, a test network that
    // is reset and so has no fixed genesis CID).
    let tpl = dir.path().join("template.json");
    let out = venus(
        dir.path(),
        &["seed", "genesis", "new", tpl.to_str().expect("utf8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tpl).expect("template")).expect("json");
    v["NetworkName"] = serde_json::json!("butterflynet");
    std::fs::write(&tpl, serde_json::to_vec(&v).expect("json")).expect("write");
    let car = dir.path().join("genesis.car");
    let maker = dir.path().join("maker");
    write_free_port_config(&maker);
    drop(start_daemon(
        &maker,
        &[
            "daemon",
            "--network=2k",
            &format!("--make-genesis={}", car.display()),
            &format!("--genesis-template={}", tpl.display()),
        ],
    ));
    let genesis_flag = format!("--genesisfile={}", car.display());

    // Calibnet refuses it: not calibnet's genesis.
    let out = venus(&repo, &["daemon", "--network=calibnet", &genesis_flag]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(CALIBNET_GENESIS) && err.contains("refusing"),
        "{err}"
    );
    assert!(!repo.join("chain").exists(), "no chain kept");

    let repo = dir.path().join("repo");
    write_free_port_config(&repo);
    let d = start_daemon(&repo, &["daemon", "--network=butterflynet", &genesis_flag]);

    // Every request needs a token, as venus answers.
    let (status, _) = rpc(&d.url, None, "Filecoin.Version", serde_json::json!([])).await;
    assert_eq!(status, 401);
    let (status, _) = rpc(
        &d.url,
        Some("not-a-token"),
        "Filecoin.Version",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(status, 401);

    let (status, body) = rpc(
        &d.url,
        Some(&d.token),
        "Filecoin.Version",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["APIVersion"], 131_840);

    let (_, body) = rpc(
        &d.url,
        Some(&d.token),
        "Filecoin.StateGetNetworkParams",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(body["result"]["BlockDelaySecs"], 30, "{body}");
    assert_eq!(body["result"]["NetworkName"], "butterflynet", "{body}");

    // A method venus has but this node does not serve: "method not found", never a made-up result.
    let (_, body) = rpc(
        &d.url,
        Some(&d.token),
        "Filecoin.PaychGet",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(body["error"]["code"], -32601, "{body}");

    let http = venus_rpc::tls::http_client_builder()
        .build()
        .expect("http client");
    let live = http
        .get(format!("{}/livez", d.url))
        .send()
        .await
        .expect("livez");
    assert_eq!(live.status().as_u16(), 200);
    let ready = http
        .get(format!("{}/readyz?verbose", d.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 503);
    let text = ready.text().await.expect("body");
    assert!(text.contains("no peers reachable"), "{text}");
    let metrics = http
        .get(format!("{}/metrics", d.url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status().as_u16(), 200);

    let out = venus(&repo, &["sync", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("no peers reachable") && !text.contains("Done!"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_daemon_command_with_auth_url_alone() {
    // `venus daemon --network=nerpa --auth-url=<http://IP:PORT>` exactly as the seed writes
    // it. venus-auth is down here: the node still serves its local token, and a foreign
    // token is refused (the remote check is unavailable), never let through.
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    write_free_port_config(&repo);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let auth_url = format!("--auth-url=http://127.0.0.1:{port}");
    let d = start_daemon(&repo, &["daemon", "--network=nerpa", &auth_url]);
    let (status, body) = rpc(
        &d.url,
        Some(&d.token),
        "Filecoin.StateNetworkName",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let foreign =
        venus_rpc::LocalVerifier::new(b"other".to_vec()).issue("u", venus_rpc::Permission::Admin);
    let (status, _) = rpc(
        &d.url,
        Some(&foreign),
        "Filecoin.Version",
        serde_json::json!([]),
    )
    .await;
    // Refused: 503 says the remote verifier is unavailable (venus itself answers 401).
    assert!(status == 401 || status == 503, "{status}");
    let cfg = std::fs::read_to_string(repo.join("config.json")).expect("config");
    assert!(
        cfg.contains(&format!("http://127.0.0.1:{port}")),
        "auth url recorded: {cfg}"
    );
    assert!(cfg.contains("\"networkType\": 5"), "{cfg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_flag_reads_the_given_file_and_never_writes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    // The repo's own config names a port that is taken: used, it would fail the start.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_port = busy.local_addr().expect("addr").port();
    std::fs::create_dir_all(&repo).expect("repo");
    std::fs::write(
        repo.join("config.json"),
        format!(r#"{{"api":{{"apiAddress":"/ip4/127.0.0.1/tcp/{busy_port}"}}}}"#),
    )
    .expect("repo config");
    // The mounted file (a read-only ConfigMap in Kubernetes).
    let mounted = dir.path().join("etc").join("config.json");
    std::fs::create_dir_all(mounted.parent().expect("dir")).expect("etc");
    let text = r#"{"api":{"apiAddress":"/ip4/127.0.0.1/tcp/0"},"mpool":{"maxNonceGap":7}}"#;
    std::fs::write(&mounted, text).expect("mounted config");
    let before = std::fs::metadata(&mounted)
        .expect("meta")
        .modified()
        .expect("mtime");
    let config = format!("--config={}", mounted.display());

    let d = start_daemon(&repo, &["daemon", "--network=2k", &config]);
    let port: u16 = d
        .url
        .rsplit(':')
        .next()
        .expect("port")
        .parse()
        .expect("num");
    assert_ne!(port, busy_port, "the API address came from --config");
    let (status, body) = rpc(
        &d.url,
        Some(&d.token),
        "Filecoin.StateGetNetworkParams",
        serde_json::json!([]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["BlockDelaySecs"], 4, "{body}");
    assert_eq!(std::fs::read_to_string(&mounted).expect("read"), text);
    let after = std::fs::metadata(&mounted)
        .expect("meta")
        .modified()
        .expect("mtime");
    assert_eq!(before, after, "--config file untouched");
    // The repo remembers the network in its own config.json, and nothing from --config.
    let repo_cfg = std::fs::read_to_string(repo.join("config.json")).expect("repo config");
    assert!(repo_cfg.contains("\"networkType\": 2"), "{repo_cfg}");
    assert!(repo_cfg.contains(&format!("tcp/{busy_port}")), "{repo_cfg}");
    assert!(!repo_cfg.contains("\"maxNonceGap\": 7"), "{repo_cfg}");
    drop(d);

    // A bad --config fails like a bad repo config, naming the file and the field.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"api":{"apiAddress":"localhost:1"}}"#).expect("bad");
    let out = venus(&repo, &["daemon", &format!("--config={}", bad.display())]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("api.apiAddress") && err.contains("localhost:1"),
        "{err}"
    );
    let out = venus(
        &repo,
        &[
            "daemon",
            &format!("--config={}", dir.path().join("none.json").display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.json"));
    drop(busy);
}
