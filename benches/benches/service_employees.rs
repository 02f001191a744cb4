//! `GET /employees` through the whole reference service against the same SQL sent straight to
//! the same Postgres: the service's throughput as a fraction of the bare query's.
//!
//! Setup (once): a native Postgres and Redis on loopback, the `hrms` application on
//! 127.0.0.1:0 in this process, 50 tenants × 200 employees, and a login as the HR admin of
//! tenant 0. Then two benchmarks, each iteration being one batch of [`BATCH`] page reads
//! spread over [`CONCURRENCY`] tasks:
//!
//! - `service/GET /employees?per_page=50`: HTTP/1.1 keep-alive requests through one shared
//!   `reqwest` client: token check, rate-limit decision in Redis, tenant transaction, JSON.
//! - `direct/same SQL`: what the handler sends to Postgres and nothing else: a transaction
//!   switched to `hrms_app` with the tenant set ([`hrms::db::begin_tenant`]), the page query
//!   and the count query, commit, on a pool built by [`hrms::db::pool`] with the same settings.
//!
//! - `uncounted/GET /employees?per_page=50`: the same through a second instance of the
//!   service on the same stack with `server.route_costs` off: no per-request accounting of
//!   DB, pool-wait and Redis time (issue 18's diagnosis), so the difference between the two
//!   service sides is what that accounting costs.
//!
//! The ratios printed at the end come from an interleaved pass (one service batch, one direct
//! batch, repeated), so background load on the shared machine hits both sides alike.
//! Generator, service and Postgres all share this machine's cores: the ratio is a cost ratio
//! per request on one box, not the service's throughput on dedicated hardware.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use criterion::{Criterion, Throughput};
use gauntlet_testcontainers::Stack;
use hrms::auth::Role;
use hrms::ids::TenantId;

use hrms::routes::employees::Employee;
use hrms::seed::SeedSpec;
use hrms::{Application, RunningService};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use sqlx::PgPool;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Page reads per criterion iteration: enough that spawning the tasks is noise.
const BATCH: usize = 64;
/// Requests in flight at once, on both paths; below the pool size so neither side queues
/// for a connection.
const CONCURRENCY: usize = 8;
/// Page size the issue asks for.
const PER_PAGE: i64 = 50;
/// Pool size of the service and of the direct pool alike.
const POOL_SIZE: u32 = 10;
/// The data set the issue names: one tenant among 50.
const TENANTS: usize = 50;
const EMPLOYEES_PER_TENANT: usize = 200;
/// Batches per side in the final interleaved pass that yields the printed ratio.
const RATIO_BATCHES: usize = 40;

/// The handler's filter clause (`hrms::routes::employees::list`), copied because the service
/// keeps it private. With every filter absent the planner reduces it to `tenant_id = $1`.
const WHERE: &str = "WHERE tenant_id = $1 \
     AND ($2::uuid IS NULL OR department_id = $2) \
     AND ($3::text IS NULL OR status = $3) \
     AND ($4::text IS NULL OR (first_name || ' ' || last_name) ILIKE $4)";
/// The handler's column list (`COLUMNS` in the same module), copied for the same reason.
const COLUMNS: &str = "id, department_id, first_name, last_name, email, job_title, status, \
                       salary_cents, hired_on, created_at, updated_at";

/// Which side of the comparison a batch exercises.
#[derive(Debug, Clone, Copy)]
enum Side {
    Service,
    Direct,
    /// The service without its per-route cost accounting.
    Uncounted,
}

/// Everything a request task needs; shared by `Arc` because tasks are `'static`.
struct Shared {
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT/employees?per_page=50`.
    url: String,
    /// The same page on the instance without route-cost accounting.
    uncounted_url: String,
    /// `Bearer <token>` of tenant 0's HR admin, built once.
    auth: HeaderValue,
    /// The direct side's pool: same builder and settings as the service's.
    direct: PgPool,
    tenant: TenantId,
    /// The handler's two statements, formatted exactly as it formats them.
    page_sql: String,
    count_sql: String,
}

impl Shared {
    async fn one(&self, side: Side) {
        match side {
            Side::Service => self.service_page(&self.url).await,
            Side::Direct => self.direct_page().await,
            Side::Uncounted => self.service_page(&self.uncounted_url).await,
        }
    }

    /// One page through HTTP; the body is read in full so the connection is reused.
    async fn service_page(&self, url: &str) {
        common::get_ok(&self.client, url, &self.auth).await;
    }

    /// The handler's database work, without the handler.
    async fn direct_page(&self) {
        let (items, total) = self.direct_query().await.expect("direct page query");
        black_box((items.len(), total));
    }

    async fn direct_query(&self) -> Result<(Vec<Employee>, i64), sqlx::Error> {
        let mut tx = hrms::db::begin_tenant(&self.direct, self.tenant).await?;
        let items: Vec<Employee> = sqlx::query_as(sqlx::AssertSqlSafe(self.page_sql.as_str()))
            .bind(self.tenant)
            .bind(None::<Uuid>)
            .bind(None::<&str>)
            .bind(None::<String>)
            .bind(PER_PAGE)
            .bind(0_i64)
            .fetch_all(&mut *tx)
            .await?;
        let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(self.count_sql.as_str()))
            .bind(self.tenant)
            .bind(None::<Uuid>)
            .bind(None::<&str>)
            .bind(None::<String>)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((items, total))
    }
}

/// One batch: [`BATCH`] reads on `side`, [`CONCURRENCY`] at a time.
async fn batch(shared: &Arc<Shared>, side: Side) {
    let mut tasks = JoinSet::new();
    for _ in 0..CONCURRENCY {
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            for _ in 0..BATCH / CONCURRENCY {
                shared.one(side).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("request task");
    }
}

/// Runs `batches` batches back to back and returns the wall time they took.
async fn timed(shared: &Arc<Shared>, side: Side, batches: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..batches {
        batch(shared, side).await;
    }
    started.elapsed()
}

/// Wall time and elements of every batch criterion ran on one side (warm-up included).
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    elapsed: Duration,
    elements: u64,
}

impl Tally {
    fn per_sec(self) -> f64 {
        self.elements as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// The application running in this process, and what it stands on.
struct Fixture {
    stack: Stack,
    shared: Arc<Shared>,
    service: RunningService,
    uncounted: RunningService,
}

impl Fixture {
    async fn start() -> Self {
        let stack = common::native_stack().await;
        let settings = common::settings(&stack, POOL_SIZE);
        let app = Application::build(settings.clone())
            .await
            .expect("build the hrms application");
        let spec = SeedSpec {
            tenants: TENANTS,
            employees_per_tenant: EMPLOYEES_PER_TENANT,
            ..SeedSpec::default()
        };
        let seeded = hrms::seed::seed(&app.state().db, &spec)
            .await
            .expect("seed 50 tenants x 200 employees");
        let tenant = &seeded.tenants[0];
        let admin = tenant.user(Role::HrAdmin).expect("seeded HR admin").clone();
        let service = app.spawn();
        let mut bare = settings.clone();
        bare.server.route_costs = false;
        let uncounted = Application::build(bare)
            .await
            .expect("build the hrms application without route costs")
            .spawn();
        let base = service.base_url();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client");
        let token = common::login(&client, base, &admin.email, &admin.password).await;
        let shared = Arc::new(Shared {
            client,
            url: format!("{base}/employees?per_page={PER_PAGE}"),
            uncounted_url: format!("{}/employees?per_page={PER_PAGE}", uncounted.base_url()),
            auth: HeaderValue::from_str(&format!("Bearer {token}")).expect("token is ASCII"),
            direct: hrms::db::pool(&settings.database).expect("direct pool"),
            tenant: tenant.id,
            page_sql: format!(
                "SELECT {COLUMNS} FROM employees {WHERE} \
                 ORDER BY last_name, first_name, id LIMIT $5 OFFSET $6"
            ),
            count_sql: format!("SELECT count(*) FROM employees {WHERE}"),
        });
        let fixture = Self {
            stack,
            shared,
            service,
            uncounted,
        };
        fixture.check_both_sides_agree().await;
        fixture
    }

    /// Both sides must return the same full page, or the comparison means nothing.
    async fn check_both_sides_agree(&self) {
        let s = &self.shared;
        let response = s
            .client
            .get(&s.url)
            .header(AUTHORIZATION, s.auth.clone())
            .send()
            .await
            .expect("first GET /employees");
        assert_eq!(response.status(), StatusCode::OK, "first GET /employees");
        let page: serde_json::Value = response.json().await.expect("page is JSON");
        let items = page["items"].as_array().expect("page has items");
        assert_eq!(items.len(), PER_PAGE as usize, "a full page over HTTP");
        assert_eq!(page["total"], EMPLOYEES_PER_TENANT, "total over HTTP");
        let (rows, total) = s.direct_query().await.expect("first direct query");
        assert_eq!(rows.len(), PER_PAGE as usize, "a full page from SQL");
        assert_eq!(total, EMPLOYEES_PER_TENANT as i64, "total from SQL");
        let first_id = items[0]["id"].as_str().expect("item id");
        assert_eq!(first_id, rows[0].id.to_string(), "same first row");
    }

    /// Rate-limit decisions the service took without Redis: must be 0, or the service side
    /// was measured on the cheaper local path.
    fn degraded_decisions(&self) -> u64 {
        [&self.service, &self.uncounted]
            .iter()
            .map(|s| s.state().metrics.rate_limit_degraded.get())
            .sum()
    }

    /// Graceful stop of the app, then the stack's servers.
    async fn shutdown(self) {
        let Self {
            stack,
            shared,
            service,
            uncounted,
        } = self;
        shared.direct.close().await;
        // Dropping the client closes its idle keep-alive connections before the drain.
        drop(shared);
        common::stop(service).await;
        common::stop(uncounted).await;
        stack.shutdown().await;
    }
}

/// The three criterion benchmarks; returns what each side measured while criterion ran.
fn bench(c: &mut Criterion, rt: &Runtime, shared: &Arc<Shared>) -> [Tally; 3] {
    let tallies = SIDES.map(|_| Arc::new(Mutex::new(Tally::default())));
    let mut group = c.benchmark_group("service_employees");
    group.throughput(Throughput::Elements(BATCH as u64));
    // One batch takes milliseconds; criterion's default 100 linear samples would need
    // ~5,000 batches and overrun any short measurement time.
    group.sample_size(10);
    let ids = [
        (Side::Service, "service/GET /employees?per_page=50"),
        (Side::Direct, "direct/same SQL"),
        (Side::Uncounted, "uncounted/GET /employees?per_page=50"),
    ];
    for ((side, id), tally) in ids.into_iter().zip(&tallies) {
        group.bench_function(id, |b| {
            b.iter_custom(|batches| {
                let took = rt.block_on(timed(shared, side, batches));
                let mut t = tally.lock().expect("tally lock");
                t.elapsed += took;
                t.elements += batches * BATCH as u64;
                took
            })
        });
    }
    group.finish();
    tallies.map(|t| *t.lock().expect("tally lock"))
}

/// The sides, in the order of every `[Tally; 3]`.
const SIDES: [Side; 3] = [Side::Service, Side::Direct, Side::Uncounted];

/// Alternates one batch per side so drifting background load hits all equally.
async fn interleaved(shared: &Arc<Shared>) -> [Tally; 3] {
    let mut tallies = [Tally::default(); 3];
    for _ in 0..RATIO_BATCHES {
        for (side, tally) in SIDES.into_iter().zip(&mut tallies) {
            tally.elapsed += timed(shared, side, 1).await;
            tally.elements += BATCH as u64;
        }
    }
    tallies
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let fixture = rt.block_on(Fixture::start());
    let mut criterion = Criterion::default().configure_from_args();
    let [during_service, during_direct, _] = bench(&mut criterion, &rt, &fixture.shared);
    criterion.final_summary();
    if during_service.elements > 0 && during_direct.elements > 0 {
        println!(
            "during criterion sampling: service {:.0} elements/s, direct {:.0} elements/s, ratio {:.2}",
            during_service.per_sec(),
            during_direct.per_sec(),
            during_service.per_sec() / during_direct.per_sec()
        );
    }
    let [service, direct, uncounted] = rt.block_on(interleaved(&fixture.shared));
    println!(
        "interleaved pass ({RATIO_BATCHES} batches of {BATCH} per side, {CONCURRENCY} concurrent): \
         service {:.0} elements/s, direct {:.0} elements/s, service without route costs \
         {:.0} elements/s",
        service.per_sec(),
        direct.per_sec(),
        uncounted.per_sec()
    );
    println!(
        "service/direct throughput ratio: {:.2}",
        service.per_sec() / direct.per_sec()
    );
    println!(
        "route-cost accounting: throughput with/without {:.3} ({:+.1} % cost)",
        service.per_sec() / uncounted.per_sec(),
        (1.0 - service.per_sec() / uncounted.per_sec()) * 100.0
    );
    let degraded = fixture.degraded_decisions();
    rt.block_on(fixture.shutdown());
    assert_eq!(
        degraded, 0,
        "the service decided {degraded} rate limits without Redis: the numbers above are off"
    );
}
