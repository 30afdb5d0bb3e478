//! Known answers from Lotus and behaviour checks for the consensus formulas.

use num_bigint::BigInt;
use venus_consensus::election::{Poisson, compute_win_count, expneg, lambda};
use venus_consensus::randomness::{
    beacon_base, election_params, ticket_params, winning_post_randomness,
};
use venus_consensus::{
    BeaconError, DevnetWinningPoSt, MockBeacon, PoStError, RandomBeacon, SectorChallenge,
    WeightError, WinningPoStScheme, tipset_weight,
};
use venus_types::randomness::{address_entropy, draw_randomness};
use venus_types::{Address, BeaconEntry, cbor};

fn big(s: &str) -> BigInt {
    s.parse().expect("decimal")
}

/// lotus chain/types/electionproof_test.go TestLambdaFunction +
/// testdata/TestLambdaFunction/2000000000000000-100000000000000000.golden; TestElectionLam.
#[test]
fn lotus_lambda_golden() {
    assert_eq!(
        lambda(&big("2000000000000000"), &big("100000000000000000")),
        big("11579208923731619542357098500868790785326998466564056403945758400791312963993")
    );
    // 64 × 5 / 128 = 2.5 exactly.
    assert_eq!(
        lambda(&BigInt::from(64), &BigInt::from(128)),
        BigInt::from(5) << 255
    );
}

fn poisson_series(base: u64, shift: usize) -> Vec<BigInt> {
    let lam = BigInt::from(base) << (256 - shift);
    let (mut p, first) = Poisson::new(lam);
    let mut out = vec![first];
    for _ in 0..15 {
        out.push(p.next_icdf());
    }
    out
}

/// lotus chain/types/testdata/TestPoissonFunction/lam-1706-10.golden (exp and Poisson steps).
#[test]
fn lotus_poisson_golden_1706_10() {
    let golden = [
        "93907545465879218275260347624273708225148723352890415890955745471328115138024",
        "57447553596668785643406883388130520172829512611140657354486862128150346836988",
        "27076095525930017054568011324233899656590951319429188573619716140132147265911",
        "10209654292635635800479757502291310268341281539592025246744927385067352842651",
        "3184715634432458451975226003210729824895496226017269232182332263939291493510",
        "843984120585852874524302031056145794325474791455055607017530061469667926785",
        "194034907919461416983404196340045475941285897027461784665454449911533518447",
        "39345544525367691179167072173518251727638261160626536209449847049064587000",
        "7131182470884793691126479665205819536661348710819293305892247868965466268",
        "1167890189531948301087715470416213490892402026859749426392544722128541359",
        "174396377814374645286335419995210764907848995332895729280582459579342738",
        "23925812935985027317838050852967276757134553590636105055350959232313899",
        "3035286920153916620063269622769735189335169019323041991528942663951986",
        "358060554242868329017312833503133182524340437692927389149107908421231",
        "39467628723598770945019147503633808666969235107758896427288845018926",
        "4082242594961149456000070139366495398696105445630156285138889148853",
    ];
    let got = poisson_series(1706, 10);
    for (i, g) in golden.iter().enumerate() {
        assert_eq!(got[i], big(g), "step {i}");
    }
}

/// lotus chain/types/testdata/TestPoissonFunction/lam-209714-20.golden.
#[test]
fn lotus_poisson_golden_209714_20() {
    let golden = [
        "20989436322611254574979389012727393136091537312055593688180077279147576363096",
        "2029014232696520721523332453453803636238058967796600089005757967894658844577",
        "132982872945592560215194824292206599698851338836977427578620974467337246296",
        "6581505574095040906286115477587166321018484661524779791358182693980706360",
        "261473369241451189291715224208035992983406808190620756138506410631265448",
        "8673527587881831627652027122245179992541421812500366598395022980519170",
        "246914417172755020716947338861248744263385116558896234139925344965714",
        "6155418508705151241339695503211918565434455355693098789916851059631",
        "136477982954924943101944815709613669983383501630000081908122878386",
        "2724514397229876659600187515561464490237868059330199615762951760",
        "49460332945698577716770256622916953121860884014393828193908634",
        "823264627479642334265449493920662550930201158945634649498769",
        "12651460568281449375957051928671501418597070452648092732548",
        "180560129118157986659345179422379755776654969450793746138",
        "2405427973892505908363489341734991530618943133521671600",
        "30045550760659097055494870911555042207154242485930695",
    ];
    let got = poisson_series(209714, 20);
    for (i, g) in golden.iter().enumerate() {
        assert_eq!(got[i], big(g), "step {i}");
    }
    // e^0 = 1 in Q.256.
    assert_eq!(expneg(&BigInt::from(0)), BigInt::from(1) << 256);
}

/// lotus electionproof_test.go TestWinCounts (1/5 of the power → about 1 win per epoch), with
/// a smaller sample (20 000 draws; standard error ≈ 0.007) to keep the test quick.
#[test]
fn lotus_win_count_average() {
    let (power, total) = (BigInt::from(20), BigInt::from(100));
    let count = 20_000u64;
    let mut wins = 0i64;
    for i in 0..count {
        let w = i + 1_000_000;
        let proof = [
            w as u8,
            (w >> 8) as u8,
            (w >> 16) as u8,
            (w >> 24) as u8,
            (w >> 32) as u8,
        ];
        wins += compute_win_count(&proof, &power, &total);
    }
    let avg = wins as f64 / count as f64;
    assert!((0.97..=1.03).contains(&avg), "average wins {avg}");
}

#[test]
fn win_count_edges() {
    let proof = b"proof";
    assert_eq!(
        compute_win_count(proof, &BigInt::from(0), &BigInt::from(100)),
        0
    );
    assert_eq!(
        compute_win_count(proof, &BigInt::from(1), &BigInt::from(0)),
        0
    );
    // Wins never decrease with more power, and never exceed the cap.
    let mut last = 0;
    for p in [1u64, 10, 50, 100, 1000, 100_000] {
        let w = compute_win_count(proof, &BigInt::from(p), &BigInt::from(100));
        assert!(w >= last && w <= venus_consensus::MAX_WIN_COUNT);
        last = w;
    }
}

/// lotus chain/consensus/filcns/weight.go, computed by hand.
#[test]
fn weight_formula() {
    let total = venus_types::BigInt::from(1u64 << 40); // bitlen 41 → log2P 40
    let w = tipset_weight(&venus_types::BigInt::from(100), &total, [1, 2]).expect("weight");
    assert_eq!(
        w,
        venus_types::BigInt::from(100 + 40 * 256 + (40 * 256 * 3) / 10)
    );
    assert_eq!(
        tipset_weight(
            &venus_types::BigInt::from(1),
            &venus_types::BigInt::from(0),
            [1]
        ),
        Err(WeightError::NoPower)
    );
}

/// lotus chain/beacon/mock.go: data = blake2b-256(round BE u64), round = epoch + 100.
#[test]
fn mock_beacon() {
    let b = MockBeacon;
    let e = b.entry(7).expect("entry");
    assert_eq!(e.data.as_slice(), cbor::blake2b_256(&7u64.to_be_bytes()));
    b.verify_entry(&e).expect("valid");
    let bad = BeaconEntry {
        round: 8,
        data: e.data.clone(),
    };
    assert_eq!(
        b.verify_entry(&bad),
        Err(BeaconError::InvalidEntry { round: 8 })
    );
    assert_eq!(b.max_round_for_epoch(5), 105);
    let entries = b.entries_for_block(12, 9).expect("entries");
    assert_eq!(
        entries.iter().map(|e| e.round).collect::<Vec<_>>(),
        vec![110, 111, 112]
    );
    b.validate_block_entries(&entries, 12, 9).expect("valid");
    assert!(matches!(
        b.validate_block_entries(&entries[1..], 12, 9),
        Err(BeaconError::WrongCount { .. })
    ));
    assert!(b.entries_for_block(9, 9).is_err());
}

#[test]
fn randomness_inputs() {
    let miner = Address::new_id(1000);
    let prev = BeaconEntry {
        round: 1,
        data: vec![1; 32].into(),
    };
    let newer = BeaconEntry {
        round: 2,
        data: vec![2; 32].into(),
    };
    assert_eq!(beacon_base(&[], &prev), &prev);
    assert_eq!(beacon_base(std::slice::from_ref(&newer), &prev), &newer);

    let t = ticket_params(&newer, 10, &miner, Some(b"minticket"));
    assert_eq!(t.round, 9);
    let mut entropy = address_entropy(&miner);
    entropy.extend_from_slice(b"minticket");
    assert_eq!(t.sign_bytes(), draw_randomness(&newer.data, 1, 9, &entropy));
    let e = election_params(&newer, 10, &miner);
    assert_eq!(
        e.sign_bytes(),
        draw_randomness(&newer.data, 2, 10, &address_entropy(&miner))
    );
    assert_eq!(
        winning_post_randomness(&newer, 10, &miner),
        draw_randomness(&newer.data, 3, 10, &address_entropy(&miner))
    );
}

#[test]
fn devnet_post_binds_every_input() {
    let scheme = DevnetWinningPoSt::default();
    let sector = |n: u64| SectorChallenge {
        sector_number: n,
        sealed_cid: cbor::cid_of_cbor_bytes(&n.to_be_bytes()),
    };
    let rand = [7u8; 32];
    let idx = scheme.challenge_indices(&rand, 1000, 4).expect("indices");
    assert_eq!(idx.len(), 1);
    assert!(idx[0] < 4);
    assert_eq!(idx, scheme.challenge_indices(&rand, 1000, 4).expect("same"));
    assert_eq!(
        scheme.challenge_indices(&rand, 1000, 0),
        Err(PoStError::NoSectors)
    );

    let sectors = vec![sector(3)];
    let proofs = scheme.prove(1000, &sectors, &rand).expect("prove");
    scheme
        .verify(1000, &sectors, &rand, &proofs)
        .expect("verifies");
    assert_eq!(
        scheme.verify(1001, &sectors, &rand, &proofs),
        Err(PoStError::Invalid)
    );
    assert_eq!(
        scheme.verify(1000, &[sector(4)], &rand, &proofs),
        Err(PoStError::Invalid)
    );
    let other_cid = vec![SectorChallenge {
        sector_number: 3,
        sealed_cid: cbor::cid_of_cbor_bytes(b"x"),
    }];
    assert_eq!(
        scheme.verify(1000, &other_cid, &rand, &proofs),
        Err(PoStError::Invalid)
    );
    assert_eq!(
        scheme.verify(1000, &sectors, &[8u8; 32], &proofs),
        Err(PoStError::Invalid)
    );
    assert!(matches!(
        scheme.verify(1000, &sectors, &rand, &[]),
        Err(PoStError::WrongProofCount { .. })
    ));
    let mut wrong_type = proofs.clone();
    wrong_type[0].post_proof = 3;
    assert!(matches!(
        scheme.verify(1000, &sectors, &rand, &wrong_type),
        Err(PoStError::WrongProofType { .. })
    ));
}
