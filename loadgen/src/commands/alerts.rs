//! `gauntlet alerts export`: the rules file every run loads, for a deployment to load too, so
//! that what a run checked is what production alerts on.

use crate::exit::Exit;
use crate::run::alerts::rules;

pub fn export() -> Exit {
    print!("{}", rules::RULES);
    Exit::Success
}
