//! venus-wallet: the mining cluster's key holder. It keeps keys in an encrypted store, serves
//! the Lotus-compatible `Filecoin.*` wallet API, and registers with every gateway it is given
//! so chain services can ask it to sign — after it has checked what it is asked to sign.

pub mod api;
pub mod config;
pub mod keystore;
pub mod link;
pub mod policy;
pub mod signed_blocks;
pub mod wallet;
