//! Integration tests for gauntlet-reports (one binary; modules by feature).

mod analysis;
mod chaos;
mod compare;
mod merge;
mod noise;
mod record;
mod recovery;
mod render;
mod resource_thresholds;
mod scenario;
mod schema;
mod support;
mod tenants;
mod threshold;
mod verdict;
