//! Real servers only: every test here starts Postgres and Redis and talks to them.
//!
//! The docker tests need a reachable engine with either the official images or the local
//! image (`gauntlet image build`); `.ci/run` provides both. They fail, rather than skip, when
//! Docker is unusable, unless `GAUNTLET_SKIP_DOCKER_TESTS=1` says the machine has no Docker.

mod external;
mod lifecycle;
mod local_image;
mod support;
