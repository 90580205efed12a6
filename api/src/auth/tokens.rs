//! Access tokens (short-lived HS256 JWTs) and refresh tokens (random, stored hashed, rotated).

use std::time::Duration;

use base64::Engine;
use domain::roles::Role;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "inbox";
pub const AUDIENCE: &str = "inbox-api";
/// Clock skew tolerated on `exp`/`iat`; jsonwebtoken's default of 60 s would honour an expired
/// token for a minute.
const LEEWAY_SECONDS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub org: String,
    pub role: Role,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// Keys and validation rules, built once at start-up.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is invalid: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    pub fn issue_access_token(
        &self,
        subject: &str,
        organization_id: &str,
        role: Role,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let issued_at = unix_now();
        let claims = Claims {
            sub: subject.to_owned(),
            org: organization_id.to_owned(),
            role,
            iat: issued_at,
            exp: issued_at + self.access_ttl.as_secs(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Verifies signature, algorithm (HS256 only: `alg: none` and others are refused), expiry,
    /// issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims)
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// A new opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a refresh token: a leaked table cannot be replayed.
pub fn refresh_token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ttl: u64) -> TokenKeys {
        TokenKeys::new(
            &[7u8; 32],
            Duration::from_secs(ttl),
            Duration::from_secs(60),
        )
    }

    #[test]
    fn issued_token_verifies_with_its_claims() {
        let keys = keys(60);
        let token = keys.issue_access_token("u1", "o1", Role::Coach).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.org.as_str(), claims.role),
            ("u1", "o1", Role::Coach)
        );
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = keys(60)
            .issue_access_token("u1", "o1", Role::Admin)
            .unwrap();
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60), Duration::from_secs(60));
        assert!(other.verify(&token).is_err());
    }

    #[test]
    fn refresh_hash_is_stable_and_not_the_token() {
        let token = new_refresh_token();
        assert_eq!(refresh_token_hash(&token), refresh_token_hash(&token));
        assert_ne!(refresh_token_hash(&token), token);
        assert_ne!(new_refresh_token(), token);
    }
}
