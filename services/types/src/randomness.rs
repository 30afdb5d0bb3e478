//! Chain randomness (`DrawRandomness`), VRF helpers and venus's `DrawRandomParams`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cbor::{blake2b_256, to_cbor_infallible};
use crate::crypto::{PrivateKey, VerifyError, verify};
use crate::{Address, Base64Bytes, ChainEpoch, Protocol, Signature};

/// Domain separation tags (go-state-types `crypto.DomainSeparationTag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum DomainSeparationTag {
    TicketProduction = 1,
    ElectionProofProduction = 2,
    WinningPoStChallengeSeed = 3,
    WindowedPoStChallengeSeed = 4,
    SealRandomness = 5,
    InteractiveSealChallengeSeed = 6,
    WindowPoStDeadlineAssignment = 7,
    MarketDealCronSeed = 8,
    PoStChainCommit = 9,
    EvmPrevRandao = 10,
}

impl DomainSeparationTag {
    pub fn from_i64(v: i64) -> Option<Self> {
        use DomainSeparationTag::*;
        Some(match v {
            1 => TicketProduction,
            2 => ElectionProofProduction,
            3 => WinningPoStChallengeSeed,
            4 => WindowedPoStChallengeSeed,
            5 => SealRandomness,
            6 => InteractiveSealChallengeSeed,
            7 => WindowPoStDeadlineAssignment,
            8 => MarketDealCronSeed,
            9 => PoStChainCommit,
            10 => EvmPrevRandao,
            _ => return None,
        })
    }
}

/// Lotus `DrawRandomness`: blake2b-256 of `pers (i64 BE) ‖ blake2b-256(rbase) ‖ round (i64 BE) ‖
/// entropy`. `pers` is an i64 so unknown tags (as a wallet may receive) hash the same way.
pub fn draw_randomness(rbase: &[u8], pers: i64, round: ChainEpoch, entropy: &[u8]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(&pers.to_be_bytes());
    state.update(&blake2b_256(rbase));
    state.update(&round.to_be_bytes());
    state.update(entropy);
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

/// The CBOR of an address, the entropy miners use for tickets and elections.
pub fn address_entropy(miner: &Address) -> Vec<u8> {
    to_cbor_infallible(miner)
}

/// A VRF proof: the worker's BLS signature over the drawn randomness.
pub fn compute_vrf(worker_key: &PrivateKey, input: &[u8]) -> Result<Vec<u8>, VerifyError> {
    match worker_key {
        PrivateKey::Bls(_) => Ok(worker_key.sign(input).data),
        PrivateKey::Secp256k1(_) => Err(VerifyError::VrfNeedsBls(Protocol::Secp256k1)),
    }
}

/// Checks a VRF proof against the worker's BLS address (Lotus `VerifyVRF`).
pub fn verify_vrf(worker: &Address, input: &[u8], proof: &[u8]) -> Result<(), VerifyError> {
    if worker.protocol() != Protocol::BLS {
        return Err(VerifyError::VrfNeedsBls(worker.protocol()));
    }
    verify(&Signature::new_bls(proof.to_vec()), input, worker)
}

/// blake2b-256 of a VRF proof (what win count and ticket order use).
pub fn vrf_digest(proof: &[u8]) -> [u8; 32] {
    blake2b_256(proof)
}

/// venus `DrawRandomParams`: what a miner sends the wallet to sign a ticket or election proof
/// (`MsgMeta.Type = "drawrandomparam"`). CBOR is a map keyed by the Go field names (venus
/// encodes it with fxamacker/cbor, not cbor-gen); JSON has the same keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DrawRandomParams {
    pub rbase: Base64Bytes,
    pub pers: i64,
    pub round: ChainEpoch,
    pub entropy: Base64Bytes,
}

#[derive(Serialize, Deserialize)]
struct DrawRandomParamsRepr {
    #[serde(rename = "Rbase", default)]
    rbase: Option<Base64Bytes>,
    #[serde(rename = "Pers")]
    pers: i64,
    #[serde(rename = "Round")]
    round: ChainEpoch,
    #[serde(rename = "Entropy", default)]
    entropy: Option<Base64Bytes>,
}

impl Serialize for DrawRandomParams {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DrawRandomParamsRepr {
            rbase: Some(self.rbase.clone()),
            pers: self.pers,
            round: self.round,
            entropy: Some(self.entropy.clone()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DrawRandomParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = DrawRandomParamsRepr::deserialize(d)?;
        Ok(Self {
            rbase: r.rbase.unwrap_or_default(),
            pers: r.pers,
            round: r.round,
            entropy: r.entropy.unwrap_or_default(),
        })
    }
}

impl DrawRandomParams {
    /// What the wallet signs: `draw_randomness(rbase, pers, round, entropy)`.
    pub fn sign_bytes(&self) -> [u8; 32] {
        draw_randomness(&self.rbase, self.pers, self.round, &self.entropy)
    }

    pub fn to_cbor(&self) -> Vec<u8> {
        to_cbor_infallible(self)
    }
}
