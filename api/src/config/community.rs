//! BGP communities: `AA:NN`, `large:GA:LD1:LD2`, and Community aliases.

use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigError, ConfigErrors, name_of};

const KIND: &str = "Community";

/// A BGP community value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Community {
    /// RFC 1997 community, two 16-bit halves.
    Standard(u16, u16),
    /// RFC 8092 large community.
    Large(u32, u32, u32),
}

/// Why a community string was refused. The distinction matters: a malformed number
/// is an error in the object, while a string of no known shape may be a Community
/// alias that does not exist (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommunityError {
    /// The shape is right but a number is out of range or not a number.
    #[error("invalid community value {0:?}: {1}")]
    Value(String, &'static str),
    /// Neither `AA:NN` nor `large:GA:LD1:LD2`.
    #[error("invalid community format {0:?}: expected AA:NN or large:GA:LD1:LD2")]
    Format(String),
}

impl Community {
    /// Parses MetalLB's two literal forms.
    pub fn parse(text: &str) -> Result<Self, CommunityError> {
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            [a, b] => {
                let f = |s: &str| {
                    s.parse::<u16>().map_err(|_| {
                        CommunityError::Value(
                            text.to_owned(),
                            "each half must be a number from 0 to 65535",
                        )
                    })
                };
                Ok(Self::Standard(f(a)?, f(b)?))
            }
            [marker, a, b, c] => {
                if *marker != "large" {
                    return Err(CommunityError::Value(
                        text.to_owned(),
                        "a four-part community must start with \"large:\"",
                    ));
                }
                let f = |s: &str| {
                    s.parse::<u32>().map_err(|_| {
                        CommunityError::Value(
                            text.to_owned(),
                            "each part must be a number from 0 to 4294967295",
                        )
                    })
                };
                Ok(Self::Large(f(a)?, f(b)?, f(c)?))
            }
            _ => Err(CommunityError::Format(text.to_owned())),
        }
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standard(a, b) => write!(f, "{a}:{b}"),
            Self::Large(a, b, c) => write!(f, "large:{a}:{b}:{c}"),
        }
    }
}

pub(super) fn aliases(
    objs: &[crate::v1beta1::Community],
    errs: &mut ConfigErrors,
) -> BTreeMap<String, Community> {
    let mut out = BTreeMap::new();
    for obj in objs {
        let name = name_of(&obj.metadata);
        for (i, alias) in obj.spec.communities.iter().enumerate() {
            let field = format!("spec.communities[{i}]");
            match Community::parse(&alias.value) {
                Ok(c) => {
                    if out.contains_key(&alias.name) {
                        errs.push(ConfigError::new(
                            KIND,
                            name,
                            format!("{field}.name"),
                            format!("duplicate definition of community alias {:?}", alias.name),
                        ));
                    } else {
                        out.insert(alias.name.clone(), c);
                    }
                }
                Err(e) => errs.push(ConfigError::new(
                    KIND,
                    name,
                    format!("{field}.value"),
                    e.to_string(),
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_forms() {
        assert_eq!(
            Community::parse("65000:100"),
            Ok(Community::Standard(65000, 100))
        );
        assert_eq!(
            Community::parse("large:1:2:3"),
            Ok(Community::Large(1, 2, 3))
        );
        assert!(matches!(
            Community::parse("65536:1"),
            Err(CommunityError::Value(..))
        ));
        assert!(matches!(
            Community::parse("huge:1:2:3"),
            Err(CommunityError::Value(..))
        ));
        assert!(matches!(
            Community::parse("large:1:2:4294967296"),
            Err(CommunityError::Value(..))
        ));
        assert!(matches!(
            Community::parse("no-export"),
            Err(CommunityError::Format(_))
        ));
        assert!(matches!(
            Community::parse("1:2:3"),
            Err(CommunityError::Format(_))
        ));
    }
}
