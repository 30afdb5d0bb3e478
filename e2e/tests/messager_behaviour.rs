//! venus-messager's answers to bad input, a wallet that goes offline and comes back, and
//! replacing (by hand and by itself) a message that does not get on chain — against real
//! auth, gateway, node, wallet and prover processes (e2e/src/stack.rs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rand::SeedableRng;
use serde_json::value::RawValue;
use venus_api::messager::{self as m, MessageState, ReplaceMessageParams};
use venus_e2e::stack::{Stack, StackOptions, eventually, transfer};
use venus_rpc::Client;
use venus_types::{KeyType, PrivateKey, TokenAmount};

async fn client(url: &str, token: &str) -> Client {
    Client::builder(url)
        .token(Some(token.to_owned()))
        .connect()
        .await
        .unwrap()
}

async fn state_of(c: &Client, id: &str) -> MessageState {
    c.call(m::GET_MESSAGE_BY_UID, (id.to_owned(),))
        .await
        .map(|r| r.state)
        .unwrap_or(MessageState::UnKnown)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_wallet_offline_and_replacing_a_stuck_message() {
    let stack = Stack::start(StackOptions::with_messager(2))
        .await
        .expect("stack");
    let config =
        "[messageService]\nWaitingChainHeadStableDuration = \"1s\"\nreplaceStuckAfterEpochs = 3\n";
    let msgr = stack
        .start_messager("messager", config, &[])
        .await
        .expect("messager");
    let admin = client(&msgr.url(), &stack.admin_token).await;
    let (a, b) = (stack.senders[0], stack.senders[1]);

    // ---- bad input: each refused with an error that names the problem.
    let user_write = stack
        .auth_cli(&["token", "gen", "--perm", "write", &stack.user])
        .unwrap();
    let user_read = stack
        .auth_cli(&["token", "gen", "--perm", "read", &stack.user])
        .unwrap();
    stack
        .auth_cli(&["user", "add", "--name=other-user"])
        .unwrap();
    let other = stack
        .auth_cli(&["token", "gen", "--perm", "write", "other-user"])
        .unwrap();
    let writer = client(&msgr.url(), &user_write).await;

    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let nobody = PrivateKey::generate(KeyType::Secp256k1, &mut rng)
        .unwrap()
        .address();
    let e = admin
        .call(
            m::PUSH_MESSAGE,
            (transfer(nobody, a, TokenAmount::from_atto(1u64)), None),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown address") && e.contains(&nobody.to_string()),
        "{e}"
    );

    let e = writer
        .call(
            m::PUSH_MESSAGE,
            (
                transfer(a, b, TokenAmount::from_whole(10_000_000_000u64)),
                None,
            ),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds the balance"), "{e}");

    let e = writer
        .call(
            m::PUSH_MESSAGE,
            (transfer(a, b, TokenAmount::from_atto(-1i64)), None),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("negative"), "{e}");

    let malformed = RawValue::from_string(r#"[{"To":"not-an-address"},null]"#.to_owned()).unwrap();
    let e = writer
        .call_raw("Message.PushMessage", &malformed, Duration::from_secs(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("param") || e.contains("address"),
        "{e}"
    );

    let reader = client(&msgr.url(), &user_read).await;
    let e = reader
        .call(
            m::PUSH_MESSAGE,
            (transfer(a, b, TokenAmount::from_atto(1u64)), None),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing permission") && e.contains("write"),
        "{e}"
    );

    let stranger = client(&msgr.url(), &other).await;
    let e = stranger
        .call(
            m::PUSH_MESSAGE,
            (transfer(a, b, TokenAmount::from_atto(1u64)), None),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no permission for signer"), "{e}");
    // And the stranger sees none of the user's messages.
    let id = writer
        .call(
            m::PUSH_MESSAGE,
            (transfer(a, b, TokenAmount::from_atto(1u64)), None),
        )
        .await
        .unwrap();
    assert!(
        stranger
            .call(m::GET_MESSAGE_BY_UID, (id.clone(),))
            .await
            .is_err()
    );
    assert!(
        stranger
            .call(m::LIST_MESSAGE, (None,))
            .await
            .unwrap()
            .is_empty()
    );
    // PushMessageWithId: the same id twice is one message.
    let first = writer
        .call(
            m::PUSH_MESSAGE_WITH_ID,
            (
                "fixed-id".to_owned(),
                transfer(a, b, TokenAmount::from_atto(2u64)),
                None,
            ),
        )
        .await
        .unwrap();
    let again = writer
        .call(
            m::PUSH_MESSAGE_WITH_ID,
            (
                "fixed-id".to_owned(),
                transfer(a, b, TokenAmount::from_atto(2u64)),
                None,
            ),
        )
        .await
        .unwrap();
    assert_eq!((first.as_str(), again.as_str()), ("fixed-id", "fixed-id"));
    for id in [&id, &first] {
        let c = writer.clone();
        let id = id.clone();
        eventually("pushed messages on chain", Duration::from_secs(90), || {
            let c = c.clone();
            let id = id.clone();
            async move { state_of(&c, &id).await == MessageState::OnChainMsg }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    }

    // ---- the wallet goes offline: messages wait (NoWallet) and go when it is back.
    stack.kill("wallet").unwrap();
    let waiting = writer
        .call(
            m::PUSH_MESSAGE,
            (transfer(b, a, TokenAmount::from_atto(3u64)), None),
        )
        .await
        .unwrap();
    eventually(
        "the message waits for its wallet",
        Duration::from_secs(60),
        || {
            let c = writer.clone();
            let id = waiting.clone();
            async move { state_of(&c, &id).await == MessageState::NoWalletMsg }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    assert!(!writer.call(m::WALLET_HAS, (b,)).await.unwrap());
    stack.restart("wallet").unwrap();
    eventually(
        "the message lands once the wallet is back",
        Duration::from_secs(120),
        || {
            let c = writer.clone();
            let id = waiting.clone();
            async move { state_of(&c, &id).await == MessageState::OnChainMsg }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));

    // ---- a message held off chain is re-priced by hand, then by the messager itself.
    let producer = stack.producer().expect("producer");
    producer.hold_back(vec![a]);
    let stuck = writer
        .call(
            m::PUSH_MESSAGE,
            (transfer(a, b, TokenAmount::from_atto(4u64)), None),
        )
        .await
        .unwrap();
    eventually(
        "the held-back message is signed",
        Duration::from_secs(60),
        || {
            let c = writer.clone();
            let id = stuck.clone();
            async move { state_of(&c, &id).await == MessageState::FillMsg }
        },
    )
    .await
    .unwrap();
    let before = writer
        .call(m::GET_MESSAGE_BY_UID, (stuck.clone(),))
        .await
        .unwrap();
    let new_cid = writer
        .call(
            m::REPLACE_MESSAGE,
            (ReplaceMessageParams {
                id: stuck.clone(),
                auto: true,
                ..Default::default()
            },),
        )
        .await
        .unwrap();
    let manual = writer
        .call(m::GET_MESSAGE_BY_UID, (stuck.clone(),))
        .await
        .unwrap();
    assert_eq!(manual.signed_cid, Some(new_cid));
    assert_ne!(manual.signed_cid, before.signed_cid);
    assert_eq!(manual.nonce, before.nonce, "a replacement keeps the nonce");
    assert!(
        manual.gas_premium.atto() * 100u32 >= before.gas_premium.atto() * 125u32,
        "premium {} is not ≥ 1.25 × {}",
        manual.gas_premium.atto(),
        before.gas_premium.atto()
    );
    // Stuck for replaceStuckAfterEpochs: the messager re-prices it by itself.
    eventually(
        "the stuck message is re-priced",
        Duration::from_secs(90),
        || {
            let c = writer.clone();
            let id = stuck.clone();
            let cid = manual.signed_cid;
            async move {
                c.call(m::GET_MESSAGE_BY_UID, (id,))
                    .await
                    .map(|r| r.signed_cid != cid)
                    .unwrap_or(false)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    let auto = writer
        .call(m::GET_MESSAGE_BY_UID, (stuck.clone(),))
        .await
        .unwrap();
    assert!(auto.gas_premium.atto() * 100u32 >= manual.gas_premium.atto() * 125u32);
    producer.hold_back(Vec::new());
    eventually(
        "the re-priced message lands",
        Duration::from_secs(90),
        || {
            let c = writer.clone();
            let id = stuck.clone();
            async move { state_of(&c, &id).await == MessageState::OnChainMsg }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    let landed = writer.call(m::GET_MESSAGE_BY_UID, (stuck,)).await.unwrap();
    assert_eq!(landed.nonce, before.nonce);
    assert!(landed.receipt.is_some_and(|r| r.exit_code == 0));
}
