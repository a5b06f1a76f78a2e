//! Signed session tokens: JWT with HS256, carrying user, organisation, role, expiry and the
//! id of the session row (`jti`) that every request checks in the database.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use super::Principal;
use crate::domain::Role;

/// The claims inside a Veritrial token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// User id.
    sub: String,
    /// Organisation id.
    org: String,
    /// Role name.
    role: Role,
    /// Issued at (seconds since the Unix epoch).
    iat: u64,
    /// Expiry (seconds since the Unix epoch).
    exp: u64,
    /// The session's id: its row in `sessions` says whether it was revoked.
    jti: String,
}

/// A freshly signed token and its validity.
#[derive(Debug)]
pub struct IssuedToken {
    /// The signed token.
    pub token: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What a token that verifies says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Who it was issued to, with the role and organisation they had then.
    pub principal: Principal,
    /// The session it belongs to.
    pub session_id: String,
}

/// Issues and checks tokens with one HMAC secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes; tokens live for `lifetime`.
    pub fn new(secret: &[u8], lifetime: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= 32,
            "the JWT secret must be at least 32 bytes long"
        );
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            lifetime,
        })
    }

    /// How long issued tokens stay valid.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A signed token for `principal` in session `session_id`, valid from now for the
    /// configured lifetime.
    pub fn issue(&self, principal: &Principal, session_id: &str) -> anyhow::Result<IssuedToken> {
        let now = now_secs();
        let exp = now + self.lifetime.as_secs();
        let claims = Claims {
            sub: principal.user_id.clone(),
            org: principal.org_id.clone(),
            role: principal.role,
            iat: now,
            exp,
            jti: session_id.to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken {
            token,
            issued_at: at_secs(now)?,
            expires_at: at_secs(exp)?,
        })
    }

    /// What a valid token says. Tokens with another algorithm (including `none`), another
    /// key, a bad signature, no session id or a past expiry are refused with a reason.
    /// Whether the session still stands is for the database to say.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(VerifiedToken {
                principal: Principal {
                    user_id: data.claims.sub,
                    org_id: data.claims.org,
                    role: data.claims.role,
                },
                session_id: data.claims.jti,
            }),
            Err(err) => Err(match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    "the token has expired: sign in again".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "the token's signature is not valid".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    "the token is not signed with HS256".to_string()
                }
                _ => "the token is malformed".to_string(),
            }),
        }
    }
}

fn at_secs(secs: u64) -> anyhow::Result<DateTime<Utc>> {
    i64::try_from(secs)
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| anyhow::anyhow!("a token time is out of range"))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(secret: &[u8; 32]) -> TokenKeys {
        TokenKeys::new(secret, Duration::from_secs(3600)).unwrap()
    }

    fn alice() -> Principal {
        Principal {
            user_id: "u1".into(),
            org_id: "o1".into(),
            role: Role::Site,
        }
    }

    fn unsigned_token(claims: &serde_json::Value, alg: &str) -> String {
        let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn issued_tokens_verify() {
        let k = keys(&[7; 32]);
        let issued = k.issue(&alice(), "s1").unwrap();
        let verified = k.verify(&issued.token).unwrap();
        assert_eq!(verified.principal, alice());
        assert_eq!(verified.session_id, "s1");
        assert_eq!((issued.expires_at - issued.issued_at).num_seconds(), 3600);
    }

    #[test]
    fn another_key_is_refused() {
        let token = keys(&[7; 32]).issue(&alice(), "s1").unwrap().token;
        let err = keys(&[8; 32]).verify(&token).unwrap_err();
        assert!(err.contains("signature"), "{err}");
    }

    #[test]
    fn alg_none_is_refused() {
        let claims = serde_json::json!({"sub": "u1", "org": "o1", "role": "admin", "iat": 0, "exp": now_secs() + 600});
        let err = keys(&[7; 32])
            .verify(&unsigned_token(&claims, "none"))
            .unwrap_err();
        assert!(!err.is_empty());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let k = keys(&[7; 32]);
        let past = now_secs() - 10;
        let claims = Claims {
            sub: "u1".into(),
            org: "o1".into(),
            role: Role::Admin,
            iat: past - 100,
            exp: past,
            jti: "s1".into(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).unwrap();
        assert!(k.verify(&token).unwrap_err().contains("expired"));
    }

    #[test]
    fn tokens_without_a_session_id_are_refused() {
        let k = keys(&[7; 32]);
        let claims = serde_json::json!({"sub": "u1", "org": "o1", "role": "admin", "iat": 0, "exp": now_secs() + 600});
        let token = encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).unwrap();
        assert!(k.verify(&token).unwrap_err().contains("malformed"));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenKeys::new(b"short", Duration::from_secs(1)).is_err());
    }
}
