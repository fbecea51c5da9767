//! Validation errors: `Kind/name: field.path: reason`, one per problem.

use std::fmt;

/// One reason a configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The object's kind (`IPAddressPool`, `BGPPeer`, ...).
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
    /// Field path inside the object, e.g. `spec.addresses[1]`.
    pub field: String,
    /// Why.
    pub reason: String,
    /// A missing reference (BFD profile, Secret, Community alias) that may appear later.
    /// Webhooks accept such objects; the runtime refuses the configuration until the
    /// reference exists.
    pub transient: bool,
}

impl ConfigError {
    pub(crate) fn new(
        kind: &'static str,
        name: &str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            name: name.to_owned(),
            field: field.into(),
            reason: reason.into(),
            transient: false,
        }
    }

    pub(crate) fn missing(
        kind: &'static str,
        name: &str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            transient: true,
            ..Self::new(kind, name, field, reason)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {}: {}",
            self.kind, self.name, self.field, self.reason
        )
    }
}

/// Every problem found in one configuration, in the order the objects were given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Whether every error is a missing reference.
    pub fn only_transient(&self) -> bool {
        self.0.iter().all(|e| e.transient)
    }

    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    pub(crate) fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
