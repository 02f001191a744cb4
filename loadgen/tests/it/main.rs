//! Black-box tests of the `gauntlet` binary and repo-wide rules.

mod architecture;
mod cli;
mod probes;
mod report;
mod run;
