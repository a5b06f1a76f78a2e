// Sponsor pages: own trials with enrollment progress, publishing, amending, versions.

import { gql } from './api.js';
import { h, shortHash, table, when } from './dom.js';
import { FORM_FIELDS, allForms } from './crf.js';
import { clinicalData, exportsCard } from './monitor.js';
import { protocolForm } from './protocol-form.js';
import { href, reload, route } from './router.js';
import { SIGNATURE_FIELDS, signatureLine } from './signature.js';
import { loadTrials, reviewBadge, statusBadge, trialsTable } from './trials.js';

export const prefix = 'sponsor';
export const menu = [
  ['My trials', '#/sponsor'],
  ['New protocol', '#/sponsor/new'],
];

const VERSION_FIELDS = `version ledgerSeq hash reason flags createdAt changes { field before after }
  title summary phase primaryEndpoint secondaryEndpoints targetEnrollment criteria eligibilityText
  siteIds ethicsBoardId conditions keywords reviewStatus forms { ${FORM_FIELDS} } ${SIGNATURE_FIELDS}
  review { comment signedBy ${SIGNATURE_FIELDS} }`;

/** A version's ethics review, with the board's comment (`superseded`: amended since). */
function reviewCell(v, superseded) {
  return h(
    'span',
    {},
    reviewBadge(v.reviewStatus, superseded),
    v.review ? [' ', signatureLine(v.review.signature)] : '',
    v.review?.comment ? ` Comment: “${v.review.comment}”` : '',
  );
}

const TRIAL = `query($id: ID!) { trial(id: $id) { id title status currentVersion versions { ${VERSION_FIELDS} } } }`;
const PUBLISH = `mutation($input: PublishProtocolInput!, $password: String!) {
  publishProtocol(input: $input, password: $password) { id } }`;
const AMEND = `mutation($id: ID!, $input: PublishProtocolInput!, $reason: String!, $password: String!) {
  amendProtocol(trialId: $id, input: $input, reason: $reason, password: $password) { id } }`;
const EVENTS = `query($id: ID!) { auditTrail(trialId: $id) { events { kind } } }`;
const DIRECTORY = `{ directory { id name kind } }`;

/** The sites and ethics boards a protocol may name. */
async function directory() {
  return (await gql(DIRECTORY)).directory;
}

/** Participants enrolled now, from the trial's ledger entries. */
async function enrolled(trialId) {
  const { events } = (await gql(EVENTS, { id: trialId })).auditTrail;
  const count = (kind) => events.filter((e) => e.kind === kind).length;
  return count('enrollment.created') - count('enrollment.withdrawn');
}

function progress(value, target) {
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: target, value, 'aria-label': `${value} of ${target} enrolled` }),
    ` ${value} / ${target}`,
  );
}

route('sponsor', async (page) => {
  const trials = await loadTrials();
  const counts = await Promise.all(trials.map((t) => enrolled(t.id)));
  const target = (t) => t.versions.at(-1).targetEnrollment;
  page.append(
    h('h2', {}, 'My trials'),
    h('p', {}, h('a', { href: '#/sponsor/new', class: 'button' }, 'New protocol')),
    trialsTable(trials, (t) => href('sponsor', 'trial', t.id), {
      headers: ['Enrollment'],
      cells: (t) => [progress(counts[trials.indexOf(t)], target(t))],
    }),
  );
});

route('sponsor/new', async (page) => {
  page.append(
    h('h2', {}, 'Publish a protocol'),
    protocolForm({
      directory: await directory(),
      submit: async (input, _reason, password) => {
        const { id } = (await gql(PUBLISH, { input, password })).publishProtocol;
        location.hash = href('sponsor', 'trial', id);
      },
    }),
  );
});

function changesList(changes) {
  if (!changes.length) return '—';
  return h(
    'ul',
    { class: 'changes' },
    changes.map((c) => h('li', {}, h('strong', {}, c.field), `: ${c.before || '∅'} → ${c.after || '∅'}`)),
  );
}

/** The versions of a protocol, one row each, with ledger seq, hash, reason, flags and changes. */
export function versionsTable(versions) {
  return table(
    'Protocol versions',
    ['Version', 'Ledger seq', 'Hash', 'Published', 'Sponsor signature', 'Ethics review', 'Reason', 'Flags', 'Changes'],
    versions.map((v, i) => [
      String(v.version),
      h('span', { class: 'seq' }, `#${v.ledgerSeq}`),
      shortHash(v.hash),
      when(v.createdAt),
      signatureLine(v.signature),
      reviewCell(v, i < versions.length - 1),
      v.reason ?? '—',
      v.flags.length ? h('span', { class: 'flag' }, v.flags.join(', ')) : '—',
      changesList(v.changes),
    ]),
  );
}

route('sponsor/trial/:id', async (page, { id }) => {
  const [trial, orgs] = await Promise.all([gql(TRIAL, { id }).then((d) => d.trial), directory()]);
  const current = trial.versions.at(-1);
  const forms = allForms(trial.versions);
  const sites = Object.fromEntries(orgs.map((o) => [o.id, o.name]));
  page.append(
    h('h2', {}, trial.title, ' ', statusBadge(trial.status)),
    h('p', {}, `Current version ${trial.currentVersion}. Criteria: `, h('code', {}, current.criteria || '(none)')),
    h('section', { id: 'versions' }, versionsTable(trial.versions)),
    ...(await clinicalData(id, forms, sites, true)),
    exportsCard(id, forms),
    protocolForm({
      version: current,
      status: trial.status,
      amend: true,
      directory: orgs,
      submit: async (input, reason, password) => {
        await gql(AMEND, { id, input, reason, password });
        reload();
      },
    }),
  );
});
