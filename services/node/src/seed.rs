//! `venus seed pre-seal` and `venus seed genesis new|add-miner`: the files a local network
//! starts from, in the JSON layouts Lotus's `lotus-seed` and venus's `venus seed` write
//! (`genesis.Miner`, `genesis.PreSeal`, `genesis.Template`).
//!
//! Sectors are *fake* pre-seals (as `lotus-seed --fake-sectors`): CommD is the real
//! commitment of an all-zero sector, CommR is random, and no replica is written, because
//! sealing needs filecoin-proofs, which this build leaves out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cid::Cid;
use multihash_codetable::Multihash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use venus_types::crypto::{KeyType, PrivateKey};
use venus_types::{Address, Network as AddrNetwork, Protocol};

use crate::keyfile::{read_key_file, write_key_file};

fn testnet(addr: &Address) -> String {
    AddrNetwork::Testnet.format_address(addr)
}

fn parse_address(s: &str) -> Result<Address, String> {
    s.parse::<Address>().map_err(|e| e.to_string())
}

/// FIL in attoFIL.
const FIL: u128 = 1_000_000_000_000_000_000;
/// `lotus-seed genesis add-miner` funds each owner with 50 M FIL.
const OWNER_FUNDS_FIL: u128 = 50_000_000;

const FIL_COMMITMENT_UNSEALED: u64 = 0xf101;
const FIL_COMMITMENT_SEALED: u64 = 0xf102;
const SHA2_256_TRUNC254_PADDED: u64 = 0x1012;
const POSEIDON_BLS12_381_A1_FC1: u64 = 0xb401;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Miner {
    #[serde(rename = "ID")]
    pub id: String,
    pub owner: String,
    pub worker: String,
    pub peer_id: String,
    pub market_balance: String,
    pub power_balance: String,
    pub sector_size: u64,
    pub sectors: Vec<PreSeal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PreSeal {
    pub comm_r: venus_types::Cid,
    pub comm_d: venus_types::Cid,
    #[serde(rename = "SectorID")]
    pub sector_id: u64,
    pub deal: DealProposal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_client_key: Option<serde_json::Value>,
    pub proof_type: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DealProposal {
    #[serde(rename = "PieceCID")]
    pub piece_cid: venus_types::Cid,
    pub piece_size: u64,
    pub verified_deal: bool,
    pub client: String,
    pub provider: String,
    pub label: String,
    pub start_epoch: i64,
    pub end_epoch: i64,
    pub storage_price_per_epoch: String,
    pub provider_collateral: String,
    pub client_collateral: String,
}

/// `genesis.Template`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    pub network_version: u32,
    pub accounts: Vec<TemplateActor>,
    pub miners: Vec<Miner>,
    pub network_name: String,
    #[serde(default)]
    pub timestamp: u64,
    pub verifreg_root_key: TemplateActor,
    pub remainder_account: TemplateActor,
}

/// `genesis.Actor`: `Meta` is `{"Owner":addr}` for accounts, `{"Signers":[…],"Threshold":n,…}`
/// for multisigs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TemplateActor {
    #[serde(rename = "Type")]
    pub kind: String,
    pub balance: String,
    pub meta: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

fn file_err(path: &Path, reason: impl ToString) -> SeedError {
    SeedError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

pub struct PreSealOptions {
    pub sector_dir: PathBuf,
    pub miner_addr: String,
    pub sector_size: u64,
    pub num_sectors: u64,
    pub sector_offset: u64,
    pub key: Option<PathBuf>,
    pub network_version: u32,
}

/// Registered seal proof (V1_1) for a sector size, as the genesis network version uses.
pub fn seal_proof_for(sector_size: u64) -> Result<i64, SeedError> {
    const MIB8: u64 = 8 << 20;
    const MIB512: u64 = 512 << 20;
    const GIB32: u64 = 32 << 30;
    const GIB64: u64 = 64 << 30;
    Ok(match sector_size {
        2048 => 5,
        MIB8 => 6,
        MIB512 => 7,
        GIB32 => 8,
        GIB64 => 9,
        other => {
            return Err(SeedError::Invalid(format!(
                "unsupported sector size {other}: expected 2KiB, 8MiB, 512MiB, 32GiB or 64GiB"
            )));
        }
    })
}

/// Parse `2KiB`, `2048`, `512MiB`, `32GiB`...
pub fn parse_sector_size(s: &str) -> Result<u64, SeedError> {
    let t = s.trim();
    let (num, mult) = [
        ("KiB", 1u64 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("TiB", 1 << 40),
    ]
    .into_iter()
    .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n, m)))
    .unwrap_or((t, 1));
    let n: u64 = num.trim().parse().map_err(|_| {
        SeedError::Invalid(format!(
            "invalid sector size {s:?}: expected e.g. 2KiB or 2048"
        ))
    })?;
    let size = n
        .checked_mul(mult)
        .ok_or_else(|| SeedError::Invalid(format!("sector size {s:?} overflows")))?;
    seal_proof_for(size)?;
    Ok(size)
}

/// CommD of an all-zero sector: the root of the sha256-trunc254 binary tree over zero leaves.
pub fn zero_comm_d(sector_size: u64) -> Cid {
    let mut node = [0u8; 32];
    let mut width = sector_size / 32;
    while width > 1 {
        let mut h = Sha256::new();
        h.update(node);
        h.update(node);
        node.copy_from_slice(&h.finalize());
        node[31] &= 0b0011_1111;
        width /= 2;
    }
    commitment_cid(FIL_COMMITMENT_UNSEALED, SHA2_256_TRUNC254_PADDED, &node)
}

fn commitment_cid(codec: u64, mh_code: u64, digest: &[u8; 32]) -> Cid {
    // A 32-byte digest always fits the 64-byte multihash.
    let mh = Multihash::wrap(mh_code, digest).unwrap_or_default();
    Cid::new_v1(codec, mh)
}

fn random_comm_r(rng: &mut impl rand::RngCore) -> Cid {
    let mut d = [0u8; 32];
    rng.fill_bytes(&mut d);
    d[31] &= 0b0011_1111; // a field element, as real replica commitments are
    commitment_cid(FIL_COMMITMENT_SEALED, POSEIDON_BLS12_381_A1_FC1, &d)
}

/// Write `pre-seal-<miner>.json` and `pre-seal-<miner>.key` into the sector dir.
pub fn pre_seal(opts: &PreSealOptions) -> Result<(PathBuf, PathBuf), SeedError> {
    let maddr = parse_address(&opts.miner_addr).map_err(SeedError::Invalid)?;
    if maddr.protocol() != Protocol::ID {
        return Err(SeedError::Invalid(format!(
            "--miner-addr {:?} must be an ID address such as t01000",
            opts.miner_addr
        )));
    }
    let proof = seal_proof_for(opts.sector_size)?;
    if opts.num_sectors == 0 {
        return Err(SeedError::Invalid(
            "--num-sectors must be at least 1".into(),
        ));
    }
    let mut rng = rand::thread_rng();
    let key = match &opts.key {
        Some(p) => read_key_file(p).map_err(|e| SeedError::Invalid(e.to_string()))?,
        None => PrivateKey::generate(KeyType::Bls, &mut rng)
            .map_err(|e| SeedError::Invalid(e.to_string()))?,
    };
    let worker = key.address();
    if worker.protocol() != Protocol::BLS {
        return Err(SeedError::Invalid(
            "the worker key must be a BLS key (tickets are BLS VRFs)".into(),
        ));
    }
    let worker_s = testnet(&worker);
    let miner_s = testnet(&maddr);
    let peer_id = libp2p_identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_string();
    let comm_d = zero_comm_d(opts.sector_size);
    let sectors = (opts.sector_offset..opts.sector_offset + opts.num_sectors)
        .map(|n| PreSeal {
            comm_r: venus_types::Cid(random_comm_r(&mut rng)),
            comm_d: venus_types::Cid(comm_d),
            sector_id: n,
            deal: DealProposal {
                piece_cid: venus_types::Cid(comm_d),
                piece_size: opts.sector_size,
                verified_deal: false,
                client: worker_s.clone(),
                provider: miner_s.clone(),
                label: String::new(),
                start_epoch: 0,
                end_epoch: 9001,
                storage_price_per_epoch: "0".into(),
                provider_collateral: "0".into(),
                client_collateral: "0".into(),
            },
            deal_client_key: None,
            proof_type: proof,
        })
        .collect();
    let miner = Miner {
        id: miner_s.clone(),
        owner: worker_s.clone(),
        worker: worker_s,
        peer_id,
        market_balance: "0".into(),
        power_balance: "0".into(),
        sector_size: opts.sector_size,
        sectors,
    };
    let dir = &opts.sector_dir;
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let json_path = dir.join(format!("pre-seal-{miner_s}.json"));
    let key_path = dir.join(format!("pre-seal-{miner_s}.key"));
    let map: BTreeMap<String, Miner> = [(miner_s, miner)].into_iter().collect();
    let text = serde_json::to_vec_pretty(&map).map_err(|e| file_err(&json_path, e))?;
    crate::repo::write_atomic(&json_path, &text).map_err(|e| file_err(&json_path, e))?;
    write_key_file(&key_path, &key).map_err(|e| SeedError::Invalid(e.to_string()))?;
    Ok((json_path, key_path))
}

fn fil(n: u128) -> String {
    (n * FIL).to_string()
}

/// `seed genesis new`: an empty template named `localnet-<uuid>` unless a name is given.
pub fn genesis_new(
    path: &Path,
    name: Option<&str>,
    network_version: u32,
) -> Result<Template, SeedError> {
    let network_name = match name {
        Some(n) if !n.trim().is_empty() => n.to_owned(),
        _ => format!("localnet-{}", uuid::Uuid::new_v4()),
    };
    // Lotus's defaults: the verified-registry root is a 1-of-1 multisig of t080's ID and the
    // remainder is an account; both hold nothing at genesis.
    let tpl = Template {
        network_version,
        accounts: Vec::new(),
        miners: Vec::new(),
        network_name,
        timestamp: 0,
        verifreg_root_key: TemplateActor {
            kind: "multisig".into(),
            balance: "0".into(),
            meta: serde_json::json!({"Signers": ["t080"], "Threshold": 1, "VestingDuration": 0, "VestingStart": 0}),
        },
        remainder_account: TemplateActor {
            kind: "multisig".into(),
            balance: "0".into(),
            meta: serde_json::json!({"Signers": ["t090"], "Threshold": 1, "VestingDuration": 0, "VestingStart": 0}),
        },
    };
    write_template(path, &tpl)?;
    Ok(tpl)
}

pub fn read_template(path: &Path) -> Result<Template, SeedError> {
    let text = std::fs::read(path).map_err(|e| file_err(path, e))?;
    serde_json::from_slice(&text)
        .map_err(|e| file_err(path, format!("not a genesis template: {e}")))
}

fn write_template(path: &Path, tpl: &Template) -> Result<(), SeedError> {
    let text = serde_json::to_vec_pretty(tpl).map_err(|e| file_err(path, e))?;
    crate::repo::write_atomic(path, &text).map_err(|e| file_err(path, e))
}

/// `seed genesis add-miner <template> <pre-seal.json>`: add each miner and fund its owner.
pub fn genesis_add_miner(template: &Path, preseal: &Path) -> Result<Template, SeedError> {
    let mut tpl = read_template(template)?;
    let text = std::fs::read(preseal).map_err(|e| file_err(preseal, e))?;
    let miners: BTreeMap<String, Miner> = serde_json::from_slice(&text)
        .map_err(|e| file_err(preseal, format!("not a pre-seal file: {e}")))?;
    if miners.is_empty() {
        return Err(file_err(preseal, "no miner in pre-seal file"));
    }
    for (id, miner) in miners {
        if tpl.miners.iter().any(|m| m.id == miner.id) {
            return Err(SeedError::Invalid(format!(
                "miner {id} is already in {}",
                template.display()
            )));
        }
        parse_address(&miner.owner).map_err(|e| file_err(preseal, e))?;
        tpl.accounts.push(TemplateActor {
            kind: "account".into(),
            balance: fil(OWNER_FUNDS_FIL),
            meta: serde_json::json!({ "Owner": miner.owner }),
        });
        tpl.miners.push(miner);
    }
    write_template(template, &tpl)?;
    Ok(tpl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_comm_d_matches_filecoin_2kib_constant() {
        // go-fil-commp-hashhash testdata/zero.txt: zero pieces of 128 and 2048 padded bytes.
        assert_eq!(
            zero_comm_d(128).to_string(),
            "baga6ea4seaqdomn3tgwgrh3g532zopskstnbrd2n3sxfqbze7rxt7vqn7veigmy"
        );
        assert_eq!(
            zero_comm_d(2048).to_string(),
            "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
        );
    }

    #[test]
    fn sector_sizes_parse_and_bad_ones_are_named() {
        assert_eq!(parse_sector_size("2KiB").expect("2KiB"), 2048);
        assert_eq!(parse_sector_size("2048").expect("2048"), 2048);
        assert_eq!(parse_sector_size("32GiB").expect("32GiB"), 32 << 30);
        assert!(
            parse_sector_size("3KiB")
                .expect_err("must fail")
                .to_string()
                .contains("3072")
        );
        assert!(
            parse_sector_size("big")
                .expect_err("must fail")
                .to_string()
                .contains("big")
        );
    }

    #[test]
    fn pre_seal_then_template_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = PreSealOptions {
            sector_dir: dir.path().join("sectors"),
            miner_addr: "t01000".into(),
            sector_size: 2048,
            num_sectors: 2,
            sector_offset: 0,
            key: None,
            network_version: 26,
        };
        let (json, key) = pre_seal(&opts).expect("pre-seal");
        assert!(json.ends_with("pre-seal-t01000.json"));
        let ki = read_key_file(&key).expect("key");
        let tpl_path = dir.path().join("localnet.json");
        let tpl = genesis_new(&tpl_path, None, 26).expect("new");
        assert!(tpl.network_name.starts_with("localnet-"));
        let tpl = genesis_add_miner(&tpl_path, &json).expect("add");
        assert_eq!(tpl.miners.len(), 1);
        let m = &tpl.miners[0];
        assert_eq!(m.id, "t01000");
        assert_eq!(m.worker, testnet(&ki.address()));
        assert_eq!(m.sectors.len(), 2);
        assert_eq!(m.sectors[1].proof_type, 5);
        assert_eq!(tpl.accounts[0].meta["Owner"], serde_json::json!(m.owner));
        assert!(m.peer_id.starts_with("12D3KooW"), "{}", m.peer_id);
        // Adding the same miner twice is refused.
        assert!(genesis_add_miner(&tpl_path, &json).is_err());
        assert_eq!(read_template(&tpl_path).expect("read"), tpl);
    }
}
