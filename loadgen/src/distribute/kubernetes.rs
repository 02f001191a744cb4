//! The `kubernetes` engine: the parts as an Indexed Job, their reports merged by a second Job.
//!
//! Built from `k8s-openapi`'s typed objects, never text templates, so a misspelt field does
//! not compile. What is made:
//!
//! - a ConfigMap with the scenario's spec (the same text, so the parts' digest is the one a
//!   local run of the spec has) and a Secret with the credentials file;
//! - a PersistentVolumeClaim for the reports, `ReadWriteMany`, because the parts run on
//!   different nodes and the merge reads what they all wrote;
//! - the parts: a Job with `completionMode: Indexed`, N completions all in parallel; the
//!   controller gives each pod its index as `JOB_COMPLETION_INDEX`, which Kubernetes
//!   substitutes into the arguments (`--shard $(JOB_COMPLETION_INDEX)/N`). `backoffLimit: 0`:
//!   a retried part would begin after the others' start instant, so a failed part fails the
//!   Job instead, and the merge then finds its report missing;
//! - the merge: a Job running `gauntlet report merge --wait` on the parts' reports, which
//!   waits (bounded) until every part has written a complete report and refuses the set when
//!   one never does, so the two Jobs can be applied together.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Secret, SecretVolumeSource,
    Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Distribution;
use crate::run::part::StartAt;

/// Where the containers see the scenario, the credentials and the reports.
const SCENARIO_DIR: &str = "/etc/gauntlet/scenario";
const CREDENTIALS_DIR: &str = "/etc/gauntlet/credentials";
const CREDENTIALS_FILE: &str = "credentials.json";
const REPORTS_DIR: &str = "/reports";
/// Reports of a few parts are megabytes; a long run's raw samples are more.
const REPORTS_SIZE: &str = "1Gi";

/// Where the objects go and what runs in them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The image holding the `gauntlet` binary on its `PATH`.
    pub image: String,
    /// The namespace of every object.
    pub namespace: String,
}

/// Every object of one split run, in the order they are applied.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The scenario's spec.
    pub scenario: ConfigMap,
    /// The credentials file of the target.
    pub credentials: Secret,
    /// The volume the reports go to.
    pub reports: PersistentVolumeClaim,
    /// The parts.
    pub parts: Job,
    /// The merge.
    pub merge: Job,
}

impl Manifests {
    /// One YAML stream, a document per object, as `kubectl apply -f` reads it.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        let docs = [
            serde_yaml::to_string(&self.scenario)?,
            serde_yaml::to_string(&self.credentials)?,
            serde_yaml::to_string(&self.reports)?,
            serde_yaml::to_string(&self.parts)?,
            serde_yaml::to_string(&self.merge)?,
        ];
        Ok(docs.iter().map(|d| format!("---\n{d}")).collect())
    }
}

/// The objects' common name: `gauntlet-<scenario>-<start instant>`, unique per run (Jobs
/// cannot be changed once made) and a valid DNS label with any of the suffixes added.
pub fn base_name(scenario: &str, start_at: StartAt) -> String {
    let clean: String = scenario
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .take(24)
        .collect();
    let clean = clean.trim_matches('-');
    format!("gauntlet-{clean}-{}", start_at.unix_us() / 1_000_000)
}

/// The manifests of `d`, its parts beginning load at `start_at`.
pub fn build(
    d: &Distribution,
    settings: &Settings,
    credentials_json: String,
    start_at: StartAt,
) -> Manifests {
    let base = base_name(d.spec.name(), start_at);
    let meta = |suffix: &str| ObjectMeta {
        name: Some(format!("{base}-{suffix}")),
        namespace: Some(settings.namespace.clone()),
        labels: Some(labels(&base)),
        ..ObjectMeta::default()
    };
    let spec_file = format!("{}.toml", d.spec.name());
    let scenario = ConfigMap {
        metadata: meta("scenario"),
        data: Some([(spec_file.clone(), d.spec.source().to_owned())].into()),
        ..ConfigMap::default()
    };
    let credentials = Secret {
        metadata: meta("credentials"),
        type_: Some("Opaque".to_owned()),
        string_data: Some([(CREDENTIALS_FILE.to_owned(), credentials_json)].into()),
        ..Secret::default()
    };
    let reports = PersistentVolumeClaim {
        metadata: meta("reports"),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteMany".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_owned(), Quantity(REPORTS_SIZE.to_owned()))].into()),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    };
    let args = d.part_args(
        &format!("{SCENARIO_DIR}/{spec_file}"),
        "$(JOB_COMPLETION_INDEX)",
        start_at,
        &Path::new(CREDENTIALS_DIR).join(CREDENTIALS_FILE),
        Path::new(REPORTS_DIR),
    );
    let part = Container {
        name: "part".to_owned(),
        image: Some(settings.image.clone()),
        command: Some(vec!["gauntlet".to_owned()]),
        args: Some(
            args.iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        ),
        volume_mounts: Some(vec![
            mount("scenario", SCENARIO_DIR, true),
            mount("credentials", CREDENTIALS_DIR, true),
            mount("reports", REPORTS_DIR, false),
        ]),
        ..Container::default()
    };
    let volumes = vec![
        Volume {
            name: "scenario".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: scenario.metadata.name.clone().unwrap_or_default(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "credentials".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: credentials.metadata.name.clone(),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        reports_volume(&reports),
    ];
    let deadline = d.deadline();
    let parts = Job {
        metadata: meta("parts"),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".to_owned()),
            completions: Some(count(d.workers)),
            parallelism: Some(count(d.workers)),
            backoff_limit: Some(0),
            active_deadline_seconds: Some(seconds(deadline)),
            template: pod(&base, part, volumes),
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    let mut merge_args = vec!["report".to_owned(), "merge".to_owned()];
    merge_args.extend((0..d.workers).map(|i| format!("{REPORTS_DIR}/part-{i}/report.json")));
    merge_args.extend([
        "--output".to_owned(),
        format!("{REPORTS_DIR}/report.json"),
        "--wait".to_owned(),
        format!("{}s", seconds(deadline)),
    ]);
    let merger = Container {
        name: "merge".to_owned(),
        image: Some(settings.image.clone()),
        command: Some(vec!["gauntlet".to_owned()]),
        args: Some(merge_args),
        volume_mounts: Some(vec![mount("reports", REPORTS_DIR, false)]),
        ..Container::default()
    };
    let merge = Job {
        metadata: meta("merge"),
        spec: Some(JobSpec {
            completions: Some(1),
            parallelism: Some(1),
            backoff_limit: Some(0),
            active_deadline_seconds: Some(seconds(deadline + Duration::from_secs(60))),
            template: pod(&base, merger, vec![reports_volume(&reports)]),
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    Manifests {
        scenario,
        credentials,
        reports,
        parts,
        merge,
    }
}

fn labels(base: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name".to_owned(), "gauntlet".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), base.to_owned()),
    ]
    .into()
}

fn pod(base: &str, container: Container, volumes: Vec<Volume>) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(base)),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            // A part is never restarted in place: its load would begin out of step.
            restart_policy: Some("Never".to_owned()),
            containers: vec![container],
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    }
}

fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.to_owned(),
        mount_path: path.to_owned(),
        read_only: Some(read_only),
        ..VolumeMount::default()
    }
}

fn reports_volume(claim: &PersistentVolumeClaim) -> Volume {
    Volume {
        name: "reports".to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.metadata.name.clone().unwrap_or_default(),
            read_only: Some(false),
        }),
        ..Volume::default()
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
