//! Cache bleed: the same resource requested by two tenants in quick succession; the second
//! must get its own answer, not the first one's from a cache.

use super::{Prober, Req};
use crate::hrms::Role;

const KIND: &str = "cache_bleed";

pub(super) async fn run(p: &Prober) {
    for (first, second) in p.pairs() {
        // A path of its own per pair, so each pair starts from a cold entry.
        let path = format!("/departments?per_page={}", 50 + first * 10 + second);
        let warm = Req::get(path.clone(), format!("tenant #{first} employee"))
            .token(p.token(first, Role::Employee));
        let _ = p.send(&warm).await;
        let req = Req::get(
            path,
            format!("tenant #{second} employee, right after tenant #{first}"),
        )
        .token(p.token(second, Role::Employee));
        p.expect_no_foreign(
            KIND,
            "department list right after another tenant's",
            req,
            "200 with own departments only",
            first,
        )
        .await;
    }
}
