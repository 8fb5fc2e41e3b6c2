// The in-page download manager for large files: manifest -> parallel ranged fetches into the Origin
// Private File System, every 8 MiB block checked against the server's SHA-256 with WebCrypto,
// progress / speed / ETA, pause / resume / cancel, state kept across reloads, fresh links when one
// expires, a restart when the file changes, a stop with the reason when access is removed. When
// done, the file goes to the browser's downloads straight from OPFS (no copy in memory).
import { api, errorFrom } from './api.js';
import { bytes, duration, el, rememberRate, cause } from './format.js';

const CONNECTIONS = 4;
const worker = new Worker('/assets/js/opfs-worker.js');
let sequence = 0;
const waiting = new Map();
worker.onmessage = (event) => {
  const { id, result, error } = event.data;
  const pending = waiting.get(id);
  waiting.delete(id);
  if (error) pending.reject(new Error(error));
  else pending.resolve(result);
};
function opfs(op, args, transfer = []) {
  return new Promise((resolve, reject) => {
    const id = ++sequence;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args }, transfer);
  });
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

class Stop extends Error {}
class Restart extends Error {}

const downloads = new Map();

export class Download {
  constructor(state) {
    this.state = state;
    this.controllers = new Set();
    this.generation = 0;
    this.refreshing = null;
    this.render();
  }

  get key() { return 'ferry.dl.' + this.state.fileId; }
  get opfsName() { return 'ferry-' + this.state.fileId; }
  save() { localStorage.setItem(this.key, JSON.stringify(this.state)); }

  /** A plan from a manifest: parts are whole blocks, so each part is verified as it lands. */
  static planFrom(manifest) {
    const block = manifest.block_size;
    const part = Math.max(block, Math.ceil(manifest.part_size / block) * block);
    return {
      fileId: manifest.file.id, name: manifest.file.name, size: manifest.file.size, etag: manifest.file.etag,
      url: manifest.link.url, ifRange: Download.rangeValidator(manifest), partSize: part, blockSize: block,
      blocks: manifest.block_sha256, done: [],
      status: 'running', message: '', pausedAt: null,
    };
  }

  /**
   * What ranged requests send in If-Range: the version's ETag on Ferry's own links; nothing on a
   * storage or CDN link, whose store compares If-Range with its own ETag (S3 would answer the
   * whole object every time) and whose URL names an object written once, for this version only.
   */
  static rangeValidator(manifest) { return manifest.link.strategy === 'server' ? manifest.file.etag : null; }

  get partCount() { return Math.ceil(this.state.size / this.state.partSize); }
  get doneBytes() {
    return this.state.done.reduce((sum, p) => sum + Math.min(this.state.partSize, this.state.size - p * this.state.partSize), 0);
  }

  percent() { return this.state.size ? Math.floor((this.doneBytes * 100) / this.state.size) : 100; }

  async run() {
    const s = this.state;
    // A pause then a quick resume leaves the earlier run's workers finishing their parts: only the
    // latest run may take new parts, fail the download or finish it (an earlier one finished a
    // zip at 67% once, handing the browser a partial file).
    const run = this.runs = (this.runs ?? 0) + 1;
    s.status = 'running';
    this.save();
    this.startedAt = performance.now();
    this.startBytes = this.doneBytes;
    this.render();
    try {
      await opfs('open', { name: this.opfsName, size: s.size });
      const queue = [...Array(this.partCount).keys()].filter((p) => !s.done.includes(p));
      const workers = Array.from({ length: Math.min(CONNECTIONS, queue.length) }, async () => {
        while (queue.length && this.state.status === 'running' && this.runs === run) {
          const part = queue.shift();
          await this.fetchPart(part);
        }
      });
      await Promise.all(workers);
      if (this.state.status !== 'running' || this.runs !== run) return;
      const missing = [...Array(this.partCount).keys()].filter((p) => !s.done.includes(p));
      if (missing.length) throw new TypeError(`${missing.length} parts still missing`);
      await this.finish();
    } catch (error) {
      if (this.runs !== run) return;
      this.abortAll();
      if (error instanceof Restart) return this.restart(error.message);
      if (this.state.status === 'paused' || this.state.status === 'cancelled') return;
      s.status = 'failed';
      s.message = error instanceof Stop ? error.message : `The download stopped: ${error.message}. Press Resume to continue where it stopped.`;
      this.save();
      this.render();
    }
  }

  async fetchPart(part) {
    const s = this.state;
    const start = part * s.partSize;
    const end = Math.min(s.size, start + s.partSize) - 1;
    for (let attempt = 1; ; attempt++) {
      if (s.status !== 'running') return;
      const generation = this.generation;
      const controller = new AbortController();
      this.controllers.add(controller);
      let response;
      try {
        response = await fetch(s.url, {
          headers: { Range: `bytes=${start}-${end}`, ...(s.ifRange ? { 'If-Range': s.ifRange } : {}) },
          credentials: 'same-origin', signal: controller.signal, cache: 'no-store',
        });
        if (response.status === 206) {
          const range = response.headers.get('Content-Range') || '';
          if (!range.startsWith(`bytes ${start}-`)) throw new Restart('The server answered another range than the one asked for.');
          const data = await response.arrayBuffer();
          if (data.byteLength !== end - start + 1) throw new TypeError('short read');
          if (!(await this.verify(part, data))) {
            if (attempt >= 3) throw new Stop(`Part ${part + 1} arrived corrupted ${attempt} times; the download stopped.`);
            continue;
          }
          await opfs('write', { name: this.opfsName, position: start, data }, [data]);
          if (!s.done.includes(part)) s.done.push(part);
          this.save();
          this.render();
          return;
        }
        if (response.status === 200) {
          if (s.kind === 'bundle') throw new Stop('The zip changed on the server while it downloaded; make a new one.');
          throw new Restart('The file was replaced on the server while it downloaded.');
        }
        const error = await errorFrom(response);
        // Paused (or cancelled) while this answer was on its way: the resume asks again.
        if (s.status !== 'running') return;
        if (error.status === 403 && (error.code === 'link_expired' || error.code == null)) {
          await this.refresh(generation);
          attempt = 0;
          continue;
        }
        if (s.kind === 'bundle' && (error.code === 'file_changed' || error.code === 'file_gone')) {
          throw new Stop(`${error.message} The zip download stopped; make a new one.`);
        }
        if (error.code === 'file_changed' || error.status === 412) throw new Restart('The file was replaced on the server.');
        if (error.status >= 500 || error.status === 429) throw new TypeError(`HTTP ${error.status}`);
        throw new Stop(this.reason(error));
      } catch (error) {
        if (error instanceof Stop || error instanceof Restart) throw error;
        if (s.status !== 'running') return;
        if (error.name === 'AbortError') return;
        if (attempt >= 5) throw new Stop('The network failed repeatedly. Press Resume to continue where it stopped.');
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      } finally {
        this.controllers.delete(controller);
      }
    }
  }

  reason(error) {
    if (error.code === 'forbidden' || error.code === 'link_revoked') {
      return `Access was removed: ${error.message} The download stopped.`;
    }
    if (error.code === 'file_gone' || error.status === 404) return `The file was deleted: ${error.message}`;
    return `The download stopped: ${cause(error.code) || error.message} (${error.message})`;
  }

  /** Each block of a part against the manifest's SHA-256 (a zip has none: its ranges are bound to its strong ETag). */
  async verify(part, data) {
    const s = this.state;
    if (!s.blocks) return true;
    const firstBlock = (part * s.partSize) / s.blockSize;
    for (let offset = 0, block = firstBlock; offset < data.byteLength; offset += s.blockSize, block++) {
      const slice = data.slice(offset, Math.min(data.byteLength, offset + s.blockSize));
      const digest = hex(await crypto.subtle.digest('SHA-256', slice));
      if (digest !== s.blocks[block]) return false;
    }
    return true;
  }

  /** One fresh manifest for everyone who saw the link expire; a new version restarts. */
  async refresh(generation) {
    if (generation !== this.generation || this.state.status !== 'running') return;
    // A zip is fetched with the page's session, not a link: nothing expires but the session.
    if (this.state.kind === 'bundle') throw new Stop('The session ended; sign in again and press Resume.');
    if (!this.refreshing) {
      this.refreshing = (async () => {
        let manifest;
        try {
          manifest = await api('GET', `/v1/files/${encodeURIComponent(this.state.fileId)}/manifest`);
        } catch (error) {
          throw new Stop(this.reason(error));
        }
        if (manifest.file.etag !== this.state.etag) throw new Restart('The file was replaced on the server.');
        this.state.url = manifest.link.url;
        this.state.ifRange = Download.rangeValidator(manifest);
        this.generation++;
        // The first refresh after a resume explains the pause; any other is an expiry mid-transfer.
        const wasPaused = this.afterPause === true;
        this.afterPause = false;
        this.state.message = wasPaused
          ? `The secure link expired while the download was paused; a fresh link was issued and the download resumed at ${this.percent()}%.`
          : `The secure link expired during the download; a fresh link was issued and the download continued at ${this.percent()}%.`;
        this.state.pausedAt = null;
        this.save();
        this.render();
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  async restart(reason) {
    await opfs('remove', { name: this.opfsName });
    const manifest = await api('GET', `/v1/files/${encodeURIComponent(this.state.fileId)}/manifest`);
    this.state = Download.planFrom(manifest);
    this.state.message = `${reason} The download restarted from the beginning.`;
    this.generation++;
    this.save();
    return this.run();
  }

  async finish() {
    const s = this.state;
    await opfs('close', { name: this.opfsName });
    const root = await navigator.storage.getDirectory();
    const file = await (await root.getFileHandle(this.opfsName)).getFile();
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (seconds > 0) rememberRate((this.doneBytes - this.startBytes) / seconds);
    s.status = 'done';
    const done = s.blocks ? 'Done: every block verified.' : 'Done: every part matched the zip\'s ETag.';
    s.message = s.message ? `${s.message} ${done}` : done;
    this.save();
    this.render();
    // Handed to the browser's downloads from OPFS: the File is backed by disk, not memory.
    const url = URL.createObjectURL(file);
    const a = el('a', { href: url, download: s.name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  pause() {
    if (this.state.status !== 'running') return;
    this.state.status = 'paused';
    this.state.pausedAt = Date.now();
    this.state.message = `Paused at ${this.percent()}%.`;
    this.abortAll();
    this.save();
    this.render();
  }

  resume() {
    if (this.state.status === 'running' || this.state.status === 'done') return;
    this.afterPause = this.state.status === 'paused';
    this.state.message = this.state.status === 'paused' ? `Resuming at ${this.percent()}%…` : this.state.message;
    this.run();
  }

  async cancel() {
    this.state.status = 'cancelled';
    this.abortAll();
    localStorage.removeItem(this.key);
    downloads.delete(this.state.fileId);
    await opfs('remove', { name: this.opfsName });
    document.getElementById('dl-' + this.state.fileId)?.remove();
  }

  abortAll() {
    for (const controller of this.controllers) controller.abort();
    this.controllers.clear();
  }

  render() {
    const s = this.state;
    const box = document.getElementById('downloads');
    if (!box) return;
    let card = document.getElementById('dl-' + s.fileId);
    if (!card) {
      card = el('div', { class: 'dl', id: 'dl-' + s.fileId, 'data-file': s.fileId });
      box.append(card);
    }
    const done = this.doneBytes;
    const elapsed = this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
    const rate = elapsed > 0.5 ? (done - (this.startBytes ?? 0)) / elapsed : 0;
    const eta = rate > 0 ? duration((s.size - done) / rate) : '—';
    const progress = el('progress', { max: String(s.size || 1), value: String(done), 'aria-label': `Download of ${s.name}` });
    const text = `${this.percent()}% — ${bytes(done)} of ${bytes(s.size)}` +
      (s.status === 'running' ? ` — ${bytes(rate)}/s — about ${eta} left` : '');
    const buttons = [];
    if (s.status === 'running') buttons.push(el('button', { class: 'secondary pause', onclick: () => this.pause() }, 'Pause'));
    if (s.status === 'paused' || s.status === 'failed') buttons.push(el('button', { class: 'resume', onclick: () => this.resume() }, 'Resume'));
    if (s.status !== 'done') buttons.push(el('button', { class: 'danger cancel', onclick: () => this.cancel() }, 'Cancel'));
    // replaceChildren() would print a null child as the text "null": leave absent parts out.
    card.replaceChildren(...[
      el('div', { class: 'bar' }, el('strong', {}, s.name), el('span', { class: 'status', 'data-status': s.status }, s.status)),
      progress,
      el('div', { class: 'progress-text' }, text),
      el('p', { class: 'message' + (s.status === 'failed' ? ' error' : '') }, s.message || ''),
      s.note ? el('p', { class: 'note muted' }, s.note) : null,
      el('div', { class: 'row' }, buttons),
    ].filter((part) => part != null));
  }
}

/** Starts (or resumes) the managed download of a file. */
export async function startManagedDownload(fileId) {
  const existing = downloads.get(fileId);
  if (existing) { existing.resume(); return existing; }
  const manifest = await api('GET', `/v1/files/${encodeURIComponent(fileId)}/manifest`);
  const saved = JSON.parse(localStorage.getItem('ferry.dl.' + fileId) || 'null');
  let state = Download.planFrom(manifest);
  if (saved && saved.etag === state.etag && saved.status !== 'done' && saved.partSize === state.partSize) {
    state = { ...saved, url: manifest.link.url, status: 'running' };
  } else if (saved && saved.status !== 'done') {
    await opfs('remove', { name: 'ferry-' + fileId });
    state.message = 'The file changed since the earlier download; starting over.';
  }
  const download = new Download(state);
  downloads.set(fileId, download);
  download.run();
  return download;
}

/**
 * Starts (or resumes) the managed download of a bundle's zip: parallel ranges of
 * /v1/bundles/{id}/content with the session cookie, each bound to the zip's strong ETag.
 */
export async function startManagedBundle(bundle) {
  const key = 'z' + bundle.id;
  const existing = downloads.get(key);
  if (existing) { existing.resume(); return existing; }
  const saved = JSON.parse(localStorage.getItem('ferry.dl.' + key) || 'null');
  const block = 8 * 1024 * 1024;
  let state = {
    kind: 'bundle', fileId: key, bundleId: bundle.id, name: bundle.name, size: bundle.size, etag: bundle.etag,
    url: `/v1/bundles/${encodeURIComponent(bundle.id)}/content`, ifRange: bundle.etag, partSize: block,
    blockSize: block, blocks: null, done: [], status: 'running', message: '', pausedAt: null,
  };
  if (saved && saved.etag === state.etag && saved.status !== 'done') state = { ...saved, status: 'running' };
  const download = new Download(state);
  downloads.set(key, download);
  download.run();
  return download;
}

/** After a reload: shows saved downloads and resumes those that were running. */
export function restoreDownloads() {
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key.startsWith('ferry.dl.')) continue;
    const state = JSON.parse(localStorage.getItem(key) || 'null');
    if (!state || downloads.has(state.fileId)) continue;
    if (state.status === 'done') { localStorage.removeItem(key); continue; }
    const download = new Download(state);
    downloads.set(state.fileId, download);
    if (state.status === 'running') {
      // Kept apart from the changing status message, so it stays readable.
      state.note = `Resumed after a reload at ${download.percent()}%, not from zero.`;
      download.run();
    }
  }
}
