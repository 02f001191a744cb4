//! Do the reports given to a merge make one split run? (`gauntlet run --shard I/N`.)
//!
//! Parts belong together when they carry the same scenario digest, seed and part count, and
//! every index `0..N` is there exactly once. A set that is not whole is refused rather than
//! merged: a merge of two parts out of three would judge two thirds of the load as if it
//! were all of it, and a part that never reported would pass on the rest.

use crate::model::{Report, ShardInfo};

/// Why the inputs are not the parts of one run. Inputs are named by their position in the
/// merge's list, 1-based, as a user counts the files given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartsError {
    /// Some inputs are parts of a split run and some are not.
    #[error("input {part} is part {index}/{count} of a split run but input {whole} is not a part")]
    Mixed {
        /// An input that is a part.
        part: usize,
        /// Its index.
        index: u32,
        /// Its count.
        count: u32,
        /// An input that is not.
        whole: usize,
    },
    /// Two parts disagree on what they describe.
    #[error("input {input} differs from input 1 in its {what}: {theirs} against {first}")]
    Differ {
        /// The input that differs.
        input: usize,
        /// `scenario digest`, `seed` or `part count`.
        what: &'static str,
        /// Input 1's value.
        first: String,
        /// This input's value.
        theirs: String,
    },
    /// Indices missing or given more than once.
    #[error("the parts of {count} do not add up: {}", incomplete(.missing, .doubled))]
    Incomplete {
        /// How many parts the run had.
        count: u32,
        /// Indices no input carries.
        missing: Vec<u32>,
        /// Indices carried by more than one input, with the inputs carrying them.
        doubled: Vec<(u32, Vec<usize>)>,
    },
}

fn incomplete(missing: &[u32], doubled: &[(u32, Vec<usize>)]) -> String {
    let mut said = Vec::new();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(u32::to_string).collect();
        said.push(format!("missing part {}", names.join(", ")));
    }
    for (index, inputs) in doubled {
        let inputs: Vec<String> = inputs.iter().map(usize::to_string).collect();
        said.push(format!(
            "part {index} given more than once (inputs {})",
            inputs.join(", ")
        ));
    }
    said.join("; ")
}

/// The parts, sorted by index (each with the verdict it gave itself), when the inputs are
/// the whole of one split run; `None` when none of them is a part (a plain merge).
pub fn check(reports: &[Report]) -> Result<Option<Vec<ShardInfo>>, PartsError> {
    let Some(first_part) = reports.iter().position(|r| r.run.shard.is_some()) else {
        return Ok(None);
    };
    if let Some(whole) = reports.iter().position(|r| r.run.shard.is_none()) {
        let s = reports[first_part].run.shard.as_ref();
        return Err(PartsError::Mixed {
            part: first_part + 1,
            index: s.map_or(0, |s| s.index),
            count: s.map_or(0, |s| s.count),
            whole: whole + 1,
        });
    }
    let first = &reports[0];
    let info = |r: &Report| r.run.shard.clone().unwrap_or_default();
    let head = info(first);
    for (i, r) in reports.iter().enumerate().skip(1) {
        let s = info(r);
        let differ = |what, first: String, theirs: String| PartsError::Differ {
            input: i + 1,
            what,
            first,
            theirs,
        };
        if s.scenario_digest != head.scenario_digest {
            return Err(differ(
                "scenario digest",
                head.scenario_digest.clone(),
                s.scenario_digest,
            ));
        }
        if r.run.seed != first.run.seed {
            return Err(differ(
                "seed",
                first.run.seed.to_string(),
                r.run.seed.to_string(),
            ));
        }
        if s.count != head.count {
            return Err(differ(
                "part count",
                head.count.to_string(),
                s.count.to_string(),
            ));
        }
    }
    let mut holders: Vec<Vec<usize>> = vec![Vec::new(); head.count as usize];
    for (i, r) in reports.iter().enumerate() {
        if let Some(slot) = holders.get_mut(info(r).index as usize) {
            slot.push(i + 1);
        }
    }
    let missing: Vec<u32> = (0..head.count)
        .filter(|i| holders[*i as usize].is_empty())
        .collect();
    let doubled: Vec<(u32, Vec<usize>)> = (0..head.count)
        .zip(holders)
        .filter(|(_, h)| h.len() > 1)
        .collect();
    if !missing.is_empty() || !doubled.is_empty() {
        return Err(PartsError::Incomplete {
            count: head.count,
            missing,
            doubled,
        });
    }
    let mut parts: Vec<ShardInfo> = reports
        .iter()
        .map(|r| ShardInfo {
            verdict: Some(r.verdict),
            ..info(r)
        })
        .collect();
    parts.sort_by_key(|p| p.index);
    Ok(Some(parts))
}

/// The widest spread of the parts' start skews, µs: how far apart the parts began load.
pub fn start_spread_us(parts: &[ShardInfo]) -> Option<u64> {
    let skews: Vec<i64> = parts.iter().filter_map(|p| p.start_skew_us).collect();
    let (min, max) = (skews.iter().min()?, skews.iter().max()?);
    Some(max.abs_diff(*min))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunInfo;

    fn part(index: u32, count: u32) -> Report {
        Report::empty(RunInfo {
            seed: 7,
            shard: Some(ShardInfo {
                index,
                count,
                scenario_digest: "abc".into(),
                start_skew_us: Some(i64::from(index) * 1000 - 500),
                ..ShardInfo::default()
            }),
            ..RunInfo::default()
        })
    }

    #[test]
    fn a_whole_set_passes_in_index_order() {
        let parts = check(&[part(2, 3), part(0, 3), part(1, 3)])
            .unwrap()
            .unwrap();
        let indices: Vec<u32> = parts.iter().map(|p| p.index).collect();
        assert_eq!(indices, [0, 1, 2]);
        assert_eq!(start_spread_us(&parts), Some(2000));
        assert_eq!(check(&[Report::empty(RunInfo::default())]).unwrap(), None);
    }

    #[test]
    fn missing_and_doubled_parts_are_named() {
        let err = check(&[part(0, 3), part(2, 3), part(2, 3)]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("missing part 1"), "{text}");
        assert!(
            text.contains("part 2 given more than once (inputs 2, 3)"),
            "{text}"
        );
    }

    #[test]
    fn parts_of_different_runs_do_not_merge() {
        let mut other = part(1, 2);
        other.run.seed = 8;
        let err = check(&[part(0, 2), other]).unwrap_err();
        assert!(err.to_string().contains("seed: 8 against 7"), "{err}");
        let mut other = part(1, 2);
        other.run.shard.as_mut().unwrap().scenario_digest = "def".into();
        assert!(matches!(
            check(&[part(0, 2), other]),
            Err(PartsError::Differ {
                what: "scenario digest",
                ..
            })
        ));
        let err = check(&[part(0, 2), part(1, 3)]).unwrap_err();
        assert!(err.to_string().contains("part count"), "{err}");
        let err = check(&[part(0, 2), Report::empty(RunInfo::default())]).unwrap_err();
        assert!(matches!(err, PartsError::Mixed { whole: 2, .. }), "{err}");
    }
}
