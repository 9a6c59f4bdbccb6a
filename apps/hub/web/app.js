// The hub's page: tables from the JSON API (/api/docks, /api/services,
// /api/ps), refreshed every few seconds and at every spawn/exit, and a log
// view fed by the event stream /api/logs/<id>. Plain DOM, no framework;
// text goes in through textContent only (log bytes are never markup).
'use strict';

const MAX_LINES = 2000;      // log lines kept in the page (oldest go first)
const REFRESH_MS = 3000;     // table refresh period
const $ = (sel) => document.querySelector(sel);

const state = {
  services: [], ps: [], docks: [],
  follow: true,
  held: [],                  // lines that came while paused (bounded too)
  source: null,              // the EventSource of the log view
  refreshSoon: null,
};

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

function when(ms) {
  if (!ms) return '';
  const d = new Date(typeof ms === 'number' ? ms : Date.parse(ms));
  return isNaN(d) ? String(ms) : d.toLocaleString();
}

async function api(method, path) {
  const res = await fetch(path, { method, credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (res.status === 401) { location.href = '/ui/login'; throw new Error('not logged in'); }
  const body = await res.json().catch(() => ({ error: 'not JSON (status ' + res.status + ')' }));
  if (!res.ok) throw new Error(body.error || ('status ' + res.status));
  return body;
}

function showError(message) {
  const p = $('#error');
  p.textContent = message || '';
  p.hidden = !message;
}

// ---------------------------------------------------------------- tables

// Every process entry of service `id`, with the dock it runs on.
function processesOf(id) {
  const out = [];
  for (const dock of state.ps) {
    for (const p of dock.list || []) if (p && p.id === id) out.push(Object.assign({ dock: dock.id }, p));
  }
  return out;
}

function renderDocks() {
  const body = $('#docks tbody');
  body.replaceChildren(...state.docks.map((d) => el('tr', { 'data-dock': d.id },
    el('td', { class: 'mono' }, d.id + (d.default ? ' (default)' : '')),
    el('td', {}, ...(d.tags || []).map((t) => el('span', { class: 'tag' }, t))),
    el('td', { class: 'mono' }, d.address),
    el('td', {}, d.hostname),
    el('td', {}, d.version),
    el('td', {}, when(d.since)))));
  $('#dock-count').textContent = '(' + state.docks.length + ')';
}

function statusCell(svc, procs) {
  if (!procs.length) {
    const s = svc.stopped ? 'stopped' : 'not running';
    return el('td', { class: 'status status-' + s.replace(' ', '-') }, s);
  }
  return el('td', {}, ...procs.map((p) => el('div', { class: 'status status-' + (p.status || 'unknown') },
    (p.status || 'unknown') + (procs.length > 1 || state.docks.length > 1 ? ' @' + p.dock : ''))));
}

function actionButtons(id) {
  return ['start', 'stop', 'restart'].map((action) => {
    const b = el('button', { type: 'button', 'data-action': action, 'data-id': id }, action);
    b.addEventListener('click', () => command(b, id, action));
    return b;
  });
}

function renderServices() {
  const body = $('#services tbody');
  body.replaceChildren(...state.services.map((svc) => {
    const procs = processesOf(svc.id);
    const pick = (k) => procs.map((p) => p[k]).filter((v) => v !== undefined && v !== null).join(', ');
    return el('tr', { 'data-service': svc.id },
      el('td', { class: 'mono' }, svc.id),
      el('td', { class: 'mono' }, svc.start || ''),
      el('td', {}, (svc.docks || []).join(', ') || procs.map((p) => p.dock).join(', ')),
      statusCell(svc, procs),
      el('td', { class: 'mono' }, pick('pid')),
      el('td', {}, pick('restarts')),
      el('td', { class: 'mono' }, svc.revision || pick('revision')),
      el('td', {}, when(svc.deployed || pick('deployed'))),
      el('td', { class: 'actions' }, ...actionButtons(svc.id)));
  }));
  $('#service-count').textContent = '(' + state.services.length + ')';
  const select = $('#log-service');
  const have = new Set([...select.options].map((o) => o.value));
  for (const svc of state.services) if (!have.has(svc.id)) select.append(el('option', { value: svc.id }, svc.id));
}

async function refresh() {
  try {
    const [docks, services, ps] = await Promise.all([api('GET', '/api/docks'), api('GET', '/api/services'), api('GET', '/api/ps')]);
    Object.assign(state, { docks, services, ps });
    renderDocks();
    renderServices();
    showError('');
    $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    showError('Could not read the hub: ' + e.message);
  }
}

function refreshSoon() {
  clearTimeout(state.refreshSoon);
  state.refreshSoon = setTimeout(refresh, 200);
}

async function command(button, id, action) {
  const row = button.closest('td');
  row.querySelectorAll('button').forEach((b) => { b.disabled = true; });
  try {
    await api('POST', '/api/services/' + encodeURIComponent(id) + '/' + action);
    showError('');
  } catch (e) {
    showError(action + ' ' + id + ': ' + e.message);
  } finally {
    row.querySelectorAll('button').forEach((b) => { b.disabled = false; });
    refresh();
  }
}

// ---------------------------------------------------------------- logs

function matches(line, filter) {
  return !filter || line.textContent.toLowerCase().includes(filter);
}

function addLines(lines) {
  const log = $('#log');
  const filter = $('#filter').value.trim().toLowerCase();
  for (const line of lines) {
    if (!matches(line, filter)) line.classList.add('hidden');
    log.append(line);
  }
  while (log.childElementCount > MAX_LINES) log.firstElementChild.remove();
  log.scrollTop = log.scrollHeight;
}

function lineFor(kind, ev, text) {
  return el('div', { class: 'line ' + kind },
    el('span', { class: 'at' }, new Date().toLocaleTimeString()),
    el('span', { class: 'who' }, ev.id + '@' + ev.origin),
    el('span', { class: 'text' }, text));
}

function onEvent(kind, message) {
  let ev;
  try { ev = JSON.parse(message.data); } catch (e) { return; }
  const lines = [];
  if (kind === 'spawn') {
    lines.push(lineFor(kind, ev, '▶ spawned, pid ' + ev.data));
    refreshSoon();
  } else if (kind === 'exit') {
    lines.push(lineFor(kind, ev, '■ exited (' + ev.data + ')'));
    refreshSoon();
  } else {
    const parts = ev.data.split('\n');
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    for (const p of parts) lines.push(lineFor(kind, ev, p));
    if (ev.cut) lines.push(lineFor('exit', ev, '… ' + ev.cut + ' more bytes not shown'));
  }
  if (state.follow) return addLines(lines);
  state.held.push(...lines);
  if (state.held.length > MAX_LINES) state.held.splice(0, state.held.length - MAX_LINES);
  $('#log-state').textContent = state.held.length + ' new lines held';
}

function openStream(id) {
  if (state.source) state.source.close();
  const source = new EventSource('/api/logs/' + encodeURIComponent(id));
  for (const kind of ['stdout', 'stderr', 'spawn', 'exit']) source.addEventListener(kind, (m) => onEvent(kind, m));
  source.onopen = () => { $('#conn').textContent = 'live'; $('#conn').className = 'pill live'; };
  source.onerror = () => { $('#conn').textContent = 'reconnecting'; $('#conn').className = 'pill down'; };
  state.source = source;
}

function setFollow(follow) {
  state.follow = follow;
  const b = $('#follow');
  b.textContent = follow ? 'Following' : 'Paused';
  b.setAttribute('aria-pressed', String(follow));
  if (follow) {
    addLines(state.held.splice(0));
    $('#log-state').textContent = '';
  }
}

function applyFilter() {
  const filter = $('#filter').value.trim().toLowerCase();
  for (const line of $('#log').children) line.classList.toggle('hidden', !matches(line, filter));
}

document.addEventListener('DOMContentLoaded', () => {
  $('#follow').addEventListener('click', () => setFollow(!state.follow));
  $('#filter').addEventListener('input', applyFilter);
  $('#clear').addEventListener('click', () => { $('#log').replaceChildren(); state.held = []; });
  $('#log-service').addEventListener('change', (e) => openStream(e.target.value));
  openStream('*');
  refresh();
  setInterval(refresh, REFRESH_MS);
});
