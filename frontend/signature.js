// Electronic signatures: the password field that signs an act, and how a signature reads.

import { field, h, when } from './dom.js';

/**
 * A password field that signs an act (21 CFR Part 11): `element` to place in a form,
 * `value()` to send, `clear()` after use. `what` says what the signature means.
 */
export function signingPassword(id, what) {
  const input = h('input', { type: 'password', name: 'password', id, autocomplete: 'current-password', required: true });
  return {
    element: field(
      'Your password, to sign',
      input,
      `${what} Your name, the time and this meaning are recorded with it on the ledger.`,
    ),
    value: () => input.value,
    clear: () => {
      input.value = '';
    },
  };
}

const ROLE_WORDS = { ADMIN: 'admin', SPONSOR: 'sponsor', RECRUITER: 'recruiter', SITE: 'site', ETHICS: 'ethics board' };

/** A signature in words, or `unsigned` (for imports) when there is none. */
export function signatureLine(sig, unsigned = 'Unsigned (imported)') {
  if (!sig) return h('span', { class: 'signature unsigned' }, unsigned);
  return h(
    'span',
    { class: 'signature', title: `Ledger entry #${sig.ledgerSeq}` },
    '✍ Signed by ',
    h('strong', {}, sig.signerName),
    ` (${ROLE_WORDS[sig.signerRole] ?? sig.signerRole}), ${when(sig.signedAt)}: “${sig.meaning}”`,
  );
}

/** The GraphQL selection of a signature. */
export const SIGNATURE_FIELDS = 'signature { signerName signerRole meaning signedAt ledgerSeq }';
