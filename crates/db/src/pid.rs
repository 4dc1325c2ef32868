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
    let Ok(pid) = u32::try_from(pid) else {
        return false;
    };
    if pid == 0 {
        return false;
    }
    let Ok(mut system) = System::new() else {
        return false;
    };
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    system
        .process(pid)
        .is_some_and(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_is_alive() {
        assert!(is_alive(i64::from(std::process::id())));
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
