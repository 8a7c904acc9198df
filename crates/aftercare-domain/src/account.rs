//! Staff accounts: roles and what each may do.

use crate::customer::code_enum;

code_enum!(
    /// A staff member's role. Permissions follow from it.
    Role, "role_unknown", {
        Admin => "admin",
        Manager => "manager",
        Agent => "agent",
        Technician => "technician",
        Marketer => "marketer",
        Analyst => "analyst",
        ProductManager => "product_manager",
    }
);

/// Something a user or token may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read customers, products, orders and assets.
    Read,
    /// Create and change customers, orders, assets and interactions.
    WriteCustomers,
    /// Change the catalogue: categories, products, warranty policies.
    WriteCatalog,
    /// Merge duplicates, import data.
    Bulk,
    /// Work service requests: reply, change status, book visits, record costs.
    WorkRequests,
    /// Configure the service desk: SLA policies, calendars, staff skills, articles; approve
    /// returns and refunds.
    ManageDesk,
    /// Customer value: run scoring, change its settings, save segments.
    Analyze,
    /// Campaigns: build, dry-run, start, pause and stop them; set the contact budget.
    Campaigns,
    /// The voice of the customer: correct classifications, run the improvement backlog,
    /// extend the dictionary, mark experts.
    Curate,
    /// Read the audit log and manage users and tokens.
    Admin,
}

impl Role {
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Manager => !matches!(p, Admin),
            Role::Agent => matches!(p, Read | WriteCustomers | WorkRequests),
            Role::Technician => matches!(p, Read | WriteCustomers | WorkRequests),
            // Marketers bring in leads and log campaign contacts, and import lists.
            Role::Marketer => matches!(p, Read | WriteCustomers | Bulk | Analyze | Campaigns),
            Role::Analyst => matches!(p, Read | Analyze | Curate),
            // Product managers work the improvement backlog from what customers say.
            Role::ProductManager => matches!(p, Read | Analyze | Curate),
        }
    }
}

code_enum!(
    /// What an API token may do, at most; the user's role still applies.
    Scope, "scope_unknown", { Read => "read", Write => "write", Admin => "admin" }
);

impl Scope {
    pub fn covers(self, p: Permission) -> bool {
        match self {
            Scope::Read => p == Permission::Read,
            Scope::Write => p != Permission::Admin,
            Scope::Admin => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analysts_only_read_and_admins_do_everything() {
        assert!(Role::Analyst.allows(Permission::Read));
        assert!(!Role::Analyst.allows(Permission::WriteCustomers));
        assert!(Role::Admin.allows(Permission::Admin));
        assert!(!Role::Manager.allows(Permission::Admin));
        assert!(Role::Manager.allows(Permission::ManageDesk));
        assert!(Role::Technician.allows(Permission::WorkRequests));
        assert!(Role::Marketer.allows(Permission::Campaigns));
        assert!(!Role::Agent.allows(Permission::Campaigns));
        assert!(!Role::Analyst.allows(Permission::Campaigns));
        assert!(!Role::Agent.allows(Permission::ManageDesk));
        assert!(!Role::Marketer.allows(Permission::WorkRequests));
    }

    #[test]
    fn a_read_token_cannot_write() {
        assert!(!Scope::Read.covers(Permission::WriteCustomers));
        assert!(Scope::Write.covers(Permission::WriteCustomers));
    }
}
