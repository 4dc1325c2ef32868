//! Usage analytics results computed over `agent_runs` and `workflow_sessions`.
//!
//! ```
//! use skill_builder_model::UsageSummary;
//!
//! let summary = UsageSummary::from_session_costs([0.25, 0.75]);
//! assert_eq!(summary.total_runs, 2);
//! assert_eq!(summary.avg_cost_per_run, 0.5);
//! assert_eq!(UsageSummary::from_session_costs([]).avg_cost_per_run, 0.0);
//! ```

use serde::{Deserialize, Serialize};

use crate::WorkflowSessionId;

/// Overall usage: one "run" is one workflow session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// Sum of the counted sessions' costs, in US dollars.
    pub total_cost: f64,
    /// Number of counted sessions.
    pub total_runs: i64,
    /// `total_cost / total_runs`, or 0.0 when there are no runs.
    pub avg_cost_per_run: f64,
}

impl UsageSummary {
    /// Builds a summary from a total and a count, with a 0.0 average when `total_runs` is 0.
    #[must_use]
    pub fn new(total_cost: f64, total_runs: i64) -> Self {
        let avg_cost_per_run = if total_runs > 0 {
            #[allow(clippy::cast_precision_loss)]
            let runs = total_runs as f64;
            total_cost / runs
        } else {
            0.0
        };
        Self {
            total_cost,
            total_runs,
            avg_cost_per_run,
        }
    }

    /// Builds a summary from one cost per counted session.
    #[must_use]
    pub fn from_session_costs<I: IntoIterator<Item = f64>>(costs: I) -> Self {
        let (total, count) = costs
            .into_iter()
            .fold((0.0, 0_i64), |(total, count), cost| {
                (total + cost, count + 1)
            });
        Self::new(total, count)
    }
}

/// Per-session usage totals (a row of the recent-sessions report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUsage {
    /// The workflow session.
    pub session_id: WorkflowSessionId,
    /// Skill the session worked on.
    pub skill_name: String,
    /// Lowest step id among the session's agent rows (0 when none).
    pub min_step: i64,
    /// Highest step id among the session's agent rows (0 when none).
    pub max_step: i64,
    /// Distinct step ids joined by commas, in ascending order (empty when none).
    pub steps_csv: String,
    /// Number of distinct agent ids.
    pub agent_count: i64,
    /// Sum of `total_cost` over all agent rows, in US dollars.
    pub total_cost: f64,
    /// Sum of input tokens.
    pub total_input_tokens: i64,
    /// Sum of output tokens.
    pub total_output_tokens: i64,
    /// Sum of cache-read tokens.
    pub total_cache_read: i64,
    /// Sum of cache-write tokens.
    pub total_cache_write: i64,
    /// Sum of agent durations in milliseconds.
    pub total_duration_ms: i64,
    /// Session start time.
    pub started_at: String,
    /// Session end time (`workflow_sessions.ended_at`).
    pub completed_at: Option<String>,
}

/// Usage grouped by workflow step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageByStep {
    /// Step id.
    pub step_id: i64,
    /// Step display name, from [`step_name`](crate::step_name).
    pub step_name: String,
    /// Summed cost, in US dollars.
    pub total_cost: f64,
    /// Number of agent rows (not distinct agents).
    pub run_count: i64,
}

/// Usage grouped by model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageByModel {
    /// Model name.
    pub model: String,
    /// Summed cost, in US dollars.
    pub total_cost: f64,
    /// Number of agent rows (not distinct agents).
    pub run_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_average() {
        let s = UsageSummary::new(1.03, 3);
        assert_eq!(s.total_runs, 3);
        assert!((s.avg_cost_per_run - 1.03 / 3.0).abs() < 1e-12);
        let empty = UsageSummary::new(0.0, 0);
        assert_eq!(empty, UsageSummary::default());
        assert_eq!(empty.avg_cost_per_run, 0.0);
        let one = UsageSummary::from_session_costs([0.41]);
        assert_eq!(one.total_runs, 1);
        assert!((one.total_cost - 0.41).abs() < 1e-12);
        assert!((one.avg_cost_per_run - 0.41).abs() < 1e-12);
    }

    #[test]
    fn session_usage_serde() -> Result<(), Box<dyn std::error::Error>> {
        let s = SessionUsage {
            session_id: "sess-1".into(),
            skill_name: "s".into(),
            min_step: 0,
            max_step: 2,
            steps_csv: "0,2".into(),
            agent_count: 2,
            total_cost: 0.63,
            total_input_tokens: 100,
            total_output_tokens: 50,
            total_cache_read: 0,
            total_cache_write: 0,
            total_duration_ms: 10,
            started_at: "t".into(),
            completed_at: None,
        };
        let value = serde_json::to_value(&s)?;
        assert_eq!(value["steps_csv"], "0,2");
        assert_eq!(value["completed_at"], serde_json::Value::Null);
        let back: SessionUsage = serde_json::from_value(value)?;
        assert_eq!(back, s);
        Ok(())
    }

    #[test]
    fn by_step_and_model_serde() -> Result<(), Box<dyn std::error::Error>> {
        let step = UsageByStep {
            step_id: 5,
            step_name: crate::step_name(5),
            total_cost: 0.25,
            run_count: 1,
        };
        assert_eq!(step.step_name, "Generate Skill");
        let back: UsageByStep = serde_json::from_str(&serde_json::to_string(&step)?)?;
        assert_eq!(back, step);
        let model = UsageByModel {
            model: "opus".into(),
            total_cost: 0.5,
            run_count: 1,
        };
        let back: UsageByModel = serde_json::from_str(&serde_json::to_string(&model)?)?;
        assert_eq!(back, model);
        Ok(())
    }
}
