//! The conversation state machine: what a patient message, a claim, a reply, a close, a reopen
//! or a handoff does to a conversation, and which timeline events it produces. Storage applies
//! the returned state; the claim itself is settled by a conditional write in the database, and
//! [`Conversation::claim`] explains the outcome.

use serde::Serialize;

use crate::acknowledgment::AcknowledgmentKind;
use crate::routing::{Category, RoutingDecision, Team};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        [Status::Open, Status::Closed]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// The part of a conversation the rules decide on. Ids are staff member ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub team: Team,
    pub status: Status,
    pub urgent: bool,
    pub assigned_to: Option<String>,
    pub claimed_by: Option<String>,
}

/// Why a closed conversation opened again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReopenReason {
    PatientMessage,
    StaffRequest,
}

/// A timeline event. The actor (patient, staff member or the system) is stored beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A staff member opened the conversation with the patient.
    Started {
        team: Team,
    },
    /// The engine placed the conversation, and why.
    Routed {
        team: Team,
        category: Category,
        urgent: bool,
        matched_rules: Vec<String>,
    },
    /// Auto-assignment to the patient's clinician.
    Assigned {
        assigned_to: String,
    },
    /// An urgent message moved an open care-team conversation to Support.
    Escalated {
        from: Team,
        to: Team,
        category: Category,
        matched_rules: Vec<String>,
    },
    /// An urgent message arrived in a conversation already with Support.
    FlaggedUrgent {
        category: Category,
        matched_rules: Vec<String>,
    },
    Claimed,
    Released,
    Closed,
    Reopened {
        reason: ReopenReason,
    },
    HandedOff {
        from: Team,
        to: Team,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::Routed { .. } => "routed",
            Event::Assigned { .. } => "assigned",
            Event::Escalated { .. } => "escalated",
            Event::FlaggedUrgent { .. } => "flagged_urgent",
            Event::Claimed => "claimed",
            Event::Released => "released",
            Event::Closed => "closed",
            Event::Reopened { .. } => "reopened",
            Event::HandedOff { .. } => "handed_off",
        }
    }
}

/// A new state with the events that led to it and the acknowledgment the patient is owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub conversation: Conversation,
    pub events: Vec<Event>,
    pub acknowledgment: Option<AcknowledgmentKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationError {
    #[error("the conversation is closed")]
    Closed,
    #[error("the conversation is claimed by a colleague")]
    ClaimedBy(String),
    #[error("only the staff member holding the claim, or an admin, may do this")]
    NotHolder,
    #[error("the conversation is already with that team")]
    AlreadyWithTeam,
}

/// A staff member acting on a conversation; admins may override a colleague's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub id: &'a str,
    pub is_admin: bool,
}

fn placement(team: Team, assigned_clinician: Option<&str>) -> Option<String> {
    match team {
        Team::CareTeam => assigned_clinician.map(str::to_owned),
        Team::Support => None,
    }
}

fn routed(decision: &RoutingDecision) -> Event {
    Event::Routed {
        team: decision.team,
        category: decision.category,
        urgent: decision.urgent,
        matched_rules: decision.matched_rules.clone(),
    }
}

/// A conversation placed by a patient message: routed, and auto-assigned to the patient's
/// clinician when it lands with the care team.
fn placed_by_patient(
    decision: &RoutingDecision,
    assigned_clinician: Option<&str>,
    mut events: Vec<Event>,
) -> Transition {
    let assigned_to = placement(decision.team, assigned_clinician);
    events.push(routed(decision));
    if let Some(clinician) = &assigned_to {
        events.push(Event::Assigned {
            assigned_to: clinician.clone(),
        });
    }
    Transition {
        conversation: Conversation {
            team: decision.team,
            status: Status::Open,
            urgent: decision.urgent,
            assigned_to,
            claimed_by: None,
        },
        events,
        acknowledgment: Some(if decision.urgent {
            AcknowledgmentKind::Urgent
        } else {
            AcknowledgmentKind::Standard
        }),
    }
}

impl Conversation {
    /// A patient starts a thread: it goes where its first message is routed.
    pub fn start_by_patient(
        decision: &RoutingDecision,
        assigned_clinician: Option<&str>,
    ) -> Transition {
        placed_by_patient(decision, assigned_clinician, Vec::new())
    }

    /// A staff member starts a thread in their own team and holds it: they are the one
    /// answering. No acknowledgment — a person wrote first.
    pub fn start_by_staff(
        team: Team,
        starter: &str,
        assigned_clinician: Option<&str>,
    ) -> Transition {
        let assigned_to = placement(team, assigned_clinician);
        let mut events = vec![Event::Started { team }];
        if let Some(clinician) = &assigned_to {
            events.push(Event::Assigned {
                assigned_to: clinician.clone(),
            });
        }
        events.push(Event::Claimed);
        Transition {
            conversation: Conversation {
                team,
                status: Status::Open,
                urgent: false,
                assigned_to,
                claimed_by: Some(starter.to_owned()),
            },
            events,
            acknowledgment: None,
        }
    }

    /// A patient writes again. A closed conversation reopens and is routed afresh, as a new one
    /// would be; an urgent message in an open care-team conversation moves it to Support with
    /// assignment and claim cleared; an urgent message is always acknowledged.
    pub fn receive_patient_message(
        &self,
        decision: &RoutingDecision,
        assigned_clinician: Option<&str>,
    ) -> Transition {
        if self.status == Status::Closed {
            let reopened = vec![Event::Reopened {
                reason: ReopenReason::PatientMessage,
            }];
            return placed_by_patient(decision, assigned_clinician, reopened);
        }
        if !decision.urgent {
            return Transition {
                conversation: self.clone(),
                events: Vec::new(),
                acknowledgment: None,
            };
        }
        let (conversation, event) = match self.team {
            Team::CareTeam => (
                Conversation {
                    team: Team::Support,
                    status: Status::Open,
                    urgent: true,
                    assigned_to: None,
                    claimed_by: None,
                },
                Event::Escalated {
                    from: Team::CareTeam,
                    to: Team::Support,
                    category: decision.category,
                    matched_rules: decision.matched_rules.clone(),
                },
            ),
            Team::Support => (
                Conversation {
                    urgent: true,
                    ..self.clone()
                },
                Event::FlaggedUrgent {
                    category: decision.category,
                    matched_rules: decision.matched_rules.clone(),
                },
            ),
        };
        Transition {
            conversation,
            events: vec![event],
            acknowledgment: Some(AcknowledgmentKind::Urgent),
        }
    }

    /// Taking the claim. `Ok(None)`: the caller holds it already.
    pub fn claim(&self, by: &str) -> Result<Option<Transition>, ConversationError> {
        if self.status == Status::Closed {
            return Err(ConversationError::Closed);
        }
        match &self.claimed_by {
            Some(holder) if holder == by => Ok(None),
            Some(holder) => Err(ConversationError::ClaimedBy(holder.clone())),
            None => Ok(Some(staff_transition(
                Conversation {
                    claimed_by: Some(by.to_owned()),
                    ..self.clone()
                },
                vec![Event::Claimed],
            ))),
        }
    }

    /// Giving the claim back. `Ok(None)`: nobody held it.
    pub fn release(&self, actor: Actor<'_>) -> Result<Option<Transition>, ConversationError> {
        match &self.claimed_by {
            None => Ok(None),
            Some(holder) if holder == actor.id || actor.is_admin => Ok(Some(staff_transition(
                Conversation {
                    claimed_by: None,
                    ..self.clone()
                },
                vec![Event::Released],
            ))),
            Some(_) => Err(ConversationError::NotHolder),
        }
    }

    /// A staff reply: refused on a closed conversation or one a colleague holds; an unclaimed
    /// conversation becomes the replier's, so the patient gets exactly one responder.
    pub fn staff_reply(&self, by: &str) -> Result<Option<Transition>, ConversationError> {
        if self.status == Status::Closed {
            return Err(ConversationError::Closed);
        }
        self.claim(by)
    }

    /// Closing clears the claim. `Ok(None)`: it was closed already. A colleague's claim blocks
    /// it unless the actor is an admin.
    pub fn close(&self, actor: Actor<'_>) -> Result<Option<Transition>, ConversationError> {
        if self.status == Status::Closed {
            return Ok(None);
        }
        if let Some(holder) = &self.claimed_by {
            if holder != actor.id && !actor.is_admin {
                return Err(ConversationError::ClaimedBy(holder.clone()));
            }
        }
        Ok(Some(staff_transition(
            Conversation {
                status: Status::Closed,
                claimed_by: None,
                ..self.clone()
            },
            vec![Event::Closed],
        )))
    }

    /// Staff reopen a closed conversation where it was. `None`: it is open.
    pub fn reopen(&self) -> Option<Transition> {
        (self.status == Status::Closed).then(|| {
            staff_transition(
                Conversation {
                    status: Status::Open,
                    ..self.clone()
                },
                vec![Event::Reopened {
                    reason: ReopenReason::StaffRequest,
                }],
            )
        })
    }

    /// "Send to Support" (or back to the care team): assignment and claim are cleared, and a
    /// conversation returning to the care team is auto-assigned again.
    pub fn hand_off(
        &self,
        to: Team,
        assigned_clinician: Option<&str>,
    ) -> Result<Transition, ConversationError> {
        if self.status == Status::Closed {
            return Err(ConversationError::Closed);
        }
        if self.team == to {
            return Err(ConversationError::AlreadyWithTeam);
        }
        let assigned_to = placement(to, assigned_clinician);
        let mut events = vec![Event::HandedOff {
            from: self.team,
            to,
        }];
        if let Some(clinician) = &assigned_to {
            events.push(Event::Assigned {
                assigned_to: clinician.clone(),
            });
        }
        Ok(staff_transition(
            Conversation {
                team: to,
                status: Status::Open,
                urgent: self.urgent,
                assigned_to,
                claimed_by: None,
            },
            events,
        ))
    }
}

fn staff_transition(conversation: Conversation, events: Vec<Event>) -> Transition {
    Transition {
        conversation,
        events,
        acknowledgment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RIVERA: &str = "rivera";
    const PATEL: &str = "patel";

    fn decision(team: Team, category: Category, urgent: bool) -> RoutingDecision {
        RoutingDecision {
            team,
            urgent,
            category,
            matched_rules: vec![format!("{}.test", category.as_str())],
        }
    }

    fn clinical() -> RoutingDecision {
        decision(Team::CareTeam, Category::Clinical, false)
    }

    fn urgent() -> RoutingDecision {
        decision(Team::Support, Category::Clinical, true)
    }

    fn billing() -> RoutingDecision {
        decision(Team::Support, Category::Billing, false)
    }

    fn open_care_team(claimed_by: Option<&str>) -> Conversation {
        Conversation {
            team: Team::CareTeam,
            status: Status::Open,
            urgent: false,
            assigned_to: Some(RIVERA.into()),
            claimed_by: claimed_by.map(Into::into),
        }
    }

    fn admin(id: &str) -> Actor<'_> {
        Actor { id, is_admin: true }
    }

    fn staff(id: &str) -> Actor<'_> {
        Actor {
            id,
            is_admin: false,
        }
    }

    #[test]
    fn patient_thread_with_a_clinician_is_assigned_to_them() {
        let started = Conversation::start_by_patient(&clinical(), Some(RIVERA));
        assert_eq!(started.conversation, open_care_team(None));
        assert_eq!(started.acknowledgment, Some(AcknowledgmentKind::Standard));
        let kinds: Vec<_> = started.events.iter().map(Event::kind).collect();
        assert_eq!(kinds, ["routed", "assigned"]);
    }

    #[test]
    fn patient_thread_without_a_clinician_is_for_the_whole_clinic() {
        let started = Conversation::start_by_patient(&clinical(), None);
        assert_eq!(started.conversation.assigned_to, None);
        assert_eq!(started.events.len(), 1);
    }

    #[test]
    fn support_threads_are_never_auto_assigned() {
        let started = Conversation::start_by_patient(&billing(), Some(RIVERA));
        assert_eq!(
            (started.conversation.team, started.conversation.assigned_to),
            (Team::Support, None)
        );
        let urgent = Conversation::start_by_patient(&urgent(), Some(RIVERA));
        assert!(urgent.conversation.urgent);
        assert_eq!(urgent.conversation.team, Team::Support);
        assert_eq!(urgent.acknowledgment, Some(AcknowledgmentKind::Urgent));
    }

    #[test]
    fn a_routine_follow_up_changes_nothing_and_is_not_acknowledged() {
        let conversation = open_care_team(Some(PATEL));
        let next = conversation.receive_patient_message(&billing(), Some(RIVERA));
        assert_eq!(next.conversation, conversation);
        assert!(next.events.is_empty());
        assert_eq!(next.acknowledgment, None);
    }

    #[test]
    fn an_urgent_follow_up_escalates_an_open_care_team_thread() {
        let next = open_care_team(Some(PATEL)).receive_patient_message(&urgent(), Some(RIVERA));
        assert_eq!(
            next.conversation,
            Conversation {
                team: Team::Support,
                status: Status::Open,
                urgent: true,
                assigned_to: None,
                claimed_by: None,
            }
        );
        assert_eq!(next.events[0].kind(), "escalated");
        assert_eq!(next.acknowledgment, Some(AcknowledgmentKind::Urgent));
    }

    #[test]
    fn an_urgent_follow_up_in_support_keeps_the_claim_and_flags_it() {
        let support = Conversation {
            team: Team::Support,
            assigned_to: None,
            ..open_care_team(Some("sam"))
        };
        let next = support.receive_patient_message(&urgent(), None);
        assert!(next.conversation.urgent);
        assert_eq!(next.conversation.claimed_by.as_deref(), Some("sam"));
        assert_eq!(next.events[0].kind(), "flagged_urgent");
        assert_eq!(next.acknowledgment, Some(AcknowledgmentKind::Urgent));
    }

    #[test]
    fn a_patient_message_reopens_a_closed_thread_and_routes_it_afresh() {
        let closed = Conversation {
            status: Status::Closed,
            ..open_care_team(None)
        };
        let next = closed.receive_patient_message(&billing(), Some(RIVERA));
        assert_eq!(next.conversation.status, Status::Open);
        assert_eq!(next.conversation.team, Team::Support);
        assert_eq!(next.acknowledgment, Some(AcknowledgmentKind::Standard));
        let kinds: Vec<_> = next.events.iter().map(Event::kind).collect();
        assert_eq!(kinds, ["reopened", "routed"]);
    }

    #[test]
    fn claims_have_one_holder() {
        let free = open_care_team(None);
        let claimed = free.claim(RIVERA).unwrap().unwrap();
        assert_eq!(claimed.conversation.claimed_by.as_deref(), Some(RIVERA));
        assert_eq!(claimed.events, vec![Event::Claimed]);
        let held = claimed.conversation;
        assert_eq!(held.claim(RIVERA), Ok(None));
        assert_eq!(
            held.claim(PATEL),
            Err(ConversationError::ClaimedBy(RIVERA.into()))
        );
        let closed = Conversation {
            status: Status::Closed,
            ..free
        };
        assert_eq!(closed.claim(RIVERA), Err(ConversationError::Closed));
    }

    #[test]
    fn only_the_holder_or_an_admin_releases() {
        let held = open_care_team(Some(RIVERA));
        assert_eq!(
            held.release(staff(PATEL)),
            Err(ConversationError::NotHolder)
        );
        for actor in [staff(RIVERA), admin("avery")] {
            let released = held.release(actor).unwrap().unwrap();
            assert_eq!(released.conversation.claimed_by, None);
            assert_eq!(released.events, vec![Event::Released]);
        }
        assert_eq!(open_care_team(None).release(staff(PATEL)), Ok(None));
    }

    #[test]
    fn replies_claim_unclaimed_threads_and_respect_colleagues_and_closure() {
        let reply = open_care_team(None).staff_reply(PATEL).unwrap().unwrap();
        assert_eq!(reply.conversation.claimed_by.as_deref(), Some(PATEL));
        assert_eq!(open_care_team(Some(PATEL)).staff_reply(PATEL), Ok(None));
        assert_eq!(
            open_care_team(Some(RIVERA)).staff_reply(PATEL),
            Err(ConversationError::ClaimedBy(RIVERA.into()))
        );
        let closed = Conversation {
            status: Status::Closed,
            ..open_care_team(None)
        };
        assert_eq!(closed.staff_reply(PATEL), Err(ConversationError::Closed));
    }

    #[test]
    fn close_clears_the_claim_and_is_idempotent() {
        let closed = open_care_team(Some(RIVERA))
            .close(staff(RIVERA))
            .unwrap()
            .unwrap();
        assert_eq!(closed.conversation.status, Status::Closed);
        assert_eq!(closed.conversation.claimed_by, None);
        assert_eq!(closed.conversation.close(staff(PATEL)), Ok(None));
        assert_eq!(
            open_care_team(Some(RIVERA)).close(staff(PATEL)),
            Err(ConversationError::ClaimedBy(RIVERA.into()))
        );
        assert!(open_care_team(Some(RIVERA)).close(admin("avery")).is_ok());
    }

    #[test]
    fn reopen_only_changes_closed_threads() {
        let closed = Conversation {
            status: Status::Closed,
            ..open_care_team(None)
        };
        let reopened = closed.reopen().unwrap();
        assert_eq!(reopened.conversation, open_care_team(None));
        assert_eq!(open_care_team(None).reopen(), None);
    }

    #[test]
    fn handoff_moves_team_clears_claim_and_reassigns_on_return() {
        let to_support = open_care_team(Some(RIVERA))
            .hand_off(Team::Support, Some(RIVERA))
            .unwrap();
        assert_eq!(to_support.conversation.team, Team::Support);
        assert_eq!(
            (
                to_support.conversation.assigned_to.clone(),
                to_support.conversation.claimed_by.clone()
            ),
            (None, None)
        );
        let back = to_support
            .conversation
            .hand_off(Team::CareTeam, Some(RIVERA))
            .unwrap();
        assert_eq!(back.conversation.assigned_to.as_deref(), Some(RIVERA));
        let kinds: Vec<_> = back.events.iter().map(Event::kind).collect();
        assert_eq!(kinds, ["handed_off", "assigned"]);
        assert_eq!(
            open_care_team(None).hand_off(Team::CareTeam, None),
            Err(ConversationError::AlreadyWithTeam)
        );
        let closed = Conversation {
            status: Status::Closed,
            ..open_care_team(None)
        };
        assert_eq!(
            closed.hand_off(Team::Support, None),
            Err(ConversationError::Closed)
        );
    }

    #[test]
    fn staff_started_threads_are_held_by_the_starter() {
        let started = Conversation::start_by_staff(Team::CareTeam, PATEL, Some(RIVERA));
        assert_eq!(started.conversation.claimed_by.as_deref(), Some(PATEL));
        assert_eq!(started.conversation.assigned_to.as_deref(), Some(RIVERA));
        assert_eq!(started.acknowledgment, None);
    }
}
