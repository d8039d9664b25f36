//! Binding, serving and shutting down the Flight SQL endpoint.

use std::net::SocketAddr;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::config::Config;
use crate::engine::Engine;
use crate::service::GenoflightService;

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Builds the catalog, binds, and serves until a shutdown signal.
pub async fn run(config: Config) -> Result<(), String> {
    let engine = Engine::new(&config)
        .await
        .map_err(|e| e.strip_backtrace())?;
    let addr = format!("{}:{}", config.server.host, config.server.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let tables = engine.report().tables.len();
    let service = FlightServiceServer::new(GenoflightService::new(Arc::new(engine)))
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    eprintln!("genoflight: serving {tables} tables");
    eprintln!("genoflight: Flight SQL listening on grpc://{local}");
    // Without TCP_NODELAY, small responses wait out delayed ACKs (~40 ms a call).
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok::<_, std::io::Error>(conn)
    });
    Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}
