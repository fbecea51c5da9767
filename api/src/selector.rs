//! `metav1.LabelSelector`, with the matching rules of `LabelSelectorAsSelector`.
//!
//! Our own type rather than k8s-openapi's so that unknown fields are refused (a typo in
//! a selector silently matching everything is the worst kind of mistake) and so that
//! selectors can be compared for MetalLB's "duplicate selector" rules.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A label query: every `matchLabels` pair and every `matchExpressions` requirement must
/// hold. An empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    /// Labels that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a [`LabelSelector`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    /// The label key the requirement applies to.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` / `NotIn`; must be empty for `Exists` / `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Why a selector cannot be turned into a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SelectorError {
    /// Field path inside the selector, e.g. `matchExpressions[0].operator`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn sel_err(field: impl Into<String>, reason: impl Into<String>) -> SelectorError {
    SelectorError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A checked requirement, ready to match.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A validated selector. Matching never fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self {
            requirements: Vec::new(),
        }
    }

    /// Whether `labels` satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// Whether this selector matches everything.
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl LabelSelector {
    /// Checks the selector the way `metav1.LabelSelectorAsSelector` does.
    pub fn to_selector(&self) -> Result<Selector, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in &self.match_labels {
            check_key(k, &format!("matchLabels[{k}]"))?;
            check_value(v, &format!("matchLabels[{k}]"))?;
            requirements.push(Requirement::Equals(k.clone(), v.clone()));
        }
        for (index, expr) in self.match_expressions.iter().enumerate() {
            check_key(&expr.key, &format!("matchExpressions[{index}].key"))?;
            let needs_values = match expr.operator.as_str() {
                "In" | "NotIn" => true,
                "Exists" | "DoesNotExist" => false,
                other => {
                    return Err(sel_err(
                        format!("matchExpressions[{index}].operator"),
                        format!(
                            "{other:?} is not a valid operator (In, NotIn, Exists, DoesNotExist)"
                        ),
                    ));
                }
            };
            if needs_values && expr.values.is_empty() {
                return Err(sel_err(
                    format!("matchExpressions[{index}].values"),
                    "must be non-empty for In and NotIn",
                ));
            }
            if !needs_values && !expr.values.is_empty() {
                return Err(sel_err(
                    format!("matchExpressions[{index}].values"),
                    "must be empty for Exists and DoesNotExist",
                ));
            }
            for (vi, v) in expr.values.iter().enumerate() {
                check_value(v, &format!("matchExpressions[{index}].values[{vi}]"))?;
            }
            let key = expr.key.clone();
            let mut values = expr.values.clone();
            values.sort();
            requirements.push(match expr.operator.as_str() {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                _ => Requirement::DoesNotExist(key),
            });
        }
        Ok(Selector { requirements })
    }

    /// The form MetalLB compares when it rejects duplicate selectors: match-expression
    /// values sorted, everything else as written.
    pub fn canonical(&self) -> Self {
        let mut c = self.clone();
        for e in &mut c.match_expressions {
            e.values.sort();
        }
        c
    }
}

/// Label keys: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters of alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn check_key(key: &str, field: &str) -> Result<(), SelectorError> {
    let err = |reason: &str| sel_err(field, format!("{key:?} is not a valid label key: {reason}"));
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 {
            return Err(err("prefix must be a DNS subdomain of 1 to 253 characters"));
        }
        let ok = p.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        if !ok {
            return Err(err("prefix must be a lowercase DNS subdomain"));
        }
    }
    if name.is_empty() {
        return Err(err("name part must not be empty"));
    }
    check_name(name).map_err(err)
}

fn check_value(value: &str, field: &str) -> Result<(), SelectorError> {
    if value.is_empty() {
        return Ok(());
    }
    check_name(value).map_err(|reason| {
        sel_err(
            field,
            format!("{value:?} is not a valid label value: {reason}"),
        )
    })
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.len() > 63 {
        return Err("must be at most 63 characters");
    }
    let bytes = name.as_bytes();
    let edge_ok = |b: u8| b.is_ascii_alphanumeric();
    if !edge_ok(bytes[0]) || !edge_ok(bytes[bytes.len() - 1]) {
        return Err("must start and end with an alphanumeric character");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may contain only alphanumerics, '-', '_' and '.'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        let s = LabelSelector::default().to_selector().unwrap();
        assert!(s.matches(&labels(&[])));
        assert!(s.matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_and_expressions_all_must_hold() {
        let sel = LabelSelector {
            match_labels: labels(&[("zone", "a")]),
            match_expressions: vec![
                expr("tier", "In", &["web", "api"]),
                expr("legacy", "DoesNotExist", &[]),
                expr("env", "NotIn", &["dev"]),
            ],
        }
        .to_selector()
        .unwrap();
        assert!(sel.matches(&labels(&[("zone", "a"), ("tier", "web")])));
        assert!(sel.matches(&labels(&[("zone", "a"), ("tier", "api"), ("env", "prod")])));
        assert!(!sel.matches(&labels(&[("zone", "b"), ("tier", "web")])));
        assert!(!sel.matches(&labels(&[("zone", "a"), ("tier", "db")])));
        assert!(!sel.matches(&labels(&[("zone", "a"), ("tier", "web"), ("legacy", "")])));
        assert!(!sel.matches(&labels(&[("zone", "a"), ("tier", "web"), ("env", "dev")])));
        let exists = LabelSelector {
            match_expressions: vec![expr("gpu", "Exists", &[])],
            ..Default::default()
        }
        .to_selector()
        .unwrap();
        assert!(exists.matches(&labels(&[("gpu", "")])));
        assert!(!exists.matches(&labels(&[])));
    }

    #[test]
    fn bad_operators_and_values_are_refused() {
        let bad_op = LabelSelector {
            match_expressions: vec![expr("a", "Equals", &["x"])],
            ..Default::default()
        };
        assert_eq!(
            bad_op.to_selector().unwrap_err().field,
            "matchExpressions[0].operator"
        );
        let in_empty = LabelSelector {
            match_expressions: vec![expr("a", "In", &[])],
            ..Default::default()
        };
        assert_eq!(
            in_empty.to_selector().unwrap_err().field,
            "matchExpressions[0].values"
        );
        let exists_values = LabelSelector {
            match_expressions: vec![expr("a", "Exists", &["x"])],
            ..Default::default()
        };
        assert_eq!(
            exists_values.to_selector().unwrap_err().field,
            "matchExpressions[0].values"
        );
        let bad_key = LabelSelector {
            match_labels: labels(&[("-bad", "x")]),
            ..Default::default()
        };
        assert!(
            bad_key
                .to_selector()
                .unwrap_err()
                .reason
                .contains("label key")
        );
        let bad_value = LabelSelector {
            match_labels: labels(&[("ok", "has space")]),
            ..Default::default()
        };
        assert!(
            bad_value
                .to_selector()
                .unwrap_err()
                .reason
                .contains("label value")
        );
        let prefixed = LabelSelector {
            match_labels: labels(&[("kubernetes.io/hostname", "node-1")]),
            ..Default::default()
        };
        assert!(prefixed.to_selector().is_ok());
    }

    #[test]
    fn canonical_form_ignores_value_order() {
        let a = LabelSelector {
            match_expressions: vec![expr("k", "In", &["b", "a"])],
            ..Default::default()
        };
        let b = LabelSelector {
            match_expressions: vec![expr("k", "In", &["a", "b"])],
            ..Default::default()
        };
        assert_eq!(a.canonical(), b.canonical());
    }
}
