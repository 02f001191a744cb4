//! `--engine kubernetes`: `--emit FILE` writes the manifests, `--apply` hands them to
//! `kubectl` and waits for the merge Job, whose log line carries the merged verdict.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet_reports::Verdict;

use super::Distribution;
use super::kubernetes::{self, Manifests, Settings};
use crate::exit::{Exit, Failure};
use crate::run::part::StartAt;

/// How often `--apply` asks the cluster about the merge Job.
const POLL: Duration = Duration::from_secs(2);

/// What `--engine kubernetes` was asked to do.
#[derive(Debug)]
pub enum Action<'a> {
    /// Write the manifests here.
    Emit(&'a Path),
    /// Apply them and wait for the verdict.
    Apply,
}

/// Builds the manifests for a start `d.start_in` from now, then emits or applies them.
pub async fn run(
    d: &Distribution,
    settings: &Settings,
    action: Action<'_>,
) -> Result<Exit, Failure> {
    let credentials = std::fs::read_to_string(&d.credentials)
        .with_context(|| format!("reading credentials file {}", d.credentials.display()))
        .map_err(Failure::bad_input)?;
    let start_at = StartAt::after(d.start_in);
    let manifests = kubernetes::build(d, settings, credentials, start_at);
    let yaml = manifests
        .to_yaml()
        .context("writing the manifests as YAML")
        .map_err(Failure::infrastructure)?;
    match action {
        Action::Emit(file) => {
            std::fs::write(file, yaml)
                .with_context(|| format!("writing {}", file.display()))
                .map_err(Failure::bad_input)?;
            eprintln!(
                "wrote {} (ConfigMap, Secret, PersistentVolumeClaim, Job {}, Job {}); the parts \
                 begin load at {start_at}: apply before then (`kubectl apply -f {}`), or emit \
                 again with a longer --start-in",
                file.display(),
                name(&manifests.parts),
                name(&manifests.merge),
                file.display()
            );
            Ok(Exit::Success)
        }
        Action::Apply => apply(d, settings, &manifests, &yaml).await,
    }
}

fn name(job: &k8s_openapi::api::batch::v1::Job) -> String {
    job.metadata.name.clone().unwrap_or_default()
}

async fn apply(
    d: &Distribution,
    settings: &Settings,
    manifests: &Manifests,
    yaml: &str,
) -> Result<Exit, Failure> {
    std::fs::create_dir_all(&d.out_dir)
        .with_context(|| format!("creating {}", d.out_dir.display()))
        .map_err(Failure::bad_input)?;
    let file = d.out_dir.join("manifests.yaml");
    std::fs::write(&file, yaml)
        .with_context(|| format!("writing {}", file.display()))
        .map_err(Failure::bad_input)?;
    kubectl(&["apply", "-f", &file.display().to_string()])?;
    let merge = name(&manifests.merge);
    let ns = settings.namespace.as_str();
    let deadline = Instant::now() + d.deadline() + Duration::from_secs(120);
    let done = loop {
        let status = kubectl(&[
            "get",
            "job",
            &merge,
            "-n",
            ns,
            "-o",
            "jsonpath={.status.succeeded}/{.status.failed}",
        ])?;
        let (succeeded, failed) = status.trim().split_once('/').unwrap_or(("", ""));
        if succeeded == "1" || failed == "1" {
            break succeeded == "1";
        }
        if Instant::now() >= deadline {
            return Err(Failure::infrastructure(anyhow::anyhow!(
                "job {merge} had not finished after {:?}; see `kubectl describe job {merge} -n {ns}`",
                d.deadline()
            )));
        }
        tokio::time::sleep(POLL).await;
    };
    let log = kubectl(&["logs", &format!("job/{merge}"), "-n", ns])?;
    eprint!("{log}");
    if !done {
        return Err(Failure::infrastructure(anyhow::anyhow!(
            "the merge job {merge} failed: a part failed or never reported (its log is above)"
        )));
    }
    let verdict = verdict_in(&log).ok_or_else(|| {
        Failure::infrastructure(anyhow::anyhow!(
            "the merge job {merge} finished without a verdict line"
        ))
    })?;
    println!(
        "Gauntlet {} (merged by job {merge})",
        verdict.as_str().to_uppercase()
    );
    Ok(match verdict {
        Verdict::Pass => Exit::Success,
        Verdict::Fail => Exit::VerdictFail,
        Verdict::Invalid => Exit::Invalid,
        Verdict::Aborted => Exit::Interrupted,
    })
}

/// The verdict of `gauntlet report merge`'s last line (`merged N reports into F: verdict X`).
pub fn verdict_in(log: &str) -> Option<Verdict> {
    let word = log
        .lines()
        .rev()
        .find_map(|l| l.rsplit_once(": verdict "))?
        .1;
    serde_json::from_value(serde_json::Value::String(word.trim().to_owned())).ok()
}

/// Runs `kubectl ARGS`; its stdout. Missing `kubectl` or a refusal is infrastructure.
fn kubectl(args: &[&str]) -> Result<String, Failure> {
    let output = Command::new("kubectl")
        .args(args)
        .output()
        .context("running kubectl (is it installed and on PATH?)")
        .map_err(Failure::infrastructure)?;
    if !output.status.success() {
        return Err(Failure::infrastructure(anyhow::anyhow!(
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_read_from_the_merge_line() {
        let log = "note\nmerged 3 reports into /reports/report.json: verdict fail\n";
        assert_eq!(verdict_in(log), Some(Verdict::Fail));
        assert_eq!(verdict_in("merged 3 reports"), None);
    }
}
