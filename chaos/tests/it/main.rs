//! Integration tests for gauntlet-chaos: the fault proxy over real TCP on 127.0.0.1, and the
//! vocabulary, schedule, phase and steady-state types.

mod bulk;
mod control;
mod support;
mod toxics;
mod vocab;
