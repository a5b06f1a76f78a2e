//! A trial's clinical data in standard formats, for its sponsor and its ethics board:
//! - CDISC ODM 1.3.2 XML: a `MetaDataVersion` built from the protocol's form definitions and
//!   `ClinicalData` with every value's audit trail (insert, update, remove; who, where, when,
//!   why, and the ledger entry that attests it);
//! - CSV, one file per form (each record at its current version), with a data dictionary.
//!
//! Exports stream: records are read a page at a time and written through a small bounded
//! channel, so memory stays constant however large the trial.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use quick_xml::escape::escape;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::audit::display;
use super::names::Names;
use super::protocols::{self, TrialView};
use crate::auth::Principal;
use crate::domain::Role;
use crate::entities::{ledger_payload, organization, submission, submission_version};
use crate::error::{AppError, AppResult};
use crate::forms::{self, FieldDefinition, FieldKind, FormDefinition};
use crate::state::AppState;

/// Records read per database round trip.
const PAGE: u64 = 500;
/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the reader and the HTTP body: the bound on memory.
const CHANNEL: usize = 4;

/// What to export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// The whole trial as CDISC ODM 1.3.2 XML.
    Odm,
    /// The data dictionary of every form, as CSV.
    Dictionary,
    /// One form's records at their current versions, as CSV.
    FormCsv(String),
}

/// A started export: its file name and type, and the stream of its bytes.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub chunks: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

/// Starts an export of `trial_id` for its sponsor, its ethics board or an admin. Access and
/// the form are checked before anything streams, so refusals are plain errors.
pub async fn start(
    state: &AppState,
    who: &Principal,
    trial_id: &str,
    kind: ExportKind,
) -> AppResult<Export> {
    who.require(&[Role::Sponsor, Role::Ethics, Role::Admin])?;
    let view = protocols::readable_trial(state, who, trial_id).await?;
    let forms = trial_forms(&view);
    let (file_name, content_type) = match &kind {
        ExportKind::Odm => (format!("{trial_id}.odm.xml"), "application/xml"),
        ExportKind::Dictionary => (format!("{trial_id}.dictionary.csv"), "text/csv"),
        ExportKind::FormCsv(form) => {
            if !forms.iter().any(|f| &f.id == form) {
                return Err(AppError::not_found(format!(
                    "the protocol defines no form {form:?}"
                )));
            }
            (format!("{trial_id}.{form}.csv"), "text/csv")
        }
    };
    let (sender, chunks) = mpsc::channel(CHANNEL);
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut out = Out {
            buffer: String::with_capacity(CHUNK * 2),
            sender,
        };
        let written = match kind {
            ExportKind::Odm => write_odm(&db, &view, &forms, &mut out).await,
            ExportKind::Dictionary => write_dictionary(&forms, &mut out).await,
            ExportKind::FormCsv(form) => write_form_csv(&db, &view, &forms, &form, &mut out).await,
        };
        match written {
            Ok(()) => out.finish().await,
            Err(err) => {
                tracing::error!(error = %err, "an export stopped part-way");
                // The body ends in an error, so the client sees a broken transfer, never a
                // file that looks complete.
                let _ = out
                    .sender
                    .send(Err(std::io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    Ok(Export {
        file_name,
        content_type,
        chunks,
    })
}

/// The forms of every protocol version, merged: each form and field as its latest version
/// defines it, fields no longer defined kept (older records hold them), in first-defined order.
pub fn trial_forms(view: &TrialView) -> Vec<FormDefinition> {
    let mut merged: Vec<FormDefinition> = Vec::new();
    for version in &view.versions {
        for form in &version.document.forms {
            match merged.iter_mut().find(|f| f.id == form.id) {
                None => merged.push(form.clone()),
                Some(known) => {
                    known.title = form.title.clone();
                    for field in &form.fields {
                        match known.fields.iter_mut().find(|f| f.id == field.id) {
                            Some(old) => *old = field.clone(),
                            None => known.fields.push(field.clone()),
                        }
                    }
                }
            }
        }
    }
    merged
}

/// Where export text goes: gathered into chunks and sent when large enough.
struct Out {
    buffer: String,
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Out {
    fn push(&mut self, text: &str) {
        self.buffer.push_str(text);
    }

    /// Sends the buffer once it is a chunk; waits while the client is slower than we are.
    async fn flush_if_full(&mut self) -> AppResult<()> {
        if self.buffer.len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> AppResult<()> {
        let chunk = Bytes::from(std::mem::take(&mut self.buffer).into_bytes());
        self.sender
            .send(Ok(chunk))
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the client went away")))
    }

    async fn finish(mut self) {
        if !self.buffer.is_empty() {
            let _ = self.send().await;
        }
    }
}

/// One record and each of its versions with their data, oldest first.
struct Stored {
    record: submission::Model,
    versions: Vec<(submission_version::Model, Value)>,
}

/// Pages of a trial's records (optionally of one form), ordered by enrollment, then id.
struct Records<'a, C> {
    db: &'a C,
    trial_id: &'a str,
    form: Option<&'a str>,
    page: u64,
    after: Option<(String, String)>,
    done: bool,
}

impl<'a, C: ConnectionTrait> Records<'a, C> {
    fn new(db: &'a C, trial_id: &'a str, form: Option<&'a str>) -> Self {
        Self {
            db,
            trial_id,
            form,
            page: PAGE,
            after: None,
            done: false,
        }
    }

    /// The next page (empty at the end).
    async fn next_page(&mut self) -> AppResult<Vec<Stored>> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut query =
            submission::Entity::find().filter(submission::Column::TrialId.eq(self.trial_id));
        if let Some(form) = self.form {
            query = query.filter(submission::Column::Form.eq(form));
        }
        if let Some((enrollment, id)) = &self.after {
            // A row-value comparison, so each page is one range scan of the index on
            // (trial, enrollment, id), however far along the export is.
            query = query.filter(
                Expr::tuple([
                    Expr::col(submission::Column::EnrollmentId),
                    Expr::col(submission::Column::Id),
                ])
                .gt(Expr::tuple([
                    Expr::value(enrollment.clone()),
                    Expr::value(id.clone()),
                ])),
            );
        }
        let records = query
            .order_by_asc(submission::Column::EnrollmentId)
            .order_by_asc(submission::Column::Id)
            .limit(self.page)
            .all(self.db)
            .await?;
        self.done = (records.len() as u64) < self.page;
        if let Some(last) = records.last() {
            self.after = Some((last.enrollment_id.clone(), last.id.clone()));
        }
        let versions = submission_version::Entity::find()
            .filter(
                submission_version::Column::SubmissionId
                    .is_in(records.iter().map(|r| r.id.clone())),
            )
            .order_by_asc(submission_version::Column::SubmissionId)
            .order_by_asc(submission_version::Column::Version)
            .all(self.db)
            .await?;
        let mut payloads: HashMap<i64, Value> = ledger_payload::Entity::find()
            .filter(ledger_payload::Column::Seq.is_in(versions.iter().map(|v| v.ledger_seq)))
            .all(self.db)
            .await?
            .into_iter()
            .filter_map(|p| {
                let data = serde_json::from_str::<Value>(p.body.as_deref()?).ok()?;
                Some((p.seq, data["data"].clone()))
            })
            .collect();
        let mut by_record: HashMap<String, Vec<(submission_version::Model, Value)>> =
            HashMap::new();
        for version in versions {
            // An erased payload exports as no values: the ledger still proves it existed.
            let data = payloads.remove(&version.ledger_seq).unwrap_or(Value::Null);
            by_record
                .entry(version.submission_id.clone())
                .or_default()
                .push((version, data));
        }
        Ok(records
            .into_iter()
            .map(|record| Stored {
                versions: by_record.remove(&record.id).unwrap_or_default(),
                record,
            })
            .collect())
    }
}

fn csv_line(fields: &[String]) -> AppResult<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(fields).map_err(anyhow::Error::from)?;
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()))
}

/// The columns every form's CSV starts with, before its fields.
pub const CSV_RECORD_COLUMNS: [&str; 7] = [
    "record_id",
    "enrollment_id",
    "site_id",
    "visit",
    "version",
    "recorded_at",
    "ledger_seq",
];

async fn write_dictionary(forms: &[FormDefinition], out: &mut Out) -> AppResult<()> {
    let header = [
        "form",
        "form_title",
        "field",
        "label",
        "type",
        "unit",
        "required",
        "min",
        "max",
        "choices",
    ];
    out.push(&csv_line(&header.map(String::from))?);
    let number = |n: Option<f64>| n.map(|n| Value::from(n).to_string()).unwrap_or_default();
    for form in forms {
        for field in &form.fields {
            out.push(&csv_line(&[
                form.id.clone(),
                form.title.clone(),
                field.id.clone(),
                field.label.clone(),
                field.kind.as_str().to_string(),
                field.unit.clone().unwrap_or_default(),
                if field.required { "yes" } else { "no" }.to_string(),
                number(field.min),
                number(field.max),
                field.choices.join("|"),
            ])?);
        }
    }
    Ok(())
}

async fn write_form_csv(
    db: &impl ConnectionTrait,
    view: &TrialView,
    forms: &[FormDefinition],
    form_id: &str,
    out: &mut Out,
) -> AppResult<()> {
    let Some(form) = forms.iter().find(|f| f.id == form_id) else {
        return Ok(());
    };
    let mut header: Vec<String> = CSV_RECORD_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(form.fields.iter().map(|f| f.id.clone()));
    out.push(&csv_line(&header)?);
    let mut records = Records::new(db, &view.trial.id, Some(form_id));
    loop {
        let page = records.next_page().await?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            let Some((version, data)) = stored.versions.last() else {
                continue;
            };
            let mut row = vec![
                stored.record.id.clone(),
                stored.record.enrollment_id.clone(),
                stored.record.site_org_id.clone(),
                stored.record.visit.clone(),
                version.version.to_string(),
                timestamp(version.created_at),
                version.ledger_seq.to_string(),
            ];
            row.extend(
                form.fields
                    .iter()
                    .map(|f| display(data.get(&f.id).unwrap_or(&Value::Null))),
            );
            out.push(&csv_line(&row)?);
            out.flush_if_full().await?;
        }
    }
    Ok(())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// An ODM OID part from free text: letters, digits, `-` and `_` kept, anything else `_`.
fn oid_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn item_oid(form: &str, field: &str) -> String {
    format!("IT.{form}.{field}")
}

/// The ODM `DataType` of a field.
fn odm_type(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Number => "float",
        FieldKind::Integer => "integer",
        FieldKind::Text | FieldKind::Choice => "text",
        FieldKind::Date => "date",
        FieldKind::YesNo => "boolean",
    }
}

fn translated(element: &str, text: &str) -> String {
    format!(
        "<{element}><TranslatedText xml:lang=\"en\">{}</TranslatedText></{element}>",
        escape(text)
    )
}

/// The study's visits (each a `StudyEventDef`) and which forms each holds, from the records.
async fn visits(
    db: &impl ConnectionTrait,
    trial_id: &str,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let pairs: Vec<(String, String)> = submission::Entity::find()
        .select_only()
        .column(submission::Column::Visit)
        .column(submission::Column::Form)
        .distinct()
        .filter(submission::Column::TrialId.eq(trial_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut visits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (visit, form) in pairs {
        visits.entry(visit).or_default().push(form);
    }
    Ok(visits)
}

/// The people who recorded the trial's data, by id.
async fn recorders(db: &impl ConnectionTrait, trial_id: &str) -> AppResult<Vec<String>> {
    let records = submission::Entity::find()
        .select_only()
        .column(submission::Column::Id)
        .filter(submission::Column::TrialId.eq(trial_id))
        .into_query();
    Ok(submission_version::Entity::find()
        .select_only()
        .column(submission_version::Column::CreatedBy)
        .distinct()
        .filter(submission_version::Column::SubmissionId.in_subquery(records))
        .into_tuple()
        .all(db)
        .await?)
}

async fn write_odm(
    db: &impl ConnectionTrait,
    view: &TrialView,
    forms: &[FormDefinition],
    out: &mut Out,
) -> AppResult<()> {
    let trial = &view.trial;
    let document = &view.current()?.document;
    let study = format!("ST.{}", oid_part(&trial.id));
    let mdv = "MDV.1";
    let visits = visits(db, &trial.id).await?;
    let visit_oid: HashMap<&str, String> = visits
        .keys()
        .enumerate()
        .map(|(n, visit)| (visit.as_str(), format!("SE.{}.{}", n + 1, oid_part(visit))))
        .collect();
    let defined = |form: &str| forms.iter().any(|f| f.id == form);
    let now = Utc::now();

    out.push("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push(&format!(
        "<ODM xmlns=\"http://www.cdisc.org/ns/odm/v1.3\" FileType=\"Transactional\" \
         Granularity=\"All\" FileOID=\"VERITRIAL.{}.{}\" CreationDateTime=\"{}\" \
         ODMVersion=\"1.3.2\" Originator=\"Veritrial\" SourceSystem=\"Veritrial\" \
         SourceSystemVersion=\"{}\">\n",
        oid_part(&trial.id),
        now.timestamp_millis(),
        timestamp(now),
        env!("CARGO_PKG_VERSION"),
    ));
    out.push(&format!("<Study OID=\"{study}\">\n<GlobalVariables>"));
    out.push(&format!(
        "<StudyName>{}</StudyName><StudyDescription>{}</StudyDescription><ProtocolName>{}</ProtocolName>",
        escape(&document.title),
        escape(&document.summary),
        escape(trial.nct_id.as_deref().unwrap_or(&document.title)),
    ));
    out.push("</GlobalVariables>\n");
    let units: Vec<&str> = {
        let mut units: Vec<&str> = forms
            .iter()
            .flat_map(|f| f.fields.iter().filter_map(|field| field.unit.as_deref()))
            .collect();
        units.sort_unstable();
        units.dedup();
        units
    };
    if !units.is_empty() {
        out.push("<BasicDefinitions>\n");
        for (n, unit) in units.iter().enumerate() {
            out.push(&format!(
                "<MeasurementUnit OID=\"MU.{}\" Name=\"{}\">{}</MeasurementUnit>\n",
                n + 1,
                escape(*unit),
                translated("Symbol", unit)
            ));
        }
        out.push("</BasicDefinitions>\n");
    }
    let unit_oid = |unit: &str| {
        units
            .iter()
            .position(|u| *u == unit)
            .map(|n| format!("MU.{}", n + 1))
    };
    out.push(&format!(
        "<MetaDataVersion OID=\"{mdv}\" Name=\"Case-report forms\" Description=\"The forms of \
         protocol versions 1 to {}, each field as its latest version defines it\">\n",
        view.versions.len()
    ));
    if !visits.is_empty() {
        out.push("<Protocol>");
        for (n, visit) in visits.keys().enumerate() {
            out.push(&format!(
                "<StudyEventRef StudyEventOID=\"{}\" OrderNumber=\"{}\" Mandatory=\"No\"/>",
                visit_oid[visit.as_str()],
                n + 1
            ));
        }
        out.push("</Protocol>\n");
    }
    for (visit, in_visit) in &visits {
        out.push(&format!(
            "<StudyEventDef OID=\"{}\" Name=\"{}\" Repeating=\"No\" Type=\"Scheduled\">",
            visit_oid[visit.as_str()],
            escape(visit.as_str())
        ));
        for form in in_visit.iter().filter(|f| defined(f)) {
            out.push(&format!("<FormRef FormOID=\"F.{form}\" Mandatory=\"No\"/>"));
        }
        out.push("</StudyEventDef>\n");
    }
    for form in forms {
        out.push(&format!(
            "<FormDef OID=\"F.{0}\" Name=\"{1}\" Repeating=\"No\">\
             <ItemGroupRef ItemGroupOID=\"IG.{0}\" Mandatory=\"Yes\"/></FormDef>\n",
            form.id,
            escape(&form.title)
        ));
    }
    for form in forms {
        out.push(&format!(
            "<ItemGroupDef OID=\"IG.{}\" Name=\"{}\" Repeating=\"No\">",
            form.id,
            escape(&form.title)
        ));
        for (n, field) in form.fields.iter().enumerate() {
            out.push(&format!(
                "<ItemRef ItemOID=\"{}\" OrderNumber=\"{}\" Mandatory=\"{}\"/>",
                item_oid(&form.id, &field.id),
                n + 1,
                if field.required { "Yes" } else { "No" }
            ));
        }
        out.push("</ItemGroupDef>\n");
    }
    for form in forms {
        for field in &form.fields {
            out.push(&item_def(
                form,
                field,
                unit_oid(field.unit.as_deref().unwrap_or("")),
            ));
        }
    }
    for form in forms {
        for field in form.fields.iter().filter(|f| f.kind == FieldKind::Choice) {
            out.push(&format!(
                "<CodeList OID=\"CL.{}.{}\" Name=\"{}\" DataType=\"text\">",
                form.id,
                field.id,
                escape(&field.label)
            ));
            for (n, choice) in field.choices.iter().enumerate() {
                out.push(&format!(
                    "<CodeListItem CodedValue=\"{}\" OrderNumber=\"{}\">{}</CodeListItem>",
                    escape(choice),
                    n + 1,
                    translated("Decode", choice)
                ));
            }
            out.push("</CodeList>\n");
        }
    }
    out.push("</MetaDataVersion>\n</Study>\n");

    // Who recorded data, and where: the sites the protocol names and any that hold records.
    let users = recorders(db, &trial.id).await?;
    let names = Names::of_users(db, users.iter().cloned()).await?;
    let mut sites: Vec<String> = view
        .versions
        .iter()
        .flat_map(|v| v.document.site_ids.iter().cloned())
        .collect();
    sites.extend(
        submission::Entity::find()
            .select_only()
            .column(submission::Column::SiteOrgId)
            .distinct()
            .filter(submission::Column::TrialId.eq(&trial.id))
            .into_tuple::<String>()
            .all(db)
            .await?,
    );
    sites.sort_unstable();
    sites.dedup();
    let site_names: HashMap<String, String> = organization::Entity::find()
        .filter(organization::Column::Id.is_in(sites.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    out.push(&format!("<AdminData StudyOID=\"{study}\">\n"));
    for user in &users {
        let name = names.person(user).map(|p| p.name.as_str()).unwrap_or(user);
        out.push(&format!(
            "<User OID=\"USR.{}\"><DisplayName>{}</DisplayName></User>\n",
            oid_part(user),
            escape(name)
        ));
    }
    let effective = trial.created_at.format("%Y-%m-%d");
    for site in &sites {
        out.push(&format!(
            "<Location OID=\"LOC.{}\" Name=\"{}\" LocationType=\"Site\">\
             <MetaDataVersionRef StudyOID=\"{study}\" MetaDataVersionOID=\"{mdv}\" \
             EffectiveDate=\"{effective}\"/></Location>\n",
            oid_part(site),
            escape(site_names.get(site).map(String::as_str).unwrap_or(site))
        ));
    }
    out.push("</AdminData>\n");

    out.push(&format!(
        "<ClinicalData StudyOID=\"{study}\" MetaDataVersionOID=\"{mdv}\">\n"
    ));
    let mut records = Records::new(db, &trial.id, None);
    let mut subject: Option<String> = None;
    let mut undefined = 0u64;
    loop {
        let page = records.next_page().await?;
        if page.is_empty() {
            break;
        }
        for stored in page {
            let Some(form) = forms.iter().find(|f| f.id == stored.record.form) else {
                undefined += 1;
                continue;
            };
            if subject.as_deref() != Some(&stored.record.enrollment_id) {
                if subject.is_some() {
                    out.push("</SubjectData>\n");
                }
                out.push(&format!(
                    "<SubjectData SubjectKey=\"{}\" TransactionType=\"Insert\">\
                     <SiteRef LocationOID=\"LOC.{}\"/>\n",
                    escape(&stored.record.enrollment_id),
                    oid_part(&stored.record.site_org_id)
                ));
                subject = Some(stored.record.enrollment_id.clone());
            }
            write_record(out, form, &visit_oid, &stored);
            out.flush_if_full().await?;
        }
    }
    if subject.is_some() {
        out.push("</SubjectData>\n");
    }
    out.push("</ClinicalData>\n");
    if undefined > 0 {
        out.push(&format!(
            "<!-- {undefined} records of forms the protocol does not define are not included -->\n"
        ));
    }
    out.push("</ODM>\n");
    Ok(())
}

fn item_def(form: &FormDefinition, field: &FieldDefinition, unit: Option<String>) -> String {
    let mut def = format!(
        "<ItemDef OID=\"{}\" Name=\"{}\" DataType=\"{}\">{}",
        item_oid(&form.id, &field.id),
        field.id,
        odm_type(field.kind),
        translated("Question", &field.label)
    );
    if let Some(unit) = unit {
        def.push_str(&format!(
            "<MeasurementUnitRef MeasurementUnitOID=\"{unit}\"/>"
        ));
    }
    for (comparator, bound) in [("GE", field.min), ("LE", field.max)] {
        if let Some(bound) = bound {
            def.push_str(&format!(
                "<RangeCheck Comparator=\"{comparator}\" SoftHard=\"Hard\"><CheckValue>{}</CheckValue></RangeCheck>",
                Value::from(bound)
            ));
        }
    }
    if field.kind == FieldKind::Choice {
        def.push_str(&format!(
            "<CodeListRef CodeListOID=\"CL.{}.{}\"/>",
            form.id, field.id
        ));
    }
    def.push_str("</ItemDef>\n");
    def
}

/// One record: its visit, form and item group, and every value's history, version by
/// version (the first version inserts, a correction updates or removes what it changed).
fn write_record(
    out: &mut Out,
    form: &FormDefinition,
    visit_oid: &HashMap<&str, String>,
    stored: &Stored,
) {
    let record = &stored.record;
    let visit = visit_oid
        .get(record.visit.as_str())
        .cloned()
        .unwrap_or_else(|| format!("SE.{}", oid_part(&record.visit)));
    out.push(&format!(
        "<StudyEventData StudyEventOID=\"{visit}\" TransactionType=\"Insert\">\
         <FormData FormOID=\"F.{0}\" TransactionType=\"Insert\">\
         <ItemGroupData ItemGroupOID=\"IG.{0}\" TransactionType=\"Insert\">\n",
        form.id
    ));
    let location = format!("LOC.{}", oid_part(&record.site_org_id));
    let mut previous = Value::Null;
    for (version, data) in &stored.versions {
        let audit = |reason: Option<&str>| {
            format!(
                "<AuditRecord><UserRef UserOID=\"USR.{}\"/><LocationRef LocationOID=\"{location}\"/>\
                 <DateTimeStamp>{}</DateTimeStamp>{}<SourceID>ledger:{}</SourceID></AuditRecord>",
                oid_part(&version.created_by),
                timestamp(version.created_at),
                reason
                    .map(|r| format!("<ReasonForChange>{}</ReasonForChange>", escape(r)))
                    .unwrap_or_default(),
                version.ledger_seq
            )
        };
        let changes = forms::value_changes(Some(form), &previous, data);
        // Keys the form does not define (only in records kept from before it was defined)
        // have no ItemDef to refer to.
        let defined = changes
            .into_iter()
            .filter(|c| form.fields.iter().any(|f| f.id == c.field));
        for change in defined {
            let transaction = match (&change.before, &change.after) {
                (None, _) => "Insert",
                (Some(_), Some(_)) => "Update",
                (Some(_), None) => "Remove",
            };
            let value = change
                .after
                .as_ref()
                .map(|v| format!(" Value=\"{}\"", escape(display(v))))
                .unwrap_or_default();
            out.push(&format!(
                "<ItemData ItemOID=\"{}\" TransactionType=\"{transaction}\"{value}>{}</ItemData>\n",
                item_oid(&form.id, &change.field),
                audit(version.reason.as_deref())
            ));
        }
        previous = data.clone();
    }
    out.push("</ItemGroupData></FormData></StudyEventData>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of two walk every record of the trial (and of the form) exactly once, in order,
    /// with each record's versions and data, across enrollments with several records.
    #[tokio::test]
    async fn paging_reads_every_record_once_in_order() {
        use migrations::MigratorTrait;
        use sea_orm::ActiveValue::Set;
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        migrations::Migrator::up(&db, None).await.unwrap();
        let now = Utc::now();
        let rows = [
            ("r5", "e1", "t", "vitals"),
            ("r2", "e2", "t", "labs"),
            ("r1", "e1", "t", "vitals"),
            ("r9", "e3", "t", "vitals"),
            ("r3", "e2", "t", "vitals"),
            ("r4", "e1", "other", "vitals"),
            ("r7", "e2", "t", "vitals"),
        ];
        for (n, (id, enrollment, trial, form)) in rows.iter().enumerate() {
            submission::Entity::insert(submission::ActiveModel {
                id: Set(id.to_string()),
                enrollment_id: Set(enrollment.to_string()),
                trial_id: Set(trial.to_string()),
                site_org_id: Set("s".into()),
                form: Set(form.to_string()),
                visit: Set("v".into()),
                current_version: Set(1),
                created_at: Set(now),
            })
            .exec(&db)
            .await
            .unwrap();
            submission_version::Entity::insert(submission_version::ActiveModel {
                id: Set(format!("{id}-1")),
                submission_id: Set(id.to_string()),
                version: Set(1),
                ledger_seq: Set(n as i64),
                content_hash: Set(String::new()),
                reason: Set(None),
                created_by: Set("u".into()),
                created_at: Set(now),
            })
            .exec(&db)
            .await
            .unwrap();
            ledger_payload::Entity::insert(ledger_payload::ActiveModel {
                seq: Set(n as i64),
                body: Set(Some(format!("{{\"data\": {{\"n\": {n}}}}}"))),
                erased: Set(false),
            })
            .exec(&db)
            .await
            .unwrap();
        }
        let walk = async |form: Option<&str>| {
            let mut records = Records::new(&db, "t", form);
            records.page = 2;
            let mut seen = Vec::new();
            loop {
                let page = records.next_page().await.unwrap();
                if page.is_empty() {
                    break;
                }
                for stored in page {
                    let data = &stored.versions[0].1;
                    let n = rows.iter().position(|r| r.0 == stored.record.id).unwrap();
                    assert_eq!(data["n"], n, "{} carries its own data", stored.record.id);
                    seen.push(stored.record.id);
                }
            }
            seen
        };
        assert_eq!(walk(None).await, ["r1", "r5", "r2", "r3", "r7", "r9"]);
        assert_eq!(walk(Some("vitals")).await, ["r1", "r5", "r3", "r7", "r9"]);
    }

    #[test]
    fn oids_keep_safe_characters_only() {
        assert_eq!(oid_part("Week 4 <follow-up>"), "Week_4__follow-up_");
    }

    #[test]
    fn csv_lines_quote_what_needs_it() {
        let line = csv_line(&["a,b".into(), "say \"hi\"".into(), "plain".into()]).unwrap();
        assert_eq!(line, "\"a,b\",\"say \"\"hi\"\"\",plain\r\n");
    }
}
