//! The closed sets of plans (a tenant's, the plan catalogue's) and member roles (a tenant's
//! members, policy rules, workflow approvals).
//!
//! Commands carry them as snake_case strings, so an unknown name is refused by `decide` with the
//! failing field named, like any other invalid value, instead of failing JSON decoding earlier.

crate::value::closed_set! {
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

crate::value::closed_set! {
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

impl Role {
    /// Whether this role may do all that `other` may: `owner > admin > member > auditor`. The
    /// roles are declared strongest first, so this is the reverse of the derived order.
    pub fn includes(self, other: Role) -> bool {
        self <= other
    }
}
