//! Building and running the server: the pool, migrations, demo data, the actix `App`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::audit::ReadAudits;
use crate::auth::tokens::TokenKeys;
use crate::config::{DatabaseSettings, SecretSource, Settings};
use crate::demo::{self, DemoOutcome};
use crate::error::{extractor_configs, problem_for_bare_errors};
use crate::fallback::{fallback, KnownRoutes};
use crate::limits::RateLimits;
use crate::organization_settings::RulesCache;
use crate::send_queue::{self, SendQueue};
use crate::shutdown::Shutdown;
use crate::state::AppState;
use crate::summarizer::Summarizer;
use crate::{
    audit, auth, conversation_actions, directory, handoff, health, inbox, live, metrics, openapi,
    patient_app, read_markers, routing_rules, telemetry, webhooks,
};

/// Every operation of the API. Registered handlers carry their OpenAPI annotations, so the
/// document cannot miss a served route.
pub fn configure_routes(config: &mut ServiceConfig) {
    config
        .configure(health::configure)
        .configure(metrics::configure)
        .service(
            scope::scope("/v1")
                .configure(auth::configure)
                .configure(patient_app::configure)
                .configure(routing_rules::configure)
                .configure(inbox::configure)
                .configure(conversation_actions::configure)
                .configure(audit::configure)
                .configure(directory::configure)
                .configure(handoff::configure)
                .configure(live::configure)
                .configure(read_markers::configure)
                .configure(webhooks::configure),
        );
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot reach the database at {url}: {cause}")]
    Database { url: String, cause: String },
    #[error("the shipped routing rules are invalid: {0}")]
    Rules(String),
    #[error("cannot build the HTTP client of the LLM: {0}")]
    LlmClient(String),
    #[error("cannot build the HTTP client of the webhooks: {0}")]
    WebhookClient(String),
    #[error("cannot listen on {address}: {cause}")]
    Bind {
        address: String,
        cause: std::io::Error,
    },
}

/// Connects to the database and applies pending migrations; the first thing `serve` and
/// `migrate` do.
pub async fn prepare_database(
    settings: &DatabaseSettings,
) -> Result<persistence::Pool, StartError> {
    let pool = persistence::db::build_pool(&settings.url, &settings.pool);
    let database_error = |cause: String| StartError::Database {
        url: settings.url.redacted(),
        cause,
    };
    let migrate_pool = pool.clone();
    let applied = web::block(move || {
        let mut conn = migrate_pool.get().map_err(|error| error.to_string())?;
        persistence::db::run_migrations(&mut conn).map_err(|error| error.to_string())
    })
    .await
    .map_err(|error| database_error(error.to_string()))?
    .map_err(database_error)?;
    tracing::info!(applied, backend = ?settings.url.backend(), "database migrated");
    Ok(pool)
}

/// How long a graceful stop lets requests in flight finish: within `docker stop`'s and
/// Kubernetes' grace periods (10 s and 30 s), so the server ends them itself rather than being
/// killed with them.
const GRACEFUL_STOP_SECONDS: u64 = 8;

/// A bound, not yet awaited server. Binding happens here so that callers (tests) can ask for
/// port 0 and read the real port back.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    pub async fn build(settings: &Settings) -> Result<Self, StartError> {
        let pool = prepare_database(&settings.database).await?;
        if settings.demo {
            seed_demo(&pool, &settings.database).await?;
        }
        if settings.jwt_secret_source == SecretSource::GeneratedForDemo {
            eprintln!("No INBOX_JWT_SECRET set: using a random one; tokens end with this process.");
        }
        let keys = TokenKeys::new(
            settings.jwt_secret_bytes(),
            settings.access_token_ttl,
            settings.refresh_token_ttl,
        );
        let rules = RulesCache::new().map_err(|error| StartError::Rules(error.to_string()))?;
        let summarizer = Summarizer::new(settings.llm.as_ref())
            .map_err(|error| StartError::LlmClient(error.to_string()))?;
        let (sends, send_receiver) = SendQueue::new();
        let backend = settings.database.url.backend();
        let (read_audits, read_audit_receiver) = ReadAudits::new(backend);
        let state = AppState {
            pool,
            keys: Arc::new(keys),
            rules: Arc::new(rules),
            summarizer: Arc::new(summarizer),
            limits: Arc::new(RateLimits::new(
                settings.auth_rate_per_minute,
                settings.send_rate_per_minute,
            )),
            events: Arc::new(live::EventHub::default()),
            live: settings.live.clone(),
            sends,
            read_audits,
        };
        live::start(&state, &settings.database.url, &settings.live);
        send_queue::start(&state, send_receiver, backend);
        if let Some(receiver) = read_audit_receiver {
            ReadAudits::start(&state, receiver);
        }
        webhooks::start(&state, &settings.webhooks)
            .map_err(|error| StartError::WebhookClient(error.to_string()))?;
        let listener = TcpListener::bind(settings.bind).map_err(|cause| StartError::Bind {
            address: settings.bind.to_string(),
            cause,
        })?;
        let port = listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or_default();
        let document = openapi::document();
        let known_routes = web::Data::new(KnownRoutes::from_openapi(&document));
        let app_state = web::Data::new(state.clone());
        let cors_origins = settings.cors_origins.clone();
        crate::metrics::init();
        let server = HttpServer::new(move || {
            let (json, path, query) = extractor_configs();
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(openapi::document_base())
                .app_data(app_state.clone())
                .app_data(known_routes.clone())
                .app_data(json)
                .app_data(path)
                .app_data(query)
                .configure(configure_routes)
                .split_for_parts();
            app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document.clone()))
                .default_service(web::to(fallback))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_errors))
                .wrap(cors(&cors_origins))
                .wrap(security_headers())
                .wrap(from_fn(telemetry::request_log))
        })
        .listen(listener)
        .map_err(|cause| StartError::Bind {
            address: settings.bind.to_string(),
            cause,
        })?
        // Stopping is `Shutdown`'s: actix's own would wait for the event streams, which never end.
        .disable_signals()
        .shutdown_timeout(GRACEFUL_STOP_SECONDS)
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state the handlers share (tests reach the pool and keys through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the server from elsewhere: on signals (`inbox serve`) or when a test ends.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown::new(self.server.handle(), self.state.events.clone())
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Browsers may call from the configured origins only; requests without `Origin` (apps,
/// integrators) are unaffected.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT", "PATCH"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header("last-event-id")
        .expose_headers([header::RETRY_AFTER, header::LOCATION])
        .expose_headers([telemetry::REQUEST_ID_HEADER])
        .max_age(3600)
}

/// Responses carry patient data: never cached, never framed, never sniffed.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ))
}

async fn seed_demo(
    pool: &persistence::Pool,
    database: &DatabaseSettings,
) -> Result<(), StartError> {
    let pool = pool.clone();
    let outcome = web::block(move || {
        let mut conn = pool.get()?;
        demo::seed(&mut conn, |password| {
            crate::auth::passwords::hash_password(password)
                .map_err(|error| persistence::StoreError::Corrupt(error.to_string()))
        })
    })
    .await
    .map_err(|error| error.to_string())
    .and_then(|outcome| outcome.map_err(|error| error.to_string()))
    .map_err(|cause| StartError::Database {
        url: database.url.redacted(),
        cause,
    })?;
    match outcome {
        DemoOutcome::Created | DemoOutcome::AlreadyPresent => {
            let verb = if outcome == DemoOutcome::Created {
                "created"
            } else {
                "present"
            };
            println!(
                "Demo accounts ({verb}), password `{}`:",
                demo::DEMO_PASSWORD
            );
            for line in demo::account_lines() {
                println!("{line}");
            }
        }
        DemoOutcome::NotEmpty => {
            println!("--demo: the database already holds data, so no demo accounts were added.");
        }
    }
    Ok(())
}
