// The demo page's script: plain JavaScript and fetch, no framework, nothing from elsewhere.
// Names that come from the server (file names, headers, bodies) only ever reach the page as
// text (textContent, attributes set one by one, encodeURIComponent in URLs): a file named
// "<img onerror=...>" shows as that text.
'use strict';

const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children; strings become text nodes, never HTML. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statusClass(status) {
  if (status >= 200 && status < 300) return 'status ok';
  if (status >= 300 && status < 400) return 'status redirect';
  return 'status bad';
}

function formatSize(bytes) {
  if (typeof bytes !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "2026-11-26T06:20:41Z" -> "2026-11-26 06:20" (UTC, as the server says it). */
function formatTime(iso) {
  if (typeof iso !== 'string') return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

// --- the log of requests ----------------------------------------------------------------

const MAX_LOG = 40;

/** Adds an entry for one exchange; `body` is shown when given (JSON pretty-printed). */
function logExchange(method, target, status, statusText, ms, body) {
  const log = $('#log');
  const item = el(
    'li',
    {},
    el(
      'div',
      { class: 'line' },
      el('strong', {}, method),
      el('span', { class: 'target' }, target),
      status === 0
        ? el('span', { class: 'status bad' }, 'network error')
        : el('span', { class: statusClass(status) }, `${status} ${statusText}`),
      el('span', { class: 'when' }, `${ms} ms`),
    ),
  );
  if (body !== undefined && body !== '') item.append(el('pre', {}, body));
  log.prepend(item);
  while (log.children.length > MAX_LOG) log.lastElementChild.remove();
}

/**
 * One request through fetch, logged. Returns {status, headers, data, text}: `data` is the
 * parsed JSON body when the response is JSON.
 */
async function call(method, url, { body, headers, quiet } = {}) {
  const started = performance.now();
  let res;
  try {
    res = await fetch(url, { method, body, headers, cache: 'no-store' });
  } catch (err) {
    logExchange(method, url, 0, '', Math.round(performance.now() - started), String(err));
    return { status: 0, headers: new Headers(), data: undefined, text: '' };
  }
  const text = method === 'HEAD' ? '' : await res.text();
  const ms = Math.round(performance.now() - started);
  let data;
  let shown = text;
  if ((res.headers.get('Content-Type') || '').includes('json') && text !== '') {
    try {
      data = JSON.parse(text);
      shown = Array.isArray(data) ? `[${data.length} entr${data.length === 1 ? 'y' : 'ies'}]` : JSON.stringify(data, null, 2);
    } catch {
      shown = text;
    }
  }
  if (!quiet) logExchange(method, url, res.status, res.statusText, ms, shown.length > 2000 ? `${shown.slice(0, 2000)}…` : shown);
  return { status: res.status, headers: res.headers, data, text };
}

// --- the file browser -------------------------------------------------------------------

let cwd = []; // the current folder, as segments under /files/

function filesUrl(segments, { folder = false, query = '' } = {}) {
  const path = segments.map(encodeURIComponent).join('/');
  return `/files/${path}${folder && path !== '' ? '/' : ''}${query}`;
}

function renderCrumbs() {
  const crumbs = $('#crumbs');
  crumbs.replaceChildren();
  const parts = [['files', []], ...cwd.map((name, i) => [name, cwd.slice(0, i + 1)])];
  parts.forEach(([name, segments], i) => {
    if (i > 0) crumbs.append(el('span', { 'aria-hidden': 'true' }, '/'));
    if (i === parts.length - 1) {
      crumbs.append(el('span', { class: 'here', 'aria-current': 'location' }, name));
    } else {
      crumbs.append(el('button', { type: 'button', onclick: () => openFolder(segments) }, name));
    }
  });
}

async function deleteEntry(entry) {
  const segments = [...cwd, entry.name];
  const isDir = entry.type === 'directory';
  let r = await call('DELETE', filesUrl(segments));
  if (isDir && r.status === 409 && r.data && r.data.code === 'ENOTEMPTY') {
    if (window.confirm(`"${entry.name}" is not empty. Delete it and everything in it?`)) {
      r = await call('DELETE', filesUrl(segments, { query: '?recursive=1' }));
    }
  }
  await refresh();
}

function renderListing(entries) {
  const body = $('#listing');
  body.replaceChildren();
  const sorted = [...entries].sort((a, b) => {
    const da = a.type === 'directory' ? 0 : 1;
    const db = b.type === 'directory' ? 0 : 1;
    return da - db || a.name.localeCompare(b.name);
  });
  for (const entry of sorted) {
    const isDir = entry.type === 'directory';
    const name = isDir
      ? el('button', { type: 'button', onclick: () => openFolder([...cwd, entry.name]) }, `${entry.name}/`)
      : el('a', { href: filesUrl([...cwd, entry.name]) }, entry.name);
    body.append(
      el(
        'tr',
        {},
        el('td', { class: 'name' }, el('span', { class: 'kind', 'aria-hidden': 'true' }, isDir ? '▸' : '·'), name,
          entry.type !== 'file' && entry.type !== 'directory' ? el('span', { class: 'muted' }, ` (${entry.type})`) : null),
        el('td', { class: 'num' }, isDir ? '' : formatSize(entry.size)),
        el('td', { class: 'time' }, formatTime(entry.mtime)),
        el(
          'td',
          { class: 'actions' },
          el('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${entry.name}`, onclick: () => deleteEntry(entry) }, 'Delete'),
        ),
      ),
    );
  }
  $('#empty').hidden = entries.length !== 0;
}

async function refresh() {
  renderCrumbs();
  const r = await call('GET', filesUrl(cwd, { folder: true }));
  if (r.status === 200 && Array.isArray(r.data)) {
    renderListing(r.data);
  } else if (r.status === 404 && cwd.length > 0) {
    cwd = []; // the folder went away: back to the top
    await refresh();
  } else {
    renderListing([]);
  }
}

function openFolder(segments) {
  cwd = segments;
  refresh();
}

async function upload(event) {
  event.preventDefault();
  const input = $('#upload-input');
  for (const file of input.files) {
    await call('PUT', filesUrl([...cwd, file.name]), { body: file });
  }
  input.value = '';
  await refresh();
}

async function makeFolder(event) {
  event.preventDefault();
  const input = $('#mkdir-name');
  const segments = input.value.split('/').filter((s) => s !== '');
  if (segments.length === 0) return;
  await call('PUT', filesUrl([...cwd, ...segments], { folder: true }));
  input.value = '';
  await refresh();
}

const errorDemos = {
  // 404 ENOENT
  missing: () => call('GET', filesUrl([...cwd, 'no-such-file.txt'])),
  // 409 ENOTEMPTY: a folder with a file in it, deleted without ?recursive=1
  notempty: async () => {
    await call('PUT', filesUrl(['errors-demo'], { folder: true }));
    await call('PUT', filesUrl(['errors-demo', 'keep.txt']), { body: 'kept\n' });
    await call('DELETE', filesUrl(['errors-demo']));
  },
  // 403: this site's file API denies dotfiles
  dotfile: () => call('PUT', filesUrl([...cwd, '.env']), { body: 'SECRET=1\n' }),
  // 409 EISDIR: a file written where a folder is
  isdir: async () => {
    await call('PUT', filesUrl(['errors-demo'], { folder: true }));
    await call('PUT', filesUrl(['errors-demo']), { body: 'not a folder\n' });
  },
};

// --- how this page was served -----------------------------------------------------------

const SHOWN_HEADERS = ['Content-Type', 'Content-Length', 'ETag', 'Last-Modified', 'Cache-Control',
  'Accept-Ranges', 'Content-Range', 'Vary'];

function exchangeCard(title, note, r) {
  const dl = el('dl', {});
  for (const name of SHOWN_HEADERS) {
    const value = r.headers.get(name);
    if (value !== null) dl.append(el('dt', {}, name), el('dd', {}, value));
  }
  return el(
    'article',
    { class: 'exchange' },
    el('h3', {}, title),
    el('p', {}, el('span', { class: statusClass(r.status) }, r.status === 0 ? 'failed' : String(r.status)), ' ', note),
    dl,
  );
}

async function showServed() {
  const out = $('#served-out');
  const page = await call('GET', '/', { quiet: true });
  const cards = [exchangeCard('GET /', 'the page itself: a validator (ETag), its date, and no-cache (revalidate each time)', page)];
  const etag = page.headers.get('ETag');
  if (etag) {
    const again = await call('GET', '/', { headers: { 'If-None-Match': etag }, quiet: true });
    cards.push(exchangeCard('GET / with If-None-Match', '304 Not Modified: the browser keeps its copy, no body is sent', again));
  }
  const range = await call('GET', '/style.css', { headers: { Range: 'bytes=0-63' }, quiet: true });
  cards.push(exchangeCard('GET /style.css, Range: bytes=0-63', '206 Partial Content: resumable downloads and media seeking', range));
  const missing = await call('GET', '/no-such-page', { quiet: true });
  cards.push(exchangeCard('GET /no-such-page', 'a file that is not there: the central error body', missing));
  if (missing.text) cards[cards.length - 1].append(el('pre', {}, missing.text));
  out.replaceChildren(...cards);
}

// --- the hello plugin -------------------------------------------------------------------

async function greet(event) {
  event.preventDefault();
  const name = $('#hello-name').value.trim() || 'world';
  const r = await call('GET', `/hello/${encodeURIComponent(name)}`, { quiet: true });
  $('#hello-result').textContent = r.status === 200 ? r.text : `${r.status}: ${r.text}`;
}

// --- wiring -----------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('#upload-form').addEventListener('submit', upload);
  $('#mkdir-form').addEventListener('submit', makeFolder);
  $('#refresh').addEventListener('click', refresh);
  $('#hello-form').addEventListener('submit', greet);
  $('#served-run').addEventListener('click', showServed);
  for (const button of document.querySelectorAll('[data-demo]')) {
    button.addEventListener('click', async () => {
      await errorDemos[button.dataset.demo]();
      await refresh();
    });
  }
  refresh();
  showServed();
});
