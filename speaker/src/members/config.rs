//! Tunables of the failure detector. The defaults are the point of the module: see the
//! "Choosing the defaults" section of the module documentation for the arithmetic.

use core::time::Duration;

use thiserror::Error;

/// The default UDP port, the same as memberlist's so that firewall rules written for
/// MetalLB keep working.
pub const DEFAULT_PORT: u16 = 7946;

/// Every parameter of the protocol. `MembersConfig::default()` is what a speaker runs
/// with unless the operator overrides it; every cluster member must use the same key,
/// and should use the same timings (mixed timings work but detect at the slowest pace).
#[derive(Clone, Debug, PartialEq)]
pub struct MembersConfig {
    /// A new probe starts every `probe_interval`. Default 20 ms: the worst-case wait
    /// before a dead member is first probed is one probe round, and in a three-node
    /// cluster a round is two intervals (40 ms) of the 150 ms budget.
    pub probe_interval: Duration,
    /// The longest a direct ping waits for its ack before indirect probes (and one
    /// direct retry) go out. The actual wait is the measured `srtt + 4·rttvar`
    /// (RFC 6298) clamped to `[probe_timeout_min, probe_timeout]`. Default 15 ms: with
    /// 10 ms jitter per hop a round trip is at most 20 ms, and 88 % of them are shorter
    /// than 15 ms, so indirect traffic stays rare.
    pub probe_timeout: Duration,
    /// The shortest direct-ack wait, however fast the network measures. Default 5 ms:
    /// a LAN round trip is well under a millisecond, and 5 ms leaves room for a
    /// descheduled process (this project's machines show 10-20 % CPU steal).
    pub probe_timeout_min: Duration,
    /// The longest the probe still waits, after the direct-ack wait, for any ack
    /// (direct, retried or relayed) before the target becomes suspect; the actual wait
    /// is twice the measured round-trip timeout, clamped to at most this. Default
    /// 20 ms, so on the 10 ms-jitter network a probe gives up 35 ms after it started:
    /// the retry's 20 ms worst-case round trip fits, a four-hop relayed ack half the
    /// time (relays are there against loss, not jitter). 30 ms would make false
    /// suspicions ~20 times rarer there, but every detection 20 ms slower (two probes
    /// are on its path), and false suspicions are refuted anyway. On a LAN a probe
    /// gives up after 15 ms.
    pub indirect_timeout: Duration,
    /// Members asked to probe on our behalf when the direct ping times out (SWIM's
    /// `k`). Default 3, as memberlist.
    pub indirect_checks: usize,
    /// Independent confirmations (suspect reports from other members) after which the
    /// suspicion timeout has shrunk to `suspicion_min` (Lifeguard's `K`); capped at
    /// `n - 2`. Default 3. Plays the role of memberlist's suspicion multiplier: the
    /// more witnesses agree, the sooner a member is declared down.
    pub suspicion_confirmations: u32,
    /// Suspicion timeout once enough members have confirmed, when probes run at their
    /// maximal timeouts. Default 50 ms: longer than the confirmations themselves take
    /// (a confirming probe is 45 ms), and room for three to four refutation round trips
    /// even at 10 ms jitter per hop. On a faster network it shrinks in proportion to
    /// the probe timeout, never below 4/3 of a probe (20 ms on a LAN).
    pub suspicion_min: Duration,
    /// Suspicion timeout with no confirmation at all (a lone accuser, or a two-node
    /// cluster). Default 150 ms: about a dozen refutation round trips.
    pub suspicion_max: Duration,
    /// While a member is suspect, every member holding the suspicion re-sends it to the
    /// suspect every two round-trip timeouts (but no more often than
    /// `probe_timeout_min`, and at least at this interval), so that the suspect hears
    /// of it and refutes fast even under loss. Default 10 ms.
    pub suspicion_nudge_interval: Duration,
    /// How often queued membership updates are pushed to `gossip_nodes` random members
    /// (besides riding on every ping and ack). Only while updates are queued, so a
    /// quiet cluster sends no gossip at all. Default 10 ms.
    pub gossip_interval: Duration,
    /// Gossip fan-out. Default 3, as memberlist.
    pub gossip_nodes: usize,
    /// Each update is sent `retransmit_mult * ceil(log10(n + 1))` times (SWIM's
    /// λ·log n). Default 4, as memberlist.
    pub retransmit_mult: u32,
    /// Full-state exchange with one random member, to repair whatever gossip missed.
    /// Default 30 s, as memberlist.
    pub push_pull_interval: Duration,
    /// Every this often one random dead member is pinged, so that a healed partition
    /// or a resumed process is noticed within seconds rather than at the next
    /// push-pull. Only while dead members are remembered. Default 2 s.
    pub reconnect_interval: Duration,
    /// Resend the join request to the seeds at this interval until one answers.
    /// Default 200 ms.
    pub join_retry_interval: Duration,
    /// How many times a join is resent before giving up (the driver may call `join`
    /// again later, as MetalLB does every minute). Default 10.
    pub join_attempts: u32,
    /// A leaving member resends its leave to members that have not acknowledged it, at
    /// `probe_timeout` intervals, this many times. Default 3.
    pub leave_retransmits: u32,
    /// Dead and left members are remembered this long, so that stale gossip cannot
    /// resurrect them and partitions can be healed by push-pull. Default 10 min.
    pub tombstone_ttl: Duration,
    /// Upper bound on every datagram we send (UDP payload). Default 1400 bytes: fits an
    /// Ethernet MTU of 1500 with IPv6 and UDP headers.
    pub max_datagram_size: usize,
    /// Upper bound of the local health multiplier (Lifeguard): timeouts are scaled by
    /// `1 + health` when our own probes keep failing without nacks, i.e. when the
    /// problem is more likely to be us. Default 8, as memberlist.
    pub awareness_max: u32,
}

impl Default for MembersConfig {
    fn default() -> Self {
        Self {
            probe_interval: Duration::from_millis(20),
            probe_timeout: Duration::from_millis(15),
            probe_timeout_min: Duration::from_millis(5),
            indirect_timeout: Duration::from_millis(20),
            indirect_checks: 3,
            suspicion_confirmations: 3,
            suspicion_min: Duration::from_millis(50),
            suspicion_max: Duration::from_millis(150),
            suspicion_nudge_interval: Duration::from_millis(10),
            gossip_interval: Duration::from_millis(10),
            gossip_nodes: 3,
            retransmit_mult: 4,
            push_pull_interval: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(2),
            join_retry_interval: Duration::from_millis(200),
            join_attempts: 10,
            leave_retransmits: 3,
            tombstone_ttl: Duration::from_secs(600),
            max_datagram_size: 1400,
            awareness_max: 8,
        }
    }
}

/// The smallest datagram bound we accept: room for a header, a full-length name and
/// a handful of updates.
pub const MIN_DATAGRAM_SIZE: usize = 576;

/// A configuration that cannot work.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A duration that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// `suspicion_min` is above `suspicion_max`.
    #[error("suspicion_min ({min:?}) is greater than suspicion_max ({max:?})")]
    SuspicionRange {
        /// Configured minimum.
        min: Duration,
        /// Configured maximum.
        max: Duration,
    },
    /// The datagram bound is too small for a full-length name and a few updates.
    #[error("max_datagram_size {0} is below the minimum of {MIN_DATAGRAM_SIZE}")]
    DatagramTooSmall(usize),
    /// The datagram bound exceeds what UDP can carry.
    #[error("max_datagram_size {0} exceeds the UDP maximum of 65507")]
    DatagramTooLarge(usize),
}

impl MembersConfig {
    /// Rejects settings that would make the protocol spin or never decide.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("probe_interval", self.probe_interval),
            ("probe_timeout", self.probe_timeout),
            ("probe_timeout_min", self.probe_timeout_min),
            ("indirect_timeout", self.indirect_timeout),
            ("suspicion_min", self.suspicion_min),
            ("suspicion_nudge_interval", self.suspicion_nudge_interval),
            ("gossip_interval", self.gossip_interval),
            ("push_pull_interval", self.push_pull_interval),
            ("reconnect_interval", self.reconnect_interval),
            ("join_retry_interval", self.join_retry_interval),
        ];
        for (name, d) in positive {
            if d.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.suspicion_min > self.suspicion_max {
            return Err(ConfigError::SuspicionRange {
                min: self.suspicion_min,
                max: self.suspicion_max,
            });
        }
        if self.max_datagram_size < MIN_DATAGRAM_SIZE {
            return Err(ConfigError::DatagramTooSmall(self.max_datagram_size));
        }
        if self.max_datagram_size > 65_507 {
            return Err(ConfigError::DatagramTooLarge(self.max_datagram_size));
        }
        Ok(())
    }

    /// How many times an update is retransmitted in a cluster of `n` members.
    pub(crate) fn retransmit_limit(&self, n: usize) -> u32 {
        // ceil(log10(n + 1)) without floats: the number of decimal digits of n.
        let mut digits = 1u32;
        let mut v = n;
        while v >= 10 {
            v /= 10;
            digits += 1;
        }
        self.retransmit_mult.max(1) * digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_settings_do_not() {
        assert_eq!(MembersConfig::default().validate(), Ok(()));
        let c = MembersConfig {
            probe_interval: Duration::ZERO,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Zero("probe_interval")));
        let c = MembersConfig {
            suspicion_min: Duration::from_secs(2),
            suspicion_max: Duration::from_secs(1),
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::SuspicionRange { .. })
        ));
        let c = MembersConfig {
            max_datagram_size: 100,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::DatagramTooSmall(100)));
        let c = MembersConfig {
            max_datagram_size: 70_000,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::DatagramTooLarge(70_000)));
    }

    #[test]
    fn retransmit_limit_is_lambda_log_n() {
        let c = MembersConfig::default();
        // n + 1 = 4 -> ceil(log10 4) = 1; n + 1 = 11 -> 2; n + 1 = 100 -> 2; 101 -> 3.
        assert_eq!(c.retransmit_limit(3), 4);
        assert_eq!(c.retransmit_limit(9), 4);
        assert_eq!(c.retransmit_limit(10), 8);
        assert_eq!(c.retransmit_limit(99), 8);
        assert_eq!(c.retransmit_limit(100), 12);
    }
}
