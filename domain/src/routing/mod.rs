//! Routing engine (placeholder: being written by the routing helper; replace wholesale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    CareTeam,
    Support,
}
