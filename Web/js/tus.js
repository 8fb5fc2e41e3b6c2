// The page's own tus 1.0.0 client (no npm here): uploads in chunks to /v1/uploads with the
// session cookie, remembers unfinished uploads in localStorage by the file's name, size and
// modification time, and continues one from the offset the server reports after a reload, a lost
// network or a pause, once the person picks the same file again.
import { ApiError } from './api.js';

const CHUNK = 8 * 1024 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };

function fingerprint(file, replace) {
  return `ferry.up.${replace ?? ''}|${file.name}|${file.size}|${file.lastModified}`;
}

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function call(method, url, headers = {}) {
  let response;
  try {
    response = await fetch(url, { method, credentials: 'same-origin', headers: { ...TUS, ...headers } });
  } catch (_) {
    throw new ApiError(0, 'network', 'The server could not be reached; the upload continues when it is back.');
  }
  return response;
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { /* no JSON */ }
  return new ApiError(response.status, body?.error?.code ?? null, body?.error?.message ?? `The server answered ${response.status}.`);
}

/** An earlier, unfinished upload of this file (as {url, offset, size}), or null. */
export async function interrupted(file, replace) {
  const url = localStorage.getItem(fingerprint(file, replace));
  if (!url) return null;
  const response = await call('HEAD', url).catch(() => null);
  if (!response || !response.ok) {
    if (response && response.status === 404) localStorage.removeItem(fingerprint(file, replace));
    return null;
  }
  return { url, offset: Number(response.headers.get('Upload-Offset')), size: file.size };
}

/**
 * Uploads `file`; returns {promise, pause, resume, cancel}. `onProgress(sent, total)` follows the
 * bytes the server acknowledged and those on their way. The promise resolves to the file's id.
 */
export function tusUpload(file, { type, replace, onProgress }) {
  const key = fingerprint(file, replace);
  let xhr = null;
  let paused = false;
  let cancelled = false;
  let wake = null;

  // creation-with-upload: the first chunk travels with the POST (one round trip less).
  async function start() {
    const earlier = await interrupted(file, replace);
    if (earlier) return earlier;
    const metadata = [['filename', file.name], ['filetype', type]];
    if (replace) metadata.push(['file_id', replace]);
    const created = await send('POST', '/v1/uploads', 0, {
      'Upload-Length': String(file.size),
      'Upload-Metadata': metadata.map(([k, v]) => `${k} ${base64(v)}`).join(','),
    });
    if (created.status !== 201) throw answerError(created);
    const url = created.getResponseHeader('Location');
    localStorage.setItem(key, url);
    return {
      url, offset: Number(created.getResponseHeader('Upload-Offset') ?? 0),
      fileId: created.getResponseHeader('Ferry-File-Id'),
    };
  }

  /** One request carrying the chunk at `offset` (XMLHttpRequest: fetch has no upload progress). */
  function send(method, url, offset, headers = {}) {
    return new Promise((resolve, reject) => {
      xhr = new XMLHttpRequest();
      xhr.open(method, url);
      for (const [name, value] of Object.entries({ ...TUS, ...headers })) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader('Content-Type', 'application/offset+octet-stream');
      xhr.upload.onprogress = (event) => onProgress?.(offset + event.loaded, file.size);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The network failed; continuing from where the server stands.'));
      xhr.onabort = () => reject(new ApiError(0, 'paused', 'Paused.'));
      xhr.send(file.slice(offset, Math.min(file.size, offset + CHUNK)));
    });
  }

  function answerError(request) {
    let body = null;
    try { body = JSON.parse(request.responseText); } catch (_) { /* empty */ }
    return new ApiError(request.status, body?.error?.code ?? null, body?.error?.message ?? `The server answered ${request.status}.`);
  }

  async function offsetOf(url) {
    const response = await call('HEAD', url);
    if (response.status === 404) {
      localStorage.removeItem(key);
      throw new ApiError(404, 'not_found', 'The upload is gone from the server (expired or deleted); pick the file to start again.');
    }
    if (!response.ok) throw await failure(response);
    return { offset: Number(response.headers.get('Upload-Offset')), fileId: response.headers.get('Ferry-File-Id') };
  }

  const promise = (async () => {
    let { url, offset, fileId } = await start();
    let failures = 0;
    onProgress?.(offset, file.size);
    while (!fileId && !cancelled) {
      if (paused) {
        await new Promise((resolve) => { wake = resolve; });
        ({ offset, fileId } = await offsetOf(url));
        continue;
      }
      try {
        const done = await send('PATCH', url, offset, { 'Upload-Offset': String(offset) });
        if (done.status === 204) {
          failures = 0;
          offset = Number(done.getResponseHeader('Upload-Offset'));
          fileId = done.getResponseHeader('Ferry-File-Id');
          onProgress?.(offset, file.size);
          continue;
        }
        if (![409, 423, 460, 503].includes(done.status)) throw answerError(done);
      } catch (error) {
        if (error.code === 'paused' || cancelled) continue;
        if (error.status && error.status !== 0) throw error;
      }
      failures += 1;
      if (failures > 8) throw new ApiError(0, 'network', 'The upload keeps failing; pick the file again later to continue.');
      await new Promise((resolve) => setTimeout(resolve, Math.min(10000, 250 * 2 ** failures)));
      ({ offset, fileId } = await offsetOf(url));
    }
    if (cancelled) {
      await call('DELETE', url).catch(() => {});
      localStorage.removeItem(key);
      throw new ApiError(0, 'cancelled', 'Upload cancelled; nothing was stored.');
    }
    localStorage.removeItem(key);
    return fileId;
  })();

  return {
    promise,
    pause() { paused = true; xhr?.abort(); },
    resume() { paused = false; wake?.(); wake = null; },
    cancel() { cancelled = true; paused = false; xhr?.abort(); wake?.(); },
  };
}
