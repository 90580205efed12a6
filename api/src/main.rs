//! The `inbox` binary: `serve`, `migrate`, `openapi`.

use std::process::ExitCode;

use api::config::{DatabaseArgs, ServeArgs};
use api::startup::{prepare_database, Application};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "inbox", version, about = "Messages inbox API server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API.
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
    /// Print the OpenAPI document (what `openapi/openapi.json` holds).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Openapi => {
            let json = api::openapi::document_json().map_err(|error| error.to_string())?;
            print!("{json}");
            Ok(())
        }
        Command::Migrate(args) => {
            let settings = args.settings().map_err(|error| error.to_string())?;
            api::telemetry::init();
            actix_web::rt::System::new().block_on(async {
                prepare_database(&settings)
                    .await
                    .map_err(|error| error.to_string())?;
                println!("migrations applied to {}", settings.url.redacted());
                Ok(())
            })
        }
        Command::Serve(args) => {
            let settings = args.settings().map_err(|error| error.to_string())?;
            api::telemetry::init();
            actix_web::rt::System::new().block_on(async {
                let mut stop_signals = api::shutdown::StopSignals::listen()
                    .map_err(|error| format!("cannot listen for stop signals: {error}"))?;
                let application =
                    api::shutdown::unless_stopped(&mut stop_signals, Application::build(&settings))
                        .await
                        .map_err(|error| error.to_string())?;
                println!(
                    "inbox listening on http://{}:{} ({:?}: {}); API docs at /docs",
                    settings.bind.ip(),
                    application.port(),
                    settings.database.url.backend(),
                    settings.database.url.redacted()
                );
                actix_web::rt::spawn(api::shutdown::on(stop_signals, application.shutdown()));
                application
                    .run_until_stopped()
                    .await
                    .map_err(|error| error.to_string())
            })
        }
    }
}
