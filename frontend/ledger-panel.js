// The ledger as an ethics board checks it: verify everything, the latest signed checkpoint
// and its public key, and the export download.

import { fetchFile, gql } from './api.js';
import { attempt, h, saveBlob, status, when } from './dom.js';

// A board asking is a full check: every entry, not only those past the verified watermark.
const VERIFY = `{ verifyLedger(full: true) { ok entriesChecked firstBadSeq problems } }`;
const HEAD = `{ ledgerHead { checkpoint publicKey size rootHash timestamp } }`;

function verification(result) {
  if (result.ok) {
    return h('div', { class: 'verdict good', id: 'verdict', role: 'status' }, h('strong', {}, 'Ledger verified'), ` — all ${result.entriesChecked} entries, chain, payloads, Merkle root and checkpoint signature check out.`);
  }
  return h(
    'div',
    { class: 'verdict bad', id: 'verdict', role: 'alert' },
    h('strong', {}, `Ledger check FAILED at entry #${result.firstBadSeq}`),
    ` (${result.entriesChecked} entries checked)`,
    h('ul', {}, result.problems.map((p) => h('li', {}, p))),
  );
}

/** The ledger card. */
export function ledgerPanel() {
  const message = status('ledger-message');
  const result = h('div', { id: 'verification' });
  const head = h('div', { id: 'ledger-head' });
  const verify = () =>
    attempt(message, async () => {
      message.show('Verifying…');
      result.replaceChildren(verification((await gql(VERIFY)).verifyLedger));
      message.show('');
    });
  const download = () =>
    attempt(message, async () => {
      const blob = await fetchFile('/ledger/export');
      saveBlob(blob, 'veritrial-ledger.jsonl');
      message.show(`Saved veritrial-ledger.jsonl (${blob.size} bytes).`, 'ok');
    });
  attempt(message, async () => {
    const hd = (await gql(HEAD)).ledgerHead;
    head.replaceChildren(
      h('h4', {}, `Latest signed checkpoint: ${hd.size} entries, ${when(hd.timestamp)}`),
      h('pre', { class: 'code', id: 'checkpoint', 'aria-label': 'Signed checkpoint' }, hd.checkpoint),
      h('h4', {}, 'Public key'),
      h('pre', { class: 'code', id: 'public-key', 'aria-label': 'Public key' }, hd.publicKey),
    );
  });
  return h(
    'section',
    { class: 'card', id: 'ledger' },
    h('h3', {}, 'Ledger'),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', id: 'verify-ledger', onclick: verify }, 'Verify ledger'),
      h('button', { type: 'button', class: 'secondary', id: 'download-export', onclick: download }, 'Download export (.jsonl)'),
    ),
    h('p', { class: 'hint' }, 'Check the export offline with ', h('code', {}, 'veritrial verify veritrial-ledger.jsonl'), '.'),
    message,
    result,
    head,
  );
}
