//! The networks `venus daemon --network` accepts: venus-types' table (one for the daemon,
//! config, API and consensus), under the names the node's code uses.

pub use venus_types::network::{
    NetworkKind as Network, NetworkParams, UnknownNetwork, from_network_type,
};
