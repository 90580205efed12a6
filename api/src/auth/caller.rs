//! The authenticated caller, extracted from `Authorization: Bearer <JWT>`.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use domain::roles::Role;

use crate::error::ApiError;
use crate::state::AppState;

/// Anyone with a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub organization_id: String,
    pub role: Role,
}

impl Caller {
    fn from_request_head(request: &HttpRequest) -> Result<Caller, ApiError> {
        let state = request
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| ApiError::internal("application state is not registered"))?;
        let header = request
            .headers()
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("An Authorization: Bearer token is required."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("The Authorization header must be `Bearer <token>`.")
            })?;
        let claims = state
            .keys
            .verify(token)
            .map_err(|_| ApiError::unauthorized("The access token is invalid or expired."))?;
        Ok(Caller {
            id: claims.sub,
            organization_id: claims.org,
            role: claims.role,
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Caller::from_request_head(request))
    }
}

/// Declares an extractor that accepts only some roles; others get 403 — the operation exists but
/// is not theirs to use.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $allowed:expr, $refusal:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub Caller);

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
                let allowed: fn(Role) -> bool = $allowed;
                ready(Caller::from_request_head(request).and_then(|caller| {
                    if allowed(caller.role) {
                        Ok($name(caller))
                    } else {
                        Err(ApiError::forbidden($refusal))
                    }
                }))
            }
        }

        impl std::ops::Deref for $name {
            type Target = Caller;

            fn deref(&self) -> &Caller {
                &self.0
            }
        }
    };
}

role_extractor!(
    /// A clinician, coach, support agent or admin.
    StaffCaller,
    Role::is_staff,
    "This operation is for staff of the Clinician Platform."
);
role_extractor!(
    /// A patient using the MyXRHealth app.
    PatientCaller,
    |role| role == Role::Patient,
    "This operation is for patients of the MyXRHealth app."
);
role_extractor!(
    /// An administrator of the caller's organization.
    AdminCaller,
    |role| role == Role::Admin,
    "This operation is for administrators."
);
