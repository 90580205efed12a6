//! Abuse limits: requests per client address on the auth endpoints, sends per principal, and a
//! growing back-off on an account after repeated failed logins. Limits are per instance (kept
//! in memory): behind a load balancer of N instances a client gets at most N times the quota,
//! which still stops scripts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ProblemKind};

/// Failed logins on one account before each further attempt must wait.
const FREE_LOGIN_FAILURES: u32 = 5;
const MAX_LOGIN_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Keyed limiters keep a cell per key; past this many they forget keys that are back to full.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct RateLimits {
    auth: DefaultKeyedRateLimiter<IpAddr>,
    sends: DefaultKeyedRateLimiter<String>,
    login_failures: Mutex<HashMap<String, LoginFailures>>,
}

#[derive(Debug, Clone, Copy)]
struct LoginFailures {
    count: u32,
    blocked_until: Option<Instant>,
}

fn too_many(retry_after: Duration, detail: &str) -> ApiError {
    let seconds = retry_after.as_secs().max(1);
    ApiError::new(
        ProblemKind::RateLimited,
        format!("{detail} Retry in {seconds} s."),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
}

fn check<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K, detail: &str) -> Result<(), ApiError>
where
    K: std::hash::Hash + Eq + Clone,
{
    if limiter.len() > MAX_TRACKED_KEYS {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        too_many(
            not_until.wait_time_from(DefaultClock::default().now()),
            detail,
        )
    })
}

impl RateLimits {
    pub fn new(auth_per_minute: NonZeroU32, sends_per_minute: NonZeroU32) -> Self {
        Self {
            auth: RateLimiter::keyed(Quota::per_minute(auth_per_minute)),
            sends: RateLimiter::keyed(Quota::per_minute(sends_per_minute)),
            login_failures: Mutex::new(HashMap::new()),
        }
    }

    /// One auth request (login or refresh) from this client address.
    pub fn check_auth(&self, client: IpAddr) -> Result<(), ApiError> {
        check(
            &self.auth,
            &client,
            "Too many sign-in requests from this address.",
        )
    }

    /// One message sent by this principal.
    pub fn check_send(&self, principal_id: &str) -> Result<(), ApiError> {
        check(
            &self.sends,
            &principal_id.to_owned(),
            "Too many messages in a short time.",
        )
    }

    /// Refuses a login attempt while the account is backing off after failures.
    pub fn check_login(&self, email: &str) -> Result<(), ApiError> {
        let failures = self
            .login_failures
            .lock()
            .map_err(|_| ApiError::internal("login failures poisoned"))?;
        match failures.get(email).and_then(|entry| entry.blocked_until) {
            Some(until) if until > Instant::now() => Err(too_many(
                until - Instant::now(),
                "Too many failed sign-ins for this account.",
            )),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a login attempt: success forgets the failures; each failure past
    /// the free ones doubles the wait, up to fifteen minutes.
    pub fn record_login(&self, email: &str, succeeded: bool) {
        let Ok(mut failures) = self.login_failures.lock() else {
            return;
        };
        if succeeded {
            failures.remove(email);
            return;
        }
        if failures.len() > MAX_TRACKED_KEYS {
            let now = Instant::now();
            failures.retain(|_, entry| entry.blocked_until.is_some_and(|until| until > now));
        }
        let entry = failures.entry(email.to_owned()).or_insert(LoginFailures {
            count: 0,
            blocked_until: None,
        });
        entry.count += 1;
        if entry.count >= FREE_LOGIN_FAILURES {
            let doublings = (entry.count - FREE_LOGIN_FAILURES).min(10);
            let wait = Duration::from_secs(1u64 << doublings).min(MAX_LOGIN_BACKOFF);
            entry.blocked_until = Some(Instant::now() + wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32) -> RateLimits {
        let quota = NonZeroU32::new(per_minute).unwrap();
        RateLimits::new(quota, quota)
    }

    #[test]
    fn the_quota_is_per_key_and_the_refusal_says_when_to_retry() {
        let limits = limits(2);
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limits.check_auth(client).is_ok());
        assert!(limits.check_auth(client).is_ok());
        let refused = limits.check_auth(client).unwrap_err();
        assert_eq!(refused.kind(), ProblemKind::RateLimited);
        assert!(limits.check_auth("10.0.0.2".parse().unwrap()).is_ok());
        assert!(limits.check_send("alice").is_ok());
    }

    #[test]
    fn repeated_failures_back_off_and_success_resets() {
        let limits = limits(100);
        for _ in 0..FREE_LOGIN_FAILURES - 1 {
            limits.record_login("a@b.c", false);
            assert!(limits.check_login("a@b.c").is_ok());
        }
        limits.record_login("a@b.c", false);
        assert_eq!(
            limits.check_login("a@b.c").unwrap_err().kind(),
            ProblemKind::RateLimited
        );
        assert!(limits.check_login("other@b.c").is_ok());
        limits.record_login("a@b.c", true);
        assert!(limits.check_login("a@b.c").is_ok());
    }
}
