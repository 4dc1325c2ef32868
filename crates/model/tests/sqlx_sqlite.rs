//! Round-trips ids and enums through a real SQLite connection (feature `sqlx` only).
#![cfg(feature = "sqlx")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use skill_builder_model::{
    AgentRunStatus, ImportedSkillId, SkillId, SkillSource, StepStatus, WorkflowRunId,
    WorkflowRunStatus, WorkflowSessionId,
};
use sqlx::{Connection, SqliteConnection};

async fn connect() -> SqliteConnection {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
    sqlx::query(
        "CREATE TABLE t (
            id INTEGER, run_id INTEGER, text_id TEXT, source TEXT, status TEXT, step TEXT,
            agent TEXT, session TEXT
        )",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

#[tokio::test]
async fn ids_and_enums_round_trip() {
    let mut conn = connect().await;
    sqlx::query("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(SkillId::new(7))
        .bind(Some(WorkflowRunId::new(9)))
        .bind(ImportedSkillId::from("imp-1"))
        .bind(SkillSource::Marketplace)
        .bind(&WorkflowRunStatus::InProgress)
        .bind(StepStatus::from("legacy-step"))
        .bind(AgentRunStatus::Shutdown)
        .bind(None::<WorkflowSessionId>)
        .execute(&mut conn)
        .await
        .unwrap();

    let raw: (i64, String, String, String) =
        sqlx::query_as("SELECT id, text_id, source, step FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        raw,
        (
            7,
            "imp-1".to_owned(),
            "marketplace".to_owned(),
            "legacy-step".to_owned()
        )
    );

    #[allow(clippy::type_complexity)]
    let row: (
        SkillId,
        Option<WorkflowRunId>,
        ImportedSkillId,
        SkillSource,
        WorkflowRunStatus,
        StepStatus,
        AgentRunStatus,
        Option<WorkflowSessionId>,
    ) = sqlx::query_as("SELECT * FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.0, SkillId::new(7));
    assert_eq!(row.1, Some(WorkflowRunId::new(9)));
    assert_eq!(row.2.as_str(), "imp-1");
    assert_eq!(row.3, SkillSource::Marketplace);
    assert_eq!(row.4, WorkflowRunStatus::InProgress);
    assert_eq!(row.5, StepStatus::Other("legacy-step".to_owned()));
    assert_eq!(row.6, AgentRunStatus::Shutdown);
    assert_eq!(row.7, None);
}

#[tokio::test]
async fn null_into_non_optional_enum_is_an_error_not_a_panic() {
    let mut conn = connect().await;
    sqlx::query("INSERT INTO t (id) VALUES (1)")
        .execute(&mut conn)
        .await
        .unwrap();
    let result: Result<(SkillSource,), _> = sqlx::query_as("SELECT source FROM t")
        .fetch_one(&mut conn)
        .await;
    assert!(result.is_err());
    let ok: (Option<SkillSource>,) = sqlx::query_as("SELECT source FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ok.0, None);
}
