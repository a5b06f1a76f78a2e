//! The web app in a real browser: headless Chromium driven through ChromeDriver against a
//! server on a free port. Each role's main path is clicked through, the ledger page turns
//! red after the database is tampered with, and an expired session sends the user back to
//! sign in. Screenshots go to `target/test-artifacts/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test fails under
//! `CI=true` and is skipped (loudly) elsewhere.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use common::{Backend, PASSWORD, TestServer};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use thirtyfour::common::print::{PrintPage, PrintParameters};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;
use veritrial::domain::{OrgKind, Role};
use veritrial::server::open_stores;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(15);

const CRITERIA: &str = "age between 40 and 75 and condition = icd10:E11*";
const BAD_CRITERIA: &str = "age >= 40 and condition == icd10:E11";
/// Eligible consenting patients seeded at each site: St Mary's is counted, Northside suppressed.
const ST_MARYS_ELIGIBLE: usize = 14;
const NORTHSIDE_ELIGIBLE: usize = 3;

/// ChromeDriver on a free port, stopped on drop.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(format!("{}/status", self.url)).await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("chromedriver did not answer on {}", self.url)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the browser tools are installed; under `CI=true` their absence is a failure.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("{missing:?} not installed (apt-get install chromium chromium-driver)");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "browser tests cannot run under CI: {why}"
    );
    eprintln!("\n==== SKIPPED (browser tests): {why} ====\n");
    false
}

async fn open_browser(driver: &ChromeDriver, profile: &Path) -> anyhow::Result<WebDriver> {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM)?;
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
    ] {
        caps.add_arg(arg)?;
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.display()))?;
    veritrial::tls::install_crypto_provider();
    Ok(WebDriver::new(driver.url.as_str(), caps).await?)
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/screenshots")
}

/// The page, with the server's address and shortcuts for what the test does most.
struct Page<'a> {
    driver: &'a WebDriver,
    base: String,
}

impl Page<'_> {
    async fn open(&self, hash: &str) -> anyhow::Result<()> {
        self.driver.goto(format!("{}/{hash}", self.base)).await?;
        Ok(())
    }

    async fn find(&self, css: &str) -> anyhow::Result<WebElement> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.driver.find(By::Css(css)).await {
                Ok(el) => return Ok(el),
                Err(err) if Instant::now() > deadline => {
                    bail!("no element {css}: {err}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits until `css` shows text containing `needle`; returns the whole text.
    async fn wait_text(&self, css: &str, needle: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.driver.find(By::Css(css)).await
                && let Ok(text) = el.text().await
            {
                if text.contains(needle) {
                    return Ok(text);
                }
                last = text;
            }
            if Instant::now() > deadline {
                bail!("{css} never showed {needle:?}; it showed {last:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css).await?.click().await?;
        Ok(())
    }

    async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        el.clear().await?;
        el.send_keys(text).await?;
        Ok(())
    }

    /// Runs `script` with the element `css` as `arguments[0]` and `arg` as `arguments[1]`.
    async fn script_on(&self, css: &str, script: &str, arg: Value) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.driver
            .execute(script, vec![el.to_json()?, arg])
            .await?;
        Ok(())
    }

    /// Sets a value directly (date inputs take typed text in the locale's format).
    async fn set_value(&self, css: &str, value: &str) -> anyhow::Result<()> {
        self.script_on(css, "arguments[0].value = arguments[1];", json!(value))
            .await
    }

    async fn select(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        SelectElement::new(&el)
            .await?
            .select_by_value(value)
            .await?;
        Ok(())
    }

    /// Saves a screenshot with `css` scrolled to the top of the window.
    async fn screenshot(&self, name: &str, css: &str) -> anyhow::Result<()> {
        self.script_on(
            css,
            "arguments[0].scrollIntoView({ block: 'start' });",
            Value::Null,
        )
        .await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        self.driver
            .screenshot(&dir.join(format!("{name}.png")))
            .await?;
        Ok(())
    }

    /// At phone width nothing scrolls sideways; back to 1280 px afterwards.
    async fn at_phone_width(&self, name: &str) -> anyhow::Result<()> {
        self.driver.set_window_rect(0, 0, 390, 844).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let overflow = self
            .driver
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await?
            .convert::<i64>()?;
        // The deepest elements that stick out, to say what to fix.
        let culprits = self
            .driver
            .execute(
                "const out = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1)); return out.slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} (${Math.round(e.getBoundingClientRect().right)} px)`).join(', ');",
                vec![],
            )
            .await?
            .convert::<String>()?;
        self.screenshot(name, "body").await?;
        self.driver.set_window_rect(0, 0, 1280, 1000).await?;
        assert!(
            overflow <= 0,
            "{name}: the page is {overflow} px wider than a phone: {culprits}"
        );
        Ok(())
    }

    async fn sign_in(&self, email: &str) -> anyhow::Result<()> {
        self.open("#/").await?;
        self.driver
            .execute("sessionStorage.clear();", vec![])
            .await?;
        self.driver.refresh().await?;
        self.type_into("#login input[name=email]", email).await?;
        self.type_into("#login input[name=password]", PASSWORD)
            .await?;
        self.click("#login button[type=submit]").await?;
        self.find("#sign-out").await?;
        Ok(())
    }
}

const REGISTER: &str =
    "mutation($i: RegisterPatientInput!) { registerPatient(input: $i) { pseudonym } }";
const CONSENT: &str = "mutation($p: String!) { recordConsent(pseudonym: $p, scope: RECRUITMENT_CONTACT, granted: true, consentFormVersion: \"v1\", patientSignedOn: \"2026-12-01\", password: \"test-password-123\") { ledgerSeq } }";

async fn seed_patients(server: &TestServer, token: &str, prefix: &str, eligible: usize) {
    for i in 0..eligible + 2 {
        let diabetic = i < eligible;
        let input = json!({
            "localId": format!("{prefix}-{i}"),
            "birthDate": "1968-03-01",
            "sex": if i.is_multiple_of(2) { "FEMALE" } else { "MALE" },
            "zip": "02139",
            "conditions": if diabetic { vec!["icd10:E11.9"] } else { vec!["icd10:I10"] },
        });
        let data = server
            .ok(Some(token), REGISTER, json!({ "i": input }))
            .await;
        let pseudonym = data["registerPatient"]["pseudonym"].clone();
        server
            .ok(Some(token), CONSENT, json!({ "p": pseudonym }))
            .await;
    }
}

/// Organisations, users and consenting patients, seeded over GraphQL and the harness.
async fn seed(server: &TestServer) {
    server.org("Helix Therapeutics", OrgKind::Sponsor).await;
    server.org("St Mary's Hospital", OrgKind::Site).await;
    server.org("Northside Clinic", OrgKind::Site).await;
    server.org("TrialReach", OrgKind::Recruiter).await;
    server.org("Regional Ethics Board", OrgKind::Ethics).await;
    server
        .user("sponsor@helix.test", "Helix Therapeutics", Role::Sponsor)
        .await;
    let site = server
        .user("crc@stmarys.test", "St Mary's Hospital", Role::Site)
        .await;
    let north = server
        .user("crc@northside.test", "Northside Clinic", Role::Site)
        .await;
    server
        .user("rec@trialreach.test", "TrialReach", Role::Recruiter)
        .await;
    server
        .user("irb@board.test", "Regional Ethics Board", Role::Ethics)
        .await;
    seed_patients(server, &site, "SM", ST_MARYS_ELIGIBLE).await;
    seed_patients(server, &north, "NS", NORTHSIDE_ELIGIBLE).await;
}

/// The trial the sponsor published, as the API reports it.
async fn the_trial(server: &TestServer) -> Value {
    let token = server.login("sponsor@helix.test").await;
    server
        .ok(
            Some(&token),
            "{ trials { id versions { version ledgerSeq hash } } }",
            json!({}),
        )
        .await["trials"][0]
        .clone()
}

async fn sponsor(page: &Page<'_>, server: &TestServer) -> anyhow::Result<Value> {
    page.sign_in("sponsor@helix.test").await?;
    page.wait_text("#who", "Helix Therapeutics").await?;
    page.wait_text("#role", "sponsor").await?;
    page.open("#/sponsor/new").await?;
    page.type_into(
        "#protocol-form input[name=title]",
        "Metformin XR in type 2 diabetes",
    )
    .await?;
    page.type_into(
        "#protocol-form input[name=primaryEndpoint]",
        "Change in HbA1c at 24 weeks",
    )
    .await?;
    // The sponsor chooses the participating sites and the ethics board from the directory.
    page.wait_text("#site-picker", "Northside Clinic").await?;
    for site in ["St Mary's Hospital", "Northside Clinic"] {
        page.click(&format!("#site-picker input[data-name=\"{site}\"]"))
            .await?;
    }
    let board = server
        .ok(
            Some(&server.login("sponsor@helix.test").await),
            "{ directory { id name } }",
            json!({}),
        )
        .await["directory"]
        .as_array()
        .context("directory")?
        .iter()
        .find(|o| o["name"] == "Regional Ethics Board")
        .and_then(|o| o["id"].as_str())
        .context("the board is in the directory")?
        .to_string();
    page.select("#protocol-form select[name=ethicsBoardId]", &board)
        .await?;
    page.screenshot("sponsor-sites-and-board", "#site-picker")
        .await?;
    page.type_into("#criteria", BAD_CRITERIA).await?;
    let error = page.wait_text("#criteria-error", "line 1, column").await?;
    let mark = page.find("#criteria-error-mark").await?.text().await?;
    assert_eq!(mark, "=", "the error is marked at its position: {error}");
    page.screenshot("sponsor-criteria-error", "#protocol-form .criteria-editor")
        .await?;
    page.type_into("#criteria", CRITERIA).await?;
    page.wait_text("#criteria-ok", "valid").await?;
    page.click("#count-cohort").await?;
    let shown = page.wait_text("#cohort-count", "").await?;
    assert_near(&shown, ST_MARYS_ELIGIBLE + NORTHSIDE_ELIGIBLE)?;
    page.wait_text("#funnel", "condition").await?;
    page.wait_text("#cohort-privacy", "privacy budget").await?;
    page.screenshot("sponsor-protocol", "#protocol-form .criteria-editor")
        .await?;
    // The case-report forms, with a preview of what sites will fill in.
    page.click("#forms-example").await?;
    page.wait_text("#forms-preview", "Preview: Vital signs")
        .await?;
    // Publishing is the sponsor's electronic signature.
    page.type_into("#publish-password", PASSWORD).await?;
    page.click("#protocol-form button[type=submit]").await?;
    page.wait_text("#versions", "Protocol versions").await?;
    page.wait_text("#versions", "Signed by Sponsor (sponsor)")
        .await?;
    let trial = the_trial(server).await;
    let v1 = &trial["versions"][0];
    let seq = format!("#{}", v1["ledgerSeq"]);
    let versions = page.wait_text("#versions", &seq).await?;
    let hash = v1["hash"].as_str().context("hash")?;
    assert!(versions.contains(&hash[..12]), "{versions}");

    // An amendment with its reason becomes version 2.
    page.type_into("#amend-form input[name=targetEnrollment]", "150")
        .await?;
    page.type_into("#amend-form input[name=reason]", "Power recalculated")
        .await?;
    page.type_into("#amend-password", PASSWORD).await?;
    page.click("#amend-form button[type=submit]").await?;
    page.wait_text("#versions", "Power recalculated").await?;
    page.wait_text("#versions", "targetEnrollment").await?;

    page.open("#/sponsor").await?;
    page.wait_text("main", "Metformin XR in type 2 diabetes")
        .await?;
    page.wait_text("main", "0 / 150").await?;
    page.screenshot("sponsor", "body").await?;
    Ok(trial)
}

async fn recruiter(page: &Page<'_>, trial_id: &str) -> anyhow::Result<()> {
    page.sign_in("rec@trialreach.test").await?;
    page.wait_text("#role", "recruiter").await?;
    page.select("#trial-pick", trial_id).await?;
    let shown = page.wait_text("#cohort-count", "").await?;
    assert_near(&shown, ST_MARYS_ELIGIBLE + NORTHSIDE_ELIGIBLE)?;
    let cohort = page
        .wait_text("#trial-cohort", "St Mary's Hospital")
        .await?;
    assert!(cohort.contains("Northside Clinic"), "{cohort}");
    assert!(
        cohort.contains("±39"),
        "the noise's margin is shown: {cohort}"
    );
    // Acting on many people asks first.
    page.click("#invite").await?;
    page.wait_text("#invite-confirm", "Invite every consenting patient")
        .await?;
    page.click("#invite-yes").await?;
    page.wait_text("#invite-message", "Invited: ").await?;
    page.screenshot("recruiter", "body").await?;
    page.at_phone_width("recruiter-phone").await?;

    page.select("#trial-pick", "").await?;
    page.type_into("#criteria", "age > 200").await?;
    page.wait_text("#criteria-ok", "1 clause").await?;
    page.click("#count-cohort").await?;
    let shown = page.wait_text("#cohort-count", "").await?;
    assert_near(&shown, 0)?;
    Ok(())
}

/// A shown count is "fewer than 11" or a number within six noise deviations of `exact`.
fn assert_near(shown: &str, exact: usize) -> anyhow::Result<()> {
    let shown = shown.trim();
    if shown == "fewer than 11" {
        return Ok(());
    }
    let value: i64 = shown
        .parse()
        .with_context(|| format!("a count, not {shown:?}"))?;
    anyhow::ensure!(
        (value - exact as i64).abs() <= 6 * 20,
        "{value} is too far from {exact}"
    );
    Ok(())
}

/// Registers a patient through the form and returns the pseudonym the page shows.
async fn register(page: &Page<'_>, local_id: &str, birth: &str) -> anyhow::Result<String> {
    page.open("#/site").await?;
    page.wait_text("#privacy-note", "Discarded").await?;
    page.type_into("#register-form input[name=localId]", local_id)
        .await?;
    page.set_value("#register-form input[name=birthDate]", birth)
        .await?;
    page.type_into("#register-form input[name=zip]", "02139-4307")
        .await?;
    // The condition is found by its name and picked, not typed as a bare code.
    page.type_into("#condition-search", "type 2 diabetes without complications")
        .await?;
    page.click("#condition-results button[data-code=\"icd10:E11.9\"]")
        .await?;
    let picked = page
        .find("#register-form input[name=conditions]")
        .await?
        .prop("value")
        .await?;
    assert_eq!(picked.as_deref(), Some("icd10:E11.9"));
    page.click("#register-form button[type=submit]").await?;
    let pseudonym = page.find("#pseudonym").await?.text().await?;
    assert!(
        pseudonym.len() >= 32,
        "a pseudonym, not the local id: {pseudonym}"
    );
    page.wait_text("main", "021").await?;
    // Codes are shown with their names.
    page.wait_text(
        "main",
        "icd10:E11.9 Type 2 diabetes mellitus without complications",
    )
    .await?;
    Ok(pseudonym)
}

async fn consent_to_trial(page: &Page<'_>, trial_id: &str) -> anyhow::Result<()> {
    page.select("#consent select[name=scope]", "TRIAL_PARTICIPATION")
        .await?;
    page.select("#consent select[name=trial]", trial_id).await?;
    // Consent is signed by the staff member who took it, with the form's version.
    page.type_into("#consent-form-version", "v3.0 (2026-11-01)")
        .await?;
    page.type_into("#consent-password", PASSWORD).await?;
    page.click("#grant-consent").await?;
    page.wait_text(
        "#consent-message",
        "Consent granted, signed by Crc (ledger entry #",
    )
    .await?;
    Ok(())
}

async fn site(page: &Page<'_>, trial_id: &str) -> anyhow::Result<()> {
    page.sign_in("crc@stmarys.test").await?;
    page.wait_text("#who", "St Mary's Hospital").await?;
    page.wait_text("#privacy-note", "Discarded").await?;
    page.screenshot("site-register", "body").await?;
    page.at_phone_width("site-register-phone").await?;

    // An ineligible patient (too young) is refused with the reason.
    register(page, "SM-UI-YOUNG", "2012-05-04").await?;
    consent_to_trial(page, trial_id).await?;
    page.click("#enroll-button").await?;
    page.wait_text("#enroll-message", "Refused:").await?;
    page.wait_text("#enroll-message", "does not meet the criteria")
        .await?;

    // An eligible one is enrolled, and the consent receipt is shown.
    let pseudonym = register(page, "SM-UI-1", "1965-09-14").await?;
    // The site finds the patient again by its own number, and in its list of patients.
    page.open("#/site").await?;
    page.type_into("#find-local-id", "SM-UI-1").await?;
    page.click("#find-form button[type=submit]").await?;
    page.wait_text("#pseudonym", &pseudonym).await?;
    page.open("#/site").await?;
    page.wait_text("#patients-range", " of ").await?;
    page.type_into("#filter-pseudonym", &pseudonym[..10])
        .await?;
    page.click("#patient-filters button[type=submit]").await?;
    page.wait_text("#patients-range", "1\u{2013}1 of 1").await?;
    page.screenshot("site-patients", "#patients").await?;
    page.click("#patient-list a[href*=patient]").await?;
    page.wait_text("#pseudonym", &pseudonym).await?;
    page.wait_text("#matching-trials", "Trials this patient may fit")
        .await?;
    page.wait_text("#consent-history", "No consent recorded yet")
        .await?;
    consent_to_trial(page, trial_id).await?;
    page.click("#enroll-button").await?;
    page.wait_text("#enroll-message", "Enrolled under protocol version 2")
        .await?;
    page.select("#receipt-card select[name=scope]", "TRIAL_PARTICIPATION")
        .await?;
    page.select("#receipt-card select[name=trial]", trial_id)
        .await?;
    page.click("#show-receipt").await?;
    // The receipt reads as words: the consent, its form, who took it, how to check it.
    let receipt = page
        .wait_text(
            "#receipt",
            "version v3.0 (2026-11-01), signed by the patient on",
        )
        .await?;
    assert!(
        receipt.contains("take part in the trial") && receipt.contains("Signed by Crc (site)"),
        "{receipt}"
    );
    page.wait_text("#receipt", "Download .json").await?;
    page.screenshot("site-patient", "#receipt-card").await?;
    // Printed, the receipt fits one page, on A4 and on Letter.
    for (paper, width, height) in [("A4", 21.0, 29.7), ("Letter", 21.59, 27.94)] {
        let pdf = page
            .driver
            .print_page(PrintParameters {
                page: PrintPage { width, height },
                ..PrintParameters::default()
            })
            .await?;
        assert_eq!(pdf_pages(&pdf), 1, "the receipt prints on one {paper} page");
    }
    // The check link verifies the receipt in the browser, without the session; a link whose
    // leaf hash was altered does not verify.
    let link = page
        .find("#check-link")
        .await?
        .attr("href")
        .await?
        .context("href")?;
    page.open(&link).await?;
    page.wait_text(
        "#check-result",
        "Verified: the consent is in the ledger, unchanged",
    )
    .await?;
    page.screenshot("receipt-check", "main").await?;
    let leaf = link.split('/').nth(3).context("leaf hash")?;
    let flipped = format!(
        "{}{}",
        if leaf.starts_with('0') { "1" } else { "0" },
        &leaf[1..]
    );
    page.open(&link.replacen(leaf, &flipped, 1)).await?;
    page.wait_text(
        "#check-result",
        "Not verified: the entry this link names is not in the signed ledger",
    )
    .await?;

    // Invitations from the recruiter, the enrollment, and its case-report data.
    page.open(&format!("#/site/trial/{trial_id}")).await?;
    page.wait_text("#invitations", "Patients invited").await?;
    // The work list: one click records a follow-up, counted by status.
    page.wait_text("#worklist-counts", "new (").await?;
    page.click("#worklist button[data-outcome=CONTACTED]")
        .await?;
    page.wait_text("#worklist-counts", "contacted (1)").await?;
    page.screenshot("site-worklist", "#invitations").await?;
    page.wait_text("#enrollments", "enrolled").await?;
    page.screenshot("site", "body").await?;
    page.click("#enrollments a[href*=enrollment]").await?;
    // The protocol's form, generated: a value out of range is shown at once and blocks saving,
    // until corrected.
    page.wait_text("#submit-form", "Systolic blood pressure (60 to 250 mmHg)")
        .await?;
    page.set_value("#submit-visitDate", "2026-11-20").await?;
    page.type_into("#submit-systolic", "300").await?;
    page.wait_text(
        "#submit-systolic-error",
        "300 is above the maximum, 250 mmHg",
    )
    .await?;
    page.click("#submit-record").await?;
    page.wait_text("#submit-message", "Some fields need attention")
        .await?;
    page.screenshot("site-form-error", "#submit-form").await?;
    page.type_into("#submit-systolic", "132").await?;
    let cleared = page.find("#submit-systolic-error").await?.text().await?;
    assert_eq!(cleared, "", "the error goes once the value is in range");
    page.select("#submit-arm", "A").await?;
    page.click("#submit-record").await?;
    page.wait_text("#submissions", "Systolic blood pressure: 132 mmHg")
        .await?;
    page.type_into("#correct-systolic", "128").await?;
    page.type_into("#correct-form input[name=reason]", "Scale misread")
        .await?;
    page.type_into("#correct-password", PASSWORD).await?;
    page.click("#correct-form button[type=submit]").await?;
    page.wait_text("#submissions", "Scale misread").await?;
    page.wait_text(
        "#submissions",
        "Systolic blood pressure: 132 mmHg → 128 mmHg",
    )
    .await?;
    page.wait_text("#submissions", "I attest that this correction is accurate")
        .await?;
    // The investigator signs off the case report; it is current until the next change.
    page.wait_text("#sign-off-state", "Not signed off yet")
        .await?;
    page.type_into("#sign-off-password", PASSWORD).await?;
    page.click("#sign-off-form button[type=submit]").await?;
    page.wait_text("#sign-off-state", "Signed off, unchanged since")
        .await?;
    page.screenshot("site-sign-off", "#sign-off-form").await?;
    let scan = tempfile::tempdir()?;
    let scan_path = scan.path().join("ecg.txt");
    std::fs::write(&scan_path, "ECG 12-lead: sinus rhythm")?;
    page.find("#attachment-file")
        .await?
        .send_keys(scan_path.display().to_string())
        .await?;
    page.click("#attachment-form button[type=submit]").await?;
    let sha = hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        b"ECG 12-lead: sinus rhythm",
    ));
    page.wait_text("#upload-message", &format!("SHA-256 {sha}"))
        .await?;
    let progress = page.find("#upload-progress").await?.prop("value").await?;
    assert_eq!(progress.as_deref(), Some("1"), "the progress bar is full");
    page.screenshot("site-data", "#submissions").await?;
    Ok(())
}

/// The number of pages of a PDF that Chromium printed (its page objects).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

/// The sponsor's monitor reads the site's record and raises a query on it; the site answers
/// it (on the record's page); the monitor closes it.
async fn data_query(page: &Page<'_>, trial_id: &str) -> anyhow::Result<()> {
    page.sign_in("sponsor@helix.test").await?;
    page.open(&format!("#/sponsor/trial/{trial_id}")).await?;
    page.wait_text("#monitor-records", "Systolic blood pressure: 128 mmHg")
        .await?;
    page.select("#query-field", "systolic").await?;
    page.type_into(
        "#query-question",
        "128 mmHg after 300 was typed: please confirm against the source",
    )
    .await?;
    page.click("#raise-query").await?;
    page.wait_text("#monitor-queries", "open").await?;
    page.screenshot("sponsor-data-query", "#monitor-queries")
        .await?;

    page.sign_in("crc@stmarys.test").await?;
    page.open(&format!("#/site/trial/{trial_id}")).await?;
    page.click("#enrollments a[href*=enrollment]").await?;
    page.wait_text("#data-queries", "please confirm against the source")
        .await?;
    page.type_into(
        "#data-queries textarea[name=answer]",
        "Confirmed against the chart: 128 mmHg",
    )
    .await?;
    page.click("#data-queries button[type=submit]").await?;
    page.wait_text("#data-queries", "Answer: “Confirmed against the chart")
        .await?;
    page.screenshot("site-data-query", "#data-queries").await?;

    page.sign_in("sponsor@helix.test").await?;
    page.open(&format!("#/sponsor/trial/{trial_id}")).await?;
    page.wait_text("#monitor-queries", "answered").await?;
    page.click("#monitor-queries button").await?;
    page.wait_text("#monitor-queries", "closed").await?;
    page.click("#export-vitals").await?;
    page.wait_text("#export-message", ".vitals.csv").await?;
    page.click("#export-odm").await?;
    page.wait_text("#export-message", ".odm.xml").await?;
    Ok(())
}

/// The board reviews the amended protocol: a rejection without a comment is refused, then
/// the board approves version 2, which opens invitations and enrollment.
async fn board_approves(page: &Page<'_>, trial_id: &str) -> anyhow::Result<()> {
    page.sign_in("irb@board.test").await?;
    page.wait_text("#role", "ethics").await?;
    page.open(&format!("#/ethics/trial/{trial_id}")).await?;
    page.wait_text("#review", "Review version 2").await?;
    page.wait_text("#versions", "Awaiting review").await?;
    page.click("#reject-version").await?;
    page.wait_text("#review-message", "needs a comment").await?;
    page.type_into("#review-comment", "Power calculation checked.")
        .await?;
    // The decision is signed with the member's password: a wrong one is refused.
    page.type_into("#review-password", "not-the-password")
        .await?;
    page.click("#approve-version").await?;
    page.wait_text("#review-message", "password does not match")
        .await?;
    page.type_into("#review-password", PASSWORD).await?;
    page.screenshot("ethics-review", "#review").await?;
    page.click("#approve-version").await?;
    let versions = page.wait_text("#versions", "Approved").await?;
    assert!(
        versions.contains("Power calculation checked.")
            && versions.contains("Signed by Irb (ethics board)"),
        "{versions}"
    );
    Ok(())
}

async fn ethics(page: &Page<'_>, server: &TestServer, trial_id: &str) -> anyhow::Result<()> {
    page.sign_in("irb@board.test").await?;
    page.wait_text("#role", "ethics").await?;
    page.wait_text("#checkpoint", "\u{2014} ").await?;
    page.wait_text("#public-key", "+").await?;
    page.click("#verify-ledger").await?;
    page.wait_text("#verdict", "Ledger verified").await?;
    page.click("#download-export").await?;
    page.wait_text("#ledger-message", "Saved veritrial-ledger.jsonl")
        .await?;
    page.screenshot("ethics", "body").await?;

    page.open(&format!("#/ethics/trial/{trial_id}")).await?;
    let timeline = page.wait_text("#timeline", "Participant enrolled").await?;
    assert!(
        timeline.contains("Protocol amended") && timeline.contains("protocol.amended"),
        "kinds in words, with their codes: {timeline}"
    );
    assert!(
        timeline.contains("by Crc (site), St Mary's Hospital"),
        "people by name and role: {timeline}"
    );
    page.wait_text("#activity-chart", "enrollments (1)").await?;
    page.screenshot("ethics-activity", "#activity-chart")
        .await?;
    // The trail filters by kind: only the signatures are left.
    page.select("#filter-kind", "record.signed").await?;
    let signatures = page.wait_text("#audit-trail h3", "Audit trail (").await?;
    let filtered = page.find("#timeline").await?.text().await?;
    assert!(
        filtered.contains("Electronic signature") && !filtered.contains("Participant enrolled"),
        "{signatures}: {filtered}"
    );
    page.select("#filter-kind", "").await?;
    let versions = page.wait_text("#versions", "Version 2").await?;
    assert!(versions.contains("Power recalculated"), "{versions}");
    page.screenshot("ethics-trail", "body").await?;
    page.click("#download-report").await?;
    page.wait_text("#report-message", "Saved the audit report")
        .await?;

    // The audit report opens in the browser and reads right.
    let token = server.login("irb@board.test").await;
    let report = server
        .http
        .get(server.url(&format!("/trials/{trial_id}/report")))
        .bearer_auth(&token)
        .send()
        .await?
        .text()
        .await?;
    let file = server.store.data_dir.path().join("audit-report.html");
    std::fs::write(&file, report)?;
    page.driver
        .goto(format!("file://{}", file.display()))
        .await?;
    let body = page.driver.find(By::Css("body")).await?.text().await?;
    assert!(body.contains("Intact:"), "{body}");
    assert!(body.contains("Power recalculated"), "{body}");
    assert!(
        body.contains("approved") && body.contains("Power calculation checked."),
        "the review is in the report: {body}"
    );
    assert!(
        body.contains("Signed by Sponsor (sponsor)") && body.contains("Signed by Irb (ethics)"),
        "the signatures are in the report: {body}"
    );
    page.screenshot("ethics-report", "body").await?;

    // Someone edits the stored payload of the enrollment behind the ledger's back.
    let token = server.login("irb@board.test").await;
    let trail = server
        .ok(
            Some(&token),
            "query($t: ID!) { auditTrail(trialId: $t) { events { seq kind } } }",
            json!({ "t": trial_id }),
        )
        .await;
    let seq = trail["auditTrail"]["events"]
        .as_array()
        .context("events")?
        .iter()
        .find(|e| e["kind"] == "enrollment.created")
        .and_then(|e| e["seq"].as_i64())
        .context("the enrollment's entry")?;
    let stores = open_stores(&server.store.config()).await?;
    stores
        .db
        .execute_unprepared(&format!(
            "UPDATE ledger_payloads SET body = '{{\"tampered\":true}}' WHERE seq = {seq}"
        ))
        .await?;
    page.open("#/ethics").await?;
    page.click("#verify-ledger").await?;
    page.wait_text("#verdict", &format!("FAILED at entry #{seq}"))
        .await?;
    let color = page.find("#verdict").await?.css_value("color").await?;
    assert_eq!(color, "rgba(160, 0, 0, 1)", "the verdict is red");
    page.screenshot("ethics-tampered", "body").await?;
    Ok(())
}

/// A token the server no longer accepts sends the user back to sign in, saying why.
async fn expired_session(page: &Page<'_>) -> anyhow::Result<()> {
    page.driver
        .execute(
            "const s = JSON.parse(sessionStorage.getItem('veritrial.session'));\
             s.token = 'expired.token.value';\
             sessionStorage.setItem('veritrial.session', JSON.stringify(s));",
            vec![],
        )
        .await?;
    page.open("#/").await?;
    page.wait_text("#login-message", "Your session expired, sign in again.")
        .await?;
    page.find("#login input[name=email]").await?;
    assert!(page.driver.find(By::Css("#sign-out")).await.is_err());
    page.screenshot("sign-in", "body").await?;

    // Signing out forgets the session.
    page.sign_in("irb@board.test").await?;
    page.click("#sign-out").await?;
    page.find("#login").await?;
    let kept = page
        .driver
        .execute(
            "return sessionStorage.getItem('veritrial.session');",
            vec![],
        )
        .await?;
    assert_eq!(
        kept.json(),
        &Value::Null,
        "the token is gone after signing out"
    );
    Ok(())
}

async fn every_role(page: &Page<'_>, server: &TestServer) -> anyhow::Result<()> {
    let trial = sponsor(page, server).await.context("sponsor")?;
    let trial_id = trial["id"].as_str().context("trial id")?;
    board_approves(page, trial_id)
        .await
        .context("board approves")?;
    recruiter(page, trial_id).await.context("recruiter")?;
    site(page, trial_id).await.context("site")?;
    data_query(page, trial_id).await.context("data query")?;
    ethics(page, server, trial_id).await.context("ethics")?;
    expired_session(page).await.context("session expiry")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_in_the_browser() {
    if !browser_available() {
        return;
    }
    let server = TestServer::start(Backend::Sqlite)
        .await
        .expect("SQLite server");
    seed(&server).await;
    let chromedriver = ChromeDriver::start().expect("chromedriver starts");
    chromedriver.ready().await.expect("chromedriver ready");
    let profile = tempfile::tempdir().expect("profile directory");
    let driver = open_browser(&chromedriver, profile.path())
        .await
        .expect("a Chromium session");
    let page = Page {
        driver: &driver,
        base: server.url(""),
    };
    let outcome = every_role(&page, &server).await;
    if outcome.is_err() {
        let _ = page.screenshot("failure", "body").await;
    }
    let _ = driver.quit().await;
    if let Err(err) = outcome {
        panic!("browser test failed: {err:#}");
    }
}
