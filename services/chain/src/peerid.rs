//! Base58btc, the text form of libp2p peer IDs (`12D3Koo…`, `Qm…`): genesis templates carry
//! peer IDs as text, miner state stores their bytes.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A character outside the base58btc alphabet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid peer id {text:?}: {ch:?} is not a base58btc character")]
pub struct PeerIdError {
    pub text: String,
    pub ch: char,
}

pub fn decode(text: &str) -> Result<Vec<u8>, PeerIdError> {
    let mut bytes: Vec<u8> = Vec::new(); // little-endian base-256 accumulator
    for ch in text.chars() {
        let digit = ALPHABET
            .iter()
            .position(|&a| a as char == ch)
            .ok_or_else(|| PeerIdError {
                text: text.to_string(),
                ch,
            })? as u32;
        let mut carry = digit;
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.chars().take_while(|&c| c == '1').count();
    bytes.extend(std::iter::repeat_n(0, zeros));
    bytes.reverse();
    Ok(bytes)
}

pub fn encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base-58
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_peer_id() {
        // An Ed25519 peer ID in its usual text form.
        let text = "12D3KooWBhhbo3RmV6TvQRuAWkbBpo5fKnkeADsS97rRp1BPpLDT";
        let bytes = decode(text).expect("decode");
        assert_eq!(&bytes[..2], &[0x00, 0x24]); // identity multihash of a 36-byte key
        assert_eq!(encode(&bytes), text);
        assert_eq!(encode(&[0, 0, 1]), "112");
        assert!(decode("0OIl").is_err());
    }
}
