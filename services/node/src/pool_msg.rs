//! `venus_types::SignedMessage` as a message-pool entry.

use cid::Cid;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use venus_types::SignedMessage;

use crate::mpool::PoolMessage;

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
