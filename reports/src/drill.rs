//! A drill's data loss from its ledger: pure, so a report can be judged again from its data.

/// What a restore lost, as the ledger and the disaster's time say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loss {
    /// Writes acknowledged before the disaster.
    pub acked_before: u64,
    /// Acknowledged writes missing after the restore.
    pub lost: u64,
    /// Of `lost`, those acknowledged at or after the disaster.
    pub lost_after: u64,
    /// The data-loss window: the disaster's time minus the acknowledgement time of the oldest
    /// write acknowledged before it and lost; 0 when none was.
    pub window_us: u64,
}

/// One acknowledged write: when its answer arrived (unix µs; its commit came before that, so
/// the window is measured from a time at most one request late) and whether it was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckedWrite {
    /// Unix time of the acknowledgement, µs.
    pub acked_unix_us: u64,
    /// Missing after the restore.
    pub lost: bool,
}

/// The loss of a restore after a disaster at `disaster_unix_us`.
pub fn loss(writes: &[AckedWrite], disaster_unix_us: u64) -> Loss {
    let mut out = Loss::default();
    let mut oldest_lost: Option<u64> = None;
    for w in writes {
        let before = w.acked_unix_us < disaster_unix_us;
        out.acked_before += u64::from(before);
        if !w.lost {
            continue;
        }
        out.lost += 1;
        if before {
            oldest_lost = Some(oldest_lost.map_or(w.acked_unix_us, |o| o.min(w.acked_unix_us)));
        } else {
            out.lost_after += 1;
        }
    }
    out.window_us = oldest_lost.map_or(0, |t| disaster_unix_us - t);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(acked_unix_us: u64, lost: bool) -> AckedWrite {
        AckedWrite {
            acked_unix_us,
            lost,
        }
    }

    #[test]
    fn the_window_runs_from_the_oldest_lost_write_to_the_disaster() {
        let l = loss(
            &[w(100, false), w(400, true), w(700, true), w(1200, true)],
            1000,
        );
        assert_eq!(l.acked_before, 3);
        assert_eq!(l.lost, 3);
        assert_eq!(l.lost_after, 1);
        assert_eq!(l.window_us, 600);
    }

    #[test]
    fn nothing_lost_is_a_zero_window() {
        let l = loss(&[w(100, false), w(900, false)], 1000);
        assert_eq!((l.lost, l.window_us), (0, 0));
    }
}
