//! Password hashing with Argon2id (the `argon2` crate's defaults follow the OWASP minimum).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored PHC string; a malformed hash counts as a mismatch.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies against a fixed dummy hash, so that an unknown email costs the same time as a wrong
/// password and response times do not reveal which emails have accounts.
pub fn burn_verification_time(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(dummy) = DUMMY.get_or_init(|| hash_password("not-a-real-password").ok()) {
        verify_password(password, dummy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_verifies_and_wrong_one_does_not() {
        let hash = hash_password("demo-pass").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("demo-pass", &hash));
        assert!(!verify_password("demo-pasS", &hash));
        assert!(!verify_password("demo-pass", "not a hash"));
    }
}
