#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
use skill_builder_app::{Database, bench};
use skill_builder_db::{skills, tags};
use std::time::Instant;
fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let db = Database::open(&path).await.unwrap();
        bench::seed_catalog(db.pool(), 2000).await.unwrap();
        let q: String = std::fs::read_dir("/work/main/.sqlx").unwrap().filter_map(|e| {
            let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
            let q = j["query"].as_str().unwrap().to_owned();
            q.contains("json_group_object(skill_name, json(tags))").then_some(q)
        }).next().unwrap();
        let r = rusqlite::Connection::open(&path).unwrap();
        for _ in 0..3 {
            let t = Instant::now(); let all = skills::list_all_skills(db.pool()).await.unwrap(); let a = t.elapsed();
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            let names_json = serde_json::to_string(&names).unwrap();
            let t = Instant::now(); let _m = tags::get_tags_for_skills(db.pool(), &names).await.unwrap(); let b = t.elapsed();
            let t = Instant::now(); let s: String = sqlx::query_scalar(sqlx::AssertSqlSafe(q.clone())).bind(&names_json).fetch_one(db.pool()).await.unwrap(); let c = t.elapsed();
            let t = Instant::now(); let s2: String = r.prepare_cached(&q).unwrap().query_row([&names_json], |row| row.get(0)).unwrap(); let d = t.elapsed();
            let t = Instant::now(); let v: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(&s2).unwrap(); let e = t.elapsed();
            println!("list {a:?} tags {b:?} | raw sqlx {c:?} raw rusqlite {d:?} decode {e:?} ({} bytes, {})", s.len(), v.len());
        }
    });
}
