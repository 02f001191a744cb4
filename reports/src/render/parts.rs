//! A split run (`gauntlet run --shard I/N`): in a merged report, its parts with the verdict
//! each gave its own share and how far from the common start each began; in a part's own
//! report, which part it is. No section for a run that was not split.

use super::document::{Cell, Column, Section, Table, code, strong, text};
use crate::format::duration_us;
use crate::model::{Report, ShardInfo, Verdict};
use crate::parts::start_spread_us;

/// `+1.2ms`, `-300us`: a skew with its sign (a part may start early by a clock's error).
fn skew(s: &ShardInfo) -> String {
    s.start_skew_us.map_or_else(
        || "no common start".to_owned(),
        |us| {
            let sign = if us < 0 { "-" } else { "+" };
            format!("{sign}{}", duration_us(us.unsigned_abs()))
        },
    )
}

pub(crate) fn section(r: &Report) -> Option<Section> {
    let mut s = Section::new("parts", "Parts");
    if let Some(part) = &r.run.shard {
        s.push(vec![
            text("Part "),
            strong(format!("{}/{}", part.index, part.count)),
            text(" of a split run (its share of the load; merge the parts to judge the whole) · start "),
            strong(skew(part)),
            text(" · scenario digest "),
            code(part.scenario_digest.clone()),
        ]);
        return Some(s);
    }
    let first = r.run.parts.first()?;
    let mut line = vec![
        text(format!(
            "Merged from {} parts of one split run",
            r.run.parts.len()
        )),
        text(" · scenario digest "),
        code(first.scenario_digest.clone()),
    ];
    if let Some(spread) = start_spread_us(&r.run.parts) {
        line.extend([
            text(" · they began load within "),
            strong(duration_us(spread)),
            text(" of each other"),
        ]);
    }
    s.push(line);
    let mut table = Table::new(vec![
        Column::mark(),
        Column::right("Part"),
        Column::left("Verdict on its share"),
        Column::right("Start skew"),
    ]);
    for p in &r.run.parts {
        let verdict = p.verdict.map_or("—", Verdict::as_str);
        table.row(vec![
            Cell::Mark(p.verdict == Some(Verdict::Pass)),
            format!("{}/{}", p.index, p.count).into(),
            verdict.into(),
            skew(p).into(),
        ]);
    }
    s.push(table);
    Some(s)
}

#[cfg(test)]
mod tests {
    use crate::model::{Report, RunInfo, ShardInfo, Verdict};

    fn part(index: u32, skew_us: i64, verdict: Verdict) -> ShardInfo {
        ShardInfo {
            index,
            count: 3,
            scenario_digest: "d1g".into(),
            start_at_unix_us: Some(1_000_000),
            start_skew_us: Some(skew_us),
            verdict: Some(verdict),
        }
    }

    #[test]
    fn a_merged_report_lists_its_parts_with_their_skew_and_own_verdicts() {
        let report = Report::empty(RunInfo {
            parts: vec![
                part(0, 2_500, Verdict::Pass),
                part(1, -500, Verdict::Fail),
                part(2, 300_000, Verdict::Pass),
            ],
            ..RunInfo::default()
        });
        let md = crate::render::markdown::render(&report);
        assert!(md.contains("Merged from 3 parts"), "{md}");
        // From the earliest (-0.5 ms) to the latest (+300 ms) start.
        assert!(md.contains("within **300ms**"), "{md}");
        for cell in ["0/3", "+2.5ms", "-500us", "fail", "+300ms"] {
            assert!(md.contains(cell), "{cell} in {md}");
        }
        let whole = crate::render::markdown::render(&Report::empty(RunInfo::default()));
        assert!(
            !whole.contains("Parts"),
            "no section for a run that was not split"
        );
    }

    #[test]
    fn a_parts_own_report_says_which_part_it_is() {
        let report = Report::empty(RunInfo {
            shard: Some(part(1, 1_200, Verdict::Pass)),
            ..RunInfo::default()
        });
        let md = crate::render::markdown::render(&report);
        assert!(md.contains("**1/3**") && md.contains("+1.2ms"), "{md}");
    }
}
