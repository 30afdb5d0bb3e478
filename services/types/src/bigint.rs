//! `BigInt` and `TokenAmount`: Filecoin big integers — a sign byte plus big-endian magnitude in
//! CBOR (zero is the empty byte string), a decimal string in JSON.

use std::fmt;
use std::str::FromStr;

use num_bigint::Sign;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest magnitude (in bytes, plus the sign byte) that Lotus and fvm_shared decode.
pub const MAX_BIGINT_BYTES: usize = 128;

/// Chain epoch (block height).
pub type ChainEpoch = i64;

/// An arbitrary-precision signed integer (`big.Int` in Lotus; storage power, weights).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BigInt(pub num_bigint::BigInt);

/// Storage power in bytes.
pub type StoragePower = BigInt;

/// A big integer could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BigIntError {
    #[error("invalid big integer {0:?}: want a decimal integer")]
    NotDecimal(String),
    #[error("big integer too large: {0} bytes (at most {MAX_BIGINT_BYTES})")]
    TooLarge(usize),
    #[error("invalid big integer bytes: sign byte {0:#04x} (want 0x00 or 0x01)")]
    BadSign(u8),
}

/// The CBOR payload: sign byte + big-endian magnitude; zero is empty.
pub(crate) fn bigint_to_bytes(n: &num_bigint::BigInt) -> Vec<u8> {
    let (sign, mut magnitude) = n.to_bytes_be();
    match sign {
        Sign::NoSign => Vec::new(),
        Sign::Plus => {
            magnitude.insert(0, 0);
            magnitude
        }
        Sign::Minus => {
            magnitude.insert(0, 1);
            magnitude
        }
    }
}

pub(crate) fn bigint_from_bytes(bytes: &[u8]) -> Result<num_bigint::BigInt, BigIntError> {
    if bytes.len() > MAX_BIGINT_BYTES {
        return Err(BigIntError::TooLarge(bytes.len()));
    }
    let Some((&sign, magnitude)) = bytes.split_first() else {
        return Ok(num_bigint::BigInt::default());
    };
    let sign = match sign {
        0 => Sign::Plus,
        1 => Sign::Minus,
        other => return Err(BigIntError::BadSign(other)),
    };
    Ok(num_bigint::BigInt::from_bytes_be(sign, magnitude))
}

fn parse_decimal(text: &str) -> Result<num_bigint::BigInt, BigIntError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    // The digit check keeps `+5`, `0x10`, whitespace and the like out, as Go's big.Int
    // SetString(s, 10) does; the length cap bounds the work before the byte-size check.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || text.len() > 400 {
        return Err(BigIntError::NotDecimal(text.chars().take(64).collect()));
    }
    let n = num_bigint::BigInt::from_str(text)
        .map_err(|_| BigIntError::NotDecimal(text.chars().take(64).collect()))?;
    let len = bigint_to_bytes(&n).len();
    if len > MAX_BIGINT_BYTES {
        return Err(BigIntError::TooLarge(len));
    }
    Ok(n)
}

fn serialize_bigint<S: Serializer>(n: &num_bigint::BigInt, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.collect_str(n)
    } else {
        s.serialize_bytes(&bigint_to_bytes(n))
    }
}

fn deserialize_bigint<'de, D: Deserializer<'de>>(d: D) -> Result<num_bigint::BigInt, D::Error> {
    if d.is_human_readable() {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_decimal(&text).map_err(serde::de::Error::custom)
    } else {
        let bytes: Vec<u8> = fvm_ipld_encoding::strict_bytes::deserialize(d)?;
        bigint_from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

impl BigInt {
    pub fn zero() -> Self {
        Self::default()
    }
}

macro_rules! bigint_from {
    ($($t:ty),*) => {$(
        impl From<$t> for BigInt {
            fn from(v: $t) -> Self {
                Self(v.into())
            }
        }
    )*};
}
bigint_from!(i32, i64, i128, u32, u64, u128, num_bigint::BigInt);

impl std::ops::Deref for BigInt {
    type Target = num_bigint::BigInt;
    fn deref(&self) -> &num_bigint::BigInt {
        &self.0
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BigInt({})", self.0)
    }
}

impl FromStr for BigInt {
    type Err = BigIntError;
    fn from_str(s: &str) -> Result<Self, BigIntError> {
        parse_decimal(s).map(Self)
    }
}

impl Serialize for BigInt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bigint(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_bigint(d).map(Self)
    }
}

/// An amount of FIL in attoFIL. Wraps fvm_shared's `TokenAmount` (arithmetic via `Deref` and
/// the operators below); JSON is the decimal attoFIL string, as in Lotus.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenAmount(pub fvm_shared::econ::TokenAmount);

impl TokenAmount {
    pub fn from_atto(atto: impl Into<num_bigint::BigInt>) -> Self {
        Self(fvm_shared::econ::TokenAmount::from_atto(atto))
    }
    pub fn from_nano(nano: impl Into<num_bigint::BigInt>) -> Self {
        Self(fvm_shared::econ::TokenAmount::from_nano(nano))
    }
    pub fn from_whole(fil: impl Into<num_bigint::BigInt>) -> Self {
        Self(fvm_shared::econ::TokenAmount::from_whole(fil))
    }
    pub fn zero() -> Self {
        Self::default()
    }
    pub fn atto(&self) -> &num_bigint::BigInt {
        self.0.atto()
    }
}

impl From<fvm_shared::econ::TokenAmount> for TokenAmount {
    fn from(v: fvm_shared::econ::TokenAmount) -> Self {
        Self(v)
    }
}

impl From<TokenAmount> for fvm_shared::econ::TokenAmount {
    fn from(v: TokenAmount) -> Self {
        v.0
    }
}

impl std::ops::Deref for TokenAmount {
    type Target = fvm_shared::econ::TokenAmount;
    fn deref(&self) -> &fvm_shared::econ::TokenAmount {
        &self.0
    }
}

macro_rules! token_ops {
    ($($trait:ident $method:ident $assign_trait:ident $assign:ident),*) => {$(
        impl std::ops::$trait<&TokenAmount> for &TokenAmount {
            type Output = TokenAmount;
            fn $method(self, rhs: &TokenAmount) -> TokenAmount {
                TokenAmount(std::ops::$trait::$method(&self.0, &rhs.0))
            }
        }
        impl std::ops::$trait<TokenAmount> for TokenAmount {
            type Output = TokenAmount;
            fn $method(self, rhs: TokenAmount) -> TokenAmount {
                TokenAmount(std::ops::$trait::$method(self.0, rhs.0))
            }
        }
        impl std::ops::$assign_trait<&TokenAmount> for TokenAmount {
            fn $assign(&mut self, rhs: &TokenAmount) {
                std::ops::$assign_trait::$assign(&mut self.0, &rhs.0);
            }
        }
    )*};
}
token_ops!(Add add AddAssign add_assign, Sub sub SubAssign sub_assign);

impl fmt::Display for TokenAmount {
    /// attoFIL as a decimal integer (the wire form); use `.0` for fvm_shared's FIL rendering.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0.atto(), f)
    }
}

impl fmt::Debug for TokenAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenAmount({} atto)", self.0.atto())
    }
}

impl FromStr for TokenAmount {
    type Err = BigIntError;
    /// Parses a decimal attoFIL integer.
    fn from_str(s: &str) -> Result<Self, BigIntError> {
        parse_decimal(s).map(Self::from_atto)
    }
}

impl Serialize for TokenAmount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bigint(self.0.atto(), s)
    }
}

impl<'de> Deserialize<'de> for TokenAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_bigint(d).map(Self::from_atto)
    }
}
