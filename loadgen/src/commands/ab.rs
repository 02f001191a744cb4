//! `gauntlet ab`: flags to an [`AbConfig`], the run, and its comparison printed and written.

use anyhow::Context;

use crate::cli::AbArgs;
use crate::exit::{Exit, Failure};
use crate::run::ab::{self, AbConfig, Side};

pub async fn run(args: AbArgs) -> Result<Exit, Failure> {
    let allowances = match &args.max_regression {
        Some(_) => super::report::allowances(args.max_regression.as_deref())?,
        None => gauntlet_reports::compare::paired::default_allowances(),
    };
    let new_credentials = args
        .new_credentials
        .clone()
        .unwrap_or_else(|| args.base_credentials.clone());
    let config = AbConfig {
        scenario: args.scenario,
        profile: args.profile,
        base: Side {
            url: args.base,
            credentials: args.base_credentials,
        },
        new: Side {
            url: args.new,
            credentials: new_credentials,
        },
        pairs: args.pairs,
        slice: std::time::Duration::from_secs(args.slice),
        warmup: std::time::Duration::from_secs(args.warmup),
        allowances: allowances.clone(),
        quiet: args.quiet,
    };
    let outcome = ab::execute(&config).await?;
    let c = &outcome.comparison;
    print!("{}", c.to_text());
    if let Some(path) = &args.markdown {
        super::report::emit(&c.to_markdown(), Some(path))?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "base": config.base.url.as_str(),
            "new": config.new.url.as_str(),
            "pairs": config.pairs,
            "slice_s": args.slice,
            "warmup_s": args.warmup,
            "slice_requests": outcome.slice_counts,
            "comparison": c.to_section("ab", &allowances),
            "environment": outcome.environment.summary,
            "outcome": match c.outcome() {
                gauntlet_reports::compare::CompareOutcome::Pass => "pass",
                gauntlet_reports::compare::CompareOutcome::Regressed => "regressed",
                gauntlet_reports::compare::CompareOutcome::NotComparable => "not_comparable",
            },
        });
        let text = serde_json::to_string_pretty(&json)
            .context("serialising the comparison")
            .map_err(Failure::infrastructure)?;
        super::report::emit(&(text + "\n"), Some(path))?;
    }
    Ok(super::report::outcome_exit(c.outcome()))
}
