// The public page a consent receipt's check link opens, for anyone, without signing in: it
// fetches the inclusion proof of the receipt's ledger entry and the signed checkpoint, and
// checks in this browser (WebCrypto: SHA-256, Ed25519) that the checkpoint is signed by the
// key the link names and that the entry's leaf, as the link gives it, is in that tree. The
// server provides the data; it cannot make a changed or removed entry pass.

import { h } from './dom.js';
import { route } from './router.js';

const encoder = new TextEncoder();

function hexToBytes(hex) {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error('a hash in the link is not hexadecimal');
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function sha256(...parts) {
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 §2.1.3.2: the root that `proof` gives for `leaf` at `index` in a tree of `size`. */
export async function rootFromInclusion(leaf, index, size, proof) {
  if (index >= size) throw new Error('the entry is beyond the signed tree');
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new Error('the proof is too long');
    if (fn & 1n || fn === sn) {
      r = await sha256(Uint8Array.of(1), p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await sha256(Uint8Array.of(1), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the proof is too short');
  return r;
}

/** Checks a C2SP signed note against a verifier key `name+id+base64`; returns its body lines. */
async function verifiedCheckpoint(note, verifierKey) {
  // name+keyid+base64: the base64 part may itself hold '+', so split at the first two only.
  const first = verifierKey.indexOf('+');
  const second = verifierKey.indexOf('+', first + 1);
  if (first < 1 || second < 0) throw new Error('the ledger key is not a signed-note verifier key');
  const name = verifierKey.slice(0, first);
  const key = fromBase64(verifierKey.slice(second + 1));
  if (key[0] !== 1 || key.length !== 33) throw new Error('the ledger key is not an Ed25519 signed-note key');
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const line = note
    .slice(split + 2)
    .split('\n')
    .find((l) => l.startsWith(`— ${name} `));
  if (!line) throw new Error('the checkpoint carries no signature by the ledger key');
  const signature = fromBase64(line.slice(`— ${name} `.length)).slice(4);
  const publicKey = await crypto.subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify']);
  if (!(await crypto.subtle.verify('Ed25519', publicKey, signature, encoder.encode(body)))) {
    throw new Error('the checkpoint signature does not verify');
  }
  return body.trimEnd().split('\n');
}

/** The check itself: resolves to what was proven, or throws why not. */
export async function checkReceipt(seq, leafHex, keyHashHex) {
  const response = await fetch(`/ledger/proof/${encodeURIComponent(seq)}`);
  const served = await response.json();
  if (!response.ok) throw new Error(served.error?.message ?? `HTTP ${response.status}`);
  const keyHash = toHex(await sha256(encoder.encode(served.publicKey))).slice(0, keyHashHex.length);
  if (keyHashHex.length < 32 || keyHash !== keyHashHex.toLowerCase()) {
    throw new Error('the ledger key the server shows is not the key this link names');
  }
  const [origin, size, root] = await verifiedCheckpoint(served.checkpoint, served.publicKey);
  if (String(served.treeSize) !== size) throw new Error('the proof is not for the signed tree');
  const computed = await rootFromInclusion(hexToBytes(leafHex), seq, Number(size), served.proof.map(hexToBytes));
  if (!same(computed, fromBase64(root))) {
    throw new Error('the entry this link names is not in the signed ledger as it was: it was changed or removed');
  }
  return { origin, size: Number(size) };
}

route('check/:seq/:leaf/:key', async (page, { seq, leaf, key }) => {
  const result = h('div', { id: 'check-result', role: 'status', 'aria-live': 'polite' }, h('p', { class: 'hint' }, 'Checking…'));
  page.append(
    h('h2', {}, 'Check a consent receipt'),
    h('p', {}, `Ledger entry #${seq}, leaf hash `, h('code', { class: 'hash' }, leaf)),
    result,
    h('p', { class: 'hint' }, 'This page checks the signature and the proof in your browser. For a check that needs no server at all, run ', h('code', {}, 'veritrial verify'), ' on the receipt file.'),
  );
  try {
    const { origin, size } = await checkReceipt(Number(seq), leaf, key);
    result.replaceChildren(
      h('p', { class: 'status', 'data-kind': 'ok' }, `✔ Verified: the consent is in the ledger, unchanged, as entry #${seq} of ${size} in a checkpoint signed by ${origin}.`),
    );
  } catch (err) {
    result.replaceChildren(h('p', { class: 'status', 'data-kind': 'error', role: 'alert' }, `✘ Not verified: ${err.message}`));
  }
});
