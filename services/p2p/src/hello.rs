//! The hello protocol, `/fil/hello/1.0.0`: on connect each side sends its heaviest tipset and
//! genesis; the other answers with the arrival and send times (Lotus `node/hello`).

use venus_types::{BigInt, ChainEpoch, Cid};

use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple, serde_tuple};

/// The hello protocol id.
pub const PROTOCOL: &str = "/fil/hello/1.0.0";

/// What a node says on connect: its heaviest tipset and which chain it is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct HelloMessage {
    /// The heaviest tipset's block CIDs (its `TipSetKey`).
    pub heaviest_tipset: Vec<Cid>,
    /// Its height.
    pub heaviest_tipset_height: ChainEpoch,
    /// Its weight (a Filecoin big integer: sign byte + big-endian magnitude).
    pub heaviest_tipset_weight: BigInt,
    /// The genesis block's CID; a peer on another genesis is disconnected.
    pub genesis_hash: Cid,
}

/// The answer to a hello: when it arrived and when this answer was sent, in Unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct LatencyMessage {
    /// When the hello arrived.
    pub t_arrival: i64,
    /// When this answer was sent.
    pub t_sent: i64,
}
