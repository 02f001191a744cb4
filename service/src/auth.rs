//! Authentication: argon2id password hashes, JWT access tokens, and the extractors that
//! turn a bearer token into an [`AuthUser`] (tenant users) or an [`Operator`] (platform).
//!
//! The tenant of a request comes from the token only: no route takes a tenant id from the
//! path, query or body, so a client cannot even ask for another tenant's scope.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{Argon2Settings, Secret};
use crate::error::ApiError;
use crate::ids::{EmployeeId, TenantId};
use crate::ratelimit::Tier;
use crate::state::AppState;

/// What a tenant user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees the directory, clocks in and out, requests leave, sees own payslips.
    Employee,
    /// An employee who also decides leave for the departments they manage.
    Manager,
    /// Manages people, departments and payroll of the tenant.
    HrAdmin,
}

impl Role {
    /// The database text of this role.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "employee",
            Self::Manager => "manager",
            Self::HrAdmin => "hr_admin",
        }
    }

    /// Parses the database text; unknown text is a corrupt row, reported as an error.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        match text {
            "employee" => Ok(Self::Employee),
            "manager" => Ok(Self::Manager),
            "hr_admin" => Ok(Self::HrAdmin),
            other => Err(ApiError::Internal(format!(
                "unknown role in database: {other}"
            ))),
        }
    }
}

/// Parses a tier stored as TEXT (the limiter's `Tier` is serde-lowercase).
pub fn parse_tier(text: &str) -> Result<Tier, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::Internal(format!("unknown tier in database: {text}")))
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    /// Tenant id: the only source of the tenant for every request.
    pub tid: TenantId,
    /// Role within the tenant.
    pub role: Role,
    /// Rate-limit tier at login time (saves a lookup per request; changes apply at next login).
    pub tier: Tier,
    /// The employee record of this user, if any.
    pub emp: Option<EmployeeId>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
}

/// Signing and verification keys for access tokens (HS256).
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    /// Keys from a shared secret; an empty secret gets a random per-process one.
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        let bytes: Vec<u8> = if secret.expose().is_empty() {
            rand::random::<[u8; 32]>().to_vec()
        } else {
            secret.expose().as_bytes().to_vec()
        };
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&bytes),
            decoding: DecodingKey::from_secret(&bytes),
            validation,
            ttl,
        }
    }

    /// Lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for these claims (iat/exp are filled in here).
    pub fn issue(&self, mut claims: Claims) -> Result<String, ApiError> {
        let now = jsonwebtoken::get_current_timestamp();
        claims.iat = now;
        claims.exp = now + self.ttl.as_secs();
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing token: {e}")))
    }

    /// SEEDED DEFECT `unverified_token_claims`: reads the claims and checks expiry but skips
    /// the signature ("the gateway already verified it"), so edited claims are believed.
    pub fn decode_unverified(&self, token: &str) -> Result<Claims, ApiError> {
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| ApiError::Unauthorized)?;
        let now = jsonwebtoken::get_current_timestamp();
        if claims.exp + self.validation.leeway < now {
            return Err(ApiError::Unauthorized);
        }
        Ok(claims)
    }

    /// Verifies signature and expiry; any failure is a plain 401.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::Unauthorized)
    }
}

/// Argon2id hashing with configurable cost.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
}

/// Why a password hash could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The configured parameters are outside argon2's ranges.
    #[error("invalid argon2 parameters: {0}")]
    Params(argon2::Error),
    /// Hashing failed.
    #[error("hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
}

impl Passwords {
    /// Validates the parameters once, at start.
    pub fn new(settings: Argon2Settings) -> Result<Self, PasswordError> {
        let params = Params::new(settings.m_cost, settings.t_cost, settings.p_cost, None)
            .map_err(PasswordError::Params)?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password into a PHC string (CPU-heavy: call off the async threads).
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let salt =
            SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(PasswordError::Hash)?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(PasswordError::Hash)
    }

    /// Checks a password against a PHC string. The parameters stored in the hash win, so
    /// users hashed with other costs (seeded, older) still verify.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|parsed| {
                self.argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

/// The authenticated tenant user of a request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Claims);

impl AuthUser {
    /// The caller's tenant.
    pub fn tenant(&self) -> TenantId {
        self.0.tid
    }
    /// The caller's role.
    pub fn role(&self) -> Role {
        self.0.role
    }
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
    /// The caller's own employee record; users without one cannot use self-service routes.
    pub fn employee(&self) -> Result<EmployeeId, ApiError> {
        self.0.emp.ok_or_else(|| {
            ApiError::unprocessable("no_employee", "this user has no employee record")
        })
    }
}

/// Reads `Authorization: Bearer <token>`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The rate-limit middleware already verified the token; don't verify twice.
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Self(claims.clone()));
        }
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        state.tokens.verify(token).map(Self)
    }
}

/// The platform operator (for `/admin/*`), proven by the configured bearer token.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let expected = state
            .operator_token
            .as_ref()
            .ok_or(ApiError::Unauthorized)?;
        let given = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        if constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Compares without an early exit, so response time does not reveal the matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: Uuid::new_v4(),
            tid: TenantId::random(),
            role: Role::Manager,
            tier: Tier::Starter,
            emp: None,
            iat: 0,
            exp: 0,
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new(&Secret::new("k1"), Duration::from_secs(60));
        let token = keys.issue(claims()).unwrap();
        assert_eq!(keys.verify(&token).unwrap().role, Role::Manager);
        let other = TokenKeys::new(&Secret::new("k2"), Duration::from_secs(60));
        assert!(other.verify(&token).is_err(), "another key must not verify");
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn passwords_verify_only_the_right_one() {
        let p = Passwords::new(Argon2Settings::CHEAP).unwrap();
        let phc = p.hash("s3cret").unwrap();
        assert!(p.verify("s3cret", &phc));
        assert!(!p.verify("s3creT", &phc));
        assert!(!p.verify("s3cret", "garbage"));
    }

    #[test]
    fn bad_argon2_params_are_refused() {
        let bad = Argon2Settings {
            m_cost: 1,
            t_cost: 0,
            p_cost: 0,
        };
        assert!(Passwords::new(bad).is_err());
    }

    #[test]
    fn constant_time_eq_matches_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
