// The sign-in page: exchanges an email and password for a session.

import { gql, saveSession } from './api.js';
import { field, form, h, status } from './dom.js';

const LOGIN = `mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    token expiresAt user { email role organization { name kind } }
  }
}`;

/** Shows the sign-in form; `expired` adds the session-expiry notice; `done` runs once signed in. */
export function renderLogin(main, expired, done) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const message = status('login-message');
  if (expired) message.show('Your session expired, sign in again.', 'error');
  const element = form(
    { id: 'login', class: 'card narrow' },
    message,
    async () => {
      const data = await gql(LOGIN, { email: email.value, password: password.value });
      saveSession(data.login);
      done();
    },
    h('h2', {}, 'Sign in'),
    field('Email', email),
    field('Password', password),
    h('button', { type: 'submit' }, 'Sign in'),
    message,
  );
  main.append(element);
  email.focus();
}
