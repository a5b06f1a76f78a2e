// A trial's invitations at the site as a work list: a count per status (each a filter),
// one page at a time, and the site's follow-up recorded in one click (ledgered, naming no one).

import { gql } from './api.js';
import { attempt, h, status, table, when } from './dom.js';
import { enroll } from './enroll.js';
import { href } from './router.js';

const WORKLIST = `query($t: ID!, $s: InvitationStatus, $n: Int!, $o: Int!) {
  worklist(trialId: $t, status: $s, first: $n, offset: $o) {
    total counts { status count }
    items { id pseudonym invitedAt status outcomeBy outcomeAt } } }`;
const OUTCOME = `mutation($i: ID!, $o: ContactOutcome!) { recordInvitationOutcome(invitationId: $i, outcome: $o) { status } }`;
const PAGE = 25;
const WORDS = { NEW: 'new', CONTACTED: 'contacted', CONSENTED: 'consented', ENROLLED: 'enrolled', DECLINED: 'declined', SCREEN_FAILED: 'screen-failed' };
const OUTCOMES = [['CONTACTED', 'Contacted'], ['DECLINED', 'Declined'], ['SCREEN_FAILED', 'Screen failed']];

/** The work list card for trial `trialId`. */
export function worklistCard(trialId) {
  const message = status('worklist-message');
  const chips = h('div', { class: 'buttons', id: 'worklist-counts' });
  const shown = h('div', { id: 'worklist' });
  let filter = null;
  let offset = 0;

  const row = (item) => {
    const rowMessage = status();
    const record = (outcome) =>
      attempt(rowMessage, async () => {
        await gql(OUTCOME, { i: item.id, o: outcome });
        load();
      });
    return [
      h('a', { href: href('site', 'patient', item.pseudonym), class: 'code' }, `${item.pseudonym.slice(0, 12)}…`),
      when(item.invitedAt),
      h('span', { class: `badge status-${item.status.toLowerCase()}` }, WORDS[item.status]),
      item.outcomeBy ? `${item.outcomeBy}, ${when(item.outcomeAt)}` : '—',
      h(
        'div',
        { class: 'buttons' },
        OUTCOMES.map(([outcome, label]) => h('button', { type: 'button', class: 'secondary', 'data-outcome': outcome, onclick: () => record(outcome) }, label)),
        ['NEW', 'CONTACTED', 'CONSENTED'].includes(item.status)
          ? h('button', { type: 'button', onclick: () => enroll(trialId, item.pseudonym, rowMessage) }, 'Enroll')
          : null,
        rowMessage,
      ),
    ];
  };

  const load = () =>
    attempt(message, async () => {
      const list = (await gql(WORKLIST, { t: trialId, s: filter, n: PAGE, o: offset })).worklist;
      const all = list.counts.reduce((sum, c) => sum + c.count, 0);
      const chip = (value, label, count) =>
        h('button', { type: 'button', class: filter === value ? '' : 'secondary', 'aria-pressed': String(filter === value), onclick: () => { filter = value; offset = 0; load(); } }, `${label} (${count})`);
      chips.replaceChildren(chip(null, 'all', all), ...list.counts.map((c) => chip(c.status, WORDS[c.status], c.count)));
      shown.replaceChildren(
        list.items.length
          ? table('Patients invited by a recruiter', ['Patient', 'Invited', 'Status', 'Recorded by', ''], list.items.map(row))
          : h('p', { class: 'hint' }, all ? 'No invitation has this status.' : 'No invitations yet.'),
        list.total > PAGE
          ? h(
              'div',
              { class: 'buttons pager' },
              h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, '← Previous'),
              h('span', {}, `${offset + 1}–${offset + list.items.length} of ${list.total}`),
              h('button', { type: 'button', class: 'secondary', disabled: offset + PAGE >= list.total, onclick: () => { offset += PAGE; load(); } }, 'Next →'),
            )
          : null,
      );
    });
  load();
  return h(
    'section',
    { class: 'card', id: 'invitations' },
    h('h3', {}, 'Invitations'),
    h('p', { class: 'hint' }, 'Record each follow-up: it goes on the ledger with the invitation, never with who the patient is.'),
    chips,
    message,
    shown,
  );
}
