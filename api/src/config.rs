//! Configuration: one typed struct, read from flags and environment, validated at start-up with
//! one clear line per fault.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use persistence::db::PoolOptions;
use persistence::DatabaseUrl;
use secrecy::{ExposeSecret, SecretString};

use crate::live::LiveSettings;
use crate::webhooks::WebhookSettings;

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

    /// Sign-in and refresh requests per minute from one client address.
    #[arg(long, env = "INBOX_AUTH_RATE_PER_MINUTE", default_value_t = 30)]
    pub auth_rate_per_minute: u32,

    /// Messages per minute one patient or staff member may send.
    #[arg(long, env = "INBOX_SEND_RATE_PER_MINUTE", default_value_t = 20)]
    pub send_rate_per_minute: u32,

    /// Browser origins allowed to call the API (the Clinician Platform SPA), comma-separated,
    /// e.g. https://inbox.example.org. None by default.
    #[arg(long, env = "INBOX_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    #[command(flatten)]
    pub llm: LlmArgs,

    #[command(flatten)]
    pub live: LiveArgs,
}

/// The live inbox's event streams and urgent-alert webhooks.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Milliseconds between an event stream's reads of the log when nothing woke it.
    #[arg(long, env = "INBOX_EVENTS_POLL_MS", default_value_t = 2_000)]
    pub events_poll_ms: u64,

    /// Least milliseconds between two `counts` events of a staff member's event stream while
    /// changes keep coming (the first after a quiet spell goes out at once).
    #[arg(long, env = "INBOX_EVENTS_COUNTS_MS", default_value_t = 2_000)]
    pub events_counts_ms: u64,

    /// Seconds between keep-alive comments on an idle event stream.
    #[arg(long, env = "INBOX_EVENTS_HEARTBEAT_SECONDS", default_value_t = 15)]
    pub events_heartbeat_seconds: u64,

    /// Hours events are kept for clients resuming with Last-Event-ID.
    #[arg(long, env = "INBOX_EVENTS_RETENTION_HOURS", default_value_t = 24)]
    pub events_retention_hours: u64,

    /// Milliseconds before the first retry of a failed webhook delivery; each retry waits twice
    /// as long as the one before, up to an hour.
    #[arg(long, env = "INBOX_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000)]
    pub webhook_retry_base_ms: u64,

    /// Attempts of a webhook delivery before it is marked failed.
    #[arg(long, env = "INBOX_WEBHOOK_MAX_ATTEMPTS", default_value_t = 12)]
    pub webhook_max_attempts: u32,
}

impl LiveArgs {
    fn settings(&self) -> Result<(LiveSettings, WebhookSettings), ConfigError> {
        let positive = |value: u64, name: &'static str| {
            if value == 0 {
                Err(ConfigError::Zero(name))
            } else {
                Ok(value)
            }
        };
        let live = LiveSettings {
            poll_interval: Duration::from_millis(positive(
                self.events_poll_ms,
                "INBOX_EVENTS_POLL_MS",
            )?),
            heartbeat_interval: Duration::from_secs(positive(
                self.events_heartbeat_seconds,
                "INBOX_EVENTS_HEARTBEAT_SECONDS",
            )?),
            retention: Duration::from_secs(
                positive(self.events_retention_hours, "INBOX_EVENTS_RETENTION_HOURS")?
                    .saturating_mul(3600),
            ),
            counts_interval: Duration::from_millis(positive(
                self.events_counts_ms,
                "INBOX_EVENTS_COUNTS_MS",
            )?),
        };
        if self.webhook_max_attempts == 0 {
            return Err(ConfigError::Zero("INBOX_WEBHOOK_MAX_ATTEMPTS"));
        }
        let webhooks = WebhookSettings {
            retry_base: Duration::from_millis(positive(
                self.webhook_retry_base_ms,
                "INBOX_WEBHOOK_RETRY_BASE_MS",
            )?),
            max_attempts: self.webhook_max_attempts,
            ..WebhookSettings::default()
        };
        Ok((live, webhooks))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `postgres://…` for PostgreSQL, otherwise the path of a SQLite file.
    #[arg(long, env = "DATABASE_URL", default_value = "inbox.db")]
    pub database_url: String,

    /// Most database connections the server holds open.
    #[arg(long, env = "INBOX_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "INBOX_DB_TIMEOUT_SECONDS", default_value_t = 3)]
    pub db_timeout_seconds: u64,
}

/// The language model that drafts handoff summaries: any OpenAI-compatible chat-completions API,
/// hosted or local (Ollama, vLLM, llama.cpp). Without a base URL drafts are extractive.
#[derive(Debug, Clone, clap::Args)]
pub struct LlmArgs {
    /// Base URL of the API, up to and without `/chat/completions`, e.g.
    /// https://api.openai.com/v1 or http://localhost:11434/v1.
    #[arg(long, env = "INBOX_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,

    /// Sent as `Authorization: Bearer <key>`; local servers usually need none.
    #[arg(long, env = "INBOX_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<SecretString>,

    /// Model name as the API knows it.
    #[arg(long, env = "INBOX_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub llm_model: String,

    /// Most seconds a draft waits for the model, retries included, before the extractive
    /// summary is used instead.
    #[arg(long, env = "INBOX_LLM_TIMEOUT_SECONDS", default_value_t = 20)]
    pub llm_timeout_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// An http(s) URL without credentials or a trailing slash.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub timeout: Duration,
}

impl LlmArgs {
    pub fn settings(&self) -> Result<Option<LlmSettings>, ConfigError> {
        let Some(raw) = self
            .llm_base_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
        else {
            if self.llm_api_key.is_some() {
                return Err(ConfigError::LlmKeyWithoutUrl);
            }
            return Ok(None);
        };
        // Credentials in the URL would end up in error messages; the key has its own variable.
        let url = reqwest::Url::parse(raw.trim()).map_err(|_| ConfigError::LlmBaseUrl)?;
        let usable = matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none();
        if !usable {
            return Err(ConfigError::LlmBaseUrl);
        }
        if self.llm_model.trim().is_empty() {
            return Err(ConfigError::Empty("INBOX_LLM_MODEL"));
        }
        if self.llm_timeout_seconds == 0 {
            return Err(ConfigError::Zero("INBOX_LLM_TIMEOUT_SECONDS"));
        }
        Ok(Some(LlmSettings {
            base_url: url.as_str().trim_end_matches('/').to_owned(),
            api_key: self.llm_api_key.clone(),
            model: self.llm_model.trim().to_owned(),
            timeout: Duration::from_secs(self.llm_timeout_seconds),
        }))
    }
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
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("INBOX_LLM_BASE_URL must be an http(s) URL without credentials or query, such as http://localhost:11434/v1")]
    LlmBaseUrl,
    #[error("INBOX_CORS_ORIGINS entry `{0}` is not an origin such as https://inbox.example.org")]
    CorsOrigin(String),
    #[error("INBOX_LLM_API_KEY is set but INBOX_LLM_BASE_URL is not")]
    LlmKeyWithoutUrl,
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
        if self.db_timeout_seconds == 0 {
            return Err(ConfigError::Zero("INBOX_DB_TIMEOUT_SECONDS"));
        }
        Ok(DatabaseSettings {
            url: DatabaseUrl::parse(&self.database_url)?,
            pool: PoolOptions {
                max_size: self.db_pool_size,
                connection_timeout: Duration::from_secs(self.db_timeout_seconds),
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
    /// The model that drafts handoff summaries; `None` drafts them extractively.
    pub llm: Option<LlmSettings>,
    pub auth_rate_per_minute: NonZeroU32,
    pub send_rate_per_minute: NonZeroU32,
    /// Exact origins (`scheme://host[:port]`) browsers may call from.
    pub cors_origins: Vec<String>,
    pub live: LiveSettings,
    pub webhooks: WebhookSettings,
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
        let (live, webhooks) = self.live.settings()?;
        Ok(Settings {
            live,
            webhooks,
            database: self.database.settings()?,
            bind,
            jwt_secret,
            jwt_secret_source,
            access_token_ttl: Duration::from_secs(self.access_token_ttl_seconds),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl_seconds),
            demo: self.demo,
            llm: self.llm.settings()?,
            auth_rate_per_minute: NonZeroU32::new(self.auth_rate_per_minute)
                .ok_or(ConfigError::Zero("INBOX_AUTH_RATE_PER_MINUTE"))?,
            send_rate_per_minute: NonZeroU32::new(self.send_rate_per_minute)
                .ok_or(ConfigError::Zero("INBOX_SEND_RATE_PER_MINUTE"))?,
            cors_origins: self
                .cors_origins
                .iter()
                .map(|origin| origin.trim())
                .filter(|origin| !origin.is_empty())
                .map(parse_origin)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An origin is a scheme, host and optional port — no path, so a typo cannot widen CORS.
fn parse_origin(raw: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::CorsOrigin(raw.to_owned());
    let url = reqwest::Url::parse(raw).map_err(|_| invalid())?;
    let bare = matches!(url.scheme(), "http" | "https")
        && url.has_host()
        && url.path() == "/"
        && !raw.ends_with('/')
        && url.query().is_none()
        && url.username().is_empty();
    if bare {
        Ok(url.origin().ascii_serialization())
    } else {
        Err(invalid())
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
    fn llm_is_optional_and_its_url_checked() {
        let secret = "s".repeat(32);
        let base = ["--jwt-secret", &secret, "--database-url", "x.db"];
        let with = |extra: &[&str]| parse(&[&base[..], extra].concat());
        assert!(with(&[]).unwrap().llm.is_none());
        let llm = with(&["--llm-base-url", "http://localhost:11434/v1/"])
            .unwrap()
            .llm
            .unwrap();
        assert_eq!(llm.base_url, "http://localhost:11434/v1");
        assert_eq!(
            (llm.model.as_str(), llm.timeout),
            ("gpt-4o-mini", Duration::from_secs(20))
        );
        for url in [
            "ftp://host/v1",
            "localhost:11434",
            "https://user:pw@host/v1",
        ] {
            let error = with(&["--llm-base-url", url]).unwrap_err();
            assert!(matches!(error, ConfigError::LlmBaseUrl), "{url}");
        }
        let keyless = with(&["--llm-api-key", "sk-test"]).unwrap_err();
        assert!(matches!(keyless, ConfigError::LlmKeyWithoutUrl));
    }

    #[test]
    fn cors_origins_must_be_bare_origins() {
        let secret = "s".repeat(32);
        let ok = parse(&[
            "--jwt-secret",
            &secret,
            "--database-url",
            "x.db",
            "--cors-origins",
            "https://a.example,http://localhost:5173",
        ]);
        assert_eq!(
            ok.unwrap().cors_origins,
            ["https://a.example", "http://localhost:5173"]
        );
        for bad in [
            "https://a.example/path",
            "*",
            "a.example",
            "https://a.example/",
        ] {
            let error = parse(&[
                "--jwt-secret",
                &secret,
                "--database-url",
                "x.db",
                "--cors-origins",
                bad,
            ]);
            assert!(
                matches!(error.unwrap_err(), ConfigError::CorsOrigin(_)),
                "{bad}"
            );
        }
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
