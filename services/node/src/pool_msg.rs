//! `venus_types::SignedMessage` as a message-pool entry.

use cid::Cid;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use venus_types::SignedMessage;

use crate::mpool::PoolMessage;

#[cfg(feature = "chain")]
mod push {
    use venus_types::{Cid, SignedMessage};

    use crate::mpool::Origin;
    use crate::node::Node;

    /// What a batch push did: the CIDs accepted, in order, and the refusal that stopped it.
    pub struct Pushed {
        pub cids: Vec<Cid>,
        pub error: Option<String>,
    }

    impl Node {
        /// Checks and adds `msgs` to the pool in order against one view of the head state,
        /// stops at the first refusal (venus's `MpoolBatchPush*`), stores the accepted ones
        /// in one write so blocks can reference them, and announces them to peers.
        pub fn push_messages(&self, msgs: Vec<SignedMessage>, origin: Origin) -> Pushed {
            let view = match self.view_at(&self.head()) {
                Ok(v) => v,
                Err(e) => {
                    return Pushed {
                        cids: Vec::new(),
                        error: Some(e),
                    };
                }
            };
            let (added, error) = self.mpool.lock().add_batch(msgs.clone(), origin, &view);
            let accepted = &msgs[..added.len()];
            let (bls, secp): (Vec<&SignedMessage>, Vec<&SignedMessage>) =
                accepted.iter().partition(|m| m.is_bls());
            let bls: Vec<_> = bls.into_iter().map(|m| m.message.clone()).collect();
            let secp: Vec<_> = secp.into_iter().cloned().collect();
            if !accepted.is_empty()
                && let Err(e) = self.cs.put_messages(&bls, &secp)
            {
                tracing::warn!(error = %e, count = accepted.len(), "cannot store pooled messages");
            }
            for m in accepted {
                self.announce_message(m);
            }
            Pushed {
                cids: added.into_iter().map(Cid).collect(),
                error: error.map(|e| {
                    let m = &msgs[accepted.len()];
                    format!(
                        "message {} from {} with nonce {}: {e}",
                        m.cid(),
                        m.message.from,
                        m.message.nonce
                    )
                }),
            }
        }
    }
}
#[cfg(feature = "chain")]
pub use push::Pushed;

impl PoolMessage for SignedMessage {
    fn cid(&self) -> Cid {
        SignedMessage::cid(self).into()
    }
    fn from(&self) -> Address {
        self.message.from.into()
    }
    fn to(&self) -> Address {
        self.message.to.into()
    }
    fn nonce(&self) -> u64 {
        self.message.nonce
    }
    fn value(&self) -> TokenAmount {
        self.message.value.clone().into()
    }
    fn gas_limit(&self) -> u64 {
        // A negative limit is refused as zero.
        u64::try_from(self.message.gas_limit).unwrap_or(0)
    }
    fn gas_fee_cap(&self) -> TokenAmount {
        self.message.gas_fee_cap.clone().into()
    }
    fn gas_premium(&self) -> TokenAmount {
        self.message.gas_premium.clone().into()
    }
    fn size(&self) -> usize {
        self.to_cbor().len()
    }
    fn verify_signature(&self, key: &Address) -> Result<(), String> {
        venus_types::crypto::verify(
            &self.signature,
            &self.message.signing_bytes(),
            &(*key).into(),
        )
        .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venus_types::crypto::{KeyType, PrivateKey};
    use venus_types::{Message, TokenAmount as Amount};

    #[test]
    fn signed_messages_verify_against_their_sender_only() {
        let mut rng = rand::thread_rng();
        let key = PrivateKey::generate(KeyType::Secp256k1, &mut rng).expect("key");
        let other = PrivateKey::generate(KeyType::Bls, &mut rng).expect("key");
        let msg = Message {
            version: 0,
            to: venus_types::Address::from(Address::new_id(1000)),
            from: key.address(),
            nonce: 3,
            value: Amount::from_atto(7),
            gas_limit: 1_000_000,
            gas_fee_cap: Amount::from_atto(200),
            gas_premium: Amount::from_atto(100),
            method: 0,
            params: Default::default(),
        };
        let sig = key.sign(&msg.signing_bytes());
        let sm = SignedMessage {
            message: msg,
            signature: sig,
        };
        assert!(sm.verify_signature(&key.address().into()).is_ok());
        assert!(sm.verify_signature(&other.address().into()).is_err());
        assert_eq!(PoolMessage::nonce(&sm), 3);
        assert_eq!(
            sm.required_funds(),
            TokenAmount::from_atto(7 + 200 * 1_000_000)
        );
    }
}
