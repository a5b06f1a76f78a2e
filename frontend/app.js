// Sign-in: exchanges an email and password for a token and shows who is signed in.
const form = document.querySelector('#login');
const message = document.querySelector('#message');

async function graphql(query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors[0].message);
  return body.data;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  message.textContent = '';
  try {
    const data = await graphql(
      'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token user { email role organization { name } } } }',
      { email: form.email.value, password: form.password.value },
    );
    const { user } = data.login;
    sessionStorage.setItem('token', data.login.token);
    document.querySelector('#who').textContent = `${user.email} · ${user.organization.name} · ${user.role}`;
    form.hidden = true;
  } catch (err) {
    message.textContent = err.message;
  }
});
