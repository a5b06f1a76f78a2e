// A cohort as recruiters may see it: the count, the funnel drawn as bars, per-site counts,
// and, when the numbers carry privacy noise, its margin and the budget it used.

import { h, table } from './dom.js';

export const COHORT_FIELDS = `criteria count suppressed display approximate margin95 privacyCost
  budget { limit spent remaining windowHours }
  funnel { clause remaining suppressed display }
  sites { siteName count suppressed display }`;

const rho = (value) => value.toFixed(4);

/** What the noise means and what this query cost, for approximate counts. */
function privacyNote(cohort) {
  if (!cohort.approximate) {
    return h('p', { class: 'hint', id: 'cohort-exact' }, 'Exact counts of your own site’s patients.');
  }
  const cost = cohort.privacyCost > 0 ? `This query used ρ ${rho(cohort.privacyCost)} of your privacy budget` : 'Asked before: this answer cost nothing';
  const budget = cohort.budget;
  return h(
    'p',
    { class: 'hint', id: 'cohort-privacy' },
    `Every number carries random noise (±${cohort.margin95} at 95 %) so that no single patient can be inferred; `,
    'the same question about the same data always gets the same answer. ',
    `${cost}; ρ ${rho(budget.remaining)} of ${rho(budget.limit)} is left for the next ${budget.windowHours} hours.`,
  );
}

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
      cohort.approximate && !cohort.suppressed ? h('span', { class: 'margin' }, ` ±${cohort.margin95}`) : null,
    ),
    privacyNote(cohort),
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
