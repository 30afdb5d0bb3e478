//! venus-prover: plays damocles' part on a local network. It loads the pre-sealed sectors of
//! its miners, registers with every gateway for each miner, and answers `ComputeProof` with
//! WinningPoSt proofs of the devnet scheme (see `venus-consensus`).

pub mod link;
pub mod prove;
pub mod store;
