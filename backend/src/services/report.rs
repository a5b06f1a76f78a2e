//! The audit report: one self-contained HTML document for a trial (protocol versions and
//! their hashes, amendments and flags, enrollment and data counts over time, the ledger
//! verification result, and the signed checkpoint) that prints cleanly to PDF.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::DateTime;
use ledger::export::Report;

use super::audit::{self, ActivityDay};
use super::ledger::{self as ledger_service, Head, StoredEntry, seq_i64};
use super::names::{Names, describe_kind};
use super::protocols::{TrialView, Version};
use super::signatures::{self, Signature, Signed};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::state::AppState;

/// The report of `trial_id` for `who` (who must be able to read its audit trail).
pub async fn trial_report(state: &AppState, who: &Principal, trial_id: &str) -> AppResult<String> {
    let (view, events) = audit::audit_trail(state, who, trial_id).await?;
    // An audit report vouches for the whole ledger: a full verification, not an incremental one.
    let verification = state
        .verifications
        .verify_scoped(&state.db, &state.ledger, ledger_service::Scope::Full)
        .await?;
    let head = match ledger_service::head(&state.db, &state.ledger).await? {
        Some(head) => head,
        None => state.ledger.sign_empty()?,
    };
    let names = Names::of(&state.db, events.iter().map(|s| &s.entry)).await?;
    let signed = signatures::of(&state.db, events.iter().map(|s| seq_i64(s.entry.seq))).await?;
    let trail = Trail {
        events: &events,
        names: &names,
        signed: &signed,
    };
    render(&view, &trail, &verification, &head)
}

/// The audit trail as the report prints it: entries, who they name, what was signed.
struct Trail<'a> {
    events: &'a [StoredEntry],
    names: &'a Names,
    /// Signatures by the sequence number of the entry they sign.
    signed: &'a HashMap<i64, Signed>,
}

impl Trail<'_> {
    /// "Name (role), Organisation" for an actor, or the ids when no account is known.
    fn who(&self, user_id: &str, org_id: &str) -> String {
        let org = self.names.organization(org_id).unwrap_or(org_id);
        match self.names.person(user_id) {
            Some(person) => format!("{} ({}), {org}", person.name, person.role),
            None => format!("{user_id}, {org}"),
        }
    }

    /// The signature of entry `seq`, in words, or an empty string.
    fn signature(&self, seq: i64) -> String {
        self.signed
            .get(&seq)
            .map(|signed| signature_text(&signed.signature, signed.seq))
            .unwrap_or_default()
    }
}

/// "Signed by Name (role) on date: “meaning” (entry n)".
fn signature_text(signature: &Signature, seq: i64) -> String {
    format!(
        "Signed by {} ({}) on {}: \u{201c}{}\u{201d} (entry {seq})",
        signature.signer_name,
        signature.signer_role,
        signature.signed_at.format("%Y-%m-%d %H:%M UTC"),
        signature.meaning
    )
}

fn render(
    view: &TrialView,
    trail: &Trail<'_>,
    verification: &Report,
    head: &Head,
) -> AppResult<String> {
    let events = trail.events;
    let mut html = String::new();
    let title = format!("Audit report: {}", view.trial.title);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(
        html,
        "<h1>{}</h1><p>Trial <code>{}</code>{} · status {} · generated {}</p>",
        escape(&view.trial.title),
        escape(&view.trial.id),
        view.trial
            .nct_id
            .as_deref()
            .map(|n| format!(" · {}", escape(n)))
            .unwrap_or_default(),
        escape(&view.trial.status),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );

    html.push_str("<h2>Ledger verification</h2>");
    if verification.ok {
        let _ = write!(
            html,
            "<p class=\"ok\">Intact: {} entries verified against the signed checkpoint.</p>",
            verification.entries_checked
        );
    } else {
        let first = verification
            .first_bad_seq
            .map(|s| format!("first bad entry {s}"))
            .unwrap_or_else(|| "the checkpoint".into());
        let _ = write!(
            html,
            "<p class=\"bad\">NOT intact ({}): {} problems.</p><ul>",
            escape(&first),
            verification.problems.len()
        );
        for problem in verification.problems.iter().take(20) {
            let _ = write!(html, "<li>{}</li>", escape(&problem.message));
        }
        html.push_str("</ul>");
    }

    html.push_str("<h2>Protocol versions</h2><table><tr><th>Version</th><th>Ledger entry</th><th>Document SHA-256</th><th>Primary endpoint</th><th>Reason</th><th>Flags and criteria clauses</th><th>Sponsor's signature</th><th>Ethics review</th></tr>");
    let mut previous = None;
    for version in &view.versions {
        let mut flags: Vec<String> =
            serde_json::from_str(&version.row.flags).map_err(anyhow::Error::from)?;
        if let Some(previous) = previous {
            let clauses = audit::clause_changes(previous, &version.document)?;
            flags.extend(clauses.added.iter().map(|c| format!("+ {c}")));
            flags.extend(clauses.removed.iter().map(|c| format!("\u{2212} {c}")));
        }
        previous = Some(&version.document);
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            version.row.version,
            version.row.ledger_seq,
            escape(&version.row.document_hash),
            escape(&version.document.primary_endpoint),
            escape(version.row.reason.as_deref().unwrap_or("")),
            if flags.is_empty() { "" } else { "bad" },
            escape(&flags.join(", ")),
            match trail.signature(version.row.ledger_seq).as_str() {
                "" => "unsigned (imported)".to_string(),
                text => escape(text),
            },
            review_cell(version, trail)
        );
    }
    html.push_str("</table>");

    html.push_str("<h2>Enrollment and data over time</h2>");
    html.push_str(&chart(events));

    html.push_str("<h2>Audit trail</h2><table><tr><th>Seq</th><th>When (UTC)</th><th>Event</th><th>By</th><th>Signature</th><th>Payload SHA-256</th></tr>");
    for stored in events {
        let e = &stored.entry;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            when(e.timestamp_ms),
            escape(&describe_kind(e.kind.as_str())),
            escape(e.kind.as_str()),
            escape(&trail.who(&e.actor_user, &e.actor_org)),
            escape(&trail.signature(seq_i64(e.seq))),
            e.payload_hash.to_hex()
        );
    }
    html.push_str("</table>");

    let _ = write!(
        html,
        "<h2>Signed checkpoint</h2><p>Tree size {} · root <code>{}</code> · signed {}</p><pre>{}</pre><p>Public key: <code>{}</code></p><p>Verify an export offline with <code>veritrial verify FILE --public-key KEY</code>.</p></body></html>",
        head.size,
        head.root.to_hex(),
        when(head.timestamp_ms),
        escape(&head.note),
        escape(&head.public_key)
    );
    Ok(html)
}

/// Cumulative enrollments and data submissions per day, as an inline SVG line chart.
fn chart(events: &[StoredEntry]) -> String {
    let points = audit::activity(events);
    let Some(last) = points.last() else {
        return "<p>No enrollments or data submissions yet.</p>".to_string();
    };
    let (enrolled, submitted) = (last.enrolled, last.submitted);
    let max = enrolled.max(submitted).max(1);
    let (width, height) = (640.0, 200.0);
    let step = if points.len() > 1 {
        width / (points.len() - 1) as f64
    } else {
        0.0
    };
    let coordinates = |pick: fn(&ActivityDay) -> u32| -> Vec<(f64, f64)> {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    i as f64 * step,
                    height - f64::from(pick(p)) / f64::from(max) * height,
                )
            })
            .collect()
    };
    let mut svg = String::from(
        "<svg role=\"img\" aria-label=\"Cumulative enrollments and submissions\" viewBox=\"-10 -10 660 240\" width=\"660\" height=\"240\">",
    );
    // A line per series, with a dot on each day (a single day is then still visible).
    for (pick, color) in [
        (
            (|p: &ActivityDay| p.enrolled) as fn(&ActivityDay) -> u32,
            "#123c69",
        ),
        (|p: &ActivityDay| p.submitted, "#b5651d"),
    ] {
        let at = coordinates(pick);
        let line: Vec<String> = at.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            line.join(" ")
        );
        for (x, y) in at {
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{color}\"/>"
            );
        }
    }
    if let Some(first) = points.first() {
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"225\">{}</text><text x=\"560\" y=\"225\">{}</text>",
            first.day, last.day
        );
    }
    svg.push_str("</svg>");
    format!(
        "{svg}<p><span style=\"color:#123c69\">■</span> enrollments ({enrolled}) · <span style=\"color:#b5651d\">■</span> data submissions ({submitted})</p>"
    )
}

fn when(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Text made safe for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}code,pre{font-family:ui-monospace,monospace;font-size:.8rem;word-break:break-all;white-space:pre-wrap}.ok{color:#0a6b2d;font-weight:bold}.bad{color:#a00000;font-weight:bold}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// A version's ethics review for the report: the decision, its signature, its ledger entry
/// and the comment; or that none was made.
fn review_cell(version: &Version, trail: &Trail<'_>) -> String {
    match &version.review {
        None => "no decision".to_string(),
        Some(review) => format!(
            "{} (entry {}). {}{}",
            escape(&review.decision.replace('_', " ")),
            review.ledger_seq,
            escape(&trail.signature(review.ledger_seq)),
            if review.comment.is_empty() {
                String::new()
            } else {
                format!(": \u{201c}{}\u{201d}", escape(&review.comment))
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
