//! Validation of the Filecoin addresses venus-auth stores.
//!
//! Miners must be ID addresses (`f0…`); signers must be secp256k1 (`f1`), BLS (`f3`) or
//! delegated (`f4`) addresses with a valid checksum, as the original checks. Like the
//! original (which forces the mainnet network), addresses are stored and returned with the
//! `f` prefix whichever network prefix they came with.

use data_encoding::BASE32_NOPAD;

const CHECKSUM_LEN: usize = 4;

/// Normalise a miner address (`f01000`, `t01000`) to `f0<id>`.
pub fn parse_miner(s: &str) -> Result<String, String> {
    let s = unquote(s);
    let body = strip_network(s).ok_or_else(|| bad(s, "does not start with f or t"))?;
    let id = body
        .strip_prefix('0')
        .ok_or_else(|| bad(s, "a miner must be an ID address (f0…)"))?;
    if id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_digit())
        || (id.len() > 1 && id.starts_with('0'))
    {
        return Err(bad(s, "an ID address is f0 followed by a decimal actor id"));
    }
    let id: u64 = id
        .parse()
        .map_err(|_| bad(s, "actor id does not fit in 64 bits"))?;
    Ok(format!("f0{id}"))
}

/// Normalise a signer address (f1 / f3 / f4) to its `f` form, checking its checksum.
pub fn parse_signer(s: &str) -> Result<String, String> {
    let s = unquote(s);
    let lower = s.to_ascii_lowercase();
    let body = strip_network(&lower).ok_or_else(|| bad(s, "does not start with f or t"))?;
    let (protocol, rest) = body.split_at(body.len().min(1));
    let (protocol_byte, payload_len, checked) = match protocol {
        "1" => (1u8, Some(20), rest.to_owned()),
        "3" => (3u8, Some(48), rest.to_owned()),
        "4" => {
            let (ns, sub) = rest
                .split_once('f')
                .ok_or_else(|| bad(s, "a delegated address is f4<namespace>f<subaddress>"))?;
            let ns: u64 = ns
                .parse()
                .map_err(|_| bad(s, "delegated namespace is not a number"))?;
            return check_delegated(s, ns, sub).map(|()| format!("f{body}"));
        }
        "0" | "2" => {
            return Err(bad(
                s,
                "a signer must be a secp256k1 (f1), BLS (f3) or delegated (f4) address",
            ));
        }
        _ => return Err(bad(s, "unknown address protocol")),
    };
    let raw = decode_base32(s, &checked)?;
    if Some(raw.len()) != payload_len.map(|n| n + CHECKSUM_LEN) {
        return Err(bad(s, "wrong payload length"));
    }
    let (payload, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
    if checksum(protocol_byte, payload) != sum {
        return Err(bad(s, "checksum mismatch"));
    }
    Ok(format!("f{body}"))
}

fn check_delegated(s: &str, namespace: u64, sub: &str) -> Result<(), String> {
    let raw = decode_base32(s, sub)?;
    if raw.len() <= CHECKSUM_LEN || raw.len() > 54 + CHECKSUM_LEN {
        return Err(bad(s, "wrong delegated sub-address length"));
    }
    let (subaddr, sum) = raw.split_at(raw.len() - CHECKSUM_LEN);
    let mut payload = leb128(namespace);
    payload.extend_from_slice(subaddr);
    if checksum(4, &payload) != sum {
        return Err(bad(s, "checksum mismatch"));
    }
    Ok(())
}

fn decode_base32(s: &str, text: &str) -> Result<Vec<u8>, String> {
    BASE32_NOPAD
        .decode(text.to_ascii_uppercase().as_bytes())
        .map_err(|_| bad(s, "payload is not base32"))
}

fn checksum(protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut state = blake2b_simd::Params::new()
        .hash_length(CHECKSUM_LEN)
        .to_state();
    state.update(&[protocol]);
    state.update(payload);
    state.finalize().as_bytes().to_vec()
}

fn leb128(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn strip_network(s: &str) -> Option<&str> {
    s.strip_prefix('f').or_else(|| s.strip_prefix('t'))
}

/// The original's middleware wraps query values in quotes; accept them either way.
fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

fn bad(s: &str, why: &str) -> String {
    format!("invalid address {s:?}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miners_are_id_addresses() {
        assert_eq!(parse_miner("f01000").unwrap(), "f01000");
        assert_eq!(parse_miner("t01234").unwrap(), "f01234");
        assert_eq!(parse_miner("\"f02\"").unwrap(), "f02");
        for bad in [
            "",
            "f0",
            "01000",
            "x01000",
            "f1abc",
            "f0-1",
            "f0012",
            "f099999999999999999999",
        ] {
            assert!(parse_miner(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signers_need_a_valid_checksum() {
        // Real addresses (secp256k1 from the reference notes, BLS and delegated from Lotus docs).
        let secp = "f1tclomb6b7dyohhken7bbqpgskiplvgyzd6bekoi";
        assert_eq!(parse_signer(secp).unwrap(), secp);
        assert_eq!(parse_signer(&secp.replacen('f', "t", 1)).unwrap(), secp);
        let bls = "f3vvmn62lofvhjd2ugzca6sof2j2ubwok6cj4xxbfzz4yuxfkgobpihhd2thlanmsh3w2ptld2gqkn2jvlss4a";
        assert_eq!(parse_signer(bls).unwrap(), bls);
        let delegated = "f410fkkld55ioe7qg24wvt7fu6pbknb56ht7pt4zamxa";
        assert_eq!(parse_signer(delegated).unwrap(), delegated);
        let mut broken = secp.to_owned();
        broken.replace_range(10..11, if &secp[10..11] == "a" { "b" } else { "a" });
        assert!(parse_signer(&broken).unwrap_err().contains("checksum"));
        assert!(parse_signer("f01000").unwrap_err().contains("signer"));
        assert!(parse_signer("f1!!").is_err());
    }
}
