//! The measured part of a run: the sweeps and a scrape before, the attack with its
//! companions (monitor, progress, chaos schedule, noisy neighbour), a scrape, the ledger's
//! read-back and the sweeps after, and the service stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use gauntlet_reports::model::{Backend, Wiring};
use gauntlet_scenarios::personas::{Ctx, RequestSink};

use super::recorder::Recorder;
use super::signal::Interrupt;
use super::sut::Sut;
use super::{
    Prepared, RunConfig, alerts, attack, chaos, diagnosis, drill, flood, judge, ledger, monitor,
    now_unix_us, open_model, part, probe, progress, raw, scrape,
};
use crate::logging::service_log::ServiceLog;

/// What the measured part leaves behind.
pub(super) struct Measured {
    pub(super) recorder: Arc<Recorder>,
    pub(super) goose: Result<std::collections::BTreeMap<String, u64>, attack::AttackError>,
    pub(super) service: Option<scrape::Scraped>,
    pub(super) finished_unix_us: u64,
    pub(super) backend: Backend,
    pub(super) wiring: Wiring,
    pub(super) base_url: String,
    pub(super) monitored: monitor::Monitored,
    /// Whether the process CPU includes the in-process service.
    pub(super) local: bool,
    pub(super) chaos: chaos::ChaosLog,
    pub(super) ledger: Option<gauntlet_reports::model::LedgerSection>,
    /// The drill's section, for a drill.
    pub(super) drill: Option<gauntlet_reports::model::DrillSection>,
    /// The probe catalogue's results before and after the load.
    pub(super) sweeps: Vec<gauntlet_reports::model::ProbeResult>,
    /// The noisy neighbour's flood, when the plan had one.
    pub(super) flooded: Option<flood::Flooded>,
    /// Each fixture tenant's name and plan, by index, for the per-tenant section.
    pub(super) tenant_meta: Vec<(Option<String>, Option<String>)>,
    /// What the run's Prometheus said about the alerts.
    pub(super) alerts: Option<alerts::Finished>,
    /// Open model: the pool's size and what the schedule did.
    pub(super) arrivals: Option<(u32, gauntlet_scenarios::personas::arrivals::ArrivalCounts)>,
    /// Where the time went, per endpoint.
    pub(super) diagnosis: gauntlet_reports::model::DiagnosisSection,
}

/// The measured part: scrape, attack (with progress and Ctrl-C forwarding), scrape, stop.
pub(super) async fn measure(
    config: &RunConfig,
    prepared: &Prepared,
    sut: Sut,
    alerting: Option<alerts::Alerting>,
    interrupt: &Interrupt,
    raw_samples: Option<raw::RawSamples>,
) -> Measured {
    let (plan, faults) = (&prepared.plan, &prepared.chaos[..]);
    // Before any load: turning WAL archiving on restarts Postgres.
    let drill_site = drill::site(prepared.drill.as_ref(), sut.stack()).await;
    let client = reqwest::Client::new();
    // The sweeps check the service, they are not load to share: of a split run's parts,
    // the first runs them (before its wait for the start time, so they delay no part).
    let sweeping = prepared.spec.isolation_sweeps() && config.shard.is_none_or(|s| s.index() == 0);
    if !prepared.spec.isolation_sweeps() {
        tracing::warn!(
            "isolation sweeps off (the spec's `isolation_sweeps = false`): probes.* judge \
             only the prober persona's probes"
        );
    }
    let mut sweeps = if sweeping {
        probe::sweep_before_load(sut.base_url(), sut.fixture()).await
    } else {
        Vec::new()
    };
    let before = scrape::scrape(&client, sut.base_url()).await;
    // Exact stage percentiles for the stress and spike analyses.
    let histograms = judge::keeps_histograms(plan);
    part::wait_for_start(config.start_at, interrupt).await;
    let started = now_unix_us();
    ServiceLog::set_origin(started);
    // The noisy neighbour's tenant is reserved: the personas use only the others.
    let flood = flood::Flood::plan(plan, sut.fixture())
        .inspect_err(|e| tracing::warn!(error = %format!("{e:#}"), "no noisy neighbour"))
        .ok()
        .flatten();
    let mut fixture = sut.fixture().clone();
    if let Some(f) = &flood {
        fixture.tenants[f.tenant()].reserved = true;
    } else if prepared.spec.noisy_neighbour().is_some() && fixture.tenants.len() >= 2 {
        // A part that does not flood (only the first does) leaves the same tenant alone, so
        // its users log in to the accounts they would have in the whole run.
        let last = fixture.tenants.len() - 1;
        fixture.tenants[last].reserved = true;
    }
    let tenant_meta = fixture
        .tenants
        .iter()
        .map(|t| (t.name.clone(), t.tier.clone()))
        .collect();
    let recorder = Recorder::with_tenants(started, histograms, fixture.labels());
    let arrivals = open_model::arrivals(plan);
    let recorder = match &arrivals {
        Some(_) => recorder.open_model(),
        None => recorder,
    };
    let recorder = Arc::new(recorder.with_raw_samples(raw_samples));
    // Bounded even if the stop is never sent: the plan's length plus generous slack.
    let max_ticks = plan.total_duration.as_secs() * 2 + 120;
    let monitor = monitor::Monitor::start(sut.base_url(), max_ticks, sut.own_pids().await);
    let postgres = sut.stack().map(|s| s.postgres.url().to_string());
    let diagnosis = diagnosis::Sampler::start(sut.base_url(), postgres, max_ticks).await;
    let alert_watch = alerting
        .as_ref()
        .map(|a| a.watch(max_ticks + alerts::SETTLE_LIMIT.as_secs()));
    let sink: Arc<dyn RequestSink> = recorder.clone();
    let mut ctx = Ctx::new(sink, fixture).with_shard(plan.shard.clone());
    ctx.sweeps = prepared.spec.isolation_sweeps();
    let ctx = Arc::new(match &arrivals {
        Some(a) => ctx.with_arrivals(Arc::clone(a)),
        None => ctx,
    });
    let progress = (!config.quiet).then(|| {
        let recorder = Arc::clone(&recorder);
        tokio::spawn(progress::report(recorder, plan.clone(), Instant::now()))
    });
    let keeper = tokio::spawn({
        let interrupt = interrupt.clone();
        async move { interrupt.keep_goose_informed().await }
    });
    let load_over = AtomicBool::new(false);
    let attack = async {
        let out = open_model::run(&ctx, plan, sut.base_url(), &recorder, interrupt).await;
        load_over.store(true, Ordering::Relaxed);
        out
    };
    let service = (sut.base_url(), sut.fixture());
    let attack = drill::alongside(drill_site, service, &recorder, attack);
    let flooding = async {
        match &flood {
            Some(f) => Some(flood::run(f, sut.base_url(), &recorder, started, &load_over).await),
            None => None,
        }
    };
    let both = async { tokio::join!(attack, flooding) };
    let (((goose, drill_log), flooded), chaos) =
        chaos::alongside(faults, sut.chaos_handles(), &recorder, both).await;
    keeper.abort();
    let monitored = monitor.stop().await;
    if let Some(p) = progress {
        p.abort();
        progress::finish();
    }
    let finished_unix_us = now_unix_us();
    let after = scrape::scrape(&client, sut.base_url()).await;
    let diagnosis = diagnosis.finish().await;
    let writes = recorder.take_writes();
    let read_back = match &sut {
        Sut::Local(s) => match s.stack() {
            Some(stack) => {
                let plain = writes.iter().map(|(w, _)| w.clone()).collect();
                ledger::verify(plain, &s.base_url, &s.fixture, stack.postgres.url())
                    .await
                    .inspect_err(
                        |e| tracing::warn!(error = %format!("{e:#}"), "ledger not read back"),
                    )
                    .ok()
            }
            None => None,
        },
        Sut::Remote { .. } => None,
    };
    let lost = read_back.as_ref().map(|r| &r.lost_ids);
    let drill = prepared
        .drill
        .as_ref()
        .zip(drill_log.as_ref())
        .map(|(d, log)| drill::section(d, log, &writes, lost, started));
    let ledger = read_back.map(|r| r.section);
    if sweeping {
        sweeps.extend(probe::sweep_after_load(sut.base_url(), sut.fixture()).await);
    }
    // Before the service stops: its going away would fire the health alert.
    let alerts = match (alerting, alert_watch) {
        (Some(a), Some(w)) => Some(a.finish(w, interrupt).await),
        _ => None,
    };
    let (backend, wiring, base_url) = (sut.backend(), sut.wiring(), sut.base_url().to_owned());
    // A child service's CPU is its own, not the generator's.
    let local = matches!(&sut, Sut::Local(s) if s.process().is_none());
    sut.stop().await;
    // The restored server served the read-back and the sweeps; it goes after the service.
    if let Some(server) = drill_log.and_then(|l| l.restored) {
        let _ = server.shutdown().await;
    }
    Measured {
        recorder,
        goose,
        // A restarted service counts from zero again: its counters no longer cross-check.
        service: before
            .zip(after)
            .filter(|_| !chaos.service_restarted())
            .map(|(b, a)| scrape::Scraped::delta(&b, &a)),
        finished_unix_us,
        backend,
        wiring,
        base_url,
        monitored,
        local,
        chaos,
        ledger,
        drill,
        sweeps,
        flooded,
        tenant_meta,
        alerts,
        arrivals: arrivals.map(|a| (a.plan().pool(), a.counts())),
        diagnosis,
    }
}
