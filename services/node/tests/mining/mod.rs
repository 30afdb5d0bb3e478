//! Block production through the API, as sophon-miner does it: MinerGetBaseInfo → ticket
//! and election VRFs with the worker key → MinerCreateBlock → sign → SyncSubmitBlock; and
//! the `venus seed` files of a local 2k network.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use crate::common::venus;
use venus_api::full_node as api;
use venus_chain::actors::SectorOnChainInfo;
use venus_chain::election::compute_win_count;
use venus_chain::post::DevnetPoSt;
use venus_rpc::Client;
use venus_types::crypto::PrivateKey;
use venus_types::randomness::{DomainSeparationTag, address_entropy, compute_vrf, draw_randomness};
use venus_types::{Address, BlockMsg, BlockTemplate, ElectionProof, SignedMessage, Ticket, TipSet};

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
        let rbase = info
            .beacon_entries
            .last()
            .unwrap_or(&info.prev_beacon_entry)
            .data
            .clone();
        let entropy = address_entropy(&miner);
        let mut ticket_entropy = entropy.clone();
        if let Some(t) = parent.min_ticket() {
            ticket_entropy.extend_from_slice(t.vrf_proof.as_slice());
        }
        let ticket_in = draw_randomness(
            &rbase,
            DomainSeparationTag::TicketProduction as i64,
            epoch - 1,
            &ticket_entropy,
        );
        let ticket = compute_vrf(key, &ticket_in).expect("ticket vrf");
        let election_in = draw_randomness(
            &rbase,
            DomainSeparationTag::ElectionProofProduction as i64,
            epoch,
            &entropy,
        );
        let eproof = compute_vrf(key, &election_in).expect("election vrf");
        // The win count hashes the VRF proof itself (venus-consensus).
        let wins = compute_win_count(&eproof, &info.miner_power, &info.network_power);
        if wins < 1 {
            epoch += 1; // a null round for us
            continue;
        }
        let post_in = draw_randomness(
            &rbase,
            DomainSeparationTag::WinningPoStChallengeSeed as i64,
            epoch,
            &entropy,
        );
        let sectors: Vec<SectorOnChainInfo> = info
            .sectors
            .iter()
            .map(|s| SectorOnChainInfo {
                sector_number: s.sector_number,
                seal_proof: fvm_shared::sector::RegisteredSealProof::from(s.seal_proof),
                sealed_cid: s.sealed_cid.0,
                deal_ids: Vec::new(),
                activation: 0,
                expiration: 0,
            })
            .collect();
        let winning_post_proof = DevnetPoSt::prove(1000, &post_in, &sectors).expect("devnet post");
        let template = BlockTemplate {
            miner,
            parents: parent.key().clone(),
            ticket: Some(Ticket {
                vrf_proof: ticket.into(),
            }),
            eproof: Some(ElectionProof {
                win_count: wins,
                vrf_proof: eproof.into(),
            }),
            beacon_values: info.beacon_entries.clone(),
            messages,
            epoch,
            timestamp: genesis.min_timestamp() + epoch as u64 * 4,
            winning_post_proof,
        };
        return Produced { template };
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
