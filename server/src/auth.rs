//! Users and tokens: argon2 password hashes from the config, the Flight
//! handshake (HTTP Basic -> expiring bearer token), and the check every RPC
//! goes through (a tonic interceptor, so no method can forget it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::config::Auth;

/// The user a request runs as (request extension); "anonymous" without auth.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<str>);

impl Caller {
    pub fn of<T>(request: &Request<T>) -> Arc<str> {
        request
            .extensions()
            .get::<Caller>()
            .map(|c| c.0.clone())
            .unwrap_or_else(|| Arc::from("anonymous"))
    }
}

/// An argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

struct Session {
    user: Arc<str>,
    expires: Instant,
}

pub struct Authenticator {
    /// user -> PHC hash string (validated at startup).
    users: HashMap<String, String>,
    /// Checked for unknown users, so they cost as much as known ones.
    dummy: String,
    ttl: Duration,
    tokens: Mutex<HashMap<String, Session>>,
}

impl Authenticator {
    pub fn new(auth: &Auth) -> Result<Authenticator, String> {
        let mut users = HashMap::new();
        for (i, user) in auth.users.iter().enumerate() {
            PasswordHash::new(&user.password_hash).map_err(|e| {
                format!(
                    "auth.users[{i}] ({}): password_hash is not an argon2/PHC hash ({e}); \
                     make one with `genoflight hash-password`",
                    user.name
                )
            })?;
            users.insert(user.name.clone(), user.password_hash.clone());
        }
        let dummy = if users.is_empty() {
            String::new()
        } else {
            hash_password("genoflight-dummy")?
        };
        Ok(Authenticator {
            users,
            dummy,
            ttl: Duration::from_secs(auth.token_ttl_s.max(1)),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Whether clients must authenticate (users are configured).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks `password` for `user`. Unknown users cost a hash check too, so
    /// timing does not tell which user names exist.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let (known, hash) = match self.users.get(user) {
            Some(h) => (true, h.as_str()),
            None => (false, self.dummy.as_str()),
        };
        let ok = PasswordHash::new(hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    }

    /// A new bearer token for `user`, valid for the configured TTL.
    pub fn issue(&self, user: Arc<str>) -> String {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap();
        tokens.retain(|_, s| s.expires > now);
        tokens.insert(
            token.clone(),
            Session {
                user,
                expires: now + self.ttl,
            },
        );
        token
    }

    /// The user a bearer token belongs to.
    pub fn user_of_token(&self, token: &str) -> Result<Arc<str>, Status> {
        let tokens = self.tokens.lock().unwrap();
        match tokens.get(token) {
            Some(s) if s.expires > Instant::now() => Ok(s.user.clone()),
            Some(_) => Err(Status::unauthenticated(
                "the bearer token has expired: authenticate again (Flight handshake with user and password)",
            )),
            None => Err(Status::unauthenticated(
                "invalid bearer token: authenticate again (Flight handshake with user and password)",
            )),
        }
    }

    /// The caller of a request from its `authorization` header: `Bearer
    /// <token>` (after a handshake) or `Basic <user:password>` (a handshake,
    /// or a client that sends credentials on every call).
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Arc<str>, Status> {
        if !self.enabled() {
            return Ok(Arc::from("anonymous"));
        }
        let Some(value) = metadata.get("authorization") else {
            return Err(Status::unauthenticated(
                "authentication required: connect with a user name and password",
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| Status::unauthenticated("the authorization header is not ASCII"))?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" => self.user_of_token(rest.trim()),
            "basic" => {
                let (user, password) = decode_basic(rest.trim())?;
                if self.verify(&user, &password) {
                    Ok(Arc::from(user))
                } else {
                    tracing::warn!(user = %user, "authentication failed");
                    Err(Status::unauthenticated("invalid user name or password"))
                }
            }
            other => Err(Status::unauthenticated(format!(
                "unsupported authorization scheme {other:?} (use Basic or Bearer)"
            ))),
        }
    }
}

/// Base64 with or without `=` padding: Go's Flight client (ADBC) sends none.
const BASIC: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_basic(encoded: &str) -> Result<(String, String), Status> {
    let bad = || Status::unauthenticated("malformed Basic authorization header");
    let bytes = BASIC.decode(encoded).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (user, password) = text.split_once(':').ok_or_else(bad)?;
    Ok((user.to_string(), password.to_string()))
}

/// Runs before every Flight RPC: rejects unauthenticated calls and records
/// the caller as a request extension.
#[derive(Clone)]
pub struct AuthInterceptor(pub Arc<Authenticator>);

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let user = self.0.authenticate(request.metadata())?;
        request.extensions_mut().insert(Caller(user));
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::User;
    use base64::engine::general_purpose::STANDARD;

    fn auth(ttl: u64) -> Authenticator {
        Authenticator::new(&Auth {
            token_ttl_s: ttl,
            users: vec![User {
                name: "alice".into(),
                password_hash: hash_password("s3cret!").unwrap(),
            }],
        })
        .unwrap()
    }

    fn header(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    #[test]
    fn basic_then_bearer() {
        let a = auth(60);
        let basic = format!("Basic {}", STANDARD.encode("alice:s3cret!"));
        assert_eq!(&*a.authenticate(&header(&basic)).unwrap(), "alice");
        let unpadded = format!(
            "Basic {}",
            STANDARD.encode("alice:s3cret!").trim_end_matches('=')
        );
        assert_eq!(&*a.authenticate(&header(&unpadded)).unwrap(), "alice");
        let wrong = format!("Basic {}", STANDARD.encode("alice:nope"));
        assert!(a.authenticate(&header(&wrong)).is_err());
        let ghost = format!("Basic {}", STANDARD.encode("bob:s3cret!"));
        assert!(a.authenticate(&header(&ghost)).is_err());
        assert!(a.authenticate(&MetadataMap::new()).is_err());
        let token = a.issue(Arc::from("alice"));
        let bearer = format!("Bearer {token}");
        assert_eq!(&*a.authenticate(&header(&bearer)).unwrap(), "alice");
        assert!(a.authenticate(&header("Bearer forged")).is_err());
    }

    #[test]
    fn tokens_expire() {
        let a = Authenticator {
            ttl: Duration::from_millis(1),
            ..auth(1)
        };
        let token = a.issue(Arc::from("alice"));
        std::thread::sleep(Duration::from_millis(5));
        let e = a.user_of_token(&token).unwrap_err();
        assert!(e.message().contains("expired"), "{e}");
    }

    #[test]
    fn bad_hash_is_a_startup_error_naming_the_user() {
        let e = Authenticator::new(&Auth {
            token_ttl_s: 60,
            users: vec![User {
                name: "bob".into(),
                password_hash: "plaintext".into(),
            }],
        })
        .err()
        .unwrap();
        assert!(e.contains("bob") && e.contains("hash-password"), "{e}");
    }
}
