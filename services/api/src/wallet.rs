//! venus-wallet's own API (`/rpc/v0`, namespace `Filecoin`, Lotus-compatible remote wallet)
//! and `MsgMeta`, which tells a wallet what the bytes it is asked to sign are.

use venus_rpc::{Method, Permission};
use venus_types::{Address, Base64Bytes, Signature};

pub use venus_types::{KeyInfo, KeyType, MsgMeta, MsgType};

pub const WALLET_NEW: Method<(KeyType,), Address> =
    Method::new("Filecoin.WalletNew", Permission::Admin);
pub const WALLET_HAS: Method<(Address,), bool> =
    Method::new("Filecoin.WalletHas", Permission::Read);
pub const WALLET_LIST: Method<(), Vec<Address>> =
    Method::new("Filecoin.WalletList", Permission::Read);
pub const WALLET_SIGN: Method<(Address, Base64Bytes, MsgMeta), Signature> =
    Method::new("Filecoin.WalletSign", Permission::Sign);
pub const WALLET_EXPORT: Method<(Address,), KeyInfo> =
    Method::new("Filecoin.WalletExport", Permission::Admin);
pub const WALLET_IMPORT: Method<(KeyInfo,), Address> =
    Method::new("Filecoin.WalletImport", Permission::Admin);
pub const WALLET_DELETE: Method<(Address,), ()> =
    Method::new("Filecoin.WalletDelete", Permission::Admin);
pub const SET_PASSWORD: Method<(String,), ()> =
    Method::new("Filecoin.SetPassword", Permission::Admin);
pub const UNLOCK: Method<(String,), ()> = Method::new("Filecoin.Unlock", Permission::Admin);
pub const LOCK: Method<(String,), ()> = Method::new("Filecoin.Lock", Permission::Admin);
pub const LOCK_STATE: Method<(), bool> = Method::new("Filecoin.LockState", Permission::Admin);
pub const VERIFY_PASSWORD: Method<(String,), ()> =
    Method::new("Filecoin.VerifyPassword", Permission::Admin);
pub const ADD_SUPPORT_ACCOUNT: Method<(String,), ()> =
    Method::new("Filecoin.AddSupportAccount", Permission::Admin);
pub const VERSION: Method<(), serde_json::Value> =
    Method::new("Filecoin.Version", Permission::Read);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_meta_json_matches_venus_shared() {
        let m = MsgMeta {
            msg_type: MsgType::ChainMsg,
            extra: vec![0x82, 1].into(),
        };
        let json = serde_json::to_string(&m).expect("serialisable");
        assert_eq!(json, r#"{"Type":"message","Extra":"ggE="}"#);
        let unknown: MsgMeta =
            serde_json::from_str(r#"{"Type":"unknown","Extra":null}"#).expect("parses");
        assert!(unknown.extra.is_empty());
    }
}
