// Recruiter pages: count a trial's cohort or one's own criteria, and invite a trial's cohort.

import { gql } from './api.js';
import { attempt, confirmingButton, field, h, status } from './dom.js';
import { COHORT_FIELDS, cohortView } from './cohort.js';
import { criteriaEditor } from './criteria.js';
import { route } from './router.js';
import { loadTrials } from './trials.js';

export const prefix = 'recruiter';
export const menu = [['Cohorts', '#/recruiter']];

const TRIAL_COHORT = `query($id: ID!) { cohort(trialId: $id) { ${COHORT_FIELDS} } }`;
const INVITE = `mutation($id: ID!) { inviteCohort(trialId: $id) { invited { display } ledgerSeq } }`;

function trialCohort(trial) {
  const message = status('invite-message');
  const result = h('div', { id: 'trial-cohort' }, h('p', { class: 'hint' }, 'Counting…'));
  const invite = confirmingButton(
    { id: 'invite' },
    'Invite this cohort',
    'Invite every consenting patient who fits this trial? Each one’s site will be asked to contact them, and the round is recorded on the ledger.',
    () =>
      attempt(message, async () => {
        const summary = (await gql(INVITE, { id: trial.id })).inviteCohort;
        message.show(`Invited: ${summary.invited.display} (noisy, like every count; ledger entry #${summary.ledgerSeq}).`, 'ok');
      }),
  );
  attempt(message, async () => {
    const cohort = (await gql(TRIAL_COHORT, { id: trial.id })).cohort;
    result.replaceChildren(h('p', {}, 'Criteria: ', h('code', {}, cohort.criteria || '(none)')), cohortView(cohort));
  });
  return h(
    'section',
    { class: 'card' },
    h('h3', {}, trial.title),
    result,
    h('p', { class: 'hint' }, 'Each matching patient’s site is asked to contact them; you never see who they are.'),
    invite,
    message,
  );
}

route('recruiter', async (page) => {
  const trials = (await loadTrials()).filter((t) => t.status === 'RECRUITING');
  const pick = h(
    'select',
    { id: 'trial-pick' },
    h('option', { value: '' }, 'Write my own criteria'),
    trials.map((t) => h('option', { value: t.id }, t.title)),
  );
  const body = h('div', {});
  const show = () => {
    const trial = trials.find((t) => t.id === pick.value);
    body.replaceChildren(trial ? trialCohort(trial) : h('section', { class: 'card' }, criteriaEditor().element));
  };
  pick.addEventListener('change', show);
  page.append(h('h2', {}, 'Cohorts'), h('div', { class: 'card' }, field('Trial', pick, 'Choose a recruiting trial, or write criteria to explore.')), body);
  show();
});
