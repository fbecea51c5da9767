//! Virtual time.
//!
//! The simulator never reads a clock: every instant is a count of nanoseconds since the
//! start of the run, so a run is a pure function of its inputs and seed. These are our own
//! newtypes (not `std::time`) so that nothing can accidentally mix wall time into a run.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Nanoseconds since the start of the simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// A span of virtual time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Instant {
    /// The start of every run.
    pub const ZERO: Self = Self(0);
    /// Later than any event a run can schedule; used as "never".
    pub const MAX: Self = Self(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        Self(ns)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds as a float, for reports and pictures only (never for decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Time since `earlier`, or zero if `earlier` is later (never underflows).
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
}

impl Duration {
    pub const ZERO: Self = Self(0);
    pub const MAX: Self = Self(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        Self(ns)
    }
    pub const fn from_micros(us: u64) -> Self {
        Self(us * 1_000)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms * 1_000_000)
    }
    pub const fn from_secs(s: u64) -> Self {
        Self(s * 1_000_000_000)
    }
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub fn saturating_mul(self, k: u64) -> Self {
        Self(self.0.saturating_mul(k))
    }
    pub fn checked_div(self, k: u64) -> Option<Self> {
        self.0.checked_div(k).map(Self)
    }

    /// Parses the human forms used in scenario files: `250ms`, `1.5s`, `4h`, `30us`,
    /// `100ns`, `2m`, or a bare number of seconds. Fractions are exact to the nanosecond
    /// because they are parsed as decimals, not floats.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration".into());
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let unit_ns: u128 = match unit.trim() {
            "" | "s" => 1_000_000_000,
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "m" | "min" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in duration `{t}` (use ns, us, ms, s, m or h)"
                ));
            }
        };
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(format!("no number in duration `{t}`"));
        }
        if frac.contains('.') {
            return Err(format!("malformed number in duration `{t}`"));
        }
        let int_v: u128 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| format!("malformed number in duration `{t}`"))?
        };
        let mut frac_ns: u128 = 0;
        let mut scale = unit_ns;
        for c in frac.chars() {
            let digit = u128::from(
                c.to_digit(10)
                    .ok_or_else(|| format!("bad digit in `{t}`"))?,
            );
            if !scale.is_multiple_of(10) {
                return Err(format!("duration `{t}` is finer than a nanosecond"));
            }
            scale /= 10;
            frac_ns += digit * scale;
        }
        let total = int_v
            .checked_mul(unit_ns)
            .and_then(|v| v.checked_add(frac_ns))
            .filter(|v| *v <= u128::from(u64::MAX))
            .ok_or_else(|| format!("duration `{t}` is too large"))?;
        Ok(Self(total as u64))
    }
}

impl Add<Duration> for Instant {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.0))
    }
}
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<Duration> for Instant {
    type Output = Self;
    fn sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
}
impl Add for Duration {
    type Output = Self;
    fn add(self, d: Self) -> Self {
        Self(self.0.saturating_add(d.0))
    }
}
impl Sub for Duration {
    type Output = Self;
    fn sub(self, d: Self) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
}

/// Seconds with millisecond precision (`12.345s`): what people read in reports.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:03}s",
            self.0 / 1_000_000_000,
            (self.0 / 1_000_000) % 1000
        )
    }
}

/// The shortest exact-enough human form: `0s`, `250us`, `12.345ms`, `31.207s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            write!(f, "0s")
        } else if ns < 1_000 {
            write!(f, "{ns}ns")
        } else if ns < 1_000_000 {
            write!(f, "{}.{:03}us", ns / 1_000, ns % 1_000)
        } else if ns < 1_000_000_000 {
            write!(f, "{}.{:03}ms", ns / 1_000_000, (ns / 1_000) % 1_000)
        } else {
            write!(f, "{}.{:03}s", ns / 1_000_000_000, (ns / 1_000_000) % 1_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_exactly() {
        assert_eq!(
            Duration::parse("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            Duration::parse("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            Duration::parse("4h").unwrap(),
            Duration::from_secs(4 * 3600)
        );
        assert_eq!(Duration::parse("30us").unwrap(), Duration::from_micros(30));
        assert_eq!(Duration::parse("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(Duration::parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(Duration::parse("3").unwrap(), Duration::from_secs(3));
        assert_eq!(
            Duration::parse("0.000000001s").unwrap(),
            Duration::from_nanos(1)
        );
    }

    #[test]
    fn rejects_malformed_durations_with_a_reason() {
        assert!(Duration::parse("").is_err());
        assert!(
            Duration::parse("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(Duration::parse("1.2.3s").is_err());
        assert!(Duration::parse("0.5ns").unwrap_err().contains("finer"));
        assert!(
            Duration::parse("99999999999h")
                .unwrap_err()
                .contains("too large")
        );
        assert!(Duration::parse("-1s").is_err());
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_nanos(5).saturating_since(Instant::from_nanos(9)),
            Duration::ZERO
        );
    }

    #[test]
    fn displays_for_humans() {
        assert_eq!(Instant::from_nanos(12_345_678_901).to_string(), "12.345s");
        assert_eq!(Duration::from_micros(250).to_string(), "250.000us");
        assert_eq!(Duration::from_millis(31_207).to_string(), "31.207s");
        assert_eq!(Duration::ZERO.to_string(), "0s");
    }
}
