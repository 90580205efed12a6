//! The draft half of "Send to Support": a summary of the thread for the staff member to review
//! and edit before confirming it with `POST /conversations/{id}/handoff`
//! ([`crate::conversation_actions`]).
//!
//! A draft is made from the messages the patient can see — their own and staff replies — and
//! the stored routing decision. Automatic acknowledgments are left out because they are the
//! clinic's boilerplate, and internal notes because they are staff-only asides that may hold
//! identifiers or clinical reasoning not meant to leave the team, and earlier handoff summaries
//! (which are notes) would be summarized again; the receiving team sees the notes anyway.

use actix_web::{post, web};
use domain::handoff::{PatientName, Speaker, ThreadForSummary, ThreadMessage};
use domain::routing::Category;
use persistence::conversations::{self, message_kind, ConversationRow, MessageRow};
use persistence::{accounts, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{Audit, RequestContext};
use crate::auth::StaffCaller;
use crate::error::{ApiError, Problem};
use crate::inbox::staff_actor;
use crate::patient_app::conversation_id;
use crate::state::AppState;
use crate::summarizer::GeneratedBy;

/// A draft handoff summary for the staff member to review and edit.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "summary": "Who: Alice (patient)\nProblem: the exercise videos stopped playing after the app update.\nTried so far: Alice reinstalled the app; the error remains.\nAsked of Support: fix the app before Friday's session.\nUrgency: not urgent.",
    "generated_by": "llm",
    "model": "gpt-4o-mini"
}))]
pub struct HandoffDraft {
    /// Plain text to review and edit, at most 1200 characters; only the patient's first name.
    pub summary: String,
    /// `llm` when the configured model wrote it; `extractive` when none is configured or it
    /// failed, timed out or gave an unusable answer.
    pub generated_by: GeneratedBy,
    /// The model that wrote an `llm` draft; `null` for `extractive` ones.
    #[schema(required = true)]
    pub model: Option<String>,
}

/// Draft a handoff summary to review; changes nothing.
///
/// The draft says who the patient is (first name only), the problem, what was tried, what is
/// asked and how urgent it is. With a language model configured it is `llm`; without one, or
/// when the model fails or is slow, it is `extractive` (the thread's own sentences), so drafting
/// always works. Closed conversations can be drafted too. Send the reviewed text with
/// `POST /v1/conversations/{id}/handoff`.
#[utoipa::path(
    tag = "handoff",
    operation_id = "draftHandoffSummary",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "A draft; nothing was changed", body = HandoffDraft),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such conversation visible to the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/conversations/{id}/handoff/summary")]
pub async fn draft_handoff_summary(
    state: web::Data<AppState>,
    caller: StaffCaller,
    context: RequestContext,
    path: web::Path<String>,
) -> Result<web::Json<HandoffDraft>, ApiError> {
    let id = conversation_id(&path)?;
    let audit = Audit::new(&context, &caller, "conversation.summary.draft").on("conversation", &id);
    let thread = audit
        .read(&state, move |conn| {
            let row = conversations::find_for_staff(conn, &staff_actor(&caller), &id).map_err(
                |error| match error {
                    StoreError::NotFound => ApiError::not_found("conversation"),
                    other => other.into(),
                },
            )?;
            let messages = conversations::messages_of(conn, &id, false)?;
            let names = accounts::display_names(conn, std::slice::from_ref(&row.patient_id))?;
            let patient_name = names.get(&row.patient_id).map_or("", String::as_str);
            Ok(thread_for_summary(&row, &messages, patient_name))
        })
        .await?;
    // The connection is back in the pool by now: a slow model must not hold one.
    let draft = state.summarizer.draft(&thread).await;
    Ok(web::Json(HandoffDraft {
        summary: draft.summary,
        generated_by: draft.generated_by,
        model: draft.model,
    }))
}

fn thread_for_summary(
    row: &ConversationRow,
    messages: &[MessageRow],
    patient_display_name: &str,
) -> ThreadForSummary {
    ThreadForSummary {
        patient: PatientName::from_display_name(patient_display_name),
        category: row.category.as_deref().and_then(Category::parse),
        urgent: row.urgent,
        messages: messages
            .iter()
            .filter_map(|message| {
                let speaker = match message.kind.as_str() {
                    message_kind::PATIENT => Speaker::Patient,
                    message_kind::STAFF => Speaker::Staff,
                    _ => return None,
                };
                Some(ThreadMessage {
                    speaker,
                    body: message.body.clone(),
                })
            })
            .collect(),
    }
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(draft_handoff_summary);
}
