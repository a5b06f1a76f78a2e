//! Group commit: concurrent units of work share transactions, and a unit that fails (an
//! error, a constraint violation, a panic) is rolled back alone, entries and rows, while
//! its neighbours in the same batch commit.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::{Backend, TestStore};
use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use veritrial::entities::{ledger_entry, ledger_head, organization};
use veritrial::error::AppError;
use veritrial::server::open_stores;
use veritrial::services::ledger::{self as service, Actor, NewEntry, Work};

const UNITS: usize = 120;

/// What unit `i` does, by `i % 4`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Behaviour {
    /// Appends, writes its own organisation, succeeds.
    Succeeds,
    /// Appends, writes an organisation whose name all such units share: one wins.
    Collides,
    /// Appends, writes, then refuses.
    Refuses,
    /// Appends, then panics.
    Panics,
}

fn behaviour(i: usize) -> Behaviour {
    [
        Behaviour::Succeeds,
        Behaviour::Collides,
        Behaviour::Refuses,
        Behaviour::Panics,
    ][i % 4]
}

fn entry(i: usize) -> NewEntry {
    NewEntry {
        kind: EntryKind::Other("test.unit".to_string()),
        actor: Actor {
            user_id: "tester".into(),
            org_id: "test".into(),
        },
        subjects: BTreeMap::from([("unit".to_string(), i.to_string())]),
        payload: serde_json::json!({ "unit": i }),
    }
}

async fn unit(work: &mut Work, i: usize) -> Result<u64, AppError> {
    let appended = work.append_one(entry(i)).await?;
    let name = match behaviour(i) {
        Behaviour::Collides => "shared name".to_string(),
        Behaviour::Panics => panic!("unit {i} panics on purpose"),
        _ => format!("unit {i}"),
    };
    organization::Entity::insert(organization::ActiveModel {
        id: Set(format!("org-{i}")),
        name: Set(name),
        kind: Set("site".to_string()),
        created_at: Set(Utc::now()),
    })
    .exec(work.db())
    .await
    .map_err(|err| AppError::unique_or_internal(err, "the name is taken"))?;
    if behaviour(i) == Behaviour::Refuses {
        return Err(AppError::conflict("refused on purpose"));
    }
    Ok(appended.seq)
}

async fn failures_are_isolated_within_a_batch(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let stores = open_stores(&store.config()).await.unwrap();
    let outcomes = futures::future::join_all((0..UNITS).map(|i| {
        let writer = stores.writer.clone();
        async move {
            writer
                .run(move |work| Box::pin(async move { unit(work, i).await }))
                .await
        }
    }))
    .await;

    let mut seqs = Vec::new();
    let mut collision_winners = 0;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match (behaviour(i), outcome) {
            (Behaviour::Succeeds, Ok(seq)) => seqs.push(seq),
            (Behaviour::Collides, Ok(seq)) => {
                collision_winners += 1;
                seqs.push(seq);
            }
            (Behaviour::Collides, Err(err)) => assert_eq!(err.code(), "CONFLICT", "unit {i}"),
            (Behaviour::Refuses, Err(err)) => assert_eq!(err.code(), "CONFLICT", "unit {i}"),
            (Behaviour::Panics, Err(err)) => assert_eq!(err.code(), "INTERNAL", "unit {i}"),
            (expected, outcome) => panic!("unit {i} ({expected:?}) ended {outcome:?}"),
        }
    }
    assert_eq!(
        collision_winners, 1,
        "exactly one unit gets the shared name"
    );

    // The survivors' entries, and nothing else, make the chain: no gaps, no leftovers.
    seqs.sort_unstable();
    let kept = seqs.len() as u64;
    assert_eq!(kept, (UNITS / 4 + 1) as u64);
    assert_eq!(seqs, (0..kept).collect::<Vec<_>>());
    let report = service::verify(&stores.db, &stores.ledger).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, kept);

    // The survivors' rows, and nothing else, are stored.
    let orgs = organization::Entity::find().all(&stores.db).await.unwrap();
    let mut stored: Vec<usize> = orgs
        .iter()
        .map(|org| org.id.trim_start_matches("org-").parse().unwrap())
        .collect();
    stored.sort_unstable();
    assert_eq!(stored.len() as u64, kept);
    assert!(
        stored
            .iter()
            .all(|&i| matches!(behaviour(i), Behaviour::Succeeds | Behaviour::Collides)),
        "rows of failed units were rolled back: {stored:?}"
    );

    // Timestamps never go backwards along the chain.
    let entries = ledger_entry::Entity::find()
        .order_by_asc(ledger_entry::Column::Seq)
        .all(&stores.db)
        .await
        .unwrap();
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
    );

    // Concurrent units shared transactions: fewer lock-taking transactions than units.
    let head = ledger_head::Entity::find_by_id(1)
        .one(&stores.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        (head.appends as usize) < UNITS,
        "{} transactions for {UNITS} units",
        head.appends
    );
}

on_both_databases!(failures_are_isolated_within_a_batch);
