//! The pool operators' repair and tuning methods of venus-messager against a real stack
//! (e2e/src/stack.rs), with the original's permissions:
//! - ActorCfg (SaveActorCfg/UpdateActorCfg admin, ListActorCfg/GetActorCfgByID read): a fee
//!   spec for (receiver's actor code, method) is used when signing messages to such actors
//!   and only those;
//! - UpdateFilledMessageByID (write): refuses a final message, reports one not on chain;
//! - RecoverFailedMsg (write): a signed message marked failed whose nonce the chain has not
//!   used goes back in flight and lands.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use venus_api::full_node as api;
use venus_api::messager::{self as m, ActorCfg, ChangeGasSpecParams, FeeSpec, MessageState};
use venus_e2e::stack::{Stack, StackOptions, eventually, transfer_atto, wait_on_chain};
use venus_types::TokenAmount;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn actor_configs_filled_lookups_and_failed_recovery() {
    let stack = Stack::start(StackOptions::with_messager(2))
        .await
        .expect("stack");
    let msgr = stack.start_quick_messager().await.expect("messager");
    let admin = msgr.client(&msgr.local_token().unwrap()).await.unwrap();
    let write = msgr
        .client(&stack.user_token_with("write").unwrap())
        .await
        .unwrap();
    let read = msgr
        .client(&stack.user_token_with("read").unwrap())
        .await
        .unwrap();
    let node = stack.node_client().await.unwrap();
    let (a, b) = (stack.senders[0], stack.senders[1]);

    // ---- ActorCfg: a fee cap for plain sends (method 0) to account actors.
    let account_code = node
        .call(api::STATE_GET_ACTOR, (b, Default::default()))
        .await
        .unwrap()
        .code;
    // Above the devnet's base fee (it starts at 10^8), below the shared max fee per gas.
    let fee_cap = TokenAmount::from_atto(1_234_567_890u64);
    let cfg = ActorCfg {
        id: String::new(),
        actor_version: 0,
        code: account_code,
        method: 0,
        fee: FeeSpec {
            gas_fee_cap: fee_cap.clone(),
            ..Default::default()
        },
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    };
    let err = write
        .call(m::SAVE_ACTOR_CFG, (cfg.clone(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing permission"), "{err}");
    let mut undefined = cfg.clone();
    undefined.code = Default::default();
    let err = admin
        .call(m::SAVE_ACTOR_CFG, (undefined,))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("code cid is undefined"), "{err}");
    admin.call(m::SAVE_ACTOR_CFG, (cfg.clone(),)).await.unwrap();
    let err = admin
        .call(m::SAVE_ACTOR_CFG, (cfg.clone(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exists already"), "{err}");
    let listed = read.call(m::LIST_ACTOR_CFG, ()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].code, listed[0].method, &listed[0].fee.gas_fee_cap),
        (account_code, 0, &fee_cap)
    );
    let id = listed[0].id.clone();
    // A change of one field leaves the others.
    admin
        .call(
            m::UPDATE_ACTOR_CFG,
            (
                id.clone(),
                ChangeGasSpecParams {
                    gas_over_premium: Some(2.0),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    let got = read
        .call(m::GET_ACTOR_CFG_BY_ID, (id.clone(),))
        .await
        .unwrap();
    assert_eq!(got.fee.gas_over_premium, 2.0);
    assert_eq!(got.fee.gas_fee_cap, fee_cap);
    let err = read
        .call(m::GET_ACTOR_CFG_BY_ID, ("nope".to_owned(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("actor config nope not found"), "{err}");

    // A send to an account takes the config's fee cap; one to the miner actor does not.
    let records = stack
        .push_and_wait(
            &write,
            vec![transfer_atto(a, b, 1), transfer_atto(a, stack.miner, 1)],
            Duration::from_secs(120),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    assert_eq!(records[0].gas_fee_cap, fee_cap, "{:?}", records[0]);
    assert_ne!(records[1].gas_fee_cap, fee_cap, "{:?}", records[1]);

    // ---- UpdateFilledMessageByID: a final message is refused; an unknown id is not found.
    let err = write
        .call(m::UPDATE_FILLED_MESSAGE_BY_ID, (records[0].id.clone(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is final"), "{err}");
    let err = write
        .call(m::UPDATE_FILLED_MESSAGE_BY_ID, ("nope".to_owned(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not found"), "{err}");

    // ---- A message kept off chain: signed (Fill) but not on chain, then marked failed and
    // recovered.
    let producer = stack.producer().expect("block producer");
    producer.hold_back(vec![b]);
    let id = write
        .call(m::PUSH_MESSAGE, (transfer_atto(b, a, 7), None))
        .await
        .unwrap();
    eventually(
        "the held-back message is signed",
        Duration::from_secs(60),
        || {
            let (w, id) = (write.clone(), id.clone());
            async move {
                w.call(m::GET_MESSAGE_BY_UID, (id,))
                    .await
                    .is_ok_and(|r| r.state == MessageState::FillMsg)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    let err = write
        .call(m::UPDATE_FILLED_MESSAGE_BY_ID, (id.clone(),))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not found on chain"), "{err}");
    write
        .call(m::MARK_BAD_MESSAGE, (id.clone(),))
        .await
        .unwrap();
    let err = read
        .call(m::RECOVER_FAILED_MSG, (b,))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing permission"), "{err}");
    let recovered = write.call(m::RECOVER_FAILED_MSG, (b,)).await.unwrap();
    assert_eq!(recovered, vec![id.clone()]);
    assert!(
        write
            .call(m::RECOVER_FAILED_MSG, (b,))
            .await
            .unwrap()
            .is_empty(),
        "nothing left to recover"
    );
    producer.hold_back(Vec::new());
    let landed = wait_on_chain(&write, std::slice::from_ref(&id), Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", stack.log("messager")));
    assert_eq!(landed[0].receipt.as_ref().map(|r| r.exit_code), Some(0));
}
