//! Permission levels shared by every venus API: `read < write < sign < admin`.
//!
//! A token carries one level; a level grants every level below it (sophon-auth's
//! `AdaptOldStrategy`). Methods declare the level they need.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A permission level. The derived order is the grant order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Read,
    Write,
    Sign,
    Admin,
}

impl Permission {
    /// Every level, lowest first.
    pub const ALL: [Permission; 4] = [Self::Read, Self::Write, Self::Sign, Self::Admin];

    /// Whether a caller holding `self` may invoke a method that needs `needed`.
    pub fn grants(self, needed: Permission) -> bool {
        self >= needed
    }

    /// The expanded list the originals put in the request context
    /// (admin → [read, write, sign, admin]).
    pub fn expand(self) -> Vec<Permission> {
        Self::ALL.into_iter().filter(|p| *p <= self).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Sign => "sign",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown permission name; the message lists the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission {0:?}: expected one of read, write, sign, admin")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "sign" => Ok(Self::Sign),
            "admin" => Ok(Self::Admin),
            other => Err(UnknownPermission(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_levels_grant_lower_ones_only() {
        for held in Permission::ALL {
            for needed in Permission::ALL {
                assert_eq!(held.grants(needed), held >= needed, "{held} vs {needed}");
            }
        }
        assert!(!Permission::Sign.grants(Permission::Admin));
        assert!(Permission::Sign.grants(Permission::Write));
    }

    #[test]
    fn expand_matches_the_originals() {
        assert_eq!(Permission::Read.expand(), vec![Permission::Read]);
        assert_eq!(Permission::Admin.expand(), Permission::ALL.to_vec());
    }

    #[test]
    fn parse_rejects_unknown_names() {
        assert_eq!("sign".parse::<Permission>(), Ok(Permission::Sign));
        let err = "root".parse::<Permission>().unwrap_err();
        assert!(err.to_string().contains("\"root\""));
        assert!("Admin".parse::<Permission>().is_err());
    }
}
