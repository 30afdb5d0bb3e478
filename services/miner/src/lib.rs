//! venus-miner: block production for every miner of the pool. Each epoch it runs every
//! open miner's election through the gateway (VRFs by the worker key in the cluster's wallet,
//! WinningPoSt by its prover), creates and signs the winners' blocks, claims each (miner,
//! epoch) atomically and submits the blocks to the nodes. See README.md.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod claims;
pub mod config;
pub mod daemon;
pub mod election;
pub mod gateway;
pub mod ha;
pub mod init;
pub mod metrics;
pub mod miners;
pub mod mining;
pub mod nodes;
pub mod recorder;
pub mod repo;
pub mod upstream;
pub mod winners;
