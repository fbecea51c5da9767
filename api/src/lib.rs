//! The metallb.io API as ferrolb understands it.
//!
//! * [`v1beta1`] and [`v1beta2`] hold the custom resource types with MetalLB's exact
//!   field names, so an existing MetalLB manifest deserialises unchanged.
//! * [`load`] reads multi-document YAML files holding any mix of those kinds and the
//!   core objects the controller needs (Services, Namespaces, Nodes, Secrets, ...).
//! * [`config`] validates the resources into one typed [`config::Config`]: parsed
//!   address ranges, ASNs, timers, resolved selectors and community aliases. Every
//!   rejection names the object, the field path and the reason.
//!
//! This crate does no IO beyond reading the files it is handed, and depends on no
//! other ferrolb crate.

pub mod annotations;
pub mod config;
pub mod duration;
pub mod load;
pub mod selector;
pub mod service;
pub mod v1beta1;
pub mod v1beta2;

pub use config::{Config, ConfigError, ConfigErrors};
pub use duration::GoDuration;
pub use load::{FieldError, LoadError, LoadReport, Resources};
pub use selector::LabelSelector;

/// The namespace MetalLB (and ferrolb) reads its configuration objects from by default.
pub const DEFAULT_NAMESPACE: &str = "metallb-system";
