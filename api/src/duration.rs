//! `metav1.Duration`: Go's `time.ParseDuration` syntax ("90s", "1m30s", "1.5h").
//!
//! Kept as signed nanoseconds, exactly as Go does, so that rounding rules such as
//! "hold time rounded down to whole seconds must be 0 or at least 3 s" behave the same.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way Kubernetes writes `metav1.Duration`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GoDuration {
    nanos: i64,
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text does not follow Go's duration grammar.
    #[error(
        "invalid duration {0:?}: expected a number with a unit (ns, us, ms, s, m, h), e.g. \"90s\""
    )]
    Syntax(String),
    /// The value does not fit in 64-bit nanoseconds.
    #[error("invalid duration {0:?}: out of range")]
    Overflow(String),
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl GoDuration {
    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// A duration of whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            nanos: secs * NANOS_PER_SEC,
        }
    }

    /// Nanoseconds, as Go's `time.Duration` holds them.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whole seconds, truncated toward zero like Go's `int(d.Seconds())`.
    pub const fn whole_secs(self) -> i64 {
        self.nanos / NANOS_PER_SEC
    }

    /// Whether the duration is a whole number of seconds.
    pub const fn is_whole_secs(self) -> bool {
        self.nanos % NANOS_PER_SEC == 0
    }

    /// Parses Go's duration syntax: an optional sign, then one or more decimal numbers
    /// each followed by a unit; a bare `0` is allowed.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let syntax = || DurationError::Syntax(text.to_owned());
        let overflow = || DurationError::Overflow(text.to_owned());
        let mut rest = text;
        let negative = if let Some(r) = rest.strip_prefix('-') {
            rest = r;
            true
        } else {
            if let Some(r) = rest.strip_prefix('+') {
                rest = r;
            }
            false
        };
        if rest == "0" {
            return Ok(Self::default());
        }
        if rest.is_empty() {
            return Err(syntax());
        }
        // Accumulate in i128 so that "9223372036s" style overflows are detected.
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (int_part, after_int) = rest.split_at(int_len);
            let (frac_part, after_num) = match after_int.strip_prefix('.') {
                Some(f) => {
                    let n = f.bytes().take_while(u8::is_ascii_digit).count();
                    f.split_at(n)
                }
                None => ("", after_int),
            };
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(syntax());
            }
            let unit_len = after_num
                .bytes()
                .take_while(|b| !b.is_ascii_digit() && *b != b'.')
                .count();
            let (unit, after_unit) = after_num.split_at(unit_len);
            let scale: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60 * 1_000_000_000,
                "h" => 3600 * 1_000_000_000,
                _ => return Err(syntax()),
            };
            let int_value: i128 = if int_part.is_empty() {
                0
            } else {
                int_part.parse().map_err(|_| overflow())?
            };
            total = total
                .checked_add(int_value.checked_mul(scale).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            // Fractions: Go truncates below one nanosecond.
            let mut frac_scale = scale;
            for digit in frac_part.bytes().take(30) {
                frac_scale /= 10;
                if frac_scale == 0 {
                    break;
                }
                total += i128::from(digit - b'0') * frac_scale;
            }
            if total > i128::from(i64::MAX) + 1 {
                return Err(overflow());
            }
            rest = after_unit;
        }
        let signed = if negative { -total } else { total };
        let nanos = i64::try_from(signed).map_err(|_| overflow())?;
        Ok(Self { nanos })
    }
}

impl fmt::Display for GoDuration {
    /// Formats like Go's `Duration.String()`: "1m30s", "300ms", "0s".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.nanos;
        if n == 0 {
            return f.write_str("0s");
        }
        let sign = if n < 0 { "-" } else { "" };
        let abs = n.unsigned_abs();
        if abs < 1_000 {
            return write!(f, "{sign}{abs}ns");
        }
        if abs < 1_000_000 {
            return write!(f, "{sign}{}us", trim_fraction(abs, 1_000));
        }
        if abs < 1_000_000_000 {
            return write!(f, "{sign}{}ms", trim_fraction(abs, 1_000_000));
        }
        let hours = abs / 3_600_000_000_000;
        let minutes = (abs / 60_000_000_000) % 60;
        let secs = abs % 60_000_000_000;
        f.write_str(sign)?;
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if hours > 0 || minutes > 0 {
            write!(f, "{minutes}m")?;
        }
        write!(f, "{}s", trim_fraction(secs, 1_000_000_000))
    }
}

/// `value / unit` as a decimal without trailing zeros.
fn trim_fraction(value: u64, unit: u64) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for GoDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_forms() {
        assert_eq!(GoDuration::parse("90s").unwrap(), GoDuration::from_secs(90));
        assert_eq!(
            GoDuration::parse("1m30s").unwrap(),
            GoDuration::from_secs(90)
        );
        assert_eq!(
            GoDuration::parse("1.5h").unwrap(),
            GoDuration::from_secs(5400)
        );
        assert_eq!(GoDuration::parse("300ms").unwrap().as_nanos(), 300_000_000);
        assert_eq!(GoDuration::parse("2.5s").unwrap().as_nanos(), 2_500_000_000);
        assert_eq!(GoDuration::parse("0").unwrap(), GoDuration::default());
        assert_eq!(GoDuration::parse("-1s").unwrap().as_nanos(), -1_000_000_000);
        assert_eq!(
            GoDuration::parse("1h2m3s4ms").unwrap().as_nanos(),
            3_723_004_000_000
        );
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in ["", "90", "s", "1x", "1.s.", "--1s", "1 s", "."] {
            assert!(GoDuration::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            GoDuration::parse("9999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_like_go() {
        for (text, want) in [
            ("90s", "1m30s"),
            ("3s", "3s"),
            ("300ms", "300ms"),
            ("1.5s", "1.5s"),
            ("2h", "2h0m0s"),
            ("0s", "0s"),
        ] {
            assert_eq!(GoDuration::parse(text).unwrap().to_string(), want);
        }
    }

    #[test]
    fn whole_seconds_truncate() {
        let d = GoDuration::parse("2999ms").unwrap();
        assert_eq!(d.whole_secs(), 2);
        assert!(!d.is_whole_secs());
    }
}
