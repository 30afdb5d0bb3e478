//! Expected-consensus arithmetic: Lotus's Poisson win count and the mock beacon.
//! (Kept here until `venus-consensus` publishes the same functions.)

use num_bigint::BigInt;
use num_traits::One;

use crate::network::BLOCKS_PER_EPOCH;

const PRECISION: u32 = 256;
/// MaxWinCount = 3 × BlocksPerEpoch.
pub const MAX_WIN_COUNT: i64 = 3 * BLOCKS_PER_EPOCH as i64;

// exp(-x) as a rational polynomial; integer coefficients scaled by 2^128, highest order first
// (Lotus `chain/types/electionproof.go`).
const EXP_NUM: [&str; 8] = [
    "-648770010757830093818553637600",
    "67469480939593786226847644286976",
    "-3197587544499098424029388939001856",
    "89244641121992890118377641805348864",
    "-1579656163641440567800982336819953664",
    "17685496037279256458459817590917169152",
    "-115682590513835356866803355398940131328",
    "340282366920938463463374607431768211456",
];
const EXP_DENO: [&str; 14] = [
    "1225524182432722209606361",
    "114095592300906098243859450",
    "5665570424063336070530214243",
    "194450132448609991765137938448",
    "5068267641632683791026134915072",
    "104716890604972796896895427629056",
    "1748338658439454459487681798864896",
    "23704654329841312470660182937960448",
    "259380097567996910282699886670381056",
    "2250336698853390384720606936038375424",
    "14978272436876548034486263159246028800",
    "72144088983913131323343765784380833792",
    "224599776407103106596571252037123047424",
    "340282366920938463463374607431768211456",
];

fn coefficients(raw: &[&str]) -> Vec<BigInt> {
    raw.iter()
        .map(|c| {
            // The constants above are valid decimal literals.
            let v: BigInt = c.parse().unwrap_or_default();
            v << (PRECISION - 128)
        })
        .collect()
}

fn polyval(p: &[BigInt], x: &BigInt) -> BigInt {
    let mut res = p[0].clone();
    for c in &p[1..] {
        res = ((res * x) >> PRECISION) + c;
    }
    res
}

/// e^-x, x and result in Q.256.
fn expneg(x: &BigInt) -> BigInt {
    let num = polyval(&coefficients(&EXP_NUM), x);
    let deno = polyval(&coefficients(&EXP_DENO), x);
    (num << PRECISION) / deno
}

/// The number of wins a VRF digest earns for `power` out of `total_power`.
pub fn compute_win_count(vrf_digest: &[u8; 32], power: &BigInt, total_power: &BigInt) -> i64 {
    if total_power.sign() != num_bigint::Sign::Plus || power.sign() != num_bigint::Sign::Plus {
        return 0;
    }
    let lhs = BigInt::from_bytes_be(num_bigint::Sign::Plus, vrf_digest);
    let lam = ((power * BLOCKS_PER_EPOCH) << PRECISION) / total_power;
    let mut pmf = expneg(&lam);
    let mut rhs = (BigInt::one() << PRECISION) - &pmf;
    let mut j = 0i64;
    while lhs < rhs && j < MAX_WIN_COUNT {
        j += 1;
        pmf = ((pmf / j) * &lam) >> PRECISION;
        rhs -= &pmf;
    }
    j
}

/// Lotus's mock beacon: the entry for a round is blake2b-256(round, big-endian).
pub fn mock_beacon_entry(round: u64) -> venus_types::BeaconEntry {
    let data = blake2b_simd::Params::new()
        .hash_length(32)
        .hash(&round.to_be_bytes());
    venus_types::BeaconEntry {
        round,
        data: data.as_bytes().to_vec().into(),
    }
}

/// The mock beacon's latest round for an epoch (one round per epoch, as Lotus's mock).
pub fn max_beacon_round_for_epoch(epoch: i64) -> u64 {
    epoch.max(0) as u64
}

/// The beacon entries a block at `epoch` must carry, after the parent chain's last round.
pub fn beacon_entries_for_block(prev_round: u64, epoch: i64) -> Vec<venus_types::BeaconEntry> {
    let max = max_beacon_round_for_epoch(epoch);
    (prev_round + 1..=max).map(mock_beacon_entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_count_follows_the_poisson_tail() {
        let total = BigInt::from(100u64);
        // The smallest digest wins as often as allowed; the largest never wins.
        assert_eq!(compute_win_count(&[0u8; 32], &total, &total), MAX_WIN_COUNT);
        assert_eq!(
            compute_win_count(&[0xffu8; 32], &BigInt::from(1u64), &total),
            0
        );
        // With all the power, λ = 5: a digest of 1/2 wins about 5 times (median of Poisson(5)).
        let mut half = [0u8; 32];
        half[0] = 0x80;
        assert_eq!(compute_win_count(&half, &total, &total), 5);
        assert_eq!(compute_win_count(&half, &BigInt::from(0u64), &total), 0);
    }

    #[test]
    fn mock_beacon_hashes_the_round() {
        let e = mock_beacon_entry(1);
        let expected = blake2b_simd::Params::new()
            .hash_length(32)
            .hash(&[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(e.data.as_slice(), expected.as_bytes());
        let entries = beacon_entries_for_block(3, 5);
        assert_eq!(
            entries.iter().map(|e| e.round).collect::<Vec<_>>(),
            vec![4, 5]
        );
    }
}
