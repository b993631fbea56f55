//! What a workspace member may do. Roles are ordered: each includes the rights of the ones
//! below it, which keeps every check a single comparison.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the inbox, results and reports; decides nothing.
    Viewer,
    /// Clears the exception inbox.
    Reviewer,
    /// Sets up automations, trains them, imports items.
    Builder,
    /// Manages members and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Reviewer, Role::Builder, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Builder => "builder",
            Role::Admin => "admin",
        }
    }

    /// Whether someone with this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown role {s:?}: expected one of admin, builder, reviewer, viewer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.allows(Role::Reviewer));
        assert!(Role::Builder.allows(Role::Builder));
        assert!(!Role::Reviewer.allows(Role::Builder));
        assert!(!Role::Viewer.allows(Role::Reviewer));
        assert_eq!("Builder".parse::<Role>(), Ok(Role::Builder));
        assert!("owner".parse::<Role>().unwrap_err().contains("expected one of"));
    }
}
