//! The routing engine for staff and admins: preview a decision, read and replace the
//! organization's rules, and its acknowledgment texts.

use actix_web::{get, post, put, web};
use domain::acknowledgment::AcknowledgmentTexts;
use domain::routing::{RoutingDecision, RuleSet};
use persistence::organizations;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AdminCaller, StaffCaller, TeamName};
use crate::error::{ApiError, Problem};
use crate::organization_settings::acknowledgment_texts;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "I can't log in to the app and I also have chest pain"}))]
pub struct PreviewRequest {
    pub body: String,
}

/// Categories of the routing engine; `general` when nothing matched.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CategoryName {
    Clinical,
    CarePlan,
    Tech,
    Billing,
    Scheduling,
    Account,
    General,
}

impl From<domain::routing::Category> for CategoryName {
    fn from(category: domain::routing::Category) -> Self {
        use domain::routing::Category;
        match category {
            Category::Clinical => CategoryName::Clinical,
            Category::CarePlan => CategoryName::CarePlan,
            Category::Tech => CategoryName::Tech,
            Category::Billing => CategoryName::Billing,
            Category::Scheduling => CategoryName::Scheduling,
            Category::Account => CategoryName::Account,
            Category::General => CategoryName::General,
        }
    }
}

/// What the engine decides for a message, and which rules fired.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "team": "support", "urgent": true, "category": "tech",
    "matched_rules": ["urgent.chest_pain", "tech.login"]
}))]
pub struct RoutingDecisionView {
    pub team: TeamName,
    pub urgent: bool,
    pub category: CategoryName,
    pub matched_rules: Vec<String>,
}

impl From<RoutingDecision> for RoutingDecisionView {
    fn from(decision: RoutingDecision) -> Self {
        RoutingDecisionView {
            team: decision.team.into(),
            urgent: decision.urgent,
            category: decision.category.into(),
            matched_rules: decision.matched_rules,
        }
    }
}

/// The acknowledgment texts of the organization.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgmentSettings {
    /// Sent on the first message of a new or reopened conversation.
    pub standard: String,
    /// Sent on every urgent message; must tell the patient to call 911 / emergency services.
    pub urgent: String,
}

/// The decision the engine would make for a message, with the organization's rules. Changes
/// nothing.
#[utoipa::path(
    tag = "routing",
    operation_id = "previewRouting",
    security(("bearer" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The decision", body = RoutingDecisionView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/routing/preview")]
pub async fn preview_routing(
    state: web::Data<AppState>,
    caller: StaffCaller,
    request: web::Json<PreviewRequest>,
) -> Result<web::Json<RoutingDecisionView>, ApiError> {
    let body = domain::message::MessageBody::parse(&request.body)
        .map_err(|error| ApiError::validation(format!("body: {error}.")))?;
    let handler_state = state.get_ref().clone();
    let decision = state
        .db(move |conn| {
            let organization = organizations::find(conn, &caller.organization_id)?;
            let rules = handler_state
                .rules
                .resolve(&organization.id, organization.routing_rules.as_deref())?;
            Ok(rules.route(body.as_str()))
        })
        .await?;
    Ok(web::Json(decision.into()))
}

fn stored_rules(organization: &organizations::Organization) -> Result<serde_json::Value, ApiError> {
    let rules = match &organization.routing_rules {
        Some(stored) => serde_json::from_str(stored).map_err(ApiError::internal)?,
        None => serde_json::to_value(RuleSet::default_rules()).map_err(ApiError::internal)?,
    };
    Ok(rules)
}

/// The organization's routing rules (the shipped defaults until replaced).
#[utoipa::path(
    tag = "routing",
    operation_id = "getRoutingRules",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rule set: `{version, rules: [{id, kind, category, weight, negatable, resolvable, patterns}]}`", body = Object),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/routing/rules")]
pub async fn get_routing_rules(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    let rules = state
        .db(move |conn| stored_rules(&organizations::find(conn, &caller.organization_id)?))
        .await?;
    Ok(web::Json(rules))
}

/// Replace the organization's routing rules. The set is validated whole: one bad rule rejects
/// it, with a problem naming the rule and the fault, and nothing changes.
#[utoipa::path(
    tag = "routing",
    operation_id = "replaceRoutingRules",
    security(("bearer" = [])),
    request_body(content = Object, description = "A rule set as `GET /v1/routing/rules` returns it"),
    responses(
        (status = 200, description = "Stored; the rule set now in force", body = Object),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The rule set is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/routing/rules")]
pub async fn replace_routing_rules(
    state: web::Data<AppState>,
    caller: AdminCaller,
    request: web::Json<serde_json::Value>,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    let rules: RuleSet = serde_json::from_value(request.into_inner())
        .map_err(|error| ApiError::validation(format!("The rule set does not parse: {error}.")))?;
    let validated = rules
        .validate()
        .map_err(|error| ApiError::validation(format!("The rule set is invalid: {error}.")))?;
    let source = serde_json::to_string(validated.rules()).map_err(ApiError::internal)?;
    let rules = state
        .db(move |conn| {
            organizations::set_routing_rules(conn, &caller.organization_id, Some(&source))?;
            stored_rules(&organizations::find(conn, &caller.organization_id)?)
        })
        .await?;
    Ok(web::Json(rules))
}

/// The organization's acknowledgment texts (the defaults until replaced).
#[utoipa::path(
    tag = "routing",
    operation_id = "getAcknowledgmentSettings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The texts", body = AcknowledgmentSettings),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/settings/acknowledgments")]
pub async fn get_acknowledgment_settings(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<web::Json<AcknowledgmentSettings>, ApiError> {
    let texts = state
        .db(move |conn| {
            acknowledgment_texts(
                organizations::find(conn, &caller.organization_id)?
                    .acknowledgment_texts
                    .as_deref(),
            )
        })
        .await?;
    Ok(web::Json(AcknowledgmentSettings {
        standard: texts.standard,
        urgent: texts.urgent,
    }))
}

/// Replace the acknowledgment texts. Both must be present and at most 1000 characters, and the
/// urgent one must still point patients at emergency services.
#[utoipa::path(
    tag = "routing",
    operation_id = "replaceAcknowledgmentSettings",
    security(("bearer" = [])),
    request_body = AcknowledgmentSettings,
    responses(
        (status = 200, description = "Stored", body = AcknowledgmentSettings),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid texts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/settings/acknowledgments")]
pub async fn replace_acknowledgment_settings(
    state: web::Data<AppState>,
    caller: AdminCaller,
    request: web::Json<AcknowledgmentSettings>,
) -> Result<web::Json<AcknowledgmentSettings>, ApiError> {
    let AcknowledgmentSettings { standard, urgent } = request.into_inner();
    let texts = AcknowledgmentTexts {
        standard: standard.trim().to_owned(),
        urgent: urgent.trim().to_owned(),
    }
    .validate()
    .map_err(|error| ApiError::validation(format!("{error}.")))?;
    let source = serde_json::to_string(&texts).map_err(ApiError::internal)?;
    state
        .db(move |conn| {
            Ok(organizations::set_acknowledgment_texts(
                conn,
                &caller.organization_id,
                Some(&source),
            )?)
        })
        .await?;
    Ok(web::Json(AcknowledgmentSettings {
        standard: texts.standard,
        urgent: texts.urgent,
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(preview_routing)
        .service(get_routing_rules)
        .service(replace_routing_rules)
        .service(get_acknowledgment_settings)
        .service(replace_acknowledgment_settings);
}
