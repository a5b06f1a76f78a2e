//! Group commit: concurrent units of work share transactions, and a unit that fails (an
//! error, a constraint violation, a panic) is rolled back alone, entries and rows (written
//! at once or held back to be inserted with the batch), while its neighbours in the same
//! batch commit. A statement the database refuses outside a unit's savepoint fails the
//! whole batch: no caller is told a change was committed that was not.

mod common;

use std::collections::BTreeMap;

use chrono::Utc;
use common::{Backend, TestStore};
use ledger::EntryKind;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};
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
    /// Appends, holds its organisation back (`insert_later`), reads it back, succeeds.
    Holds,
    /// Appends, holds its organisation back, then refuses.
    HoldsThenRefuses,
}

fn behaviour(i: usize) -> Behaviour {
    [
        Behaviour::Succeeds,
        Behaviour::Collides,
        Behaviour::Refuses,
        Behaviour::Panics,
        Behaviour::Holds,
        Behaviour::HoldsThenRefuses,
    ][i % 6]
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

fn organization(i: usize, name: String) -> organization::ActiveModel {
    organization::ActiveModel {
        id: Set(format!("org-{i}")),
        name: Set(name),
        kind: Set("site".to_string()),
        created_at: Set(Utc::now()),
    }
}

async fn unit(work: &mut Work, i: usize) -> Result<u64, AppError> {
    let appended = work.append_one(entry(i))?;
    let name = match behaviour(i) {
        Behaviour::Collides => "shared name".to_string(),
        Behaviour::Panics => panic!("unit {i} panics on purpose"),
        _ => format!("unit {i}"),
    };
    if matches!(behaviour(i), Behaviour::Holds | Behaviour::HoldsThenRefuses) {
        work.insert_later(organization(i, name));
        // A read that may see a held row sees it.
        let found = organization::Entity::find_by_id(format!("org-{i}"))
            .one(work.db())
            .await?;
        if found.is_none() {
            return Err(AppError::Internal(anyhow::anyhow!("unit {i} lost its row")));
        }
    } else {
        organization::Entity::insert(organization(i, name))
            .exec(work.db())
            .await
            .map_err(|err| AppError::unique_or_internal(err, "the name is taken"))?;
    }
    if matches!(
        behaviour(i),
        Behaviour::Refuses | Behaviour::HoldsThenRefuses
    ) {
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
            (Behaviour::Succeeds | Behaviour::Holds, Ok(seq)) => seqs.push(seq),
            (Behaviour::Collides, Ok(seq)) => {
                collision_winners += 1;
                seqs.push(seq);
            }
            (Behaviour::Collides, Err(err)) => assert_eq!(err.code(), "CONFLICT", "unit {i}"),
            (Behaviour::Refuses | Behaviour::HoldsThenRefuses, Err(err)) => {
                assert_eq!(err.code(), "CONFLICT", "unit {i}")
            }
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
    assert_eq!(kept, (2 * UNITS / 6 + 1) as u64);
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
        stored.iter().all(|&i| matches!(
            behaviour(i),
            Behaviour::Succeeds | Behaviour::Collides | Behaviour::Holds
        )),
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

/// A unit that swallows a database error outside its savepoint (a read the database
/// refuses; PostgreSQL then aborts the transaction) cannot have its batch committed: every
/// unit of that batch is told so, and every unit told it committed has its row stored.
async fn a_refused_statement_fails_its_whole_batch(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let stores = open_stores(&store.config()).await.unwrap();
    const BAD: usize = 20;
    let outcomes = futures::future::join_all((0..40).map(|i| {
        let writer = stores.writer.clone();
        async move {
            writer
                .run(move |work| {
                    Box::pin(async move {
                        let appended = work.append_one(entry(i))?;
                        work.insert_later(organization(i, format!("unit {i}")));
                        if i == BAD {
                            let refused = work
                                .db()
                                .execute_unprepared("SELECT * FROM no_such_table")
                                .await;
                            if refused.is_ok() {
                                return Err(AppError::conflict("a missing table was read"));
                            }
                        }
                        Ok(appended.seq)
                    })
                })
                .await
        }
    }))
    .await;

    assert_eq!(
        outcomes[BAD].as_ref().map_err(AppError::code),
        Err("INTERNAL"),
        "the unit that swallowed the error is not committed"
    );
    let stored: Vec<String> = organization::Entity::find()
        .all(&stores.db)
        .await
        .unwrap()
        .into_iter()
        .map(|org| org.id)
        .collect();
    for (i, outcome) in outcomes.iter().enumerate() {
        let id = format!("org-{i}");
        match outcome {
            Ok(_) => assert!(
                stored.contains(&id),
                "unit {i} was acknowledged but not stored"
            ),
            Err(err) => {
                assert_eq!(err.code(), "INTERNAL", "unit {i}");
                assert!(
                    !stored.contains(&id),
                    "unit {i} failed but its row is stored"
                );
            }
        }
    }
    let report = service::verify(&stores.db, &stores.ledger).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked as usize, stored.len());
}

on_both_databases!(
    failures_are_isolated_within_a_batch,
    a_refused_statement_fails_its_whole_batch
);
