//! The peer comparison's target: `GET /departments` → `[]` on one current-thread runtime, so
//! `taskset -c 0` gives it exactly one core. Prints its address, then serves until killed.
//!
//! ```text
//! peer_target [BIND]        # default 127.0.0.1:0
//! ```

#[path = "../benches/generator/mod.rs"]
mod generator;

fn main() {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        generator::serve_trivial(listener).await;
    });
}
