// The criteria editor: checks the criteria as they are typed (debounced `checkCriteria`
// query, which counts nobody and costs nothing), marks a syntax error at its line and
// column, and counts the cohort on request (each new question spends privacy budget).

import { gql } from './api.js';
import { field, h } from './dom.js';
import { codeFinder, namedCodes } from './codes.js';
import { COHORT_FIELDS, cohortView } from './cohort.js';

const CHECK = `query($criteria: String!) { checkCriteria(criteria: $criteria) { canonical clauses } }`;
const COHORT = `query($criteria: String!) { cohort(criteria: $criteria) { ${COHORT_FIELDS} } }`;
const DELAY_MS = 400;

/** The error's line with the character at `column` marked. */
function errorPointer(text, line, column) {
  const source = text.split('\n')[line - 1] ?? '';
  const at = Math.max(0, column - 1);
  return h(
    'pre',
    { class: 'error-pointer', 'aria-hidden': 'true' },
    source.slice(0, at),
    h('mark', { id: 'criteria-error-mark' }, source.slice(at, at + 1) || ' '),
    source.slice(at + 1),
  );
}

/** Index in `text` of 1-based `line` and `column`. */
function offsetOf(text, line, column) {
  const lines = text.split('\n').slice(0, line - 1);
  return lines.reduce((sum, l) => sum + l.length + 1, 0) + column - 1;
}

/** A labelled criteria textarea with live checking; `.value` reads the text. */
export function criteriaEditor(initial = '') {
  const input = h('textarea', {
    name: 'criteria',
    id: 'criteria',
    rows: 4,
    spellcheck: false,
    class: 'code',
  });
  input.value = initial;
  const feedback = h('div', { id: 'criteria-feedback', 'aria-live': 'polite' });
  let timer;
  let asked = 0;

  async function check() {
    const text = input.value;
    const ticket = (asked += 1);
    if (!text.trim()) {
      input.removeAttribute('aria-invalid');
      feedback.replaceChildren(h('p', { class: 'hint' }, 'No criteria yet: type some to see who fits.'));
      return;
    }
    feedback.replaceChildren(h('p', { class: 'hint' }, 'Checking…'));
    try {
      const check = (await gql(CHECK, { criteria: text })).checkCriteria;
      if (ticket !== asked) return;
      input.removeAttribute('aria-invalid');
      const counted = h('div', { id: 'cohort-result', 'aria-live': 'polite' });
      const count = h(
        'button',
        {
          type: 'button',
          id: 'count-cohort',
          onclick: async () => {
            counted.replaceChildren(h('p', { class: 'hint' }, 'Counting…'));
            try {
              counted.replaceChildren(cohortView((await gql(COHORT, { criteria: text })).cohort));
            } catch (err) {
              counted.replaceChildren(h('p', { class: 'error', id: 'cohort-error', role: 'alert' }, err.message));
            }
          },
        },
        'Count matching patients',
      );
      const clauses = check.clauses.length === 1 ? '1 clause' : `${check.clauses.length} clauses`;
      const codes = [...new Set(text.match(/icd10:[A-Za-z0-9.]+\*?/g) ?? [])];
      feedback.replaceChildren(
        h('p', { class: 'ok', id: 'criteria-ok' }, `Criteria are valid (${clauses}).`),
        codes.length ? h('div', { id: 'criteria-codes' }, namedCodes(codes)) : null,
        count,
        counted,
      );
    } catch (err) {
      if (ticket !== asked) return;
      const where = /line (\d+), column (\d+)/.exec(err.message);
      input.setAttribute('aria-invalid', 'true');
      const parts = [h('p', { class: 'error', id: 'criteria-error', role: 'alert' }, err.message)];
      if (err.code === 'BAD_CRITERIA' && where) {
        const [line, column] = [Number(where[1]), Number(where[2])];
        parts.push(errorPointer(text, line, column));
        const offset = offsetOf(text, line, column);
        if (document.activeElement !== input) input.setSelectionRange(offset, offset + 1);
      }
      feedback.replaceChildren(...parts);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(check, DELAY_MS);
  });
  const element = h(
    'div',
    { class: 'criteria-editor' },
    field('Eligibility criteria', input, 'For example: age between 18 and 65 and condition = icd10:E11* and lab loinc:4548-4 between 7.0 and 10.0'),
    feedback,
    codeFinder('criteria-code', 'Find a condition code to add', (code) => {
      const clause = `condition = ${code}*`;
      input.value = input.value.trim() ? `${input.value.trim()} and ${clause}` : clause;
      input.dispatchEvent(new Event('input'));
    }),
  );
  check();
  return {
    element,
    get value() {
      return input.value;
    },
  };
}
