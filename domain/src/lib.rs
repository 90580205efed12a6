//! The rules of the messages inbox, free of I/O: who may do what to a conversation, where a
//! patient message goes, and what the patient is told. `persistence` stores what this crate
//! decides; `api` translates HTTP into calls of this crate.

pub mod access;
pub mod acknowledgment;
pub mod conversation;
pub mod handoff;
pub mod message;
pub mod roles;
pub mod routing;
