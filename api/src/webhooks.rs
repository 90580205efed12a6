//! Urgent-alert webhooks: per organization a URL and a secret; every urgent patient message
//! gets one signed delivery, sent from a transactional outbox by a background worker.

use std::time::Duration;

use actix_web::{get, put, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use persistence::webhooks::{
    self, Attempt, DeliveryRow, DueDelivery, Subscription, SubscriptionError,
};
use persistence::{Pool, StoreError};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::auth::AdminCaller;
use crate::error::{ApiError, Problem};
use crate::json_body::JsonObject;
use crate::pagination::{bad_cursor, PageParams, Paged};
use crate::state::AppState;
use crate::views::{optional_timestamp, timestamp};

/// How the outbox worker delivers.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Wait before the first retry; each retry doubles it, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    /// Most time one attempt may take, response included.
    pub request_timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(3600),
            max_attempts: 12,
            poll_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Starts the outbox worker on the runtime that builds the application.
pub fn start(state: &AppState, settings: &WebhookSettings) -> Result<(), reqwest::Error> {
    let client = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        // The body is signed for the configured URL; a redirect must not carry it elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    tokio::spawn(deliver_forever(
        state.pool.clone(),
        client,
        settings.clone(),
    ));
    Ok(())
}

/// Deliveries one worker takes at a time.
const BATCH: i64 = 16;

async fn deliver_forever(pool: Pool, client: reqwest::Client, settings: WebhookSettings) {
    // A delivery in flight is leased for longer than one attempt can take.
    let lease = chrono::Duration::from_std(settings.request_timeout * 3)
        .unwrap_or(chrono::Duration::minutes(1));
    let mut every = tokio::time::interval(settings.poll_interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let pool_for_take = pool.clone();
        let due = web::block(move || {
            let mut conn = pool_for_take.get().map_err(StoreError::from)?;
            webhooks::take_due(&mut conn, BATCH, lease)
        })
        .await;
        let due = match due {
            Ok(Ok(due)) => due,
            Ok(Err(error)) => {
                tracing::warn!(%error, "taking due webhook deliveries failed");
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "taking due webhook deliveries failed");
                continue;
            }
        };
        for due in due {
            let attempt = send(&client, &due, &settings).await;
            let id = due.delivery.id.clone();
            let pool = pool.clone();
            let recorded = web::block(move || {
                let mut conn = pool.get().map_err(StoreError::from)?;
                webhooks::record_attempt(&mut conn, &id, &attempt)
            })
            .await;
            if !matches!(recorded, Ok(Ok(()))) {
                // The lease runs out and the delivery is sent again; receivers dedupe by its id.
                tracing::warn!(delivery_id = %due.delivery.id, "recording a webhook attempt failed");
            }
        }
    }
}

/// `sha256=<hex>` of HMAC-SHA256 over `"{timestamp}.{body}"`: the timestamp is signed so a
/// captured request cannot be replayed later with a fresh one.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Exponential backoff after the `attempts`-th failure, capped.
fn retry_delay(settings: &WebhookSettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    settings
        .retry_base
        .saturating_mul(factor)
        .min(settings.retry_cap)
}

async fn send(client: &reqwest::Client, due: &DueDelivery, settings: &WebhookSettings) -> Attempt {
    let timestamp = chrono::Utc::now().timestamp();
    let body = &due.delivery.payload;
    let result = client
        .post(&due.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-inbox-event", &due.delivery.event)
        .header("x-inbox-delivery", &due.delivery.id)
        .header("x-inbox-timestamp", timestamp.to_string())
        .header("x-inbox-signature", signature(&due.secret, timestamp, body))
        .body(body.clone())
        .send()
        .await;
    let (status_code, error) = match result {
        Ok(response) if response.status().is_success() => {
            return Attempt::Delivered {
                status_code: i32::from(response.status().as_u16()),
            }
        }
        Ok(response) => (
            Some(i32::from(response.status().as_u16())),
            format!("the receiver answered {}", response.status()),
        ),
        // Only the kind of failure: reqwest's message can hold the URL, which may carry a token.
        Err(error) if error.is_timeout() => (None, "timed out".to_owned()),
        Err(error) if error.is_connect() => (None, "could not connect".to_owned()),
        Err(_) => (None, "the request failed".to_owned()),
    };
    let attempts = u32::try_from(due.delivery.attempts).unwrap_or(0) + 1;
    let retry_at = (attempts < settings.max_attempts).then(|| {
        persistence::now()
            + chrono::Duration::from_std(retry_delay(settings, attempts))
                .unwrap_or(chrono::Duration::hours(1))
    });
    tracing::warn!(delivery_id = %due.delivery.id, attempts, %error, "webhook delivery failed");
    Attempt::Failed {
        status_code,
        error,
        retry_at,
    }
}

/// The organization's urgent-alert webhook. The secret is write-only.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    pub active: bool,
    /// Always true once set: the secret itself is never shown again.
    pub secret_set: bool,
    pub updated_at: String,
}

impl WebhookView {
    fn of(subscription: &Subscription) -> Self {
        WebhookView {
            url: subscription.url.clone(),
            active: subscription.active,
            secret_set: !subscription.secret.is_empty(),
            updated_at: timestamp(subscription.updated_at),
        }
    }
}

/// Shortest secret accepted: the HMAC key should not be guessable.
const MIN_SECRET_CHARS: usize = 16;
const MAX_SECRET_CHARS: usize = 256;
const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://alerts.example.org/inbox", "secret": "whsec-0123456789abcdef", "active": true}))]
pub struct WebhookRequest {
    /// An http(s) URL without credentials; every urgent message is POSTed to it.
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// The HMAC-SHA256 key, at least 16 characters; required the first time, kept when absent.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: Option<String>,
    #[serde(default = "enabled")]
    pub active: bool,
}

fn enabled() -> bool {
    true
}

/// The organization's urgent-alert webhook (admins).
///
/// Where urgent patient messages are announced, whether it is active, and whether a signing
/// secret is set (the secret itself is never shown). 404 until an admin sets one.
#[utoipa::path(
    tag = "admin",
    operation_id = "getWebhookSettings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No webhook is set", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/settings/webhook")]
pub async fn get_webhook_settings(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<web::Json<WebhookView>, ApiError> {
    let subscription = state
        .db(move |conn| Ok(webhooks::find_subscription(conn, &caller.organization_id)?))
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(web::Json(WebhookView::of(&subscription)))
}

/// Set the urgent-alert webhook (admins).
///
/// Every urgent patient message is POSTed to `url` once delivered: a JSON body with ids and the
/// category only (`delivery_id`, `event`, `conversation_id`, `message_id`, `category`, `urgent`,
/// `occurred_at`), signed in `X-Inbox-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`
/// with `X-Inbox-Timestamp` (Unix seconds: reject old ones) and `X-Inbox-Delivery` (the delivery
/// id: retries repeat it, dedupe by it). Any 2xx is success; anything else is retried with
/// exponential backoff.
#[utoipa::path(
    tag = "admin",
    operation_id = "replaceWebhookSettings",
    security(("bearer" = [])),
    request_body = WebhookRequest,
    responses(
        (status = 200, description = "Stored", body = WebhookView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: bad URL, short secret, or no secret the first time", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/settings/webhook")]
pub async fn replace_webhook_settings(
    state: web::Data<AppState>,
    caller: AdminCaller,
    request: JsonObject<WebhookRequest>,
) -> Result<web::Json<WebhookView>, ApiError> {
    let WebhookRequest {
        url,
        secret,
        active,
    } = request.into_inner();
    let url = reqwest::Url::parse(url.trim())
        .ok()
        .filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.username().is_empty()
                && url.password().is_none()
        })
        .filter(|url| url.as_str().len() <= MAX_URL_CHARS)
        .ok_or_else(|| {
            ApiError::validation(
                "url must be an http(s) URL without credentials, at most 2048 characters.",
            )
        })?;
    if secret.as_deref().is_some_and(|secret| {
        !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret.chars().count())
    }) {
        return Err(ApiError::validation(format!(
            "secret must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters."
        )));
    }
    let subscription = state
        .db(move |conn| {
            webhooks::replace_subscription(
                conn,
                &caller.organization_id,
                url.as_str(),
                secret.as_deref(),
                active,
            )
            .map_err(|error| match error {
                SubscriptionError::SecretRequired => {
                    ApiError::validation("secret is required when the webhook is first set.")
                }
                SubscriptionError::Store(error) => error.into(),
            })
        })
        .await?;
    Ok(web::Json(WebhookView::of(&subscription)))
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// One alert and how its delivery went. The payload is exactly the body sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl DeliveryView {
    fn of(row: &DeliveryRow) -> Self {
        let status = match row.status.as_str() {
            webhooks::status::DELIVERED => DeliveryStatus::Delivered,
            webhooks::status::FAILED => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        };
        DeliveryView {
            id: row.id.clone(),
            event: row.event.clone(),
            payload: serde_json::from_str(&row.payload).unwrap_or_default(),
            status,
            attempts: row.attempts,
            next_attempt_at: matches!(status, DeliveryStatus::Pending)
                .then(|| timestamp(row.next_attempt_at)),
            last_status_code: row.last_status_code,
            last_error: row.last_error.clone(),
            created_at: timestamp(row.created_at),
            delivered_at: optional_timestamp(row.delivered_at),
        }
    }
}

fn encode_delivery_cursor(id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

fn decode_delivery_cursor(cursor: &str) -> Result<String, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let id = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    uuid::Uuid::parse_str(&id).map_err(|_| bad_cursor())?;
    Ok(id)
}

/// The organization's urgent-alert deliveries (admins).
///
/// Every attempt to announce an urgent message to the webhook, newest first: pending, delivered
/// or failed, with the attempts made and the last answer, to debug a receiver.
#[utoipa::path(
    tag = "admin",
    operation_id = "listWebhookDeliveries",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = Paged<DeliveryView>),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/webhook-deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    caller: AdminCaller,
    page: web::Query<PageParams>,
) -> Result<web::Json<Paged<DeliveryView>>, ApiError> {
    let limit = page.limit()?;
    let before = page.cursor().map(decode_delivery_cursor).transpose()?;
    let mut rows = state
        .db(move |conn| {
            Ok(webhooks::list_deliveries(
                conn,
                &caller.organization_id,
                before.as_deref(),
                limit + 1,
            )?)
        })
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(web::Json(Paged {
        items: rows.iter().map(DeliveryView::of).collect(),
        next_cursor: if more {
            rows.last().map(|row| encode_delivery_cursor(&row.id))
        } else {
            None
        },
    }))
}

pub fn configure(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(get_webhook_settings)
        .service(replace_webhook_settings)
        .service(list_webhook_deliveries);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature("key", 1_700_000_000, r#"{"a":1}"#),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let settings = WebhookSettings {
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(60),
            ..WebhookSettings::default()
        };
        let delays: Vec<u64> = (1..=6)
            .map(|attempt| retry_delay(&settings, attempt).as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
    }
}
