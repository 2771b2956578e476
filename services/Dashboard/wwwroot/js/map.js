// The world map: country shapes pre-projected at build time (map/countries.json), coloured by level.
// Zones (polygons) and crisis markers are projected here with the same Equal Earth projection.
import { t, countryName } from './i18n.js';

export const LEVEL_COLOURS = ['#c9ced6', '#3a9d23', '#f5d000', '#f08a00', '#d62718'];
const SVG = 'http://www.w3.org/2000/svg';
let geometry;
let svg;
const paths = new Map();

function equalEarth([lng, lat]) {
  const A1 = 1.340264, A2 = -0.081106, A3 = 0.000893, A4 = 0.003796, M = Math.sqrt(3) / 2;
  const lambda = lng * Math.PI / 180, phi = lat * Math.PI / 180;
  const l = Math.asin(M * Math.sin(phi)), l2 = l * l, l6 = l2 * l2 * l2;
  const x = lambda * Math.cos(l) / (M * (A1 + 3 * A2 * l2 + l6 * (7 * A3 + 9 * A4 * l2)));
  const y = l * (A1 + A2 * l2 + l6 * (A3 + A4 * l2));
  const { scale, translate } = geometry.projection;
  return [x * scale + translate[0], -y * scale + translate[1]];
}

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export async function loadMap(container, onSelect) {
  geometry = await (await fetch('map/countries.json')).json();
  svg = el('svg', { viewBox: `0 0 ${geometry.width} ${geometry.height}`, role: 'img', 'aria-label': t('map.label'), id: 'world' });
  svg.append(el('path', { d: geometry.sphere, class: 'sphere' }), el('path', { d: geometry.graticule, class: 'graticule' }));
  const countries = el('g', { id: 'countries' });
  for (const c of geometry.countries) {
    const p = el('path', { d: c.d, class: 'country', fill: LEVEL_COLOURS[0], 'data-level': '0' });
    if (c.code) p.dataset.code = c.code;
    const title = el('title', {});
    title.textContent = countryName(c.code, c.name);
    p.append(title);
    p.addEventListener('click', () => c.code && onSelect(c.code));
    countries.append(p);
    if (c.code) paths.set(c.code, { path: p, centroid: c.c, title, name: c.name });
  }
  svg.append(countries, el('g', { id: 'zones' }), el('g', { id: 'crises' }));
  container.replaceChildren(svg);
  return geometry.countries.filter(c => c.code).map(c => ({ code: c.code, name: c.name }));
}

export function renderLevels(view, selected) {
  const levels = new Map(view.countries.map(c => [c.code, c.level]));
  for (const [code, entry] of paths) {
    const level = levels.get(code) ?? 0;
    entry.path.setAttribute('fill', LEVEL_COLOURS[level] ?? LEVEL_COLOURS[0]);
    entry.path.dataset.level = String(level);
    entry.path.classList.toggle('selected', code === selected);
    entry.title.textContent = `${countryName(code, entry.name)} — ${t('level.' + level)}`;
  }
  const zones = svg.querySelector('#zones');
  zones.replaceChildren();
  for (const z of view.zones) {
    if (!z.polygon || z.polygon.length < 3) continue;
    const d = 'M' + z.polygon.map(p => equalEarth(p).map(n => n.toFixed(1)).join(',')).join('L') + 'Z';
    const zone = el('path', { d, class: 'zone', fill: LEVEL_COLOURS[z.level], 'data-zone': z.assessmentId, 'data-level': String(z.level) });
    const title = el('title', {});
    title.textContent = `${z.zoneName ?? z.assessmentId} — ${t('level.' + z.level)}`;
    zone.append(title);
    zones.append(zone);
  }
  const crises = svg.querySelector('#crises');
  crises.replaceChildren();
  for (const c of view.crises) {
    const at = c.lat !== null && c.lng !== null ? equalEarth([c.lng, c.lat]) : paths.get(c.country)?.centroid;
    if (!at) continue;
    const g = el('g', { class: 'crisis-marker', 'data-crisis': c.crisisId });
    g.append(el('circle', { cx: at[0], cy: at[1], r: 9, class: 'crisis-ring' }), el('circle', { cx: at[0], cy: at[1], r: 4, class: 'crisis' }));
    const title = el('title', {});
    title.textContent = `${t('panel.crises')}: ${c.title.fr || c.title.en || c.crisisId}`;
    g.append(title);
    crises.append(g);
  }
}
