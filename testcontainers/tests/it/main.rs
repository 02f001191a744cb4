//! Real servers only: every test here starts Postgres and Redis and talks to them.
//!
//! The docker tests (in `needs_docker` modules) need a reachable engine with either the
//! official images or the local image (`gauntlet image build`); `cargo xtask test` provides
//! both. Run directly without Docker they fail, saying how to skip them; `cargo xtask test`
//! filters them out by name when no engine answers (or `GAUNTLET_SKIP_DOCKER_TESTS=1`) and
//! lists them as skipped.

mod external;
mod lifecycle;
mod local_image;
mod support;
