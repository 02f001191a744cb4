//! Integration tests of the HRMS service against real Postgres and Redis.
//!
//! Every test provisions its own stack (`GAUNTLET_BACKEND=native` makes that ~100 ms) and
//! talks HTTP to a real listener on 127.0.0.1:0.

mod helpers;

mod access;
mod attendance;
mod auth;
mod bad_input;
mod binary;
mod contract_fuzz;
mod employees;
mod health;
mod idempotency;
mod isolation;
mod leave;
mod openapi;
mod payroll;
mod ratelimit;
mod ratelimit_redis;
mod ratelimit_redis_support;
mod resilience;
mod rls;
mod seed;
mod shutdown;
