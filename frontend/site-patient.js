// A site's patient: the kept profile, recording and withdrawing consent, enrolling, and
// the consent receipt (shown, downloadable as .json, printable).

import { gql } from './api.js';
import { attempt, confirmingButton, field, h, saveBlob, status, table, when } from './dom.js';
import { namedCodes } from './codes.js';
import { enroll } from './enroll.js';
import { matchesCard } from './site-matches.js';
import { SIGNATURE_FIELDS, signatureLine, signingPassword } from './signature.js';
import { route } from './router.js';
import { loadTrials } from './trials.js';

const PATIENT = `query($p: String!) { patient(pseudonym: $p) {
  pseudonym age sex zip3 conditions medications procedures labs { code value unit year } recruitmentConsent
  consents { scope trialId granted consentFormVersion patientSignedOn recordedAt ledgerSeq ${SIGNATURE_FIELDS} } } }`;
const CONSENT = `mutation($p: String!, $s: ConsentScope!, $t: ID, $g: Boolean!, $v: String, $d: NaiveDate, $password: String!) {
  recordConsent(pseudonym: $p, scope: $s, trialId: $t, granted: $g, consentFormVersion: $v, patientSignedOn: $d, password: $password) {
    granted ledgerSeq signature { signerName } } }`;
const RECEIPT = `query($p: String!, $s: ConsentScope!, $t: ID) {
  consentReceipt(pseudonym: $p, scope: $s, trialId: $t) { seq kind treeSize receipt checkLink }
  patient(pseudonym: $p) { consents { ledgerSeq scope trialId granted consentFormVersion patientSignedOn recordedAt ${SIGNATURE_FIELDS} } } }`;

/** A scope picker and a trial picker (used only for trial participation). */
function consentTarget(trials) {
  const scope = h(
    'select',
    { name: 'scope' },
    h('option', { value: 'RECRUITMENT_CONTACT' }, 'Contact about trials (recruitment)'),
    h('option', { value: 'TRIAL_PARTICIPATION' }, 'Taking part in a trial'),
  );
  const trial = trialPicker(trials);
  const trialField = field('Trial', trial);
  const sync = () => {
    trialField.hidden = scope.value !== 'TRIAL_PARTICIPATION';
  };
  scope.addEventListener('change', sync);
  sync();
  return {
    fields: [field('Consent to', scope), trialField],
    values: () => ({ s: scope.value, t: scope.value === 'TRIAL_PARTICIPATION' ? trial.value : null }),
  };
}

function trialPicker(trials) {
  return h('select', { name: 'trial' }, trials.map((t) => h('option', { value: t.id }, t.title)));
}

function profileView(p) {
  const list = (values) => values.join(', ') || '—';
  return table('Kept profile', ['Field', 'Value'], [
    ['Pseudonym', h('code', { id: 'pseudonym' }, p.pseudonym)],
    ['Age', String(p.age)],
    ['Sex', p.sex.toLowerCase()],
    ['ZIP (first three digits)', p.zip3],
    ['Conditions', namedCodes(p.conditions)],
    ['Medications', list(p.medications)],
    ['Procedures', list(p.procedures)],
    ['Labs', list(p.labs.map((l) => `${l.code} ${l.value} ${l.unit} (${l.year})`))],
    ['May be contacted about trials', p.recruitmentConsent ? 'yes' : 'no'],
  ]);
}

/** Today's date as YYYY-MM-DD, in the browser's time zone. */
function today() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function consentCard(pseudonym, trials) {
  const target = consentTarget(trials);
  const formVersion = h('input', { name: 'consentFormVersion', id: 'consent-form-version', placeholder: 'e.g. v2.1 (2026-11-01)' });
  const signedOn = h('input', { type: 'date', name: 'patientSignedOn', id: 'patient-signed-on', value: today(), max: today() });
  const password = signingPassword('consent-password', 'Recording consent is your electronic signature: you attest that the patient gave (or withdrew) it.');
  const message = status('consent-message');
  const record = (granted) =>
    attempt(message, async () => {
      if (granted && !formVersion.value.trim()) throw new Error('Enter the version of the consent form the patient signed.');
      const form = granted ? { v: formVersion.value, d: signedOn.value } : {};
      const c = (await gql(CONSENT, { p: pseudonym, g: granted, password: password.value(), ...form, ...target.values() })).recordConsent;
      password.clear();
      message.show(`Consent ${c.granted ? 'granted' : 'withdrawn'}, signed by ${c.signature.signerName} (ledger entry #${c.ledgerSeq}).`, 'ok');
    });
  return h(
    'section',
    { class: 'card', id: 'consent' },
    h('h3', {}, 'Consent'),
    ...target.fields,
    h('div', { class: 'row' }, field('Consent-form version (to grant)', formVersion), field('Date the patient signed', signedOn)),
    password.element,
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', id: 'grant-consent', onclick: () => record(true) }, 'Sign and record consent'),
      confirmingButton(
        { id: 'withdraw-consent', class: 'secondary' },
        'Sign and withdraw consent',
        'Withdraw this consent? The patient will no longer be contacted (or, for a trial, enrolled) on its strength. This is signed and cannot be undone: a new consent would be a new grant.',
        () => record(false),
      ),
    ),
    message,
  );
}

function enrollCard(pseudonym, trials) {
  const trial = trialPicker(trials);
  const message = status('enroll-message');
  return h(
    'section',
    { class: 'card', id: 'enroll' },
    h('h3', {}, 'Enroll in a trial'),
    field('Trial', trial),
    h('button', { type: 'button', id: 'enroll-button', onclick: () => enroll(trial.value, pseudonym, message) }, 'Enroll'),
    message,
  );
}

/** What the patient keeps, in words: the consent, who took it, and how to check it. */
function readableReceipt(r, consent, trials) {
  const fileName = `consent-receipt-${r.seq}.json`;
  const trial = trials.find((t) => t.id === consent?.trialId);
  const rows = [
    ['Consent to', consent?.scope === 'TRIAL_PARTICIPATION' ? `take part in the trial “${trial?.title ?? consent.trialId}”` : 'be contacted about clinical trials'],
    ['Decision', r.kind === 'consent.granted' ? 'granted' : 'withdrawn'],
    ['Consent form', consent?.consentFormVersion ? `version ${consent.consentFormVersion}, signed by the patient on ${consent.patientSignedOn}` : '—'],
    ['Recorded', consent ? when(consent.recordedAt) : '—'],
    ['Taken by', signatureLine(consent?.signature, 'Not signed (imported)')],
    ['Proof', `Ledger entry #${r.seq}, included in the signed ledger of ${r.treeSize} entries.`],
  ];
  return [
    h('h4', {}, 'Consent receipt'),
    h('dl', { class: 'receipt-fields' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)])),
    h(
      'p',
      {},
      'Check it any time at ',
      h('a', { href: r.checkLink, id: 'check-link', class: 'check-link' }, `${location.origin}/${r.checkLink}`),
      ' (no sign-in; your browser checks the signature and the proof). Without any server, keep the file and run ',
      h('code', {}, `veritrial verify ${fileName}`),
      '.',
    ),
    h('details', {}, h('summary', {}, 'The receipt file (JSON)'), h('pre', { class: 'code' }, r.receipt)),
    h(
      'div',
      { class: 'buttons no-print' },
      h('button', { type: 'button', onclick: () => saveBlob(new Blob([r.receipt], { type: 'application/json' }), fileName) }, 'Download .json'),
      h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print'),
    ),
  ];
}

function receiptCard(pseudonym, trials) {
  const target = consentTarget(trials);
  const message = status('receipt-message');
  const shown = h('div', { class: 'receipt', id: 'receipt' });
  const fetchReceipt = () =>
    attempt(message, async () => {
      const data = await gql(RECEIPT, { p: pseudonym, ...target.values() });
      const r = data.consentReceipt;
      const consent = data.patient.consents.find((c) => c.ledgerSeq === r.seq);
      message.show('');
      shown.replaceChildren(...readableReceipt(r, consent, trials));
    });
  return h(
    'section',
    { class: 'card', id: 'receipt-card' },
    h('h3', {}, 'Consent receipt'),
    ...target.fields,
    h('button', { type: 'button', id: 'show-receipt', onclick: fetchReceipt }, 'Show receipt'),
    message,
    shown,
  );
}

/** Every consent event of the patient, newest first, with who signed it. */
function consentHistory(consents, trials) {
  const title = (id) => trials.find((t) => t.id === id)?.title ?? id;
  return h(
    'section',
    { class: 'card', id: 'consent-history' },
    consents.length
      ? table(
          'Consent history',
          ['When', 'Consent to', 'Granted', 'Form', 'Signature'],
          consents.map((c) => [
            when(c.recordedAt),
            c.scope === 'TRIAL_PARTICIPATION' ? `take part in ${title(c.trialId)}` : 'contact about trials',
            c.granted ? 'granted' : 'withdrawn',
            c.consentFormVersion ? `${c.consentFormVersion}, signed by the patient ${c.patientSignedOn}` : '—',
            signatureLine(c.signature),
          ]),
        )
      : h('p', { class: 'hint' }, 'No consent recorded yet.'),
  );
}

route('site/patient/:pseudonym', async (page, { pseudonym }) => {
  const [patient, trials] = await Promise.all([gql(PATIENT, { p: pseudonym }), loadTrials()]);
  page.append(
    h('h2', {}, 'Patient'),
    h('div', { class: 'columns' }, h('section', { class: 'card' }, profileView(patient.patient)), h('div', {}, consentCard(pseudonym, trials), enrollCard(pseudonym, trials))),
    matchesCard(pseudonym),
    consentHistory(patient.patient.consents, trials),
    receiptCard(pseudonym, trials),
  );
});
