//! The harness image, `gauntlet-harness:<tag>`: Debian's essential set and one `gauntlet`
//! binary, for engines that run the load generator in containers (`gauntlet distribute
//! --engine swarm`; a Kubernetes cluster's nodes, pushed to its registry). Built the way the
//! local image is, offline from Debian packages; `gauntlet image build --harness` builds it.
//!
//! Why the essential variant and one package: the generator links only glibc and libgcc,
//! which the essential set holds; its HTTP client loads the system's CA certificates when it
//! is built (and refuses to start without any), hence `ca-certificates`.
//! The binary is the one running the build unless another is named, so it must have been
//! built against a glibc no newer than [`SUITE`]'s (true on the machines we build on, which
//! run that release).

use std::io::{self, Read};
use std::path::Path;

use bollard::Docker;
use sha2::{Digest, Sha256};

use super::{
    BuildOutcome, LocalImageError, Recipe, SUITE, Upload, build_image, hash_tag, image_size,
};

/// Repository part of the harness image reference.
pub const HARNESS_REPOSITORY: &str = "gauntlet-harness";
/// Where the binary sits in the image; also its entrypoint.
pub const BINARY_PATH: &str = "/usr/local/bin/gauntlet";
/// Bump whenever the variant, hooks or config below change (see [`super::RECIPE_VERSION`]).
pub const HARNESS_RECIPE_VERSION: u32 = 1;
/// mmdebstrap's smallest variant that is still a Debian system (libc, a shell).
const VARIANT: &str = "essential";
/// On top of the essential set.
const PACKAGES: &[&str] = &["ca-certificates"];

/// `gauntlet-harness:<tag>` for this binary: the tag hashes the binary's bytes with the recipe,
/// so a rebuilt binary gets a new image and an unchanged one finds its image present.
pub fn harness_image_reference(binary: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(binary)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let binary_digest = hasher.finalize();
    let version = HARNESS_RECIPE_VERSION.to_le_bytes();
    let packages = PACKAGES.join(",");
    let tag = hash_tag(&[
        &binary_digest,
        VARIANT.as_bytes(),
        packages.as_bytes(),
        SUITE.as_bytes(),
        &version,
    ]);
    Ok(format!("{HARNESS_REPOSITORY}:{tag}"))
}

/// Whether the engine holds `reference`.
pub async fn harness_image_present(
    docker: &Docker,
    reference: &str,
) -> Result<bool, LocalImageError> {
    Ok(image_size(docker, reference).await?.is_some())
}

/// Build the harness image for `binary`, `reference` being its [`harness_image_reference`]
/// (asked once by the caller: hashing a debug binary reads hundreds of MB), unless that tag is
/// already present.
pub async fn build_harness_image(
    docker: &Docker,
    binary: &Path,
    reference: &str,
    progress: impl Fn(&str) + Sync,
) -> Result<BuildOutcome, LocalImageError> {
    let recipe = Recipe {
        reference: reference.to_owned(),
        lock: "harness-image-build",
        variant: VARIANT,
        packages: PACKAGES,
        uploads: vec![(Upload::File(binary), BINARY_PATH)],
        hooks: Vec::new(),
        config: serde_json::json!({
            "Entrypoint": [BINARY_PATH],
            // A part stopped by its engine writes its (aborted) report on SIGINT, as it does
            // on Ctrl-C.
            "StopSignal": "SIGINT",
            "Env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                // Parts may run as the invoking user's uid, which has no home in the image.
                "HOME=/tmp",
                "LANG=C.UTF-8",
            ],
            "Labels": {
                "org.opencontainers.image.title": HARNESS_REPOSITORY,
                "dev.gauntlet.recipe-version": HARNESS_RECIPE_VERSION.to_string(),
            },
        }),
    };
    let outcome = build_image(docker, &recipe, &progress).await?;
    if !outcome.already_present {
        remove_older(docker, &outcome.reference, &progress).await;
    }
    Ok(outcome)
}

/// Every rebuilt binary gets a new harness image (hundreds of MB with a debug build), so a
/// fresh build removes the older `gauntlet-harness` tags. Never forced: an image a container
/// still uses stays, and a failure here costs disk space, not the build.
async fn remove_older(docker: &Docker, current: &str, progress: &impl Fn(&str)) {
    let filters = std::collections::HashMap::from([(
        "reference".to_owned(),
        vec![HARNESS_REPOSITORY.to_owned()],
    )]);
    let options = bollard::query_parameters::ListImagesOptions {
        filters: Some(filters),
        ..Default::default()
    };
    let Ok(images) = docker.list_images(Some(options)).await else {
        return;
    };
    for tag in images.iter().flat_map(|i| i.repo_tags.iter()) {
        if tag != current && tag.starts_with(&format!("{HARNESS_REPOSITORY}:")) {
            let removed = docker
                .remove_image(
                    tag,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
            if removed.is_ok() {
                progress(&format!("removed the older {tag}"));
            }
        }
    }
}
