//! Who a caller is: the roles of the JWT `role` claim and the team each belongs to.

use serde::{Deserialize, Serialize};

use crate::routing::Team;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Clinician,
    Coach,
    Support,
    Admin,
}

impl Role {
    pub const STAFF: [Role; 4] = [Role::Clinician, Role::Coach, Role::Support, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Coach => "coach",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        [
            Role::Patient,
            Role::Clinician,
            Role::Coach,
            Role::Support,
            Role::Admin,
        ]
        .into_iter()
        .find(|role| role.as_str() == value)
    }

    pub fn is_staff(self) -> bool {
        self != Role::Patient
    }

    /// The team a staff role works in: support agents in Support, everyone else on the care
    /// team (admins included, as the contract says). Patients belong to no team.
    pub fn team(self) -> Option<Team> {
        match self {
            Role::Patient => None,
            Role::Support => Some(Team::Support),
            Role::Clinician | Role::Coach | Role::Admin => Some(Team::CareTeam),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for role in [
            Role::Patient,
            Role::Clinician,
            Role::Coach,
            Role::Support,
            Role::Admin,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn teams_follow_the_contract() {
        assert_eq!(Role::Support.team(), Some(Team::Support));
        for role in [Role::Clinician, Role::Coach, Role::Admin] {
            assert_eq!(role.team(), Some(Team::CareTeam));
        }
        assert_eq!(Role::Patient.team(), None);
        assert!(Role::STAFF.iter().all(|role| role.is_staff()));
        assert!(!Role::Patient.is_staff());
    }
}
