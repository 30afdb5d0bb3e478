//! Node failover: the messager knows an extra node (`node add`); when the main node dies,
//! reads and pushes move to the extra node by themselves and messages keep landing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use venus_api::messager::{self as m, MessageState, NodeInfo};
use venus_e2e::stack::{Stack, StackOptions, eventually};
use venus_rpc::Client;
use venus_types::{Address, TokenAmount};

async fn metrics(port: u16) -> String {
    let http = venus_rpc::tls::http_client_builder().build().unwrap();
    http.get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn landed(c: &Client, ids: &[String]) -> bool {
    for id in ids {
        match c.call(m::GET_MESSAGE_BY_UID, (id.clone(),)).await {
            Ok(r) if r.state == MessageState::OnChainMsg => {}
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_and_pushes_move_to_the_extra_node_when_the_main_node_dies() {
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
    let c = Client::builder(&msgr.url())
        .token(Some(stack.admin_token.clone()))
        .connect()
        .await
        .unwrap();
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
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            c.call(m::PUSH_MESSAGE, (send(from, to, 1 + i), None))
                .await
                .unwrap(),
        );
    }
    eventually("the first messages land", Duration::from_secs(120), || {
        landed(&c, &ids)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    assert!(
        metrics(msgr.port)
            .await
            .contains(r#"venus_messager_node_active{node="main"} 1"#)
    );

    stack.kill("node").unwrap();
    eventually(
        "the extra node becomes the active one",
        Duration::from_secs(30),
        || async {
            metrics(msgr.port)
                .await
                .contains(r#"venus_messager_node_active{node="node-1"} 1"#)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    for i in 10..20 {
        ids.push(
            c.call(m::PUSH_MESSAGE, (send(from, to, 1 + i), None))
                .await
                .unwrap(),
        );
    }
    eventually(
        "the messages pushed after the failover land",
        Duration::from_secs(120),
        || landed(&c, &ids),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    let mut nonces = Vec::new();
    for id in &ids {
        nonces.push(
            c.call(m::GET_MESSAGE_BY_UID, (id.clone(),))
                .await
                .unwrap()
                .nonce,
        );
    }
    nonces.sort_unstable();
    assert_eq!(nonces, (0..20).collect::<Vec<u64>>());
}

fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
}

fn send(from: Address, to: Address, value: u64) -> venus_types::Message {
    venus_e2e::stack::transfer(from, to, TokenAmount::from_atto(value))
}
