//! What a part inside a swarm task and the engine outside it agree on: the environment that
//! names the part, and the files it leaves in its directory (see `gauntlet __swarm-part`).

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use crate::distribute::Distribution;

/// The task's slot, `{{.Task.Slot}}`.
pub const SLOT_ENV: &str = "GAUNTLET_SWARM_SLOT";
/// How many parts.
pub const COUNT_ENV: &str = "GAUNTLET_PARTS";
/// The run's directory; the part writes to `part-I/` under it.
pub const DIR_ENV: &str = "GAUNTLET_PARTS_DIR";
/// Non-empty: the part writes its raw samples.
pub const RAW_ENV: &str = "GAUNTLET_RAW_SAMPLES";
/// Written before the part runs: a replaced task finds it and does not run the part again.
pub const ATTEMPT_FILE: &str = "attempt";
/// `run`'s exit code, written when it returns.
pub const EXIT_CODE_FILE: &str = "exit-code";

/// The part index of a task slot as `{{.Task.Slot}}` renders it. A replicated job numbers
/// its tasks' slots 0..N-1, but the template renders slot 0 as the node's id (swarmkit
/// treats a zero slot as a global service's task; seen on Docker 20.10), so anything that
/// is not a number is slot 0.
pub fn index_of_slot(rendered: &str) -> u32 {
    rendered.trim().parse().unwrap_or(0)
}

/// How part I's `run` ended, from the code it recorded; `None` when it recorded none (killed,
/// never started, or replaced and not run again).
pub fn recorded_exit(out: &Path, index: u32) -> Option<ExitStatus> {
    let text =
        std::fs::read_to_string(Distribution::part_dir(out, index).join(EXIT_CODE_FILE)).ok()?;
    let code: i32 = text.trim().parse().ok()?;
    Some(ExitStatus::from_raw((code & 0xff) << 8))
}

/// Clears what an earlier run with the same directory left, so a new task does not take
/// itself for a replaced one.
pub fn clear(out: &Path, index: u32) -> std::io::Result<()> {
    for file in [ATTEMPT_FILE, EXIT_CODE_FILE] {
        match std::fs::remove_file(Distribution::part_dir(out, index).join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_zero_renders_as_the_node_id_and_reads_as_zero() {
        assert_eq!(index_of_slot("ubizfm0lkwttbplybf6phju9o"), 0);
        assert_eq!(index_of_slot("0"), 0);
        assert_eq!(index_of_slot("2"), 2);
        assert_eq!(index_of_slot(" 7\n"), 7);
    }

    #[test]
    fn a_recorded_code_is_the_parts_exit_and_none_is_none() {
        let out = tempfile::tempdir().unwrap();
        assert!(recorded_exit(out.path(), 1).is_none());
        std::fs::create_dir_all(Distribution::part_dir(out.path(), 1)).unwrap();
        std::fs::write(
            Distribution::part_dir(out.path(), 1).join(EXIT_CODE_FILE),
            "4\n",
        )
        .unwrap();
        assert_eq!(recorded_exit(out.path(), 1).and_then(|s| s.code()), Some(4));
        clear(out.path(), 1).unwrap();
        assert!(recorded_exit(out.path(), 1).is_none());
    }
}
