//! Configuration: one typed struct, read from flags and environment, validated at start-up with
//! one clear line per fault.

use std::net::SocketAddr;
use std::time::Duration;

use persistence::db::PoolOptions;
use persistence::DatabaseUrl;
use secrecy::{ExposeSecret, SecretString};

/// The shortest `INBOX_JWT_SECRET` accepted: HS256 keys shorter than the hash are guessable.
const MIN_JWT_SECRET_BYTES: usize = 32;

/// Flags and environment variables of `inbox serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Address and port to listen on.
    #[arg(long, env = "INBOX_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// HS256 signing secret of access tokens, at least 32 bytes. Required unless --demo.
    #[arg(long, env = "INBOX_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "INBOX_ACCESS_TOKEN_TTL_SECONDS", default_value_t = 900)]
    pub access_token_ttl_seconds: u64,

    /// Lifetime of refresh tokens, in seconds.
    #[arg(
        long,
        env = "INBOX_REFRESH_TOKEN_TTL_SECONDS",
        default_value_t = 2_592_000
    )]
    pub refresh_token_ttl_seconds: u64,

    /// Create the demo organizations and accounts on an empty database (and a random JWT secret
    /// when none is set).
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://…` for PostgreSQL, otherwise the path of a SQLite file.
    #[arg(long, env = "DATABASE_URL", default_value = "inbox.db")]
    pub database_url: String,

    /// Most database connections the server holds open.
    #[arg(long, env = "INBOX_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
}

/// A setting that stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    DatabaseUrl(#[from] persistence::db::DatabaseUrlError),
    #[error("INBOX_BIND `{0}` is not an address such as 127.0.0.1:8080")]
    Bind(String),
    #[error("INBOX_JWT_SECRET is required (or run with --demo for a throwaway one)")]
    MissingJwtSecret,
    #[error("INBOX_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long")]
    ShortJwtSecret,
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool: PoolOptions,
}

impl DatabaseArgs {
    pub fn settings(&self) -> Result<DatabaseSettings, ConfigError> {
        if self.db_pool_size == 0 {
            return Err(ConfigError::Zero("INBOX_DB_POOL_SIZE"));
        }
        Ok(DatabaseSettings {
            url: DatabaseUrl::parse(&self.database_url)?,
            pool: PoolOptions {
                max_size: self.db_pool_size,
                ..PoolOptions::default()
            },
        })
    }
}

/// Where the JWT secret came from; a generated one is announced because tokens die with the
/// process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    Configured,
    GeneratedForDemo,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub bind: SocketAddr,
    pub jwt_secret: SecretString,
    pub jwt_secret_source: SecretSource,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub demo: bool,
}

impl ServeArgs {
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let bind = self
            .bind
            .parse()
            .map_err(|_| ConfigError::Bind(self.bind.clone()))?;
        let (jwt_secret, jwt_secret_source) = match (&self.jwt_secret, self.demo) {
            (Some(secret), _) if secret.len() < MIN_JWT_SECRET_BYTES => {
                return Err(ConfigError::ShortJwtSecret)
            }
            (Some(secret), _) => (SecretString::from(secret.clone()), SecretSource::Configured),
            (None, true) => (random_secret(), SecretSource::GeneratedForDemo),
            (None, false) => return Err(ConfigError::MissingJwtSecret),
        };
        if self.access_token_ttl_seconds == 0 {
            return Err(ConfigError::Zero("INBOX_ACCESS_TOKEN_TTL_SECONDS"));
        }
        if self.refresh_token_ttl_seconds == 0 {
            return Err(ConfigError::Zero("INBOX_REFRESH_TOKEN_TTL_SECONDS"));
        }
        Ok(Settings {
            database: self.database.settings()?,
            bind,
            jwt_secret,
            jwt_secret_source,
            access_token_ttl: Duration::from_secs(self.access_token_ttl_seconds),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_seconds),
            demo: self.demo,
        })
    }
}

fn random_secret() -> SecretString {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl Settings {
    pub fn jwt_secret_bytes(&self) -> &[u8] {
        self.jwt_secret.expose_secret().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("inbox").chain(args.iter().copied()))
            .map_err(|_| ConfigError::Bind("unparsable".into()))?;
        cli.serve.settings()
    }

    #[test]
    fn secret_is_required_without_demo() {
        let error = parse(&["--database-url", "x.db"]).unwrap_err();
        assert!(matches!(error, ConfigError::MissingJwtSecret));
    }

    #[test]
    fn demo_generates_a_secret_and_says_so() {
        let settings = parse(&["--demo", "--database-url", "x.db"]).unwrap();
        assert_eq!(settings.jwt_secret_source, SecretSource::GeneratedForDemo);
        assert!(settings.jwt_secret_bytes().len() >= MIN_JWT_SECRET_BYTES);
    }

    #[test]
    fn short_secret_and_bad_bind_are_refused() {
        let short = parse(&["--jwt-secret", "short", "--database-url", "x.db"]).unwrap_err();
        assert!(matches!(short, ConfigError::ShortJwtSecret));
        let secret = "s".repeat(32);
        let bind = parse(&[
            "--jwt-secret",
            &secret,
            "--bind",
            "nowhere",
            "--database-url",
            "x.db",
        ]);
        assert!(matches!(bind.unwrap_err(), ConfigError::Bind(_)));
    }

    #[test]
    fn mistyped_database_scheme_is_refused() {
        let secret = "s".repeat(32);
        let error = parse(&[
            "--jwt-secret",
            &secret,
            "--database-url",
            "postgress://db/inbox",
        ]);
        assert!(matches!(error.unwrap_err(), ConfigError::DatabaseUrl(_)));
    }
}
