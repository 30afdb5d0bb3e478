//! Genesis: the template and pre-seal file types as venus/Lotus write them (JSON), and the
//! builder that turns a template into the genesis state and block.

use std::collections::BTreeMap;

use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::BytesDe;
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::address::Address as FvmAddress;
use fvm_shared::econ::TokenAmount as FvmTokenAmount;
use fvm_shared::sector::{RegisteredSealProof, SectorSize, StoragePower};
use serde::{Deserialize, Serialize};
use venus_types::{
    Address, BeaconEntry, BigInt, BlockHeader, Cid, ElectionProof, Ticket, TokenAmount,
};

use crate::actors::*;
use crate::network::{INITIAL_BASE_FEE, NetworkParams};
use crate::state::{HAMT_BIT_WIDTH, StateError, StateTree};

/// The genesis template (`venus seed genesis new`, Lotus `genesis.Template`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenesisTemplate {
    #[serde(default)]
    pub network_version: u32,
    #[serde(default)]
    pub accounts: Vec<GenesisActor>,
    #[serde(default)]
    pub miners: Vec<GenesisMiner>,
    pub network_name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timestamp: u64,
    #[serde(default)]
    pub verifreg_root_key: GenesisActor,
    #[serde(default)]
    pub remainder_account: GenesisActor,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// An account or multisig in the template: `{Type, Balance, Meta}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenesisActor {
    #[serde(rename = "Type")]
    pub kind: String,
    pub balance: TokenAmount,
    /// `{"Owner": addr}` for accounts; multisig metadata otherwise.
    #[serde(default)]
    pub meta: serde_json::Value,
}

impl Default for GenesisActor {
    fn default() -> Self {
        GenesisActor {
            kind: "account".into(),
            balance: TokenAmount::zero(),
            meta: serde_json::Value::Null,
        }
    }
}

/// A miner with its pre-sealed sectors (`pre-seal-<id>.json` holds a map of these by ID).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenesisMiner {
    #[serde(rename = "ID")]
    pub id: Address,
    pub owner: Address,
    pub worker: Address,
    /// libp2p peer ID text.
    pub peer_id: String,
    #[serde(default = "TokenAmount::zero")]
    pub market_balance: TokenAmount,
    #[serde(default = "TokenAmount::zero")]
    pub power_balance: TokenAmount,
    pub sector_size: u64,
    #[serde(default)]
    pub sectors: Vec<PreSeal>,
}

/// One pre-sealed sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PreSeal {
    pub comm_r: Cid,
    pub comm_d: Cid,
    #[serde(rename = "SectorID")]
    pub sector_id: u64,
    /// The market deal proposal; kept as written (the native model has no market actor).
    #[serde(default)]
    pub deal: serde_json::Value,
    /// Registered seal proof number (e.g. 5 = StackedDRG2KiBV1P1).
    pub proof_type: i64,
}

/// The contents of a `pre-seal-<id>.json` file.
pub type PreSealFile = BTreeMap<String, GenesisMiner>;

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis template: {0}")]
    Template(String),
    #[error("genesis state: {0}")]
    State(#[from] StateError),
    #[error("genesis store: {0}")]
    Store(String),
}

fn store_err(e: impl std::fmt::Display) -> GenesisError {
    GenesisError::Store(e.to_string())
}

/// Lotus's genesis ticket.
pub const GENESIS_TICKET: &[u8] = b"vrfproof0000000vrfproof0000000";
/// The CID every Filecoin genesis block names as its parent (Lotus `filecoinGenesisCid`).
pub const FILECOIN_GENESIS_PARENT: &str =
    "bafyreiaqpwbbyjo4a42saasj36kkrpv4tsherf2e7bvezkert2a7dhonoi";

/// The built genesis.
#[derive(Debug, Clone)]
pub struct Genesis {
    pub block: BlockHeader,
    pub state_root: Cid,
}

/// Builds the genesis state and block from a template. `now` is used when the template has
/// no timestamp. All blocks go into `store`.
pub fn build_genesis<BS: Blockstore>(
    store: &BS,
    template: &GenesisTemplate,
    params: &NetworkParams,
    now: u64,
) -> Result<Genesis, GenesisError> {
    if template.network_name.is_empty() {
        return Err(GenesisError::Template("NetworkName is empty".into()));
    }
    let mut tree = StateTree::new(store);
    let empty_hamt = Hamt::<&BS, u64, BytesKey>::new_with_bit_width(store, HAMT_BIT_WIDTH)
        .flush()
        .map_err(store_err)?;
    let empty_array: Vec<u8> = Vec::new();
    let zero = FvmTokenAmount::default;

    tree.create_actor(
        SYSTEM_ACTOR_ID,
        ActorKind::System,
        &empty_array,
        zero(),
        None,
    )?;
    tree.create_actor(
        INIT_ACTOR_ID,
        ActorKind::Init,
        &InitState {
            address_map: empty_hamt,
            next_id: FIRST_NON_SINGLETON_ID,
            network_name: template.network_name.clone(),
        },
        zero(),
        None,
    )?;
    tree.create_actor(
        REWARD_ACTOR_ID,
        ActorKind::Reward,
        &RewardState::genesis(),
        mining_reserve(),
        None,
    )?;
    tree.create_actor(CRON_ACTOR_ID, ActorKind::Cron, &empty_array, zero(), None)?;
    tree.create_actor(
        BURNT_FUNDS_ACTOR_ID,
        ActorKind::Account,
        &AccountState {
            address: id_addr(BURNT_FUNDS_ACTOR_ID),
        },
        zero(),
        None,
    )?;

    for (i, account) in template.accounts.iter().enumerate() {
        if account.kind != "account" {
            return Err(GenesisError::Template(format!(
                "Accounts[{i}] has type {:?}: only \"account\" is supported by the native actor model",
                account.kind
            )));
        }
        let owner = account_owner(&account.meta)
            .map_err(|e| GenesisError::Template(format!("Accounts[{i}].Meta: {e}")))?;
        let id = ensure_account(&mut tree, &owner)?;
        credit(&mut tree, id, &account.balance.0)?;
    }

    let mut power = PowerState {
        total_raw_byte_power: StoragePower::from(0),
        total_quality_adj_power: StoragePower::from(0),
        miner_count: 0,
        miner_above_min_power_count: 0,
        claims: empty_hamt,
    };
    let mut claims: Hamt<&BS, Claim, BytesKey> =
        Hamt::load_with_bit_width(&empty_hamt, store, HAMT_BIT_WIDTH).map_err(store_err)?;
    for (i, miner) in template.miners.iter().enumerate() {
        let at =
            |what: String| GenesisError::Template(format!("Miners[{i}] ({}): {what}", miner.id));
        let miner_id = miner
            .id
            .id()
            .ok_or_else(|| at("ID must be an ID address such as t01000".into()))?;
        if tree.get_actor_by_id(miner_id)?.is_some() {
            return Err(at("ID is already taken".into()));
        }
        if miner.worker.protocol() != fvm_shared::address::Protocol::BLS {
            return Err(at(
                "Worker must be a BLS key address (it signs tickets and blocks)".into(),
            ));
        }
        let owner_id = ensure_account(&mut tree, &miner.owner.0)?;
        let worker_id = ensure_account(&mut tree, &miner.worker.0)?;
        let peer_id = crate::peerid::decode(&miner.peer_id).map_err(|e| at(e.to_string()))?;
        let mut sectors: Amt<SectorOnChainInfo, &BS> = Amt::new(store);
        let mut proof = None;
        for s in &miner.sectors {
            let seal = RegisteredSealProof::from(s.proof_type);
            let size = seal
                .sector_size()
                .map_err(|e| at(format!("sector {}: {e}", s.sector_id)))?;
            if size as u64 != miner.sector_size {
                return Err(at(format!(
                    "sector {} has proof type {} for {} bytes, the miner's sector size is {}",
                    s.sector_id, s.proof_type, size as u64, miner.sector_size
                )));
            }
            if !params.supported_proofs.contains(&seal) {
                return Err(at(format!(
                    "sector {}: proof type {} is not supported on {}",
                    s.sector_id, s.proof_type, params.name
                )));
            }
            proof = Some(seal);
            sectors
                .set(
                    s.sector_id,
                    SectorOnChainInfo {
                        sector_number: s.sector_id,
                        seal_proof: seal,
                        sealed_cid: s.comm_r.0,
                        deal_ids: Vec::new(),
                        activation: 0,
                        expiration: i64::MAX,
                    },
                )
                .map_err(store_err)?;
        }
        let sector_size = sector_size_of(miner.sector_size)
            .ok_or_else(|| at(format!("unsupported SectorSize {}", miner.sector_size)))?;
        let seal = match proof {
            Some(p) => p,
            None => seal_proof_for(sector_size),
        };
        let window_post_proof_type = seal.registered_window_post_proof().map_err(at)?;
        let sectors_root = sectors.flush().map_err(store_err)?;
        let raw = StoragePower::from(miner.sector_size) * miner.sectors.len() as u64;
        let state = MinerState {
            info: MinerInfo {
                owner: FvmAddress::new_id(owner_id),
                worker: FvmAddress::new_id(worker_id),
                peer_id,
                multiaddrs: Vec::<BytesDe>::new(),
                window_post_proof_type,
                sector_size,
                window_post_partition_sectors: window_post_partition_sectors(sector_size),
            },
            sectors: sectors_root,
            sector_count: miner.sectors.len() as u64,
        };
        let balance = &miner.power_balance.0 + &miner.market_balance.0;
        tree.create_actor(miner_id, ActorKind::Miner, &state, balance, None)?;
        bump_next_id(&mut tree, miner_id)?;
        claims
            .set(
                BytesKey(FvmAddress::new_id(miner_id).to_bytes()),
                Claim {
                    raw_byte_power: raw.clone(),
                    quality_adj_power: raw.clone(),
                },
            )
            .map_err(store_err)?;
        power.total_raw_byte_power += &raw;
        power.total_quality_adj_power += &raw;
        power.miner_count += 1;
        if raw >= StoragePower::from(params.consensus_miner_min_power) {
            power.miner_above_min_power_count += 1;
        }
    }
    power.claims = claims.flush().map_err(store_err)?;
    tree.create_actor(POWER_ACTOR_ID, ActorKind::Power, &power, zero(), None)?;

    let state_root = tree.flush()?;
    let messages = crate::msgmeta::put_msg_meta(store, &[], &[]).map_err(store_err)?;
    let receipts = crate::msgmeta::put_receipts(store, &[]).map_err(store_err)?;
    let parent: cid::Cid = FILECOIN_GENESIS_PARENT.parse().map_err(store_err)?;
    let block = BlockHeader {
        miner: Address::new_id(SYSTEM_ACTOR_ID),
        ticket: Some(Ticket {
            vrf_proof: GENESIS_TICKET.to_vec().into(),
        }),
        election_proof: Some(ElectionProof::default()),
        beacon_entries: vec![BeaconEntry {
            round: 0,
            data: vec![0u8; 32].into(),
        }],
        win_post_proof: Vec::new(),
        parents: vec![Cid(parent)],
        parent_weight: BigInt::zero(),
        height: 0,
        parent_state_root: Cid(state_root),
        parent_message_receipts: Cid(receipts),
        messages: Cid(messages),
        bls_aggregate: None,
        timestamp: if template.timestamp == 0 {
            now
        } else {
            template.timestamp
        },
        block_sig: None,
        fork_signaling: 0,
        parent_base_fee: TokenAmount::from_atto(INITIAL_BASE_FEE),
    };
    crate::store::put_header(store, &block).map_err(store_err)?;
    Ok(Genesis {
        block,
        state_root: Cid(state_root),
    })
}

fn account_owner(meta: &serde_json::Value) -> Result<FvmAddress, String> {
    let owner = meta
        .get("Owner")
        .and_then(|v| v.as_str())
        .ok_or("missing \"Owner\" address")?;
    let parsed: Address = owner.parse().map_err(|e| format!("Owner {owner:?}: {e}"))?;
    Ok(parsed.0)
}

/// The ID of the account for a key address, creating it when new.
fn ensure_account<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    addr: &FvmAddress,
) -> Result<u64, StateError> {
    if let Some(id) = tree.lookup_id(addr)? {
        return Ok(id);
    }
    let id = tree.register_new_address(addr)?;
    tree.create_actor(
        id,
        ActorKind::Account,
        &AccountState { address: *addr },
        FvmTokenAmount::default(),
        None,
    )?;
    Ok(id)
}

fn credit<BS: Blockstore>(
    tree: &mut StateTree<BS>,
    id: u64,
    amount: &FvmTokenAmount,
) -> Result<(), StateError> {
    let mut actor = tree
        .get_actor_by_id(id)?
        .ok_or(StateError::ActorNotFound(FvmAddress::new_id(id)))?;
    actor.balance += amount;
    tree.set_actor(id, actor)
}

/// Keeps the init actor from handing out an ID a genesis miner took.
fn bump_next_id<BS: Blockstore>(tree: &mut StateTree<BS>, taken: u64) -> Result<(), StateError> {
    let mut init: InitState = tree.actor_state(INIT_ACTOR_ID, ActorKind::Init)?;
    if init.next_id <= taken {
        init.next_id = taken + 1;
        tree.put_actor_state(INIT_ACTOR_ID, &init)?;
    }
    Ok(())
}

fn sector_size_of(bytes: u64) -> Option<SectorSize> {
    [
        SectorSize::_2KiB,
        SectorSize::_8MiB,
        SectorSize::_512MiB,
        SectorSize::_32GiB,
        SectorSize::_64GiB,
    ]
    .into_iter()
    .find(|s| *s as u64 == bytes)
}

fn seal_proof_for(size: SectorSize) -> RegisteredSealProof {
    match size {
        SectorSize::_2KiB => RegisteredSealProof::StackedDRG2KiBV1P1,
        SectorSize::_8MiB => RegisteredSealProof::StackedDRG8MiBV1P1,
        SectorSize::_512MiB => RegisteredSealProof::StackedDRG512MiBV1P1,
        SectorSize::_32GiB => RegisteredSealProof::StackedDRG32GiBV1P1,
        SectorSize::_64GiB => RegisteredSealProof::StackedDRG64GiBV1P1,
    }
}

/// WindowPoSt partition sizes from builtin-actors' policy.
fn window_post_partition_sectors(size: SectorSize) -> u64 {
    match size {
        SectorSize::_2KiB | SectorSize::_8MiB | SectorSize::_512MiB => 2,
        SectorSize::_32GiB => 2349,
        SectorSize::_64GiB => 2300,
    }
}
