// Site home: register a patient (saying what is kept and what is discarded), find a patient
// by local number or pseudonym, the site's patients, and the trials the site takes part in. The patient, trial and enrollment pages register themselves.

import { gql } from './api.js';
import { field, form, h, items, status } from './dom.js';
import { codeFinder } from './codes.js';
import { href, route } from './router.js';
import { findForm, patientList } from './site-patients.js';
import { loadTrials, trialsTable } from './trials.js';
import './site-patient.js';
import './site-trial.js';
import './site-enrollment.js';

export const prefix = 'site';
export const menu = [['Patients and trials', '#/site']];

const REGISTER = `mutation($input: RegisterPatientInput!) { registerPatient(input: $input) { pseudonym } }`;
const SEXES = ['FEMALE', 'MALE', 'OTHER', 'UNKNOWN'];

/** Lab lines `loinc:4548-4 7.2 % 2025-10-12` as LabInputs. */
function labs(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [code, value, unit, date] = line.split(/\s+/);
      if (!date || Number.isNaN(Number(value))) throw new Error(`lab line "${line}": write code value unit YYYY-MM-DD`);
      return { code, value: Number(value), unit, date };
    });
}

function registerForm() {
  const input = (name, props = {}) => h('input', { name, ...props });
  const localId = input('localId', { required: true, autocomplete: 'off' });
  const birthDate = input('birthDate', { type: 'date', required: true });
  const sex = h('select', { name: 'sex' }, SEXES.map((s) => h('option', { value: s }, s.toLowerCase())));
  const zip = input('zip', { required: true, inputmode: 'numeric' });
  const conditions = input('conditions');
  const medications = input('medications');
  const procedures = input('procedures');
  const terms = input('terms');
  const labLines = h('textarea', { name: 'labs', rows: 2, class: 'code' });
  const message = status('register-message');
  return form(
    { id: 'register-form', class: 'card' },
    message,
    async () => {
      const patient = (
        await gql(REGISTER, {
          input: {
            localId: localId.value,
            birthDate: birthDate.value,
            sex: sex.value,
            zip: zip.value,
            conditions: items(conditions.value),
            medications: items(medications.value),
            procedures: items(procedures.value),
            labs: labs(labLines.value),
            terms: items(terms.value),
          },
        })
      ).registerPatient;
      location.hash = href('site', 'patient', patient.pseudonym);
    },
    h('h3', {}, 'Register a patient'),
    h(
      'div',
      { class: 'privacy', id: 'privacy-note' },
      h('p', {}, h('strong', {}, 'Kept: '), 'age in whole years (90 and over as 90), sex, the first three ZIP digits (000 for sparsely populated areas), condition, medication and procedure codes, lab values with their year.'),
      h('p', {}, h('strong', {}, 'Discarded: '), 'the local patient id (only a keyed hash of it, the pseudonym, is kept), the birth date, the full ZIP code, exact lab dates.'),
    ),
    field('Local patient id (discarded: only its pseudonym is kept)', localId),
    h('div', { class: 'row' }, field('Birth date (discarded: only the age is kept)', birthDate), field('Sex (kept)', sex)),
    field('ZIP code (discarded: only the first three digits are kept)', zip),
    field('Conditions (kept)', conditions, 'Comma-separated codes, e.g. icd10:E11.9, icd10:I10'),
    codeFinder('condition', 'Find a condition code (ICD-10-CM)', (code) => {
      const chosen = items(conditions.value);
      if (!chosen.includes(code)) conditions.value = [...chosen, code].join(', ');
    }),
    field('Medications (kept)', medications, 'Comma-separated codes, e.g. atc:A10BA02'),
    field('Procedures (kept)', procedures, 'Comma-separated codes.'),
    field('Lab results (value kept with its year; the date is discarded)', labLines, 'One per line: code value unit date, e.g. loinc:4548-4 7.2 % 2025-10-12'),
    field('Condition names (kept, for trial search)', terms, 'Comma-separated, e.g. Type 2 diabetes mellitus'),
    h('button', { type: 'submit' }, 'Register patient'),
    message,
  );
}

route('site', async (page) => {
  const trials = await loadTrials();
  page.append(
    h('h2', {}, 'Patients and trials'),
    h('div', { class: 'columns' }, registerForm(), h('div', {}, findForm(), h('section', { class: 'card' }, h('h3', {}, 'Trials'), trialsTable(trials, (t) => href('site', 'trial', t.id))))),
    patientList(),
  );
});
