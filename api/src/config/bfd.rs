//! BFDProfile validation.

use std::collections::BTreeMap;

use super::{ConfigError, ConfigErrors, name_of};
use crate::v1beta1::BFDProfile;

const KIND: &str = "BFDProfile";

/// A validated BFD profile. `None` fields take the speaker's defaults (FRR's: 300 ms
/// intervals, multiplier 3, echo 50 ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdProfile {
    /// Name.
    pub name: String,
    /// Required minimum receive interval, ms.
    pub receive_interval_ms: Option<u32>,
    /// Desired minimum transmit interval, ms.
    pub transmit_interval_ms: Option<u32>,
    /// Detection multiplier.
    pub detect_multiplier: Option<u32>,
    /// Required minimum echo receive interval, ms.
    pub echo_interval_ms: Option<u32>,
    /// Echo function enabled.
    pub echo_mode: bool,
    /// Passive role.
    pub passive_mode: bool,
    /// Multihop minimum TTL.
    pub minimum_ttl: Option<u32>,
}

pub(super) fn profiles(
    objs: &[BFDProfile],
    errs: &mut ConfigErrors,
) -> BTreeMap<String, BfdProfile> {
    let mut out = BTreeMap::new();
    for obj in objs {
        let name = name_of(&obj.metadata);
        if name.is_empty() {
            continue;
        }
        let s = &obj.spec;
        let mut range = |field: &str, v: Option<u32>, lo: u32, hi: u32| {
            if let Some(x) = v
                && !(lo..=hi).contains(&x)
            {
                errs.push(ConfigError::new(
                    KIND,
                    name,
                    format!("spec.{field}"),
                    format!("invalid value {x}, must be in {lo}-{hi} range"),
                ));
            }
            v
        };
        let p = BfdProfile {
            name: name.to_owned(),
            receive_interval_ms: range("receiveInterval", s.receive_interval, 10, 60000),
            transmit_interval_ms: range("transmitInterval", s.transmit_interval, 10, 60000),
            detect_multiplier: range("detectMultiplier", s.detect_multiplier, 2, 255),
            echo_interval_ms: range("echoInterval", s.echo_interval, 10, 60000),
            echo_mode: s.echo_mode.unwrap_or(false),
            passive_mode: s.passive_mode.unwrap_or(false),
            minimum_ttl: range("minimumTtl", s.minimum_ttl, 1, 254),
        };
        out.entry(name.to_owned()).or_insert(p);
    }
    out
}
