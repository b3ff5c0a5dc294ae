// Groundwork dashboard: a single page with hash routes over the node's JSON API.
// Plain JavaScript, no dependencies, no build step. Every value shown comes from the API;
// endpoints a node does not serve (404 "no such route") show "not available on this node".
'use strict';

(function () {
  const view = document.getElementById('view');
  const G = window.Groundwork = window.Groundwork || {};

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Builds an element: h('a', {href: '#/'}, 'text', child…). Text is always set as text. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** An API error with its HTTP status and the API's error kind. */
  class ApiError extends Error {
    constructor(status, kind, message) {
      super(message);
      this.status = status;
      this.kind = kind;
    }
    /** The node has no such endpoint (an older node, or a feature not built in). */
    get unavailable() {
      return this.status === 404 && /^no such route/.test(this.message) || this.status === 405;
    }
  }

  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, Object.assign({ headers: { accept: 'application/json' } }, options));
    } catch (e) {
      throw new ApiError(0, 'network', 'cannot reach the node: ' + e.message);
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const err = body && body.error;
      throw new ApiError(response.status, err ? err.kind : 'http', err ? err.message : response.status + ' ' + response.statusText);
    }
    return body;
  }

  /** Like api(), but resolves to {unavailable: true} when the node lacks the endpoint. */
  async function optional(path) {
    try {
      return { data: await api(path) };
    } catch (e) {
      if (e instanceof ApiError && e.unavailable) return { unavailable: true };
      if (e instanceof ApiError && e.status === 404) return { missing: e.message };
      throw e;
    }
  }

  function unavailable(what) {
    return h('div', { class: 'unavailable', 'data-state': 'unavailable' },
      what + ': not available on this node.');
  }

  function errorBox(e) {
    return h('div', { class: 'error', 'data-state': 'error' }, e && e.message ? e.message : String(e));
  }

  function field(name, value) {
    return h('span', { 'data-field': name }, value);
  }

  /** Formats base units as tokens with the chain's decimals, grouping thousands. */
  function tokens(base, withSymbol) {
    if (base === undefined || base === null || base === '') return '—';
    const decimals = G.status ? G.status.token_decimals : 0;
    let big;
    try { big = BigInt(String(base)); } catch (e) { return String(base); }
    const negative = big < 0n;
    if (negative) big = -big;
    const unit = 10n ** BigInt(decimals);
    const whole = (big / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    let frac = decimals > 0 ? (big % unit).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
    // Six decimals for amounts of a token or more; below one, every digit (tiny amounts such as
    // storage rates would otherwise read as zero).
    if (frac.length > 6 && big >= unit) frac = frac.slice(0, 6).replace(/0+$/, '');
    const text = (negative ? '-' : '') + whole + (frac ? '.' + frac : '');
    return withSymbol === false || !G.status ? text : text + ' ' + G.status.token_symbol;
  }

  /** Tokens as text in a span that keeps the base units in data-raw. */
  function tok(base) {
    return h('span', { 'data-raw': base === undefined || base === null ? '' : String(base) }, tokens(base));
  }

  function number(n) {
    return n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US');
  }

  function time(ms) {
    if (!ms) return '—';
    const d = new Date(Number(ms));
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function ago(ms) {
    const s = Math.max(0, Math.round((Date.now() - Number(ms)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }

  function short(text, n) {
    text = String(text || '');
    n = n || 10;
    return text.length > 2 * n + 1 ? text.slice(0, n) + '…' + text.slice(-6) : text;
  }

  const link = {
    block: (height) => h('a', { href: '#/block/' + height, 'data-link': 'block' }, number(height)),
    tx: (hash) => h('a', { href: '#/tx/' + hash, class: 'mono', 'data-link': 'tx', title: hash }, short(hash, 12)),
    account: (address) => h('a', { href: '#/account/' + address, class: 'mono', 'data-link': 'account', title: address }, address),
    device: (id) => h('a', { href: '#/device/' + id, class: 'mono', 'data-link': 'device', 'data-device-id': id, title: id }, id),
  };

  function kv(rows) {
    return h('table', { class: 'kv' }, h('tbody', {}, rows.filter(Boolean).map(([k, v, name]) =>
      h('tr', {}, h('th', {}, k), h('td', {}, name ? field(name, v) : v)))));
  }

  function card(label, value, name, note) {
    return h('div', { class: 'card' }, h('div', { class: 'label' }, label),
      h('div', { class: 'value', 'data-field': name }, value), note ? h('div', { class: 'note' }, note) : null);
  }

  /** Links for values that name chain objects, text otherwise. */
  function auto(value) {
    if (typeof value === 'string') {
      if (/^gwd1[02-9ac-hj-np-z]{20,}$/.test(value)) return link.device(value);
      if (/^gw1[02-9ac-hj-np-z]{20,}$/.test(value)) return link.account(value);
      return value;
    }
    return value === null || value === undefined ? '—' : String(value);
  }

  /**
   * Renders any JSON the API returns (used for endpoints whose exact shape is owned by another
   * part of the node, e.g. rewards and storage): objects as key/value tables, arrays of objects as
   * tables, values as text with links.
   */
  function generic(value, depth) {
    depth = depth || 0;
    if (Array.isArray(value)) {
      if (value.length === 0) return h('span', { class: 'muted' }, 'none');
      if (value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
        const keys = [...new Set(value.flatMap((v) => Object.keys(v)))];
        return h('table', {}, h('thead', {}, h('tr', {}, keys.map((k) => h('th', {}, k.replace(/_/g, ' '))))),
          h('tbody', {}, value.map((row) => h('tr', {}, keys.map((k) => h('td', {}, generic(row[k], depth + 1)))))));
      }
      return h('span', {}, value.map((v, i) => [i ? ', ' : '', generic(v, depth + 1)]));
    }
    if (value && typeof value === 'object') {
      return h('table', { class: 'kv' }, h('tbody', {}, Object.entries(value).map(([k, v]) =>
        h('tr', {}, h('th', {}, k.replace(/_/g, ' ')), h('td', { 'data-key': k }, generic(v, depth + 1))))));
    }
    return auto(value);
  }

  // ---------------------------------------------------------------------------------------------
  // Charts (SVG, drawn here)

  /** A bar chart of values with optional labels under the first and last bars. */
  function barChart(values, opts) {
    opts = opts || {};
    const W = opts.width || 520, H = opts.height || 140, pad = 26;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', opts.title || 'chart');
    if (opts.name) svg.setAttribute('data-chart', opts.name);
    const make = (tag, attrs, text) => {
      const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      if (text !== undefined) el.textContent = text;
      svg.append(el);
      return el;
    };
    const max = Math.max(1, ...values.map((v) => Number(v) || 0));
    const n = Math.max(values.length, 1);
    const bw = (W - pad - 6) / n;
    make('line', { class: 'axis', x1: pad, y1: H - 18, x2: W - 4, y2: H - 18 });
    make('text', { x: 2, y: 12 }, opts.format ? opts.format(max) : String(max));
    make('text', { x: 2, y: H - 20 }, '0');
    values.forEach((v, i) => {
      const bh = ((Number(v) || 0) / max) * (H - 36);
      const bar = make('rect', {
        class: 'bar' + (opts.alt && opts.alt(i) ? ' alt' : ''), x: pad + i * bw + 1, y: H - 18 - bh,
        width: Math.max(1, bw - 2), height: Math.max(0, bh),
      });
      const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
      title.textContent = (opts.labels ? opts.labels[i] + ': ' : '') + (opts.format ? opts.format(v) : v);
      bar.append(title);
    });
    if (opts.labels && opts.labels.length) {
      make('text', { x: pad, y: H - 4 }, opts.labels[0]);
      make('text', { x: W - 4, y: H - 4, 'text-anchor': 'end' }, opts.labels[opts.labels.length - 1]);
    }
    return svg;
  }

  // ---------------------------------------------------------------------------------------------
  // Routing and live updates

  let page = null;          // the current page: {onBlock?, leave?}
  let routeToken = 0;

  const routes = [
    [/^\/?$/, pageNetwork],
    [/^\/map$/, (m, q) => G.mapPage(view, { h, api, link, number, query: q, setHashQuiet })],
    [/^\/blocks$/, pageBlocks],
    [/^\/block\/(\d+)$/, pageBlock],
    [/^\/tx\/([0-9a-fA-F]{64})$/, pageTx],
    [/^\/account\/([^/]+)$/, pageAccount],
    [/^\/device\/([^/]+)$/, pageDevice],
    [/^\/storage$/, pageStorage],
    [/^\/storage\/deal\/([^/]+)$/, pageDeal],
    [/^\/storage\/client\/([^/]+)$/, pageClientDeals],
    [/^\/cid\/([^/]+)$/, pageCid],
    [/^\/search\/(.+)$/, (m) => search(decodeURIComponent(m[1]))],
  ];

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const [path, qs] = raw.split('?');
    return { path, query: new URLSearchParams(qs || '') };
  }

  /** Updates the hash without routing again (the map keeps its view in the address). */
  function setHashQuiet(hash) {
    history.replaceState(null, '', hash);
  }

  async function route() {
    const token = ++routeToken;
    if (page && page.leave) page.leave();
    page = null;
    const { path, query } = parseHash();
    const section = path.split('/')[1] || 'network';
    document.querySelectorAll('nav a').forEach((a) => {
      const nav = a.getAttribute('data-nav');
      a.classList.toggle('active', nav === section || (nav === 'blocks' && (section === 'block' || section === 'tx')) ||
        (nav === 'storage' && section === 'cid'));
    });
    view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    view.removeAttribute('data-page');
    for (const [re, fn] of routes) {
      const m = path.match(re);
      if (!m) continue;
      try {
        const result = await fn(m, query);
        if (token === routeToken) page = result || null;
      } catch (e) {
        if (token === routeToken) view.replaceChildren(errorBox(e));
      }
      return;
    }
    view.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, 'No page at ' + path + '. ', h('a', { href: '#/' }, 'Network')));
  }

  /** Replaces an element's children, skipping empty slots. */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  }

  /** Shows a page. */
  function show(pageName, ...children) {
    fill(view, ...children);
    view.setAttribute('data-page', pageName);
  }

  async function refreshStatus() {
    G.status = await api('/v1/status');
    document.getElementById('chain').textContent = G.status.chain_id + ' · ' + G.status.moniker + ' · v' + G.status.version;
    return G.status;
  }

  function setLive(height, on) {
    const el = document.getElementById('live');
    el.classList.toggle('on', on);
    el.setAttribute('data-height', height === undefined ? '' : height);
    document.getElementById('live-height').textContent = height === undefined ? 'offline' : 'height ' + number(height);
  }

  let pollTimer = null;
  function connectLive() {
    if (!window.EventSource) return poll();
    const events = new EventSource('/v1/events');
    events.addEventListener('block', (e) => {
      let block;
      try { block = JSON.parse(e.data); } catch (err) { return; }
      onBlock(block);
    });
    events.onerror = () => setLive(G.lastHeight, false);
  }

  function poll() {
    clearInterval(pollTimer);
    pollTimer = setInterval(async () => {
      try {
        const s = await api('/v1/status');
        onBlock({ height: s.height, hash: s.latest_block_hash, time_ms: s.latest_block_time_ms });
      } catch (e) { setLive(G.lastHeight, false); }
    }, 2000);
  }

  function onBlock(block) {
    const fresh = block.height !== G.lastHeight;
    G.lastHeight = block.height;
    G.lastBlock = block;
    setLive(block.height, true);
    if (fresh && page && page.onBlock) page.onBlock(block);
  }

  /** Calls fn at most once per `ms`, the last call winning. */
  function throttle(fn, ms) {
    let last = 0, timer = null;
    return (...args) => {
      const wait = last + ms - Date.now();
      clearTimeout(timer);
      if (wait <= 0) { last = Date.now(); fn(...args); } else timer = setTimeout(() => { last = Date.now(); fn(...args); }, wait);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Search

  function classify(q) {
    q = q.trim();
    if (/^gwd1[0-9a-z]+$/i.test(q)) return '#/device/' + q.toLowerCase();
    if (/^gw1[0-9a-z]+$/i.test(q)) return '#/account/' + q.toLowerCase();
    if (/^\d+$/.test(q)) return '#/block/' + Number(q);
    if (/^(0x)?[0-9a-f]{64}$/i.test(q)) return '#/tx/' + q.replace(/^0x/, '').toLowerCase();
    if (/^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,})$/.test(q)) return '#/cid/' + q;
    return null;
  }

  async function search(q) {
    const target = classify(q);
    if (target) { location.hash = target; return null; }
    show('search', h('h1', {}, 'Search'), h('div', { class: 'error' },
      `"${q}" is not an address (gw1…), a device id (gwd1…), a block height, a transaction hash (64 hex digits) or a CID.`));
    return null;
  }

  document.getElementById('search').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = document.getElementById('search-input');
    const q = input.value.trim();
    if (!q) return;
    location.hash = classify(q) || '#/search/' + encodeURIComponent(q);
    input.blur();
  });

  // ---------------------------------------------------------------------------------------------
  // Network

  async function pageNetwork() {
    const [status, supply, network, blocks, epoch, oracle] = await Promise.all([
      refreshStatus(), api('/v1/supply'), api('/v1/network'), api('/v1/blocks?limit=50'),
      optional('/v1/epochs/latest'), optional('/v1/oracle'),
    ]);
    const root = h('div', {});
    const render = (status, supply, network, blocks, epoch, oracle) => {
      const list = blocks.blocks.slice().reverse();
      const intervals = list.slice(1).map((b, i) => b.time_ms - list[i].time_ms);
      const avg = intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length : null;
      const cards = h('div', { class: 'grid' },
        card('Height', number(status.height), 'height', 'block ' + ago(status.latest_block_time_ms)),
        card('Block time', avg === null ? '—' : (avg / 1000).toFixed(2) + ' s', 'block-time', 'mean of the last ' + intervals.length + ' blocks'),
        card('Validators', number(status.validators.length), 'validators',
          status.finalized_height !== undefined ? 'finalized ' + number(status.finalized_height) : 'power ' + number(status.validators.reduce((a, v) => a + v.power, 0))),
        card('Devices', number(network.devices_total), 'devices-total', number(network.devices_located) + ' on the map'),
        card('Minted', tok(supply.minted), 'minted'),
        card('Burned', tok(supply.burned), 'burned'),
        card('Staked', tok(network.staked), 'staked', tokens(network.unbonding) + ' unbonding'),
        card('Total supply', tok(supply.total), 'supply'),
        card('Epoch', number(network.epoch), 'epoch', `blocks ${number(network.epoch_heights[0])}–${number(network.epoch_heights[1])}`),
      );
      const kinds = Object.entries(network.devices_by_kind);
      const deviceTable = h('table', { 'data-table': 'devices-by-kind' },
        h('thead', {}, h('tr', {}, h('th', {}, 'kind'), h('th', {}, 'active'), h('th', {}, 'decommissioned'))),
        h('tbody', {}, kinds.map(([kind, c]) => h('tr', { 'data-kind': kind },
          h('td', {}, h('span', { class: 'pill kind-' + kind }, kind)),
          h('td', { 'data-status': 'active' }, number(c.active)),
          h('td', { 'data-status': 'decommissioned' }, number(c.decommissioned))))));
      // Validators with whatever fields the node gives (consensus adds some), keys shortened.
      const validators = h('div', { 'data-table': 'validators' }, generic(status.validators.map((v) =>
        Object.fromEntries(Object.entries(v).map(([k, x]) => [k, /key/.test(k) && typeof x === 'string' ? short(x, 14) : x])))));
      // Anything /v1/status carries beyond the basics is consensus state: show it as given.
      const basics = ['moniker', 'chain_id', 'token_symbol', 'token_decimals', 'height', 'latest_block_hash',
        'latest_block_time_ms', 'app_hash', 'mempool_txs', 'validators', 'version'];
      const consensus = Object.keys(status).filter((k) => !basics.includes(k));
      const labels = list.map((b) => '#' + b.height);
      const charts = h('div', { class: 'cols' },
        h('div', { class: 'panel' }, h('h2', {}, 'Block interval (s), last ' + intervals.length + ' blocks'),
          barChart(intervals.map((ms) => ms / 1000), { labels: labels.slice(1), name: 'block-interval', format: (v) => Number(v).toFixed(2) })),
        h('div', { class: 'panel' }, h('h2', {}, 'Device reports per block'),
          barChart(list.map((b) => b.reports), { labels, name: 'reports', format: (v) => number(v) })),
        h('div', { class: 'panel' }, h('h2', {}, 'Transactions per block'),
          barChart(list.map((b) => b.txs), { labels, name: 'txs', format: (v) => number(v) })));
      const epochPanel = h('div', { class: 'panel', 'data-section': 'epoch' }, h('h2', {}, 'Current epoch and emission'),
        epoch.data ? h('div', {}, epochSummary(epoch.data, network), h('div', { 'data-chart-slot': 'epochs' })) :
          epoch.missing ? h('p', { class: 'muted' }, epoch.missing) : unavailable('Epoch rewards and emission'));
      const oraclePanel = h('div', { class: 'panel', 'data-section': 'oracle' }, h('h2', {}, 'Credits oracle'),
        oracle.data ? generic(oracle.data) : oracle.missing ? h('p', { class: 'muted' }, oracle.missing) : unavailable('Credits and the price oracle'));
      fill(root,
        h('h1', {}, 'Network', h('span', { class: 'sub' }, status.chain_id + ' · ' + status.moniker)),
        cards,
        charts,
        h('div', { class: 'cols' },
          h('div', { class: 'panel' }, h('h2', {}, 'Devices by kind and status'), deviceTable),
          h('div', { class: 'panel' }, h('h2', {}, 'Validators'), validators,
            consensus.length ? h('div', { 'data-section': 'consensus' }, h('h2', { style: 'margin-top:1rem' }, 'Consensus'),
              generic(Object.fromEntries(consensus.map((k) => [k, status[k]])))) : null)),
        h('div', { class: 'cols' }, epochPanel, oraclePanel));
      if (epoch.data) drawEpochChart(root.querySelector('[data-chart-slot=epochs]'), epoch.data);
    };
    render(status, supply, network, blocks, epoch, oracle);
    show('network', root);
    // Blocks already summarised are kept: a refresh asks only for the new ones.
    let recent = blocks.blocks;
    const newBlocks = async (height) => {
      const top = recent.length ? recent[0].height : 0;
      if (height > top) {
        const fresh = await api('/v1/blocks?limit=' + Math.min(50, height - top) + '&before=' + (height + 1));
        recent = fresh.blocks.filter((b) => b.height > top).concat(recent).slice(0, 50);
      }
      return { blocks: recent };
    };
    const refresh = throttle(async () => {
      try {
        const status = await refreshStatus();
        const fresh = await Promise.all([api('/v1/supply'), api('/v1/network'), newBlocks(status.height),
          optional('/v1/epochs/latest'), optional('/v1/oracle')]);
        if (page === handle) render(status, ...fresh);
      } catch (e) { /* keep the last view; the live dot shows trouble */ }
    }, 2000);
    const handle = { onBlock: refresh };
    return handle;
  }

  /** The latest paid epoch: where its emission went, pool by pool. */
  function epochSummary(e, network) {
    const pools = (e.pools || []).map((p) => h('tr', { 'data-pool': p.pool, 'data-paid': p.paid },
      h('td', {}, (POOLS[p.pool] || [p.pool])[0]), h('td', {}, tok(p.amount)), h('td', {}, tok(p.paid)),
      h('td', {}, number(p.paid_devices) + ' of ' + number(p.participants)),
      h('td', {}, p.unclaimed !== '0' ? h('span', { class: 'muted' }, tokens(p.unclaimed) + ' unclaimed') : '—')));
    return h('div', { 'data-epoch': e.epoch },
      h('p', {}, 'The chain is in epoch ', h('strong', {}, number(network.epoch)), ' (blocks ', number(network.epoch_heights[0]), '–',
        number(network.epoch_heights[1]), '). Epoch ', h('strong', { 'data-field': 'paid-epoch' }, number(e.epoch)),
        ' was paid at block ', link.block(e.heights[1]), ':'),
      h('div', { class: 'grid' },
        card('Emission', tok(e.emission), 'epoch-emission', e.carried_in !== '0' ? '+ ' + tokens(e.carried_in) + ' carried in' : 'by the schedule'),
        card('Paid to devices', tok(e.paid), 'epoch-paid', number(e.devices_paid) + ' devices of ' + number(e.devices) + ', ' + number(e.owners_paid) + ' owners'),
        card('Minted', tok(e.minted), 'epoch-minted', tokens(e.to_treasury) + ' to the treasury'),
        card('Burned / carried', tok(e.burned), 'epoch-burned', tokens(e.carry_out) + ' carried to the next epoch')),
      h('table', { 'data-table': 'epoch-pools' }, h('thead', {}, h('tr', {}, ['pool', 'amount', 'paid', 'devices paid', 'left over'].map((t) => h('th', {}, t)))),
        h('tbody', {}, pools)),
      e.devices_with_reduced_reputation ? h('p', { class: 'muted small' }, number(e.devices_with_reduced_reputation) + ' devices had their reputation reduced by invalid reports.') : null);
  }

  /** Charts a numeric emission-like field over the epochs before `latest`, if the API has them. */
  async function drawEpochChart(slot, latest) {
    const n = Number(latest.epoch !== undefined ? latest.epoch : latest.number);
    if (!Number.isFinite(n)) return;
    const key = ['emission', 'emitted', 'minted', 'total_rewards', 'rewards'].find((k) => latest[k] !== undefined && /^\d+$/.test(String(latest[k])));
    if (!key) return;
    const epochs = [];
    for (let e = Math.max(0, n - 11); e <= n; e++) epochs.push(e);
    const rows = await Promise.all(epochs.map((e) => api('/v1/epochs/' + e).catch(() => null)));
    const values = rows.map((r) => (r && r[key] !== undefined ? Number(BigInt(String(r[key])) / (10n ** BigInt(G.status.token_decimals))) : 0));
    slot.replaceChildren(h('h2', {}, key.replace(/_/g, ' ') + ' per epoch (tokens)'),
      barChart(values, { labels: epochs.map((e) => 'epoch ' + e), name: 'epochs', format: (v) => number(v) }));
  }

  // ---------------------------------------------------------------------------------------------
  // Blocks and transactions

  function blockRow(b, fresh) {
    return h('tr', { class: fresh ? 'fresh' : '', 'data-height': b.height },
      h('td', {}, link.block(b.height)), h('td', {}, time(b.time_ms)),
      h('td', {}, number(b.txs), b.failed_txs ? h('span', { class: 'bad' }, ' (' + b.failed_txs + ' failed)') : ''),
      h('td', {}, number(b.reports), b.invalid_reports ? h('span', { class: 'muted' }, ' (' + b.invalid_reports + ' invalid)') : ''),
      h('td', { class: 'mono' }, short(b.hash, 12)));
  }

  async function pageBlocks() {
    await refreshStatus();
    const first = await api('/v1/blocks?limit=25');
    const tbody = h('tbody', {}, first.blocks.map((b) => blockRow(b)));
    let next = first.next_before;
    let top = first.blocks.length ? first.blocks[0].height : 0;
    const more = h('button', { 'data-action': 'older' }, 'Older blocks');
    more.disabled = !next;
    more.addEventListener('click', async () => {
      const older = await api('/v1/blocks?limit=25&before=' + next);
      older.blocks.forEach((b) => tbody.append(blockRow(b)));
      next = older.next_before;
      more.disabled = !next;
    });
    show('blocks', h('h1', {}, 'Latest blocks', h('span', { class: 'sub' }, 'new blocks appear as they are committed')),
      h('div', { class: 'panel' }, h('table', { 'data-table': 'blocks' },
        h('thead', {}, h('tr', {}, ['height', 'time', 'transactions', 'reports', 'hash'].map((t) => h('th', {}, t)))), tbody),
      h('div', { class: 'toolbar', style: 'margin-top:0.7rem' }, more)));
    let busy = false;
    return {
      onBlock: async (block) => {
        if (busy || block.height <= top) return;
        busy = true;
        try {
          const fresh = await api('/v1/blocks?limit=' + Math.min(100, block.height - top));
          fresh.blocks.filter((b) => b.height > top).reverse().forEach((b) => tbody.prepend(blockRow(b, true)));
          top = Math.max(top, ...fresh.blocks.map((b) => b.height));
          while (tbody.children.length > 200) tbody.lastChild.remove();
        } catch (e) { /* next block retries */ } finally { busy = false; }
      },
    };
  }

  async function pageBlock(m) {
    await refreshStatus();
    const height = Number(m[1]);
    const b = await api('/v1/blocks/' + height);
    const summary = await api('/v1/blocks?limit=1&before=' + (height + 1));
    const s = summary.blocks[0] || {};
    show('block',
      h('h1', {}, 'Block ', field('height', number(b.height)),
        h('span', { class: 'sub' }, height > 1 ? h('a', { href: '#/block/' + (height - 1) }, '← previous') : '', ' ',
          h('a', { href: '#/block/' + (height + 1) }, 'next →'))),
      h('div', { class: 'panel' }, kv([
        ['hash', b.hash, 'hash'], ['time', time(b.time_ms), 'time'], ['parent', b.parent_hash, 'parent'],
        ['proposer', b.proposer, 'proposer'], ['state root after', b.app_hash, 'app-hash'],
        ['transactions', number(b.txs.length), 'tx-count'],
        ['device reports', s.reports !== undefined ? number(s.reports) + (s.invalid_reports ? ' (' + number(s.invalid_reports) + ' invalid)' : '') : '—', 'report-count'],
      ])),
      h('div', { class: 'panel' }, h('h2', {}, 'Transactions'),
        b.txs.length === 0 ? h('p', { class: 'muted' }, 'No transactions in this block.') :
          h('table', { 'data-table': 'block-txs' }, h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'hash'), h('th', {}, 'result'))),
            h('tbody', {}, b.txs.map((t, i) => h('tr', { 'data-tx': t.hash },
              h('td', {}, i), h('td', {}, link.tx(t.hash)),
              h('td', {}, t.code === 0 ? h('span', { class: 'ok' }, 'ok') : h('span', { class: 'bad' }, 'failed (code ' + t.code + '): ' + t.error))))))));
    return null;
  }

  async function pageTx(m) {
    await refreshStatus();
    const t = await api('/v1/txs/' + m[1].toLowerCase());
    const failed = t.code !== undefined && t.code !== null && t.code !== 0;
    show('tx',
      h('h1', {}, 'Transaction', h('span', { class: 'sub mono' }, t.hash)),
      failed ? h('div', { class: 'failure', 'data-field': 'failure' }, 'Failed with code ' + t.code + ': ' + (t.error || 'no reason recorded')) : null,
      h('div', { class: 'panel' }, kv([
        ['status', t.status + (t.status === 'committed' ? (failed ? ' · failed' : ' · success') : ''), 'status'],
        ['block', t.height !== undefined && t.height !== null ? link.block(t.height) : '—'],
        ['position in block', t.index !== undefined && t.index !== null ? String(t.index) : '—'],
        ['sender', t.sender ? link.account(t.sender) : '—'],
        ['nonce', t.nonce !== undefined && t.nonce !== null ? String(t.nonce) : '—', 'nonce'],
        ['fee offered', tok(t.fee), 'fee'],
        ['fee charged', tok(t.fee_charged), 'fee-charged'],
        ['memo', t.memo || '—'],
      ])),
      h('div', { class: 'panel' }, h('h2', {}, 'Messages'),
        h('table', { 'data-table': 'messages' }, h('thead', {}, h('tr', {}, h('th', {}, 'kind'), h('th', {}, 'to / subject'), h('th', {}, 'amount'))),
          h('tbody', {}, (t.messages || []).map((msg) => h('tr', { 'data-kind': msg.type || msg.kind },
            h('td', {}, msg.type || msg.kind), h('td', {}, msg.to ? auto(msg.to) : '—'), h('td', {}, msg.amount ? tok(msg.amount) : '—')))))),
      h('div', { class: 'panel' }, h('h2', {}, 'Events'),
        (t.events || []).length === 0 ? h('p', { class: 'muted' }, 'No events.') :
          h('table', { 'data-table': 'events' }, h('thead', {}, h('tr', {}, h('th', {}, 'kind'), h('th', {}, 'attributes'))),
            h('tbody', {}, t.events.map((e) => h('tr', { 'data-event': e.kind }, h('td', {}, e.kind),
              h('td', {}, e.attributes.map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, k + ': '), auto(v))))))))));
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Accounts

  async function pageAccount(m) {
    await refreshStatus();
    const address = m[1];
    const [account, stake, credits, supply] = await Promise.all([
      api('/v1/accounts/' + address), api('/v1/accounts/' + address + '/stake'), optional('/v1/credits/' + address),
      api('/v1/supply')]);
    // Credit mints found among the transactions loaded so far (the chain keeps them as events).
    const mintsBody = h('tbody', {});
    const addMints = (t) => (t.credit_mints || []).forEach((m) => mintsBody.append(h('tr', { 'data-mint': t.hash, 'data-credits': m.credits },
      h('td', {}, link.block(t.height)), h('td', {}, link.tx(t.hash)),
      h('td', {}, m.beneficiary === address ? (m.payer === address ? 'bought for itself' : ['received from ', link.account(m.payer)]) : ['bought for ', link.account(m.beneficiary)]),
      h('td', {}, tok(m.burned)), h('td', { class: 'ok' }, '+' + number(m.credits)),
      h('td', {}, '$' + (m.micro_fiat_per_token / 1e6).toFixed(2) + ' per token'))));
    const mintsNote = () => {
      if (!mintsBody.children.length) mintsBody.append(h('tr', { 'data-empty': '' }, h('td', { colspan: 6, class: 'muted' }, 'No credit mints among the transactions loaded below.')));
      else mintsBody.querySelectorAll('tr[data-empty]').forEach((r) => r.remove());
    };
    const devicesBody = h('tbody', {});
    const devicesMore = h('button', { 'data-action': 'more-devices' }, 'More devices');
    let devicesCursor = null;
    const loadDevices = async () => {
      const page = await api('/v1/devices?limit=20&owner=' + address + (devicesCursor ? '&cursor=' + devicesCursor : ''));
      page.devices.forEach((d) => devicesBody.append(h('tr', {}, h('td', {}, link.device(d.id)),
        h('td', {}, h('span', { class: 'pill kind-' + d.kind }, d.kind)), h('td', {}, h('span', { class: 'pill ' + d.status }, d.status)),
        h('td', {}, tok(d.stake)))));
      devicesCursor = page.next_cursor;
      devicesMore.disabled = !devicesCursor;
      if (!devicesBody.children.length) devicesBody.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No devices.')));
    };
    devicesMore.addEventListener('click', loadDevices);
    const txBody = h('tbody', {});
    const txMore = h('button', { 'data-action': 'more-txs' }, 'Older transactions');
    let txBefore = null;
    const loadTxs = async () => {
      const page = await api('/v1/accounts/' + address + '/txs?limit=20' + (txBefore ? '&before=' + txBefore : ''));
      page.txs.forEach((t) => txBody.append(h('tr', { 'data-tx': t.hash }, h('td', {}, link.tx(t.hash)), h('td', {}, link.block(t.height)),
        h('td', {}, t.role), h('td', {}, t.code === 0 ? h('span', { class: 'ok' }, 'ok') : h('span', { class: 'bad' }, 'failed: ' + t.error)),
        h('td', {}, time(t.time_ms)))));
      page.txs.forEach(addMints);
      mintsNote();
      txBefore = page.next_before;
      txMore.disabled = !txBefore;
      if (!txBody.children.length) txBody.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No transactions.')));
    };
    txMore.addEventListener('click', loadTxs);
    await Promise.all([loadDevices(), loadTxs()]);
    show('account',
      h('h1', {}, 'Account', h('span', { class: 'sub mono', 'data-field': 'address' }, account.address)),
      h('div', { class: 'grid' },
        card('Balance', tok(account.balance), 'balance'),
        card('Nonce', String(account.nonce), 'nonce', 'next ' + account.next_nonce),
        card('Staked', tok(stake.bonded), 'staked', number(stake.devices) + ' devices'),
        card('Unbonding', tok(stake.unbonding.reduce((a, u) => a + BigInt(u.amount), 0n).toString()), 'unbonding', stake.unbonding.length + ' entries')),
      h('div', { class: 'panel', 'data-section': 'credits' }, h('h2', {}, 'Service credits'),
        credits.data ? [
          h('div', { class: 'grid' },
            card('Credits', number(credits.data.credits), 'credits', 'at height ' + number(credits.data.height)),
            card('Worth', '$' + (Number(credits.data.micro_fiat_value) / 1e6).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 }), 'credits-value', 'at the fixed credit price')),
          h('p', { class: 'muted small' }, 'Credits pay for service (such as data carried by devices). They are minted by burning tokens at the oracle\'s price and cannot be transferred.'),
          h('h3', {}, 'Recent credit mints'),
          h('div', { class: 'scroll' }, h('table', { 'data-table': 'credit-mints' }, h('thead', {}, h('tr', {}, ['block', 'transaction', 'what', 'tokens burned', 'credits', 'price'].map((t) => h('th', {}, t)))), mintsBody)),
          h('h3', {}, 'Spending'),
          h('p', { class: 'muted small', 'data-field': 'credit-spends' }, 'Credits are spent when devices report data they carried for this account; the chain judges each receipt but keeps no per-account list of spends. Network-wide since genesis: ',
            number(supply.breakdown.credits_minted), ' credits minted, ', number(supply.breakdown.credits_spent), ' spent.'),
        ] : credits.missing ? h('p', { class: 'muted' }, credits.missing) : unavailable('Credits')),
      h('div', { class: 'cols' },
        h('div', { class: 'panel' }, h('h2', {}, 'Devices owned'),
          h('table', { 'data-table': 'devices' }, h('thead', {}, h('tr', {}, ['device', 'kind', 'status', 'stake'].map((t) => h('th', {}, t)))), devicesBody),
          h('div', { class: 'toolbar', style: 'margin-top:0.6rem' }, devicesMore)),
        h('div', { class: 'panel' }, h('h2', {}, 'Recent transactions'),
          h('table', { 'data-table': 'txs' }, h('thead', {}, h('tr', {}, ['hash', 'block', 'role', 'result', 'time'].map((t) => h('th', {}, t)))), txBody),
          h('div', { class: 'toolbar', style: 'margin-top:0.6rem' }, txMore))),
      stake.unbonding.length ? h('div', { class: 'panel' }, h('h2', {}, 'Unbonding'), generic(stake.unbonding)) : null);
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Rewards: why a device earned what it did

  const POOLS = {
    uptime: ['Uptime', 'being online: valid heartbeats through the epoch'],
    coverage: ['Coverage', 'radio coverage: its beacons heard by others and the beacons it heard (HIP-15)'],
    data_transfer: ['Data transfer', 'traffic users paid for with credits'],
    sensor_data: ['Sensor data', 'valid sensor readings'],
    storage: ['Storage', 'data stored and proven'],
    compute: ['Compute', 'verified computation'],
  };
  const POOL_COLORS = { uptime: '#1f7a5c', coverage: '#2b6cb0', data_transfer: '#7c3aed', sensor_data: '#d97706', storage: '#0f766e', compute: '#be185d' };

  /** A decimal string as a number for display (the API gives exact decimals as text). */
  function dec(text) {
    const v = Number(text);
    return Number.isFinite(v) ? v : 0;
  }

  function times(text) {
    const v = dec(text);
    return '×' + (Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, ''));
  }

  function percent(part, whole) {
    const p = dec(whole) > 0 ? (100 * dec(part)) / dec(whole) : 0;
    return p === 0 ? '0 %' : p < 0.01 ? '< 0.01 %' : p.toFixed(p < 1 ? 2 : 1) + ' %';
  }

  /** What a pool line's work was, in words, from the epoch's counts. */
  function workIn(pool, line, e) {
    const c = e.counts || {};
    switch (pool) {
      case 'uptime': return number(c.heartbeats || 0) + ' heartbeats (' + number(e.min_heartbeats) + ' needed)';
      case 'coverage': return number(c.beacons || 0) + ' beacons, ' + number(c.witnesses || 0) + ' witnessed → ' + dec(line.units).toFixed(3) + ' units';
      case 'data_transfer': return number(c.data_transfers || 0) + ' receipts, ' + number(c.data_bytes || 0) + ' bytes, ' + number(c.credits_spent || 0) + ' credits';
      case 'sensor_data': return number(c.sensor_readings || 0) + ' readings';
      default: return dec(line.units).toFixed(3) + ' units';
    }
  }

  function ineligibleIn(reason, e) {
    const c = e.counts || {};
    if (reason === 'too_few_heartbeats') return 'not eligible: ' + number(c.heartbeats || 0) + ' of ' + number(e.min_heartbeats) + ' heartbeats needed';
    if (reason === 'no_location') return 'not eligible: no asserted location (density scaling needs one)';
    if (reason === 'disqualified') return 'not eligible: reputation below the disqualification threshold';
    return 'not eligible: ' + reason;
  }

  /** One epoch's breakdown laid out to answer "why did my device earn this?". */
  function rewardBreakdown(e) {
    const total = BigInt(e.total || '0');
    const counts = e.counts || {};
    const paidLines = e.lines.filter((l) => BigInt(l.amount) > 0n);
    // Where the total came from, as one bar split by pool.
    const bar = h('div', { class: 'share-bar', 'data-chart': 'reward-split' },
      paidLines.map((l) => h('span', {
        style: `width:${total > 0n ? Number((BigInt(l.amount) * 10000n) / total) / 100 : 0}%;background:${POOL_COLORS[l.pool] || '#667'}`,
        title: (POOLS[l.pool] || [l.pool])[0] + ': ' + tokens(l.amount),
      })));
    const legend = h('div', { class: 'legend' }, paidLines.map((l) =>
      h('span', {}, h('i', { style: 'background:' + (POOL_COLORS[l.pool] || '#667') }), (POOLS[l.pool] || [l.pool])[0] + ' ' + tokens(l.amount))));
    const pools = h('table', { 'data-table': 'reward-pools' },
      h('thead', {}, h('tr', {}, ['pool', 'work counted', 'density', 'reputation', 'weight', 'share of the pool', 'pool', 'earned'].map((t) => h('th', {}, t)))),
      h('tbody', {}, e.lines.map((l) => {
        const [name, what] = POOLS[l.pool] || [l.pool, ''];
        return h('tr', { 'data-pool': l.pool, 'data-amount': l.amount, class: l.ineligible ? 'ineligible' : '' },
          h('td', {}, h('strong', {}, name), h('div', { class: 'muted small' }, what)),
          h('td', {}, workIn(l.pool, l, e)),
          h('td', { title: 'HIP-17: fewer devices nearby keep more of their units' }, times(l.density_scale)),
          h('td', {}, times(l.reputation)),
          h('td', {}, dec(l.weight).toFixed(3)),
          h('td', { 'data-field': 'share' }, l.ineligible ? h('span', { class: 'bad' }, ineligibleIn(l.ineligible, e)) :
            [percent(l.weight, l.pool_total_weight), h('div', { class: 'muted small' }, dec(l.weight).toFixed(3) + ' of ' + dec(l.pool_total_weight).toFixed(3))]),
          h('td', {}, tok(l.pool_amount)),
          h('td', { 'data-field': 'earned' }, h('strong', {}, tok(l.amount))));
      })));
    const work = [
      ['heartbeats', 'Heartbeats (online)', counts.heartbeats],
      ['beacons', 'Beacons sent', counts.beacons],
      ['beacon-witnesses', 'Witnesses of its beacons', counts.beacon_witnesses],
      ['witnesses', 'Beacons it witnessed', counts.witnesses],
      ['data-transfers', 'Data receipts', counts.data_transfers],
      ['sensor-readings', 'Sensor readings', counts.sensor_readings],
    ].filter(([, , n]) => n);
    const workTable = h('table', { 'data-table': 'reward-work' },
      h('thead', {}, h('tr', {}, h('th', {}, 'reports this epoch'), h('th', {}, 'counted'))),
      h('tbody', {},
        work.length ? work.map(([key, label, n]) => h('tr', { 'data-work': key }, h('td', {}, label), h('td', { class: 'ok' }, number(n) + ' valid'))) :
          h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'No valid reports counted.')),
        h('tr', { 'data-work': 'invalid' }, h('td', {}, 'Refused (invalid) reports'),
          h('td', { class: counts.invalid ? 'bad' : 'muted', 'data-field': 'invalid-reports' }, number(counts.invalid || 0) + ' invalid' + (counts.invalid ? ': each lowers its reputation' : '')))));
    const multiplier = dec(e.reputation);
    const reputation = h('div', { class: 'callout' + (multiplier === 0 ? ' bad-callout' : ''), 'data-field': 'reputation' },
      h('strong', {}, 'Reputation ', times(e.reputation)), ': audit score ', dec(e.reputation_score).toFixed(4),
      multiplier === 0 ? ' — disqualified: below the threshold, so it earns nothing until valid reports raise it.' :
        multiplier < 1 ? ' — reduced by invalid reports; valid reports raise it again.' : ' — a spotless record keeps every unit.');
    return h('div', { 'data-epoch': e.epoch },
      h('div', { class: 'earned-headline' },
        h('div', {}, h('div', { class: 'label' }, 'Earned in epoch ' + number(e.epoch)),
          h('div', { class: 'big', 'data-field': 'rewards-total' }, tok(e.total))),
        h('div', { class: 'muted' }, 'credited to ', link.account(e.owner))),
      total > 0n ? [bar, legend] : h('p', { class: 'muted' }, 'Nothing earned this epoch: see the reasons in the table below.'),
      h('h3', {}, 'Where it came from'),
      h('p', { class: 'muted small' }, 'Each pool is shared by weight: work counted × density × reputation. Its share of the pool is its weight over every device\'s weight in that pool.'),
      pools,
      h('div', { class: 'cols' },
        h('div', {}, h('h3', {}, 'What counted'), workTable),
        h('div', {}, h('h3', {}, 'Reputation'), reputation)),
      h('details', {}, h('summary', {}, 'The same in sentences'),
        h('ul', { 'data-list': 'explanation' }, (e.explanation || []).map((t) => h('li', {}, t)))));
  }

  // ---------------------------------------------------------------------------------------------
  // Devices

  async function pageDevice(m, query) {
    const status = await refreshStatus();
    const id = m[1];
    const [d, network] = await Promise.all([api('/v1/devices/' + id), api('/v1/network')]);
    const current = network.epoch;
    // The last finished epoch by default: its verdicts are complete and its rewards are paid.
    let epoch = query.has('epoch') ? Number(query.get('epoch')) : Math.max(0, current - 1);
    const verdictSlot = h('div', {});
    const rewardSlot = h('div', {});
    const epochLabel = h('strong', { 'data-field': 'epoch' }, String(epoch));
    const prev = h('button', { 'data-action': 'prev-epoch' }, '← epoch');
    const next = h('button', { 'data-action': 'next-epoch' }, 'epoch →');
    const load = async () => {
      epochLabel.textContent = String(epoch);
      prev.disabled = epoch <= 0;
      next.disabled = epoch >= current;
      verdictSlot.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      rewardSlot.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      const [verdicts, rewards] = await Promise.all([
        api('/v1/devices/' + id + '/verdicts?epoch=' + epoch).catch((e) => e),
        optional('/v1/devices/' + id + '/rewards?epoch=' + epoch).catch((e) => ({ error: e })),
      ]);
      if (verdicts instanceof Error) verdictSlot.replaceChildren(errorBox(verdicts));
      else {
        const valid = verdicts.verdicts.filter((v) => v.verdict === 'valid').length;
        const invalid = verdicts.verdicts.length - valid;
        const reasons = {};
        verdicts.verdicts.filter((v) => v.verdict !== 'valid').forEach((v) => {
          const key = v.kind + ': ' + v.reason.replace(/[-\d.]+/g, '#');
          reasons[key] = (reasons[key] || 0) + 1;
        });
        fill(verdictSlot,
          h('p', {}, 'Blocks ', number(verdicts.heights[0]), '–', number(verdicts.heights[1]), ': ',
            h('span', { class: 'ok', 'data-field': 'valid-count' }, String(valid)), ' valid, ',
            h('span', { class: invalid ? 'bad' : '', 'data-field': 'invalid-count' }, String(invalid)), ' invalid',
            verdicts.verdicts.length >= 500 ? ' (first 500 shown)' : '', '.'),
          verdicts.counts ? h('details', {}, h('summary', {}, 'Epoch counts kept by the chain'), generic(verdicts.counts)) : null,
          Object.keys(reasons).length ? h('div', { class: 'failure' }, h('strong', {}, 'Why reports were refused: '),
            Object.entries(reasons).map(([r, n]) => h('div', {}, n + ' × ' + r))) : null,
          verdicts.verdicts.length === 0 ? h('p', { class: 'muted' }, 'No reports judged in this epoch.') :
            h('table', { 'data-table': 'verdicts' }, h('thead', {}, h('tr', {}, ['block', 'kind', 'counter', 'verdict', 'reason'].map((t) => h('th', {}, t)))),
              h('tbody', {}, verdicts.verdicts.slice().reverse().map((v) => h('tr', { 'data-verdict': v.verdict },
                h('td', {}, link.block(v.height)), h('td', {}, v.kind), h('td', {}, number(v.counter)),
                h('td', {}, h('span', { class: 'pill ' + v.verdict }, v.verdict), v.code ? ' ' + v.code : ''),
                h('td', {}, v.reason || '—'))))));
      }
      if (rewards.error) rewardSlot.replaceChildren(errorBox(rewards.error));
      else if (rewards.unavailable) rewardSlot.replaceChildren(unavailable('Per-epoch rewards'));
      else if (rewards.missing) rewardSlot.replaceChildren(h('p', { class: 'muted', 'data-state': 'missing' }, rewards.missing));
      else rewardSlot.replaceChildren(h('div', { 'data-state': 'rewards' }, rewards.data.epochs.map(rewardBreakdown)));
    };
    prev.addEventListener('click', () => { epoch -= 1; load(); });
    next.addEventListener('click', () => { epoch += 1; load(); });
    // Its earnings over the recent epochs; a bar opens that epoch.
    const history = h('div', { 'data-section': 'reward-history', class: 'history' });
    optional('/v1/devices/' + id + '/rewards?limit=12').then((r) => {
      if (!r.data || !r.data.epochs.length) return;
      const list = r.data.epochs.slice().reverse();
      const decimals = BigInt(G.status ? G.status.token_decimals : 0);
      const chart = barChart(list.map((x) => Number(BigInt(x.total)) / Number(10n ** decimals)),
        { labels: list.map((x) => 'epoch ' + x.epoch), name: 'device-rewards', format: (v) => Number(v).toLocaleString('en-US', { maximumFractionDigits: 4 }) });
      chart.querySelectorAll('rect.bar').forEach((bar, i) => {
        bar.style.cursor = 'pointer';
        bar.addEventListener('click', () => { epoch = list[i].epoch; load(); });
      });
      history.replaceChildren(h('h3', {}, 'Earned per epoch (tokens), last ' + list.length), chart);
    }).catch(() => {});
    const mapLink = d.location ? h('a', { href: '#/map?cell=' + d.location, 'data-link': 'map' }, d.location) : '—';
    show('device',
      h('h1', {}, 'Device', h('span', { class: 'sub mono', 'data-field': 'device-id' }, d.id),
        h('span', { class: 'pill kind-' + d.kind, 'data-field': 'kind' }, d.kind),
        h('span', { class: 'pill ' + d.status, 'data-field': 'status' }, d.status)),
      h('nav', { class: 'toolbar' }, h('a', { href: '#/device/' + id + '?epoch=' + epoch, 'data-link': 'verdicts', onclick: (e) => { e.preventDefault(); document.getElementById('verdicts').scrollIntoView(); } }, 'Verdicts'),
        ' · ', h('a', { href: '#/device/' + id, 'data-link': 'rewards', onclick: (e) => { e.preventDefault(); document.getElementById('rewards').scrollIntoView(); } }, 'Rewards')),
      h('div', { class: 'cols' },
        h('div', { class: 'panel' }, h('h2', {}, 'Record'), kv([
          ['owner', link.account(d.owner), 'owner'],
          ['maker', d.maker, 'maker'],
          ['public key', d.public_key, 'public-key'],
          ['location (H3)', mapLink, 'location'],
          ['location assertions', String(d.location_asserts), 'location-asserts'],
          ['antenna gain', d.antenna_gain_dbi + ' dBi', 'antenna'],
          ['elevation', d.elevation_m + ' m', 'elevation'],
          ['onboarded at', link.block(d.onboarded_height), 'onboarded'],
          ['last report counter', d.last_report_counter === null || d.last_report_counter === undefined ? '—' : number(d.last_report_counter), 'last-counter'],
        ])),
        h('div', { class: 'panel' }, h('h2', {}, 'Stake'), h('div', { class: 'grid' }, card('Bonded', tok(d.stake), 'stake')),
          h('p', { class: 'muted' }, 'Stake is collateral against fraud; it is slashed for provable cheating and returned, after unbonding, when the device is decommissioned.'))),
      h('div', { class: 'toolbar' }, prev, h('span', {}, 'Epoch ', epochLabel, ' of ', number(current)), next),
      h('div', { class: 'panel', id: 'verdicts', 'data-section': 'verdicts' }, h('h2', {}, 'Verdicts of its reports'), verdictSlot),
      h('div', { class: 'panel', id: 'rewards', 'data-section': 'rewards' }, h('h2', {}, 'Rewards: why it earned what it earned'), rewardSlot, history));
    await load();
    void status;
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Storage

  function bytes(n) {
    n = Number(n) || 0;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n >= 100 ? 0 : 1)) + ' ' + units[i];
  }

  /** A bar filled to `part / whole`, with a label. */
  function meter(part, whole, label, cls) {
    const pct = whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
    return h('div', { class: 'meter ' + (cls || '') }, h('span', { style: 'width:' + pct.toFixed(1) + '%' }), h('em', {}, label));
  }

  function providersTable(list) {
    return h('table', { 'data-table': 'providers' },
      h('thead', {}, h('tr', {}, ['provider', 'status', 'capacity', 'price per GiB per period', 'reputation', 'proofs', 'slashed'].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.length === 0 ? h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No storage providers registered yet.')) :
        list.map((p) => h('tr', { 'data-provider': p.device, 'data-capacity': p.capacity_bytes, 'data-reserved': p.reserved_bytes,
          'data-price': p.price_per_gib_period, 'data-reputation': p.reputation_ppm, 'data-passes': p.passes, 'data-misses': p.misses },
        h('td', {}, link.device(p.device), h('div', { class: 'muted small mono' }, p.endpoint)),
        h('td', {}, h('span', { class: 'pill ' + (p.status === 'active' ? 'active' : p.status === 'failed' ? 'invalid' : 'decommissioned') }, p.status)),
        h('td', {}, meter(p.reserved_bytes, p.capacity_bytes, bytes(p.reserved_bytes) + ' of ' + bytes(p.capacity_bytes) + ' used'),
          h('div', { class: 'muted small' }, bytes(p.free_bytes) + ' free')),
        h('td', {}, tok(p.price_per_gib_period)),
        h('td', {}, meter(p.reputation_ppm, 1e6, (p.reputation_ppm / 1e4).toFixed(2) + ' %', p.reputation_ppm < 900000 ? 'warn' : ''),
          p.consecutive_failures ? h('div', { class: 'bad small' }, p.consecutive_failures + ' missed in a row') : null),
        h('td', {}, h('span', { class: 'ok' }, number(p.passes) + ' passed'), ' · ', h('span', { class: p.misses ? 'bad' : 'muted' }, number(p.misses) + ' missed')),
        h('td', {}, p.slashed === '0' ? h('span', { class: 'muted' }, '—') : h('span', { class: 'bad' }, tok(p.slashed)))))));
  }

  /**
   * A deal's proof history at a glance: one row per provider, one column per proving period
   * (the latest 24), each cell passed (✓), missed (✗) or not settled yet (·).
   */
  function proofGrid(deal) {
    const proofs = deal.proofs || [];
    const providers = [];
    const seen = new Set();
    const add = (p) => { if (!seen.has(p)) { seen.add(p); providers.push(p); } };
    deal.segments.forEach((seg) => seg.pieces.forEach((piece) => add(piece.provider)));
    proofs.forEach((p) => add(p.provider));
    const outcome = new Map(proofs.map((p) => [p.period + '/' + p.provider, p]));
    const lastSettled = proofs.reduce((m, p) => Math.max(m, p.period), deal.start_period - 1);
    const last = Math.min(deal.end_period - 1, Math.max(lastSettled, deal.start_period));
    const first = Math.max(deal.start_period, last - 23);
    const periods = [];
    for (let g = first; g <= last; g++) periods.push(g);
    const passed = proofs.filter((p) => p.outcome === 'proven').length;
    const missed = proofs.length - passed;
    return h('div', { class: 'proofs', 'data-proofs': deal.id },
      h('p', {}, h('span', { class: 'ok', 'data-field': 'proofs-passed' }, number(passed) + ' passed'), ' · ',
        h('span', { class: missed ? 'bad' : 'muted', 'data-field': 'proofs-missed' }, number(missed) + ' missed'),
        h('span', { class: 'muted' }, ' — periods ' + number(deal.start_period) + '–' + number(deal.end_period - 1) + ' of the deal' +
          (first > deal.start_period ? ', the latest ' + periods.length + ' shown' : ''))),
      h('table', { class: 'proof-grid', 'data-table': 'proof-grid' },
        h('thead', {}, h('tr', {}, h('th', {}, 'provider \\ period'), periods.map((g) => h('th', {}, String(g))))),
        h('tbody', {}, providers.map((prov) => h('tr', { 'data-provider': prov },
          h('td', {}, link.device(prov)),
          periods.map((g) => {
            const p = outcome.get(g + '/' + prov);
            const state = p ? (p.outcome === 'proven' ? 'proven' : 'missed') : 'open';
            return h('td', { class: 'cell-' + state, 'data-period': g, 'data-outcome': state,
              title: p ? `period ${g}: ${p.outcome} at block ${p.height}, paid ${tokens(p.paid)}` : `period ${g}: not settled` },
            state === 'proven' ? '✓' : state === 'missed' ? '✗' : '·');
          }))))));
  }

  /** A deal's summary card; with its proof history when the deal came with one. */
  function dealCard(deal) {
    const healthy = deal.segments.map((seg) => seg.pieces.filter((p) => !p.missed_last).length);
    return h('div', { class: 'panel deal', 'data-deal': deal.id },
      h('h2', {}, h('a', { href: '#/storage/deal/' + deal.id, 'data-link': 'deal' }, 'Deal ' + deal.id), ' ',
        h('span', { class: 'pill ' + (deal.status === 'active' ? 'active' : 'decommissioned') }, deal.status)),
      h('div', { class: 'grid' },
        card('File', bytes(deal.file_size), null, h('a', { href: '#/cid/' + deal.cid, class: 'mono', 'data-link': 'cid' }, short(deal.cid, 14))),
        card('Erasure', deal.data_pieces + ' of ' + deal.total_pieces, null, deal.segments.length + ' segment' + (deal.segments.length === 1 ? '' : 's') +
          ', healthy pieces ' + healthy.join(', ') + ' (repair at ' + deal.repair_threshold + ')'),
        card('Escrow left', tok(deal.escrow_left), null, 'of ' + tokens(deal.escrowed_total) + '; paid ' + tokens(deal.paid_to_providers)),
        card('Client', h('a', { href: '#/account/' + deal.client, class: 'mono small', 'data-link': 'account', title: deal.client }, short(deal.client, 12)),
          null, 'created at block ' + number(deal.created_height))),
      deal.proofs ? proofGrid(deal) : null);
  }

  /** The deals of a listing, each with its proof history (one request per deal, at most 10). */
  async function dealCards(list) {
    const shown = list.slice(0, 10);
    const full = await Promise.all(shown.map((d) => api('/v1/storage/deals/' + d.id).catch(() => d)));
    return full.map(dealCard);
  }

  async function pageStorage() {
    await refreshStatus();
    const [providers, deals] = await Promise.all([optional('/v1/storage/providers?limit=100'), optional('/v1/storage/deals?limit=10')]);
    const dealInput = h('input', { placeholder: 'deal id', 'aria-label': 'deal id' });
    const clientInput = h('input', { placeholder: 'client address gw1…', 'aria-label': 'client address', size: 46 });
    let summary = null;
    if (providers.data) {
      const list = providers.data.providers;
      const capacity = list.reduce((a, p) => a + p.capacity_bytes, 0);
      const reserved = list.reduce((a, p) => a + p.reserved_bytes, 0);
      summary = h('div', { class: 'grid' },
        card('Providers', number(list.length) + (providers.data.next_cursor ? '+' : ''), 'providers-count', list.filter((p) => p.status === 'active').length + ' active'),
        card('Capacity', bytes(capacity), 'capacity', bytes(reserved) + ' reserved by deals'),
        card('Proofs', number(list.reduce((a, p) => a + p.passes, 0)), 'passes', number(list.reduce((a, p) => a + p.misses, 0)) + ' periods missed'));
    }
    show('storage',
      h('h1', {}, 'Storage', h('span', { class: 'sub' }, 'providers, deals and their proofs')),
      summary,
      h('div', { class: 'panel', 'data-section': 'providers' }, h('h2', {}, 'Providers'),
        providers.data ? providersTable(providers.data.providers) : providers.missing ? h('p', { class: 'muted' }, providers.missing) : unavailable('The storage market')),
      h('div', { class: 'panel' }, h('h2', {}, 'Find deals'),
        h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); if (dealInput.value.trim()) location.hash = '#/storage/deal/' + encodeURIComponent(dealInput.value.trim()); } },
          dealInput, h('button', {}, 'Open deal')),
        h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); if (clientInput.value.trim()) location.hash = '#/storage/client/' + encodeURIComponent(clientInput.value.trim()); } },
          clientInput, h('button', {}, 'Deals of client'))),
      h('div', { 'data-section': 'deals' }, h('h2', {}, 'Latest deals'),
        deals.data ? (deals.data.deals.length ? await dealCards(deals.data.deals) : h('p', { class: 'muted' }, 'No deals yet.')) :
          deals.missing ? h('p', { class: 'muted' }, deals.missing) : unavailable('Storage deals')));
    return null;
  }

  async function pageDeal(m) {
    await refreshStatus();
    const id = decodeURIComponent(m[1]);
    const deal = await optional('/v1/storage/deals/' + encodeURIComponent(id));
    const d = deal.data;
    show('deal', h('h1', {}, 'Storage deal', h('span', { class: 'sub mono', 'data-field': 'deal-id' }, id)),
      h('div', { 'data-section': 'deal' },
        d ? [dealCard(d),
          h('div', { class: 'panel' }, h('h2', {}, 'Pieces'),
            d.segments.map((seg, i) => h('div', {}, h('h3', {}, 'Segment ' + i + ' · ' + bytes(seg.length)),
              h('table', { 'data-table': 'pieces' }, h('thead', {}, h('tr', {}, ['piece', 'provider', 'size', 'rate per period', 'since period', 'last period'].map((t) => h('th', {}, t)))),
                h('tbody', {}, seg.pieces.map((p) => h('tr', {},
                  h('td', {}, p.index < d.data_pieces ? 'data ' + p.index : 'parity ' + p.index), h('td', {}, link.device(p.provider),
                    p.previous_provider ? h('div', { class: 'muted small' }, 'repaired from ', link.device(p.previous_provider)) : null),
                  h('td', {}, bytes(p.size)), h('td', {}, tok(p.rate)), h('td', {}, number(p.since_period)),
                  h('td', {}, p.missed_last ? h('span', { class: 'bad' }, 'missed') : h('span', { class: 'ok' }, 'ok'))))))))),
          h('div', { class: 'panel' }, h('h2', {}, 'Escrow'), kv([
            ['escrowed', tok(d.escrowed_total)], ['left', tok(d.escrow_left)], ['kept for repairs', tok(d.repair_reserve_left)],
            ['paid to providers', tok(d.paid_to_providers)], ['paid to repairers', tok(d.paid_to_repairers)], ['refunded', tok(d.refunded)],
            ['ended at', d.ended_height ? link.block(d.ended_height) : '—']]))] :
          deal.missing ? h('p', { class: 'error' }, deal.missing) : unavailable('Storage deals')));
    return null;
  }

  async function pageClientDeals(m) {
    await refreshStatus();
    const client = decodeURIComponent(m[1]);
    const deals = await optional('/v1/storage/deals?client=' + encodeURIComponent(client));
    show('client-deals', h('h1', {}, 'Deals of ', h('span', { class: 'sub mono' }, client)),
      h('div', { 'data-section': 'deals' },
        deals.data ? (deals.data.deals.length ? await dealCards(deals.data.deals) : h('p', { class: 'muted' }, 'This client has no deals.')) :
          deals.missing ? h('p', { class: 'error' }, deals.missing) : unavailable('Storage deals')));
    return null;
  }

  async function pageCid(m) {
    await refreshStatus();
    const cid = decodeURIComponent(m[1]);
    const deals = await optional('/v1/storage/deals?cid=' + encodeURIComponent(cid));
    // Only deals that name this CID (a node that ignored the filter must not make other deals
    // look like this content's).
    const mine = deals.data ? deals.data.deals.filter((d) => d.cid === cid) : [];
    show('cid', h('h1', {}, 'Content', h('span', { class: 'sub mono', 'data-field': 'cid' }, cid)),
      h('div', { 'data-section': 'cid' },
        deals.data ? (mine.length ? await dealCards(mine) : h('p', { class: 'muted' }, 'No deal stores this content.')) :
          deals.missing ? h('p', { class: 'error' }, deals.missing) : unavailable('Storage deals by content id')));
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  G.h = h;
  G.api = api;
  G.tokens = tokens;
  window.addEventListener('hashchange', route);
  refreshStatus().then((s) => setLive(s.height, false)).catch(() => setLive(undefined, false));
  connectLive();
  route();
})();
