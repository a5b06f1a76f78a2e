// A participant's case-report data: every version of every record, entering records in the
// forms the protocol defines (checked as you type), correcting them with a reason (signed),
// answering the sponsor's data queries, signing off the case report, and attachments.

import { gql } from './api.js';
import { field, form, h, shortHash, status, table, when } from './dom.js';
import { attachmentCard, attachmentsList } from './attachments.js';
import { FORM_FIELDS, changesList, crfInputs, formsInForce, valuesList } from './crf.js';
import { href, reload, route } from './router.js';
import { SIGNATURE_FIELDS, signatureLine, signingPassword } from './signature.js';

const FIELDS = `id form visit version contentHash ledgerSeq reason createdAt data protocolVersion
  changes { field label before after } ${SIGNATURE_FIELDS}`;
const TRIAL_FORMS = `query($t: ID!) { trial(id: $t) { versions { version reviewStatus forms { ${FORM_FIELDS} } } } }`;
const QUERIES = `query($t: ID!) { dataQueries(trialId: $t) { id submissionId field status question raisedBy raisedAt
  answer answeredBy answeredAt recordVersion answeredVersion closedBy } }`;
const ANSWER = `mutation($id: ID!, $answer: String!) { answerDataQuery(queryId: $id, answer: $answer) { status } }`;
const SIGN_OFF_FIELDS = `ledgerSeq current records { form visit version } ${SIGNATURE_FIELDS}`;
const ENROLLMENT = `query($id: ID!) { enrollment(id: $id) { id caseReportSignOff { ${SIGN_OFF_FIELDS} } } }`;
const SIGN_OFF = `mutation($id: ID!, $password: String!) {
  signOffCaseReport(enrollmentId: $id, password: $password) { ledgerSeq } }`;
const SUBMISSIONS = `query($id: ID!) { submissions(enrollmentId: $id) { ${FIELDS} } }`;
const SUBMIT = `mutation($id: ID!, $form: String!, $visit: String!, $data: JSON!) {
  submitTrialData(enrollmentId: $id, form: $form, visit: $visit, data: $data) { ledgerSeq } }`;
const CORRECT = `mutation($id: ID!, $data: JSON!, $reason: String!, $password: String!) {
  correctTrialData(submissionId: $id, data: $data, reason: $reason, password: $password) { ledgerSeq version } }`;

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

/** Re-checks each field before sending, and marks the fields a server refusal names. */
async function sendChecked(inputs, send) {
  if (!inputs.check()) throw new Error('Some fields need attention: see the messages under them.');
  try {
    await send(inputs.values());
  } catch (err) {
    inputs.showServer(err);
    throw err;
  }
}

/** Record entry: the protocol's forms, generated (free JSON when it defines none). */
function submitForm(enrollmentId, forms) {
  const visit = h('input', { name: 'visit', id: 'submit-visit', required: true, value: 'baseline' });
  const message = status('submit-message');
  const chooser = h('select', { name: 'form', id: 'submit-form-id' }, forms.map((f) => h('option', { value: f.id }, f.title)));
  const slot = h('div', {});
  let inputs = null;
  let data = null;
  const show = () => {
    const chosen = forms.find((f) => f.id === chooser.value);
    inputs = chosen ? crfInputs(chosen, {}, 'submit') : null;
    data = chosen ? null : jsonArea('data', '{\n  "weightKg": 81.5\n}');
    slot.replaceChildren(inputs ? inputs.element : field('Data (a JSON object)', data));
  };
  const freeName = h('input', { name: 'form', required: true, value: 'vitals' });
  chooser.addEventListener('change', show);
  show();
  return form(
    { class: 'card', id: 'submit-form', novalidate: true },
    message,
    async () => {
      const formId = forms.length ? chooser.value : freeName.value;
      const send = (values) => gql(SUBMIT, { id: enrollmentId, form: formId, visit: visit.value, data: values });
      if (inputs) await sendChecked(inputs, send);
      else await send(parseData(data.value));
      reload();
    },
    h('h3', {}, 'Enter a record'),
    h('div', { class: 'row' }, field('Form', forms.length ? chooser : freeName), field('Visit', visit)),
    slot,
    h('button', { type: 'submit', id: 'submit-record' }, 'Save record'),
    message,
  );
}

function correctForm(latest, forms) {
  const target = h('select', { name: 'submission', id: 'correct-record' }, latest.map((s) => h('option', { value: s.id }, `${s.form} · ${s.visit} (v${s.version})`)));
  const slot = h('div', {});
  const reason = h('input', { name: 'reason', id: 'correct-reason', required: true });
  let inputs = null;
  let data = null;
  const fill = () => {
    const record = latest.find((s) => s.id === target.value);
    const definition = forms.find((f) => f.id === record?.form);
    inputs = definition ? crfInputs(definition, record.data, 'correct') : null;
    data = definition ? null : jsonArea('data', JSON.stringify(record?.data ?? {}, null, 2));
    slot.replaceChildren(inputs ? inputs.element : field('Corrected data (a JSON object)', data));
  };
  target.addEventListener('change', fill);
  fill();
  const password = signingPassword('correct-password', 'A correction is your electronic signature: “I attest that this correction is accurate”.');
  const message = status('correct-message');
  return form(
    { class: 'card', id: 'correct-form', novalidate: true },
    message,
    async () => {
      const send = (values) => gql(CORRECT, { id: target.value, data: values, reason: reason.value, password: password.value() });
      if (inputs) await sendChecked(inputs, send);
      else await send(parseData(data.value));
      reload();
    },
    h('h3', {}, 'Correct a record'),
    h('p', { class: 'hint' }, 'A correction adds a version and lists what changed; nothing is overwritten.'),
    field('Record', target),
    slot,
    field('Reason for the correction', reason),
    password.element,
    h('button', { type: 'submit' }, 'Sign and save correction'),
    message,
  );
}

const QUERY_WORDS = { OPEN: 'open', ANSWERED: 'answered', CLOSED: 'closed' };

/** The sponsor's questions about this participant's records, with a way to answer the open ones. */
function queriesCard(queries, latest, forms) {
  const label = (q) => {
    const record = latest.find((s) => s.id === q.submissionId);
    const definition = forms.find((f) => f.id === record?.form);
    const fieldLabel = definition?.fields.find((f) => f.id === q.field)?.label ?? q.field;
    return `${definition?.title ?? record?.form ?? ''} · ${record?.visit ?? ''} · ${fieldLabel}`;
  };
  const answerForm = (q) => {
    const answer = h('textarea', { name: 'answer', id: `answer-${q.id}`, rows: 2, required: true });
    const message = status(`answer-message-${q.id}`);
    return form(
      { class: 'answer', id: `answer-form-${q.id}` },
      message,
      async () => {
        await gql(ANSWER, { id: q.id, answer: answer.value });
        reload();
      },
      field('Your answer (correct the record first if the value was wrong)', answer),
      h('button', { type: 'submit', id: `answer-button-${q.id}` }, 'Send answer'),
      message,
    );
  };
  return h(
    'section',
    { class: 'card', id: 'data-queries' },
    h('h3', {}, `Data queries (${queries.filter((q) => q.status === 'OPEN').length} open)`),
    queries.map((q) =>
      h(
        'div',
        { class: `query ${q.status.toLowerCase()}`, id: `query-${q.id}` },
        h('p', {}, h('strong', {}, label(q)), ` — ${QUERY_WORDS[q.status]}`),
        h('p', {}, `“${q.question}” — ${q.raisedBy}, ${when(q.raisedAt)}, on version ${q.recordVersion}`),
        q.answer ? h('p', {}, `Answer: “${q.answer}” — ${q.answeredBy}, ${when(q.answeredAt)}, record at version ${q.answeredVersion}`) : '',
        q.closedBy ? h('p', { class: 'hint' }, `Closed by ${q.closedBy}.`) : '',
        q.status === 'OPEN' ? answerForm(q) : '',
      ),
    ),
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
  const [versions, enrollment, trial, allQueries] = await Promise.all([
    gql(SUBMISSIONS, { id }).then((d) => d.submissions),
    gql(ENROLLMENT, { id }).then((d) => d.enrollment),
    gql(TRIAL_FORMS, { t: trialId }).then((d) => d.trial),
    gql(QUERIES, { t: trialId }).then((d) => d.dataQueries),
  ]);
  const forms = formsInForce(trial.versions);
  const definitionOf = (formId) => forms.find((f) => f.id === formId);
  const signOff = enrollment.caseReportSignOff ?? null;
  const latest = [...new Map(versions.map((s) => [s.id, s])).values()];
  const queries = allQueries.filter((q) => latest.some((s) => s.id === q.submissionId));
  page.append(
    h('p', {}, h('a', { href: href('site', 'trial', trialId) }, '← Back to the trial')),
    h('h2', {}, 'Case-report data'),
    queries.length ? queriesCard(queries, latest, forms) : null,
    h(
      'section',
      { class: 'card', id: 'submissions' },
      versions.length
        ? table(
            'Every version of every record',
            ['Form', 'Visit', 'Version', 'Values', 'Changed', 'Reason', 'Signature', 'When', 'Ledger seq', 'Hash'],
            versions.map((s) => [
              definitionOf(s.form)?.title ?? s.form,
              s.visit,
              String(s.version),
              valuesList(definitionOf(s.form), s.data),
              s.version > 1 ? changesList(definitionOf(s.form), s.changes) : 'first entry',
              s.reason ?? '—',
              s.version > 1 ? signatureLine(s.signature) : '— (covered by sign-off)',
              when(s.createdAt),
              `#${s.ledgerSeq}`,
              shortHash(s.contentHash),
            ]),
          )
        : h('p', { class: 'hint' }, 'No records yet.'),
    ),
    h('div', { class: 'columns' }, submitForm(id, forms), latest.length ? correctForm(latest, forms) : null),
    latest.length ? signOffCard(id, signOff) : null,
    latest.length ? attachmentsList(latest) : null,
    latest.length ? attachmentCard(latest) : null,
  );
});
