//! The probe catalogue (`run/probe.rs`'s engine, `scenarios/src/probes/`) as one check: no
//! leak, every probe concluded. The noisy-neighbour flood is left to `ratelimit.per_tenant`,
//! which asks the same question in a fraction of the time.

use gauntlet_scenarios::probes::Catalogue;

use super::Context;
use super::support::Finding;

/// Failing probes shown in the evidence with their first example.
const SHOWN: usize = 12;

pub async fn probe_catalogue(ctx: &Context<'_>) -> Finding {
    let families = Catalogue {
        noisy_neighbour: false,
        payroll: true,
    };
    let results =
        match crate::run::probe::run_families(&ctx.base_url, ctx.fixture.clone(), families).await {
            Ok(results) => results,
            Err(e) => return Finding::error(&e),
        };
    let attempts: u64 = results.iter().map(|p| p.attempts).sum();
    let leaks: u64 = results.iter().map(|p| p.leaks).sum();
    let failures: u64 = results.iter().map(|p| p.failures).sum();
    let failing: Vec<_> = results.iter().filter(|p| !p.pass()).collect();
    let mut evidence = vec![format!(
        "{} probes, {attempts} attempts: {leaks} leaks, {failures} inconclusive",
        results.len()
    )];
    for p in failing.iter().take(SHOWN) {
        let example = p.examples.first().map(String::as_str).unwrap_or("");
        evidence.push(format!(
            "{} / {}: {} leaks, {} failures {example}",
            p.kind, p.name, p.leaks, p.failures
        ));
    }
    if failing.is_empty() {
        Finding::pass(
            format!("{} probes held ({attempts} attempts)", results.len()),
            evidence,
        )
    } else {
        let kinds: std::collections::BTreeSet<&str> =
            failing.iter().map(|p| p.kind.as_str()).collect();
        Finding::fail(
            format!(
                "{} probes failed ({leaks} leaks, {failures} inconclusive): {}",
                failing.len(),
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ),
            evidence,
        )
    }
}
