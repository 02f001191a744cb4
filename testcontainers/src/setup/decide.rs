//! The decision, kept pure so that `gauntlet env` can print exactly what a run would do, and so
//! that the order of preference is tested without a Docker engine or root.
//!
//! Preference (the design brief's order): Docker with usable images → Docker after pulling the
//! images → Docker after building the local image (installing mmdebstrap first if needed) →
//! native binaries → native after installing the missing servers. A step that was tried and
//! failed is never proposed again, so the executor's retry loop ends.

use std::fmt;

use crate::{
    Backend, BackendChoice,
    local_image::local_image_reference,
    setup::{SystemChanges, apt, sudo_prefix},
};

/// What the machine offers, as far as provisioning cares.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Whether we may pull, build and install.
    pub changes: SystemChanges,
    /// Why Docker cannot be used at all (no daemon answers), or `None` when it answers.
    pub docker_unreachable: Option<String>,
    /// Images, when Docker answers.
    pub images: ImageFacts,
    /// Server binaries for the native backend.
    pub native: NativeFacts,
    /// Why Debian packages cannot be installed here (not root, no apt), or `None`.
    pub cannot_install: Option<String>,
    /// Steps already tried that failed (or did not help), with why.
    pub failed: Vec<(Step, String)>,
}

/// The docker backend's images.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    /// Every role has an image present (explicit, official or local).
    pub usable: bool,
    /// The references to pull to make them usable (explicit or official images that are absent).
    pub to_pull: Vec<String>,
    /// Whether building the local image would help: false when the user named other images.
    pub local_image_helps: bool,
    /// `mmdebstrap` is on PATH.
    pub mmdebstrap: bool,
}

/// The native backend's binaries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeFacts {
    /// `postgres` and `initdb` found.
    pub postgres: bool,
    /// `redis-server` found.
    pub redis: bool,
}

/// One change to the machine that makes a backend usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `docker pull` these references.
    Pull(Vec<String>),
    /// `apt-get install` these Debian packages.
    Install(Vec<&'static str>),
    /// Build the local `gauntlet-deps` image.
    BuildLocalImage,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pull(images) => write!(f, "pull {}", images.join(", ")),
            Self::Install(packages) => write!(f, "install {}", packages.join(" ")),
            Self::BuildLocalImage => write!(f, "build the local image {}", local_image_reference()),
        }
    }
}

impl Step {
    /// The shell command a user can run to take this step by hand.
    pub fn command(&self) -> String {
        match self {
            Self::Pull(images) => images
                .iter()
                .map(|i| format!("docker pull {i}"))
                .collect::<Vec<_>>()
                .join(" && "),
            Self::Install(packages) => apt::install_command(packages),
            Self::BuildLocalImage => format!("{}gauntlet image build", sudo_prefix()),
        }
    }
}

/// A step with the reason it is needed, for the announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// The change.
    pub step: Step,
    /// Why it is needed, in words.
    pub why: String,
}

/// The backend to use and what must happen first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Docker or native.
    pub backend: Backend,
    /// Changes to make first, in order; empty when the backend is usable as it is.
    pub steps: Vec<PlannedStep>,
    /// Why Docker was passed over, when `auto` chose native.
    pub passed_over: Option<String>,
}

/// Why no backend can be made usable, and the commands that would fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why Docker is not usable (`None` when it was not considered).
    pub docker: Option<String>,
    /// Why native is not usable (`None` when it was not considered).
    pub native: Option<String>,
    /// Commands, one per line, any of which fixes the machine.
    pub commands: Vec<String>,
}

type PathResult = Result<Vec<PlannedStep>, (String, Vec<String>)>;

/// Picks the backend for `choice` (external is not decided here) and the steps it needs.
pub fn decide(choice: BackendChoice, facts: &Facts) -> Result<Decision, Refusal> {
    let decision = |backend, steps, passed_over| Decision {
        backend,
        steps,
        passed_over,
    };
    match choice {
        BackendChoice::Docker => docker_path(facts)
            .map(|steps| decision(Backend::Docker, steps, None))
            .map_err(|(why, commands)| Refusal {
                docker: Some(why),
                native: None,
                commands,
            }),
        BackendChoice::Native => native_path(facts)
            .map(|steps| decision(Backend::Native, steps, None))
            .map_err(|(why, commands)| Refusal {
                docker: None,
                native: Some(why),
                commands,
            }),
        BackendChoice::Auto | BackendChoice::External => match docker_path(facts) {
            Ok(steps) => Ok(decision(Backend::Docker, steps, None)),
            Err((docker_why, docker_commands)) => match native_path(facts) {
                Ok(steps) => Ok(decision(Backend::Native, steps, Some(docker_why))),
                Err((native_why, native_commands)) => Err(Refusal {
                    docker: Some(docker_why),
                    native: Some(native_why),
                    commands: docker_commands.into_iter().chain(native_commands).collect(),
                }),
            },
        },
    }
}

impl Facts {
    fn tried(&self, step: &Step) -> Option<&str> {
        self.failed
            .iter()
            .find(|(s, _)| s == step)
            .map(|(_, why)| why.as_str())
    }

    /// Plans installing `packages`, or says why it cannot happen and what to run instead.
    fn install(&self, packages: Vec<&'static str>, why: String) -> PathResult {
        let step = Step::Install(packages);
        let command = step.command();
        let refused = match (self.changes, &self.cannot_install, self.tried(&step)) {
            (SystemChanges::Refused, ..) => format!("{why}; --no-install forbids installing it"),
            (_, Some(cannot), _) => format!("{why}, and it cannot be installed here: {cannot}"),
            (_, None, Some(failed)) => format!("{why}; installing it failed: {failed}"),
            (SystemChanges::Allowed, None, None) => {
                return Ok(vec![PlannedStep { step, why }]);
            }
        };
        Err((refused, vec![command]))
    }
}

fn docker_path(facts: &Facts) -> PathResult {
    if let Some(why) = &facts.docker_unreachable {
        return Err((why.clone(), Vec::new()));
    }
    let images = &facts.images;
    if images.usable {
        return Ok(Vec::new());
    }
    let absent = if images.to_pull.is_empty() {
        "the images are absent".to_owned()
    } else {
        format!("Docker answers but {} absent", images.to_pull.join(" and "))
    };
    let pull = Step::Pull(images.to_pull.clone());
    let build = Step::BuildLocalImage;
    if facts.changes == SystemChanges::Refused {
        let mut commands = vec![pull.command()];
        if images.local_image_helps {
            commands.push(build.command());
        }
        return Err((
            format!("{absent}; --no-install forbids pulling or building images"),
            commands,
        ));
    }
    let pull_failed = match facts.tried(&pull) {
        None if !images.to_pull.is_empty() => {
            return Ok(vec![PlannedStep {
                step: pull,
                why: absent,
            }]);
        }
        None => absent.clone(),
        Some(why) => format!("{absent} and the pull failed ({why})"),
    };
    if !images.local_image_helps {
        // The named image is not ours to build, but the local image is one way out.
        let alternative = format!(
            "{} (then run without --postgres-image/--redis-image)",
            build.command()
        );
        return Err((pull_failed, vec![pull.command(), alternative]));
    }
    if let Some(why) = facts.tried(&build) {
        return Err((
            format!("{pull_failed}; building the local image failed: {why}"),
            vec![build.command()],
        ));
    }
    // The announcement is short: the failed pull was announced when it failed.
    let build_step = PlannedStep {
        step: build.clone(),
        why: "no image could be pulled; one is built from Debian packages instead".to_owned(),
    };
    if images.mmdebstrap {
        return Ok(vec![build_step]);
    }
    match facts.install(
        vec!["mmdebstrap"],
        "building the local image needs mmdebstrap".to_owned(),
    ) {
        Ok(mut steps) => {
            steps.push(build_step);
            Ok(steps)
        }
        Err((why, mut commands)) => {
            commands.push(build.command());
            Err((format!("{pull_failed}; {why}"), vec![commands.join(" && ")]))
        }
    }
}

fn native_path(facts: &Facts) -> PathResult {
    let mut missing = Vec::new();
    if !facts.native.postgres {
        missing.push("postgresql");
    }
    if !facts.native.redis {
        missing.push("redis-server");
    }
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let why = format!(
        "the native backend needs {} (not found on PATH or in /usr/lib/postgresql/*/bin)",
        missing.join(" and ")
    );
    facts.install(missing, why)
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no way to run Postgres and Redis")?;
        if let Some(docker) = &self.docker {
            write!(f, "\n  docker: {docker}")?;
        }
        if let Some(native) = &self.native {
            write!(f, "\n  native: {native}")?;
        }
        match self.commands.as_slice() {
            [] => f.write_str("\nStart a Docker engine, or install PostgreSQL and Redis."),
            [one] => write!(f, "\nRun:\n  {one}"),
            many => {
                f.write_str("\nRun one of:")?;
                many.iter().try_for_each(|c| write!(f, "\n  {c}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh machine of the project's kind: Docker answers with no image and no registry,
    /// Postgres binaries installed, no redis-server, no mmdebstrap, root on Debian.
    fn fresh_machine() -> Facts {
        Facts {
            images: ImageFacts {
                usable: false,
                to_pull: vec!["postgres:16-alpine".into(), "redis:7-alpine".into()],
                local_image_helps: true,
                mmdebstrap: false,
            },
            native: NativeFacts {
                postgres: true,
                redis: false,
            },
            ..Facts::default()
        }
    }

    fn steps(decision: &Decision) -> Vec<Step> {
        decision.steps.iter().map(|s| s.step.clone()).collect()
    }

    #[test]
    fn usable_images_need_no_step() {
        let mut facts = fresh_machine();
        facts.images.usable = true;
        let decision = decide(BackendChoice::Auto, &facts).unwrap();
        assert_eq!(decision.backend, Backend::Docker);
        assert!(decision.steps.is_empty());
    }

    #[test]
    fn absent_images_are_pulled_first_then_built_with_mmdebstrap_installed() {
        let mut facts = fresh_machine();
        let first = decide(BackendChoice::Auto, &facts).unwrap();
        assert_eq!(first.backend, Backend::Docker);
        assert!(matches!(steps(&first).as_slice(), [Step::Pull(images)] if images.len() == 2));

        facts
            .failed
            .push((steps(&first)[0].clone(), "no such host".into()));
        let second = decide(BackendChoice::Auto, &facts).unwrap();
        assert_eq!(
            steps(&second),
            vec![Step::Install(vec!["mmdebstrap"]), Step::BuildLocalImage]
        );
        let refused = Facts {
            cannot_install: Some("not root".into()),
            ..facts
        };
        let refusal = decide(BackendChoice::Docker, &refused).unwrap_err();
        assert!(refusal.docker.unwrap().contains("no such host"));
    }

    #[test]
    fn a_failed_build_falls_back_to_native_installing_only_what_is_missing() {
        let mut facts = fresh_machine();
        facts.failed = vec![
            (
                Step::Pull(facts.images.to_pull.clone()),
                "no registry".into(),
            ),
            (Step::BuildLocalImage, "no mirror".into()),
        ];
        let decision = decide(BackendChoice::Auto, &facts).unwrap();
        assert_eq!(decision.backend, Backend::Native);
        assert_eq!(steps(&decision), vec![Step::Install(vec!["redis-server"])]);
        assert!(decision.passed_over.unwrap().contains("no mirror"));
    }

    #[test]
    fn no_docker_means_native_as_is_when_both_servers_are_present() {
        let mut facts = fresh_machine();
        facts.docker_unreachable = Some("no daemon".into());
        facts.native.redis = true;
        let decision = decide(BackendChoice::Auto, &facts).unwrap();
        assert_eq!(decision.backend, Backend::Native);
        assert!(decision.steps.is_empty());
    }

    #[test]
    fn no_install_refuses_every_change_and_prints_the_commands() {
        let mut facts = fresh_machine();
        facts.changes = SystemChanges::Refused;
        let refusal = decide(BackendChoice::Auto, &facts).unwrap_err();
        let text = refusal.to_string();
        for expected in [
            "--no-install",
            "docker pull postgres:16-alpine",
            "gauntlet image build",
            "apt-get install -y --no-install-recommends redis-server",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn without_root_the_refusal_names_why_and_the_commands() {
        let mut facts = fresh_machine();
        facts.docker_unreachable = Some("no daemon".into());
        facts.cannot_install = Some("installing needs root".into());
        let refusal = decide(BackendChoice::Auto, &facts).unwrap_err();
        assert_eq!(refusal.docker.as_deref(), Some("no daemon"));
        assert!(refusal.native.unwrap().contains("needs root"));
        assert!(refusal.commands.iter().any(|c| c.contains("redis-server")));
    }

    #[test]
    fn an_explicit_backend_is_never_swapped_for_the_other() {
        let mut facts = fresh_machine();
        facts.docker_unreachable = Some("no daemon".into());
        facts.native.redis = true;
        let refusal = decide(BackendChoice::Docker, &facts).unwrap_err();
        assert_eq!(refusal.native, None);
        let native = decide(BackendChoice::Native, &fresh_machine()).unwrap();
        assert_eq!(steps(&native), vec![Step::Install(vec!["redis-server"])]);
    }

    #[test]
    fn named_images_are_pulled_but_the_local_image_is_not_built_for_them() {
        let mut facts = fresh_machine();
        facts.images.to_pull = vec!["example/pg:1".into()];
        facts.images.local_image_helps = false;
        facts.docker_unreachable = None;
        facts
            .failed
            .push((Step::Pull(vec!["example/pg:1".into()]), "denied".into()));
        let refusal = decide(BackendChoice::Docker, &facts).unwrap_err();
        assert!(refusal.docker.unwrap().contains("denied"));
        assert_eq!(refusal.commands[0], "docker pull example/pg:1");
        assert!(refusal.commands[1].contains("gauntlet image build"));
        assert!(refusal.commands[1].contains("without --postgres-image"));
    }
}
