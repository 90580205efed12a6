//! How refused conversation writes read to clients.

use domain::conversation::ConversationError;
use persistence::conversations::WriteError;
use persistence::{accounts, DbConnection, StoreError};

use crate::error::{ApiError, ProblemKind};
use crate::views::PersonRef;

/// Maps a refused write to its problem; a colleague's claim is named (id and display name) so
/// the inbox can say who is answering.
pub fn write_error(conn: &mut DbConnection, error: WriteError) -> ApiError {
    match error {
        WriteError::Rule(ConversationError::ClaimedBy(holder)) => {
            let names =
                accounts::display_names(conn, std::slice::from_ref(&holder)).unwrap_or_default();
            let claimed_by = PersonRef::lookup(Some(&holder), &names);
            let who = claimed_by
                .as_ref()
                .map(|person| person.display_name.clone())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "A colleague".to_owned());
            ApiError::new(
                ProblemKind::ConversationClaimed,
                format!("{who} holds this conversation; only they can reply or close it."),
            )
            .with("claimed_by", claimed_by)
        }
        WriteError::Rule(ConversationError::Closed) => ApiError::new(
            ProblemKind::ConversationClosed,
            "The conversation is closed; reopen it first.",
        ),
        WriteError::Rule(ConversationError::NotHolder) => ApiError::forbidden(
            "Only the staff member holding the claim, or an admin, may release it.",
        ),
        WriteError::Rule(ConversationError::AlreadyWithTeam) => ApiError::new(
            ProblemKind::Conflict,
            "The conversation is already with that team.",
        ),
        WriteError::IdempotencyKeyReused => ApiError::new(
            ProblemKind::IdempotencyKeyReused,
            "This client_message_id was already used for a different message.",
        ),
        WriteError::Store(StoreError::NotFound) => ApiError::not_found("conversation"),
        WriteError::Store(other) => other.into(),
    }
}
