//! Case-report forms a protocol defines: typed fields with units, ranges and allowed values;
//! checking a definition, checking a record against it, and what changed between two records.
//!
//! A form is part of the protocol document, so changing one is an amendment the ethics board
//! reviews. Field and form ids follow the rules of CDISC ODM OIDs and CSV column names
//! (a letter, then letters, digits or `_`), so exports need no renaming.

use std::collections::BTreeSet;

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Most forms one protocol may define.
pub const MAX_FORMS: usize = 50;
/// Most fields one form may have.
pub const MAX_FIELDS: usize = 200;
/// Longest text value accepted in a text field, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest id of a form or field.
pub const MAX_ID_CHARS: usize = 64;

/// A form of the protocol: what a site fills in at a visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "Form", input_name = "FormInput")]
pub struct FormDefinition {
    /// Stable id, e.g. `vitals`; records name it as their `form`.
    pub id: String,
    /// Shown to people, e.g. "Vital signs".
    pub title: String,
    /// In the order they are shown and exported.
    pub fields: Vec<FieldDefinition>,
}

/// One field of a form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SimpleObject, InputObject)]
#[serde(rename_all = "camelCase")]
#[graphql(name = "FormField", input_name = "FormFieldInput")]
pub struct FieldDefinition {
    /// Stable id, e.g. `systolic`: the key in the record's data.
    pub id: String,
    /// Shown to people, e.g. "Systolic blood pressure".
    pub label: String,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: FieldKind,
    /// Unit of a number or integer, e.g. `mmHg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Whether a record must give a value.
    #[serde(default)]
    #[graphql(default)]
    pub required: bool,
    /// Smallest value a number or integer may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value a number or integer may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The values a choice may take.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[graphql(default)]
    pub choices: Vec<String>,
}

/// What a field holds, and how its value is written in a record's JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "lowercase")]
#[graphql(name = "FieldType")]
pub enum FieldKind {
    /// A JSON number, within the range, in the field's unit.
    Number,
    /// A JSON integer, within the range.
    Integer,
    /// A JSON string of at most [`MAX_TEXT_CHARS`] characters.
    Text,
    /// A JSON string `YYYY-MM-DD`.
    Date,
    /// A JSON string, one of the choices.
    Choice,
    /// A JSON boolean.
    #[serde(rename = "yesno")]
    YesNo,
}

impl FieldKind {
    /// The name used in definitions and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Number => "number",
            FieldKind::Integer => "integer",
            FieldKind::Text => "text",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::YesNo => "yesno",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, FieldKind::Number | FieldKind::Integer)
    }
}

/// A field's value that breaks its definition.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    /// The field's id (or the unknown key).
    pub field: String,
    /// What is wrong, for people.
    pub message: String,
}

impl FieldProblem {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Whether `id` may name a form or field: a letter, then letters, digits or `_`.
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= MAX_ID_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Refuses (`BAD_INPUT`) a set of form definitions that could not be filled in or exported:
/// bad or repeated ids, empty labels, a choice without choices, a range outside its kind or
/// upside down.
pub fn check_definitions(forms: &[FormDefinition]) -> AppResult<()> {
    if forms.len() > MAX_FORMS {
        return Err(AppError::bad_input(format!(
            "a protocol defines at most {MAX_FORMS} forms"
        )));
    }
    let mut form_ids = BTreeSet::new();
    for form in forms {
        let name = &form.id;
        if !valid_id(name) {
            return Err(AppError::bad_input(format!(
                "form id {name:?}: use a letter, then letters, digits or _ (at most {MAX_ID_CHARS})"
            )));
        }
        if !form_ids.insert(name.as_str()) {
            return Err(AppError::bad_input(format!(
                "form id {name:?} is used twice"
            )));
        }
        if form.title.trim().is_empty() {
            return Err(AppError::bad_input(format!("form {name:?} has no title")));
        }
        if form.fields.is_empty() || form.fields.len() > MAX_FIELDS {
            return Err(AppError::bad_input(format!(
                "form {name:?} needs between 1 and {MAX_FIELDS} fields"
            )));
        }
        let mut field_ids = BTreeSet::new();
        for field in &form.fields {
            check_field(name, field)?;
            if !field_ids.insert(field.id.as_str()) {
                return Err(AppError::bad_input(format!(
                    "form {name:?}: field id {:?} is used twice",
                    field.id
                )));
            }
        }
    }
    Ok(())
}

fn check_field(form: &str, field: &FieldDefinition) -> AppResult<()> {
    let problem = |message: String| {
        Err(AppError::bad_input(format!(
            "form {form:?}, field {:?}: {message}",
            field.id
        )))
    };
    if !valid_id(&field.id) {
        return problem(format!(
            "use a letter, then letters, digits or _ (at most {MAX_ID_CHARS})"
        ));
    }
    if field.label.trim().is_empty() {
        return problem("has no label".into());
    }
    let numeric = field.kind.is_numeric();
    if !numeric && (field.min.is_some() || field.max.is_some() || field.unit.is_some()) {
        return problem("only number and integer fields have a range or a unit".into());
    }
    if [field.min, field.max]
        .iter()
        .flatten()
        .any(|v| !v.is_finite())
    {
        return problem("the range must be finite numbers".into());
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        return problem(format!("the minimum {min} is above the maximum {max}"));
    }
    let choices: BTreeSet<&str> = field.choices.iter().map(|c| c.trim()).collect();
    match field.kind {
        FieldKind::Choice if field.choices.is_empty() => problem("a choice needs choices".into()),
        FieldKind::Choice if choices.len() != field.choices.len() || choices.contains("") => {
            problem("choices must be distinct and not empty".into())
        }
        FieldKind::Choice => Ok(()),
        _ if !field.choices.is_empty() => problem("only a choice field has choices".into()),
        _ => Ok(()),
    }
}

/// Every way `data` breaks `form`: a missing required value, a value of the wrong type or
/// out of range, a key the form does not define. Empty when the record is valid.
pub fn problems(form: &FormDefinition, data: &Value) -> Vec<FieldProblem> {
    let Some(object) = data.as_object() else {
        return vec![FieldProblem::new("", "a record is a JSON object")];
    };
    let mut found: Vec<FieldProblem> = form
        .fields
        .iter()
        .filter_map(|field| check_value(field, object.get(&field.id).unwrap_or(&Value::Null)))
        .collect();
    found.extend(
        object
            .keys()
            .filter(|key| !form.fields.iter().any(|f| &f.id == *key))
            .map(|key| FieldProblem::new(key, format!("form {:?} has no such field", form.id))),
    );
    found
}

fn check_value(field: &FieldDefinition, value: &Value) -> Option<FieldProblem> {
    let bad = |message: String| Some(FieldProblem::new(&field.id, message));
    if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
        return field
            .required
            .then(|| FieldProblem::new(&field.id, "is required"));
    }
    match field.kind {
        FieldKind::Number => match value.as_f64() {
            Some(n) => out_of_range(field, n).and_then(bad),
            None => bad("must be a number".into()),
        },
        FieldKind::Integer => match value.as_i64() {
            Some(n) => out_of_range(field, n as f64).and_then(bad),
            None => bad("must be a whole number".into()),
        },
        FieldKind::Text => match value.as_str() {
            Some(s) if s.chars().count() > MAX_TEXT_CHARS => {
                bad(format!("is longer than {MAX_TEXT_CHARS} characters"))
            }
            Some(_) => None,
            None => bad("must be text".into()),
        },
        FieldKind::Date => match value.as_str() {
            Some(s)
                if s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
            {
                None
            }
            _ => bad("must be a date written YYYY-MM-DD".into()),
        },
        FieldKind::Choice => match value.as_str() {
            Some(s) if field.choices.iter().any(|c| c == s) => None,
            _ => bad(format!("must be one of: {}", field.choices.join(", "))),
        },
        FieldKind::YesNo => match value {
            Value::Bool(_) => None,
            _ => bad("must be yes or no (true or false)".into()),
        },
    }
}

fn out_of_range(field: &FieldDefinition, n: f64) -> Option<String> {
    let unit = field
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    match (field.min, field.max) {
        (Some(min), _) if n < min => Some(format!("{n} is below the minimum, {min}{unit}")),
        (_, Some(max)) if n > max => Some(format!("{n} is above the maximum, {max}{unit}")),
        _ => None,
    }
}

/// Refuses (`BAD_INPUT`, naming every field at fault) a record that breaks `form`.
pub fn check_record(form: &FormDefinition, data: &Value) -> AppResult<()> {
    let found = problems(form, data);
    if found.is_empty() {
        return Ok(());
    }
    let label = |id: &str| {
        form.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| format!("{id:?} ({})", f.label))
            .unwrap_or_else(|| format!("{id:?}"))
    };
    let message = found
        .iter()
        .map(|p| format!("field {}: {}", label(&p.field), p.message))
        .collect::<Vec<_>>()
        .join("; ");
    Err(AppError::InvalidFields {
        fields: found.into_iter().map(|p| p.field).collect(),
        message: format!("the {} record is not valid: {message}", form.title),
    })
}

/// One field whose value differs between two versions of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueChange {
    pub field: String,
    /// The field's label, or its id when the form does not define it.
    pub label: String,
    /// The value before, `None` when it was not given.
    pub before: Option<Value>,
    /// The value after, `None` when it was removed.
    pub after: Option<Value>,
}

/// The fields that changed from `before` to `after`: the form's fields in its order, then
/// any other keys by name.
pub fn value_changes(
    form: Option<&FormDefinition>,
    before: &Value,
    after: &Value,
) -> Vec<ValueChange> {
    let given = |data: &Value, key: &str| data.get(key).filter(|v| !v.is_null()).cloned();
    let defined: Vec<(&str, &str)> = form
        .map(|f| {
            f.fields
                .iter()
                .map(|field| (field.id.as_str(), field.label.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let others: BTreeSet<&str> = [before, after]
        .iter()
        .filter_map(|d| d.as_object())
        .flat_map(|o| o.keys().map(String::as_str))
        .filter(|key| !defined.iter().any(|(id, _)| id == key))
        .collect();
    defined
        .into_iter()
        .chain(others.into_iter().map(|key| (key, key)))
        .filter_map(|(id, label)| {
            let (old, new) = (given(before, id), given(after, id));
            (old != new).then(|| ValueChange {
                field: id.to_string(),
                label: label.to_string(),
                before: old,
                after: new,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn vitals() -> FormDefinition {
        serde_json::from_value(json!({
            "id": "vitals",
            "title": "Vital signs",
            "fields": [
                {"id": "systolic", "label": "Systolic blood pressure", "type": "integer",
                 "unit": "mmHg", "required": true, "min": 60, "max": 250},
                {"id": "weight", "label": "Weight", "type": "number", "unit": "kg", "min": 1.5},
                {"id": "visitDate", "label": "Visit date", "type": "date", "required": true},
                {"id": "smoker", "label": "Smoker", "type": "yesno"},
                {"id": "arm", "label": "Arm", "type": "choice", "choices": ["A", "B"]},
                {"id": "note", "label": "Note", "type": "text"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_record_passes() {
        let data = json!({"systolic": 120, "weight": 70.5, "visitDate": "2026-03-01",
                          "smoker": false, "arm": "B", "note": "fine"});
        assert_eq!(problems(&vitals(), &data), vec![]);
        let minimal = json!({"systolic": 60, "visitDate": "2026-03-01", "weight": null});
        assert_eq!(problems(&vitals(), &minimal), vec![]);
    }

    #[test]
    fn each_kind_of_mistake_names_its_field() {
        let cases = [
            (
                json!({"visitDate": "2026-03-01"}),
                "systolic",
                "is required",
            ),
            (
                json!({"systolic": 300, "visitDate": "2026-03-01"}),
                "systolic",
                "above the maximum, 250 mmHg",
            ),
            (
                json!({"systolic": 120.5, "visitDate": "2026-03-01"}),
                "systolic",
                "whole number",
            ),
            (
                json!({"systolic": "120", "visitDate": "2026-03-01"}),
                "systolic",
                "whole number",
            ),
            (
                json!({"systolic": 120, "visitDate": "2026-02-30"}),
                "visitDate",
                "YYYY-MM-DD",
            ),
            (
                json!({"systolic": 120, "visitDate": "  "}),
                "visitDate",
                "is required",
            ),
            (
                json!({"systolic": 120, "visitDate": "2026-03-01", "weight": 1}),
                "weight",
                "below the minimum, 1.5 kg",
            ),
            (
                json!({"systolic": 120, "visitDate": "2026-03-01", "smoker": "no"}),
                "smoker",
                "yes or no",
            ),
            (
                json!({"systolic": 120, "visitDate": "2026-03-01", "arm": "C"}),
                "arm",
                "one of: A, B",
            ),
            (
                json!({"systolic": 120, "visitDate": "2026-03-01", "pulse": 80}),
                "pulse",
                "no such field",
            ),
        ];
        for (data, field, words) in cases {
            let found = problems(&vitals(), &data);
            assert_eq!(found.len(), 1, "{data}: {found:?}");
            assert_eq!(found[0].field, field, "{data}");
            assert!(
                found[0].message.contains(words),
                "{data}: {}",
                found[0].message
            );
        }
    }

    #[test]
    fn a_refused_record_is_bad_input_naming_every_field() {
        let err = check_record(&vitals(), &json!({"systolic": 10, "arm": "Z"})).unwrap_err();
        assert_eq!(err.code(), "BAD_INPUT");
        let AppError::InvalidFields { fields, message } = err else {
            panic!("not a field error");
        };
        assert_eq!(fields, ["systolic", "visitDate", "arm"]);
        assert!(
            message.contains("\"systolic\" (Systolic blood pressure)"),
            "{message}"
        );
    }

    #[test]
    fn definitions_that_cannot_work_are_refused() {
        let with = |patch: Value| {
            let mut form = serde_json::to_value(vitals()).unwrap();
            form["fields"][0]
                .as_object_mut()
                .unwrap()
                .extend(patch.as_object().unwrap().clone());
            check_definitions(&[serde_json::from_value(form).unwrap()])
        };
        assert!(check_definitions(&[vitals()]).is_ok());
        for (patch, words) in [
            (json!({"id": "1bad"}), "use a letter"),
            (json!({"id": "weight"}), "used twice"),
            (json!({"label": " "}), "no label"),
            (json!({"min": 300}), "above the maximum"),
            (json!({"type": "text"}), "range or a unit"),
            (
                json!({"type": "choice", "unit": null, "min": null, "max": null}),
                "needs choices",
            ),
        ] {
            let err = with(patch.clone()).expect_err(&patch.to_string());
            assert!(err.to_string().contains(words), "{patch}: {err}");
        }
        assert!(check_definitions(&[vitals(), vitals()]).is_err());
    }

    #[test]
    fn a_definition_round_trips_and_keeps_optional_parts_out() {
        let form = vitals();
        let json = serde_json::to_value(&form).unwrap();
        assert_eq!(
            json["fields"][3],
            json!({"id": "smoker", "label": "Smoker", "type": "yesno", "required": false})
        );
        assert_eq!(
            serde_json::from_value::<FormDefinition>(json).unwrap(),
            form
        );
    }

    #[test]
    fn changes_list_fields_in_form_order_then_extra_keys() {
        let before = json!({"systolic": 120, "visitDate": "2026-03-01", "zeta": 1, "note": "x"});
        let after = json!({"systolic": 125, "visitDate": "2026-03-01", "smoker": true, "alpha": 2});
        let changes = value_changes(Some(&vitals()), &before, &after);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["systolic", "smoker", "note", "alpha", "zeta"]);
        assert_eq!(changes[0].label, "Systolic blood pressure");
        assert_eq!(
            (changes[0].before.clone(), changes[0].after.clone()),
            (Some(json!(120)), Some(json!(125)))
        );
        assert_eq!(changes[2].after, None);
    }

    proptest! {
        /// An integer field accepts exactly the whole numbers within its range.
        #[test]
        fn integer_range_is_exact(min in -1000i64..1000, span in 0i64..1000, value in -3000i64..3000) {
            let field = FieldDefinition {
                id: "n".into(), label: "N".into(), kind: FieldKind::Integer, unit: None,
                required: true, min: Some(min as f64), max: Some((min + span) as f64), choices: vec![],
            };
            let inside = value >= min && value <= min + span;
            prop_assert_eq!(check_value(&field, &json!(value)).is_none(), inside);
        }

        /// Applying the listed changes to `before` gives `after` (over the keys given).
        #[test]
        fn changes_are_complete(
            before in proptest::collection::btree_map("[a-d]", 0i32..3, 0..4),
            after in proptest::collection::btree_map("[a-d]", 0i32..3, 0..4),
        ) {
            let (b, a) = (json!(before), json!(after));
            let mut patched = before.clone();
            for change in value_changes(None, &b, &a) {
                match change.after {
                    Some(v) => { patched.insert(change.field, v.as_i64().unwrap() as i32); }
                    None => { patched.remove(&change.field); }
                }
            }
            prop_assert_eq!(patched, after);
        }
    }
}
