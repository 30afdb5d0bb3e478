//! Properties of the consensus formulas over arbitrary inputs.

use num_bigint::BigInt;
use proptest::prelude::*;
use venus_consensus::{MAX_WIN_COUNT, compute_win_count, tipset_weight};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Win count stays in [0, 15] and never drops when the miner's share grows.
    #[test]
    fn win_count_bounded_and_monotone(
        proof in proptest::collection::vec(any::<u8>(), 0..96),
        power in 1u64..1_000_000,
        extra in 0u64..1_000_000,
        total in 1_000_000u64..10_000_000,
    ) {
        let total = BigInt::from(total + extra);
        let low = compute_win_count(&proof, &BigInt::from(power), &total);
        let high = compute_win_count(&proof, &BigInt::from(power + extra), &total);
        prop_assert!((0..=MAX_WIN_COUNT).contains(&low));
        prop_assert!(low <= high && high <= MAX_WIN_COUNT);
    }

    /// Weight grows with the parent weight and with the tipset's wins.
    #[test]
    fn weight_monotone(parent in 0u64..u64::MAX / 2, power in 1u64.., wins in 0i64..50) {
        let p = venus_types::BigInt::from(parent);
        let tp = venus_types::BigInt::from(power);
        let w = tipset_weight(&p, &tp, [wins]).expect("weight");
        let w_more = tipset_weight(&p, &tp, [wins + 1]).expect("weight");
        prop_assert!(w.0 > p.0 || power == 1);
        prop_assert!(w_more.0 >= w.0);
    }
}
