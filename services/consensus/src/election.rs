//! Win count: Lotus `chain/types/electionproof.go`, bit for bit.
//!
//! `h = blake2b-256(VRFProof)` read as a Q.256 fraction; λ = power × BlocksPerEpoch / total in
//! Q.256; count how many terms of the inverted Poisson CDF exceed `h`, up to `MAX_WIN_COUNT`.

use std::sync::OnceLock;

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Zero};

/// Expected blocks per epoch (Lotus `buildconstants.BlocksPerEpoch`).
pub const BLOCKS_PER_EPOCH: u64 = 5;
/// Most wins one election can yield (`3 × BlocksPerEpoch`).
pub const MAX_WIN_COUNT: i64 = 3 * BLOCKS_PER_EPOCH as i64;

const PRECISION: usize = 256;

// exp(−x) as a rational function; integers scaled by 2^128 (copied exactly from Lotus, as
// consensus requires). Highest-order coefficient first.
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

struct Coefficients {
    num: Vec<BigInt>,
    deno: Vec<BigInt>,
}

fn coefficients() -> &'static Coefficients {
    static COEFS: OnceLock<Coefficients> = OnceLock::new();
    COEFS.get_or_init(|| {
        // The strings are compile-time decimal literals; `parse` cannot fail on them.
        let parse =
            |c: &&str| -> BigInt { c.parse::<BigInt>().unwrap_or_default() << (PRECISION - 128) };
        Coefficients {
            num: EXP_NUM.iter().map(parse).collect(),
            deno: EXP_DENO.iter().map(parse).collect(),
        }
    })
}

/// Horner evaluation in Q.256 (Go `Rsh` on negatives is arithmetic, as num-bigint's `>>`).
fn polyval(coefs: &[BigInt], x: &BigInt) -> BigInt {
    let mut res = coefs[0].clone();
    for c in &coefs[1..] {
        res = ((&res * x) >> PRECISION) + c;
    }
    res
}

/// e^(−x), x and result in Q.256.
pub fn expneg(x: &BigInt) -> BigInt {
    let c = coefficients();
    let num = polyval(&c.num, x) << PRECISION;
    let deno = polyval(&c.deno, x);
    // Go's big.Int Div is Euclidean; the denominator is positive, so that is floor division.
    num.div_floor(&deno)
}

/// λ = power × BlocksPerEpoch / total, in Q.256.
pub fn lambda(power: &BigInt, total_power: &BigInt) -> BigInt {
    ((power * BigInt::from(BLOCKS_PER_EPOCH)) << PRECISION).div_floor(total_power)
}

/// Incremental inverted Poisson CDF (Lotus `poiss`).
pub struct Poisson {
    lam: BigInt,
    pmf: BigInt,
    icdf: BigInt,
    k: u64,
}

impl Poisson {
    /// Starts at k = 0; returns the state and `1 − pmf(0)`.
    pub fn new(lam: BigInt) -> (Self, BigInt) {
        let pmf = expneg(&lam);
        let icdf = (BigInt::one() << PRECISION) - &pmf;
        let p = Self {
            lam,
            pmf,
            icdf: icdf.clone(),
            k: 0,
        };
        (p, icdf)
    }

    /// `k += 1`; returns `1 − cdf(k)` in Q.256.
    pub fn next_icdf(&mut self) -> BigInt {
        self.k += 1;
        self.pmf = self.pmf.div_floor(&BigInt::from(self.k));
        self.pmf = (&self.pmf * &self.lam) >> PRECISION;
        self.icdf = &self.icdf - &self.pmf;
        self.icdf.clone()
    }
}

/// Lotus `ElectionProof.ComputeWinCount`. Zero or negative total power yields 0 wins.
pub fn compute_win_count(vrf_proof: &[u8], power: &BigInt, total_power: &BigInt) -> i64 {
    if total_power.is_zero() || total_power.sign() == Sign::Minus || power.sign() != Sign::Plus {
        return 0;
    }
    let digest = blake2b_simd::Params::new().hash_length(32).hash(vrf_proof);
    let lhs = BigInt::from_bytes_be(Sign::Plus, digest.as_bytes());
    let (mut poisson, mut rhs) = Poisson::new(lambda(power, total_power));
    let mut wins = 0;
    while lhs < rhs && wins < MAX_WIN_COUNT {
        rhs = poisson.next_icdf();
        wins += 1;
    }
    wins
}
