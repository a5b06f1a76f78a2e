//! The `veritrial` command line: administration commands, their errors and their help.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::{Backend, TestStore};

fn run(mut cmd: std::process::Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("veritrial runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("veritrial finishes")
}

fn veritrial(store: &TestStore, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = store.cli();
    cmd.args(args);
    run(cmd, stdin)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn organisations_and_users(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    let add_org = veritrial(
        &store,
        &["org", "add", "--name", "St Mary's", "--kind", "site"],
        None,
    );
    assert!(add_org.status.success(), "{}", stderr(&add_org));
    assert!(stdout(&add_org).contains("added site organisation \"St Mary's\""));

    let dup = veritrial(
        &store,
        &["org", "add", "--name", "St Mary's", "--kind", "site"],
        None,
    );
    assert_eq!(dup.status.code(), Some(1));
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));

    let user_args = [
        "user",
        "add",
        "--email",
        "ana@stmarys.org",
        "--name",
        "A Person",
        "--org",
        "St Mary's",
        "--role",
        "site",
        "--password-stdin",
    ];
    let added = veritrial(&store, &user_args, Some("a long enough password\n"));
    assert!(added.status.success(), "{}", stderr(&added));

    let again = veritrial(&store, &user_args, Some("a long enough password\n"));
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("a user with email ana@stmarys.org already exists"));

    let unknown_org = veritrial(
        &store,
        &[
            "user",
            "add",
            "--email",
            "bo@x.org",
            "--name",
            "A Person",
            "--org",
            "Nowhere",
            "--role",
            "site",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert_eq!(unknown_org.status.code(), Some(1));
    assert!(stderr(&unknown_org).contains("no organisation is named \"Nowhere\""));

    let no_password = veritrial(
        &store,
        &[
            "user",
            "add",
            "--email",
            "cy@x.org",
            "--name",
            "A Person",
            "--org",
            "St Mary's",
            "--role",
            "site",
            "--password-stdin",
        ],
        Some(""),
    );
    assert_eq!(no_password.status.code(), Some(1));
    assert!(stderr(&no_password).contains("no password on standard input"));

    let list = veritrial(&store, &["org", "list"], None);
    assert!(stdout(&list).contains("\tsite\tSt Mary's"));
    assert_eq!(stdout(&list).lines().count(), 1);
}

async fn migrate_is_idempotent(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    for _ in 0..2 {
        let out = veritrial(&store, &["migrate"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("up to date"));
    }
}

on_both_databases!(
    organisations_and_users,
    migrate_is_idempotent,
    import_failures_reach_a_piped_stderr
);

#[test]
fn password_is_never_taken_from_the_command_line() {
    let out = run(
        {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
            cmd.args([
                "user",
                "add",
                "--email",
                "a@b.org",
                "--org",
                "X",
                "--role",
                "site",
                "--password",
                "secret",
            ]);
            cmd
        },
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unexpected argument '--password'"));
}

#[test]
fn unreachable_database_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
    cmd.args(["migrate", "--data-dir"]).arg(tmp.path()).args([
        "--database-url",
        "postgres://vt:hunter2@127.0.0.1:1/veritrial",
    ]);
    let out = run(cmd, None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "cannot connect to the database (PostgreSQL at postgres://vt:***@127.0.0.1:1/veritrial)"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"));
}

#[test]
fn unwritable_data_directory_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
    cmd.args(["migrate", "--data-dir"]).arg(file.join("data"));
    let out = run(cmd, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot create the data directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_prints_the_contract() {
    let out = run(
        {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
            cmd.arg("schema");
            cmd
        },
        None,
    );
    assert!(out.status.success());
    let sdl = stdout(&out);
    assert!(sdl.contains("type Query"));
    assert!(sdl.contains("login(email: String!, password: String!): LoginPayload!"));
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["org", "add", "--help"],
        vec!["org", "list", "--help"],
        vec!["user", "add", "--help"],
        vec!["schema", "--help"],
        vec!["witness", "--help"],
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_veritrial"));
        cmd.args(&args);
        let out = run(cmd, None);
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage: veritrial"), "{args:?}");
    }
}

async fn import_failures_reach_a_piped_stderr(backend: Backend) {
    let Some(store) = TestStore::new(backend).await else {
        return;
    };
    store
        .org("Helix", veritrial::domain::OrgKind::Sponsor)
        .await;
    let file = store.data_dir.path().join("bad-studies.json");
    std::fs::write(&file, r#"{"studies": [{"protocolSection": 7}, 42]}"#).expect("write");
    let out = veritrial(
        &store,
        &[
            "import",
            "ctgov",
            file.to_str().expect("utf-8 path"),
            "--sponsor",
            "Helix",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let failures: Vec<&str> = err.lines().filter(|l| l.starts_with("failed: ")).collect();
    assert_eq!(failures.len(), 2, "{err}");
    assert!(failures[0].contains("position 0"), "{err}");
    assert!(stdout(&out).contains("failed 2"), "{}", stdout(&out));
}
