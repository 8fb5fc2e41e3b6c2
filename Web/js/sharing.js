// Links of a file or a bundle (the same form and list on both pages), and the bundle page.
import { api } from './api.js';
import { bytes, date, el, toast } from './format.js';
import { startManagedBundle } from './manager.js';
import { errorLine, limits } from './pages.js';

/** The link form (lifetime, single use, password) and the links list of `base` (an API path). */
export async function linksSection(base, defaultTtl) {
  const ttl = el('input', { id: 'link-ttl', type: 'number', min: '1', value: String(defaultTtl) });
  const single = el('input', { id: 'link-single', type: 'checkbox' });
  const linkPassword = el('input', {
    id: 'link-password', type: 'password', minlength: '8', maxlength: '1024', autocomplete: 'new-password',
    placeholder: 'none',
  });
  const issued = el('div', { id: 'issued-link' });
  const linkList = el('tbody');
  async function refreshLinks() {
    try {
      const { links } = await api('GET', `${base}/links`);
      linkList.replaceChildren(...links.map((link) => el('tr', {},
        el('td', {}, date(link.expires_at)),
        el('td', {}, `${link.downloads_used}/${link.max_downloads ?? '∞'}`),
        el('td', {}, link.strategy),
        el('td', {}, link.password ? 'yes' : 'no'),
        el('td', { class: 'wide' }, link.issuer),
        el('td', {}, link.revoked_at ? 'revoked' : el('button', {
          class: 'secondary', onclick: async () => {
            try { await api('DELETE', `/v1/links/${encodeURIComponent(link.id)}`); refreshLinks(); } catch (e) { toast(e.message); }
          },
        }, 'Revoke')))));
    } catch (error) { linkList.replaceChildren(el('tr', {}, el('td', {}, error.message))); }
  }
  const form = el('form', {
    class: 'inline', onsubmit: async (event) => {
      event.preventDefault();
      try {
        const link = await api('POST', `${base}/links`, {
          ttl_seconds: Number(ttl.value), single_use: single.checked || undefined,
          password: linkPassword.value || undefined,
        });
        linkPassword.value = '';
        const url = el('p', { class: 'secret', id: 'link-url' }, link.url);
        issued.replaceChildren(el('p', {}, `Shown once; expires ${date(link.expires_at)}.`), url,
          el('button', { class: 'secondary', onclick: () => navigator.clipboard.writeText(link.url).then(() => toast('Link copied.')) }, 'Copy link'));
        refreshLinks();
      } catch (error) { issued.replaceChildren(errorLine(error)); }
    },
  }, el('label', { for: 'link-ttl' }, 'Lifetime (seconds)', ttl), el('label', { class: 'check', for: 'link-single' }, single, 'Single use'),
  el('label', { for: 'link-password' }, 'Password (optional)', linkPassword),
  el('button', { type: 'submit' }, 'Create link'));
  refreshLinks();
  return [el('h2', {}, 'Links'), form, issued,
    el('table', {}, el('thead', {}, el('tr', {}, ...[['Expires'], ['Downloads'], ['Kind'], ['Password'], ['Issuer', 'wide'], ['']]
      .map(([h, c]) => el('th', { scope: 'col', class: c }, h)))), linkList)];
}

/** `/bundles/{id}`: the members, the zip through the download manager, its links, delete. */
export async function bundle(me, id) {
  let info;
  try {
    info = await api('GET', `/v1/bundles/${encodeURIComponent(id)}`);
  } catch (error) {
    return el('section', {}, el('h1', {}, 'Zip bundle'), errorLine(error));
  }
  const section = el('section', {},
    el('h1', {}, info.name),
    el('p', {}, `${info.files.length} files · ${bytes(info.size)} · made ${date(info.created_at)}`),
    el('ul', { id: 'members' }, ...info.files.map((member) => el('li', {},
      el('a', { href: `/files/${encodeURIComponent(member.id)}` }, member.name), ` (version ${member.version})`))),
    el('div', { class: 'row' },
      el('button', {
        class: 'managed-download', id: 'bundle-download',
        onclick: () => startManagedBundle(info).catch((error) => toast(error.message)),
      }, 'Download zip'),
      el('button', {
        class: 'danger', onclick: async () => {
          if (!confirm(`Delete the bundle ${info.name}? Its links stop working at once; the files stay.`)) return;
          try { await api('DELETE', `/v1/bundles/${encodeURIComponent(id)}`); location.assign('/'); } catch (e) { toast(e.message); }
        },
      }, 'Delete bundle')));
  section.append(...await linksSection(`/v1/bundles/${encodeURIComponent(id)}`, (await limits()).link_ttl));
  return section;
}
