//! Splitting a plan into N parts that add up to it exactly (`gauntlet run --shard I/N`).
//!
//! Users are numbered globally `0..peak`. Global user `j` belongs to part `j mod N`, where it
//! is local user `j div N`. Everything else follows from that one rule:
//!
//! - a stage's target of `U` users gives part `I` the users `j < U` with `j mod N = I`, that
//!   is `U div N`, plus one for the first `U mod N` parts: the remainders are spread over the
//!   lowest indices, the parts sum to `U` in every stage, and a user who joins the curve in
//!   the one-process run joins it in exactly one part;
//! - the persona mix is made exact in counts: the peak is apportioned over the persona shares
//!   by largest remainder, the global users are dealt those personas in a smooth weighted
//!   round robin (so every part gets a proportional mix, not one persona each), and each part
//!   runs the persona counts of its own users (goose allocates users cyclically over its
//!   weighted list, so weights equal to counts give exactly those counts at peak);
//! - a user's account and the counter its created names come from are derived from its global
//!   index, so two parts never log in as one account nor create one name.
//!
//! A rate stage (the open model) gives each part `rate / N`, from and to alike, so the parts'
//! schedules add up to the whole one at every instant; its pool and its ceiling of busy
//! users are split like users. (Rates are real numbers: an even split has no remainder.)

use std::fmt;
use std::str::FromStr;

use super::plan::{LoadPlan, PersonaShares};

/// Part `index` of `count` (0-based: Kubernetes' `JOB_COMPLETION_INDEX` is the index as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `--shard` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not `I/N` with two integers.
    #[error("invalid shard {0:?}: expected I/N with 0 <= I < N, e.g. `0/3`")]
    Syntax(String),
    /// `I >= N` or `N = 0`.
    #[error("invalid shard {index}/{count}: the index counts from 0 and must be below {count}")]
    OutOfRange {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
    /// More parts than users at the peak: a part would have nobody to run.
    #[error(
        "{count} parts for a peak of {peak} users: part {index} would run no user; use at most {peak} parts"
    )]
    Empty {
        /// The part with no user.
        index: u32,
        /// Parts asked for.
        count: u32,
        /// The plan's peak.
        peak: u32,
    },
}

impl Shard {
    /// Part `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// The whole plan as one part (`0/1`).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// 0-based index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// Number of parts.
    pub fn count(self) -> u32 {
        self.count
    }

    /// This part's share of `total` users: the `j < total` with `j mod N = I`.
    pub fn part_of(self, total: u32) -> u32 {
        total / self.count + u32::from(self.index < total % self.count)
    }

    /// The global index of this part's local user `local`.
    pub fn global_user(self, local: usize) -> usize {
        local * self.count as usize + self.index as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ShardError::Syntax(s.to_owned());
        let (i, n) = s.trim().split_once('/').ok_or_else(syntax)?;
        let index = i.trim().parse().map_err(|_| syntax())?;
        let count = n.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }
}

/// Persona counts, indexed like [`crate::personas::Persona::ALL`] (employee, manager,
/// HR admin, prober).
pub type PersonaCounts = [u32; 4];

/// What a part runs beyond its stages: which part it is and its users' personas.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan {
    /// Which part.
    pub shard: Shard,
    /// Persona counts of this part's users at the peak; they sum to its peak users.
    pub personas: PersonaCounts,
    /// For each persona, the global ordinal (among all users of that persona) of this part's
    /// k-th user of it: the account it logs in with.
    pub accounts: [Vec<usize>; 4],
}

impl LoadPlan {
    /// Part `shard` of this plan (see the module docs). The parts of every `I/N` add up to
    /// this plan: stage by stage in users, and in persona counts at the peak.
    pub fn shard(&self, shard: Shard) -> Result<LoadPlan, ShardError> {
        if shard.part_of(self.peak_users) == 0 {
            return Err(ShardError::Empty {
                index: shard.index,
                count: shard.count,
                peak: self.peak_users,
            });
        }
        let mut part = self.clone();
        for stage in &mut part.stages {
            stage.users = shard.part_of(stage.users);
            stage.from_users = shard.part_of(stage.from_users);
            if let Some(rate) = &mut stage.rate {
                rate.from_rps /= f64::from(shard.count);
                rate.to_rps /= f64::from(shard.count);
                rate.max_users = shard.part_of(rate.max_users).max(1);
            }
        }
        part.peak_users = shard.part_of(self.peak_users);
        // The noisy neighbour is one tenant misbehaving at a set rate, not load to share:
        // the first part floods, the others do not repeat it.
        if shard.index > 0 {
            part.noisy_neighbour = None;
        }
        let dealt = deal(&apportion(&self.personas, self.peak_users));
        let mut personas = [0; 4];
        let mut accounts: [Vec<usize>; 4] = Default::default();
        let mut ordinal = [0usize; 4];
        for (j, p) in dealt.iter().enumerate() {
            if j % shard.count as usize == shard.index as usize {
                personas[*p] += 1;
                accounts[*p].push(ordinal[*p]);
            }
            ordinal[*p] += 1;
        }
        part.shard = Some(ShardPlan {
            shard,
            personas,
            accounts,
        });
        Ok(part)
    }
}

/// `users` apportioned over the shares by largest remainder (Hamilton): counts that sum to
/// `users` exactly; ties go to the persona listed first.
pub fn apportion(shares: &PersonaShares, users: u32) -> PersonaCounts {
    let s = [
        shares.employee,
        shares.manager,
        shares.hr_admin,
        shares.prober,
    ];
    let exact = s.map(|x| x * f64::from(users));
    // `as` saturates; shares are in [0, 1], so the floors are within 0..=users.
    let mut counts = exact.map(|x| x.floor() as u32);
    let mut left = users.saturating_sub(counts.iter().sum());
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by(|a, b| {
        let frac = |i: usize| exact[i] - exact[i].floor();
        frac(*b).total_cmp(&frac(*a)).then(a.cmp(b))
    });
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        if s[i] > 0.0 {
            counts[i] += 1;
            left -= 1;
        }
    }
    counts
}

/// The personas of global users `0..sum(counts)`, by smooth weighted round robin: each step
/// credits every persona its count and picks the one with the most credit, so the sequence
/// interleaves the personas in proportion and any residue class mod N gets a fair mix.
fn deal(counts: &PersonaCounts) -> Vec<usize> {
    let total: i64 = counts.iter().map(|c| i64::from(*c)).sum();
    let mut credit = [0i64; 4];
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        for (c, n) in credit.iter_mut().zip(counts) {
            *c += i64::from(*n);
        }
        let pick = (0..4)
            .max_by(|a, b| credit[*a].cmp(&credit[*b]).then(b.cmp(a)))
            .unwrap_or(0);
        credit[pick] -= total;
        out.push(pick);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ProfileName;

    #[test]
    fn shards_parse_and_bad_ones_are_refused() {
        assert_eq!("2/3".parse::<Shard>().unwrap(), Shard::new(2, 3).unwrap());
        assert_eq!(" 0 / 1 ".parse::<Shard>().unwrap(), Shard::WHOLE);
        for bad in ["3/3", "0/0", "1", "a/3", "-1/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parts_add_up_to_the_plan_in_every_stage_and_persona() {
        for name in crate::builtin::names() {
            let spec = crate::ScenarioSpec::load(name).unwrap();
            for profile in ProfileName::ALL {
                let plan = spec.plan(profile, 0.01).unwrap();
                let whole = apportion(&plan.personas, plan.peak_users);
                assert_eq!(whole.iter().sum::<u32>(), plan.peak_users, "{name}");
                for n in 1..=plan.peak_users.min(7) {
                    let parts: Vec<LoadPlan> = (0..n)
                        .map(|i| plan.shard(Shard::new(i, n).unwrap()).unwrap())
                        .collect();
                    for (s, stage) in plan.stages.iter().enumerate() {
                        let sum: u32 = parts.iter().map(|p| p.stages[s].users).sum();
                        assert_eq!(sum, stage.users, "{name} {profile} {n} stage {s}");
                        let from: u32 = parts.iter().map(|p| p.stages[s].from_users).sum();
                        assert_eq!(from, stage.from_users);
                    }
                    let peak: u32 = parts.iter().map(|p| p.peak_users).sum();
                    assert_eq!(peak, plan.peak_users);
                    for (k, want) in whole.iter().enumerate() {
                        let info = |p: &LoadPlan| p.shard.clone().unwrap();
                        let sum: u32 = parts.iter().map(|p| info(p).personas[k]).sum();
                        assert_eq!(sum, *want, "{name} {profile} {n} persona {k}");
                        // Every account of the persona is used by exactly one part.
                        let mut accounts: Vec<usize> = parts
                            .iter()
                            .flat_map(|p| info(p).accounts[k].clone())
                            .collect();
                        accounts.sort_unstable();
                        let expected: Vec<usize> = (0..*want as usize).collect();
                        assert_eq!(accounts, expected);
                    }
                    for p in &parts {
                        let info = p.shard.clone().unwrap();
                        assert_eq!(info.personas.iter().sum::<u32>(), p.peak_users);
                    }
                }
            }
        }
    }

    #[test]
    fn rate_stages_split_their_rate_evenly_and_their_pool_like_users() {
        let spec = crate::ScenarioSpec::load("stress-rate").unwrap();
        let plan = spec.plan(ProfileName::Small, 0.05).unwrap();
        let n = 3;
        let parts: Vec<LoadPlan> = (0..n)
            .map(|i| plan.shard(Shard::new(i, n).unwrap()).unwrap())
            .collect();
        for (s, stage) in plan.stages.iter().enumerate() {
            let whole = stage.rate.expect("stress-rate is all rate stages");
            let rates: Vec<_> = parts.iter().map(|p| p.stages[s].rate.unwrap()).collect();
            let to: f64 = rates.iter().map(|r| r.to_rps).sum();
            let from: f64 = rates.iter().map(|r| r.from_rps).sum();
            assert!(
                (to - whole.to_rps).abs() < 1e-9,
                "stage {s}: {to} of {}",
                whole.to_rps
            );
            assert!((from - whole.from_rps).abs() < 1e-9, "stage {s}");
            let ceiling: u32 = rates.iter().map(|r| r.max_users).sum();
            assert_eq!(ceiling, whole.max_users.max(n), "stage {s}");
        }
        let whole = plan.arrival_plan().unwrap().expected_iterations();
        let sum: f64 = parts
            .iter()
            .map(|p| p.arrival_plan().unwrap().expected_iterations())
            .sum();
        assert!((sum - whole).abs() < 1e-6, "{sum} iterations of {whole}");
    }

    #[test]
    fn remainders_go_to_the_lowest_indices_and_too_many_parts_are_refused() {
        let parts: Vec<u32> = (0..4)
            .map(|i| Shard::new(i, 4).unwrap().part_of(10))
            .collect();
        assert_eq!(parts, [3, 3, 2, 2]);
        let spec = crate::ScenarioSpec::load("smoke").unwrap();
        let plan = spec.plan(ProfileName::Small, 1.0).unwrap();
        let err = plan.shard(Shard::new(3, 4).unwrap()).unwrap_err();
        assert!(err.to_string().contains("at most 3 parts"), "{err}");
    }

    #[test]
    fn the_dealt_personas_interleave_in_proportion() {
        let dealt = deal(&[6, 2, 1, 1]);
        assert_eq!(dealt.len(), 10);
        // Every second user is an employee, whichever parity a part has.
        let evens = dealt.iter().step_by(2).filter(|p| **p == 0).count();
        assert!(evens >= 2, "{dealt:?}");
        assert_eq!(dealt.iter().filter(|p| **p == 0).count(), 6);
    }
}
