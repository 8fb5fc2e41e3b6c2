// The app shell: who is signed in, the navigation, and which page the path asks for.
import { api } from './api.js';
import { el } from './format.js';
import { restoreDownloads } from './manager.js';
import * as pages from './pages.js';
import * as sharing from './sharing.js';

const routes = [
  [/^\/login$/, () => pages.login()],
  [/^\/$/, (me) => pages.files(me)],
  [/^\/upload$/, (me) => pages.upload(me)],
  [/^\/files\/([A-Za-z0-9_-]+)$/, (me, id) => pages.file(me, id)],
  [/^\/bundles\/([A-Za-z0-9_-]+)$/, (me, id) => sharing.bundle(me, id)],
  [/^\/admin\/users$/, (me) => pages.users(me)],
  [/^\/admin\/tokens$/, (me) => pages.tokens(me)],
  [/^\/admin\/audit$/, (me) => pages.audit(me)],
];

function nav(me) {
  const links = [el('a', { href: '/' }, 'Files'), el('a', { href: '/upload' }, 'Upload'), el('a', { href: '/admin/tokens' }, 'Tokens')];
  if (me.role === 'admin') links.push(el('a', { href: '/admin/users' }, 'Users'), el('a', { href: '/admin/audit' }, 'Audit log'));
  const signOut = el('button', {
    class: 'secondary', onclick: async () => {
      await api('DELETE', '/v1/session').catch(() => {});
      location.assign('/login');
    },
  }, `Sign out ${me.username}`);
  document.getElementById('nav').replaceChildren(...links, signOut);
}

async function start() {
  const path = location.pathname;
  const main = document.getElementById('main');
  if (path === '/login') {
    // A sign-in link pasted into a tab already on /login changes only the fragment, which loads
    // no page: load it, so that the code is used.
    window.addEventListener('hashchange', () => {
      if (new URLSearchParams(location.hash.slice(1)).has('code')) location.reload();
    });
    main.replaceChildren(await pages.login());
    return;
  }
  let me;
  try {
    me = await api('GET', '/v1/session');
  } catch (error) {
    // No session (or it ended): every page of the app starts at the sign-in page and comes back.
    if (error.status === 401) {
      location.replace('/login?next=' + encodeURIComponent(path + location.search));
      return;
    }
    throw error;
  }
  nav(me);
  if (me.has_password === false) document.getElementById('main').before(pages.passwordBanner(me));
  restoreDownloads();
  for (const [pattern, page] of routes) {
    const match = path.match(pattern);
    if (match) {
      main.replaceChildren(await page(me, ...match.slice(1)));
      document.title = (main.querySelector('h1')?.textContent ?? 'Ferry') + ' — Ferry';
      return;
    }
  }
  main.replaceChildren(el('h1', {}, 'Not found'));
}

start().catch((error) => {
  document.getElementById('main').replaceChildren(el('p', { class: 'error', role: 'alert' }, error.message));
});
