//! Black-box tests of the `gauntlet` binary and repo-wide rules.

mod alerts;
mod architecture;
mod baseline;
mod browser;
mod chaos;
mod cli;
mod fuzz;
mod merge;
mod noise;
mod probes;
mod report;
mod run;
mod service_log;
mod support;
mod tidy;
