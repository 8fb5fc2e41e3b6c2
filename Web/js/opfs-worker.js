// Owns synchronous access handles to files in the Origin Private File System. Writes go straight to
// the file (no swap file), so every part on disk survives a reload of the page.
const handles = new Map();

async function handle(name, size) {
  if (!handles.has(name)) {
    const root = await navigator.storage.getDirectory();
    const file = await root.getFileHandle(name, { create: true });
    // Right after a reload the previous page's worker may still hold the file for a moment.
    for (let attempt = 1; ; attempt++) {
      try {
        handles.set(name, await file.createSyncAccessHandle());
        break;
      } catch (error) {
        if (error.name !== 'NoModificationAllowedError' || attempt >= 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  const h = handles.get(name);
  if (size != null && h.getSize() !== size) h.truncate(size);
  return h;
}

onmessage = async (event) => {
  const { id, op, name, position, data, size } = event.data;
  try {
    let result = null;
    if (op === 'open') {
      result = (await handle(name, size)).getSize();
    } else if (op === 'write') {
      const h = await handle(name);
      h.write(new Uint8Array(data), { at: position });
      h.flush();
    } else if (op === 'read') {
      const h = await handle(name);
      const buffer = new Uint8Array(size);
      h.read(buffer, { at: position });
      result = buffer.buffer;
    } else if (op === 'close') {
      handles.get(name)?.close();
      handles.delete(name);
    } else if (op === 'remove') {
      handles.get(name)?.close();
      handles.delete(name);
      const root = await navigator.storage.getDirectory();
      await root.removeEntry(name).catch(() => {});
    }
    postMessage({ id, result }, result instanceof ArrayBuffer ? [result] : []);
  } catch (error) {
    postMessage({ id, error: String(error) });
  }
};
