//! `gauntlet distribute`: the parts started by an engine, their reports merged, the merged
//! verdict printed and turned into the exit code, as `gauntlet run` does.

use anyhow::Context;
use gauntlet_reports::{Report, Verdict};

use crate::cli::{DistributeArgs, Engine};
use crate::distribute::{Distribution, kubectl, kubernetes, local, swarm};
use crate::exit::{Exit, Failure};
use crate::run::output;

pub async fn run(args: DistributeArgs) -> Result<Exit, Failure> {
    let d = Distribution::prepare(&args)?;
    match args.engine {
        Engine::Local => {
            if args.emit.is_some() || args.apply {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "--emit and --apply are for --engine kubernetes; the local engine runs the \
                     parts itself"
                )));
            }
            let ended = local::run_parts(&d).await?;
            judge_parts(&d, &ended)
        }
        Engine::Swarm => {
            if args.emit.is_some() || args.apply {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "--emit and --apply are for --engine kubernetes; the swarm engine runs the \
                     parts itself"
                )));
            }
            let ended = swarm::run_parts(&d, args.image.as_deref()).await?;
            judge_parts(&d, &ended)
        }
        Engine::Kubernetes => {
            let action = match (&args.emit, args.apply) {
                (Some(file), _) => kubectl::Action::Emit(file),
                (None, true) => kubectl::Action::Apply,
                (None, false) => {
                    return Err(Failure::bad_input(anyhow::anyhow!(
                        "--engine kubernetes needs --emit FILE (write the manifests) or --apply \
                         (apply them with kubectl and wait)"
                    )));
                }
            };
            let settings = kubernetes::Settings {
                image: args
                    .image
                    .clone()
                    .unwrap_or_else(|| "gauntlet:latest".to_owned()),
                namespace: args.namespace.clone(),
            };
            kubectl::run(&d, &settings, action).await
        }
    }
}

/// The parts' reports merged and judged, or the run refused when a part failed.
fn judge_parts(d: &Distribution, ended: &[local::Ended]) -> Result<Exit, Failure> {
    let failed = local::failed(ended);
    if !failed.is_empty() {
        let lines: Vec<String> = failed
            .iter()
            .map(|e| {
                let how = match (e.code(), e.report()) {
                    (Some(code), None) => format!("exit {code}, no report"),
                    (Some(code), Some(_)) => format!("exit {code}"),
                    (None, _) => "killed, or stopped at the deadline".to_owned(),
                };
                format!("part {}/{} ({how}): {}", e.index, d.workers, e.last_words())
            })
            .collect();
        return Err(Failure {
            exit: local::failed_exit(&failed),
            error: anyhow::anyhow!(
                "{} of {} parts failed, so the run has no verdict (logs in {}/part-I/{}):\n  {}",
                failed.len(),
                d.workers,
                d.out_dir.display(),
                local::LOG,
                lines.join("\n  ")
            ),
        });
    }
    let paths: Vec<_> = ended.iter().filter_map(local::Ended::report).collect();
    let (parts, merged) = super::report::merge(&paths)?;
    finish(d, &parts, &merged)
}

/// Writes the merged report next to the parts, prints each part's line and the summary,
/// and maps the merged verdict to the exit code.
fn finish(d: &Distribution, parts: &[Report], merged: &Report) -> Result<Exit, Failure> {
    let files = output::write_reports(&d.out_dir, merged)
        .context("writing the merged report")
        .map_err(Failure::infrastructure)?;
    if !d.quiet {
        for part in parts {
            let Some(s) = &part.run.shard else { continue };
            let skew = s.start_skew_us.map_or("no start time".to_owned(), |us| {
                format!("started {:+.1} ms off", us as f64 / 1e3)
            });
            println!(
                "part {}/{}: {} on its share, {} requests, {skew}",
                s.index,
                s.count,
                part.verdict.as_str(),
                part.total.count
            );
        }
    }
    print!("{}", output::console(merged, &files, d.quiet));
    Ok(match merged.verdict {
        Verdict::Pass => Exit::Success,
        Verdict::Fail => Exit::VerdictFail,
        Verdict::Invalid => Exit::Invalid,
        Verdict::Aborted => Exit::Interrupted,
    })
}
