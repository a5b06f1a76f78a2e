// The protocol form, for a new protocol and for an amendment (which also asks for a reason).

import { field, form, h, items, status } from './dom.js';
import { criteriaEditor } from './criteria.js';
import { crfInputs } from './crf.js';
import { signingPassword } from './signature.js';

const PHASES = ['', 'EARLY_PHASE1', 'PHASE1', 'PHASE2', 'PHASE3', 'PHASE4', 'NA'];
const STATUSES = ['RECRUITING', 'DRAFT', 'CLOSED'];

/** A select of `options`, with `value` chosen (added when it is not among them). */
function select(name, options, value) {
  const all = options.includes(value) ? options : [...options, value];
  const el = h('select', { name }, all.map((o) => h('option', { value: o }, o || '(not given)')));
  el.value = value;
  return el;
}

/**
 * The participating sites, one checkbox each (`chosen` ticked); `.value` is the ticked ids.
 * At least one is required: the form says so before the server does.
 */
function sitePicker(sites, chosen) {
  const boxes = sites.map((site) =>
    h('input', { type: 'checkbox', name: 'siteIds', value: site.id, 'data-name': site.name, checked: chosen.includes(site.id) }),
  );
  const element = h(
    'fieldset',
    { class: 'picker', id: 'site-picker' },
    h('legend', {}, 'Participating sites', h('span', { class: 'required', 'aria-hidden': 'true' }, ' *')),
    boxes.map((box, i) => h('label', {}, box, ` ${sites[i].name}`)),
    sites.length ? null : h('p', { class: 'hint' }, 'No site is registered yet: ask an administrator.'),
  );
  const value = () => boxes.filter((b) => b.checked).map((b) => b.value);
  const check = () => boxes[0]?.setCustomValidity(value().length ? '' : 'Choose at least one participating site.');
  boxes.forEach((b) => b.addEventListener('change', check));
  check();
  return { element, value };
}

/** The reviewing ethics board, one of `boards`; required. */
function boardPicker(boards, chosen) {
  const el = h(
    'select',
    { name: 'ethicsBoardId', required: true },
    h('option', { value: '' }, '(choose the ethics board)'),
    boards.map((b) => h('option', { value: b.id }, b.name)),
  );
  el.value = chosen ?? '';
  return el;
}

const FORMS_EXAMPLE = [
  {
    id: 'vitals',
    title: 'Vital signs',
    fields: [
      { id: 'visitDate', label: 'Visit date', type: 'DATE', required: true },
      { id: 'systolic', label: 'Systolic blood pressure', type: 'INTEGER', unit: 'mmHg', required: true, min: 60, max: 250 },
      { id: 'smoker', label: 'Current smoker', type: 'YES_NO' },
      { id: 'arm', label: 'Arm', type: 'CHOICE', choices: ['A', 'B'] },
    ],
  },
];

/** A form definition without the empty parts the API fills in, to read and edit. */
function compact(forms) {
  return forms.map((f) => ({
    id: f.id,
    title: f.title,
    fields: f.fields.map((x) => Object.fromEntries(Object.entries(x).filter(([k, v]) => v !== null && !(k === 'choices' && !v.length) && !(k === 'required' && !v)))),
  }));
}

/**
 * The case-report forms as JSON, with a live preview of the forms sites will fill in.
 * `.value()` is the parsed list (or throws a clear error).
 */
function formsEditor(forms) {
  const text = h('textarea', { name: 'forms', id: 'forms-json', rows: 8, class: 'code' });
  text.value = forms.length ? JSON.stringify(compact(forms), null, 2) : '';
  // Disabled: a preview's required fields must not stop the protocol form from submitting.
  const preview = h('fieldset', { class: 'forms-preview', id: 'forms-preview', disabled: true });
  const parse = () => {
    if (!text.value.trim()) return [];
    const parsed = JSON.parse(text.value);
    if (!Array.isArray(parsed)) throw new Error('the forms are a JSON list: [{"id": …, "title": …, "fields": […]}]');
    return parsed;
  };
  const show = () => {
    try {
      const list = parse();
      preview.replaceChildren(...list.map((f, i) => h('details', {}, h('summary', {}, `Preview: ${f.title ?? f.id}`), crfInputs({ ...f, fields: (f.fields ?? []).map((x) => ({ choices: [], ...x })) }, {}, `preview-${i}`).element)));
    } catch (err) {
      preview.replaceChildren(h('p', { class: 'hint' }, `Not valid yet: ${err.message}`));
    }
  };
  text.addEventListener('input', show);
  show();
  const example = h('button', { type: 'button', class: 'secondary', id: 'forms-example', onclick: () => { text.value = JSON.stringify(FORMS_EXAMPLE, null, 2); show(); } }, 'Start from an example');
  return {
    element: h(
      'div',
      { class: 'field' },
      h('label', { for: text.id }, 'Case-report forms (JSON)'),
      text,
      h('small', { class: 'hint' }, 'Each field: id, label, type (NUMBER, INTEGER, TEXT, DATE, CHOICE, YES_NO), and optionally unit, required, min, max, choices. Changing a form is an amendment the ethics board reviews. Empty: sites enter free JSON.'),
      example,
      preview,
    ),
    value() {
      try {
        return parse();
      } catch (err) {
        throw new Error(`the case-report forms are not valid JSON: ${err.message}`);
      }
    },
  };
}

/**
 * A protocol form prefilled from `version` (may be empty). `directory` lists the sites and
 * ethics boards to choose from. `submit(input, reason, password)` runs on submit; `amend`
 * adds the required reason field. Publishing signs the version with the sponsor's password.
 */
export function protocolForm({ version = {}, status: trialStatus = 'RECRUITING', amend = false, directory = [], submit }) {
  const input = (name, value = '', props = {}) => {
    const el = h('input', { name, ...props });
    el.value = value;
    return el;
  };
  const area = (name, value = '') => {
    const el = h('textarea', { name, rows: 2 });
    el.value = value;
    return el;
  };
  const title = input('title', version.title, { required: true });
  const summary = area('summary', version.summary);
  const phase = select('phase', PHASES, version.phase ?? '');
  const primary = input('primaryEndpoint', version.primaryEndpoint, { required: true });
  const secondary = area('secondaryEndpoints', (version.secondaryEndpoints ?? []).join('\n'));
  const target = input('targetEnrollment', version.targetEnrollment ?? 100, { type: 'number', min: 1, required: true });
  const criteria = criteriaEditor(version.criteria ?? '');
  const eligibility = area('eligibilityText', version.eligibilityText);
  const conditions = input('conditions', (version.conditions ?? []).join(', '));
  const keywords = input('keywords', (version.keywords ?? []).join(', '));
  const state = select('status', STATUSES, trialStatus);
  const sites = sitePicker(
    directory.filter((o) => o.kind === 'SITE'),
    version.siteIds ?? [],
  );
  const board = boardPicker(
    directory.filter((o) => o.kind === 'ETHICS'),
    version.ethicsBoardId,
  );
  const forms = formsEditor(version.forms ?? []);
  const reason = amend ? input('reason', '', { required: true }) : null;
  const password = signingPassword(
    amend ? 'amend-password' : 'publish-password',
    `Publishing is your electronic signature: “${amend ? 'I approve this amendment and submit it to the trial\'s ethics board' : 'I approve this protocol version and submit it to its ethics board'}”.`,
  );
  const message = status('protocol-message');

  const element = form(
    { id: amend ? 'amend-form' : 'protocol-form', class: 'card' },
    message,
    async () => {
      message.show('Saving…');
      await submit(
        {
          title: title.value,
          summary: summary.value,
          phase: phase.value,
          primaryEndpoint: primary.value,
          secondaryEndpoints: items(secondary.value),
          targetEnrollment: Number(target.value),
          criteria: criteria.value,
          eligibilityText: eligibility.value,
          conditions: items(conditions.value),
          keywords: items(keywords.value),
          siteIds: sites.value(),
          ethicsBoardId: board.value || null,
          status: state.value,
          forms: forms.value(),
        },
        reason?.value,
        password.value(),
      );
      password.clear();
      message.show('Signed and saved.', 'ok');
    },
    h('h3', {}, amend ? 'Amend the protocol' : 'New protocol'),
    field('Title', title),
    field('Summary', summary),
    h('div', { class: 'row' }, field('Phase', phase), field('Target enrollment', target), field('Status', state)),
    field('Primary endpoint', primary),
    sites.element,
    field('Ethics board', board, 'The only board that reviews and reads this trial.'),
    field('Secondary endpoints', secondary, 'One per line.'),
    criteria.element,
    field('Eligibility in words', eligibility, 'Used when sites search trials for a patient.'),
    field('Conditions', conditions, 'Comma-separated.'),
    field('Keywords', keywords, 'Comma-separated.'),
    forms.element,
    reason ? field('Reason for the amendment', reason, 'Recorded on the ledger with the new version.') : null,
    password.element,
    h('button', { type: 'submit' }, amend ? 'Sign and publish amendment' : 'Sign and publish protocol'),
    message,
  );
  return element;
}
