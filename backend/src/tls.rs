//! TLS for outgoing HTTPS (S3 attachment storage): rustls on ring, the crypto the rest of
//! Veritrial already uses.
//!
//! reqwest is built without a default crypto provider (the default, aws-lc-rs, is a long C
//! build), so a process must install one before it builds an HTTP client. Call
//! [`install_crypto_provider`] first thing; calling it again does nothing.

/// Installs ring as the process's rustls crypto provider, unless one is installed already.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
