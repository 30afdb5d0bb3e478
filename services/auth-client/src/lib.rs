//! venus-auth client: cached token verification and user/miner/signer queries
