// Crisis-cell dashboard: plain ES modules, no framework. State lives on the server (read models);
// the page re-reads a view when the server says it changed (Server-Sent Events over fetch, so the
// bearer token travels in a header, never in a URL).
import { t, getLang, setLang, applyStatic, countryName, localized, formatTime, formatSeconds } from './i18n.js';
import { loadMap, renderLevels, LEVEL_COLOURS } from './map.js';

const state = { token: sessionStorage.getItem('token') || '', me: null, map: null, selected: null, tab: 'alerts', countries: [] };
const $ = id => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

async function api(path, options = {}) {
  const response = await fetch('/api' + path, {
    ...options,
    headers: { Authorization: 'Bearer ' + state.token, ...(options.body ? { 'Content-Type': 'application/json' } : {}) },
  });
  if (response.status === 401) { signOut(); throw new Error('unauthenticated'); }
  const body = response.headers.get('content-type')?.includes('json') ? await response.json() : null;
  if (!response.ok) throw Object.assign(new Error(body?.detail || body?.title || response.statusText), { status: response.status });
  return body;
}

function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.classList.add('show');
  setTimeout(() => el.classList.remove('show'), 3000);
}

const canAct = () => state.me?.canAct === true;
const levelBadge = level => h('span', { class: `badge l${level}` }, `${level || '–'} · ${t('level.' + level)}`);

// ---------- sign-in ----------
async function signIn(token) {
  state.token = token.trim();
  try {
    state.me = await api('/me');
  } catch {
    state.token = '';
    $('signin-error').textContent = t('signin.refused');
    return;
  }
  sessionStorage.setItem('token', state.token);
  $('signin').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = false;
  $('who').textContent = `${state.me.subject} (${canAct() ? t('analyst') : t('reader')})`;
  if (!state.countries.length) {
    state.countries = await loadMap($('map'), select);
    fillCountryPicker();
  }
  await refreshAll();
  stream();
}

function signOut() {
  state.token = '';
  state.me = null;
  sessionStorage.removeItem('token');
  $('main').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('who').textContent = '';
}

// ---------- live updates ----------
let streamGeneration = 0;
async function stream() {
  const generation = ++streamGeneration;
  while (state.token && generation === streamGeneration) {
    try {
      const response = await fetch('/api/stream', { headers: { Authorization: 'Bearer ' + state.token } });
      if (response.status === 401) { signOut(); return; }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || generation !== streamGeneration) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          onServerEvent(block);
        }
      }
    } catch { /* reconnect below */ }
    setLive(false);
    await new Promise(r => setTimeout(r, 2000));
  }
}

function setLive(on) {
  const el = $('live');
  el.dataset.live = on ? 'on' : 'off';
  el.textContent = t(on ? 'live.on' : 'live.off');
}

function onServerEvent(block) {
  const lines = block.split('\n');
  const event = lines.find(l => l.startsWith('event: '))?.slice(7);
  const data = lines.filter(l => l.startsWith('data: ')).map(l => l.slice(6)).join('\n');
  if (event === 'ready') {
    setLive(true);
    refreshAll(); // catch up on whatever changed while disconnected
  } else if (event === 'changed') {
    const views = JSON.parse(data);
    if (views.includes('map')) refreshMap();
    if (views.includes('alerts')) refreshAlerts();
    if (views.includes('wellbeing')) refreshWellbeing();
    if (views.includes('operations')) refreshOperations();
    if (state.selected && views.includes('country:' + state.selected)) refreshPanel();
  }
}

// ---------- refreshers ----------
async function refreshAll() {
  await Promise.all([refreshMap(), refreshAlerts(), refreshWellbeing(), refreshOperations(), refreshPanel()]);
}

async function refreshMap() {
  state.map = await api('/map');
  renderLevels(state.map, state.selected);
}

async function refreshAlerts() {
  const alerts = await api('/alerts');
  const view = $('view-alerts');
  if (!alerts.length) { view.replaceChildren(h('p', { class: 'muted' }, t('alerts.none'))); return; }
  view.replaceChildren(...alerts.map(renderAlert));
}

function renderAlert(a) {
  const total = Math.max(a.targeted, a.requested, a.sent + a.failed, 1);
  const pct = n => `${(100 * n / total).toFixed(1)}%`;
  const deliveredPct = Math.round(100 * a.delivered / total);
  const title = localized(a.headline) || `${t(a.kind === 'advisory' ? 'alerts.advisory' : 'alerts.consular')} ${a.sourceId}`;
  return h('article', { class: 'alert', dataset: { alert: a.key } },
    h('header', {},
      h('strong', {}, title),
      h('span', {}, levelBadge(a.level))),
    h('div', { class: 'meta' },
      `${t(a.kind === 'advisory' ? 'alerts.advisory' : 'alerts.consular')} · ${countryName(a.country)}${a.postId ? ' · ' + a.postId : ''} · ${formatTime(a.issuedAt)}`,
      a.kind === 'advisory' ? ` · ${t('panel.sites')} ${a.affectedSites} · ${t('panel.travellers')} ${a.affectedTravellers}` : ''),
    h('div', { class: 'bar', role: 'progressbar', 'aria-label': `${t('progress')} — ${title}`, 'aria-valuemin': '0', 'aria-valuemax': '100',
        'aria-valuenow': String(deliveredPct), 'aria-valuetext': `${a.delivered} / ${a.targeted} ${t('delivered').toLowerCase()}`, dataset: { delivered: a.delivered } },
      h('span', { class: 'delivered', style: `width:${pct(a.delivered)}` }),
      h('span', { class: 'sent', style: `width:${pct(Math.max(0, a.sent - a.delivered))}` }),
      h('span', { class: 'failed', style: `width:${pct(a.failed)}` })),
    h('div', { class: 'figures' },
      ...[['targeted', a.targeted], ['sent', a.sent], ['delivered', a.delivered], ['failed', a.failed], ['acknowledged', a.acknowledged]]
        .map(([k, v]) => h('span', { dataset: { figure: k } }, `${t(k)} `, h('b', {}, String(v)))),
      h('span', {}, `${t('firstDelivery')} `, h('b', {}, formatSeconds(a.firstDeliverySeconds))),
      h('span', {}, `${t('lastDelivery')} `, h('b', {}, formatSeconds(a.lastDeliverySeconds)))));
}

async function refreshWellbeing() {
  const wb = await api('/wellbeing');
  const view = $('view-wellbeing');
  if (!wb.checks.length) { view.replaceChildren(h('p', { class: 'muted' }, t('wb.none'))); return; }
  const cols = ['targeted', 'safe', 'needHelp', 'noAnswer', 'followUp'];
  view.replaceChildren(
    ...wb.checks.map(c => h('section', { dataset: { check: c.checkId } },
      h('h3', {}, `${t('wb.check')} ${c.checkId} · ${countryName(c.countryCode)}${c.crisisId ? ' · ' + c.crisisId : ''}`),
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('post')), ...cols.map(k => h('th', { scope: 'col', class: 'num' }, t(k))))),
        h('tbody', {},
          ...c.posts.map(p => h('tr', { dataset: { post: p.postId } }, h('th', { scope: 'row' }, p.postId), ...cols.map(k => h('td', { class: 'num' }, String(p[k]))))),
          h('tr', {}, h('th', { scope: 'row' }, t('total')), ...cols.map(k => h('td', { class: 'num' }, h('b', {}, String(c[k]))))))))),
    h('h3', {}, t('wb.escalations')),
    wb.escalations.length
      ? h('ul', {}, ...wb.escalations.map(e => h('li', {}, `${e.reference} · ${e.postId} · ${formatTime(e.at)}`)))
      : h('p', { class: 'muted' }, t('panel.none.list')),
    h('p', { class: 'muted' }, t('wb.namesNote')));
}

async function refreshOperations() {
  const ops = await api('/operations');
  const view = $('view-operations');
  const table = (headers, rows) => h('table', {}, h('thead', {}, h('tr', {}, ...headers.map(x => h('th', { scope: 'col' }, x)))), h('tbody', {}, ...rows));
  view.replaceChildren(
    h('h3', {}, t('ops.health')),
    table([t('ops.health'), t('status'), t('time')], ops.health.map(s => h('tr', {},
      h('td', {}, s.name), h('td', { class: 'health-' + s.status }, s.status), h('td', {}, formatTime(s.checkedAt))))),
    h('h3', {}, t('ops.approvals')),
    ops.approvals === null ? h('p', { class: 'muted' }, t('ops.unavailable'))
      : ops.approvals.length === 0 ? h('p', { class: 'muted' }, t('panel.none.list'))
      : table([t('country'), t('type'), t('action.reason'), ''], ops.approvals.map(p => h('tr', {},
          h('td', {}, countryName(p.countryCode)), h('td', {}, p.kind === 'Crisis' ? localized(p.title) : levelBadge(p.level)), h('td', {}, p.reason ?? ''),
          h('td', {}, canAct() ? [
            h('button', { type: 'button', dataset: { action: 'approve' }, onclick: () => act(`/actions/proposals/${encodeURIComponent(p.proposalId)}/approve`, {}) }, t('action.approve')), ' ',
            h('button', { type: 'button', class: 'danger', dataset: { action: 'reject' }, onclick: () => act(`/actions/proposals/${encodeURIComponent(p.proposalId)}/reject`, { note: 'rejected from dashboard' }) }, t('action.reject'))] : '')))),
    h('h3', {}, t('ops.reviews')),
    ops.reviewsDue.length === 0 ? h('p', { class: 'muted' }, t('panel.none.list'))
      : table([t('country'), t('action.level'), t('panel.review')], ops.reviewsDue.map(r => h('tr', {},
          h('td', {}, countryName(r.country)), h('td', {}, levelBadge(r.level)), h('td', {}, formatTime(r.reviewBy))))),
    h('h3', {}, t('ops.dead')),
    ops.deadLetters.length === 0 ? h('p', { class: 'muted' }, t('panel.none.list'))
      : table([t('topic'), t('type'), t('time'), ''], ops.deadLetters.map(d => h('tr', { dataset: { deadLetter: d.id } },
          h('td', {}, d.topic), h('td', {}, d.eventType ?? ''), h('td', {}, formatTime(d.receivedAt)),
          h('td', {}, d.replayedAt ? `${t('ops.replayed')} ${formatTime(d.replayedAt)}`
            : !d.replayable ? t('ops.notReplayable')
            : canAct() ? h('button', { type: 'button', class: 'secondary', dataset: { action: 'replay' }, onclick: () => act(`/actions/dead-letters/${d.id}/replay`, {}) }, t('action.replay')) : '')))));
}

// ---------- country panel ----------
function select(code) {
  state.selected = code;
  $('country-pick').value = code;
  if (state.map) renderLevels(state.map, code);
  refreshPanel();
}

async function refreshPanel() {
  if (!state.selected) return;
  const c = await api('/countries/' + state.selected);
  if (c.code !== state.selected) return;
  const a = c.assessment;
  $('panel-title').textContent = countryName(c.code);
  const section = (key, ...content) => [h('h3', {}, t(key)), ...content];
  const none = () => h('p', { class: 'muted' }, t('panel.none.list'));
  $('panel-body').replaceChildren(
    h('p', { id: 'panel-level' }, levelBadge(a?.level ?? 0), a?.reviewBy ? h('span', { class: 'muted' }, ` · ${t('panel.review')} ${formatTime(a.reviewBy)}`) : ''),
    ...(a ? [
      ...section('panel.summary', h('p', {}, localized(a.summary) || '—')),
      ...section('panel.advice', h('p', {}, localized(a.advice) || '—')),
      ...section('panel.categories', a.categories.length ? h('ul', {}, ...a.categories.map(x => h('li', {}, `${t('cat.' + x.category)} — ${t('sev.' + x.severity)}`))) : none()),
    ] : [h('p', { class: 'muted' }, t('panel.noAssessment'))]),
    ...(canAct() ? [setLevelForm(c)] : []),
    ...section('panel.zones', c.zones.length ? h('ul', {}, ...c.zones.map(z => h('li', {}, `${z.zoneName ?? z.assessmentId} `, levelBadge(z.level)))) : none()),
    ...section('panel.crises', c.crises.length ? h('ul', {}, ...c.crises.map(x => h('li', { dataset: { crisis: x.crisisId } },
      `${localized(x.title) || x.crisisId} · ${t('kind.' + x.kind)} · ${t(x.status)} `,
      canAct() && x.status === 'active' ? h('button', { type: 'button', class: 'danger', dataset: { action: 'close-crisis' },
        onclick: () => act(`/actions/crises/${encodeURIComponent(x.crisisId)}/close`, {}) }, t('action.close')) : ''))) : none()),
    ...(canAct() ? [declareForm(c)] : []),
    ...section('panel.posts', c.posts.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('post')), h('th', { scope: 'col', class: 'num' }, t('registrants')))),
      h('tbody', {}, ...c.posts.map(p => h('tr', {}, h('td', {}, p.postId), h('td', { class: 'num' }, String(p.registrants)))))) : none()),
    ...section('panel.companies', h('p', { dataset: { companies: '' } },
      `${t('panel.companiesCount')} ${c.companies.companies} · ${t('panel.sites')} ${c.companies.sites} · ${t('panel.travellers')} ${c.companies.travellers} · ${t('panel.acknowledged')} ${c.companies.acknowledged}`)),
    ...section('panel.history', c.history.length ? h('ol', {}, ...c.history.map(x => h('li', {},
      `${formatTime(x.changedAt)} · ${x.zoneName ? x.zoneName + ' · ' : ''}${x.previousLevel} → ${x.newLevel}${x.reason ? ' · ' + x.reason : ''}`))) : none()));
}

function setLevelForm(c) {
  const id = 'set-level';
  const form = h('form', { class: 'action', dataset: { action: 'set-level' } },
    h('strong', { class: 'wide' }, t('action.setLevel')),
    h('label', { for: `${id}-level` }, t('action.level')),
    h('select', { id: `${id}-level`, name: 'level' }, ...[1, 2, 3, 4].map(l => h('option', { value: l, selected: (c.assessment?.level ?? 1) === l }, `${l} · ${t('level.' + l)}`))),
    h('label', { for: `${id}-reason` }, t('action.reason')),
    h('input', { id: `${id}-reason`, name: 'reason', required: true, maxlength: '500' }),
    h('label', { for: `${id}-emergency` }, t('action.emergency')),
    h('input', { id: `${id}-emergency`, name: 'emergency', type: 'checkbox' }),
    h('button', { type: 'submit', class: 'wide' }, t('action.submit')));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const f = new FormData(form);
    act('/actions/set-level', {
      assessmentId: c.assessment?.assessmentId ?? null, countryCode: c.code, level: Number(f.get('level')),
      reason: f.get('reason'), expectedVersion: c.assessment?.version ?? 0, emergency: f.get('emergency') === 'on',
    });
  });
  return form;
}

function declareForm(c) {
  const id = 'declare';
  const form = h('form', { class: 'action', dataset: { action: 'declare-crisis' } },
    h('strong', { class: 'wide' }, t('action.declare')),
    h('label', { for: `${id}-kind` }, t('action.kind')),
    h('select', { id: `${id}-kind`, name: 'kind' }, ...[1, 2, 3, 4, 5, 6].map(k => h('option', { value: k }, t('kind.' + k)))),
    h('label', { for: `${id}-fr` }, t('action.titleFr')), h('input', { id: `${id}-fr`, name: 'titleFr', maxlength: '500' }),
    h('label', { for: `${id}-en` }, t('action.titleEn')), h('input', { id: `${id}-en`, name: 'titleEn', maxlength: '500' }),
    h('label', { for: `${id}-reason` }, t('action.reason')), h('input', { id: `${id}-reason`, name: 'reason', required: true, maxlength: '500' }),
    h('label', { for: `${id}-wb` }, t('action.wellbeing')), h('input', { id: `${id}-wb`, name: 'wellbeing', type: 'checkbox', checked: true }),
    h('label', { for: `${id}-emergency` }, t('action.emergency')), h('input', { id: `${id}-emergency`, name: 'emergency', type: 'checkbox' }),
    h('button', { type: 'submit', class: 'wide' }, t('action.declare')));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const f = new FormData(form);
    act('/actions/declare-crisis', {
      countryCode: c.code, kind: Number(f.get('kind')), titleFr: f.get('titleFr'), titleEn: f.get('titleEn'), reason: f.get('reason'),
      emergency: f.get('emergency') === 'on', startWellbeingCheck: f.get('wellbeing') === 'on',
    });
  });
  return form;
}

async function act(path, body) {
  try {
    const result = await api(path, { method: 'POST', body: JSON.stringify(body) });
    toast(`${t('action.done')}${result?.outcome ? ' · ' + result.outcome : ''}`);
  } catch (e) {
    toast(`${t('action.failed')}: ${e.message}`);
  }
}

// ---------- chrome ----------
function fillCountryPicker() {
  const pick = $('country-pick');
  const sorted = [...state.countries].sort((a, b) => countryName(a.code, a.name).localeCompare(countryName(b.code, b.name), getLang()));
  pick.replaceChildren(h('option', { value: '' }, t('map.pickNone')), ...sorted.map(c => h('option', { value: c.code }, countryName(c.code, c.name))));
  pick.value = state.selected ?? '';
}

function renderLegend() {
  $('legend').setAttribute('aria-label', t('legend'));
  $('legend').replaceChildren(...[1, 2, 3, 4, 0].map(l => h('li', {}, h('span', { class: 'sw', style: `background:${LEVEL_COLOURS[l]}` }), t('level.' + l))),
    h('li', {}, h('span', { class: 'sw', style: 'background:#fff;border-color:#d62718;border-radius:50%' }), t('panel.crises')));
}

function switchLanguage() {
  setLang(getLang() === 'fr' ? 'en' : 'fr');
  renderChrome();
  if (state.me) {
    $('who').textContent = `${state.me.subject} (${canAct() ? t('analyst') : t('reader')})`;
    fillCountryPicker();
    refreshAll();
  }
}

function renderChrome() {
  applyStatic();
  const other = getLang() === 'fr' ? 'EN' : 'FR';
  $('lang').textContent = other;
  $('lang').setAttribute('aria-label', `${other} — ${t('switchTo')}`);
  setLive($('live').dataset.live === 'on');
  document.title = `DCIS — ${t('title')}`;
  document.querySelector('#world')?.setAttribute('aria-label', t('map.label'));
  renderLegend();
}

function selectTab(name, focus) {
  state.tab = name;
  for (const tab of ['alerts', 'wellbeing', 'operations']) {
    const button = $('tab-' + tab);
    const on = tab === name;
    button.setAttribute('aria-selected', String(on));
    button.tabIndex = on ? 0 : -1;
    $('view-' + tab).hidden = !on;
    if (on && focus) button.focus();
  }
}

function init() {
  renderChrome();
  $('lang').addEventListener('click', switchLanguage);
  $('signout').addEventListener('click', signOut);
  $('signin-form').addEventListener('submit', e => { e.preventDefault(); signIn($('token').value); });
  $('country-pick').addEventListener('change', e => e.target.value && select(e.target.value));
  const tabs = ['alerts', 'wellbeing', 'operations'];
  for (const tab of tabs) {
    $('tab-' + tab).addEventListener('click', () => selectTab(tab));
    $('tab-' + tab).addEventListener('keydown', e => {
      const i = tabs.indexOf(state.tab);
      if (e.key === 'ArrowRight') selectTab(tabs[(i + 1) % tabs.length], true);
      if (e.key === 'ArrowLeft') selectTab(tabs[(i + tabs.length - 1) % tabs.length], true);
    });
  }
  if (state.token) signIn(state.token);
}

init();
