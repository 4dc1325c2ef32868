//! Process liveness, for lock reclaim and session reconciliation.
//!
//! ```
//! assert!(skill_builder_db::pid::is_alive(i64::from(std::process::id())));
//! assert!(!skill_builder_db::pid::is_alive(99_999_999));
//! ```

use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

/// Whether a process with this PID is running on this machine.
///
/// PIDs outside `1..=u32::MAX` (negative, zero, or larger than any OS hands out) are
/// dead. A zombie (exited, not yet reaped by its parent) is dead too: it will never
/// release its locks. Unlike the existing app's zero-signal probe, a process owned by
/// another user counts as alive.
pub fn is_alive(pid: i64) -> bool {
    running_since(pid).is_some()
}

/// When the running process with this PID started, in seconds since the Unix epoch
/// (`None` when no such process is running, or a zombie). Recorded with a PID so a
/// later check can tell the holder from an unrelated process that got its PID.
///
/// ```
/// let me = i64::from(std::process::id());
/// assert!(skill_builder_db::pid::start_time(me).is_some());
/// ```
pub fn start_time(pid: i64) -> Option<i64> {
    running_since(pid)
}

/// How far apart two readings of one process's start time may be: the OS keeps it in
/// clock ticks since boot, turned into wall-clock seconds by rounding.
const START_TIME_SLACK: i64 = 1;

/// Whether the process recorded as `pid`, started at `started_at` (from
/// [`start_time`] when the lock or session was recorded), is still running.
///
/// Dead when no process has the PID (or a zombie has it), and also when the process
/// that has it now started after `started_at`: the holder exited and the OS handed its
/// PID to an unrelated process. `started_at` `None` (rows written before start times
/// were recorded, or by the existing app) falls back to [`is_alive`].
///
/// ```
/// use skill_builder_db::pid::{is_alive_since, start_time};
/// let me = i64::from(std::process::id());
/// let started = start_time(me);
/// assert!(is_alive_since(me, started));
/// assert!(is_alive_since(me, None));
/// // A holder that started an hour before the process now holding the PID is gone.
/// assert!(!is_alive_since(me, started.map(|s| s - 3600)));
/// ```
pub fn is_alive_since(pid: i64, started_at: Option<i64>) -> bool {
    match (running_since(pid), started_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(now), Some(recorded)) => now <= recorded.saturating_add(START_TIME_SLACK),
    }
}

/// The start time of the live (non-zombie) process `pid`, or `None`.
fn running_since(pid: i64) -> Option<i64> {
    let pid = u32::try_from(pid).ok().filter(|&p| p != 0)?;
    let mut system = System::new().ok()?;
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    system
        .process(pid)
        .filter(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
        .map(|p| i64::try_from(p.start_time()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive() {
        assert!(is_alive(i64::from(std::process::id())));
    }

    #[test]
    fn a_pid_now_held_by_a_later_process_is_dead() -> Result<(), String> {
        let me = i64::from(std::process::id());
        let started = start_time(me).ok_or("no start time for this process")?;
        assert!(started > 0);
        assert!(is_alive_since(me, Some(started)));
        assert!(
            is_alive_since(me, Some(started + 3600)),
            "recorded later: same process"
        );
        assert!(
            !is_alive_since(me, Some(started - 3600)),
            "holder started before: reused"
        );
        assert!(is_alive_since(me, None), "old rows keep the PID-only check");
        assert!(!is_alive_since(99_999_999, None));
        assert!(!is_alive_since(99_999_999, Some(started)));
        Ok(())
    }

    #[test]
    fn absurd_pids_are_dead() {
        for pid in [
            99_999_999,
            0,
            -1,
            i64::from(i32::MAX) + 1,
            i64::MAX,
            i64::MIN,
        ] {
            assert!(!is_alive(pid), "{pid}");
        }
    }
}
