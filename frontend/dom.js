// DOM helpers: build elements, labelled fields, status messages and file downloads.

let nextId = 0;

/** Creates an element: `h('button', { type: 'submit', onclick }, 'Save')`. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'style') el.style.cssText = value; // CSSOM: allowed by the CSP
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}

/** A label and its control, tied by id; `hint` is read out with the control. */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${(nextId += 1)}`;
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintEl = h('small', { id: `${control.id}-hint`, class: 'hint' }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(hintEl);
  }
  return h('div', { class: 'field' }, ...parts);
}

/** A status line that announces itself; `show(text, kind)` with kind `ok`, `error` or `info`. */
export function status(id) {
  const el = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id });
  el.show = (text, kind = 'info') => {
    el.textContent = text;
    el.dataset.kind = kind;
  };
  return el;
}

/** Runs `action`; reports its error on `statusEl` instead of throwing. */
export async function attempt(statusEl, action) {
  try {
    return await action();
  } catch (err) {
    statusEl.show(err.message, 'error');
    return undefined;
  }
}

/**
 * A button that asks before it acts, for acts on many people or that withdraw consent: the
 * first click puts `question` with "Yes" (id `<id>-yes`) and "Cancel" in its place; only
 * "Yes" runs `action`. Returns the button and the question, to place side by side.
 */
export function confirmingButton(props, label, question, action) {
  const box = h('div', { class: 'confirm', role: 'alertdialog', id: `${props.id}-confirm`, hidden: true });
  const button = h(
    'button',
    {
      type: 'button',
      ...props,
      onclick: () => {
        button.hidden = true;
        box.hidden = false;
      },
    },
    label,
  );
  const close = () => {
    box.hidden = true;
    button.hidden = false;
  };
  box.append(
    h('p', {}, question),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', id: `${props.id}-yes`, onclick: () => { close(); action(); } }, `Yes: ${label}`),
      h('button', { type: 'button', class: 'secondary', id: `${props.id}-cancel`, onclick: close }, 'Cancel'),
    ),
  );
  return [button, box];
}

/** Offers `blob` as a download named `fileName`. */
export function saveBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: fileName, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A short form of a long hash, with the whole of it in a tooltip. */
export function shortHash(hash) {
  return h('code', { title: hash, class: 'hash' }, `${hash.slice(0, 12)}…`);
}

/** A table from a header row and rows of cells (strings or nodes). */
export function table(caption, headers, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell))))),
    ),
  );
}

/** Splits a text area's lines or a comma list into trimmed, non-empty items. */
export function items(text) {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A local date-time for people. */
export function when(iso) {
  return new Date(iso).toLocaleString();
}

/**
 * A form whose submit runs `action` instead of navigating, reporting errors on `statusEl`.
 * While it runs the form is busy (`aria-busy`, submit buttons disabled, "Working…" shown), so a
 * double click cannot send it twice.
 */
export function form(props, statusEl, action, ...children) {
  const onsubmit = async (event) => {
    event.preventDefault();
    const el = event.currentTarget;
    if (el.getAttribute('aria-busy') === 'true') return;
    const buttons = [...el.querySelectorAll('button[type=submit]')];
    el.setAttribute('aria-busy', 'true');
    buttons.forEach((b) => {
      b.disabled = true;
    });
    statusEl.show('Working…');
    try {
      await attempt(statusEl, async () => {
        await action();
        if (statusEl.textContent === 'Working…') statusEl.show('');
      });
    } finally {
      el.removeAttribute('aria-busy');
      buttons.forEach((b) => {
        b.disabled = false;
      });
    }
  };
  return h('form', { ...props, onsubmit }, ...children);
}
