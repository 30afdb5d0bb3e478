//! `Cid`: a CID that is a DAG-CBOR link (tag 42) in CBOR and `{"/":"bafy…"}` in JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A content identifier. Wraps [`cid::Cid`]; see the crate docs for the serde rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cid(pub cid::Cid);

/// A CID string or byte form could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid cid: {0}")]
pub struct CidError(#[from] cid::Error);

impl Cid {
    /// The binary form (version, codec, multihash).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Parses the binary form; trailing bytes are an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        Ok(Self(cid::Cid::try_from(bytes)?))
    }
}

impl From<cid::Cid> for Cid {
    fn from(c: cid::Cid) -> Self {
        Self(c)
    }
}

impl From<Cid> for cid::Cid {
    fn from(c: Cid) -> Self {
        c.0
    }
}

impl std::ops::Deref for Cid {
    type Target = cid::Cid;
    fn deref(&self) -> &cid::Cid {
        &self.0
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({})", self.0)
    }
}

impl FromStr for Cid {
    type Err = CidError;
    fn from_str(s: &str) -> Result<Self, CidError> {
        Ok(Self(cid::Cid::try_from(s)?))
    }
}

#[derive(Serialize, Deserialize)]
struct CidJson<T> {
    #[serde(rename = "/")]
    link: T,
}

impl Serialize for Cid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            CidJson {
                link: self.0.to_string(),
            }
            .serialize(serializer)
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let json = CidJson::<String>::deserialize(deserializer)?;
            json.link.parse().map_err(serde::de::Error::custom)
        } else {
            cid::Cid::deserialize(deserializer).map(Cid)
        }
    }
}
