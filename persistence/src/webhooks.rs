//! Urgent-alert webhooks: each organization's subscription, and the outbox of deliveries. A
//! delivery is inserted in the transaction that stores the urgent message, so a message never
//! exists without its alert (and a rolled-back one never alerts); a worker sends them later.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::conversations::{ConversationRow, MessageRow};
use crate::db::write_transaction;
use crate::schema::{webhook_deliveries, webhook_subscriptions};
use crate::{new_id, now, DbConnection, StoreError};

/// The one event the webhook sends.
pub const URGENT_MESSAGE: &str = "urgent_message";

/// Delivery states as stored.
pub mod status {
    pub const PENDING: &str = "pending";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq, Eq)]
#[diesel(table_name = webhook_subscriptions)]
pub struct Subscription {
    pub organization_id: String,
    pub url: String,
    /// The HMAC key; shown to nobody after it is set.
    pub secret: String,
    pub active: bool,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq, Eq)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub organization_id: String,
    pub event: String,
    /// The JSON body sent: ids and the category, never message text or names.
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn find_subscription(
    conn: &mut DbConnection,
    organization_id: &str,
) -> Result<Option<Subscription>, StoreError> {
    Ok(webhook_subscriptions::table
        .find(organization_id)
        .select(Subscription::as_select())
        .first(conn)
        .optional()?)
}

/// Why a subscription was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("a secret is required when the webhook is first set")]
    SecretRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for SubscriptionError {
    fn from(error: diesel::result::Error) -> Self {
        SubscriptionError::Store(error.into())
    }
}

/// Replaces the organization's subscription; without a new secret the stored one is kept.
pub fn replace_subscription(
    conn: &mut DbConnection,
    organization_id: &str,
    url: &str,
    secret: Option<&str>,
    active: bool,
) -> Result<Subscription, SubscriptionError> {
    write_transaction(conn, |conn| {
        let existing = find_subscription(conn, organization_id)?;
        let secret = match (secret, existing) {
            (Some(secret), _) => secret.to_owned(),
            (None, Some(existing)) => existing.secret,
            (None, None) => return Err(SubscriptionError::SecretRequired),
        };
        let subscription = Subscription {
            organization_id: organization_id.to_owned(),
            url: url.to_owned(),
            secret,
            active,
            updated_at: now(),
        };
        diesel::delete(webhook_subscriptions::table.find(organization_id)).execute(conn)?;
        diesel::insert_into(webhook_subscriptions::table)
            .values(&subscription)
            .execute(conn)?;
        Ok(subscription)
    })
}

/// Queues the alert of an urgent patient message, when the organization has an active webhook.
/// Call it in the transaction that stores the message.
pub fn enqueue_urgent_alert(
    conn: &mut DbConnection,
    conversation: &ConversationRow,
    message: &MessageRow,
    category: &str,
) -> Result<(), StoreError> {
    let subscribed = find_subscription(conn, &conversation.organization_id)?
        .is_some_and(|subscription| subscription.active);
    if !subscribed {
        return Ok(());
    }
    let id = new_id();
    let payload = json!({
        "delivery_id": id,
        "event": URGENT_MESSAGE,
        "conversation_id": conversation.id,
        "message_id": message.id,
        "category": category,
        "urgent": true,
        "occurred_at": message.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    });
    diesel::insert_into(webhook_deliveries::table)
        .values(DeliveryRow {
            id,
            organization_id: conversation.organization_id.clone(),
            event: URGENT_MESSAGE.to_owned(),
            payload: payload.to_string(),
            status: status::PENDING.to_owned(),
            attempts: 0,
            next_attempt_at: message.created_at,
            last_status_code: None,
            last_error: None,
            created_at: message.created_at,
            delivered_at: None,
        })
        .execute(conn)?;
    Ok(())
}

/// A delivery due now, with where and how to sign it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: DeliveryRow,
    pub url: String,
    pub secret: String,
}

/// Takes up to `limit` due deliveries for this worker: their next attempt moves `lease` ahead,
/// so no other worker sends them meanwhile, and a worker that dies mid-send leaves them to be
/// retried when the lease ends. On PostgreSQL, `SKIP LOCKED` lets several instances take
/// different rows at once; SQLite's write lock serializes them.
pub fn take_due(
    conn: &mut DbConnection,
    limit: i64,
    lease: Duration,
) -> Result<Vec<DueDelivery>, StoreError> {
    write_transaction(conn, |conn| {
        let at = now();
        let due = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(status::PENDING))
            .filter(webhook_deliveries::next_attempt_at.le(at))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit);
        let rows: Vec<DeliveryRow> = match conn {
            DbConnection::Postgresql(pg) => due
                .select(DeliveryRow::as_select())
                .for_update()
                .skip_locked()
                .load(pg)?,
            DbConnection::Sqlite(_) => due.select(DeliveryRow::as_select()).load(conn)?,
        };
        let mut taken = Vec::with_capacity(rows.len());
        for delivery in rows {
            diesel::update(webhook_deliveries::table.find(&delivery.id))
                .set(webhook_deliveries::next_attempt_at.eq(at + lease))
                .execute(conn)?;
            match find_subscription(conn, &delivery.organization_id)? {
                Some(subscription) => taken.push(DueDelivery {
                    delivery,
                    url: subscription.url,
                    secret: subscription.secret,
                }),
                // The webhook was removed: nothing to send to.
                None => {
                    diesel::update(webhook_deliveries::table.find(&delivery.id))
                        .set((
                            webhook_deliveries::status.eq(status::FAILED),
                            webhook_deliveries::last_error.eq("no webhook configured"),
                        ))
                        .execute(conn)?;
                }
            }
        }
        Ok(taken)
    })
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered {
        status_code: i32,
    },
    /// Retry at `retry_at`, or give up when `None`.
    Failed {
        status_code: Option<i32>,
        error: String,
        retry_at: Option<NaiveDateTime>,
    },
}

/// Records a delivery attempt. In a write transaction, so that on SQLite it takes its turn for
/// the lock instead of polling beside the queue, where a lost update would send it again.
pub fn record_attempt(
    conn: &mut DbConnection,
    delivery_id: &str,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let target = webhook_deliveries::table.find(delivery_id);
        let attempts = webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1);
        match attempt {
            Attempt::Delivered { status_code } => diesel::update(target)
                .set((
                    attempts,
                    webhook_deliveries::status.eq(status::DELIVERED),
                    webhook_deliveries::last_status_code.eq(Some(*status_code)),
                    webhook_deliveries::last_error.eq(None::<String>),
                    webhook_deliveries::delivered_at.eq(Some(now())),
                ))
                .execute(conn)?,
            Attempt::Failed {
                status_code,
                error,
                retry_at,
            } => diesel::update(target)
                .set((
                    attempts,
                    webhook_deliveries::status.eq(if retry_at.is_some() {
                        status::PENDING
                    } else {
                        status::FAILED
                    }),
                    webhook_deliveries::next_attempt_at.eq(retry_at.unwrap_or_else(now)),
                    webhook_deliveries::last_status_code.eq(*status_code),
                    webhook_deliveries::last_error.eq(Some(error)),
                ))
                .execute(conn)?,
        };
        Ok(())
    })
}

/// The organization's deliveries, newest first, after `before_id` (an earlier page's last).
pub fn list_deliveries(
    conn: &mut DbConnection,
    organization_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::organization_id.eq(organization_id.to_owned()))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before_id) = before_id {
        query = query.filter(webhook_deliveries::id.lt(before_id.to_owned()));
    }
    Ok(query.load(conn)?)
}
