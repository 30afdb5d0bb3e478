//! Expected-consensus formulas shared by the node (validation) and the miner (production):
//! win count, chain weight, the mock beacon, ticket / election / PoSt randomness inputs, and the
//! devnet WinningPoSt stand-in. Pure functions over `venus-types`; no I/O.

pub mod beacon;
pub mod election;
pub mod post;
pub mod randomness;
pub mod weight;

pub use beacon::{BeaconError, MockBeacon, RandomBeacon};
pub use election::{BLOCKS_PER_EPOCH, MAX_WIN_COUNT, compute_win_count};
pub use post::{
    DevnetWinningPoSt, PoStError, SectorChallenge, WinningPoStScheme, winning_post_proof_type,
};
pub use weight::{WeightError, tipset_weight};
