//! `Address` with the network prefix rule of go-address: render with the configured prefix,
//! accept either prefix when parsing.

use std::fmt;
use std::str::FromStr;

use fvm_shared::address::{self as fvm_address, Protocol};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which prefix addresses are rendered with: `f` (mainnet) or `t` (every test network).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Network {
    #[default]
    Mainnet,
    Testnet,
}

impl Network {
    /// Sets the process-wide rendering prefix (fvm_shared keeps it in a global atomic).
    /// Call once at startup, after reading the network from config.
    pub fn set_current(self) {
        fvm_address::set_current_network(self.into());
    }

    /// The process-wide rendering prefix.
    pub fn current() -> Self {
        match fvm_address::current_network() {
            fvm_address::Network::Mainnet => Network::Mainnet,
            fvm_address::Network::Testnet => Network::Testnet,
        }
    }

    /// `'f'` or `'t'`.
    pub fn prefix(self) -> char {
        match self {
            Network::Mainnet => 'f',
            Network::Testnet => 't',
        }
    }

    /// Renders `addr` with this network's prefix, whatever the process-wide setting.
    pub fn format_address(self, addr: &Address) -> String {
        let rendered = addr.0.to_string();
        // fvm_shared renders with the global prefix; swap the first character.
        format!("{}{}", self.prefix(), &rendered[1..])
    }
}

impl From<Network> for fvm_address::Network {
    fn from(n: Network) -> Self {
        match n {
            Network::Mainnet => fvm_address::Network::Mainnet,
            Network::Testnet => fvm_address::Network::Testnet,
        }
    }
}

/// An address string or byte form is malformed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("invalid address {input:?}: empty string")]
    Empty { input: String },
    #[error("invalid address {input:?}: unknown network prefix {prefix:?} (want 'f' or 't')")]
    UnknownNetwork { input: String, prefix: char },
    #[error("invalid address {input:?}: {reason}")]
    Malformed {
        input: String,
        reason: fvm_address::Error,
    },
    #[error("invalid address bytes 0x{hex}: {reason}")]
    MalformedBytes {
        hex: String,
        reason: fvm_address::Error,
    },
    #[error("invalid {wanted} public key: {reason}")]
    PublicKey {
        wanted: &'static str,
        reason: fvm_address::Error,
    },
}

/// A Filecoin address (protocols 0 ID, 1 secp256k1, 2 actor, 3 BLS, 4 delegated).
/// CBOR: a byte string (protocol byte + payload). JSON: the string form with the current
/// network prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub fvm_address::Address);

impl Address {
    /// `f0<id>`.
    pub const fn new_id(id: u64) -> Self {
        Self(fvm_address::Address::new_id(id))
    }

    /// From an uncompressed 65-byte secp256k1 public key.
    pub fn new_secp256k1(public_key: &[u8]) -> Result<Self, AddressError> {
        fvm_address::Address::new_secp256k1(public_key)
            .map(Self)
            .map_err(|reason| AddressError::PublicKey {
                wanted: "secp256k1 (65-byte uncompressed)",
                reason,
            })
    }

    /// From a 48-byte BLS public key.
    pub fn new_bls(public_key: &[u8]) -> Result<Self, AddressError> {
        fvm_address::Address::new_bls(public_key)
            .map(Self)
            .map_err(|reason| AddressError::PublicKey {
                wanted: "BLS (48-byte)",
                reason,
            })
    }

    /// Actor address from actor-creation data.
    pub fn new_actor(data: &[u8]) -> Self {
        Self(fvm_address::Address::new_actor(data))
    }

    /// Delegated (f4) address.
    pub fn new_delegated(namespace: u64, sub_address: &[u8]) -> Result<Self, AddressError> {
        fvm_address::Address::new_delegated(namespace, sub_address)
            .map(Self)
            .map_err(|reason| AddressError::MalformedBytes {
                hex: hex::encode(sub_address),
                reason,
            })
    }

    /// Parses the byte form (protocol byte + payload).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AddressError> {
        fvm_address::Address::from_bytes(bytes)
            .map(Self)
            .map_err(|reason| AddressError::MalformedBytes {
                hex: hex::encode(bytes),
                reason,
            })
    }

    /// The byte form.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    pub fn protocol(&self) -> Protocol {
        self.0.protocol()
    }

    /// The actor ID of an ID address.
    pub fn id(&self) -> Option<u64> {
        self.0.id().ok()
    }

    /// The payload bytes (the public key of a BLS address, the hash of a secp address).
    pub fn payload_bytes(&self) -> Vec<u8> {
        self.0.payload_bytes()
    }
}

impl From<fvm_address::Address> for Address {
    fn from(a: fvm_address::Address) -> Self {
        Self(a)
    }
}

impl From<Address> for fvm_address::Address {
    fn from(a: Address) -> Self {
        a.0
    }
}

impl std::ops::Deref for Address {
    type Target = fvm_address::Address;
    fn deref(&self) -> &fvm_address::Address {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.0)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    /// Accepts `f…` and `t…` whatever the current network (as go-address does).
    fn from_str(s: &str) -> Result<Self, AddressError> {
        let input = || s.chars().take(128).collect::<String>();
        let network = match s.chars().next() {
            None => return Err(AddressError::Empty { input: input() }),
            Some('f') => fvm_address::Network::Mainnet,
            Some('t') => fvm_address::Network::Testnet,
            Some(prefix) => {
                return Err(AddressError::UnknownNetwork {
                    input: input(),
                    prefix,
                });
            }
        };
        network
            .parse_address(s)
            .map(Self)
            .map_err(|reason| AddressError::Malformed {
                input: input(),
                reason,
            })
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(&self.0)
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            fvm_address::Address::deserialize(deserializer).map(Self)
        }
    }
}

/// Go's `address.Undef` in a field that may be unset: `None` is JSON `"<empty>"` (and `null`
/// or `""` read as `None`) and CBOR `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MaybeAddress(pub Option<Address>);

/// The JSON string go-address uses for `address.Undef`.
pub const UNDEF_ADDRESS: &str = "<empty>";

impl From<Option<Address>> for MaybeAddress {
    fn from(a: Option<Address>) -> Self {
        Self(a)
    }
}

impl Serialize for MaybeAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            None if s.is_human_readable() => s.serialize_str(UNDEF_ADDRESS),
            other => other.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MaybeAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text: Option<String> = Option::deserialize(d)?;
            match text.as_deref() {
                None | Some(UNDEF_ADDRESS) | Some("") => Ok(Self(None)),
                Some(t) => t
                    .parse()
                    .map(|a| Self(Some(a)))
                    .map_err(serde::de::Error::custom),
            }
        } else {
            Option::<Address>::deserialize(d).map(Self)
        }
    }
}
