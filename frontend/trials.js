// Trial lists shared by every role: the query and a table linking each trial to a page.

import { gql } from './api.js';
import { h, table } from './dom.js';

const TRIALS = `{ trials { id title status nctId currentVersion versions { targetEnrollment } } }`;

/** The trials the signed-in user may see, newest first. */
export async function loadTrials() {
  return (await gql(TRIALS)).trials;
}

/** A status badge. */
export function statusBadge(status) {
  return h('span', { class: `badge ${status.toLowerCase()}` }, status.toLowerCase());
}

/** Review states in words. */
const REVIEW_WORDS = {
  SUBMITTED: 'Awaiting review',
  APPROVED: 'Approved',
  REJECTED: 'Rejected',
  CHANGES_REQUESTED: 'Changes requested',
};

/**
 * A protocol version's ethics review state as a badge; a version amended before the board
 * decided on it (`superseded`) is no longer awaiting anything.
 */
export function reviewBadge(reviewStatus, superseded = false) {
  if (superseded && reviewStatus === 'SUBMITTED') {
    return h('span', { class: 'badge review superseded' }, 'Superseded before review');
  }
  return h('span', { class: `badge review ${reviewStatus.toLowerCase()}` }, REVIEW_WORDS[reviewStatus] ?? reviewStatus);
}

/** A table of trials; `link(trial)` gives each title's target, `extra` adds columns. */
export function trialsTable(trials, link, extra = { headers: [], cells: () => [] }) {
  if (!trials.length) return h('p', { class: 'hint' }, 'No trials yet.');
  return table(
    'Trials',
    ['Trial', 'Status', 'Version', ...extra.headers],
    trials.map((t) => [
      h('a', { href: link(t) }, t.title),
      statusBadge(t.status),
      String(t.currentVersion),
      ...extra.cells(t),
    ]),
  );
}
