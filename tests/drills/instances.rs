//! Two instances on one database: contending transitions on the same dispute have exactly
//! one winner per version (the rest CONFLICT), and one idempotency key sent to both makes
//! one dispute.

use std::collections::{HashMap, HashSet};

use entity::dispute;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::harness::{
    Answer, REPORT, backend, client, codes, post, report_input, spawn_instance, summary, transition,
};
use crate::support::TestDb;
use crate::support::tokens::token;

const DISPUTES: usize = 4;
const CONTENDERS: usize = 8;
const KEYS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_have_one_winner_per_version_and_one_dispute_per_key() {
    let test_db = TestDb::new().await;
    let mut bases = Vec::new();
    for _ in 0..2 {
        bases.push(spawn_instance(test_db.url(), |_| {}).await);
    }
    let admin = token("ADMIN", "KESBANGPOL_DKI");
    let client = client();
    let mut requests = 0u64;
    let mut other = Vec::new();

    let (mut winners, mut conflicts) = (0u64, 0u64);
    for d in 0..DISPUTES {
        let body = json!({ "query": REPORT, "variables": { "input": report_input("Dua instans", &format!("two-{d}")) } });
        let Answer::Http { body, .. } = post(&client, &bases[d % 2], Some(&admin), &body).await
        else {
            panic!("the report is answered");
        };
        let id = body["data"]["reportDispute"]["dispute"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for version in 1..=4i64 {
            let contenders = (0..CONTENDERS).map(|n| {
                let input = json!({ "id": id, "expectedVersion": version, "note": format!("two-{d}-{version}-{n}") });
                let body = if version == 1 {
                    transition("verifyDispute", "TransitionInput", input)
                } else {
                    transition("addNote", "AddNoteInput", input)
                };
                let (client, base, admin) = (client.clone(), bases[n % 2].clone(), admin.clone());
                async move { post(&client, &base, Some(&admin), &body).await }
            });
            let answers = futures_util::future::join_all(contenders).await;
            requests += answers.len() as u64;
            let mut won = 0;
            for answer in answers {
                match &answer {
                    Answer::Http { status: 200, body } if body.get("errors").is_none() => won += 1,
                    Answer::Http { body, .. } if codes(body) == ["CONFLICT"] => conflicts += 1,
                    _ => other.push(format!("{answer:?}")),
                }
            }
            assert_eq!(
                won, 1,
                "dispute {d}, version {version}: exactly one winner ({other:?})"
            );
            winners += 1;
        }
    }

    let mut ids_per_key = Vec::new();
    for k in 0..KEYS {
        let key = format!("same-key-{k}");
        let sends = (0..CONTENDERS).map(|n| {
            let body = json!({ "query": REPORT, "variables": { "input": report_input("Kunci sama", &key) } });
            let (client, base, admin) = (client.clone(), bases[n % 2].clone(), admin.clone());
            async move { post(&client, &base, Some(&admin), &body).await }
        });
        let answers = futures_util::future::join_all(sends).await;
        requests += answers.len() as u64;
        let mut ids = HashSet::new();
        let mut first = 0;
        for answer in answers {
            match &answer {
                Answer::Http { status: 200, body } if body.get("errors").is_none() => {
                    ids.insert(
                        body["data"]["reportDispute"]["dispute"]["id"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                    if body["data"]["reportDispute"]["replayed"] == false {
                        first += 1;
                    }
                }
                _ => other.push(format!("{answer:?}")),
            }
        }
        assert_eq!(ids.len(), 1, "key {key}: one dispute ({other:?})");
        assert_eq!(first, 1, "key {key}: one first report, the rest replayed");
        ids_per_key.push(ids.len());
    }
    let db = sea_orm::Database::connect(test_db.url()).await.unwrap();
    let mut stored = HashMap::new();
    for k in 0..KEYS {
        let key = format!("same-key-{k}");
        let count = dispute::Entity::find()
            .filter(dispute::Column::IdempotencyKey.eq(key.clone()))
            .count(&db)
            .await
            .unwrap();
        stored.insert(key, count);
    }
    let _ = db.close().await;
    summary(
        &format!("two-instances-{}", backend()),
        &[
            ("requests", requests.to_string()),
            ("versions_contended", (DISPUTES * 4).to_string()),
            ("winners", winners.to_string()),
            ("conflicts", conflicts.to_string()),
            ("other", other.len().to_string()),
            ("keys", KEYS.to_string()),
            (
                "disputes_per_key",
                format!("{:?}", stored.values().collect::<Vec<_>>()).replace(' ', ""),
            ),
        ],
    );
    assert!(other.is_empty(), "only winners and CONFLICT: {other:#?}");
    assert!(stored.values().all(|&n| n == 1), "{stored:?}");
}
