//! TLS for the Flight endpoint from `[tls]`: the server's certificate chain
//! and key, and optionally a client CA (then clients must present a
//! certificate it signed: mutual TLS).

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::Tls;

fn read(path: &std::path::Path, key: &str) -> Result<Vec<u8>, String> {
    let data = std::fs::read(path).map_err(|e| format!("tls.{key} {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&data).contains("-----BEGIN ") {
        return Err(format!(
            "tls.{key} {}: not a PEM file (expected -----BEGIN ...-----)",
            path.display()
        ));
    }
    Ok(data)
}

pub fn server_config(tls: &Tls) -> Result<ServerTlsConfig, String> {
    let cert = read(&tls.cert, "cert")?;
    let key = read(&tls.key, "key")?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(ca) = &tls.client_ca {
        config = config.client_ca_root(Certificate::from_pem(read(ca, "client_ca")?));
    }
    Ok(config)
}
