//! Every venus JSON-RPC API declared once (method name, permission, params, result) with
//! `venus-rpc`'s typed method constants; servers route them and clients call them.

pub mod full_node;
pub mod gateway;
pub mod messager;
pub mod miner;
pub mod proof;
pub mod wallet;
