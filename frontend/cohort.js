// A cohort as recruiters may see it: the count, the funnel drawn as bars, per-site counts.

import { h, table } from './dom.js';

export const COHORT_FIELDS = `criteria count suppressed display
  funnel { clause remaining suppressed display }
  sites { siteName count suppressed display }`;

function bar(step, widest) {
  const share = step.suppressed || !widest ? 0 : step.remaining / widest;
  return h(
    'li',
    { class: 'funnel-step' },
    h('span', { class: 'clause' }, step.clause),
    h(
      'span',
      { class: 'bar-track', 'aria-hidden': 'true' },
      h('span', { class: step.suppressed ? 'bar suppressed' : 'bar', style: `width: ${Math.max(share * 100, 1)}%` }),
    ),
    h('span', { class: 'remaining' }, step.display),
  );
}

/** The cohort's count, funnel and sites. */
export function cohortView(cohort) {
  const widest = Math.max(1, ...cohort.funnel.map((s) => s.remaining ?? 0), cohort.count ?? 0);
  return h(
    'section',
    { class: 'cohort', 'aria-label': 'Cohort' },
    h(
      'p',
      { class: 'count' },
      'Matching consenting patients: ',
      h('strong', { id: 'cohort-count', class: cohort.suppressed ? 'suppressed' : '' }, cohort.display),
    ),
    cohort.suppressed ? h('p', { class: 'hint' }, 'Counts below the threshold are never shown.') : null,
    h('h4', {}, 'Funnel'),
    h('ol', { class: 'funnel', id: 'funnel' }, cohort.funnel.map((step) => bar(step, widest))),
    table(
      'Per site',
      ['Site', 'Patients'],
      cohort.sites.map((s) => [s.siteName, s.display]),
    ),
  );
}
