// The server: GraphQL over fetch, uploads over XMLHttpRequest, authenticated downloads,
// and the session (token and who it belongs to) kept for this browser tab.

const KEY = 'veritrial.session';
let onExpired = () => {};

/**
 * An error from the server with its stable code (`UNAUTHENTICATED`, `BAD_CRITERIA`, …) and,
 * for a refused case-report record, the ids of the fields at fault.
 */
export class ApiError extends Error {
  constructor(message, code, fields = []) {
    super(message);
    this.code = code;
    this.fields = fields;
  }
}

/** The signed-in session `{ token, expiresAt, user }`, or null. */
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function saveSession(value) {
  sessionStorage.setItem(KEY, JSON.stringify(value));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

/** Signs out: the tab forgets the session and the server revokes its token (if it can be reached; the token expires anyway). */
export async function endSession() {
  const current = session();
  clearSession();
  if (!current) return;
  try {
    await fetch('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${current.token}` },
      body: JSON.stringify({ query: 'mutation { logout }' }),
    });
  } catch {
    // Offline: nothing more to do here.
  }
}

/** Called (once per expiry) when the server no longer accepts the token. */
export function whenExpired(handler) {
  onExpired = handler;
}

function expired() {
  if (session()) {
    clearSession();
    onExpired();
  }
  return new ApiError('Your session expired, sign in again.', 'UNAUTHENTICATED');
}

function bearer() {
  const current = session();
  if (current && Date.parse(current.expiresAt) <= Date.now()) throw expired();
  return current ? { Authorization: `Bearer ${current.token}` } : {};
}

/** Runs a GraphQL operation and returns its `data`, or throws an ApiError. */
export async function gql(query, variables = {}) {
  const hadSession = Boolean(session());
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer() },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  const error = body.errors?.[0];
  if (!error) return body.data;
  const code = error.extensions?.code;
  if (code === 'UNAUTHENTICATED' && hadSession) throw expired();
  throw new ApiError(error.message, code, error.extensions?.fields ?? []);
}

/** Sends `file` as the raw body of a POST, reporting progress (0..1); resolves with the JSON reply. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    let headers;
    try {
      headers = bearer();
    } catch (err) {
      reject(err);
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      if (xhr.status === 401) reject(expired());
      else if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(body.error?.message || `upload failed (HTTP ${xhr.status})`, body.error?.code));
    });
    xhr.addEventListener('error', () => reject(new ApiError('upload failed: the server could not be reached')));
    xhr.send(file);
  });
}

/** Fetches an authenticated file and returns it as a Blob. */
export async function fetchFile(path) {
  const response = await fetch(path, { headers: bearer() });
  if (response.status === 401) throw expired();
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ApiError(body.error?.message || `download failed (HTTP ${response.status})`, body.error?.code);
  }
  return response.blob();
}
