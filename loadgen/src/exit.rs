//! Exit codes are an interface: CI scripts branch on them.
//!
//! 0 pass · 1 verdict fail · 2 bad input · 3 infrastructure · 4 run invalid · 130 interrupted.

use std::fmt;

/// Why the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for worked; the verdict (if any) is pass.
    Success = 0,
    /// The run completed and its verdict is fail.
    VerdictFail = 1,
    /// Flags, a scenario file or another input could not be used.
    BadInput = 2,
    /// Could not provision or reach what the run needs.
    Infrastructure = 3,
    /// The generator, not the service, was the bottleneck.
    Invalid = 4,
    /// Ctrl-C.
    Interrupted = 130,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// An error with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    /// Which exit code.
    pub exit: Exit,
    /// What to tell the user (with its `.context` chain).
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad input: exit 2.
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        Self {
            exit: Exit::BadInput,
            error: error.into(),
        }
    }

    /// Infrastructure: exit 3.
    pub fn infrastructure(error: impl Into<anyhow::Error>) -> Self {
        Self {
            exit: Exit::Infrastructure,
            error: error.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

/// Prints a failure to stderr and picks the exit code.
pub fn report(outcome: Result<Exit, Failure>) -> Exit {
    match outcome {
        Ok(exit) => exit,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit
        }
    }
}
