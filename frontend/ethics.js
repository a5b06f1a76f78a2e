// Ethics-board pages: the ledger, and per trial the audit trail as a timeline with the
// protocol versions side by side.

import { fetchFile, gql } from './api.js';
import { attempt, field, h, saveBlob, shortHash, status, when } from './dom.js';
import { ledgerPanel } from './ledger-panel.js';
import { href, route } from './router.js';
import { loadTrials, reviewBadge, statusBadge, trialsTable } from './trials.js';

export const prefix = 'ethics';
export const menu = [['Ledger and trials', '#/ethics']];

const AUDIT = `query($id: ID!) { auditTrail(trialId: $id) {
  trial { title status versions { version ledgerSeq hash reason flags createdAt changes { field before after }
    title phase primaryEndpoint secondaryEndpoints targetEnrollment criteria eligibilityText
    reviewStatus review { decision comment decidedAt ledgerSeq signedBy } } }
  events { seq kind timestamp actorUser actorOrg subjects { key value } payloadHash } } }`;

/** The fields compared across versions, as [label, field]. */
const COMPARED = [
  ['Title', 'title'],
  ['Phase', 'phase'],
  ['Primary endpoint', 'primaryEndpoint'],
  ['Secondary endpoints', 'secondaryEndpoints'],
  ['Target enrollment', 'targetEnrollment'],
  ['Criteria', 'criteria'],
  ['Eligibility in words', 'eligibilityText'],
];

function timeline(events) {
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    events.map((e) =>
      h(
        'li',
        { class: `event ${e.kind.split('.')[0]}` },
        h('span', { class: 'seq' }, `#${e.seq}`),
        h('strong', {}, e.kind),
        h('time', { datetime: e.timestamp }, when(e.timestamp)),
        h('span', { class: 'actor' }, `by ${e.actorUser} (${e.actorOrg})`),
        h('span', { class: 'hint' }, 'payload ', shortHash(e.payloadHash)),
      ),
    ),
  );
}

const REVIEW = `mutation($id: ID!, $version: Int!, $decision: ReviewDecision!, $comment: String, $password: String!) {
  reviewProtocol(trialId: $id, version: $version, decision: $decision, comment: $comment, password: $password) { id } }`;

/** The board's decision on version `v`, or what it awaits (`superseded`: amended since). */
function reviewLine(v, superseded) {
  const badge = reviewBadge(v.reviewStatus, superseded);
  if (!v.review) return h('p', { class: 'review-status' }, badge);
  return h(
    'p',
    { class: 'review-status' },
    badge,
    ` signed by ${v.review.signedBy}, ${when(v.review.decidedAt)}, ledger entry #${v.review.ledgerSeq}`,
    v.review.comment ? h('span', { class: 'hint' }, ` — “${v.review.comment}”`) : null,
  );
}

/**
 * The board's decision form for the current version: a comment, the member's password (the
 * decision is an electronic signature) and three decisions. A rejection or a request for
 * changes needs the comment; `done` runs after a decision.
 */
function reviewForm(trialId, version, done) {
  const comment = h('textarea', { name: 'comment', rows: 2, id: 'review-comment' });
  const password = h('input', { type: 'password', name: 'password', id: 'review-password', autocomplete: 'current-password', required: true });
  const message = status('review-message');
  const decide = (decision) => () =>
    attempt(message, async () => {
      await gql(REVIEW, { id: trialId, version, decision, comment: comment.value, password: password.value });
      password.value = '';
      message.show('Decision signed and recorded on the ledger.', 'ok');
      done();
    });
  return h(
    'section',
    { class: 'card', id: 'review' },
    h('h3', {}, `Review version ${version}`),
    h('p', { class: 'hint' }, 'Invitations and enrollment under this version wait for your approval. Participants already enrolled go on.'),
    field('Comment (required to reject or to ask for changes)', comment),
    field('Your password, to sign the decision', password, 'Your decision is an electronic signature: your name, the time and its meaning are recorded with it.'),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', id: 'approve-version', onclick: decide('APPROVED') }, 'Approve'),
      h('button', { type: 'button', class: 'secondary', id: 'request-changes', onclick: decide('CHANGES_REQUESTED') }, 'Request changes'),
      h('button', { type: 'button', class: 'secondary', id: 'reject-version', onclick: decide('REJECTED') }, 'Reject'),
    ),
    message,
  );
}

function versionColumn(v, index, all) {
  const changed = new Set(v.changes.map((c) => c.field));
  const value = (f) => (Array.isArray(v[f]) ? v[f].join('; ') : String(v[f] ?? '')) || '—';
  return h(
    'article',
    { class: 'version', 'aria-label': `Version ${v.version}` },
    h('h4', {}, `Version ${v.version}`),
    reviewLine(v, index < all.length - 1),
    h('p', { class: 'hint' }, `Ledger entry #${v.ledgerSeq}, ${when(v.createdAt)}, hash `, shortHash(v.hash)),
    v.reason ? h('p', {}, h('strong', {}, 'Reason: '), v.reason) : null,
    v.flags.length ? h('p', { class: 'flag' }, v.flags.map((f) => h('span', { class: 'badge flag' }, f))) : null,
    h(
      'dl',
      {},
      COMPARED.map(([label, f]) => [h('dt', {}, label), h('dd', { class: changed.has(f) ? 'changed' : '' }, value(f))]),
    ),
    v.changes.length
      ? h('details', {}, h('summary', {}, `${v.changes.length} change(s) from the previous version`), h('ul', {}, v.changes.map((c) => h('li', {}, h('strong', {}, c.field), `: ${c.before || '∅'} → ${c.after || '∅'}`))))
      : null,
  );
}

route('ethics', async (page) => {
  const message = status('trials-message');
  const audits = h('section', { class: 'card', id: 'audit-trails' }, h('h3', {}, 'Audit trails'), message);
  page.append(h('h2', {}, 'Ledger and trials'), ledgerPanel(), audits);
  // The ledger panel stays usable even when trials cannot be read (e.g. a tampered payload).
  await attempt(message, async () => audits.append(trialsTable(await loadTrials(), (t) => href('ethics', 'trial', t.id))));
});

route('ethics/trial/:id', async (page, { id }) => {
  const { trial, events } = (await gql(AUDIT, { id })).auditTrail;
  const current = trial.versions.at(-1);
  const message = status('report-message');
  const downloadReport = () =>
    attempt(message, async () => {
      const blob = await fetchFile(`/trials/${id}/report`);
      saveBlob(blob, `veritrial-audit-${id}.html`);
      message.show(`Saved the audit report (${blob.size} bytes); it prints cleanly to PDF.`, 'ok');
    });
  page.append(
    h('h2', {}, trial.title, ' ', statusBadge(trial.status)),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', class: 'secondary', id: 'download-report', onclick: downloadReport }, 'Download audit report (.html)'),
      message,
    ),
    current.reviewStatus === 'SUBMITTED'
      ? reviewForm(id, current.version, () => window.dispatchEvent(new HashChangeEvent('hashchange')))
      : null,
    h('section', { class: 'card' }, h('h3', {}, 'Protocol versions side by side'), h('div', { class: 'versions', id: 'versions' }, trial.versions.map(versionColumn))),
    h('section', { class: 'card' }, h('h3', {}, `Audit trail (${events.length} entries)`), timeline(events)),
  );
});
