// paste.js: turns a pasted block into key/value pairs for the create form.
// Accepted: a JSON object of strings (numbers and booleans become text), a
// .env file (KEY=value, optional `export`, quotes, # comments) and flat YAML
// (key: value, quotes, # comments). Nothing leaves the page.

/**
 * parseBlock returns {pairs: [[key, value]...]} or {error: "..."}. The error
 * never quotes a value.
 */
export function parseBlock(text) {
  const t = text.trim();
  if (t === '') return { error: 'The block is empty.' };
  if (t.startsWith('{')) return parseJSON(t);
  const pairs = [];
  const lines = t.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line === '---') continue;
    line = line.replace(/^export\s+/, '');
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*(=|:)\s*(.*)$/.exec(line);
    if (!m) return { error: `Line ${i + 1} is not KEY=value or key: value.` };
    let value = m[3];
    const quoted = /^(['"])(.*)\1(\s+#.*)?$/.exec(value);
    if (quoted) {
      value = quoted[2];
      if (quoted[1] === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    pairs.push([m[1], value]);
  }
  if (pairs.length === 0) return { error: 'The block has no KEY=value lines.' };
  return { pairs };
}

function parseJSON(t) {
  let obj;
  try {
    obj = JSON.parse(t);
  } catch {
    return { error: 'The block starts with { but is not valid JSON.' };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { error: 'The JSON must be an object of keys and values.' };
  const pairs = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object') return { error: `The value of ${k} is not text; nested objects are not secrets.` };
    pairs.push([k, v === null ? '' : String(v)]);
  }
  return { pairs };
}
