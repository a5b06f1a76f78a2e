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
