//! Black-box tests of the `gauntlet` binary and repo-wide rules.

mod alert_experiments;
mod alerts;
mod architecture;
mod baseline;
mod bottlenecks;
mod browser;
mod chaos;
mod cli;
mod distribute;
mod drill;
mod fuzz;
mod in_process;
mod kubernetes;
mod merge;
mod noise;
mod noisy;
mod open_model;
mod probes;
mod raw_samples;
mod report;
mod run;
mod service_log;
mod support;
mod swarm;
mod tidy;
mod verify;
