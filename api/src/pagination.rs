//! Cursor pagination: `?limit=` (default 50, max 200) and an opaque `?cursor=` that encodes the
//! position after the last item, so pages stay stable while new messages arrive.

use base64::Engine;
use chrono::DateTime;
use persistence::conversations::ActivityKey;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    u: bool,
    t: i64,
    i: String,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(_) => Err(ApiError::invalid_request(format!(
                "limit must be between 1 and {MAX_LIMIT}."
            ))),
        }
    }

    pub fn after(&self) -> Result<Option<ActivityKey>, ApiError> {
        self.cursor().map(decode_cursor).transpose()
    }

    /// The cursor given, if any; an empty `cursor=` (what form serialisers send for "none")
    /// asks for the first page.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|cursor| !cursor.is_empty())
    }
}

pub fn bad_cursor() -> ApiError {
    ApiError::invalid_request("The cursor is not one this API issued.")
}

fn decode_cursor(cursor: &str) -> Result<ActivityKey, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    let at = DateTime::from_timestamp_micros(data.t).ok_or_else(bad_cursor)?;
    uuid::Uuid::parse_str(&data.i).map_err(|_| bad_cursor())?;
    Ok(ActivityKey {
        urgent: data.u,
        last_activity_at: at.naive_utc(),
        id: data.i,
    })
}

pub fn encode_cursor(key: &ActivityKey) -> String {
    let data = CursorData {
        u: key.urgent,
        t: key.last_activity_at.and_utc().timestamp_micros(),
        i: key.id.clone(),
    };
    let json = serde_json::to_vec(&data).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = ActivityKey {
            urgent: true,
            last_activity_at: persistence::now(),
            id: uuid::Uuid::now_v7().to_string(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&key)).unwrap(), key);
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{}")).is_err()
        );
    }
}
