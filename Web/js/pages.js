// The pages. Everything shown comes from the API and is inserted as text.
import { api } from './api.js';
import { interrupted, tusUpload } from './tus.js';
import { bytes, date, el, expectedTime, toast, cause } from './format.js';
import { startManagedBundle, startManagedDownload } from './manager.js';
import { linksSection } from './sharing.js';

let limitsCache = null;
export async function limits() {
  limitsCache ??= await api('GET', '/v1/limits');
  return limitsCache;
}

export function errorLine(error) {
  return el('p', { class: 'error', role: 'alert' }, error.message);
}

/** Sign-in, then back to `next` (a local path only). */
export async function login() {
  const next = new URLSearchParams(location.search).get('next');
  const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  const status = el('p', { id: 'login-status', role: 'alert' });
  // The first start prints /login#code=...: the fragment never reaches a server or its logs.
  const code = new URLSearchParams(location.hash.slice(1)).get('code');
  if (code) {
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await api('POST', '/v1/session', { code });
      location.replace(target);
      return el('p', {}, 'Signing in…');
    } catch (error) {
      status.className = 'error';
      status.textContent = error.message;
    }
  }
  const username = el('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = el('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      status.textContent = '';
      status.className = '';
      try {
        await api('POST', '/v1/session', { username: username.value, password: password.value });
        location.assign(target);
      } catch (error) {
        status.className = 'error';
        status.textContent = error.status === 401
          ? 'Wrong username or password.'
          : error.status === 429 ? `Too many attempts: ${error.message}` : error.message;
        password.select();
      }
    },
  },
  el('label', { for: 'username' }, 'Username', username),
  el('label', { for: 'password' }, 'Password', password),
  el('button', { type: 'submit', id: 'sign-in' }, 'Sign in'));
  return el('div', { class: 'card' }, el('h1', {}, 'Sign in to Ferry'), form, status);
}

/** Shown while the account has no password (signed in with the first start's one-time link). */
export function passwordBanner(me) {
  const status = el('p', { id: 'password-status', role: 'alert' });
  const password = el('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', minlength: '8', required: true });
  const again = el('input', { id: 'new-password-again', type: 'password', autocomplete: 'new-password', minlength: '8', required: true });
  const banner = el('section', { class: 'card notice', id: 'set-password' });
  const form = el('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      status.className = 'error';
      if (password.value !== again.value) {
        status.textContent = 'The two passwords differ.';
        return;
      }
      try {
        await api('PATCH', `/v1/users/${encodeURIComponent(me.username)}`, { password: password.value });
        banner.replaceChildren(el('p', { role: 'status' }, `Password set. Sign in as ${me.username} with it from now on.`));
      } catch (error) {
        status.textContent = error.message;
      }
    },
  },
  el('label', { for: 'new-password' }, 'New password (8 characters or more)', password),
  el('label', { for: 'new-password-again' }, 'Again', again),
  el('button', { type: 'submit', id: 'set-password-button' }, 'Set password'));
  banner.append(el('h2', {}, `Choose a password for ${me.username}`),
    el('p', { class: 'muted' }, 'You signed in with a one-time link. Without a password you can only sign in again with an API token.'),
    form, status);
  return banner;
}

/** The download control for a file: the browser's own manager below the threshold, ours above. */
async function downloadControl(file) {
  const { proxy_max_bytes: threshold } = await limits();
  if (file.size < threshold) {
    return el('a', { href: `/d/${encodeURIComponent(file.id)}`, download: file.name, class: 'download-link', 'data-file': file.id }, 'Download');
  }
  return el('button', {
    class: 'managed-download', 'data-file': file.id,
    onclick: () => startManagedDownload(file.id).catch((error) => toast(error.message)),
  }, 'Download');
}

export async function files() {
  const table = el('tbody');
  const more = el('button', { class: 'secondary', hidden: true }, 'More files');
  let cursor = null;
  async function page() {
    const result = await api('GET', '/v1/files?limit=50' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''));
    for (const file of result.files) {
      table.append(el('tr', { 'data-file': file.id },
        el('td', {}, el('input', {
          type: 'checkbox', class: 'pick', value: file.id, 'aria-label': `Select ${file.name}`,
          onchange: () => { picked.textContent = selection().length ? `${selection().length} selected` : ''; },
        })),
        el('td', { class: 'break' }, el('a', { href: `/files/${encodeURIComponent(file.id)}` }, file.name)),
        el('td', { class: 'num' }, bytes(file.size)),
        el('td', { class: 'wide break' }, file.content_type),
        el('td', { class: 'wide' }, date(file.updated_at)),
        el('td', { class: 'wide' }, file.owner),
        el('td', { class: 'wide' }, expectedTime(file.size)),
        el('td', {}, await downloadControl(file))));
    }
    cursor = result.next_cursor;
    more.hidden = !cursor;
  }
  const picked = el('span', { class: 'muted', id: 'picked', role: 'status' });
  const selection = () => [...table.querySelectorAll('input.pick:checked')].map((box) => box.value);
  async function makeBundle() {
    const ids = selection();
    if (!ids.length) { toast('Select files first.'); return null; }
    const stamp = new Date().toISOString().slice(0, 10);
    return api('POST', '/v1/bundles', { file_ids: ids, name: `ferry-${stamp}.zip` });
  }
  const zipActions = el('div', { class: 'row', id: 'zip-actions' },
    el('button', {
      class: 'secondary', id: 'download-zip',
      onclick: async () => {
        try { const bundle = await makeBundle(); if (bundle) await startManagedBundle(bundle); } catch (e) { toast(e.message); }
      },
    }, 'Download as zip'),
    el('button', {
      class: 'secondary', id: 'share-zip',
      onclick: async () => {
        try { const bundle = await makeBundle(); if (bundle) location.assign(`/bundles/${encodeURIComponent(bundle.id)}`); } catch (e) { toast(e.message); }
      },
    }, 'Share as zip link'),
    picked);
  more.addEventListener('click', () => page().catch((e) => toast(e.message)));
  await page();
  return el('section', {},
    el('h1', {}, 'Files'),
    zipActions,
    el('table', {},
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Select')),
        el('th', { scope: 'col' }, 'Name'), el('th', { scope: 'col' }, 'Size'),
        el('th', { scope: 'col', class: 'wide' }, 'Type'), el('th', { scope: 'col', class: 'wide' }, 'Modified'),
        el('th', { scope: 'col', class: 'wide' }, 'Owner'), el('th', { scope: 'col', class: 'wide' }, 'Expected time'),
        el('th', { scope: 'col' }, el('span', { class: 'muted' }, 'Download')))),
      table),
    more);
}

/** A file picker with drag-and-drop, the limits explained first, progress and cancel. */
function uploader({ label, replace, onDone }) {
  const id = `file-${replace ? 'replace' : 'new'}`;
  const input = el('input', { type: 'file', id, class: 'file-input' });
  const zone = el('div', { class: 'drop' }, el('label', { for: id }, label, input), el('p', { class: 'muted' }, 'or drop a file here'));
  const bar = el('progress', { max: '1', value: '0', hidden: true, 'aria-label': 'Upload progress' });
  const text = el('p', { class: 'upload-status', role: 'status' });
  const pause = el('button', { class: 'secondary pause-upload', hidden: true }, 'Pause');
  const cancel = el('button', { class: 'danger', hidden: true }, 'Cancel upload');
  const rules = el('p', { class: 'muted limits' });
  limits().then((l) => {
    rules.textContent = `Up to ${bytes(l.max_upload_bytes)}` +
      (l.allowed_types ? `; types allowed: ${l.allowed_types.join(', ')}` : '; any type') + '.' +
      ' An interrupted upload continues when you pick the same file again.';
  });
  function allowed(type, list) {
    return !list || list.some((pattern) => pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type);
  }
  async function send(file) {
    const l = await limits();
    if (file.size > l.max_upload_bytes) {
      text.className = 'upload-status error';
      text.textContent = `${file.name} is ${bytes(file.size)}; the limit is ${bytes(l.max_upload_bytes)}. Nothing was sent.`;
      return;
    }
    const type = file.type || 'application/octet-stream';
    if (!allowed(type, l.allowed_types)) {
      text.className = 'upload-status error';
      text.textContent = `${file.name} is ${type}, which this server does not accept (${l.allowed_types.join(', ')}). Nothing was sent.`;
      return;
    }
    const earlier = await interrupted(file, replace);
    const note = earlier ? `Continuing the interrupted upload from ${Math.floor((earlier.offset * 100) / Math.max(1, file.size))}% — ` : '';
    const started = performance.now();
    const first = earlier?.offset ?? 0;
    const transfer = tusUpload(file, {
      type, replace, onProgress: (sent, total) => {
        bar.max = String(Math.max(1, total));
        bar.value = String(sent);
        const rate = (sent - first) / Math.max(0.001, (performance.now() - started) / 1000);
        text.className = 'upload-status';
        text.textContent = `${note}${Math.floor((sent * 100) / Math.max(1, total))}% — ${bytes(sent)} of ${bytes(total)} — ${bytes(rate)}/s`;
      },
    });
    bar.hidden = false;
    pause.hidden = false;
    cancel.hidden = false;
    pause.textContent = 'Pause';
    pause.onclick = () => {
      if (pause.textContent === 'Pause') { transfer.pause(); pause.textContent = 'Resume'; } else { transfer.resume(); pause.textContent = 'Pause'; }
    };
    cancel.onclick = () => transfer.cancel();
    try {
      const fileId = await transfer.promise;
      const result = await api('GET', `/v1/files/${encodeURIComponent(fileId)}`);
      text.className = 'upload-status ok';
      text.textContent = `Uploaded ${file.name} (${bytes(file.size)}); SHA-256 ${result.sha256.slice(0, 12)}…`;
      onDone?.(result);
    } catch (error) {
      text.className = 'upload-status error';
      text.textContent = error.code === 'too_large' || error.code === 'type_not_allowed'
        ? `${error.message} Nothing was stored.` : error.message;
    } finally {
      pause.hidden = true;
      cancel.hidden = true;
    }
  }
  input.addEventListener('change', () => input.files[0] && send(input.files[0]));
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) send(file);
  });
  return el('div', {}, rules, zone, bar, text, pause, cancel);
}

export async function upload() {
  return el('section', {}, el('h1', {}, 'Upload a file'),
    uploader({ label: 'Choose a file', onDone: (file) => location.assign(`/files/${file.id}`) }));
}

export async function file(me, id) {
  let info;
  try {
    info = await api('GET', `/v1/files/${encodeURIComponent(id)}`);
  } catch (error) {
    return el('section', {}, el('h1', {}, 'File'), errorLine(error));
  }
  const manage = me.role === 'admin' || info.owner === me.username;
  const section = el('section', {},
    el('h1', {}, info.name),
    el('p', {}, `${bytes(info.size)} · ${info.content_type} · version ${info.version} · owner ${info.owner} · modified ${date(info.updated_at)}`),
    el('p', { class: 'muted' }, `SHA-256 ${info.sha256} · expected download time ${expectedTime(info.size)}`),
    await downloadControl(info));

  // Links: issue (shown once, with a copy button) and list.
  section.append(...await linksSection(`/v1/files/${encodeURIComponent(id)}`, (await limits()).link_ttl));

  if (manage) {
    const grantList = el('ul', { id: 'grants' });
    async function refreshGrants() {
      const { grants } = await api('GET', `/v1/files/${encodeURIComponent(id)}/grants`);
      grantList.replaceChildren(...grants.map((grant) => el('li', {}, `${grant.username} `,
        el('button', {
          class: 'secondary', 'aria-label': `Stop sharing with ${grant.username}`,
          onclick: async () => {
            try { await api('DELETE', `/v1/files/${encodeURIComponent(id)}/grants/${encodeURIComponent(grant.username)}`); refreshGrants(); } catch (e) { toast(e.message); }
          },
        }, 'Revoke'))));
    }
    const who = el('input', { id: 'grant-user', required: true });
    section.append(el('h2', {}, 'Shared with'), grantList,
      el('form', {
        class: 'inline', onsubmit: async (event) => {
          event.preventDefault();
          try { await api('POST', `/v1/files/${encodeURIComponent(id)}/grants`, { username: who.value }); who.value = ''; refreshGrants(); } catch (e) { toast(e.message); }
        },
      }, el('label', { for: 'grant-user' }, 'Username', who), el('button', { type: 'submit' }, 'Share')),
      el('h2', {}, 'Replace content'),
      uploader({ label: 'Choose the new content', replace: id, onDone: () => location.reload() }),
      el('h2', {}, 'Delete'),
      el('button', {
        class: 'danger', id: 'delete-file', onclick: async () => {
          if (!confirm(`Delete ${info.name}? Its links stop working at once.`)) return;
          try { await api('DELETE', `/v1/files/${encodeURIComponent(id)}`); location.assign('/'); } catch (e) { toast(e.message); }
        },
      }, 'Delete this file'));
    refreshGrants().catch((e) => grantList.replaceChildren(el('li', {}, e.message)));
  }
  return section;
}

export async function users() {
  const body = el('tbody');
  async function refresh() {
    const { users } = await api('GET', '/v1/users');
    body.replaceChildren(...users.map((user) => el('tr', {},
      el('td', { class: 'break' }, user.username), el('td', {}, user.role), el('td', {}, user.disabled ? 'disabled' : 'active'),
      el('td', {}, el('button', {
        class: 'secondary', onclick: async () => {
          try { await api('PATCH', `/v1/users/${encodeURIComponent(user.username)}`, { disabled: !user.disabled }); refresh(); } catch (e) { toast(e.message); }
        },
      }, user.disabled ? 'Enable' : 'Disable')))));
  }
  const name = el('input', { id: 'new-user', required: true });
  const password = el('input', { id: 'new-password', type: 'password', autocomplete: 'new-password' });
  const role = el('select', { id: 'new-role' }, el('option', { value: 'member' }, 'member'), el('option', { value: 'admin' }, 'admin'));
  await refresh();
  return el('section', {}, el('h1', {}, 'Users'),
    el('table', {}, el('thead', {}, el('tr', {}, ...['User', 'Role', 'State', ''].map((h) => el('th', { scope: 'col' }, h)))), body),
    el('h2', {}, 'Add a user'),
    el('form', {
      class: 'inline', onsubmit: async (event) => {
        event.preventDefault();
        try {
          await api('POST', '/v1/users', { username: name.value, password: password.value || undefined, role: role.value });
          name.value = ''; password.value = ''; refresh();
        } catch (e) { toast(e.message); }
      },
    }, el('label', { for: 'new-user' }, 'Username', name), el('label', { for: 'new-password' }, 'Password', password),
    el('label', { for: 'new-role' }, 'Role', role), el('button', { type: 'submit' }, 'Add')));
}

export async function tokens() {
  const body = el('tbody');
  const shown = el('div');
  async function refresh() {
    const { tokens } = await api('GET', '/v1/tokens');
    body.replaceChildren(...tokens.map((token) => el('tr', {},
      el('td', { class: 'break' }, token.name ?? '—'), el('td', {}, date(token.created_at)),
      el('td', {}, el('button', {
        class: 'secondary', onclick: async () => {
          try { await api('DELETE', `/v1/tokens/${encodeURIComponent(token.id)}`); refresh(); } catch (e) { toast(e.message); }
        },
      }, 'Revoke')))));
  }
  const name = el('input', { id: 'token-name' });
  await refresh();
  return el('section', {}, el('h1', {}, 'API tokens'),
    el('table', {}, el('thead', {}, el('tr', {}, ...['Name', 'Created', ''].map((h) => el('th', { scope: 'col' }, h)))), body),
    el('form', {
      class: 'inline', onsubmit: async (event) => {
        event.preventDefault();
        try {
          const token = await api('POST', '/v1/tokens', { name: name.value || undefined });
          shown.replaceChildren(el('p', {}, 'Your new token, shown only now:'), el('p', { class: 'secret' }, token.token));
          refresh();
        } catch (e) { toast(e.message); }
      },
    }, el('label', { for: 'token-name' }, 'Name', name), el('button', { type: 'submit' }, 'Create token')), shown);
}

export async function audit() {
  const body = el('tbody');
  const event = el('input', { id: 'audit-event', placeholder: 'download.failed' });
  const actor = el('input', { id: 'audit-actor' });
  const fileId = el('input', { id: 'audit-file' });
  async function refresh() {
    const query = new URLSearchParams({ limit: '200' });
    if (event.value) query.set('event', event.value);
    if (actor.value) query.set('actor', actor.value);
    if (fileId.value) query.set('file_id', fileId.value);
    try {
      const { events } = await api('GET', '/v1/audit?' + query);
      body.replaceChildren(...events.map((e) => el('tr', {},
        el('td', {}, date(e.at)), el('td', {}, e.event), el('td', {}, e.actor ?? '—'),
        el('td', { class: 'wide break' }, e.file_id ?? '—'), el('td', { class: 'wide' }, e.client_ip ?? '—'),
        el('td', { class: 'break' }, e.detail?.code ? `Refused: ${cause(e.detail.code)}` : Object.entries(e.detail ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')))));
    } catch (e) { body.replaceChildren(el('tr', {}, el('td', {}, e.message))); }
  }
  await refresh();
  return el('section', {}, el('h1', {}, 'Audit log'),
    el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); refresh(); } },
      el('label', { for: 'audit-event' }, 'Event', event), el('label', { for: 'audit-actor' }, 'Actor', actor),
      el('label', { for: 'audit-file' }, 'File id', fileId), el('button', { type: 'submit' }, 'Filter')),
    el('table', {}, el('thead', {}, el('tr', {}, ...[['When'], ['Event'], ['Actor'], ['File', 'wide'], ['Address', 'wide'], ['Detail']]
      .map(([h, c]) => el('th', { scope: 'col', class: c }, h)))), body));
}
