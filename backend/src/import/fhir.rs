//! FHIR R4 patient bundles.
//!
//! [`parse_bundle`] reads one Bundle (plain JSON or gzip) of type `transaction`, `collection`,
//! `batch` or `searchset`, and returns one [`FhirPatient`] (or an [`EntryProblem`]) per
//! Patient resource, with the clinical resources that reference it attached; [`read_path`]
//! does that for a file or for every `*.json` / `*.json.gz` file of a folder (not recursive),
//! in sorted file-name order.
//!
//! # What is kept
//! Only what a Veritrial profile needs: the site's local id (to be pseudonymised by the
//! caller, never stored), birth date, sex, the first postal code, whether the patient is
//! deceased, codes as `system:code` and the latest numeric lab per LOINC code. Names,
//! addresses beyond the postal code, identifiers (other than the local id), telecom and all
//! other dates are never read into the output.
//!
//! - Code systems: SNOMED CT → `snomed:`, ICD-10 / ICD-10-CM → `icd10:`, RxNorm → `rxnorm:`,
//!   LOINC → `loinc:`, CPT → `cpt:`, ATC → `atc:`, NDC → `ndc:`, ICD-9-CM → `icd9:`,
//!   ICD-10-PCS → `icd10pcs:` (by URI, or by HL7 OID `urn:oid:...` for the main ones). Codings
//!   in other systems are ignored. Codes are normalised as the matcher does
//!   ([`matcher::normalise_code`]); every code list is sorted and without duplicates.
//! - Conditions: every coding of `Condition.code` (history included: resolved conditions
//!   count), except conditions whose `verificationStatus` is `refuted` or
//!   `entered-in-error`. `condition_terms` is `Condition.code.text`, else the first display.
//! - Medications: `MedicationRequest` and `MedicationStatement`, from
//!   `medicationCodeableConcept` or `medicationReference` resolved to a contained (`#id`) or
//!   bundled Medication; requests with status `cancelled`/`entered-in-error` and statements
//!   `not-taken`/`entered-in-error` are skipped.
//! - Procedures: every coding of `Procedure.code`, except status `not-done` /
//!   `entered-in-error`.
//! - Labs: Observations with a LOINC coding and a top-level `valueQuantity` with a finite
//!   `value` and no `comparator` (components, e.g. blood-pressure parts, are not read). The
//!   latest per LOINC code wins, by `effectiveDateTime`, `effectiveInstant`,
//!   `effectivePeriod.start`, else `issued` (instants compared in UTC; on a tie the later
//!   entry of the bundle wins); `date` is the calendar date as written. Status `cancelled` /
//!   `entered-in-error` is skipped.
//! - Patient links: `subject.reference` or `patient.reference`, as the fullUrl of the Patient
//!   entry (e.g. `urn:uuid:<id>`), `Patient/<id>`, or an absolute URL ending in
//!   `Patient/<id>` (an optional `/_history/<v>` is ignored). Resources whose patient is not
//!   in the bundle are reported in [`ParsedBundle::warnings`].
//!
//! # FHIR version heuristic
//! R4 (and R4B, `4.x`) is accepted. A bundle is refused as another version when any of these
//! hold:
//! - `fhirVersion` or `meta.fhirVersion` on the bundle or on an entry's resource is present
//!   and does not start with `4.`;
//! - an entry holds a resource type that exists only before R4 (`MedicationOrder`,
//!   `DiagnosticOrder`, `ProcedureRequest`, `ReferralRequest`, `DeviceUseRequest`, `Order`,
//!   `OrderResponse`, `Conformance`, `BodySite`, `DataElement`, `EligibilityRequest`,
//!   `EligibilityResponse`, `ProcessRequest`, `ProcessResponse`, `Sequence`,
//!   `DeviceComponent`, `ImagingManifest`, ...) or only in R5 (`Transport`, `InventoryItem`,
//!   `RequestOrchestration`, `DeviceUsage`, `ImagingSelection`, ...);
//! - a field has its pre-R4 shape: `Condition`/`AllergyIntolerance` `clinicalStatus` or
//!   `verificationStatus` as a plain string (a CodeableConcept since R4), `Condition.patient`
//!   without `subject` (DSTU2), `MedicationStatement.taken` (STU3), `Immunization.notGiven` /
//!   `wasNotGiven` (STU3 / DSTU2), `Observation.comments` (DSTU2), `Patient.animal`
//!   (DSTU2/STU3);
//! - or its R5 shape: `MedicationRequest.medication` / `MedicationStatement.medication` (a
//!   CodeableReference since R5);
//! - or the file is a DSTU1 Atom feed (`"resourceType": "Bundle"` missing, `feed` or
//!   `entry[].content`).
//!
//! A bundle of an older version that uses none of these markers is read as R4; the fields
//! read here have the same shape in DSTU2/STU3 for Patient and Observation, so the result is
//! still right for those.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{InputError, decode_input, is_blank, non_empty, null_default, path_error};
pub use matcher::profile::Sex;

/// A whole-file failure: no patient of the file can be imported.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes could not be decoded (bad gzip, too large).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The file is empty or holds only whitespace.
    #[error("the file is empty")]
    Empty,
    /// The file is not JSON.
    #[error("the file is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is not a FHIR Bundle.
    #[error("not a FHIR Bundle: {0}")]
    NotABundle(String),
    /// A Bundle whose `type` is not transaction, collection, batch or searchset.
    #[error("unsupported Bundle type {0:?} (expected transaction, collection, batch or searchset)")]
    UnsupportedBundleType(String),
    /// The bundle is of another FHIR version than R4; the text says what gave it away.
    #[error("not FHIR R4: {0}")]
    UnsupportedVersion(String),
}

/// Why one entry of a bundle could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {entry} ({resource_type}): {reason}")]
pub struct EntryProblem {
    /// 0-based index of the entry in `Bundle.entry`.
    pub entry: usize,
    /// The entry's `resourceType`.
    pub resource_type: String,
    /// What is wrong.
    pub reason: String,
}

/// One numeric lab result: the latest for its LOINC code.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirLab {
    /// `loinc:<code>`.
    pub code: String,
    /// `valueQuantity.value`.
    pub value: f64,
    /// `valueQuantity.unit`, else its UCUM `code`, else empty.
    pub unit: String,
    /// Calendar date of the result, as written in the resource.
    pub date: NaiveDate,
}

/// One patient of a bundle, with nothing that identifies them except `local_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirPatient {
    /// The site's own id for the patient: `Patient.id`, else the first identifier value.
    /// Meant to be pseudonymised (HMAC) by the caller and never stored.
    pub local_id: String,
    /// `Patient.birthDate` (a full date is required).
    pub birth_date: NaiveDate,
    /// `Patient.gender` (absent → unknown).
    pub sex: Sex,
    /// The first `postalCode` among the patient's addresses, as written.
    pub zip: Option<String>,
    /// True when `deceasedBoolean` is true or a `deceasedDateTime` is given.
    pub deceased: bool,
    /// Condition codes (`snomed:...`, `icd10:...`), sorted.
    pub conditions: Vec<String>,
    /// Condition names, for trial search, sorted.
    pub condition_terms: Vec<String>,
    /// Medication codes (`rxnorm:...`), sorted.
    pub medications: Vec<String>,
    /// Procedure codes (`snomed:...`, `cpt:...`), sorted.
    pub procedures: Vec<String>,
    /// The latest numeric result per LOINC code, sorted by code.
    pub labs: Vec<FhirLab>,
}

/// What one bundle yields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedBundle {
    /// One item per Patient entry, in bundle order, with the entry's 0-based index.
    pub patients: Vec<(usize, Result<FhirPatient, EntryProblem>)>,
    /// Clinical resources that were skipped (malformed, or their patient is not in the
    /// bundle). They do not stop the patients from being imported.
    pub warnings: Vec<EntryProblem>,
}

/// Reads a bundle file, or every `*.json` / `*.json.gz` file (case-insensitive, hidden files
/// skipped, not recursive) of a folder, in sorted order. Each item is the file's path and
/// its result; a folder that cannot be listed gives one item with the error.
pub fn read_path(path: impl AsRef<Path>) -> Vec<(String, Result<ParsedBundle, FhirError>)> {
    let path = path.as_ref();
    let shown = |p: &Path| p.to_string_lossy().into_owned();
    if !path.is_dir() {
        let result = std::fs::read(path)
            .map_err(FhirError::Io)
            .and_then(|bytes| parse_bundle(&bytes));
        return vec![(shown(path), result)];
    }
    let listing = match std::fs::read_dir(path) {
        Ok(listing) => listing,
        Err(e) => return vec![(shown(path), Err(FhirError::Io(e)))],
    };
    let mut files = Vec::new();
    let mut out = Vec::new();
    for item in listing {
        match item {
            Ok(entry) => {
                let name = entry.file_name().to_string_lossy().to_lowercase();
                let wanted = !name.starts_with('.')
                    && (name.ends_with(".json") || name.ends_with(".json.gz"));
                if wanted && entry.path().is_file() {
                    files.push(entry.path());
                }
            }
            Err(e) => out.push((shown(path), Err(FhirError::Io(e)))),
        }
    }
    files.sort();
    out.extend(files.into_iter().map(|file| {
        let result = std::fs::read(&file)
            .map_err(FhirError::Io)
            .and_then(|bytes| parse_bundle(&bytes));
        (shown(&file), result)
    }));
    out
}

/// Parses one FHIR R4 Bundle (plain JSON or gzip).
///
/// # Errors
/// [`FhirError`] when the file as a whole is unusable: empty, not JSON, not a Bundle, a
/// Bundle type other than transaction/collection/batch/searchset, or another FHIR version
/// (see the module docs for the heuristic). Problems with single patients are returned in
/// [`ParsedBundle::patients`].
pub fn parse_bundle(bytes: &[u8]) -> Result<ParsedBundle, FhirError> {
    let text = decode_input(bytes)?;
    if is_blank(&text) {
        return Err(FhirError::Empty);
    }
    let json: Value = serde_json::from_slice(&text).map_err(FhirError::NotJson)?;
    let Value::Object(bundle) = &json else {
        return Err(FhirError::NotABundle("the JSON is not an object".into()));
    };
    if bundle.contains_key("feed")
        || (bundle.get("resourceType").is_none()
            && bundle
                .get("entry")
                .and_then(Value::as_array)
                .is_some_and(|e| e.iter().any(|x| x.get("content").is_some())))
    {
        return Err(FhirError::UnsupportedVersion(
            "an Atom feed (FHIR DSTU1)".into(),
        ));
    }
    match bundle.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {}
        Some(other) => {
            return Err(FhirError::NotABundle(format!("resourceType is {other:?}")));
        }
        None => return Err(FhirError::NotABundle("no resourceType".into())),
    }
    check_version_field(&json, "the Bundle")?;
    let bundle_type = bundle.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(
        bundle_type,
        "transaction" | "collection" | "batch" | "searchset"
    ) {
        return Err(FhirError::UnsupportedBundleType(bundle_type.to_owned()));
    }
    let empty = Vec::new();
    let entries = match bundle.get("entry") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(FhirError::NotABundle("Bundle.entry is not an array".into())),
    };

    // The resources to read: (entry index, fullUrl, resource type, resource).
    let mut resources = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let deleted = entry
            .pointer("/request/method")
            .and_then(Value::as_str)
            .is_some_and(|m| m.eq_ignore_ascii_case("DELETE"));
        let Some(resource) = entry.get("resource").filter(|r| r.is_object()) else {
            continue;
        };
        if deleted {
            continue;
        }
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        check_resource_version(index, resource_type, resource)?;
        let full_url = entry.get("fullUrl").and_then(Value::as_str);
        resources.push((index, full_url, resource_type, resource));
    }

    let mut builder = Builder::default();
    // Pass 1: patients and medications, which the other resources refer to.
    for &(index, full_url, resource_type, resource) in &resources {
        match resource_type {
            "Patient" => builder.add_patient(index, full_url, resource),
            "Medication" => builder.add_medication(index, full_url, resource),
            _ => {}
        }
    }
    // Pass 2: clinical resources.
    for &(index, _, resource_type, resource) in &resources {
        match resource_type {
            "Condition" => builder.add_condition(index, resource),
            "MedicationRequest" | "MedicationStatement" => {
                builder.add_medication_use(index, resource_type, resource)
            }
            "Procedure" => builder.add_procedure(index, resource),
            "Observation" => builder.add_observation(index, resource),
            _ => {}
        }
    }
    Ok(builder.finish())
}

/// Resource types that exist only before R4 (DSTU2 and/or STU3).
const PRE_R4_TYPES: &[&str] = &[
    "MedicationOrder",
    "DiagnosticOrder",
    "DeviceUseRequest",
    "Order",
    "OrderResponse",
    "Conformance",
    "ProcedureRequest",
    "ReferralRequest",
    "BodySite",
    "DataElement",
    "EligibilityRequest",
    "EligibilityResponse",
    "ProcessRequest",
    "ProcessResponse",
    "Sequence",
    "DeviceComponent",
    "ImagingManifest",
    "ImagingObjectSelection",
];

/// Resource types that exist only in R5 and later.
const R5_TYPES: &[&str] = &[
    "ActorDefinition",
    "ArtifactAssessment",
    "BiologicallyDerivedProductDispense",
    "ConditionDefinition",
    "DeviceAssociation",
    "DeviceDispense",
    "DeviceUsage",
    "EncounterHistory",
    "FormularyItem",
    "GenomicStudy",
    "ImagingSelection",
    "InventoryItem",
    "InventoryReport",
    "NutritionIntake",
    "Permission",
    "RequestOrchestration",
    "Requirements",
    "TestPlan",
    "Transport",
];

fn check_version_field(resource: &Value, what: &str) -> Result<(), FhirError> {
    for pointer in ["/fhirVersion", "/meta/fhirVersion"] {
        if let Some(version) = resource.pointer(pointer) {
            let text = version.as_str().unwrap_or("");
            if !text.trim().starts_with("4.") {
                return Err(FhirError::UnsupportedVersion(format!(
                    "{what} declares FHIR version {version}"
                )));
            }
        }
    }
    Ok(())
}

fn check_resource_version(index: usize, resource_type: &str, r: &Value) -> Result<(), FhirError> {
    let what = format!("entry {index} ({resource_type})");
    check_version_field(r, &what)?;
    let refuse = |why: &str| Err(FhirError::UnsupportedVersion(format!("{what}: {why}")));
    if PRE_R4_TYPES.contains(&resource_type) {
        return refuse("this resource type exists only in FHIR DSTU2/STU3");
    }
    if R5_TYPES.contains(&resource_type) {
        return refuse("this resource type exists only in FHIR R5");
    }
    let has = |field: &str| r.get(field).is_some_and(|v| !v.is_null());
    let is_string = |field: &str| r.get(field).is_some_and(Value::is_string);
    match resource_type {
        "Condition" | "AllergyIntolerance" => {
            for field in ["clinicalStatus", "verificationStatus"] {
                if is_string(field) {
                    return refuse(&format!(
                        "{field} is a plain code (DSTU2/STU3); R4 has a CodeableConcept"
                    ));
                }
            }
            if resource_type == "Condition" && has("patient") && !has("subject") {
                return refuse("Condition.patient instead of subject (DSTU2)");
            }
        }
        "MedicationStatement" if has("taken") => {
            return refuse("MedicationStatement.taken (STU3)");
        }
        "MedicationRequest" | "MedicationStatement" if has("medication") => {
            return refuse("medication as a CodeableReference (R5)");
        }
        "Immunization" if has("notGiven") || has("wasNotGiven") => {
            return refuse("Immunization.notGiven/wasNotGiven (DSTU2/STU3)");
        }
        "Observation" if has("comments") => {
            return refuse("Observation.comments (DSTU2)");
        }
        "Patient" if has("animal") => {
            return refuse("Patient.animal (DSTU2/STU3)");
        }
        _ => {}
    }
    Ok(())
}

/// A patient being assembled.
struct PatientAcc {
    local_id: String,
    birth_date: NaiveDate,
    sex: Sex,
    zip: Option<String>,
    deceased: bool,
    conditions: BTreeSet<String>,
    condition_terms: BTreeSet<String>,
    medications: BTreeSet<String>,
    procedures: BTreeSet<String>,
    /// LOINC code → ((instant, entry index), lab).
    labs: BTreeMap<String, ((i64, usize), FhirLab)>,
}

#[derive(Default)]
struct Builder {
    /// Patient entries in bundle order.
    patients: Vec<(usize, Result<PatientAcc, EntryProblem>)>,
    /// Reference forms (fullUrl, `Patient/<id>`) → position in `patients`.
    patient_refs: HashMap<String, usize>,
    /// Local id → entry index, to catch duplicates.
    local_ids: HashMap<String, usize>,
    /// Reference forms (fullUrl, `Medication/<id>`) → medication codes.
    medications: HashMap<String, Vec<String>>,
    warnings: Vec<EntryProblem>,
}

fn problem(entry: usize, resource_type: &str, reason: impl Into<String>) -> EntryProblem {
    EntryProblem {
        entry,
        resource_type: resource_type.to_owned(),
        reason: reason.into(),
    }
}

fn typed<T: DeserializeOwned>(
    index: usize,
    resource_type: &str,
    resource: &Value,
) -> Result<T, EntryProblem> {
    serde_path_to_error::deserialize(resource)
        .map_err(|e| problem(index, resource_type, path_error(&e)))
}

impl Builder {
    fn add_patient(&mut self, index: usize, full_url: Option<&str>, resource: &Value) {
        let position = self.patients.len();
        let result = typed::<RawPatient>(index, "Patient", resource)
            .and_then(|raw| self.patient_from(index, raw));
        if let Ok(acc) = &result {
            self.local_ids.insert(acc.local_id.clone(), index);
        }
        // Link references even to a refused patient, so that its resources are dropped
        // quietly instead of being reported as dangling.
        // The first patient with a given reference keeps it (a duplicate is refused).
        let mut keys: Vec<String> = full_url.map(str::to_owned).into_iter().collect();
        if let Some(id) = non_empty(resource.get("id").and_then(Value::as_str)) {
            keys.push(format!("Patient/{id}"));
            keys.push(format!("urn:uuid:{id}"));
        }
        for key in keys {
            self.patient_refs.entry(key).or_insert(position);
        }
        self.patients.push((index, result));
    }

    fn patient_from(&self, index: usize, raw: RawPatient) -> Result<PatientAcc, EntryProblem> {
        let bad = |reason: String| problem(index, "Patient", reason);
        let local_id = non_empty(raw.id.as_deref())
            .or_else(|| {
                raw.identifier
                    .iter()
                    .find_map(|i| non_empty(i.value.as_deref()))
            })
            .ok_or_else(|| bad("no Patient.id and no identifier value".into()))?;
        if let Some(first) = self.local_ids.get(&local_id) {
            return Err(bad(format!("same patient id as entry {first}")));
        }
        let birth_date = match non_empty(raw.birth_date.as_deref()) {
            None => return Err(bad("no birthDate".into())),
            Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| bad(format!("birthDate {text:?} is not a full date YYYY-MM-DD")))?,
        };
        let sex = match non_empty(raw.gender.as_deref()).as_deref() {
            None => Sex::Unknown,
            Some(text) => Sex::from_keyword(text).ok_or_else(|| {
                bad(format!(
                    "gender {text:?} is not one of male, female, other, unknown"
                ))
            })?,
        };
        let zip = raw
            .address
            .iter()
            .find_map(|a| non_empty(a.postal_code.as_deref()));
        let deceased = raw.deceased_boolean == Some(true) || raw.deceased_date_time.is_some();
        Ok(PatientAcc {
            local_id,
            birth_date,
            sex,
            zip,
            deceased,
            conditions: BTreeSet::new(),
            condition_terms: BTreeSet::new(),
            medications: BTreeSet::new(),
            procedures: BTreeSet::new(),
            labs: BTreeMap::new(),
        })
    }

    fn add_medication(&mut self, index: usize, full_url: Option<&str>, resource: &Value) {
        let med = match typed::<RawMedication>(index, "Medication", resource) {
            Ok(med) => med,
            Err(p) => return self.warnings.push(p),
        };
        let codes = med.code.map(|c| codes_of(&c)).unwrap_or_default();
        if let Some(url) = full_url {
            self.medications.insert(url.to_owned(), codes.clone());
        }
        if let Some(id) = non_empty(med.id.as_deref()) {
            self.medications
                .insert(format!("urn:uuid:{id}"), codes.clone());
            self.medications.insert(format!("Medication/{id}"), codes);
        }
    }

    /// The patient a resource belongs to. `None` when it cannot be attached (a warning is
    /// recorded) or when it belongs to a refused patient (quietly: that patient is reported).
    fn patient_of(
        &mut self,
        index: usize,
        resource_type: &str,
        subject: Option<&RawReference>,
        patient: Option<&RawReference>,
    ) -> Option<&mut PatientAcc> {
        let reference = subject
            .or(patient)
            .and_then(|r| non_empty(r.reference.as_deref()));
        let Some(reference) = reference else {
            self.warnings.push(problem(
                index,
                resource_type,
                "no subject/patient reference",
            ));
            return None;
        };
        let Some(position) = resolve(&self.patient_refs, &reference, "Patient").copied() else {
            self.warnings.push(problem(
                index,
                resource_type,
                format!("its patient {reference:?} is not in this bundle"),
            ));
            return None;
        };
        self.patients
            .get_mut(position)
            .and_then(|(_, p)| p.as_mut().ok())
    }

    fn add_condition(&mut self, index: usize, resource: &Value) {
        let c = match typed::<RawCondition>(index, "Condition", resource) {
            Ok(c) => c,
            Err(p) => return self.warnings.push(p),
        };
        let refuted = c.verification_status.as_ref().is_some_and(|v| {
            v.coding.iter().any(|coding| {
                matches!(coding.code.as_deref(), Some("refuted" | "entered-in-error"))
            })
        });
        if refuted {
            return;
        }
        let Some(code) = c.code else { return };
        let codes = codes_of(&code);
        let term = non_empty(code.text.as_deref()).or_else(|| {
            code.coding
                .iter()
                .find_map(|coding| non_empty(coding.display.as_deref()))
        });
        if let Some(p) = self.patient_of(index, "Condition", c.subject.as_ref(), c.patient.as_ref())
        {
            p.conditions.extend(codes);
            p.condition_terms.extend(term);
        }
    }

    fn add_medication_use(&mut self, index: usize, resource_type: &str, resource: &Value) {
        let m = match typed::<RawMedicationUse>(index, resource_type, resource) {
            Ok(m) => m,
            Err(p) => return self.warnings.push(p),
        };
        let skipped = match resource_type {
            "MedicationRequest" => ["cancelled", "entered-in-error"],
            _ => ["not-taken", "entered-in-error"],
        };
        if m.status.as_deref().is_some_and(|s| skipped.contains(&s)) {
            return;
        }
        let codes = if let Some(concept) = &m.medication_codeable_concept {
            codes_of(concept)
        } else if let Some(reference) = m
            .medication_reference
            .as_ref()
            .and_then(|r| non_empty(r.reference.as_deref()))
        {
            if let Some(local) = reference.strip_prefix('#') {
                m.contained
                    .iter()
                    .filter(|c| c.get("resourceType").and_then(Value::as_str) == Some("Medication"))
                    .find(|c| c.get("id").and_then(Value::as_str) == Some(local))
                    .and_then(|c| serde_json::from_value::<RawMedication>(c.clone()).ok())
                    .and_then(|med| med.code)
                    .map(|code| codes_of(&code))
                    .unwrap_or_default()
            } else if let Some(codes) = resolve(&self.medications, &reference, "Medication") {
                codes.clone()
            } else {
                self.warnings.push(problem(
                    index,
                    resource_type,
                    format!("medication {reference:?} is not in this bundle"),
                ));
                return;
            }
        } else {
            Vec::new()
        };
        if let Some(p) =
            self.patient_of(index, resource_type, m.subject.as_ref(), m.patient.as_ref())
        {
            p.medications.extend(codes);
        }
    }

    fn add_procedure(&mut self, index: usize, resource: &Value) {
        let pr = match typed::<RawProcedure>(index, "Procedure", resource) {
            Ok(pr) => pr,
            Err(p) => return self.warnings.push(p),
        };
        if matches!(pr.status.as_deref(), Some("not-done" | "entered-in-error")) {
            return;
        }
        let codes = pr.code.map(|c| codes_of(&c)).unwrap_or_default();
        if let Some(p) =
            self.patient_of(index, "Procedure", pr.subject.as_ref(), pr.patient.as_ref())
        {
            p.procedures.extend(codes);
        }
    }

    fn add_observation(&mut self, index: usize, resource: &Value) {
        // Only numeric results with a LOINC code matter: look before parsing, so that the
        // many other observations cost nothing and never warn.
        if resource.get("valueQuantity").is_none() {
            return;
        }
        let o = match typed::<RawObservation>(index, "Observation", resource) {
            Ok(o) => o,
            Err(p) => return self.warnings.push(p),
        };
        if matches!(o.status.as_deref(), Some("cancelled" | "entered-in-error")) {
            return;
        }
        let Some(code) = o.code.as_ref().and_then(|c| {
            codes_of(c)
                .into_iter()
                .find(|code| code.starts_with("loinc:"))
        }) else {
            return;
        };
        let Some(quantity) = o.value_quantity.as_ref() else {
            return;
        };
        let Some(value) = quantity.value.filter(|v| v.is_finite()) else {
            return;
        };
        if quantity.comparator.is_some() {
            return;
        }
        let when = [
            o.effective_date_time.as_deref(),
            o.effective_instant.as_deref(),
            o.effective_period.as_ref().and_then(|p| p.start.as_deref()),
            o.issued.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find_map(parse_date_time);
        let Some((instant, date)) = when else {
            self.warnings.push(problem(
                index,
                "Observation",
                "numeric result without a usable date",
            ));
            return;
        };
        let unit = non_empty(quantity.unit.as_deref())
            .or_else(|| non_empty(quantity.code.as_deref()))
            .unwrap_or_default();
        let key = (instant, index);
        if let Some(p) =
            self.patient_of(index, "Observation", o.subject.as_ref(), o.patient.as_ref())
        {
            let lab = FhirLab {
                code: code.clone(),
                value,
                unit,
                date,
            };
            match p.labs.get(&code) {
                Some((existing, _)) if *existing > key => {}
                _ => {
                    p.labs.insert(code, (key, lab));
                }
            }
        }
    }

    fn finish(self) -> ParsedBundle {
        let patients = self
            .patients
            .into_iter()
            .map(|(index, acc)| {
                let patient = acc.map(|a| FhirPatient {
                    local_id: a.local_id,
                    birth_date: a.birth_date,
                    sex: a.sex,
                    zip: a.zip,
                    deceased: a.deceased,
                    conditions: a.conditions.into_iter().collect(),
                    condition_terms: a.condition_terms.into_iter().collect(),
                    medications: a.medications.into_iter().collect(),
                    procedures: a.procedures.into_iter().collect(),
                    labs: a.labs.into_values().map(|(_, lab)| lab).collect(),
                });
                (index, patient)
            })
            .collect();
        ParsedBundle {
            patients,
            warnings: self.warnings,
        }
    }
}

/// Finds a reference in a map keyed by fullUrl and `Type/id`: exactly, without a
/// `/_history/<v>` suffix, or by its last `Type/id` segments (absolute URLs).
fn resolve<'m, T>(map: &'m HashMap<String, T>, reference: &str, type_name: &str) -> Option<&'m T> {
    if let Some(found) = map.get(reference) {
        return Some(found);
    }
    let base = reference
        .split_once("/_history/")
        .map_or(reference, |(base, _)| base);
    if let Some(found) = map.get(base) {
        return Some(found);
    }
    let mut segments = base.rsplit('/');
    let (Some(id), Some(kind)) = (segments.next(), segments.next()) else {
        return None;
    };
    if kind != type_name {
        return None;
    }
    map.get(&format!("{type_name}/{id}"))
}

/// Maps a code-system URI (or HL7 OID) to Veritrial's short system name.
fn system_name(system: &str) -> Option<&'static str> {
    let system = system.trim().trim_end_matches('/');
    Some(match system {
        "http://snomed.info/sct" | "urn:oid:2.16.840.1.113883.6.96" => "snomed",
        "http://hl7.org/fhir/sid/icd-10"
        | "http://hl7.org/fhir/sid/icd-10-cm"
        | "urn:oid:2.16.840.1.113883.6.90"
        | "urn:oid:2.16.840.1.113883.6.3" => "icd10",
        "http://www.nlm.nih.gov/research/umls/rxnorm" | "urn:oid:2.16.840.1.113883.6.88" => {
            "rxnorm"
        }
        "http://loinc.org" | "urn:oid:2.16.840.1.113883.6.1" => "loinc",
        "http://www.ama-assn.org/go/cpt" | "urn:oid:2.16.840.1.113883.6.12" => "cpt",
        "http://www.whocc.no/atc" => "atc",
        "http://hl7.org/fhir/sid/ndc" => "ndc",
        "http://hl7.org/fhir/sid/icd-9-cm" => "icd9",
        "http://www.cms.gov/Medicare/Coding/ICD10" => "icd10pcs",
        _ => return None,
    })
}

/// The `system:code` values of a CodeableConcept, in known systems only.
fn codes_of(concept: &RawCodeableConcept) -> Vec<String> {
    concept
        .coding
        .iter()
        .filter_map(|c| {
            let system = system_name(c.system.as_deref()?)?;
            let code = non_empty(c.code.as_deref())?;
            Some(matcher::normalise_code(&format!("{system}:{code}")))
        })
        .collect()
}

/// Parses a FHIR dateTime/instant (`YYYY`, `YYYY-MM`, `YYYY-MM-DD` or a full date-time) into
/// an ordering instant (seconds since the epoch, UTC; partial dates at their first day,
/// midnight UTC) and the calendar date as written.
fn parse_date_time(text: &str) -> Option<(i64, NaiveDate)> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some((dt.timestamp(), dt.date_naive()));
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some((dt.and_utc().timestamp(), dt.date()));
    }
    let date = match text.len() {
        10 => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?,
        7 => NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?,
        4 => NaiveDate::parse_from_str(&format!("{text}-01-01"), "%Y-%m-%d").ok()?,
        _ => return None,
    };
    Some((
        date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp(),
        date,
    ))
}

// Serde models of just the fields read; everything optional, lists tolerate `null`.

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawCoding {
    system: Option<String>,
    code: Option<String>,
    display: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawCodeableConcept {
    #[serde(deserialize_with = "null_default")]
    coding: Vec<RawCoding>,
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawReference {
    reference: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawIdentifier {
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawAddress {
    postal_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPatient {
    id: Option<String>,
    #[serde(deserialize_with = "null_default")]
    identifier: Vec<RawIdentifier>,
    gender: Option<String>,
    birth_date: Option<String>,
    #[serde(deserialize_with = "null_default")]
    address: Vec<RawAddress>,
    deceased_boolean: Option<bool>,
    deceased_date_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawMedication {
    id: Option<String>,
    code: Option<RawCodeableConcept>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawCondition {
    code: Option<RawCodeableConcept>,
    verification_status: Option<RawCodeableConcept>,
    subject: Option<RawReference>,
    patient: Option<RawReference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawMedicationUse {
    status: Option<String>,
    medication_codeable_concept: Option<RawCodeableConcept>,
    medication_reference: Option<RawReference>,
    #[serde(deserialize_with = "null_default")]
    contained: Vec<Value>,
    subject: Option<RawReference>,
    patient: Option<RawReference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawProcedure {
    status: Option<String>,
    code: Option<RawCodeableConcept>,
    subject: Option<RawReference>,
    patient: Option<RawReference>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawQuantity {
    value: Option<f64>,
    comparator: Option<String>,
    unit: Option<String>,
    code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPeriod {
    start: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawObservation {
    status: Option<String>,
    code: Option<RawCodeableConcept>,
    subject: Option<RawReference>,
    patient: Option<RawReference>,
    value_quantity: Option<RawQuantity>,
    effective_date_time: Option<String>,
    effective_instant: Option<String>,
    effective_period: Option<RawPeriod>,
    issued: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::testutil::{gzip, testdata};

    fn folder() -> std::path::PathBuf {
        testdata().join("fhir-r4-synthea")
    }

    fn patient_of_file(prefix: &str) -> FhirPatient {
        let results = read_path(folder());
        let (_, bundle) = results
            .iter()
            .find(|(file, _)| file.contains(prefix))
            .expect("file present");
        let bundle = bundle.as_ref().expect("bundle parses");
        assert_eq!(bundle.patients.len(), 1);
        bundle.patients[0].1.clone().expect("patient parses")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn assert_lab(p: &FhirPatient, code: &str, value: f64, unit: &str, on: NaiveDate) {
        let lab = p.labs.iter().find(|l| l.code == code).expect(code);
        assert!((lab.value - value).abs() < 1e-12, "{code}: {}", lab.value);
        assert_eq!((lab.unit.as_str(), lab.date), (unit, on), "{code}");
    }

    #[test]
    fn all_shared_bundles() {
        let results = read_path(folder());
        // 40 bundles; LICENSE is not a bundle file.
        assert_eq!(results.len(), 40);
        let mut names: Vec<&String> = results.iter().map(|(f, _)| f).collect();
        names.dedup();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted file order");
        let mut patients = Vec::new();
        let mut failed = Vec::new();
        let mut empty_bundles = 0;
        for (file, result) in &results {
            match result {
                Ok(bundle) => {
                    assert!(bundle.warnings.is_empty(), "{file}: {:?}", bundle.warnings);
                    if bundle.patients.is_empty() {
                        empty_bundles += 1;
                    }
                    for (_, p) in &bundle.patients {
                        patients.push(p.clone().unwrap_or_else(|e| panic!("{file}: {e}")));
                    }
                }
                Err(e) => failed.push((file.clone(), e.to_string())),
            }
        }
        assert_eq!(patients.len(), 38);
        assert_eq!(empty_bundles, 1, "the practitioner-only bundle");
        assert_eq!(failed.len(), 1);
        assert!(failed[0].0.contains("Gustavo_Mej"));
        assert_eq!(failed[0].1, "the file is empty");
        assert_eq!(patients.iter().filter(|p| p.deceased).count(), 4);
        assert_eq!(patients.iter().filter(|p| p.zip.is_none()).count(), 1);
        assert!(
            patients
                .iter()
                .all(|p| p.sex == Sex::Male || p.sex == Sex::Female)
        );
    }

    #[test]
    fn prediabetic_woman_exact() {
        let p = patient_of_file("Maida_Gerhold");
        assert_eq!(p.local_id, "3552e945-2598-4993-b617-4133ab2ed914");
        assert_eq!(p.birth_date, date(1985, 11, 8));
        assert_eq!(p.sex, Sex::Female);
        assert_eq!(p.zip.as_deref(), Some("02108"));
        assert!(!p.deceased);
        assert_eq!(
            p.conditions,
            strings(&[
                "snomed:15777000",
                "snomed:162864005",
                "snomed:271737000",
                "snomed:36971009",
                "snomed:38341003",
                "snomed:40055000",
                "snomed:444814009",
                "snomed:62106007",
            ])
        );
        assert_eq!(
            p.condition_terms,
            strings(&[
                "Anemia (disorder)",
                "Body mass index 30+ - obesity (finding)",
                "Chronic sinusitis (disorder)",
                "Concussion with no loss of consciousness",
                "Hypertension",
                "Prediabetes",
                "Sinusitis (disorder)",
                "Viral sinusitis (disorder)",
            ])
        );
        assert_eq!(p.medications, strings(&["rxnorm:316049"]));
        assert_eq!(p.procedures, strings(&["snomed:287664005"]));
        assert_eq!(p.labs.len(), 29);
        assert!(p.labs.windows(2).all(|w| w[0].code < w[1].code));
        // Four HbA1c results (5.81, 6.02, 6.31, 6.07 %): the latest, not the highest.
        assert_lab(
            &p,
            "loinc:4548-4",
            6.069261311137464,
            "%",
            date(2019, 9, 27),
        );
        assert_lab(
            &p,
            "loinc:38483-4",
            1.417828627428664,
            "mg/dL",
            date(2019, 9, 27),
        );
        assert_lab(
            &p,
            "loinc:2339-0",
            86.55323447069941,
            "mg/dL",
            date(2019, 9, 27),
        );
        assert_lab(
            &p,
            "loinc:39156-5",
            43.31245958194616,
            "kg/m2",
            date(2019, 9, 27),
        );
    }

    #[test]
    fn prediabetic_man_exact() {
        let p = patient_of_file("Lupe_Little");
        assert_eq!(p.local_id, "31052ccc-7804-4268-b953-741322eed47e");
        assert_eq!(p.birth_date, date(1982, 4, 7));
        assert_eq!(p.sex, Sex::Male);
        assert_eq!(p.zip.as_deref(), Some("02540"));
        assert_eq!(
            p.conditions,
            strings(&[
                "snomed:15777000",
                "snomed:195662009",
                "snomed:271737000",
                "snomed:410429000",
                "snomed:429007001",
                "snomed:444814009",
            ])
        );
        assert_eq!(
            p.condition_terms,
            strings(&[
                "Acute viral pharyngitis (disorder)",
                "Anemia (disorder)",
                "Cardiac Arrest",
                "History of cardiac arrest (situation)",
                "Prediabetes",
                "Viral sinusitis (disorder)",
            ])
        );
        assert!(p.medications.is_empty());
        assert_eq!(p.procedures, strings(&["snomed:117015009"]));
        assert_eq!(p.labs.len(), 29);
        assert_lab(&p, "loinc:4548-4", 6.188238967081563, "%", date(2019, 5, 1));
        assert_lab(
            &p,
            "loinc:38483-4",
            1.2928955394678576,
            "mg/dL",
            date(2019, 5, 1),
        );
        // Not measured at the last visit: the latest is older than the others.
        assert_lab(
            &p,
            "loinc:718-7",
            12.697422741876627,
            "g/dL",
            date(2016, 7, 20),
        );
        assert_lab(
            &p,
            "loinc:8331-1",
            37.27518705031584,
            "Cel",
            date(2019, 4, 16),
        );
    }

    #[test]
    fn patient_without_postal_code_exact() {
        let p = patient_of_file("George_Kutch");
        assert_eq!(p.local_id, "b3873037-a455-4558-a066-9faaed01b673");
        assert_eq!(p.birth_date, date(1967, 8, 25));
        assert_eq!(p.sex, Sex::Male);
        assert_eq!(p.zip, None);
        assert_eq!(
            p.conditions,
            strings(&[
                "snomed:162864005",
                "snomed:38341003",
                "snomed:40055000",
                "snomed:444814009",
            ])
        );
        assert_eq!(p.medications, strings(&["rxnorm:316049"]));
        assert_eq!(
            p.procedures,
            strings(&["snomed:428191000124101", "snomed:73761001"])
        );
        assert_eq!(p.labs.len(), 20);
        assert!(!p.labs.iter().any(|l| l.code == "loinc:4548-4"));
        assert_lab(
            &p,
            "loinc:39156-5",
            30.431120343461263,
            "kg/m2",
            date(2020, 9, 11),
        );
        assert_lab(
            &p,
            "loinc:718-7",
            13.908298421354889,
            "g/dL",
            date(2019, 9, 6),
        );
    }

    #[test]
    fn output_holds_no_names_or_identifiers() {
        let bytes = std::fs::read(
            folder().join("Maida_Gerhold_40f86343-0170-40ca-b4ca-21ab9094da93.json.gz"),
        )
        .unwrap();
        let bundle = parse_bundle(&bytes).unwrap();
        let printed = format!("{bundle:?}");
        let raw = String::from_utf8(decode_input(&bytes).unwrap().into_owned()).unwrap();
        let json: Value = serde_json::from_str(&raw).unwrap();
        let patient = &json["entry"][0]["resource"];
        assert_eq!(patient["resourceType"], "Patient");
        let family = patient["name"][0]["family"].as_str().unwrap();
        let street = patient["address"][0]["line"][0].as_str().unwrap();
        let phone = patient["telecom"][0]["value"].as_str().unwrap();
        for secret in [family, "Maida", street, phone, "40f86343-0170", "999-"] {
            assert!(!printed.contains(secret), "{secret} leaked");
        }
    }

    fn bundle_with(resources: &[&str]) -> String {
        let entries: Vec<String> = resources
            .iter()
            .map(|r| format!(r#"{{"resource": {r}}}"#))
            .collect();
        format!(
            r#"{{"resourceType": "Bundle", "type": "collection", "entry": [{}]}}"#,
            entries.join(",")
        )
    }

    const PATIENT_A: &str = r#"{"resourceType": "Patient", "id": "a", "gender": "female",
        "birthDate": "1970-01-02", "address": [{"line": ["1 Main St"]}, {"postalCode": "10001"}],
        "name": [{"family": "Doe"}]}"#;
    const PATIENT_B: &str = r#"{"resourceType": "Patient", "identifier": [{"value": "MRN-9"}],
        "birthDate": "1990-05-06"}"#;

    #[test]
    fn several_patients_references_and_medication_resolution() {
        let text = bundle_with(&[
            PATIENT_A,
            r#"{"resourceType": "Medication", "id": "m1", "code": {"coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]}}"#,
            r#"{"resourceType": "Condition", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "e11.9"},
                                    {"system": "http://snomed.info/sct", "code": "44054006", "display": "Diabetes"},
                                    {"system": "http://example.org/local", "code": "X1"}]}}"#,
            r#"{"resourceType": "Condition", "subject": {"reference": "Patient/a"},
                "verificationStatus": {"coding": [{"code": "refuted"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}], "text": "No"}}"#,
            r#"{"resourceType": "MedicationRequest", "subject": {"reference": "http://x/fhir/Patient/a/_history/2"},
                "medicationReference": {"reference": "Medication/m1"}}"#,
            r##"{"resourceType": "MedicationStatement", "subject": {"reference": "Patient/a"},
                "contained": [{"resourceType": "Medication", "id": "c", "code": {"coding": [
                    {"system": "http://www.whocc.no/atc", "code": "a10ba02"}]}}],
                "medicationReference": {"reference": "#c"}}"##,
            r#"{"resourceType": "Procedure", "subject": {"reference": "Patient/a"}, "status": "not-done",
                "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}}"#,
            r#"{"resourceType": "Procedure", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "83036"}]}}"#,
            PATIENT_B,
            r#"{"resourceType": "Observation", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "effectiveDateTime": "2020-03-01T23:30:00-05:00", "valueQuantity": {"value": 7.5, "unit": "%"}}"#,
            r#"{"resourceType": "Observation", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "effectiveDateTime": "2020-03-02T02:00:00Z", "valueQuantity": {"value": 9.9, "unit": "%"}}"#,
            r#"{"resourceType": "Observation", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "effectiveDateTime": "2021-01-01", "valueQuantity": {"value": 4, "comparator": "<"}}"#,
            r#"{"resourceType": "Observation", "patient": {"reference": "Patient/ghost"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                "issued": "2021-01-01T00:00:00Z", "valueQuantity": {"value": 1.1, "code": "mg/dL"}}"#,
            r#"{"resourceType": "Observation", "subject": {"reference": "Patient/a"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
                "effectivePeriod": {"start": "2019-07"}, "valueQuantity": {"value": "high"}}"#,
        ]);
        let bundle = parse_bundle(text.as_bytes()).unwrap();
        assert_eq!(bundle.patients.len(), 2);
        let (entry, a) = &bundle.patients[0];
        assert_eq!(*entry, 0);
        let a = a.as_ref().unwrap();
        let expected = FhirPatient {
            local_id: "a".into(),
            birth_date: date(1970, 1, 2),
            sex: Sex::Female,
            zip: Some("10001".into()),
            deceased: false,
            conditions: strings(&["icd10:E11.9", "snomed:44054006"]),
            condition_terms: strings(&["Diabetes"]),
            medications: strings(&["atc:A10BA02", "rxnorm:860975"]),
            procedures: strings(&["cpt:83036"]),
            labs: vec![FhirLab {
                code: "loinc:4548-4".into(),
                value: 7.5,
                unit: "%".into(),
                // 2020-03-02T04:30Z is later than 02:00Z; the date is as written.
                date: date(2020, 3, 1),
            }],
        };
        assert_eq!(*a, expected);
        let (entry, b) = &bundle.patients[1];
        assert_eq!(*entry, 8);
        let b = b.as_ref().unwrap();
        assert_eq!(b.local_id, "MRN-9");
        assert_eq!(b.sex, Sex::Unknown);
        assert!(b.conditions.is_empty() && b.labs.is_empty());
        let warnings: Vec<String> = bundle.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(
            warnings[0],
            "entry 12 (Observation): its patient \"Patient/ghost\" is not in this bundle"
        );
        assert!(warnings[1].starts_with("entry 13 (Observation): at valueQuantity.value:"));
        assert!(!format!("{bundle:?}").contains("Main St"));
    }

    #[test]
    fn bad_patients_are_reported_and_the_rest_parse() {
        let text = bundle_with(&[
            r#"{"resourceType": "Patient", "id": "x", "birthDate": "1970"}"#,
            r#"{"resourceType": "Patient", "id": "y", "birthDate": "1970-01-01", "gender": "F"}"#,
            r#"{"resourceType": "Patient", "birthDate": "1970-01-01"}"#,
            r#"{"resourceType": "Patient", "id": "z", "birthDate": 1970}"#,
            PATIENT_A,
            PATIENT_A,
            r#"{"resourceType": "Condition", "subject": {"reference": "Patient/x"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}}"#,
        ]);
        let bundle = parse_bundle(text.as_bytes()).unwrap();
        let reasons: Vec<String> = bundle
            .patients
            .iter()
            .map(|(_, p)| match p {
                Ok(p) => format!("ok {}", p.local_id),
                Err(e) => e.to_string(),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "entry 0 (Patient): birthDate \"1970\" is not a full date YYYY-MM-DD",
                "entry 1 (Patient): gender \"F\" is not one of male, female, other, unknown",
                "entry 2 (Patient): no Patient.id and no identifier value",
                "entry 3 (Patient): at birthDate: invalid type: integer `1970`, expected a string",
                "ok a",
                "entry 5 (Patient): same patient id as entry 4",
            ]
        );
        // The condition of refused patient x is dropped quietly.
        assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
    }

    #[test]
    fn other_versions_are_refused() {
        let stu3 = r#"{"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"}},
            {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/p"},
                "clinicalStatus": "active", "verificationStatus": "confirmed"}}]}"#;
        let dstu2 = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "MedicationOrder", "patient": {"reference": "Patient/p"}}}]}"#;
        let declared = r#"{"resourceType": "Bundle", "type": "collection",
            "meta": {"fhirVersion": "3.0.2"}, "entry": []}"#;
        let r5 = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "MedicationRequest", "medication": {"concept": {}}}}]}"#;
        let atom = r#"{"feed": {"entry": []}}"#;
        for (text, needle) in [
            (stu3, "entry 1 (Condition): clinicalStatus is a plain code"),
            (
                dstu2,
                "entry 0 (MedicationOrder): this resource type exists only in FHIR DSTU2/STU3",
            ),
            (declared, "the Bundle declares FHIR version \"3.0.2\""),
            (r5, "CodeableReference (R5)"),
            (atom, "Atom feed"),
        ] {
            match parse_bundle(text.as_bytes()) {
                Err(e @ FhirError::UnsupportedVersion(_)) => {
                    assert!(e.to_string().contains(needle), "{e}")
                }
                other => panic!("{needle}: {other:?}"),
            }
        }
        let r4b = r#"{"resourceType": "Bundle", "type": "collection", "fhirVersion": "4.3.0"}"#;
        assert!(parse_bundle(r4b.as_bytes()).unwrap().patients.is_empty());
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(matches!(parse_bundle(b""), Err(FhirError::Empty)));
        assert!(matches!(parse_bundle(&gzip(b"")), Err(FhirError::Empty)));
        assert!(matches!(
            parse_bundle(b"MSH|^~\\&|HL7v2"),
            Err(FhirError::NotJson(_))
        ));
        assert!(matches!(
            parse_bundle(b"[1, 2]"),
            Err(FhirError::NotABundle(_))
        ));
        let patient = PATIENT_A.as_bytes();
        assert_eq!(
            parse_bundle(patient).unwrap_err().to_string(),
            "not a FHIR Bundle: resourceType is \"Patient\""
        );
        let document = r#"{"resourceType": "Bundle", "type": "document"}"#;
        assert!(matches!(
            parse_bundle(document.as_bytes()),
            Err(FhirError::UnsupportedBundleType(t)) if t == "document"
        ));
    }

    #[test]
    fn read_path_single_plain_file_and_missing_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("one.json");
        std::fs::write(&file, bundle_with(&[PATIENT_A])).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a bundle").unwrap();
        std::fs::write(
            dir.path().join("two.JSON.gz"),
            gzip(bundle_with(&[PATIENT_B]).as_bytes()),
        )
        .unwrap();
        let results = read_path(&file);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].1.as_ref().unwrap().patients.len(), 1);
        let results = read_path(dir.path());
        let names: Vec<&str> = results.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names.len(), 2);
        assert!(names[0].ends_with("one.json") && names[1].ends_with("two.JSON.gz"));
        assert!(results.iter().all(|(_, r)| r.is_ok()));
        let missing = read_path(dir.path().join("nope.json"));
        assert!(matches!(missing[0].1, Err(FhirError::Io(_))));
    }

    #[test]
    fn date_times() {
        assert_eq!(
            parse_date_time("2011-11-21T07:00:48+00:00"),
            Some((1_321_858_848, date(2011, 11, 21)))
        );
        assert_eq!(
            parse_date_time("2011-11").map(|d| d.1),
            Some(date(2011, 11, 1))
        );
        assert_eq!(parse_date_time("2011").map(|d| d.1), Some(date(2011, 1, 1)));
        assert_eq!(
            parse_date_time("2011-11-21T07:00:48").map(|d| d.1),
            Some(date(2011, 11, 21))
        );
        for bad in ["", "yesterday", "2011-13-01", "20é1-01-01"] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }
}
