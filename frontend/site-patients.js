// A site's patients: find one by the site's own number (MRN), which the server turns into the
// pseudonym and forgets, and a paged, searchable list of every patient with their records.

import { gql } from './api.js';
import { attempt, field, h, status, table } from './dom.js';
import { namedCodes } from './codes.js';
import { href } from './router.js';

const BY_LOCAL_ID = `query($l: String!) { patientByLocalId(localId: $l) { pseudonym } }`;
const LIST = `query($f: PatientFilter, $n: Int, $o: Int) { sitePatients(filter: $f, first: $n, offset: $o) {
  total patients { pseudonym age sex conditions recruitmentConsent
    consents { scope granted } invitations { id } enrollments { status } } } }`;
const PAGE = 25;
const SEXES = ['FEMALE', 'MALE', 'OTHER', 'UNKNOWN'];

/** Find a patient by local number (MRN) or by pseudonym. */
export function findForm() {
  const localId = h('input', { name: 'localId', id: 'find-local-id', autocomplete: 'off' });
  const pseudonym = h('input', { name: 'pseudonym', id: 'find-pseudonym', autocomplete: 'off', class: 'code' });
  const message = status('find-message');
  const open = (event) => {
    event.preventDefault();
    attempt(message, async () => {
      if (localId.value.trim()) {
        const found = (await gql(BY_LOCAL_ID, { l: localId.value })).patientByLocalId;
        localId.value = '';
        location.hash = href('site', 'patient', found.pseudonym);
      } else if (pseudonym.value.trim()) {
        location.hash = href('site', 'patient', pseudonym.value.trim());
      } else {
        throw new Error('Enter the local number or the pseudonym.');
      }
    });
  };
  return h(
    'form',
    { id: 'find-form', class: 'card', onsubmit: open },
    h('h3', {}, 'Find a patient'),
    field('Local number (MRN)', localId, 'Turned into the pseudonym for this search only: never stored, logged or sent back.'),
    field('or pseudonym', pseudonym),
    h('button', { type: 'submit' }, 'Open'),
    message,
  );
}

/** A patient's records in a few words. */
function records(p) {
  const trialConsents = p.consents.filter((c) => c.scope === 'TRIAL_PARTICIPATION' && c.granted).length;
  const enrolled = p.enrollments.filter((e) => e.status === 'enrolled').length;
  return `${p.recruitmentConsent ? 'contact: yes' : 'contact: no'} · ${trialConsents} trial consent(s) · ${p.invitations.length} invitation(s) · ${enrolled} enrolled`;
}

/** The site's patients: filters, one page at a time, with a link to each. */
export function patientList() {
  const prefix = h('input', { id: 'filter-pseudonym', class: 'code', autocomplete: 'off', placeholder: 'e.g. 3fa9' });
  const sex = h('select', { id: 'filter-sex' }, h('option', { value: '' }, 'any'), SEXES.map((s) => h('option', { value: s }, s.toLowerCase())));
  const minAge = h('input', { id: 'filter-min-age', type: 'number', min: 0, max: 90 });
  const maxAge = h('input', { id: 'filter-max-age', type: 'number', min: 0, max: 90 });
  const code = h('input', { id: 'filter-code', autocomplete: 'off', placeholder: 'icd10:E11*' });
  const message = status('patients-message');
  const shown = h('div', { id: 'patient-list' });
  let offset = 0;
  const filter = () => ({
    pseudonymPrefix: prefix.value.trim() || null,
    sex: sex.value || null,
    minAge: minAge.value === '' ? null : Number(minAge.value),
    maxAge: maxAge.value === '' ? null : Number(maxAge.value),
    code: code.value.trim() || null,
  });
  const load = () =>
    attempt(message, async () => {
      const { total, patients } = (await gql(LIST, { f: filter(), n: PAGE, o: offset })).sitePatients;
      const pager = h(
        'div',
        { class: 'buttons pager' },
        h('button', { type: 'button', class: 'secondary', id: 'patients-previous', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, '← Previous'),
        h('span', { id: 'patients-range' }, total ? `${offset + 1}–${offset + patients.length} of ${total}` : 'No patient matches.'),
        h('button', { type: 'button', class: 'secondary', id: 'patients-next', disabled: offset + PAGE >= total, onclick: () => { offset += PAGE; load(); } }, 'Next →'),
      );
      shown.replaceChildren(
        table(
          'Patients of this site',
          ['Pseudonym', 'Age', 'Sex', 'Conditions', 'Records'],
          patients.map((p) => [
            h('a', { href: href('site', 'patient', p.pseudonym), class: 'code' }, `${p.pseudonym.slice(0, 12)}…`),
            String(p.age),
            p.sex.toLowerCase(),
            namedCodes(p.conditions),
            records(p),
          ]),
        ),
        pager,
      );
    });
  const search = (event) => {
    event.preventDefault();
    offset = 0;
    load();
  };
  load();
  return h(
    'section',
    { class: 'card', id: 'patients' },
    h('h3', {}, 'Patients'),
    h(
      'form',
      { id: 'patient-filters', onsubmit: search },
      h('div', { class: 'row' }, field('Pseudonym starts with', prefix), field('Sex', sex), field('Age from', minAge), field('Age to', maxAge), field('Code', code, 'A code or a prefix ending in *.')),
      h('button', { type: 'submit' }, 'Search'),
    ),
    message,
    shown,
  );
}
