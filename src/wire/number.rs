//! Exact decimal numbers as upstream reads them (Python's `Decimal`):
//! the shared parser behind [`Usage`](crate::Usage) and the numeric query
//! parameters (`billing_period_year`, `billing_period_month`).

/// A finite decimal `±digits × 10^exp`, borrowed from the input; no allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decimal<'a> {
    neg: bool,
    /// Significant digits with leading and trailing zeros stripped (may be empty = zero).
    digits: &'a [u8],
    /// Digits after the decimal point *inside* `digits`' span, before stripping trailing zeros,
    /// folded together with the exponent: value = int(digits) × 10^(exp).
    exp: i64,
}

/// Why a decimal does not fit a fixed scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScaleError {
    /// Non-zero digits beyond the scale.
    Fraction,
    /// Too large for `i64` at that scale.
    Range,
}

impl<'a> Decimal<'a> {
    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (surrounding ASCII
    /// whitespace allowed, at least one mantissa digit). `inf`/`nan` are
    /// rejected, as Django's DecimalField rejects non-finite values.
    pub(crate) fn parse(s: &'a str) -> Option<Decimal<'a>> {
        let b = s.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes();
        let (neg, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let (mant, exp_part) = match b.iter().position(|&c| c == b'e' || c == b'E') {
            Some(i) => (&b[..i], Some(&b[i + 1..])),
            None => (b, None),
        };
        let (int, frac) = match mant.iter().position(|&c| c == b'.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, &mant[..0]),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.iter().chain(frac).all(u8::is_ascii_digit) {
            return None;
        }
        let mut exp: i64 = 0;
        if let Some(e) = exp_part {
            let (eneg, e) = match e.first() {
                Some(b'-') => (true, &e[1..]),
                Some(b'+') => (false, &e[1..]),
                _ => (false, e),
            };
            if e.is_empty() || !e.iter().all(u8::is_ascii_digit) {
                return None;
            }
            for &c in e {
                // Saturate: any exponent this large already decides the outcome.
                exp = exp.saturating_mul(10).saturating_add(i64::from(c - b'0'));
            }
            if eneg {
                exp = -exp;
            }
        }
        // Work on the concatenated digit span without allocating: the mantissa
        // bytes minus the dot. `int` and `frac` are adjacent in `mant` except for the dot,
        // so handle them as two slices when stripping.
        let frac_len = frac.len() as i64;
        let mut exp = exp.saturating_sub(frac_len);
        // Strip trailing zeros (of frac, then of int if frac is all zeros).
        let mut frac = frac;
        let mut int = int;
        while let Some((&b'0', rest)) = frac.split_last() {
            frac = rest;
            exp = exp.saturating_add(1);
        }
        if frac.is_empty() {
            while let Some((&b'0', rest)) = int.split_last() {
                int = rest;
                exp = exp.saturating_add(1);
            }
        }
        // Strip leading zeros.
        while let Some((&b'0', rest)) = int.split_first() {
            int = rest;
        }
        if int.is_empty() {
            while let Some((&b'0', rest)) = frac.split_first() {
                frac = rest;
            }
        }
        // If both int and frac have digits they sit around the dot in `mant`;
        // when one side is empty the other is the whole digit span.
        let digits: &'a [u8] = if int.is_empty() {
            frac
        } else if frac.is_empty() {
            int
        } else {
            // int and frac are both non-empty: they are separated by one '.' byte.
            // Represent as a span including the dot; `to_scaled` skips it.
            let start = int.as_ptr() as usize - mant.as_ptr() as usize;
            let end = frac.as_ptr() as usize - mant.as_ptr() as usize + frac.len();
            &mant[start..end]
        };
        if digits.is_empty() {
            exp = 0;
        }
        Some(Decimal { neg, digits, exp })
    }

    /// The value × 10^scale as an exact `i64`.
    pub(crate) fn to_scaled(self, scale: u32) -> Result<i64, ScaleError> {
        if self.digits.is_empty() {
            return Ok(0);
        }
        let e = self.exp.saturating_add(i64::from(scale));
        if e < 0 {
            // The digits carry no trailing zeros, so a negative exponent means a real fraction.
            return Err(ScaleError::Fraction);
        }
        let mut v: i128 = 0;
        let mut n = 0usize;
        for &c in self.digits {
            if c == b'.' {
                continue;
            }
            n += 1;
            if n > 20 {
                return Err(ScaleError::Range);
            }
            v = v * 10 + i128::from(c - b'0');
        }
        if e > 20 {
            return Err(ScaleError::Range);
        }
        v *= 10i128.pow(e as u32);
        if self.neg {
            v = -v;
        }
        i64::try_from(v).map_err(|_| ScaleError::Range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(s: &str, k: u32) -> Option<Result<i64, ScaleError>> {
        Decimal::parse(s).map(|d| d.to_scaled(k))
    }

    #[test]
    fn integers_and_fractions() {
        assert_eq!(sc("2025", 0), Some(Ok(2025)));
        assert_eq!(sc("2025.0", 0), Some(Ok(2025)));
        assert_eq!(sc(" 2025.000 ", 0), Some(Ok(2025)));
        assert_eq!(sc("2025.5", 0), Some(Err(ScaleError::Fraction)));
        assert_eq!(sc("1e3", 0), Some(Ok(1000)));
        assert_eq!(sc("1E+3", 0), Some(Ok(1000)));
        assert_eq!(sc("20250e-1", 0), Some(Ok(2025)));
        assert_eq!(sc("2025e-1", 0), Some(Err(ScaleError::Fraction)));
        assert_eq!(sc("-0.0", 0), Some(Ok(0)));
        assert_eq!(sc(".5", 2), Some(Ok(50)));
        assert_eq!(sc("5.", 2), Some(Ok(500)));
        assert_eq!(sc("12.50", 2), Some(Ok(1250)));
        assert_eq!(sc("0.125", 2), Some(Err(ScaleError::Fraction)));
        assert_eq!(sc("0.1250", 2), Some(Err(ScaleError::Fraction)));
        assert_eq!(sc("0.1200", 2), Some(Ok(12)));
        assert_eq!(sc("100.10", 2), Some(Ok(10010)));
        assert_eq!(sc("-3.07", 2), Some(Ok(-307)));
        assert_eq!(sc("0e999999999999999999999", 0), Some(Ok(0)));
        assert_eq!(
            sc("1e999999999999999999999", 0),
            Some(Err(ScaleError::Range))
        );
        assert_eq!(
            sc("1e-999999999999999999999", 0),
            Some(Err(ScaleError::Fraction))
        );
        assert_eq!(sc("92233720368547758.07", 2), Some(Ok(i64::MAX)));
        assert_eq!(sc("92233720368547758.08", 2), Some(Err(ScaleError::Range)));
        assert_eq!(sc("-92233720368547758.08", 2), Some(Ok(i64::MIN)));
        assert_eq!(sc("000000000000000000000000000001", 0), Some(Ok(1)));
        assert_eq!(sc("1.000000000000000000000000000000", 0), Some(Ok(1)));
    }

    #[test]
    fn rejects_non_numbers() {
        for s in [
            "", " ", ".", "-", "+.", "1e", "1e+", "abc", "inf", "NaN", "1.2.3", "1,5", "0x10",
            "1_000", "--1", "e5",
        ] {
            assert!(Decimal::parse(s).is_none(), "{s:?} parsed");
        }
    }
}
