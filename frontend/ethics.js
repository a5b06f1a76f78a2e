// Ethics-board pages: the ledger, and per trial the audit trail as a timeline with the
// protocol versions side by side.

import { fetchFile, gql } from './api.js';
import { attempt, field, h, saveBlob, shortHash, status, when } from './dom.js';
import { FORM_FIELDS, allForms } from './crf.js';
import { ledgerPanel } from './ledger-panel.js';
import { clinicalData, exportsCard } from './monitor.js';
import { href, reload, route } from './router.js';
import { SIGNATURE_FIELDS, signatureLine, signingPassword } from './signature.js';
import { loadTrials, reviewBadge, statusBadge, trialsTable } from './trials.js';

export const prefix = 'ethics';
export const menu = [['Ledger and trials', '#/ethics']];

const AUDIT = `query($id: ID!) { auditTrail(trialId: $id) {
  trial { title status versions { version ledgerSeq hash reason flags createdAt changes { field before after }
    criteriaClausesAdded criteriaClausesRemoved
    title phase primaryEndpoint secondaryEndpoints targetEnrollment criteria eligibilityText
    reviewStatus forms { ${FORM_FIELDS} } ${SIGNATURE_FIELDS} review { decision comment decidedAt ledgerSeq ${SIGNATURE_FIELDS} } } }
  activity { day enrolled submitted }
  events { seq kind description timestamp actorName actorRole actorOrg actorOrgName subjects { key value } payloadHash } } }`;

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

/** Who acted, by name, role and organisation; the ids only when no account is known. */
function actor(e) {
  const org = e.actorOrgName ?? e.actorOrg;
  return e.actorName ? `${e.actorName} (${e.actorRole.toLowerCase()}), ${org}` : `${org} (system)`;
}

function timeline(events) {
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    events.map((e) =>
      h(
        'li',
        { class: `event ${e.kind.split('.')[0]}`, 'data-kind': e.kind },
        h('span', { class: 'seq' }, `#${e.seq}`),
        h('strong', {}, e.description),
        ' ',
        h('code', { class: 'hint' }, e.kind),
        h('time', { datetime: e.timestamp }, when(e.timestamp)),
        h('span', { class: 'actor' }, `by ${actor(e)}`),
        e.kind === 'record.signed'
          ? h('span', { class: 'hint' }, `signs entry #${e.subjects.find((s) => s.key === 'signed')?.value}`)
          : null,
        h('span', { class: 'hint' }, 'payload ', shortHash(e.payloadHash)),
      ),
    ),
  );
}

/**
 * Filters for the audit trail: event kind, acting organisation (a site, the sponsor, the
 * board) and a date range. `onChange(filtered)` gets the events that pass.
 */
function trailFilters(events, onChange) {
  const options = (values, all) => [h('option', { value: '' }, all), ...values.map(([value, label]) => h('option', { value }, label))];
  const unique = (pairs) => [...new Map(pairs).entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const kind = h('select', { id: 'filter-kind' }, options(unique(events.map((e) => [e.kind, e.description])), 'Every kind'));
  const org = h('select', { id: 'filter-org' }, options(unique(events.map((e) => [e.actorOrg, e.actorOrgName ?? e.actorOrg])), 'Every organisation'));
  const from = h('input', { type: 'date', id: 'filter-from' });
  const to = h('input', { type: 'date', id: 'filter-to' });
  const apply = () =>
    onChange(
      events.filter(
        (e) =>
          (!kind.value || e.kind === kind.value) &&
          (!org.value || e.actorOrg === org.value) &&
          (!from.value || e.timestamp.slice(0, 10) >= from.value) &&
          (!to.value || e.timestamp.slice(0, 10) <= to.value),
      ),
    );
  [kind, org, from, to].forEach((el) => el.addEventListener('change', apply));
  return h('div', { class: 'row filters', id: 'trail-filters' }, field('Kind', kind), field('Organisation', org), field('From', from), field('To', to));
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element (the `h` helper makes HTML elements). */
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => el.setAttribute(k, String(v)));
  el.append(...children);
  return el;
}

/** Cumulative enrollments and submissions per day, as a line chart. */
function activityChart(activity) {
  if (!activity.length) return h('p', { class: 'hint', id: 'activity-chart' }, 'No enrollments or data submissions yet.');
  const last = activity.at(-1);
  const max = Math.max(1, last.enrolled, last.submitted);
  const [width, height] = [600, 160];
  const x = (i) => (activity.length > 1 ? (i * width) / (activity.length - 1) : width / 2);
  const y = (n) => height - (n / max) * height;
  // A line per series, with a dot on each day (a single day is then still visible).
  const line = (key, color) => [
    svg('polyline', { fill: 'none', stroke: color, 'stroke-width': 2, points: activity.map((a, i) => `${x(i).toFixed(1)},${y(a[key]).toFixed(1)}`).join(' ') }),
    ...activity.map((a, i) => svg('circle', { cx: x(i).toFixed(1), cy: y(a[key]).toFixed(1), r: 4, fill: color }, svg('title', {}, `${a.day}: ${a[key]}`))),
  ];
  return h(
    'figure',
    { id: 'activity-chart' },
    svg(
      'svg',
      { viewBox: `-10 -10 ${width + 20} ${height + 40}`, class: 'chart', role: 'img', 'aria-label': `Cumulative enrollments (${last.enrolled}) and data submissions (${last.submitted}) from ${activity[0].day} to ${last.day}` },
      ...line('enrolled', '#123c69'),
      ...line('submitted', '#b5651d'),
      svg('text', { x: 0, y: height + 25, 'font-size': 12 }, activity[0].day),
      svg('text', { x: width - 70, y: height + 25, 'font-size': 12 }, last.day),
    ),
    h('figcaption', {}, h('span', { style: 'color:#123c69' }, '■'), ` enrollments (${last.enrolled}) · `, h('span', { style: 'color:#b5651d' }, '■'), ` data submissions (${last.submitted})`),
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
    ' ',
    signatureLine(v.review.signature),
    `, ledger entry #${v.review.ledgerSeq}`,
    v.review.comment ? h('span', { class: 'hint' }, ` — comment: “${v.review.comment}”`) : null,
  );
}

/**
 * The board's decision form for the current version: a comment, the member's password (the
 * decision is an electronic signature) and three decisions. A rejection or a request for
 * changes needs the comment; `done` runs after a decision.
 */
function reviewForm(trialId, version, done) {
  const comment = h('textarea', { name: 'comment', rows: 2, id: 'review-comment' });
  const password = signingPassword('review-password', 'Your decision is an electronic signature; its meaning is the decision you choose.');
  const message = status('review-message');
  const decide = (decision) => () =>
    attempt(message, async () => {
      await gql(REVIEW, { id: trialId, version, decision, comment: comment.value, password: password.value() });
      password.clear();
      message.show('Decision signed and recorded on the ledger.', 'ok');
      done();
    });
  return h(
    'section',
    { class: 'card', id: 'review' },
    h('h3', {}, `Review version ${version}`),
    h('p', { class: 'hint' }, 'Invitations and enrollment under this version wait for your approval. Participants already enrolled go on.'),
    field('Comment (required to reject or to ask for changes)', comment),
    password.element,
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

/** The eligibility clauses an amendment added and removed, if any. */
function clauseDiff(v) {
  const added = v.criteriaClausesAdded;
  const removed = v.criteriaClausesRemoved;
  if (!added.length && !removed.length) return null;
  return h(
    'ul',
    { class: 'clause-diff' },
    added.map((c) => h('li', { class: 'added' }, '+ ', h('code', {}, c))),
    removed.map((c) => h('li', { class: 'removed' }, '− ', h('code', {}, c))),
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
    h('p', { class: 'sponsor-signature' }, signatureLine(v.signature)),
    v.reason ? h('p', {}, h('strong', {}, 'Reason: '), v.reason) : null,
    v.flags.length ? h('p', { class: 'flag' }, v.flags.map((f) => h('span', { class: 'badge flag' }, f))) : null,
    clauseDiff(v),
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
  const { trial, events, activity } = (await gql(AUDIT, { id })).auditTrail;
  const trailHeading = h('h3', {}, `Audit trail (${events.length} entries)`);
  const trail = h('div', {}, timeline(events));
  const filters = trailFilters(events, (shown) => {
    trailHeading.textContent = `Audit trail (${shown.length} of ${events.length} entries)`;
    trail.replaceChildren(timeline(shown));
  });
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
      ? reviewForm(id, current.version, reload)
      : null,
    h('section', { class: 'card' }, h('h3', {}, 'Protocol versions side by side'), h('div', { class: 'versions', id: 'versions' }, trial.versions.map(versionColumn))),
    h('section', { class: 'card' }, h('h3', {}, 'Enrollment and data over time'), activityChart(activity)),
    h('section', { class: 'card', id: 'audit-trail' }, trailHeading, filters, trail),
    ...(await clinicalData(id, allForms(trial.versions), {}, false)),
    exportsCard(id, allForms(trial.versions)),
  );
});
