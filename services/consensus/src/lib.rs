//! Expected-consensus formulas shared by node and miner: election, weight, beacon, devnet proofs
