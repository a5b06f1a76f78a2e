// Entry point: the header (who is signed in, sign-out, the role's menu) and the page for the hash.

import { endSession, session, whenExpired } from './api.js';
import { h } from './dom.js';
import { renderLogin } from './login.js';
import { listen, match } from './router.js';
import * as sponsor from './sponsor.js';
import * as recruiter from './recruiter.js';
import * as site from './site.js';
import * as ethics from './ethics.js';
import './check.js';

/** Pages anyone may open without signing in (a receipt's check link). */
const PUBLIC_PREFIX = '#/check/';

/** Each role's pages; admins get the ethics board's read-only ledger pages. */
const AREAS = { SPONSOR: sponsor, RECRUITER: recruiter, SITE: site, ETHICS: ethics, ADMIN: ethics };

const main = document.querySelector('#app');
const nav = document.querySelector('#nav');
const who = document.querySelector('#who');
let expiredNotice = false;

function renderHeader(current) {
  nav.replaceChildren();
  who.replaceChildren();
  if (!current) return;
  const area = AREAS[current.user.role];
  nav.append(...(area?.menu ?? []).map(([label, target]) => h('a', { href: target }, label)));
  who.append(
    h('span', { class: 'org' }, current.user.organization.name),
    h('span', { class: 'role', id: 'role' }, current.user.role.toLowerCase()),
    h('span', { class: 'email' }, current.user.email),
    h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: signOut }, 'Sign out'),
  );
}

async function signOut() {
  await endSession();
  location.hash = '#/';
  render();
}

let rendering = 0;

/** Renders the page for the hash; a page finished after a newer render started is dropped. */
async function render() {
  const ticket = (rendering += 1);
  const current = session();
  renderHeader(current);
  main.replaceChildren();
  const publicPage = location.hash.startsWith(PUBLIC_PREFIX) ? match(location.hash) : null;
  if (publicPage) {
    await show(publicPage, ticket);
    return;
  }
  if (!current) {
    renderLogin(main, expiredNotice, () => {
      expiredNotice = false;
      render();
    });
    return;
  }
  const area = AREAS[current.user.role];
  if (!area) {
    main.append(h('p', {}, 'This role has no pages in the web app.'));
    return;
  }
  const found = match(location.hash);
  if (!found || !location.hash.startsWith(`#/${area.prefix}`)) {
    location.replace(`#/${area.prefix}`);
    return;
  }
  await show(found, ticket);
}

/** Renders the page `found` (loading state first); dropped if a newer render started. */
async function show(found, ticket) {
  const page = h('div', { class: 'page' }, h('p', { class: 'hint' }, 'Loading…'));
  main.append(page);
  const content = h('div', { class: 'page' });
  // Pages pass optional parts as null or false; like `h`, leave them out.
  const append = content.append.bind(content);
  content.append = (...parts) => append(...parts.flat(Infinity).filter((p) => p !== undefined && p !== null && p !== false));
  try {
    await found.render(content, found.params);
  } catch (err) {
    if (err.code === 'UNAUTHENTICATED') return;
    content.append(h('p', { class: 'status', 'data-kind': 'error', role: 'alert' }, err.message));
  }
  if (ticket !== rendering) return;
  page.replaceWith(content);
  main.focus({ preventScroll: true });
}

whenExpired(() => {
  expiredNotice = true;
  render();
});
listen(render);
