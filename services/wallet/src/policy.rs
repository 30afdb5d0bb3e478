//! What the wallet agrees to sign: it parses the request according to `MsgMeta`, checks the
//! bytes are what the type says, and returns the exact bytes to sign.
//!
//! Stricter than venus-wallet: for `message` the bytes must be the CID of the message in
//! `Extra` (the original signs whatever bytes it is given); `drawrandomparam` randomness is
//! derived here from the params, never taken from the caller.
//!
//! Before any of that, [`SignPolicy`] (`[SignPolicy] AllowedTypes` in config.toml) says
//! which `MsgMeta` types this wallet signs at all: by default only what the chain service
//! asks for. `unknown` (raw bytes: anything, including a transfer's CID relabelled) and `f3`
//! are off unless listed.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use venus_types::{Address, BlockHeader, DrawRandomParams, Message, MsgMeta, MsgType, from_cbor};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("unsupported msgtype:{0}")]
    Unsupported(String),
    #[error("msg type {0} is not signed by this wallet yet (see README Limits)")]
    NotImplemented(String),
    #[error("{what} does not decode: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("message From {from} is not the signer {signer}")]
    WrongSender { from: String, signer: String },
    #[error("the bytes to sign are not the CID of the message in Extra")]
    NotMessageCid,
    #[error("verifyaddress challenge does not match this wallet's sign bytes")]
    BadChallenge,
    #[error("msg type {0} is not signed by this wallet ([SignPolicy] AllowedTypes)")]
    NotAllowed(String),
}

/// The `MsgMeta` types the chain service asks a wallet to sign: messages (messager), blocks
/// and draw-randomness params (miner), and the gateway's proof of possession.
pub const CHAIN_SERVICE_TYPES: [&str; 4] = ["message", "block", "drawrandomparam", "verifyaddress"];

/// Which `MsgMeta` types the wallet signs; checked before the key is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignPolicy {
    allowed: BTreeSet<String>,
}

/// [`CHAIN_SERVICE_TYPES`] as owned names (the config's default list).
pub fn chain_service_types() -> Vec<String> {
    CHAIN_SERVICE_TYPES
        .iter()
        .map(|t| (*t).to_owned())
        .collect()
}

impl Default for SignPolicy {
    /// [`CHAIN_SERVICE_TYPES`].
    fn default() -> Self {
        Self {
            allowed: chain_service_types().into_iter().collect(),
        }
    }
}

impl SignPolicy {
    /// A policy allowing exactly `types` (venus `MsgType` names, e.g. `message`, `unknown`);
    /// a name that is not a venus type is an error naming it.
    pub fn new<S: AsRef<str>>(types: &[S]) -> Result<Self, String> {
        let mut allowed = BTreeSet::new();
        for t in types {
            let t = t.as_ref().trim();
            if let MsgType::Other(name) = MsgType::parse(t) {
                return Err(format!(
                    "unknown msg type {name:?} in [SignPolicy] AllowedTypes"
                ));
            }
            allowed.insert(t.to_owned());
        }
        Ok(Self { allowed })
    }

    /// This policy with `t` allowed too.
    pub fn allowing(mut self, t: &MsgType) -> Self {
        self.allowed.insert(t.as_str().to_owned());
        self
    }

    pub fn allows(&self, t: &MsgType) -> bool {
        self.allowed.contains(t.as_str())
    }

    /// Refuse a type the policy does not allow, logging the type and who asked (`caller`: a
    /// venus-auth user or the gateway link) — never the bytes.
    pub fn check(&self, t: &MsgType, signer: &Address, caller: &str) -> Result<(), PolicyError> {
        if self.allows(t) {
            return Ok(());
        }
        tracing::warn!(msg_type = %t.as_str(), %signer, caller, "refused to sign: msg type not in [SignPolicy] AllowedTypes");
        Err(PolicyError::NotAllowed(t.as_str().to_owned()))
    }
}

/// The bytes to sign for a request, or why it is refused. `wallet_sign_bytes` is the random
/// value this wallet process sent the gateways (for `verifyaddress`).
pub fn bytes_to_sign(
    signer: &Address,
    to_sign: &[u8],
    meta: &MsgMeta,
    wallet_sign_bytes: &[u8],
) -> Result<Vec<u8>, PolicyError> {
    match &meta.msg_type {
        MsgType::Unknown | MsgType::F3 => Ok(to_sign.to_vec()),
        MsgType::ChainMsg => {
            if meta.extra.is_empty() {
                return Err(PolicyError::Malformed {
                    what: "Extra (the message CBOR)",
                    reason: "empty".into(),
                });
            }
            let msg: Message = from_cbor(&meta.extra).map_err(|e| PolicyError::Malformed {
                what: "message in Extra",
                reason: e.to_string(),
            })?;
            if &msg.from != signer {
                return Err(PolicyError::WrongSender {
                    from: msg.from.to_string(),
                    signer: signer.to_string(),
                });
            }
            if msg.cid().to_bytes() != to_sign {
                return Err(PolicyError::NotMessageCid);
            }
            Ok(to_sign.to_vec())
        }
        MsgType::Block => {
            let header: BlockHeader = from_cbor(to_sign).map_err(|e| PolicyError::Malformed {
                what: "block header",
                reason: e.to_string(),
            })?;
            Ok(header.signing_bytes())
        }
        MsgType::DrawRandomParam => {
            let params: DrawRandomParams =
                from_cbor(to_sign).map_err(|e| PolicyError::Malformed {
                    what: "DrawRandomParams",
                    reason: e.to_string(),
                })?;
            Ok(params.sign_bytes().to_vec())
        }
        MsgType::VerifyAddress => {
            let expected = Sha256::new()
                .chain_update(&meta.extra[..])
                .chain_update(wallet_sign_bytes)
                .finalize();
            if expected.as_slice() != to_sign {
                return Err(PolicyError::BadChallenge);
            }
            Ok(to_sign.to_vec())
        }
        MsgType::DealProposal
        | MsgType::ClientDeal
        | MsgType::SignedVoucher
        | MsgType::StorageAsk
        | MsgType::AskResponse
        | MsgType::NetworkResponse
        | MsgType::ProviderDealState => Err(PolicyError::NotImplemented(meta.msg_type.to_string())),
        MsgType::Other(s) => Err(PolicyError::Unsupported(s.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venus_types::{TokenAmount, to_cbor};

    fn addr(n: u8) -> Address {
        Address::new_secp256k1(&{
            let mut k = [n; 65];
            k[0] = 4;
            k
        })
        .expect("65-byte key")
    }

    fn message(from: Address) -> Message {
        Message {
            version: 0,
            to: Address::new_id(1000),
            from,
            nonce: 1,
            value: TokenAmount::default(),
            gas_limit: 1_000_000,
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
            method: 0,
            params: Default::default(),
        }
    }

    fn meta(t: MsgType, extra: Vec<u8>) -> MsgMeta {
        MsgMeta {
            msg_type: t,
            extra: extra.into(),
        }
    }

    #[test]
    fn message_bytes_must_be_the_cid_of_extra_from_the_signer() {
        let signer = addr(1);
        let msg = message(signer);
        let cid = msg.cid().to_bytes();
        let m = meta(MsgType::ChainMsg, msg.to_cbor());
        assert_eq!(bytes_to_sign(&signer, &cid, &m, b""), Ok(cid.clone()));
        assert_eq!(
            bytes_to_sign(&signer, b"other bytes", &m, b""),
            Err(PolicyError::NotMessageCid)
        );
        let other = addr(2);
        assert!(matches!(
            bytes_to_sign(&other, &cid, &m, b""),
            Err(PolicyError::WrongSender { .. })
        ));
        assert!(matches!(
            bytes_to_sign(&signer, &cid, &meta(MsgType::ChainMsg, vec![]), b""),
            Err(PolicyError::Malformed { .. })
        ));
        assert!(matches!(
            bytes_to_sign(&signer, &cid, &meta(MsgType::ChainMsg, vec![1, 2]), b""),
            Err(PolicyError::Malformed { .. })
        ));
    }

    #[test]
    fn draw_random_param_is_derived_by_the_wallet() {
        let p = DrawRandomParams {
            rbase: vec![1; 32].into(),
            pers: 2,
            round: 10,
            entropy: vec![3; 8].into(),
        };
        let cbor = to_cbor(&p).expect("encodes");
        let out = bytes_to_sign(
            &addr(1),
            &cbor,
            &meta(MsgType::DrawRandomParam, vec![]),
            b"",
        )
        .expect("accepted");
        assert_eq!(out, p.sign_bytes().to_vec());
        assert!(matches!(
            bytes_to_sign(
                &addr(1),
                &[0xff],
                &meta(MsgType::DrawRandomParam, vec![]),
                b""
            ),
            Err(PolicyError::Malformed { .. })
        ));
    }

    #[test]
    fn verify_address_checks_the_challenge() {
        let g = vec![9u8; 32];
        let w = vec![7u8; 32];
        let challenge = Sha256::new()
            .chain_update(&g)
            .chain_update(&w)
            .finalize()
            .to_vec();
        let m = meta(MsgType::VerifyAddress, g);
        assert_eq!(
            bytes_to_sign(&addr(1), &challenge, &m, &w),
            Ok(challenge.clone())
        );
        assert_eq!(
            bytes_to_sign(&addr(1), &challenge, &m, b"other"),
            Err(PolicyError::BadChallenge)
        );
    }

    #[test]
    fn the_default_policy_signs_what_the_chain_service_asks_and_nothing_else() {
        let p = SignPolicy::default();
        for t in [
            MsgType::ChainMsg,
            MsgType::Block,
            MsgType::DrawRandomParam,
            MsgType::VerifyAddress,
        ] {
            assert!(p.check(&t, &addr(1), "u").is_ok(), "{t:?}");
        }
        for t in [MsgType::Unknown, MsgType::F3, MsgType::DealProposal] {
            assert_eq!(
                p.check(&t, &addr(1), "u"),
                Err(PolicyError::NotAllowed(t.as_str().to_owned()))
            );
        }
        let with_unknown = SignPolicy::new(&["message", "unknown"]).expect("valid");
        assert!(with_unknown.allows(&MsgType::Unknown));
        assert!(!with_unknown.allows(&MsgType::Block));
        assert!(
            SignPolicy::new(&["message", "transfer"])
                .expect_err("not a type")
                .contains("\"transfer\"")
        );
    }

    #[test]
    fn unknown_types_are_refused_by_name() {
        let e = bytes_to_sign(
            &addr(1),
            b"x",
            &meta(MsgType::Other("weird".into()), vec![]),
            b"",
        )
        .expect_err("refused");
        assert_eq!(e.to_string(), "unsupported msgtype:weird");
        assert!(bytes_to_sign(&addr(1), b"x", &meta(MsgType::DealProposal, vec![]), b"").is_err());
        assert_eq!(
            bytes_to_sign(&addr(1), b"x", &meta(MsgType::Unknown, vec![]), b""),
            Ok(b"x".to_vec())
        );
    }
}
