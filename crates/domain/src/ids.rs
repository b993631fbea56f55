//! Typed identifiers, so that an item id can never be passed where a workspace id is due.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// One team. Every record belongs to exactly one workspace.
    WorkspaceId
);
id_type!(UserId);
id_type!(AutomationId);
id_type!(
    /// One version of an automation's definition, with the models trained for it.
    VersionId
);
id_type!(ItemId);
id_type!(JobId);
id_type!(DeliveryId);
