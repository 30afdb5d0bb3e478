//! Parsing Kubernetes quantities (`200Gi`, `2Ti`, `500m`, `16`, `1e3`) — k8s-openapi keeps
//! them as strings, and the apiserver does not check quantities inside a custom resource.

/// Why a quantity string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Kubernetes quantity (expected e.g. 200Gi, 2Ti, 500m, 16)")]
pub struct QuantityError(pub String);

/// The value of a quantity as a float (bytes for memory/storage, cores for CPU).
pub fn parse(quantity: &str) -> Result<f64, QuantityError> {
    let err = || QuantityError(quantity.to_owned());
    let s = quantity.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || number.starts_with('.') && number.len() == 1 {
        return Err(err());
    }
    let base: f64 = number.parse().map_err(|_| err())?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().map_err(|_| err())?;
            10f64.powi(e)
        }
        _ => return Err(err()),
    };
    let value = base * multiplier;
    if !value.is_finite() {
        return Err(err());
    }
    Ok(value)
}

/// A size in whole GiB, rounded up (cloud disks are provisioned in GiB).
pub fn gib_ceil(quantity: &str) -> Result<u64, QuantityError> {
    let bytes = parse(quantity)?;
    if bytes < 0.0 {
        return Err(QuantityError(quantity.to_owned()));
    }
    // Sizes are far below 2^53 bytes' worth of GiB, so the cast is exact enough.
    Ok((bytes / 1024f64.powi(3)).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(gib_ceil("2Ti"), Ok(2048));
        assert_eq!(gib_ceil("200Gi"), Ok(200));
        // 2T is 2·10^12 bytes ≈ 1,863 GiB: the reason examples use 2Ti.
        assert_eq!(gib_ceil("2T"), Ok(1863));
        assert_eq!(parse("500m"), Ok(0.5));
        assert_eq!(parse("16"), Ok(16.0));
        assert_eq!(parse("1e3"), Ok(1000.0));
    }

    #[test]
    fn garbage_is_refused_with_the_input_named() {
        for bad in ["", "Gi", "12XB", "1.2.3Gi", "ten"] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert!(gib_ceil("-5Gi").is_err());
    }
}
