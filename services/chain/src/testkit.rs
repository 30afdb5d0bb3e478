//! A local block producer for tests and benchmarks: a devnet with one genesis miner whose
//! worker key is held here, producing valid blocks through the same path the API uses
//! (base info → ticket and election VRFs → WinningPoSt → `create_block` → `submit`).
// Block errors carry the rejected block's CID; they are rare, so their size does not matter.
#![allow(clippy::result_large_err)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use venus_types::randomness::{DomainSeparationTag, address_entropy, compute_vrf, draw_randomness};
use venus_types::{
    Address, BlockMsg, BlockTemplate, Cid, ElectionProof, KeyType, PrivateKey, SignedMessage,
    Ticket, TipSet, TokenAmount,
};

use crate::blockstore::MemoryBlockstore;
use crate::create::create_block;
use crate::election::compute_win_count;
use crate::genesis::{GenesisActor, GenesisMiner, GenesisTemplate, PreSeal, build_genesis};
use crate::mining::base_info;
use crate::network::{NetworkKind, NetworkParams};
use crate::post::DevnetPoSt;
use crate::store::{ChainStore, MetaStore};
use crate::validate::{BlockValidator, FullBlock, SubmitError, TipSetBuilder};

/// The genesis miner's ID.
pub const MINER_ID: u64 = 1000;

/// A devnet in memory with a funded secp account and a miner.
pub struct Devnet {
    pub cs: ChainStore<MemoryBlockstore>,
    pub params: NetworkParams,
    pub worker: PrivateKey,
    pub owner: PrivateKey,
    /// Funded secp256k1 accounts.
    pub accounts: Vec<PrivateKey>,
    pub builder: TipSetBuilder,
    pub miner: Address,
    pub genesis_time: u64,
}

/// A 2k-style template: one miner with two 2 KiB sectors, `n_accounts` accounts of 1000 FIL.
pub fn template(
    worker: &PrivateKey,
    owner: &PrivateKey,
    accounts: &[PrivateKey],
    timestamp: u64,
) -> GenesisTemplate {
    let sectors = (0..2u64)
        .map(|n| PreSeal {
            comm_r: Cid(fake_commitment(b"commr", n)),
            comm_d: Cid(fake_commitment(b"commd", n)),
            sector_id: n,
            deal: serde_json::Value::Null,
            proof_type: 5, // StackedDRG2KiBV1P1
        })
        .collect();
    GenesisTemplate {
        network_version: 26,
        accounts: accounts
            .iter()
            .map(|k| GenesisActor {
                kind: "account".into(),
                balance: TokenAmount::from_whole(1000),
                meta: serde_json::json!({ "Owner": k.address().to_string() }),
            })
            .collect(),
        miners: vec![GenesisMiner {
            id: Address::new_id(MINER_ID),
            owner: owner.address(),
            worker: worker.address(),
            peer_id: "12D3KooWBhhbo3RmV6TvQRuAWkbBpo5fKnkeADsS97rRp1BPpLDT".into(),
            market_balance: TokenAmount::zero(),
            power_balance: TokenAmount::zero(),
            sector_size: 2048,
            sectors,
        }],
        network_name: "localnet-test".into(),
        timestamp,
        verifreg_root_key: GenesisActor::default(),
        remainder_account: GenesisActor::default(),
    }
}

fn fake_commitment(tag: &[u8], n: u64) -> cid::Cid {
    let mh = multihash_codetable::MultihashDigest::digest(
        &multihash_codetable::Code::Sha2_256,
        &[tag, &n.to_be_bytes()].concat(),
    );
    cid::Cid::new_v1(0xf101, mh) // fil-commitment-sealed
}

impl Devnet {
    /// A devnet whose genesis is far enough in the past for `epochs` blocks.
    pub fn new(seed: u64, n_accounts: usize) -> anyhow::Result<Devnet> {
        let mut rng = StdRng::seed_from_u64(seed);
        let worker = PrivateKey::generate(KeyType::Bls, &mut rng)?;
        let owner = PrivateKey::generate(KeyType::Secp256k1, &mut rng)?;
        let accounts = (0..n_accounts)
            .map(|_| PrivateKey::generate(KeyType::Secp256k1, &mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        let params = NetworkKind::TwoK.params();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let genesis_time = now - 100_000 * params.block_delay_secs;
        let bs = MemoryBlockstore::new();
        let g = build_genesis(
            &bs,
            &template(&worker, &owner, &accounts, genesis_time),
            &params,
            now,
        )?;
        let cs = ChainStore::open(bs, MetaStore::memory(), Some(g.block))?;
        Ok(Devnet {
            cs,
            params,
            worker,
            owner,
            accounts,
            builder: TipSetBuilder::default(),
            miner: Address::new_id(MINER_ID),
            genesis_time,
        })
    }

    pub fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// A valid, signed block on `parent` at the first epoch ≥ `min_epoch` the miner wins.
    pub fn produce(
        &self,
        parent: &TipSet,
        min_epoch: i64,
        messages: Vec<SignedMessage>,
    ) -> anyhow::Result<BlockMsg> {
        let template = self.template_for(parent, min_epoch, messages)?;
        Ok(create_block(&self.cs, &template, Some(&self.worker))?)
    }

    /// The block template the miner would send for `parent` (ticket, election, PoSt filled).
    pub fn template_for(
        &self,
        parent: &TipSet,
        min_epoch: i64,
        messages: Vec<SignedMessage>,
    ) -> anyhow::Result<BlockTemplate> {
        for epoch in min_epoch..min_epoch + 50 {
            let info = base_info(&self.cs, &self.params, &self.miner, epoch, parent.key())?
                .ok_or_else(|| anyhow::anyhow!("miner missing"))?;
            let timestamp = self.genesis_time + epoch as u64 * self.params.block_delay_secs;
            if let Some(t) = template_from_base_info(
                &self.worker,
                &self.miner,
                parent,
                epoch,
                &info,
                messages.clone(),
                timestamp,
            )? {
                return Ok(t);
            }
        }
        anyhow::bail!("the miner won no epoch in 50 tries")
    }

    pub fn validator(&self) -> BlockValidator<'_, MemoryBlockstore> {
        BlockValidator {
            cs: &self.cs,
            params: &self.params,
            post: &DevnetPoSt,
        }
    }

    /// Validates and adds a block; true if the head moved.
    pub fn submit(&self, block: &BlockMsg) -> Result<bool, SubmitError> {
        let full = FullBlock::from_block_msg(&self.cs, block)?;
        self.builder.submit(&self.validator(), &full, self.now())
    }

    /// A signed secp send of `value` atto from account `from` to `to`.
    pub fn send(&self, from: usize, to: Address, nonce: u64, value: u64) -> SignedMessage {
        self.send_amount(from, to, nonce, TokenAmount::from_atto(value))
    }

    /// A signed secp send of any amount.
    pub fn send_amount(
        &self,
        from: usize,
        to: Address,
        nonce: u64,
        value: TokenAmount,
    ) -> SignedMessage {
        let key = &self.accounts[from];
        let message = venus_types::Message {
            version: 0,
            to,
            from: key.address(),
            nonce,
            value,
            gas_limit: 3_000_000,
            gas_fee_cap: TokenAmount::from_atto(200_000_000u64),
            gas_premium: TokenAmount::from_atto(100_000u64),
            method: 0,
            params: Vec::new().into(),
        };
        let signature = key.sign(&message.signing_bytes());
        SignedMessage { message, signature }
    }
}

/// The block template `worker` makes for `miner` at `epoch` on `parent` from the node's
/// `MinerGetBaseInfo` answer — ticket and election VRFs, win count, devnet WinningPoSt —
/// or `None` when the miner does not win that epoch. Shared by the in-memory [`Devnet`] and
/// the block producers that drive a node over its API (node tests, the e2e stack).
pub fn template_from_base_info(
    worker: &PrivateKey,
    miner: &Address,
    parent: &TipSet,
    epoch: i64,
    info: &venus_types::MiningBaseInfo,
    messages: Vec<SignedMessage>,
    timestamp: u64,
) -> anyhow::Result<Option<BlockTemplate>> {
    let entropy = address_entropy(miner);
    let rbase = info
        .beacon_entries
        .last()
        .unwrap_or(&info.prev_beacon_entry)
        .data
        .clone();
    let election_in = draw_randomness(
        rbase.as_slice(),
        DomainSeparationTag::ElectionProofProduction as i64,
        epoch,
        &entropy,
    );
    let election_vrf = compute_vrf(worker, &election_in)?;
    let wins = compute_win_count(&election_vrf, &info.miner_power.0, &info.network_power.0);
    if wins < 1 {
        return Ok(None);
    }
    let mut ticket_entropy = entropy.clone();
    if let Some(t) = parent.min_ticket() {
        ticket_entropy.extend_from_slice(t.vrf_proof.as_slice());
    }
    let ticket_in = draw_randomness(
        rbase.as_slice(),
        DomainSeparationTag::TicketProduction as i64,
        epoch - 1,
        &ticket_entropy,
    );
    let post_rand = draw_randomness(
        rbase.as_slice(),
        DomainSeparationTag::WinningPoStChallengeSeed as i64,
        epoch,
        &entropy,
    );
    let sectors: Vec<crate::actors::SectorOnChainInfo> = info
        .sectors
        .iter()
        .map(|s| crate::actors::SectorOnChainInfo {
            sector_number: s.sector_number,
            seal_proof: fvm_shared::sector::RegisteredSealProof::from(s.seal_proof),
            sealed_cid: s.sealed_cid.0,
            deal_ids: Vec::new(),
            activation: 0,
            expiration: 0,
        })
        .collect();
    let miner_id = miner
        .id()
        .ok_or_else(|| anyhow::anyhow!("miner {miner} is not an ID address"))?;
    Ok(Some(BlockTemplate {
        miner: *miner,
        parents: parent.key().clone(),
        ticket: Some(Ticket {
            vrf_proof: compute_vrf(worker, &ticket_in)?.into(),
        }),
        eproof: Some(ElectionProof {
            win_count: wins,
            vrf_proof: election_vrf.into(),
        }),
        beacon_values: info.beacon_entries.clone(),
        messages,
        epoch,
        timestamp,
        winning_post_proof: DevnetPoSt::prove(miner_id, &post_rand, &sectors)
            .map_err(|e| anyhow::anyhow!(e))?,
    }))
}
