//! Where a patient message goes: which team, whether it is urgent, and why.
//!
//! A message is classified by its content into a [`Category`]; the category names the team
//! (clinical and care-plan questions go to the care team, tech, billing, scheduling and account
//! questions to Support). Anything urgent or safety-sensitive goes to Support flagged urgent,
//! whatever its topic, so that someone answers at once. The vocabulary is data (a [`RuleSet`]
//! an admin can read and replace); normalising text and reading negation is code.
//!
//! ```
//! use domain::routing::{Category, RuleSet, Team};
//!
//! let rules = RuleSet::default_rules().validate()?;
//! let decision = rules.route("Billing question, but first: I have sudden severe chest pain.");
//! assert_eq!(decision.category, Category::Billing);
//! assert!(decision.urgent);
//! assert_eq!(decision.team, Team::Support);
//! assert!(decision.matched_rules.iter().any(|id| id == "urgent.chest_pain"));
//! # Ok::<(), domain::routing::RuleSetError>(())
//! ```

mod context;
mod defaults;
mod matcher;
mod rules;
mod text;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use rules::{Rule, RuleSet, RuleSetError, ValidatedRuleSet};

/// The team a conversation is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    CareTeam,
    Support,
}

impl Team {
    pub fn as_str(&self) -> &'static str {
        match self {
            Team::CareTeam => "care_team",
            Team::Support => "support",
        }
    }

    /// The inverse of [`Team::as_str`]; exact, so stored values round-trip.
    pub fn parse(s: &str) -> Option<Team> {
        [Team::CareTeam, Team::Support]
            .into_iter()
            .find(|team| team.as_str() == s)
    }
}

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Clinical,
    CarePlan,
    Tech,
    Billing,
    Scheduling,
    Account,
    /// Nothing matched: greetings, thanks, or text the rules do not understand. The care team
    /// reads these, since they know the patient.
    General,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Clinical,
        Category::CarePlan,
        Category::Tech,
        Category::Billing,
        Category::Scheduling,
        Category::Account,
        Category::General,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Clinical => "clinical",
            Category::CarePlan => "care_plan",
            Category::Tech => "tech",
            Category::Billing => "billing",
            Category::Scheduling => "scheduling",
            Category::Account => "account",
            Category::General => "general",
        }
    }

    /// The inverse of [`Category::as_str`]; exact, so stored values round-trip.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.as_str() == s)
    }

    /// The team for a message of this category that is not urgent.
    pub fn team(&self) -> Team {
        match self {
            Category::Clinical | Category::CarePlan | Category::General => Team::CareTeam,
            Category::Tech | Category::Billing | Category::Scheduling | Category::Account => {
                Team::Support
            }
        }
    }
}

/// The outcome of routing one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RoutingDecision {
    pub team: Team,
    /// Urgent messages go to Support whatever their category.
    pub urgent: bool,
    pub category: Category,
    /// Ids of the rules that fired, in rule-set order, for staff and auditors to see why.
    pub matched_rules: Vec<String>,
}
