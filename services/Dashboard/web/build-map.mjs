// Projects Natural Earth 1:110m country shapes (npm world-atlas) to SVG path strings once, at
// development time, so the browser ships no map library and needs no tile server. The output
// (../wwwroot/map/countries.json) is committed; re-run after changing the projection or size.
import { readFileSync, writeFileSync } from 'node:fs';
import { feature } from 'topojson-client';
import { geoEqualEarth, geoPath, geoGraticule10 } from 'd3-geo';

const width = 1000;
const height = 500;
const topology = JSON.parse(readFileSync('node_modules/world-atlas/countries-110m.json', 'utf8'));
const iso = JSON.parse(readFileSync(process.argv[2] ?? '/usr/share/iso-codes/json/iso_3166-1.json', 'utf8'))['3166-1'];
const byNumeric = new Map(iso.map(c => [c.numeric, c.alpha_2]));
// Kosovo has no ISO 3166-1 entry; XK is the user-assigned code in common use (and in Intl.DisplayNames).
const byName = new Map([['Kosovo', 'XK']]);

const countries = feature(topology, topology.objects.countries);
const projection = geoEqualEarth().fitExtent([[4, 4], [width - 4, height - 4]], { type: 'Sphere' });
const path = geoPath(projection).digits(1);

const out = countries.features
  .filter(f => f.properties.name !== 'Antarctica')
  .map(f => {
    const code = (f.id ? byNumeric.get(String(f.id).padStart(3, '0')) : byName.get(f.properties.name)) ?? null;
    const [cx, cy] = path.centroid(f);
    return { code, name: f.properties.name, d: path(f), c: [Math.round(cx * 10) / 10, Math.round(cy * 10) / 10] };
  });

const result = {
  source: 'Natural Earth 1:110m (public domain) via npm world-atlas 2.0.2 (ISC); projected with d3-geo geoEqualEarth',
  width,
  height,
  projection: { kind: 'equalEarth', scale: projection.scale(), translate: projection.translate() },
  sphere: path({ type: 'Sphere' }),
  graticule: path(geoGraticule10()),
  countries: out,
};
writeFileSync('../wwwroot/map/countries.json', JSON.stringify(result));
const missing = out.filter(c => !c.code).map(c => c.name);
console.log(`${out.length} shapes, ${out.length - missing.length} with ISO codes; without: ${missing.join(', ')}`);
