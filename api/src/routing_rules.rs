//! The routing engine for staff and admins: preview a decision, read and replace the
//! organization's rules, and its acknowledgment texts.

use actix_web::{get, post, put, web, HttpRequest};
use domain::acknowledgment::AcknowledgmentTexts;
use domain::routing::{RoutingDecision, RuleSet};
use persistence::organizations;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Audit, RequestContext};
use crate::auth::{AdminCaller, StaffCaller, TeamName};
use crate::error::{ApiError, Problem, ProblemKind};
use crate::json_body::JsonObject;
use crate::organization_settings::acknowledgment_texts;
use crate::state::AppState;

/// A message to route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "I can't log in to the app and I also have chest pain"}))]
pub struct PreviewRequest {
    /// 1 to 4000 characters after trimming, as a patient could send it.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*\S[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
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
    /// The team the message would go to.
    pub team: TeamName,
    /// Urgent messages go to Support whatever the topic.
    pub urgent: bool,
    pub category: CategoryName,
    /// Ids of the rules that fired.
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
#[schema(example = json!({
    "standard": "Thanks for your message. Your care team will reply within one business day.",
    "urgent": "We received your message and flagged it as urgent. If this is an emergency, call 911 or your local emergency number now."
}))]
pub struct AcknowledgmentSettings {
    /// Sent on the first message of a new or reopened conversation; 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub standard: String,
    /// Sent on every urgent message; 1 to 1000 characters, and must tell the patient to call
    /// 911 / emergency services (it must mention "911" or "emergency").
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    pub urgent: String,
}

/// The routing vocabulary, as `GET /v1/routing/rules` returns it and `PUT` replaces it. The
/// handlers pass it through as JSON to the domain's `RuleSet`, which validates it whole; this
/// type describes it for the document only.
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "version": 1,
    "rules": [
        {"id": "urgent.chest_pain", "kind": "urgent", "category": "clinical", "weight": 2,
         "negatable": true, "resolvable": true,
         "patterns": ["chest pain", "pain in ~ chest", "chest tight*"]},
        {"id": "billing.keywords", "kind": "topic", "category": "billing", "weight": 3,
         "negatable": false, "resolvable": false,
         "patterns": ["invoice*", "copay", "refund*"]}
    ]
}))]
pub struct RoutingRuleSet {
    /// The format version; `1` is the only one.
    #[schema(minimum = 1, maximum = 1)]
    pub version: u32,
    /// At most 200 rules with distinct ids, at least one of them `urgent`.
    #[schema(max_items = 200)]
    pub rules: Vec<RoutingRule>,
}

/// One rule: when its patterns match a message, it votes for its category with its weight
/// (topic rules) or flags the message urgent (urgent rules).
#[derive(Debug, ToSchema)]
pub struct RoutingRule {
    /// Shown to staff in `matched_rules`: up to 64 lowercase letters, digits, `.`, `_`, `-`.
    #[schema(pattern = "^[a-z0-9._-]{1,64}$")]
    pub id: String,
    pub kind: RuleKind,
    pub category: RuleCategory,
    /// Added to the category's score per match, at most three matches per rule.
    #[schema(minimum = 1, maximum = 10)]
    pub weight: i64,
    /// A negated match ("no chest pain", "I'm not suicidal") does not count. Default `false`.
    #[schema(required = false, default = false)]
    pub negatable: bool,
    /// A match followed by a resolution ("is gone", "went away") does not count. Default
    /// `false`.
    #[schema(required = false, default = false)]
    pub resolvable: bool,
    /// 1 to 500 patterns of at most 8 words and 80 characters each: words match their plural
    /// and, from five letters, one typo; a trailing `*` any ending; `~` up to three words; `...`
    /// any number of words in the sentence; `#` a number of two or more digits.
    #[schema(min_items = 1, max_items = 500)]
    pub patterns: Vec<String>,
}

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Flags the message urgent: it goes to Support at once, whatever the topic.
    Urgent,
    /// Votes for its category.
    Topic,
}

/// The categories a rule can vote for (`general` is what wins when none scores enough).
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleCategory {
    Clinical,
    CarePlan,
    Tech,
    Billing,
    Scheduling,
    Account,
}

/// Preview routing.
///
/// The decision the engine would make for a message with the organization's rules: team,
/// urgency, category and the rules that fired. Changes nothing; for testing rules before a
/// patient writes. Any staff role.
#[utoipa::path(
    tag = "routing",
    operation_id = "previewRouting",
    security(("bearer" = [])),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The decision", body = RoutingDecisionView),
        (status = 403, description = "`forbidden`: the caller is not staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/routing/preview")]
pub async fn preview_routing(
    state: web::Data<AppState>,
    caller: StaffCaller,
    request: JsonObject<PreviewRequest>,
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

/// The organization's routing rules (admins).
///
/// The rule set routing uses for the caller's organization: the shipped defaults until an
/// admin replaces them.
#[utoipa::path(
    tag = "routing",
    operation_id = "getRoutingRules",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rule set in force", body = RoutingRuleSet),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
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

/// Replace the organization's routing rules (admins).
///
/// The set is validated whole: one bad rule rejects it with a 422 naming the rule and the
/// fault, and nothing changes. Takes effect at the next message, on every instance.
#[utoipa::path(
    tag = "routing",
    operation_id = "replaceRoutingRules",
    security(("bearer" = [])),
    request_body(content = RoutingRuleSet, description = "A rule set as `GET /v1/routing/rules` returns it"),
    responses(
        (status = 200, description = "Stored; the rule set now in force", body = RoutingRuleSet),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the rule set is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/routing/rules")]
pub async fn replace_routing_rules(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    http: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<serde_json::Value>, ApiError> {
    // A full rule set is larger than the 64 KiB every other body gets (the shipped one is about
    // 45 KB compact, 68 KB pretty-printed), so this body is read under the 256 KiB payload
    // limit instead of the JSON one.
    let is_json = http
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            ProblemKind::UnsupportedMediaType,
            "The body must be JSON with Content-Type: application/json.",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|error| {
        ApiError::invalid_request(format!("The body is not valid JSON: {error}"))
    })?;
    if !value.is_object() {
        return Err(ApiError::validation("The body must be a JSON object."));
    }
    let rules: RuleSet = serde_json::from_value(value)
        .map_err(|error| ApiError::validation(format!("The rule set does not parse: {error}.")))?;
    let validated = rules
        .validate()
        .map_err(|error| ApiError::validation(format!("The rule set is invalid: {error}.")))?;
    let source = serde_json::to_string(validated.rules()).map_err(ApiError::internal)?;
    let audit = Audit::new(&context, &caller, "routing_rules.replace")
        .on("organization", &caller.organization_id);
    let rules = state
        .db(move |conn| {
            audit.write(conn, |conn| {
                Ok(organizations::set_routing_rules(
                    conn,
                    &caller.organization_id,
                    Some(&source),
                )?)
            })?;
            stored_rules(&organizations::find(conn, &caller.organization_id)?)
        })
        .await?;
    Ok(web::Json(rules))
}

/// The acknowledgment texts (admins).
///
/// The automatic replies patients get on the first message of a new or reopened conversation
/// (`standard`) and on every urgent message (`urgent`): the defaults until an admin replaces
/// them.
#[utoipa::path(
    tag = "routing",
    operation_id = "getAcknowledgmentSettings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The texts", body = AcknowledgmentSettings),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
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

/// Replace the acknowledgment texts (admins).
///
/// Both must be present and at most 1000 characters, and the urgent one must still point
/// patients at emergency services. Takes effect at the next message.
#[utoipa::path(
    tag = "routing",
    operation_id = "replaceAcknowledgmentSettings",
    security(("bearer" = [])),
    request_body = AcknowledgmentSettings,
    responses(
        (status = 200, description = "Stored", body = AcknowledgmentSettings),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: invalid texts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/settings/acknowledgments")]
pub async fn replace_acknowledgment_settings(
    state: web::Data<AppState>,
    caller: AdminCaller,
    context: RequestContext,
    request: JsonObject<AcknowledgmentSettings>,
) -> Result<web::Json<AcknowledgmentSettings>, ApiError> {
    let AcknowledgmentSettings { standard, urgent } = request.into_inner();
    let texts = AcknowledgmentTexts {
        standard: standard.trim().to_owned(),
        urgent: urgent.trim().to_owned(),
    }
    .validate()
    .map_err(|error| ApiError::validation(format!("{error}.")))?;
    let source = serde_json::to_string(&texts).map_err(ApiError::internal)?;
    let audit = Audit::new(&context, &caller, "acknowledgments.replace")
        .on("organization", &caller.organization_id);
    state
        .db(move |conn| {
            audit.write(conn, |conn| {
                Ok(organizations::set_acknowledgment_texts(
                    conn,
                    &caller.organization_id,
                    Some(&source),
                )?)
            })
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
