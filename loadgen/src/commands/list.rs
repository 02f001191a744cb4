//! `gauntlet list`: the built-in scenarios with their one-line descriptions.

use crate::exit::{Exit, Failure};

pub fn run() -> Result<Exit, Failure> {
    let entries = gauntlet_scenarios::builtin::list();
    let width = entries.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, description) in entries {
        println!("{name:<width$}  {description}");
    }
    Ok(Exit::Success)
}
