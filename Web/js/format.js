// Formatting and small DOM helpers. Text always goes through textContent: nothing from the server
// is ever parsed as HTML.

export function bytes(n) {
  if (n == null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function duration(seconds) {
  if (!isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function date(text) {
  if (!text) return '—';
  const d = new Date(text);
  return isNaN(d) ? text : d.toLocaleString();
}

/** The download rate measured by the last downloads in this browser (bytes/s), or null. */
export function measuredRate() {
  const value = Number(localStorage.getItem('ferry.rate'));
  return value > 0 ? value : null;
}

export function rememberRate(bytesPerSecond) {
  if (!(bytesPerSecond > 0)) return;
  const old = measuredRate();
  localStorage.setItem('ferry.rate', String(old ? 0.7 * old + 0.3 * bytesPerSecond : bytesPerSecond));
}

export function expectedTime(size) {
  const rate = measuredRate();
  return rate ? duration(size / rate) : 'not measured yet';
}

/** Creates an element: el('button', {class: 'x', onclick: f}, 'text', child...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function toast(message) {
  const box = document.getElementById('toast');
  const line = el('p', {}, message);
  box.append(line);
  setTimeout(() => line.remove(), 6000);
}

/** Words for the failure causes of the audit log and of downloads. */
export const causes = {
  link_expired: 'the link had expired',
  invalid_signature: 'the link was altered or is not one of ours',
  link_revoked: 'the link was revoked',
  ip_mismatch: 'the link was used from another address than it is bound to',
  file_gone: 'the file was deleted',
  file_changed: 'the file was replaced after the link was issued',
  forbidden: 'access was removed or never given',
  link_used: 'every download of the link was already taken',
  client_aborted: 'the client stopped the transfer (network or cancel)',
  storage_error: 'the storage failed mid-transfer',
  range_not_satisfiable: 'the requested range was outside the file',
  precondition_failed: 'the file changed since the client last saw it',
  unauthenticated: 'no valid sign-in or token',
  not_found: 'no such file',
};

export function cause(code) {
  return causes[code] ?? code ?? '';
}
