//! Stopping the server: requests in flight finish, open event streams end.
//!
//! actix's own graceful stop waits (up to 30 s) for every response to finish, and an event stream
//! never does; a container runtime kills the process long before (`docker stop` after 10 s),
//! cutting off the requests it meant to let finish. So the server handles the signals itself:
//! it stops accepting, ends the streams (their clients reconnect elsewhere with `Last-Event-ID`
//! and lose nothing), and lets the other requests finish.

use std::future::Future;
use std::sync::Arc;

use actix_web::dev::ServerHandle;

use crate::live::EventHub;

/// Stops one running server.
#[derive(Clone)]
pub struct Shutdown {
    server: ServerHandle,
    events: Arc<EventHub>,
}

impl Shutdown {
    pub(crate) fn new(server: ServerHandle, events: Arc<EventHub>) -> Self {
        Self { server, events }
    }

    /// Stops accepting, ends the event streams and lets the other requests in flight finish. It
    /// starts at the call; the future completes when the server has stopped.
    pub fn gracefully(&self) -> impl Future<Output = ()> {
        let stopped = self.server.stop(true);
        self.events.close();
        stopped
    }

    /// Drops every connection, finished or not. It starts at the call, like `gracefully`.
    pub fn at_once(&self) -> impl Future<Output = ()> {
        self.server.stop(false)
    }
}

/// Stops the server gracefully on SIGTERM (container runtimes, systemd) or Ctrl-C. A second one
/// ends the process at once: actix handles one stop command, so a forced stop queued behind the
/// graceful one would wait for it.
pub async fn on(mut signals: StopSignals, shutdown: Shutdown) {
    signals.next().await;
    tracing::info!("stopping: ending event streams, finishing requests in flight");
    tokio::select! {
        () = shutdown.gracefully() => {}
        () = signals.next() => {
            tracing::warn!("stopping at once: a second stop signal came");
            std::process::exit(1);
        }
    }
}

/// Runs the server's start unless a stop signal comes first, which ends the process: the start
/// can be a long migration or a wait for the database, and these signals no longer end the
/// process by default once listened for.
pub async fn unless_stopped<T>(signals: &mut StopSignals, start: impl Future<Output = T>) -> T {
    tokio::select! {
        started = start => started,
        () = signals.next() => {
            tracing::warn!("stopped while starting");
            std::process::exit(1);
        }
    }
}

/// The stop signals: SIGTERM and SIGINT (Ctrl-C). `inbox serve` listens before the server
/// starts, so that a server these could not stop does not start at all: actix's own handling is
/// off.
#[cfg(unix)]
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    pub fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// Where there is no SIGTERM, Ctrl-C.
#[cfg(not(unix))]
pub struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
