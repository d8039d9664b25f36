//! Binding, serving and shutting down the Flight SQL endpoint: TLS, the
//! auth interceptor, the loopback-only rule without users, SIGHUP catalog
//! reloads and the graceful SIGTERM shutdown.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_flight::flight_service_server::FlightServiceServer;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;

use crate::auth::AuthInterceptor;
use crate::config::Config;
use crate::service::GenoflightService;
use crate::state::{ServerState, set_current};

/// Gives a fresh configuration on reload (the Python face re-reads the
/// config file and the command line).
pub type ReloadSource = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Without users anyone who can reach the port can query, so the server
/// listens on loopback addresses only unless told otherwise.
pub fn check_exposure(config: &Config) -> Result<(), String> {
    if !config.auth.users.is_empty() || config.server.allow_remote_without_auth {
        return Ok(());
    }
    let host = &config.server.host;
    let addrs = (host.as_str(), config.server.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {host:?}: {e}"))?;
    for addr in addrs {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "refusing to listen on {host} ({}) without authentication: no users are \
                 configured ([[auth.users]]), so only loopback addresses (127.0.0.1, ::1, \
                 localhost) are allowed; add users (genoflight hash-password) or set \
                 server.allow_remote_without_auth = true (--allow-remote-without-auth)",
                addr.ip()
            ));
        }
    }
    Ok(())
}

enum Signal {
    Stop,
    Reload,
}

/// SIGINT/SIGTERM stop the server, SIGHUP reloads the catalog.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

/// Reloads the catalog in the background; failures keep the old catalog.
fn reload_in_background(state: Arc<ServerState>, source: Option<ReloadSource>) {
    tokio::spawn(async move {
        let config = match source {
            Some(source) => match tokio::task::spawn_blocking(move || source()).await {
                Ok(Ok(config)) => Some(config),
                Ok(Err(e)) => {
                    tracing::error!("catalog reload failed, keeping the current catalog: {e}");
                    return;
                }
                Err(e) => {
                    tracing::error!("catalog reload failed: {e}");
                    return;
                }
            },
            None => None,
        };
        match state.reload(config).await {
            Ok(summary) => tracing::info!(%summary, "catalog reloaded"),
            Err(e) => tracing::error!("catalog reload failed, keeping the current catalog: {e}"),
        }
    });
}

/// Builds the catalog, binds, and serves until a stop signal; then stops
/// accepting, lets running queries finish for `server.shutdown_grace_s`,
/// cancels what is left, and returns.
pub async fn run(config: Config, reload: Option<ReloadSource>) -> Result<(), String> {
    check_exposure(&config)?;
    let tls = config
        .tls
        .as_ref()
        .map(crate::tls::server_config)
        .transpose()?;
    let state = ServerState::new(config.clone()).await?;
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let flight = FlightServiceServer::new(GenoflightService::new(state.clone()))
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let service = InterceptedService::new(flight, AuthInterceptor(state.auth.clone()));
    let mut builder = Server::builder();
    let scheme = match tls {
        Some(tls) => {
            builder = builder
                .tls_config(tls)
                .map_err(|e| format!("invalid TLS configuration: {e}"))?;
            "grpc+tls"
        }
        None => "grpc",
    };
    let mut signals = Signals::new().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    set_current(Some((state.clone(), tokio::runtime::Handle::current())));
    let tables = state.engine().report().tables.len();
    let auth = if state.auth.enabled() {
        "user/password required"
    } else {
        "no authentication"
    };
    eprintln!("genoflight: serving {tables} tables ({auth})");
    eprintln!("genoflight: Flight SQL listening on {scheme}://{local}");
    // Without TCP_NODELAY, small responses wait out delayed ACKs (~40 ms a call).
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok::<_, std::io::Error>(conn)
    });
    let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = builder
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    tokio::pin!(server);
    loop {
        tokio::select! {
            result = &mut server => {
                set_current(None);
                return result.map_err(|e| format!("server error: {e}"));
            }
            signal = signals.next() => match signal {
                Signal::Reload => reload_in_background(state.clone(), reload.clone()),
                Signal::Stop => break,
            },
        }
    }

    let began = Instant::now();
    state.start_draining();
    let grace = Duration::from_secs_f64(config.server.shutdown_grace_s.max(0.0));
    eprintln!(
        "genoflight: shutting down: {} queries running, waiting up to {:.1} s for them",
        state.registry.running_count(),
        grace.as_secs_f64()
    );
    let _ = stop_accepting.send(());
    let result = match tokio::time::timeout(grace, &mut server).await {
        Ok(result) => result,
        Err(_) => {
            let n = state.registry.cancel_all();
            eprintln!("genoflight: grace period over: cancelled {n} running queries");
            // A cancelled query's error reaches a client that still reads; one
            // that stopped reading (a full flow-control window) is not waited for.
            tokio::time::timeout(Duration::from_secs(1), &mut server)
                .await
                .unwrap_or(Ok(()))
        }
    };
    set_current(None);
    eprintln!(
        "genoflight: stopped after {:.2} s",
        began.elapsed().as_secs_f64()
    );
    result.map_err(|e| format!("server error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_users_means_loopback_only() {
        let mut config = Config::default();
        assert!(check_exposure(&config).is_ok());
        config.server.host = "localhost".into();
        assert!(check_exposure(&config).is_ok());
        config.server.host = "0.0.0.0".into();
        let e = check_exposure(&config).unwrap_err();
        assert!(e.contains("allow_remote_without_auth"), "{e}");
        config.server.allow_remote_without_auth = true;
        assert!(check_exposure(&config).is_ok());
    }
}
