// Enrolling one of the site's patients in a trial; a refusal is shown with its reason.

import { gql } from './api.js';
import { h } from './dom.js';
import { href } from './router.js';

const ENROLL = `mutation($trialId: ID!, $pseudonym: String!) {
  enrollParticipant(trialId: $trialId, pseudonym: $pseudonym) { id ledgerSeq protocolVersion } }`;

/** Tries to enroll; reports success with a link, or the refusal reason, on `statusEl`. */
export async function enroll(trialId, pseudonym, statusEl) {
  try {
    const e = (await gql(ENROLL, { trialId, pseudonym })).enrollParticipant;
    statusEl.replaceChildren(
      `Enrolled under protocol version ${e.protocolVersion} (ledger entry #${e.ledgerSeq}). `,
      h('a', { href: href('site', 'enrollment', trialId, e.id) }, 'Open the case-report forms'),
    );
    statusEl.dataset.kind = 'ok';
  } catch (err) {
    statusEl.textContent = `Refused: ${err.message}`;
    statusEl.dataset.kind = 'error';
  }
}
