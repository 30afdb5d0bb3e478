//! Filecoin chain core for the venus node.
//!
//! - [`blockstore`]: redb-backed crash-safe block storage, an in-memory store, a write buffer.
//! - [`network`]: the parameter table of every accepted network.
//! - [`actors`], [`state`], [`gas`], [`vm`]: the native actor model in a HAMT state tree and
//!   message application with Filecoin's gas rules.
//! - [`genesis`]: genesis template and pre-seal file types; building the genesis state/block.
//! - [`store`]: the chain store (blocks, messages, tipsets, head, height index, fork choice,
//!   head-change events).
//! - [`exec`]: deferred tipset execution (state root + receipts root of a tipset).
//! - [`validate`]: block validation as named steps; [`create`]: `create_block`.
//! - [`car`]: CAR export/import of the chain.

pub mod actors;
pub mod blockstore;
pub mod car;
pub mod create;
pub mod election;
pub mod exec;
pub mod gas;
pub mod genesis;
pub mod mining;
pub mod msgmeta;
/// The network table lives in venus-types (the node needs it without this crate).
pub use venus_types::network;
pub mod peerid;
pub mod post;
pub mod query;
pub mod state;
pub mod store;
pub mod testkit;
pub mod validate;
pub mod vm;
