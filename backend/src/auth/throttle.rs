//! What stands between the `login` mutation and a flood: per-address and per-email rate
//! limits, and the bounded gate in front of password hashing. Lockout after repeated
//! failures is stored in the database (see `services::lockout`); its settings live here.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::gate::HashGate;
use super::limiter::{BoundedLimiter, Rate};
use crate::error::{AppError, AppResult};

/// Most keys each rate limiter remembers (about 100 bytes each).
pub const MAX_LIMITER_KEYS: usize = 100_000;
/// How often, at most, sign-in prunes expired sessions and stale failure counts.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The sign-in limits, from the command line (`--login-…` flags).
#[derive(Clone, Debug)]
pub struct SignInPolicy {
    /// Password hashes computed at once; 0 means one per core.
    pub hash_permits: usize,
    /// Sign-ins that may wait for a hash permit; beyond that `RATE_LIMITED` at once.
    pub hash_queue: usize,
    /// Sign-in attempts allowed per client address (IPv6 by /64).
    pub per_address: Rate,
    /// Sign-in attempts allowed per account email (known or not).
    pub per_email: Rate,
    /// Failed sign-ins within `lockout` that lock the email out; 0 turns lockout off.
    pub max_failures: u32,
    /// How long failures are counted for, and how long a lockout lasts.
    pub lockout: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            hash_permits: 0,
            hash_queue: 32,
            per_address: Rate::per_minute(NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN)),
            per_email: Rate::per_minute(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN)),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// The normalised email of a sign-in, as SHA-256: what limits and lockout are keyed by, and
/// what logs may show, so emails that strangers try are never stored or logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EmailKey([u8; 32]);

impl EmailKey {
    /// The key of `email`, trimmed and lower-cased first.
    pub fn of(email: &str) -> Self {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            email.trim().to_lowercase().as_bytes(),
        );
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// Lower-case hex, as stored in `sign_in_failures`.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, enough to follow one email through the logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

/// The client's address as seen on the TCP connection (proxy headers are not trusted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// What the per-address limit counts by: the address itself, or for IPv6 its /64
    /// (one subscriber usually holds a whole /64).
    fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    IpAddr::V6(segments.into())
                }
            },
        }
    }
}

/// The in-process half of sign-in protection, shared by every request.
pub struct SignInGuard {
    policy: SignInPolicy,
    gate: HashGate,
    by_address: BoundedLimiter<Option<IpAddr>>,
    by_email: BoundedLimiter<EmailKey>,
    last_prune: Mutex<Option<Instant>>,
}

impl SignInGuard {
    /// The guard for `policy`; fails only if the hashing threads cannot be started.
    pub fn new(policy: SignInPolicy) -> anyhow::Result<Self> {
        let permits = match policy.hash_permits {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Ok(Self {
            gate: HashGate::new(permits, policy.hash_queue)?,
            by_address: BoundedLimiter::new(policy.per_address, MAX_LIMITER_KEYS),
            by_email: BoundedLimiter::new(policy.per_email, MAX_LIMITER_KEYS),
            last_prune: Mutex::new(None),
            policy,
        })
    }

    /// The limits in force.
    pub fn policy(&self) -> &SignInPolicy {
        &self.policy
    }

    /// The gate every password verification goes through.
    pub fn gate(&self) -> &HashGate {
        &self.gate
    }

    /// Counts one attempt against the client's address and the email; `RATE_LIMITED` when
    /// either is over its rate. Requests without a known address share one budget.
    pub fn admit(&self, client: Option<ClientAddr>, email: &EmailKey) -> AppResult<()> {
        let address = client.map(ClientAddr::limit_key);
        if !self.by_address.check(&address) || !self.by_email.check(email) {
            tracing::info!(email = %email.short(), "sign-in refused: rate limit");
            return Err(AppError::RateLimited(
                "too many sign-in attempts; wait a minute and try again".into(),
            ));
        }
        Ok(())
    }

    /// Whether it is time to prune expired sessions and stale failure counts (at most once
    /// a minute per process); answering `true` starts the next minute.
    pub fn prune_due(&self) -> bool {
        let Ok(mut last) = self.last_prune.lock() else {
            return false;
        };
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < PRUNE_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keys_ignore_case_and_spaces() {
        assert_eq!(EmailKey::of(" Ana@Site.org "), EmailKey::of("ana@site.org"));
        assert_ne!(EmailKey::of("ana@site.org"), EmailKey::of("bob@site.org"));
        assert_eq!(EmailKey::of("a@b.c").hex().len(), 64);
        assert!(!EmailKey::of("ana@site.org").hex().contains("ana"));
    }

    #[test]
    fn ipv6_addresses_are_limited_by_their_64() {
        let a = ClientAddr("2001:db8:1:2:aaaa::1".parse().expect("address"));
        let b = ClientAddr("2001:db8:1:2:bbbb::2".parse().expect("address"));
        let c = ClientAddr("2001:db8:1:3::1".parse().expect("address"));
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        let mapped = ClientAddr("::ffff:10.0.0.1".parse().expect("address"));
        assert_eq!(
            mapped.limit_key(),
            "10.0.0.1".parse::<IpAddr>().expect("address")
        );
    }

    #[test]
    fn over_the_address_rate_sign_ins_are_refused() {
        let guard = SignInGuard::new(SignInPolicy {
            per_address: Rate::per_minute(NonZeroU32::new(2).expect("rate")),
            ..SignInPolicy::default()
        })
        .expect("guard");
        let client = Some(ClientAddr("192.0.2.7".parse().expect("address")));
        for i in 0..2 {
            assert!(
                guard
                    .admit(client, &EmailKey::of(&format!("u{i}@x.org")))
                    .is_ok()
            );
        }
        let refused = guard
            .admit(client, &EmailKey::of("u9@x.org"))
            .expect_err("over");
        assert_eq!(refused.code(), "RATE_LIMITED");
        let other = Some(ClientAddr("192.0.2.8".parse().expect("address")));
        assert!(guard.admit(other, &EmailKey::of("u9@x.org")).is_ok());
    }

    #[test]
    fn pruning_is_due_once_a_minute() {
        let guard = SignInGuard::new(SignInPolicy::default()).expect("guard");
        assert!(guard.prune_due());
        assert!(!guard.prune_due());
    }
}
