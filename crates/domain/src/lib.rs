//! Tandem's vocabulary. Every other crate speaks in these types: a [`Slug`] has been
//! checked, an [`AutomationDef`] has been validated, an [`ItemInput`] fits its automation.
//! Nothing here does I/O, so the rules of the product can be tested without a database.

pub mod decision;
pub mod definition;
pub mod ids;
pub mod input;
pub mod role;
pub mod slug;
pub mod stage;
pub mod status;

pub use decision::{Decision, DecisionAction};
pub use definition::{AutomationDef, DefinitionError, Destination};
pub use ids::{AutomationId, DeliveryId, ItemId, JobId, UserId, VersionId, WorkspaceId};
pub use input::{InputError, ItemInput};
pub use role::Role;
pub use slug::Slug;
pub use stage::Stage;
pub use status::ItemStatus;
pub use tandem_engine::{FieldKind, Span};

/// Milliseconds since the Unix epoch. The store and the engine never read a clock: the
/// service passes `now` in, so tests can move time at will.
pub type Millis = i64;
