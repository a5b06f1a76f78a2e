// Clinical codes with their names (ICD-10-CM, public domain): names beside codes, and a
// search box that finds codes by code or by words, for criteria and registration.

import { gql } from './api.js';
import { h } from './dom.js';

const NAMES = 'query($codes: [String!]!) { codeNames(codes: $codes) { code name exact } }';
const SEARCH = 'query($q: String!) { codes(query: $q, first: 12) { code name } }';
const DELAY_MS = 250;
const known = new Map();

/** The names of `codes`, fetched once each: a Map from code to `{ name, exact }`. */
export async function namesOf(codes) {
  const missing = [...new Set(codes)].filter((c) => !known.has(c) && /^icd10:/i.test(c));
  if (missing.length) {
    for (const c of missing) known.set(c, null);
    const { codeNames } = await gql(NAMES, { codes: missing });
    for (const n of codeNames) known.set(n.code, n);
    // A code written without its dot or in lower case is named under its written form too.
    for (const c of missing) if (!known.get(c)) known.set(c, codeNames.find((n) => n.code.replace('.', '').toUpperCase() === c.replace('.', '').toUpperCase()) ?? null);
  }
  return known;
}

/** `codes` as a list, each with its name beside it (filled in once fetched). */
export function namedCodes(codes) {
  if (!codes.length) return '—';
  const items = codes.map((code) => {
    const name = h('span', { class: 'code-name' });
    return { code, name, element: h('li', {}, h('code', {}, code), name) };
  });
  namesOf(codes)
    .then((names) => {
      for (const item of items) {
        const found = names.get(item.code);
        if (found) item.name.textContent = ` ${found.exact ? '' : 'in '}${found.name}`;
      }
    })
    .catch(() => {});
  return h('ul', { class: 'codes' }, items.map((i) => i.element));
}

/**
 * A search box for codes: type a code or words; each match is a button that calls
 * `pick(code)`. `id` prefixes the element ids.
 */
export function codeFinder(id, label, pick) {
  const input = h('input', { type: 'search', id: `${id}-search`, placeholder: 'e.g. E11 or type 2 diabetes', autocomplete: 'off', 'aria-controls': `${id}-results` });
  const results = h('div', { class: 'code-results', id: `${id}-results`, role: 'list' });
  let timer;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2) return results.replaceChildren();
      try {
        const { codes } = await gql(SEARCH, { q });
        results.replaceChildren(
          ...(codes.length
            ? codes.map((c) => h('button', { type: 'button', class: 'secondary code-pick', role: 'listitem', 'data-code': c.code, onclick: () => pick(c.code) }, h('code', {}, c.code), ` ${c.name}`))
            : [h('p', { class: 'hint' }, 'No ICD-10-CM code matches.')]),
        );
      } catch (err) {
        results.replaceChildren(h('p', { class: 'error' }, err.message));
      }
    }, DELAY_MS);
  });
  return h('div', { class: 'code-finder' }, h('label', { for: input.id }, label), input, results);
}
