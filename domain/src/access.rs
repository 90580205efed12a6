//! Who may see a conversation. Organization boundaries are enforced by every query; this is the
//! rule inside an organization.

use crate::roles::Role;
use crate::routing::Team;

/// Support agents see only conversations currently with Support; care-team roles and admins see
/// all of their organization's; patients see none through the staff side.
pub fn staff_may_see(role: Role, team: Team) -> bool {
    match role {
        Role::Support => team == Team::Support,
        Role::Clinician | Role::Coach | Role::Admin => true,
        Role::Patient => false,
    }
}

/// The team a support agent is limited to, if any: the filter every staff query applies.
pub fn visible_team(role: Role) -> Option<Team> {
    (role == Role::Support).then_some(Team::Support)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_sees_only_support_threads() {
        assert!(staff_may_see(Role::Support, Team::Support));
        assert!(!staff_may_see(Role::Support, Team::CareTeam));
        assert_eq!(visible_team(Role::Support), Some(Team::Support));
    }

    #[test]
    fn care_team_roles_see_both_teams_and_patients_neither() {
        for role in [Role::Clinician, Role::Coach, Role::Admin] {
            assert!(staff_may_see(role, Team::Support) && staff_may_see(role, Team::CareTeam));
            assert_eq!(visible_team(role), None);
        }
        assert!(!staff_may_see(Role::Patient, Team::CareTeam));
    }
}
