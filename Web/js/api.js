// Talks to Ferry's HTTP API (API.md) with the session cookie. Same-origin requests carry an Origin
// header, which the server checks on cookie-authenticated writes.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Reads an API error body ({"error": {"code", "message"}}) into an ApiError. */
export async function errorFrom(response) {
  let code = null;
  let message = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    code = body.error?.code ?? null;
    message = body.error?.message ?? message;
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, code, message);
}

/** Calls the API; resolves to parsed JSON (or null for 204); rejects with ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (response.status === 401 && path !== '/v1/session') {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, 'unauthenticated', 'Please sign in.');
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}
