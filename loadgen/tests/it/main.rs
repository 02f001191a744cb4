//! Black-box tests of the `gauntlet` binary and repo-wide rules.

mod architecture;
mod chaos;
mod cli;
mod report;
mod run;
