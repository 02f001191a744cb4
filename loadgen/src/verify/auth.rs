//! Every tenant operation of the served OpenAPI document (those secured by the tenant bearer
//! scheme) refuses a request without a token, with an expired one and with forged ones: 401
//! in the JSON error shape. The token check comes before anything else the operation does,
//! so a path id that names nothing is as good as a real one; a forged token that is believed
//! answers something other than 401, whatever it reaches.

use gauntlet_scenarios::hrms::Role;
use gauntlet_scenarios::probes::tokens;
use serde_json::{Value, json};

use super::Context;
use super::support::{Finding, Operation, TENANT_SCHEME, operations, send};

/// How long an expired token has been expired: well past any clock leeway (the reference
/// service allows 5 s).
const EXPIRED_FOR_SECS: u64 = 3_600;

pub async fn missing(ctx: &Context<'_>) -> Finding {
    let ops = match tenant_operations(ctx).await {
        Ok(ops) => ops,
        Err(e) => return Finding::error(&e),
    };
    refused_everywhere(ctx, &ops, &[("no token", None)]).await
}

pub async fn expired(ctx: &Context<'_>) -> Finding {
    let Some(secret) = ctx.local.as_ref().and_then(|l| l.service.jwt_secret()) else {
        return Finding::skip(
            "needs the service's signing key: local stack with the service as a child process only (forged tokens are checked either way)",
        );
    };
    let (ops, claims) = match setup(ctx).await {
        Ok(found) => found,
        Err(e) => return Finding::error(&e),
    };
    let mut claims = claims;
    let now = now_secs();
    claims["iat"] = json!(now - 2 * EXPIRED_FOR_SECS);
    claims["exp"] = json!(now - EXPIRED_FOR_SECS);
    let token = tokens::signed_with(&claims, secret.as_bytes());
    refused_everywhere(
        ctx,
        &ops,
        &[(
            "signed with the service's key, expired 1 h ago",
            Some(token),
        )],
    )
    .await
}

pub async fn forged(ctx: &Context<'_>) -> Finding {
    let (ops, claims) = match setup(ctx).await {
        Ok(found) => found,
        Err(e) => return Finding::error(&e),
    };
    let real = match ctx.home() {
        Ok(home) => ctx.token(home, Role::Employee).await,
        Err(e) => Err(e),
    };
    let real = match real {
        Ok(t) => t,
        Err(e) => return Finding::error(&e),
    };
    // The other tenant's id in the tenant claim, and the most powerful role: what a forger
    // would write.
    let mut edited = claims.clone();
    if let Some(other) = ctx.fixture.tenants.get(1).and_then(|t| t.id.clone()) {
        edited["tid"] = json!(other);
    }
    edited["role"] = json!("hr_admin");
    let variants = [
        (
            "claims edited, original signature",
            Some(tokens::resign_with_original(&real, &edited)),
        ),
        ("alg none", Some(tokens::unsigned(&claims))),
        ("signed with a wrong key", Some(tokens::wrong_key(&claims))),
    ];
    refused_everywhere(ctx, &ops, &variants).await
}

async fn tenant_operations(ctx: &Context<'_>) -> anyhow::Result<Vec<Operation>> {
    let doc = ctx.document().await?;
    let ops = operations(&doc, TENANT_SCHEME);
    anyhow::ensure!(
        !ops.is_empty(),
        "the OpenAPI document declares no operation secured by `{TENANT_SCHEME}`"
    );
    Ok(ops)
}

/// The tenant operations and a real employee's claims (the material of every forgery).
async fn setup(ctx: &Context<'_>) -> anyhow::Result<(Vec<Operation>, Value)> {
    let ops = tenant_operations(ctx).await?;
    let token = ctx.token(ctx.home()?, Role::Employee).await?;
    let claims = tokens::claims_of(&token)
        .ok_or_else(|| anyhow::anyhow!("the login token is not a JWT with JSON claims"))?;
    Ok((ops, claims))
}

/// Sends every operation with each `(description, token)`; each must be 401 JSON.
async fn refused_everywhere(
    ctx: &Context<'_>,
    ops: &[Operation],
    variants: &[(&str, Option<String>)],
) -> Finding {
    let mut problems = Vec::new();
    let mut sent = 0;
    for op in ops {
        for (what, token) in variants {
            let mut request = ctx.request(op.method.clone(), &op.concrete_path());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if op.operation.get("requestBody").is_some() {
                request = request.json(&json!({}));
            }
            sent += 1;
            match send(request).await {
                Ok(seen) if seen.status.as_u16() == 401 && seen.is_json_error() => {}
                Ok(seen) => problems.push(format!("{} with {what} {}", op.label(), seen.brief())),
                Err(e) => problems.push(format!("{} with {what}: {e}", op.label())),
            }
        }
    }
    let kinds: Vec<&str> = variants.iter().map(|(what, _)| *what).collect();
    Finding::judge(
        format!(
            "{sent} requests over {} operations, all 401 JSON",
            ops.len()
        ),
        problems,
        vec![format!(
            "{} tenant operations × [{}]",
            ops.len(),
            kinds.join(", ")
        )],
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
