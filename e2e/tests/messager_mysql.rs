//! Two venus-messager instances on one MariaDB database (VENUS_TEST_MYSQL_URL), one with
//! the Go DSN the seed writes and one with a mysql:// URL: the row lease makes exactly one
//! the primary, both accept pushes and answer queries; when the primary is killed (-9) the
//! other takes over and every message lands once with gap-free nonces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use venus_api::messager::{self as m, MessageState, MsgQueryParams};
use venus_e2e::stack::{
    Stack, StackOptions, check_gap_free, eventually, transfer_atto, wait_http, wait_on_chain,
};
use venus_rpc::Client;

/// `mysql://u:p@h:port/` → (URL of database `db`, the same in the Go driver's DSN form).
fn database(server: &str, db: &str) -> (String, String) {
    let rest = server.trim_start_matches("mysql://").trim_end_matches('/');
    let (cred, hostport) = rest
        .rsplit_once('@')
        .expect("user@host in VENUS_TEST_MYSQL_URL");
    (
        format!("mysql://{cred}@{hostport}/{db}"),
        format!(
            "{cred}@({hostport})/{db}?parseTime=true&loc=Local&readTimeout=10s&writeTimeout=10s"
        ),
    )
}

fn is_holder(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("venus_messager_lease_holder") && l.trim_end().ends_with(" 1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_mariadb_fail_over_without_losing_or_repeating_a_nonce() {
    let Some(server) = venus_e2e::stack::test_mysql_server() else {
        return;
    };
    let db = format!("venus_messager_e2e_{}", std::process::id());
    let (url, go_dsn) = database(&server, &db);
    let stack = Stack::start(StackOptions::with_messager(2))
        .await
        .expect("stack");
    let config = "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\n";
    let a = stack
        .start_messager(
            "messager-a",
            config,
            &["--db-type=mysql".into(), format!("--mysql-dsn={go_dsn}")],
        )
        .await
        .expect("a");
    eventually("a holds the lease", Duration::from_secs(30), || async {
        is_holder(&a.metrics().await.unwrap_or_default())
    })
    .await
    .unwrap();
    let b = stack
        .start_messager(
            "messager-b",
            config,
            &["--db-type=mysql".into(), format!("--mysql-dsn={url}")],
        )
        .await
        .expect("b");
    assert!(
        !is_holder(&b.metrics().await.unwrap_or_default()),
        "b must stand by while a holds the lease"
    );

    let ca = Client::builder(&a.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    let cb = Client::builder(&b.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
    let mut shared = cb.call(m::GET_SHARED_PARAMS, ()).await.unwrap();
    shared.sel_msg_num = 50;
    cb.call(m::SET_SHARED_PARAMS, (shared,)).await.unwrap();
    let (x, y) = (stack.senders[0], stack.senders[1]);
    let mut ids = Vec::new();
    // Pushes go to both instances; only the primary signs.
    for i in 0..60u64 {
        let c = if i % 2 == 0 { &ca } else { &cb };
        let (from, to) = if i % 3 == 0 { (y, x) } else { (x, y) };
        ids.push(
            c.call(m::PUSH_MESSAGE, (transfer_atto(from, to, 1 + i), None))
                .await
                .unwrap(),
        );
    }
    eventually("a signs some", Duration::from_secs(60), || {
        let c = cb.clone();
        async move {
            let p = MsgQueryParams {
                state: vec![MessageState::FillMsg, MessageState::OnChainMsg],
                limit: 1000,
                ..Default::default()
            };
            c.call(m::LIST_MESSAGE, (Some(p),))
                .await
                .map(|l| !l.is_empty())
                .unwrap_or(false)
        }
    })
    .await
    .unwrap();
    stack.kill("messager-a").unwrap();
    let killed = std::time::Instant::now();
    eventually(
        "b takes over within 10 s",
        Duration::from_secs(15),
        || async { is_holder(&b.metrics().await.unwrap_or_default()) },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager-b")));
    eprintln!("takeover after {:?}", killed.elapsed());
    for i in 60..100u64 {
        let (from, to) = if i % 3 == 0 { (y, x) } else { (x, y) };
        ids.push(
            cb.call(m::PUSH_MESSAGE, (transfer_atto(from, to, 1 + i), None))
                .await
                .unwrap(),
        );
    }
    let records = wait_on_chain(&cb, &ids, Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager-b")));
    let node = stack.node_client().await.unwrap();
    check_gap_free(&node, &records).await.unwrap();
    // a comes back as the standby.
    stack.restart("messager-a").unwrap();
    wait_http(
        &format!("http://127.0.0.1:{}/readyz", a.port),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert!(!is_holder(&a.metrics().await.unwrap_or_default()));
    assert!(is_holder(&b.metrics().await.unwrap_or_default()));
}
