//! The closed sets of plans (a tenant's, the plan catalogue's) and member roles (a tenant's
//! members, policy rules, workflow approvals).
//!
//! Commands carry them as snake_case strings, so an unknown name is refused by `decide` with the
//! failing field named, like any other invalid value, instead of failing JSON decoding earlier.

use crate::value::{quoted, InvalidValue};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a closed set of snake_case names as an enum with `parse`, `as_str` and `ALL`.
macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(::utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name (snake_case).
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// Parses a wire name; the error lists the accepted ones.
            pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err(InvalidValue::new(format!(
                        "{} is not a known {}: use one of {}",
                        quoted(raw),
                        $what,
                        [$(concat!("`", $text, "`")),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

name_enum! {
    /// The commercial plan a tenant is on; billing and default quotas follow from it.
    #[derive(Default)]
    Plan, "plan" {
        /// The free tier (also the state's value before creation).
        #[default]
        Free = "free",
        /// The standard paid plan.
        Standard = "standard",
        /// The premium plan.
        Premium = "premium",
        /// The enterprise plan.
        Enterprise = "enterprise",
        /// The enterprise plan with extended support and limits.
        EnterprisePlus = "enterprise_plus",
        /// A reseller plan: the tenant is rebranded as the reseller's own product.
        WhiteLabel = "white_label",
    }
}

name_enum! {
    /// What a member may do in the tenant.
    Role, "role" {
        /// Full control, including members and decommissioning. A tenant always keeps one.
        Owner = "owner",
        /// Manages configuration, keys and members, but not ownership.
        Admin = "admin",
        /// Uses the tenant's workflows and integrations.
        Member = "member",
        /// Reads everything, including the audit trail, and changes nothing.
        Auditor = "auditor",
    }
}
