//! Block production through the API, as sophon-miner does it: MinerGetBaseInfo → ticket
//! and election VRFs with the worker key → MinerCreateBlock → sign → SyncSubmitBlock; and
//! the `venus seed` files of a local 2k network.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use crate::common::venus;
use venus_api::full_node as api;
use venus_chain::testkit::template_from_base_info;
use venus_rpc::Client;
use venus_types::crypto::PrivateKey;
use venus_types::{Address, BlockMsg, BlockTemplate, SignedMessage, TipSet};

pub const MINER: &str = "t01000";

pub fn seed_network(dir: &Path) -> (std::path::PathBuf, PrivateKey) {
    let sectors = dir.join("sectors");
    let out = venus(
        dir,
        &[
            "seed",
            "pre-seal",
            "--sector-dir",
            sectors.to_str().expect("utf8"),
            "--num-sectors",
            "2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tpl = dir.join("localnet.json");
    let out = venus(
        dir,
        &["seed", "genesis", "new", tpl.to_str().expect("utf8")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preseal = sectors.join(format!("pre-seal-{MINER}.json"));
    let out = venus(
        dir,
        &[
            "seed",
            "genesis",
            "add-miner",
            tpl.to_str().expect("utf8"),
            preseal.to_str().expect("utf8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = venus_node::keyfile::read_key_file(&sectors.join(format!("pre-seal-{MINER}.key")))
        .expect("key");
    (tpl, key)
}

pub struct Produced {
    pub template: BlockTemplate,
}

/// Build a winning template for the first epoch after `parent` that this miner wins.
pub async fn winning_template(
    c: &Client,
    key: &PrivateKey,
    parent: &TipSet,
    messages: Vec<SignedMessage>,
) -> Produced {
    let miner: Address = MINER.parse().expect("miner");
    let genesis = c.call(api::CHAIN_GET_GENESIS, ()).await.expect("genesis");
    let mut epoch = parent.height() + 1;
    loop {
        let info = c
            .call(
                api::MINER_GET_BASE_INFO,
                (miner, epoch, parent.key().clone()),
            )
            .await
            .expect("base info")
            .expect("miner exists");
        assert_eq!(info.worker_key, key.address());
        let timestamp = genesis.min_timestamp() + epoch as u64 * 4;
        match template_from_base_info(
            key,
            &miner,
            parent,
            epoch,
            &info,
            messages.clone(),
            timestamp,
        )
        .expect("template")
        {
            Some(template) => return Produced { template },
            None => epoch += 1, // a null round for us
        }
    }
}

pub async fn wait_for_time(ts: u64) {
    loop {
        let now = venus_node::node::now_secs();
        if now >= ts {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn produce(c: &Client, key: &PrivateKey, messages: Vec<SignedMessage>) -> BlockMsg {
    let head = c.call(api::CHAIN_HEAD, ()).await.expect("head");
    let p = winning_template(c, key, &head, messages).await;
    wait_for_time(p.template.timestamp).await;
    let mut block = c
        .call(api::MINER_CREATE_BLOCK, (p.template,))
        .await
        .expect("create block");
    assert!(
        block.header.block_sig.is_none(),
        "the node lacks the worker key: the block comes back unsigned"
    );
    block.header.block_sig = Some(key.sign(&block.header.signing_bytes()));
    c.call(api::SYNC_SUBMIT_BLOCK, (block.clone(),))
        .await
        .expect("submit");
    block
}

/// A transfer of `value` from `key`'s address (funded at genesis) to `to`, at the next nonce,
/// gas estimated by the node, signed.
pub async fn signed_transfer(
    c: &Client,
    key: &PrivateKey,
    to: Address,
    value: venus_types::TokenAmount,
) -> SignedMessage {
    let nonce = c
        .call(api::MPOOL_GET_NONCE, (key.address(),))
        .await
        .expect("nonce");
    let msg = venus_types::Message {
        version: 0,
        to,
        from: key.address(),
        nonce,
        value,
        gas_limit: 0,
        gas_fee_cap: venus_types::TokenAmount::zero(),
        gas_premium: venus_types::TokenAmount::zero(),
        method: 0,
        params: Default::default(),
    };
    let msg = c
        .call(
            api::GAS_ESTIMATE_MESSAGE_GAS,
            (msg, None, Default::default()),
        )
        .await
        .expect("estimate");
    assert!(msg.gas_limit > 0);
    SignedMessage {
        signature: key.sign(&msg.signing_bytes()),
        message: msg,
    }
}

/// A devnet of several nodes on loopback: the seed files with the genesis time set
/// `epochs_ago` block delays back (blocks up to the wall clock can be made at once), and the
/// node that makes the network, its genesis CAR at `<dir>/devgen.car`.
pub struct NetworkSeed {
    pub key: PrivateKey,
    pub car: std::path::PathBuf,
    pub first: crate::common::Daemon,
}

/// config.json of a networked node: API on a free port, libp2p on loopback, any port.
pub fn write_net_config(repo: &Path) {
    std::fs::create_dir_all(repo).expect("repo dir");
    std::fs::write(
        repo.join("config.json"),
        r#"{"api":{"apiAddress":"/ip4/127.0.0.1/tcp/0"},"swarm":{"address":"/ip4/127.0.0.1/tcp/0"}}"#,
    )
    .expect("config");
}

/// Seeds a network in `dir` and starts its first node in `<dir>/a`.
pub fn start_network(dir: &Path, epochs_ago: u64) -> NetworkSeed {
    let (tpl, key) = seed_network(dir);
    let text = std::fs::read_to_string(&tpl).expect("template");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("template json");
    v["Timestamp"] = serde_json::json!(venus_node::node::now_secs() - epochs_ago * 4);
    std::fs::write(&tpl, serde_json::to_vec_pretty(&v).expect("json")).expect("write template");
    let car = dir.join("devgen.car");
    let repo = dir.join("a");
    write_net_config(&repo);
    let make = format!("--make-genesis={}", car.display());
    let gt = format!("--genesis-template={}", tpl.display());
    let first = crate::common::start_daemon(&repo, &["daemon", "--network=2k", &make, &gt]);
    NetworkSeed { key, car, first }
}
