// "Trials this patient may fit": the recruiting trials that match a patient best first, each
// explained clause by clause against its current criteria, with enrollment one click away.

import { gql } from './api.js';
import { h, status } from './dom.js';
import { enroll } from './enroll.js';

const MATCHES = `query($p: String!) { matchingTrials(pseudonym: $p) {
  score trial { id title versions { criteria } } } }`;
const EXPLAIN = `query($p: String!, $c: String!) { explainMatch(pseudonym: $p, criteria: $c) { matched clauses { clause met } } }`;

/** The clause-by-clause verdict of `criteria` for the patient, or that there are none. */
async function explanation(pseudonym, criteria) {
  if (!criteria.trim()) return { matched: true, clauses: [] };
  return (await gql(EXPLAIN, { p: pseudonym, c: criteria })).explainMatch;
}

function matchItem(pseudonym, match, verdict) {
  const message = status(`enroll-${match.trial.id}`);
  return h(
    'li',
    { class: 'match', 'data-trial': match.trial.id },
    h('strong', {}, match.trial.title),
    ' ',
    h('span', { class: verdict.matched ? 'badge ok' : 'badge flag' }, verdict.matched ? 'fits the criteria' : 'does not fit'),
    h('span', { class: 'hint' }, ` relevance ${match.score.toFixed(2)}`),
    verdict.clauses.length
      ? h('ul', { class: 'clauses' }, verdict.clauses.map((c) => h('li', { class: c.met ? 'met' : 'unmet' }, c.met ? '✓ ' : '✗ ', h('code', {}, c.clause))))
      : h('p', { class: 'hint' }, 'No eligibility criteria.'),
    verdict.matched
      ? h('button', { type: 'button', class: 'secondary', onclick: () => enroll(match.trial.id, pseudonym, message) }, 'Enroll (needs the patient’s signed consent)')
      : null,
    message,
  );
}

/** The card, filled in once the matches and their explanations are in. */
export function matchesCard(pseudonym) {
  const message = status('matches-message');
  const list = h('ol', { class: 'matches', id: 'matches' });
  const card = h('section', { class: 'card', id: 'matching-trials' }, h('h3', {}, 'Trials this patient may fit'), message, list);
  (async () => {
    try {
      const matches = (await gql(MATCHES, { p: pseudonym })).matchingTrials;
      if (!matches.length) {
        message.show('No recruiting trial of this site matches this patient.');
        return;
      }
      const verdicts = await Promise.all(matches.map((m) => explanation(pseudonym, m.trial.versions.at(-1).criteria)));
      list.replaceChildren(...matches.map((m, i) => matchItem(pseudonym, m, verdicts[i])));
    } catch (err) {
      message.show(err.message, 'error');
    }
  })();
  return card;
}
