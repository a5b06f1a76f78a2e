// A participant's case-report data: every version of every record, submitting, correcting
// with a reason (signed), signing off the case report, and attachments.

import { gql } from './api.js';
import { field, form, h, shortHash, status, table, when } from './dom.js';
import { attachmentCard } from './attachments.js';
import { href, route } from './router.js';
import { SIGNATURE_FIELDS, signatureLine, signingPassword } from './signature.js';

const FIELDS = `id form visit version contentHash ledgerSeq reason createdAt data ${SIGNATURE_FIELDS}`;
const SIGN_OFF_FIELDS = `ledgerSeq current records { form visit version } ${SIGNATURE_FIELDS}`;
const ENROLLMENTS = `query($t: ID!) { enrollments(trialId: $t) { id caseReportSignOff { ${SIGN_OFF_FIELDS} } } }`;
const SIGN_OFF = `mutation($id: ID!, $password: String!) {
  signOffCaseReport(enrollmentId: $id, password: $password) { ledgerSeq } }`;
const SUBMISSIONS = `query($id: ID!) { submissions(enrollmentId: $id) { ${FIELDS} } }`;
const SUBMIT = `mutation($id: ID!, $form: String!, $visit: String!, $data: JSON!) {
  submitTrialData(enrollmentId: $id, form: $form, visit: $visit, data: $data) { ledgerSeq } }`;
const CORRECT = `mutation($id: ID!, $data: JSON!, $reason: String!, $password: String!) {
  correctTrialData(submissionId: $id, data: $data, reason: $reason, password: $password) { ledgerSeq version } }`;

function reload() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** A JSON object from a text area, or a clear error. */
function parseData(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`the data is not valid JSON: ${err.message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('the data must be a JSON object, e.g. {"weightKg": 81}');
  return data;
}

function jsonArea(name, value) {
  const el = h('textarea', { name, rows: 5, class: 'code', required: true });
  el.value = value;
  return el;
}

function submitForm(enrollmentId) {
  const formName = h('input', { name: 'form', required: true, value: 'vitals' });
  const visit = h('input', { name: 'visit', required: true, value: 'baseline' });
  const data = jsonArea('data', '{\n  "weightKg": 81.5,\n  "systolic": 132\n}');
  const message = status('submit-message');
  return form(
    { class: 'card', id: 'submit-form' },
    message,
    async () => {
      await gql(SUBMIT, { id: enrollmentId, form: formName.value, visit: visit.value, data: parseData(data.value) });
      reload();
    },
    h('h3', {}, 'Submit a record'),
    h('div', { class: 'row' }, field('Form', formName), field('Visit', visit)),
    field('Data (a JSON object)', data),
    h('button', { type: 'submit' }, 'Submit'),
    message,
  );
}

function correctForm(latest) {
  const target = h('select', { name: 'submission' }, latest.map((s) => h('option', { value: s.id }, `${s.form} · ${s.visit} (v${s.version})`)));
  const data = jsonArea('data', '');
  const reason = h('input', { name: 'reason', required: true });
  const fill = () => {
    data.value = JSON.stringify(latest.find((s) => s.id === target.value)?.data ?? {}, null, 2);
  };
  target.addEventListener('change', fill);
  fill();
  const password = signingPassword('correct-password', 'A correction is your electronic signature: “I attest that this correction is accurate”.');
  const message = status('correct-message');
  return form(
    { class: 'card', id: 'correct-form' },
    message,
    async () => {
      await gql(CORRECT, { id: target.value, data: parseData(data.value), reason: reason.value, password: password.value() });
      reload();
    },
    h('h3', {}, 'Correct a record'),
    h('p', { class: 'hint' }, 'A correction adds a version; nothing is overwritten.'),
    field('Record', target),
    field('Corrected data (a JSON object)', data),
    field('Reason for the correction', reason),
    password.element,
    h('button', { type: 'submit' }, 'Sign and save correction'),
    message,
  );
}

/** The latest sign-off of the case report, and the form to sign it off (again). */
function signOffCard(enrollmentId, signOff) {
  const password = signingPassword('sign-off-password', 'Signing off is your electronic signature: “I attest that this case report is accurate and complete”.');
  const message = status('sign-off-message');
  const state = !signOff
    ? h('p', { class: 'hint', id: 'sign-off-state' }, 'Not signed off yet.')
    : h(
        'p',
        { id: 'sign-off-state', class: signOff.current ? '' : 'flag' },
        signOff.current ? 'Signed off, unchanged since: ' : 'Changed since the last sign-off: ',
        signatureLine(signOff.signature),
        ` (${signOff.records.length} record(s), ledger entry #${signOff.ledgerSeq})`,
      );
  return form(
    { class: 'card', id: 'sign-off-form' },
    message,
    async () => {
      await gql(SIGN_OFF, { id: enrollmentId, password: password.value() });
      reload();
    },
    h('h3', {}, 'Investigator sign-off'),
    state,
    password.element,
    h('button', { type: 'submit' }, 'Sign off the case report'),
    message,
  );
}

route('site/enrollment/:trialId/:id', async (page, { trialId, id }) => {
  const [versions, enrollments] = await Promise.all([
    gql(SUBMISSIONS, { id }).then((d) => d.submissions),
    gql(ENROLLMENTS, { t: trialId }).then((d) => d.enrollments),
  ]);
  const signOff = enrollments.find((e) => e.id === id)?.caseReportSignOff ?? null;
  const latest = [...new Map(versions.map((s) => [s.id, s])).values()];
  page.append(
    h('p', {}, h('a', { href: href('site', 'trial', trialId) }, '← Back to the trial')),
    h('h2', {}, 'Case-report data'),
    h(
      'section',
      { class: 'card', id: 'submissions' },
      versions.length
        ? table(
            'Every version of every record',
            ['Form', 'Visit', 'Version', 'Ledger seq', 'Hash', 'Reason', 'Signature', 'When', 'Data'],
            versions.map((s) => [
              s.form,
              s.visit,
              String(s.version),
              `#${s.ledgerSeq}`,
              shortHash(s.contentHash),
              s.reason ?? '—',
              s.version > 1 ? signatureLine(s.signature) : '— (covered by sign-off)',
              when(s.createdAt),
              h('code', {}, JSON.stringify(s.data)),
            ]),
          )
        : h('p', { class: 'hint' }, 'No records yet.'),
    ),
    h('div', { class: 'columns' }, submitForm(id), latest.length ? correctForm(latest) : null),
    latest.length ? signOffCard(id, signOff) : null,
    latest.length ? attachmentCard(latest) : null,
  );
});
