//! Token tampering: the tenant claim changed without re-signing, `alg: none`, a wrong key,
//! an expired claim, a role escalated in the claim, no token at all. Every one must be 401.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{Prober, Req};
use crate::hrms::Role;

const KIND: &str = "token_tampering";
const EXPECTED: &str = "401";

pub(super) async fn run(p: &Prober) {
    for (own, other) in p.pairs() {
        let (Some(token), Some(other_id)) = (p.token(own, Role::Employee), p.tenant_id(other))
        else {
            continue;
        };
        let Some(claims) = claims_of(token) else {
            continue;
        };
        let who = format!("tenant #{own} employee");
        let mut edited = claims.clone();
        edited["tid"] = json!(other_id);
        let variants = [
            (
                "tenant claim edited, not re-signed",
                resign_with_original(token, &edited),
                format!("tid → tenant #{other}, original signature"),
            ),
            (
                "alg none with another tenant's claim",
                unsigned(&edited),
                format!("alg none, tid → tenant #{other}"),
            ),
            (
                "signed with a wrong key",
                wrong_key(&edited),
                format!("HS256 with a key the service does not have, tid → tenant #{other}"),
            ),
        ];
        for (name, forged, what) in variants {
            let req = Req::get("/employees?per_page=100", who.clone())
                .note(format!("forged token: {what}"))
                .token(Some(&forged));
            p.expect_refused(KIND, name, req, EXPECTED, "a forged token was accepted")
                .await;
        }
        // Once, with the first pair's token.
        if own == 0 && other == 1 {
            own_tenant_variants(p, own, token, &claims).await;
        }
    }
}

/// Tamperings that stay in the own tenant (once, not per pair).
async fn own_tenant_variants(p: &Prober, own: usize, token: &str, claims: &Value) {
    let who = format!("tenant #{own} employee");
    let mut expired = claims.clone();
    expired["exp"] = json!(1_000_000_000);
    expired["iat"] = json!(999_996_400);
    let req = Req::get("/employees?per_page=1", who.clone())
        .note("forged token: exp in 2001, original signature")
        .token(Some(&resign_with_original(token, &expired)));
    p.expect_refused(
        KIND,
        "expired claim",
        req,
        EXPECTED,
        "an expired token was accepted",
    )
    .await;
    let mut escalated = claims.clone();
    escalated["role"] = json!("hr_admin");
    let req = Req::post("/payroll/runs", who.clone())
        .note("forged token: role → hr_admin, original signature")
        .token(Some(&resign_with_original(token, &escalated)))
        .body(json!({"period_start": "2001-01-01", "period_end": "2001-01-31"}));
    p.expect_refused(
        KIND,
        "role escalated in the claim",
        req,
        EXPECTED,
        "an employee started a payroll run with an edited role claim",
    )
    .await;
    let req = Req::get("/employees?per_page=1", "anonymous");
    p.expect_refused(
        KIND,
        "no token",
        req,
        EXPECTED,
        "the directory was served without a token",
    )
    .await;
}

/// The claims of a JWT, unverified.
pub fn claims_of(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Header and signature of `token` around an edited payload.
pub fn resign_with_original(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    let signature = parts.nth(1).unwrap_or_default();
    format!("{header}.{}.{signature}", encode(claims))
}

/// `alg: none`, no signature.
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(claims)
    )
}

/// HS256 with a key that is not the service's.
pub fn wrong_key(claims: &Value) -> String {
    signed_with(claims, b"gauntlet-probe-not-the-service-key")
}

/// HS256 with `secret` (`gauntlet verify` mints an expired token with the local service's
/// own key).
pub fn signed_with(claims: &Value, secret: &[u8]) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_tokens_keep_or_drop_the_signature_as_named() {
        let claims = json!({"tid": "a", "role": "employee", "exp": 9_999_999_999_u64});
        let token = wrong_key(&claims);
        assert_eq!(claims_of(&token), Some(claims.clone()));
        let mut edited = claims.clone();
        edited["tid"] = json!("b");
        let forged = resign_with_original(&token, &edited);
        assert_eq!(claims_of(&forged), Some(edited.clone()));
        assert_eq!(forged.rsplit('.').next(), token.rsplit('.').next());
        let none = unsigned(&edited);
        assert!(none.ends_with('.'), "alg none carries no signature");
    }
}
