// Groundwork dashboard: the device map. Devices are drawn as H3 hexagons whose boundaries come
// from the node (GET /v1/map/cells), projected here with Web Mercator onto an SVG. No tiles, no
// third-party code: it works offline. The resolution follows the zoom, and the node is asked only
// for the cells in view.
'use strict';

(function () {
  const G = window.Groundwork = window.Groundwork || {};
  const SVG = 'http://www.w3.org/2000/svg';
  const TILE = 256;
  const MAX_LAT = 85.05112878;
  const KIND_COLORS = { hotspot: '#2b6cb0', sensor: '#d97706', storage: '#7c3aed', compute: '#0f766e', meter: '#be185d' };
  // Mean H3 edge length in km per resolution 0..8.
  const EDGE_KM = [1107.71, 418.68, 158.24, 59.81, 22.61, 8.54, 3.23, 1.22, 0.46];

  // Web Mercator: longitude/latitude to world pixels at zoom z, and back.
  function project(lat, lng, z) {
    const size = TILE * Math.pow(2, z);
    const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
    const s = Math.sin((clamped * Math.PI) / 180);
    return [((lng + 180) / 360) * size, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * size];
  }
  function unproject(x, y, z) {
    const size = TILE * Math.pow(2, z);
    const lng = (x / size) * 360 - 180;
    const n = Math.PI - (2 * Math.PI * y) / size;
    const lat = (180 / Math.PI) * Math.atan(Math.sinh(n));
    return [lat, lng];
  }

  /** The finest resolution whose hexagons are still at least ~12 px across at this zoom. */
  function resolutionFor(z, lat) {
    const metresPerPx = (156543.03 * Math.cos((lat * Math.PI) / 180)) / Math.pow(2, z);
    let res = 0;
    for (let r = 0; r < EDGE_KM.length; r++) {
      if ((2 * EDGE_KM[r] * 1000) / metresPerPx >= 12) res = r;
    }
    return res;
  }

  function el(tag, attrs, parent) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.append(e);
    return e;
  }

  // Earnings: cells that earned nothing are grey; the others run from light to dark amber with
  // the tokens each of their devices earned on average, up to the most in view.
  const EARN_NONE = '#d5d9d6';
  const EARN_LOW = '#fde7b0';
  const EARN_HIGH = '#8a3b00';
  const EARN_STEPS = [0.25, 0.5, 0.75, 1];

  /** Base units per device of a cell, rounded down (BigInt): what earnings colour by. */
  function perDevice(cell) {
    let earned;
    try { earned = BigInt(cell.earned || '0'); } catch (e) { earned = 0n; }
    return cell.total > 0 ? earned / BigInt(cell.total) : 0n;
  }

  function mix(a, b, t) {
    const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
    const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
    return '#' + pa.map((v, i) => Math.round(v + (pb[i] - v) * t).toString(16).padStart(2, '0')).join('');
  }

  G.mapPage = async function (view, ctx) {
    const { h, api, link, number, query, setHashQuiet } = ctx;
    const tokens = (base) => (G.tokens ? G.tokens(String(base)) : String(base));
    let lat = 20, lng = 0, z = 2;
    const state = { mode: query.get('color') || 'kind', cells: [], selected: null, res: 0, seq: 0, abort: null,
      earningsEpoch: null, maxPerDevice: 0n };
    if (query.has('lat') && query.has('lng') && query.has('z')) {
      lat = Number(query.get('lat')); lng = Number(query.get('lng')); z = Number(query.get('z'));
    }

    const mapBox = h('div', { class: 'map', 'data-map': '' });
    const svg = el('svg', { 'aria-label': 'device map' });
    const gridLayer = el('g', {}, svg);
    const hexLayer = el('g', { 'data-layer': 'hexes' }, svg);
    const labelLayer = el('g', {}, svg);
    mapBox.append(svg);
    const zoomIn = h('button', { title: 'Zoom in', 'data-action': 'zoom-in' }, '+');
    const zoomOut = h('button', { title: 'Zoom out', 'data-action': 'zoom-out' }, '−');
    const fit = h('button', { title: 'Fit all devices', 'data-action': 'fit' }, '⤢');
    mapBox.append(h('div', { class: 'map-controls' }, zoomIn, zoomOut, fit));
    const info = h('div', { class: 'map-info' }, h('span', { 'data-field': 'map-view' }, ''), h('span', { 'data-field': 'map-res' }, ''));
    mapBox.append(info);
    const modeSelect = h('select', { 'aria-label': 'colour by', 'data-control': 'color' },
      h('option', { value: 'kind' }, 'colour by kind'),
      h('option', { value: 'status' }, 'colour by status'),
      h('option', { value: 'density' }, 'colour by device count'),
      h('option', { value: 'earnings' }, 'colour by earnings'));
    modeSelect.value = state.mode;
    const legend = h('div', { class: 'legend', 'data-field': 'legend' });
    const note = h('div', { class: 'muted', 'data-field': 'map-note' });
    const side = h('div', { class: 'panel', 'data-section': 'cell' },
      h('h2', {}, 'Cell'), h('p', { class: 'muted' }, 'Click a hexagon to list its devices.'));

    view.replaceChildren(
      h('h1', {}, 'Device map', h('span', { class: 'sub' }, 'H3 cells from the node; drag to pan, wheel or buttons to zoom')),
      h('div', { class: 'toolbar' }, modeSelect, legend, note),
      h('div', { class: 'map-wrap' }, mapBox, h('div', { class: 'map-side' }, side)));
    view.setAttribute('data-page', 'map');

    const size = () => [mapBox.clientWidth || 800, mapBox.clientHeight || 600];

    function viewBounds() {
      const [w, hgt] = size();
      const [cx, cy] = project(lat, lng, z);
      const [north, west] = unproject(cx - w / 2, cy - hgt / 2, z);
      const [south, east] = unproject(cx + w / 2, cy + hgt / 2, z);
      return { west, south, east, north, cx, cy, w, h: hgt };
    }

    function toScreen(pLat, pLng, b) {
      const [x, y] = project(pLat, pLng, z);
      return [x - b.cx + b.w / 2, y - b.cy + b.h / 2];
    }

    function drawGrid(b) {
      gridLayer.replaceChildren();
      const span = Math.max(b.east - b.west, 1e-6);
      const steps = [90, 45, 30, 15, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005];
      const step = steps.find((s) => span / s >= 3 && span / s <= 14) || steps[steps.length - 1];
      const fmt = (v) => Number(v.toFixed(3)).toString();
      for (let g = Math.ceil(b.west / step) * step; g <= b.east; g += step) {
        const [x] = toScreen(0, g, b);
        el('line', { class: 'graticule', x1: x, y1: 0, x2: x, y2: b.h }, gridLayer);
        el('text', { class: 'graticule-label', x: x + 3, y: 12 }, gridLayer).textContent = fmt(g) + '°';
      }
      for (let g = Math.ceil(Math.max(b.south, -MAX_LAT) / step) * step; g <= Math.min(b.north, MAX_LAT); g += step) {
        const [, y] = toScreen(g, b.west, b);
        el('line', { class: 'graticule', x1: 0, y1: y, x2: b.w, y2: y }, gridLayer);
        el('text', { class: 'graticule-label', x: 4, y: y - 3 }, gridLayer).textContent = fmt(g) + '°';
      }
    }

    /** The earnings colour of `perDeviceBase` base units per device, given the most in view. */
    function earningsColor(perDeviceBase) {
      if (perDeviceBase <= 0n || state.maxPerDevice <= 0n) return EARN_NONE;
      // BigInt ratio in thousandths, so huge base-unit sums keep their order exactly enough.
      const t = Number((perDeviceBase * 1000n) / state.maxPerDevice) / 1000;
      return mix(EARN_LOW, EARN_HIGH, t);
    }

    function colorOf(cell, maxTotal) {
      if (state.mode === 'earnings') return earningsColor(perDevice(cell));
      if (state.mode === 'status') {
        const t = cell.total ? cell.decommissioned / cell.total : 0;
        return mix('#1f9d6b', '#9aa3a0', t);
      }
      if (state.mode === 'density') {
        const t = Math.log(1 + cell.total) / Math.log(1 + Math.max(1, maxTotal));
        return mix('#c6e6d7', '#0b5a41', t);
      }
      let best = null, n = -1;
      for (const [k, v] of Object.entries(cell.kinds || {})) if (v > n) { best = k; n = v; }
      return KIND_COLORS[best] || '#667';
    }

    function drawLegend() {
      legend.replaceChildren();
      note.textContent = '';
      if (state.mode === 'kind') Object.entries(KIND_COLORS).forEach(([k, c]) => legend.append(h('span', {}, h('i', { style: 'background:' + c }), k)));
      if (state.mode === 'status') legend.append(h('span', {}, h('i', { style: 'background:#1f9d6b' }), 'all active'), h('span', {}, h('i', { style: 'background:#9aa3a0' }), 'all decommissioned'));
      if (state.mode === 'density') legend.append(h('span', {}, h('i', { style: 'background:#c6e6d7' }), 'few'), h('span', {}, h('i', { style: 'background:#0b5a41' }), 'many devices'));
      legend.removeAttribute('data-epoch');
      legend.removeAttribute('data-max-per-device');
      if (state.mode === 'earnings') {
        if (state.earningsEpoch === null || state.earningsEpoch === undefined) {
          legend.append(h('span', {}, h('i', { style: 'background:' + EARN_NONE }), 'earned nothing'));
          note.textContent = 'No epoch has been paid yet: no device has earned anything.';
          return;
        }
        legend.setAttribute('data-epoch', String(state.earningsEpoch));
        legend.setAttribute('data-max-per-device', state.maxPerDevice.toString());
        legend.append(h('span', {}, h('i', { style: 'background:' + EARN_NONE }), 'earned nothing'));
        // Each swatch: up to this many tokens per device (a share of the most in view).
        EARN_STEPS.forEach((t) => {
          const bound = (state.maxPerDevice * BigInt(Math.round(t * 1000))) / 1000n;
          legend.append(h('span', { 'data-step': String(t) }, h('i', { style: 'background:' + mix(EARN_LOW, EARN_HIGH, t) }), 'up to ' + tokens(bound)));
        });
        note.textContent = `per device, epoch ${number(state.earningsEpoch)} (the latest paid)`;
      }
    }

    function draw() {
      const b = viewBounds();
      drawGrid(b);
      hexLayer.replaceChildren();
      labelLayer.replaceChildren();
      const maxTotal = Math.max(1, ...state.cells.map((c) => c.total));
      state.maxPerDevice = state.cells.reduce((m, c) => { const v = perDevice(c); return v > m ? v : m; }, 0n);
      if (state.mode === 'earnings') drawLegend();
      for (const cell of state.cells) {
        // Cells crossing the antimeridian: keep every vertex on the side of the centre.
        const pts = cell.boundary.map(([pLat, pLng]) => {
          let l = pLng;
          if (l - cell.lng > 180) l -= 360;
          if (cell.lng - l > 180) l += 360;
          return toScreen(pLat, l, b);
        });
        const poly = el('polygon', {
          class: 'hex' + (state.selected === cell.cell ? ' selected' : ''),
          points: pts.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '),
          fill: colorOf(cell, maxTotal), 'data-cell': cell.cell, 'data-total': cell.total,
          'data-earned': cell.earned || '0', 'data-earning': cell.earning || 0,
        }, hexLayer);
        const title = el('title', {}, poly);
        title.textContent = `${cell.total} device${cell.total === 1 ? '' : 's'} · ` +
          Object.entries(cell.kinds).map(([k, v]) => v + ' ' + k).join(', ') +
          (state.earningsEpoch !== null && state.earningsEpoch !== undefined
            ? ` · earned ${tokens(cell.earned || '0')} in epoch ${state.earningsEpoch} (${tokens(perDevice(cell))} per device)` : '') +
          ` · cell ${cell.cell}`;
        poly.addEventListener('click', (e) => { e.stopPropagation(); if (!moved) selectCell(cell); });
        const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
        const width = Math.max(...xs) - Math.min(...xs);
        if (width > 26) {
          const [cx, cy] = toScreen(cell.lat, cell.lng, b);
          el('text', { class: 'count', x: cx, y: cy }, labelLayer).textContent = cell.total;
        }
      }
      info.children[0].textContent = `${lat.toFixed(4)}, ${lng.toFixed(4)} · zoom ${z.toFixed(1)}`;
      setHashQuiet(`#/map?lat=${lat.toFixed(5)}&lng=${lng.toFixed(5)}&z=${z.toFixed(2)}` + (state.mode !== 'kind' ? '&color=' + state.mode : ''));
    }

    let fetchTimer = null;
    function scheduleFetch(delay) {
      clearTimeout(fetchTimer);
      fetchTimer = setTimeout(fetchCells, delay === undefined ? 120 : delay);
    }

    async function fetchCells() {
      const b = viewBounds();
      const res = resolutionFor(z, lat);
      const seq = ++state.seq;
      if (state.abort) state.abort.abort();
      state.abort = new AbortController();
      const clampLng = (v) => Math.max(-180, Math.min(180, v));
      const wide = b.east - b.west >= 360;
      let west = wide ? -180 : ((b.west + 540) % 360) - 180;
      let east = wide ? 180 : ((b.east + 540) % 360) - 180;
      const bbox = [clampLng(west), Math.max(-90, b.south), clampLng(east), Math.min(90, b.north)].map((v) => v.toFixed(5)).join(',');
      try {
        const data = await api(`/v1/map/cells?res=${res}&bbox=${bbox}`, { signal: state.abort.signal });
        if (seq !== state.seq) return;
        state.cells = data.cells;
        state.res = res;
        state.earningsEpoch = data.earnings_epoch === undefined ? null : data.earnings_epoch;
        info.children[1].textContent = `H3 resolution ${res} · ${number(data.cells.length)} cells` +
          (data.truncated ? ` (densest of ${number(data.cells_in_view)})` : '') + ` · height ${number(data.height)}`;
        mapBox.setAttribute('data-loaded', String(seq));
        draw();
      } catch (e) {
        if (e.name === 'AbortError' || (e.message || '').includes('abort')) return;
        info.children[1].textContent = 'map: ' + e.message;
      }
    }

    async function selectCell(cell) {
      state.selected = cell.cell;
      // Mark it without redrawing, so a double-click's second click lands on the same element.
      hexLayer.querySelectorAll('polygon.hex').forEach((p) => p.classList.toggle('selected', p.getAttribute('data-cell') === cell.cell));
      const list = h('ul', { class: 'devices', 'data-list': 'cell-devices' });
      const more = h('button', { 'data-action': 'more-cell-devices' }, 'More');
      let cursor = null;
      const load = async () => {
        const page = await api('/v1/devices?limit=50&cell=' + cell.cell + (cursor ? '&cursor=' + cursor : ''));
        page.devices.forEach((d) => list.append(h('li', {}, link.device(d.id),
          h('span', {}, h('span', { class: 'pill kind-' + d.kind }, d.kind), ' ', h('span', { class: 'pill ' + d.status }, d.status)))));
        cursor = page.next_cursor;
        more.disabled = !cursor;
        more.hidden = !cursor;
      };
      more.addEventListener('click', load);
      side.replaceChildren(h('h2', {}, 'Cell ', h('span', { class: 'mono', 'data-field': 'cell' }, cell.cell)),
        h('p', {}, h('strong', { 'data-field': 'cell-total' }, String(cell.total)), ' devices (', number(cell.active), ' active, ',
          number(cell.decommissioned), ' decommissioned) · resolution ' + state.res),
        h('p', { class: 'muted' }, Object.entries(cell.kinds).map(([k, v]) => v + ' ' + k).join(', ')),
        state.earningsEpoch === null || state.earningsEpoch === undefined ? h('p', { class: 'muted' }, 'No epoch paid yet.') :
          h('p', { 'data-field': 'cell-earned', 'data-raw': cell.earned || '0' }, 'Earned ', h('strong', {}, tokens(cell.earned || '0')),
            ' in epoch ' + number(state.earningsEpoch) + ': ', tokens(perDevice(cell)), ' per device, ',
            number(cell.earning || 0), ' of ', number(cell.total), ' devices paid.'),
        list, more);
      try { await load(); } catch (e) { side.append(h('div', { class: 'error' }, e.message)); }
    }

    function zoomAt(factor, sx, sy) {
      const [w, hgt] = size();
      sx = sx === undefined ? w / 2 : sx;
      sy = sy === undefined ? hgt / 2 : sy;
      const b = viewBounds();
      const [pLat, pLng] = unproject(b.cx - w / 2 + sx, b.cy - hgt / 2 + sy, z);
      const nz = Math.max(1, Math.min(17, z + factor));
      // Keep the point under the cursor where it is.
      const [px, py] = project(pLat, pLng, nz);
      const [nLat, nLng] = unproject(px - sx + w / 2, py - sy + hgt / 2, nz);
      z = nz; lat = nLat; lng = ((nLng + 540) % 360) - 180;
      draw();
      scheduleFetch();
    }

    zoomIn.addEventListener('click', () => zoomAt(1));
    zoomOut.addEventListener('click', () => zoomAt(-1));
    fit.addEventListener('click', () => fitAll());
    modeSelect.addEventListener('change', () => { state.mode = modeSelect.value; drawLegend(); draw(); });
    mapBox.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = mapBox.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 0.5 : -0.5, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    mapBox.addEventListener('dblclick', (e) => {
      const r = mapBox.getBoundingClientRect();
      zoomAt(1, e.clientX - r.left, e.clientY - r.top);
    });
    let drag = null, moved = false;
    mapBox.addEventListener('pointerdown', (e) => {
      if (e.target.closest('button')) return;
      drag = { x: e.clientX, y: e.clientY, start: project(lat, lng, z) };
      moved = false;
    });
    window.addEventListener('pointermove', onMove);
    window.addEventListener('pointerup', onUp);
    function onMove(e) {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      moved = true;
      mapBox.classList.add('dragging');
      const [nLat, nLng] = unproject(drag.start[0] - dx, drag.start[1] - dy, z);
      lat = Math.max(-MAX_LAT, Math.min(MAX_LAT, nLat));
      lng = ((nLng + 540) % 360) - 180;
      draw();
    }
    function onUp() {
      if (!drag) return;
      drag = null;
      mapBox.classList.remove('dragging');
      if (moved) scheduleFetch();
      setTimeout(() => { moved = false; }, 0);
    }
    const onResize = () => { draw(); scheduleFetch(); };
    window.addEventListener('resize', onResize);

    /** Centres and zooms on every device: their resolution-5 cells give the extent. */
    async function fitAll() {
      const data = await api('/v1/map/cells?res=5&bbox=-180,-90,180,90&limit=20000');
      if (!data.cells.length) {
        lat = 20; lng = 0; z = 2;
        note.textContent = 'No device has a location yet.';
      } else {
        const lats = data.cells.flatMap((c) => c.boundary.map((p) => p[0]));
        const lngs = data.cells.flatMap((c) => c.boundary.map((p) => p[1]));
        const [s, n, w, e] = [Math.min(...lats), Math.max(...lats), Math.min(...lngs), Math.max(...lngs)];
        const [wpx, hpx] = size();
        let nz = 17;
        while (nz > 1) {
          const [x1, y1] = project(n, w, nz), [x2, y2] = project(s, e, nz);
          if (x2 - x1 <= wpx * 0.8 && y2 - y1 <= hpx * 0.8) break;
          nz -= 0.5;
        }
        // Devices sit in smaller cells than the res-5 cells bounding them.
        z = Math.min(nz + 0.5, 15);
        const [cx1, cy1] = project(n, w, z), [cx2, cy2] = project(s, e, z);
        [lat, lng] = unproject((cx1 + cx2) / 2, (cy1 + cy2) / 2, z);
      }
      draw();
      await fetchCells();
    }

    drawLegend();
    if (query.has('cell')) {
      // Centre on one cell (a device's location, from the device page).
      const cell = await api('/v1/map/cell/' + encodeURIComponent(query.get('cell')));
      lat = cell.lat; lng = cell.lng; z = 14;
      draw();
      await fetchCells();
    } else if (query.has('lat')) {
      draw();
      await fetchCells();
    } else {
      await fitAll();
    }

    return {
      onBlock: () => scheduleFetch(400),
      leave: () => {
        window.removeEventListener('pointermove', onMove);
        window.removeEventListener('pointerup', onUp);
        window.removeEventListener('resize', onResize);
        clearTimeout(fetchTimer);
        if (state.abort) state.abort.abort();
      },
    };
  };
})();
