// A trial at the site: the invitations work list (enroll from there) and the site's enrollments.

import { gql } from './api.js';
import { field, form, h, status, table } from './dom.js';
import { worklistCard } from './site-worklist.js';
import { href, reload, route } from './router.js';

const TRIAL = `query($id: ID!) {
  trial(id: $id) { title }
  enrollments(trialId: $id) { id pseudonym protocolVersion status ledgerSeq withdrawReason createdAt } }`;
const WITHDRAW = `mutation($id: ID!, $reason: String!) { withdrawParticipant(enrollmentId: $id, reason: $reason) { status } }`;

function patientLink(pseudonym) {
  return h('a', { href: href('site', 'patient', pseudonym), class: 'code' }, `${pseudonym.slice(0, 16)}…`);
}

function withdrawForm(enrollment) {
  const reason = h('input', { name: 'reason', required: true });
  const message = status();
  return form(
    { class: 'inline' },
    message,
    async () => {
      await gql(WITHDRAW, { id: enrollment.id, reason: reason.value });
      reload();
    },
    field('Reason for withdrawal', reason),
    h('button', { type: 'submit', class: 'secondary' }, 'Withdraw'),
    message,
  );
}

route('site/trial/:id', async (page, { id }) => {
  const data = await gql(TRIAL, { id });
  page.append(
    h('h2', {}, data.trial.title),
    worklistCard(id),
    h(
      'section',
      { class: 'card', id: 'enrollments' },
      h('h3', {}, 'Enrollments'),
      data.enrollments.length
        ? table(
            'Participants enrolled by this site',
            ['Participant', 'Status', 'Protocol version', 'Ledger seq', 'Forms', ''],
            data.enrollments.map((e) => [
              patientLink(e.pseudonym),
              e.status === 'withdrawn' ? `withdrawn: ${e.withdrawReason}` : e.status,
              String(e.protocolVersion),
              `#${e.ledgerSeq}`,
              h('a', { href: href('site', 'enrollment', id, e.id) }, 'Case-report forms'),
              e.status === 'enrolled' ? withdrawForm(e) : '',
            ]),
          )
        : h('p', { class: 'hint' }, 'Nobody enrolled yet.'),
    ),
  );
});
