// Hash routing: `#/role/page/arg` is matched against patterns such as `site/patient/:pseudonym`.

const routes = [];

/** Registers `render(params)` for a pattern like `sponsor/trial/:id`. */
export function route(pattern, render) {
  routes.push({ parts: pattern.split('/'), render });
}

/** The registered route matching `hash`, with its parameters, or null. */
export function match(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  for (const candidate of routes) {
    if (candidate.parts.length !== parts.length) continue;
    const params = {};
    const fits = candidate.parts.every((part, i) => {
      if (part.startsWith(':')) {
        params[part.slice(1)] = parts[i];
        return parts[i] !== '';
      }
      return part === parts[i];
    });
    if (fits) return { render: candidate.render, params };
  }
  return null;
}

/** A link target for path segments, each encoded. */
export function href(...segments) {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

/** Renders the current page again (after a change it shows). */
export function reload() {
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** Calls `onChange` now and whenever the hash changes. */
export function listen(onChange) {
  window.addEventListener('hashchange', onChange);
  onChange();
}
