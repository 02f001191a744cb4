//! The drill section: RTO and RPO first (what the claim was about), then what produced them —
//! backups, the timeline, row counts, the lost writes. Absent for a run that was not a drill.

use super::document::{Block, Column, Section, Table, strong, text};
use crate::format::duration_us;
use crate::model::{DrillSection, Report};

fn or_dash(v: Option<u64>, f: impl Fn(u64) -> String) -> String {
    v.map_or_else(|| "—".to_owned(), f)
}

fn size(bytes: u64) -> String {
    if bytes >= 10 * 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn at(offset_us: u64) -> String {
    format!("+{}", duration_us(offset_us))
}

/// `Drill`: RTO, RPO, lost writes; backups; timeline; row counts; lost writes.
pub(crate) fn section(r: &Report) -> Option<Section> {
    let d = &r.drill;
    if !d.enabled {
        return None;
    }
    let mut s = Section::new("drill", "Backup and restore drill");
    s.push(vec![
        text("Strategy "),
        strong(d.strategy.map_or("—", |x| x.as_str())),
        text(" · disaster "),
        strong(d.disaster.map_or("—", |x| x.as_str())),
        text(" · RTO "),
        strong(or_dash(d.rto_us, duration_us)),
        text(" · RPO (data-loss window) "),
        strong(or_dash(d.rpo_us, duration_us)),
        text(" · lost acknowledged writes "),
        strong(or_dash(d.lost, |n| n.to_string())),
        text(format!(
            " of {} acknowledged before the disaster",
            d.acked_before_disaster
        )),
    ]);
    if let Some(why) = &d.failure {
        s.push(vec![text("The drill failed: "), strong(why.clone())]);
    }
    if let Some(from) = &d.restored_from {
        s.push(vec![
            text("Restored from "),
            strong(from.clone()),
            text(" in "),
            strong(or_dash(d.restore_duration_us, duration_us)),
            text(match d.archive_timeout_us {
                Some(t) => format!(" (archive_timeout {})", duration_us(t)),
                None => String::new(),
            }),
        ]);
    }
    if d.lost_after_disaster > 0 {
        s.push(vec![text(format!(
            "{} of the lost writes were acknowledged after the disaster, by the damaged \
             server; a recovery to just before the disaster cannot keep them.",
            d.lost_after_disaster
        ))]);
    }
    if !d.backups.is_empty() {
        let mut table = Table::new(vec![
            Column::right("Backup"),
            Column::right("Started"),
            Column::right("Duration"),
            Column::right("Size"),
        ]);
        for b in &d.backups {
            table.row(vec![
                u64::from(b.index).into(),
                at(b.start_offset_us).into(),
                duration_us(b.duration_us).into(),
                size(b.size_bytes).into(),
            ]);
        }
        s.push(Block::Heading("Backups".to_owned()));
        s.push(table);
    }
    s.push(Block::Heading("Timeline".to_owned()));
    s.push(timeline(d));
    if !d.tables.is_empty() {
        let mut table = Table::new(vec![
            Column::left("Table"),
            Column::right("Rows before"),
            Column::right("Rows after"),
        ]);
        for t in &d.tables {
            let n = |v: Option<u64>| or_dash(v, |n| n.to_string());
            table.row(vec![
                t.table.as_str().into(),
                n(t.before).into(),
                n(t.after).into(),
            ]);
        }
        s.push(Block::Heading("Rows".to_owned()));
        s.push(table);
    }
    if !d.lost_examples.is_empty() {
        s.push(Block::Heading("Lost writes".to_owned()));
        s.push(Block::List(d.lost_examples.iter().map(text).collect()));
    }
    Some(s)
}

/// One row per backup, then the disaster, the restore and the moment the service answered.
fn timeline(d: &DrillSection) -> Table {
    let mut table = Table::new(vec![Column::right("At"), Column::left("Event")]);
    for b in &d.backups {
        table.row(vec![
            at(b.start_offset_us).into(),
            format!("backup {} ({})", b.index, duration_us(b.duration_us)).into(),
        ]);
    }
    if let Some(t) = d.disaster_offset_us {
        let what = d.disaster.map_or("disaster", |x| x.as_str());
        table.row(vec![at(t).into(), format!("disaster: {what}").into()]);
        if let Some(r) = d.restore_duration_us {
            table.row(vec![
                at(t).into(),
                format!("restore (took {})", duration_us(r)).into(),
            ]);
        }
    }
    if let Some(t) = d.ready_offset_us {
        table.row(vec![
            at(t).into(),
            "ready: the service answers with the restored data".into(),
        ]);
    }
    table
}
