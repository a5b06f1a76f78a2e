// Case-report forms as the protocol defines them: inputs generated from the field
// definitions, checked as the user types by the same rules the server applies, with the
// server's own refusal shown on the fields it names.

import { h } from './dom.js';

/** The GraphQL selection of a form definition. */
export const FORM_FIELDS = 'id title fields { id label type unit required min max choices }';

/** The forms of the newest approved protocol version (the one in force), or none. */
export function formsInForce(versions) {
  const approved = versions.filter((v) => v.reviewStatus === 'APPROVED');
  return approved.length ? approved.at(-1).forms : [];
}

/** Every form any protocol version defines, each as its newest version has it (as exports do). */
export function allForms(versions) {
  const merged = new Map();
  for (const v of versions) for (const f of v.forms ?? []) merged.set(f.id, f);
  return [...merged.values()];
}

/** A value for people: yes/no for booleans, the unit after numbers, — for none. */
export function shown(field, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (field?.type === 'YES_NO') return value ? 'yes' : 'no';
  const unit = field?.unit ? ` ${field.unit}` : '';
  return typeof value === 'object' ? JSON.stringify(value) : `${value}${unit}`;
}

/** What is wrong with `value` for `field` (null when nothing), as the server would say it. */
export function problem(field, value) {
  if (value === null || value === undefined || value === '') return field.required ? 'is required' : null;
  const unit = field.unit ? ` ${field.unit}` : '';
  const range = (n) => {
    if (field.min !== null && field.min !== undefined && n < field.min) return `${n} is below the minimum, ${field.min}${unit}`;
    if (field.max !== null && field.max !== undefined && n > field.max) return `${n} is above the maximum, ${field.max}${unit}`;
    return null;
  };
  switch (field.type) {
    case 'NUMBER':
      return typeof value === 'number' && Number.isFinite(value) ? range(value) : 'must be a number';
    case 'INTEGER':
      return Number.isInteger(value) ? range(value) : 'must be a whole number';
    case 'DATE':
      return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ? null : 'must be a date written YYYY-MM-DD';
    case 'CHOICE':
      return field.choices.includes(value) ? null : `must be one of: ${field.choices.join(', ')}`;
    case 'YES_NO':
      return typeof value === 'boolean' ? null : 'must be yes or no';
    default:
      return value.length > 2000 ? 'is longer than 2000 characters' : null;
  }
}

function control(field, value, id) {
  const common = { id, name: field.id, required: field.required, 'aria-describedby': `${id}-error` };
  switch (field.type) {
    case 'NUMBER':
    case 'INTEGER':
      return h('input', {
        ...common,
        type: 'number',
        inputmode: field.type === 'INTEGER' ? 'numeric' : 'decimal',
        step: field.type === 'INTEGER' ? '1' : 'any',
        min: field.min ?? undefined,
        max: field.max ?? undefined,
        value: value ?? '',
      });
    case 'DATE':
      return h('input', { ...common, type: 'date', value: value ?? '' });
    case 'CHOICE':
    case 'YES_NO': {
      const options = field.type === 'YES_NO' ? [['true', 'Yes'], ['false', 'No']] : field.choices.map((c) => [c, c]);
      const current = value === null || value === undefined ? '' : String(value);
      return h(
        'select',
        common,
        h('option', { value: '' }, '—'),
        options.map(([v, label]) => h('option', { value: v, selected: v === current }, label)),
      );
    }
    default: {
      const area = h('textarea', { ...common, rows: 2, maxlength: 2000 });
      area.value = value ?? '';
      return area;
    }
  }
}

function read(field, el) {
  const raw = el.value.trim();
  if (raw === '') return null;
  if (field.type === 'NUMBER' || field.type === 'INTEGER') return Number(raw);
  if (field.type === 'YES_NO') return raw === 'true';
  return raw;
}

/**
 * The inputs of `definition`, filled from `values`: `{ element, values(), check(), showServer(err) }`.
 * `check()` marks every field at fault and says whether all are valid; `showServer(err)` marks
 * the fields a server refusal names.
 */
export function crfInputs(definition, values = {}, prefix = 'crf') {
  const rows = definition.fields.map((field) => {
    const id = `${prefix}-${field.id}`;
    const el = control(field, values[field.id], id);
    const error = h('small', { class: 'field-error', id: `${id}-error`, role: 'alert' });
    const mark = (text) => {
      error.textContent = text ? `${field.label} ${text}` : '';
      el.setAttribute('aria-invalid', text ? 'true' : 'false');
    };
    el.addEventListener('input', () => mark(problem(field, read(field, el))));
    el.addEventListener('change', () => mark(problem(field, read(field, el))));
    const range = [field.min, field.max].some((v) => v !== null && v !== undefined)
      ? ` (${field.min ?? '…'} to ${field.max ?? '…'}${field.unit ? ` ${field.unit}` : ''})`
      : field.unit
        ? ` (${field.unit})`
        : '';
    const label = h('label', { for: id }, field.label, range, field.required ? h('span', { class: 'required', title: 'required' }, ' *') : '');
    return { field, el, mark, element: h('div', { class: 'field' }, label, el, error) };
  });
  const current = () => Object.fromEntries(rows.map((r) => [r.field.id, read(r.field, r.el)]).filter(([, v]) => v !== null));
  return {
    element: h('div', { class: 'crf' }, h('p', { class: 'hint' }, 'Fields marked * are required.'), rows.map((r) => r.element)),
    values: current,
    check() {
      let ok = true;
      for (const r of rows) {
        const text = problem(r.field, read(r.field, r.el));
        r.mark(text);
        if (text) ok = false;
      }
      return ok;
    },
    showServer(err) {
      for (const r of rows) if (err.fields?.includes(r.field.id)) r.mark('is refused by the server (see below)');
    },
  };
}

/** A record's values as "Label: value" lines, in the form's order. */
export function valuesList(definition, data) {
  const fields = definition?.fields ?? Object.keys(data ?? {}).map((id) => ({ id, label: id }));
  return h(
    'ul',
    { class: 'values' },
    fields.filter((f) => data?.[f.id] !== undefined).map((f) => h('li', {}, h('strong', {}, `${f.label}: `), shown(f, data[f.id]))),
  );
}

/** What a correction changed, field by field: "Label: before → after". */
export function changesList(definition, changes) {
  if (!changes.length) return '—';
  const fieldOf = (id) => definition?.fields.find((f) => f.id === id);
  return h(
    'ul',
    { class: 'changes' },
    changes.map((c) => h('li', {}, h('strong', {}, `${c.label}: `), `${shown(fieldOf(c.field), c.before)} → ${shown(fieldOf(c.field), c.after)}`)),
  );
}
