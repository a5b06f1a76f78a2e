// Monitoring a trial's clinical data (sponsor and ethics board): the records of every site,
// data queries (the sponsor raises and closes them, sites answer), and the standard exports.

import { fetchFile, gql } from './api.js';
import { attempt, field, form, h, saveBlob, status, table, when } from './dom.js';
import { valuesList } from './crf.js';
import { reload } from './router.js';

const RECORDS = `query($t: ID!, $n: Int, $o: Int) { trialRecords(trialId: $t, first: $n, offset: $o) {
  total items { id siteId enrollmentId form visit version data createdAt } } }`;
const QUERIES = `query($t: ID!) { dataQueries(trialId: $t) { id submissionId siteId field status question raisedBy raisedAt
  answer answeredBy answeredAt recordVersion answeredVersion closedBy closedAt } }`;
const RAISE = `mutation($s: ID!, $f: String!, $q: String!) { raiseDataQuery(submissionId: $s, field: $f, question: $q) { id } }`;
const CLOSE = `mutation($id: ID!) { closeDataQuery(queryId: $id) { status } }`;
const PAGE = 50;

/** A record named for people: form, visit, site and participant (the enrollment, never the patient). */
function recordName(record, forms, sites) {
  const title = forms.find((f) => f.id === record.form)?.title ?? record.form;
  return `${title} · ${record.visit} · ${sites[record.siteId] ?? 'site'} · participant ${record.enrollmentId.slice(0, 8)}`;
}

/** The form to raise a query on one field of one record. */
function raiseForm(records, forms, sites) {
  const target = h('select', { name: 'record', id: 'query-record' }, records.map((r) => h('option', { value: r.id }, recordName(r, forms, sites))));
  const fieldChoice = h('select', { name: 'field', id: 'query-field' });
  const fill = () => {
    const record = records.find((r) => r.id === target.value);
    const definition = forms.find((f) => f.id === record?.form);
    const fields = definition?.fields ?? Object.keys(record?.data ?? {}).map((id) => ({ id, label: id }));
    fieldChoice.replaceChildren(...fields.map((f) => h('option', { value: f.id }, `${f.label} (now: ${JSON.stringify(record?.data?.[f.id] ?? null)})`)));
  };
  target.addEventListener('change', fill);
  fill();
  const question = h('textarea', { name: 'question', id: 'query-question', rows: 2, required: true });
  const message = status('raise-message');
  return form(
    { class: 'card', id: 'raise-query-form' },
    message,
    async () => {
      await gql(RAISE, { s: target.value, f: fieldChoice.value, q: question.value });
      reload();
    },
    h('h3', {}, 'Raise a data query'),
    h('p', { class: 'hint' }, 'The site that holds the record answers it, correcting the record if the value was wrong. Every step is on the ledger.'),
    field('Record', target),
    field('Field', fieldChoice),
    field('Question', question, 'For example: “Value out of the expected range, please confirm.”'),
    h('button', { type: 'submit', id: 'raise-query' }, 'Raise query'),
    message,
  );
}

const WORDS = { OPEN: 'open', ANSWERED: 'answered', CLOSED: 'closed' };

function queriesTable(queries, records, forms, sites, canClose) {
  const message = status('close-message');
  const close = (q) =>
    attempt(message, async () => {
      await gql(CLOSE, { id: q.id });
      reload();
    });
  const fieldLabel = (q) => {
    const record = records.find((r) => r.id === q.submissionId);
    return forms.find((f) => f.id === record?.form)?.fields.find((f) => f.id === q.field)?.label ?? q.field;
  };
  const about = (q) => {
    const record = records.find((r) => r.id === q.submissionId);
    return record ? recordName(record, forms, sites) : q.submissionId.slice(0, 8);
  };
  return h(
    'section',
    { class: 'card', id: 'monitor-queries' },
    h('h3', {}, `Data queries (${queries.filter((q) => q.status !== 'CLOSED').length} not closed)`),
    queries.length
      ? table(
          'Data queries, oldest first',
          ['Record', 'Field', 'Question', 'Status', 'Answer', ''],
          queries.map((q) => [
            about(q),
            fieldLabel(q),
            `“${q.question}” — ${q.raisedBy}, ${when(q.raisedAt)}`,
            h('span', { class: `badge query-${q.status.toLowerCase()}` }, WORDS[q.status]),
            q.answer ? `“${q.answer}” — ${q.answeredBy} (record at v${q.answeredVersion}, raised on v${q.recordVersion})` : '—',
            canClose && q.status === 'ANSWERED'
              ? h('button', { type: 'button', class: 'secondary', id: `close-${q.id}`, onclick: () => close(q) }, 'Close')
              : '',
          ]),
        )
      : h('p', { class: 'hint' }, 'No data queries.'),
    message,
  );
}

/** The trial's records, paged, and its data queries; `canRaise` for the sponsor. */
export async function clinicalData(trialId, forms, sites, canRaise) {
  const [page, queries] = await Promise.all([
    gql(RECORDS, { t: trialId, n: PAGE, o: 0 }).then((d) => d.trialRecords),
    canRaise ? gql(QUERIES, { t: trialId }).then((d) => d.dataQueries) : Promise.resolve([]),
  ]);
  const records = page.items;
  const definitionOf = (formId) => forms.find((f) => f.id === formId);
  return [
    h(
      'section',
      { class: 'card', id: 'monitor-records' },
      h('h3', {}, `Case-report records (${page.total})`),
      records.length
        ? table(
            page.total > records.length ? `The first ${records.length} of ${page.total} records; export for all` : 'Every record at its current version',
            ['Record', 'Version', 'Values', 'Recorded'],
            records.map((r) => [recordName(r, forms, sites), String(r.version), valuesList(definitionOf(r.form), r.data), when(r.createdAt)]),
          )
        : h('p', { class: 'hint' }, 'No records yet.'),
    ),
    canRaise && records.length ? raiseForm(records, forms, sites) : null,
    canRaise ? queriesTable(queries, records, forms, sites, true) : null,
  ];
}

/** Download buttons for the standard exports of a trial. */
export function exportsCard(trialId, forms) {
  const message = status('export-message');
  const save = (path, name) =>
    attempt(message, async () => {
      message.show(`Preparing ${name}…`);
      const blob = await fetchFile(`/trials/${encodeURIComponent(trialId)}/export/${path}`);
      saveBlob(blob, name);
      message.show(`Saved ${name} (${blob.size} bytes).`, 'ok');
    });
  const button = (id, label, path, name) => h('button', { type: 'button', class: 'secondary', id, onclick: () => save(path, name) }, label);
  return h(
    'section',
    { class: 'card', id: 'exports' },
    h('h3', {}, 'Export the clinical data'),
    h('p', { class: 'hint' }, 'CDISC ODM 1.3.2 with every value’s audit trail, or CSV per form (current versions) with a data dictionary.'),
    h(
      'div',
      { class: 'buttons' },
      button('export-odm', 'CDISC ODM 1.3.2 (.xml)', 'odm', `${trialId}.odm.xml`),
      button('export-dictionary', 'Data dictionary (.csv)', 'dictionary', `${trialId}.dictionary.csv`),
      forms.map((f) => button(`export-${f.id}`, `${f.title} (.csv)`, `forms/${encodeURIComponent(f.id)}`, `${trialId}.${f.id}.csv`)),
    ),
    message,
  );
}
