//! Node failover: the messager knows an extra node (`node add`); when the main node dies,
//! reads and pushes move to the extra node by themselves and messages keep landing; when the
//! main node is back (restarted, caught up), they move back to it by themselves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use venus_api::messager::{self as m, MessageState, NodeInfo};
use venus_e2e::stack::{Stack, StackOptions, eventually, transfer_atto};
use venus_types::Address;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_and_pushes_move_to_the_extra_node_when_the_main_node_dies_and_back() {
    let stack = Stack::start(StackOptions {
        senders: 1,
        extra_nodes: 1,
        extra_binaries: vec![("venus-messager", "venus-messager")],
        ..Default::default()
    })
    .await
    .expect("stack");
    let config =
        "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\nnodeHealthInterval = \"1s\"\n";
    let msgr = stack
        .start_messager("messager", config, &[])
        .await
        .expect("messager");
    let c = msgr.client(&stack.admin_token).await.unwrap();
    c.call(
        m::SAVE_NODE,
        (NodeInfo {
            id: String::new(),
            name: "node-1".into(),
            url: stack.extra_node_urls[0].clone(),
            token: stack.admin_token.clone(),
            r#type: 1,
            created_at: chrono_epoch(),
            updated_at: chrono_epoch(),
        },),
    )
    .await
    .unwrap();
    let listed = c.call(m::LIST_NODE, ()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let bad = c
        .call(
            m::SAVE_NODE,
            (NodeInfo {
                id: String::new(),
                name: "nowhere".into(),
                url: "/ip4/127.0.0.1/tcp/1".into(),
                token: String::new(),
                r#type: 1,
                created_at: chrono_epoch(),
                updated_at: chrono_epoch(),
            },),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(bad.contains("does not answer"), "{bad}");

    let from = stack.senders[0];
    let to: Address = stack.miner;
    let first: Vec<_> = (0..10).map(|i| transfer_atto(from, to, 1 + i)).collect();
    let mut records = stack
        .push_and_wait(&c, first, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("the first messages land: {e}\n{}", stack.log("messager")));
    assert!(
        msgr.metrics()
            .await
            .unwrap()
            .contains(r#"venus_messager_node_active{node="main"} 1"#)
    );

    stack.kill("node").unwrap();
    // The messager checks every node each second (`nodeHealthInterval`); the generous wait
    // is for a loaded machine, where the extra node may be busy catching up.
    let switched = eventually(
        "the extra node becomes the active one",
        Duration::from_secs(60),
        || async {
            msgr.metrics()
                .await
                .unwrap_or_default()
                .contains(r#"venus_messager_node_active{node="node-1"} 1"#)
        },
    )
    .await;
    if let Err(e) = switched {
        let metrics = msgr.metrics().await.unwrap_or_default();
        let gauges: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("venus_messager_node_"))
            .collect();
        panic!("{e}\nnode gauges: {gauges:?}\n{}", stack.log("messager"));
    }
    let after: Vec<_> = (10..20).map(|i| transfer_atto(from, to, 1 + i)).collect();
    records.extend(
        stack
            .push_and_wait(&c, after, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "the messages pushed after the failover land: {e}\n{}",
                    stack.log("messager")
                )
            }),
    );
    let mut nonces: Vec<u64> = records.iter().map(|r| r.nonce).collect();
    nonces.sort_unstable();
    assert_eq!(nonces, (0..20).collect::<Vec<u64>>());

    // Failback: the main node comes back; once it answers and is not behind, it is the
    // active node again, and messages land through it.
    stack.restart("node").unwrap();
    eventually(
        "the main node is the active one again",
        Duration::from_secs(120),
        || async {
            msgr.metrics()
                .await
                .unwrap_or_default()
                .contains(r#"venus_messager_node_active{node="main"} 1"#)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    let back: Vec<_> = (20..30).map(|i| transfer_atto(from, to, 1 + i)).collect();
    stack
        .push_and_wait(&c, back, Duration::from_secs(180))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the messages pushed after the failback land: {e}\n{}",
                stack.log("messager")
            )
        });
    // Every message on chain, nonces without a gap or a repeat (a reorg onto the main node's
    // chain puts messages back in flight; they land again with the same nonces).
    eventually(
        "all 30 messages on chain with nonces 0..30",
        Duration::from_secs(120),
        || async {
            let all = c
                .call(m::LIST_MESSAGE_BY_ADDRESS, (from,))
                .await
                .unwrap_or_default();
            let mut nonces: Vec<u64> = all
                .iter()
                .filter(|r| r.state == MessageState::OnChainMsg)
                .map(|r| r.nonce)
                .collect();
            nonces.sort_unstable();
            all.len() == 30 && nonces == (0..30).collect::<Vec<u64>>()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
}

fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
}
