// Drives the node's dashboard in Debian's chromium (headless) with playwright-core, clicking
// through it like a person would, and prints what each page showed as one JSON object on the
// last line of standard output. The Rust test (crates/cli/tests/dashboard_browser.rs) compares
// that with the JSON API. Screenshots go to the directory given.
//
// usage: node dashboard.mjs <base url> <screenshot dir> <user data dir> [<cid>]
// With a CID (of a deal the test created), the search box and the storage pages are checked
// with it.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [base, shots, profile, cid] = process.argv.slice(2);
if (!base || !shots || !profile) {
  console.error('usage: node dashboard.mjs <base url> <screenshot dir> <user data dir> [<cid>]');
  process.exit(2);
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1360, height: 900 },
});
const out = { errors: [], requests: [], not_found: [] };
const page = context.pages()[0] || (await context.newPage());
// Generous: a loaded two-core machine may build, test and run chromium at once.
page.setDefaultTimeout(60000);
page.on('pageerror', (e) => out.errors.push('page error: ' + e.message));
// Endpoints a node lacks answer 404 and the page says "not available": the browser logs those
// as failed loads; they are collected in not_found (the test checks which they were).
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 404/.test(m.text())) out.errors.push('console: ' + m.text());
});
page.on('response', (r) => { if (r.status() === 404) out.not_found.push(new URL(r.url()).pathname); });
page.on('request', (r) => { if (!r.url().startsWith(base)) out.requests.push(r.url()); });

const text = (sel) => page.locator(sel).first().innerText();
const raw = (sel) => page.locator(sel + ' [data-raw]').first().getAttribute('data-raw');
const int = (s) => Number(String(s).replace(/[^\d]/g, ''));
const shot = (name) => page.screenshot({ path: path.join(shots, name), fullPage: false });
async function go(hash, pageName) {
  await page.goto(base + '/' + hash);
  await page.waitForSelector(`main[data-page="${pageName}"]`);
}

try {
  // Network.
  await go('#/', 'network');
  out.network = {
    height: int(await text('[data-field=height]')),
    validators: int(await text('[data-field=validators]')),
    devices_total: int(await text('[data-field=devices-total]')),
    minted: await raw('[data-field=minted]'),
    burned: await raw('[data-field=burned]'),
    staked: await raw('[data-field=staked]'),
    supply: await raw('[data-field=supply]'),
    epoch: int(await text('[data-field=epoch]')),
    by_kind: await page.$$eval('[data-table=devices-by-kind] tbody tr', (rows) => Object.fromEntries(rows.map((r) => [
      r.getAttribute('data-kind'),
      [Number(r.querySelector('[data-status=active]').innerText.replace(/\D/g, '')),
        Number(r.querySelector('[data-status=decommissioned]').innerText.replace(/\D/g, ''))]]))),
    chart_bars: await page.$$eval('svg[data-chart=reports] rect.bar', (b) => b.length),
    epoch_state: await page.locator('[data-section=epoch] [data-state]').count() ? 'unavailable' : 'shown',
  };
  if (out.network.epoch_state === 'shown') {
    out.network.paid_epoch = await page.evaluate(() => {
      const root = document.querySelector('[data-section=epoch] [data-epoch]');
      return {
        epoch: Number(root.getAttribute('data-epoch')),
        emission: root.querySelector('[data-field=epoch-emission] [data-raw]').getAttribute('data-raw'),
        paid: root.querySelector('[data-field=epoch-paid] [data-raw]').getAttribute('data-raw'),
        pools: [...root.querySelectorAll('[data-table=epoch-pools] tbody tr')].map((r) => [r.getAttribute('data-pool'), r.getAttribute('data-paid')]),
      };
    });
  }
  await shot('network.png');

  // Map: it fits all devices, draws their cells; click the densest hexagon.
  await go('#/map', 'map');
  await page.waitForSelector('[data-map][data-loaded] polygon.hex');
  out.map = { hexes: await page.locator('polygon.hex').count(), res_text: await text('[data-field=map-res]') };
  // Zoom with the button and the wheel, pan by dragging: the map must ask again and still draw.
  const loaded = async () => page.getAttribute('[data-map]', 'data-loaded');
  let before = await loaded();
  await page.click('[data-action=zoom-in]');
  await page.waitForFunction((b) => document.querySelector('[data-map]').getAttribute('data-loaded') !== b, before);
  before = await loaded();
  const box = await page.locator('[data-map]').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 300);
  await page.waitForFunction((b) => document.querySelector('[data-map]').getAttribute('data-loaded') !== b, before);
  before = await loaded();
  await page.mouse.move(box.x + 200, box.y + 200);
  await page.mouse.down();
  await page.mouse.move(box.x + 260, box.y + 240, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((b) => document.querySelector('[data-map]').getAttribute('data-loaded') !== b, before);
  out.map.after_moves = await page.locator('polygon.hex').count();
  out.map.view_hash = new URL(page.url()).hash;
  // Back to the fitted view; double-click three times on the densest hexagon to zoom in around it;
  // then pick the hexagon with the most devices.
  before = await loaded();
  await page.click('[data-action=fit]');
  await page.waitForFunction((b) => document.querySelector('[data-map]').getAttribute('data-loaded') !== b, before);
  for (let i = 0; i < 3; i++) {
    const densest = await page.$$eval('polygon.hex', (ps) => {
      ps.sort((a, b) => Number(b.getAttribute('data-total')) - Number(a.getAttribute('data-total')));
      const r = ps[0].getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    });
    const z0 = await page.evaluate(() => Number(new URLSearchParams(location.hash.split('?')[1]).get('z')));
    await page.mouse.dblclick(densest.x, densest.y);
    await page.waitForFunction((z) => Number(new URLSearchParams(location.hash.split('?')[1]).get('z')) > z, z0);
    before = await loaded();
    await page.waitForFunction((b) => document.querySelector('[data-map]').getAttribute('data-loaded') !== b, before);
  }
  out.map.zoomed_hash = new URL(page.url()).hash;
  const cells = await page.$$eval('polygon.hex', (ps) => ps.map((p) => ({ cell: p.getAttribute('data-cell'), total: Number(p.getAttribute('data-total')) })));
  cells.sort((a, b) => b.total - a.total);
  out.map.cells = cells;
  const target = cells[0].cell;
  await page.locator(`polygon.hex[data-cell="${target}"]`).click({ force: true });
  await page.waitForSelector('[data-list=cell-devices] a[data-device-id]');
  out.map.clicked = {
    cell: await text('[data-section=cell] [data-field=cell]'),
    total: int(await text('[data-field=cell-total]')),
    devices: await page.$$eval('[data-list=cell-devices] a[data-device-id]', (as) => as.map((a) => a.getAttribute('data-device-id'))),
  };
  await page.mouse.move(5, 5);
  await shot('map.png');

  // Colour by earnings: each hexagon's earnings, its colour and the legend, read at one instant
  // (the map redraws as blocks come).
  await page.selectOption('[data-control=color]', 'earnings');
  await page.waitForSelector('[data-field=legend][data-epoch] [data-step]');
  out.earnings = await page.evaluate(() => {
    const legend = document.querySelector('[data-field=legend]');
    return {
      epoch: Number(legend.getAttribute('data-epoch')),
      max_per_device: legend.getAttribute('data-max-per-device'),
      steps: legend.querySelectorAll('[data-step]').length,
      hash: location.hash,
      cells: [...document.querySelectorAll('polygon.hex')].map((p) => ({
        cell: p.getAttribute('data-cell'), total: Number(p.getAttribute('data-total')),
        earned: p.getAttribute('data-earned'), earning: Number(p.getAttribute('data-earning')), fill: p.getAttribute('fill'),
      })),
    };
  });
  await page.locator(`polygon.hex[data-cell="${target}"]`).click({ force: true });
  await page.waitForSelector('[data-section=cell] [data-field=cell-earned]');
  out.earnings.clicked = { cell: await text('[data-section=cell] [data-field=cell]'), earned: await page.getAttribute('[data-field=cell-earned]', 'data-raw') };
  await page.waitForSelector('[data-list=cell-devices] a[data-device-id]');
  await page.mouse.move(5, 5);
  await shot('map-earnings.png');

  // Map → device → its rewards section.
  const device = out.map.clicked.devices[0];
  await page.click(`[data-list=cell-devices] a[data-device-id="${device}"]`);
  await page.waitForSelector('main[data-page=device] [data-section=verdicts] [data-field=valid-count], main[data-page=device] [data-section=verdicts] .error');
  await page.click('a[data-link=rewards]');
  await page.waitForSelector('[data-section=rewards] [data-state]');
  // The breakdown as laid out: the total, one row per pool, what counted, the reputation.
  const rewardsState = await page.getAttribute('[data-section=rewards] [data-state]', 'data-state');
  if (rewardsState === 'rewards') {
    out.rewards = await page.evaluate(() => {
      const root = document.querySelector('[data-section=rewards] [data-state=rewards] [data-epoch]');
      return {
        epoch: Number(root.getAttribute('data-epoch')),
        total: root.querySelector('[data-field=rewards-total] [data-raw]').getAttribute('data-raw'),
        pools: [...root.querySelectorAll('[data-table=reward-pools] tbody tr')].map((r) => ({
          pool: r.getAttribute('data-pool'), amount: r.getAttribute('data-amount'),
          earned: r.querySelector('[data-field=earned] [data-raw]').getAttribute('data-raw'),
          share: r.querySelector('[data-field=share]').innerText,
        })),
        split_parts: root.querySelectorAll('[data-chart=reward-split] span').length,
        work: Object.fromEntries([...root.querySelectorAll('[data-table=reward-work] tr[data-work]')].map((r) =>
          [r.getAttribute('data-work'), Number(r.cells[1].innerText.replace(/[^\d]/g, ''))])),
        reputation: root.querySelector('[data-field=reputation]').innerText,
        explanation: root.querySelectorAll('[data-list=explanation] li').length,
      };
    });
  }
  out.device = {
    url_hash: new URL(page.url()).hash,
    id: await text('[data-field=device-id]'),
    kind: await text('[data-field=kind]'),
    status: await text('[data-field=status]'),
    owner: await text('[data-field=owner]'),
    location: await text('[data-field=location]'),
    stake: await raw('[data-field=stake]'),
    epoch: int(await text('[data-field=epoch]')),
    valid: int(await text('[data-field=valid-count]')),
    invalid: int(await text('[data-field=invalid-count]')),
    verdict_rows: await page.locator('[data-table=verdicts] tbody tr').count(),
    rewards_state: await page.getAttribute('[data-section=rewards] [data-state]', 'data-state'),
    rewards_text: await text('[data-section=rewards] [data-state]'),
    rewards_in_view: await page.locator('#rewards').evaluate((e) => {
      const r = e.getBoundingClientRect();
      return r.top < window.innerHeight && r.bottom > 0;
    }),
  };
  await page.locator('#rewards').scrollIntoViewIfNeeded();
  await shot('device-rewards.png');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('device.png');

  // Its location opens the map centred on it; back to the device.
  await page.click('[data-field=location] a[data-link=map]');
  await page.waitForSelector('main[data-page=map] [data-map][data-loaded] polygon.hex');
  out.device_map = { hash: new URL(page.url()).hash, hexes: await page.locator('polygon.hex').count() };
  await page.goBack();
  await page.waitForSelector('main[data-page=device] [data-field=owner] a');

  // Device → its owner's account → one of its transactions → that transaction's block.
  await page.click('[data-field=owner] a');
  await page.waitForSelector('main[data-page=account] [data-table=txs] tbody tr');
  out.account = {
    address: await text('[data-field=address]'),
    balance: await raw('[data-field=balance]'),
    nonce: int(await text('[data-field=nonce]')),
    staked: await raw('[data-field=staked]'),
    devices: await page.$$eval('[data-table=devices] a[data-device-id]', (as) => as.map((a) => a.getAttribute('data-device-id'))),
    txs: await page.$$eval('[data-table=txs] tbody tr[data-tx]', (rows) => rows.map((r) => r.getAttribute('data-tx'))),
    credits_state: await page.locator('[data-section=credits] [data-state=unavailable]').count() ? 'unavailable' : 'shown',
  };
  if (out.account.credits_state === 'shown') {
    out.account.credits = int(await text('[data-field=credits]'));
    out.account.credit_mints = await page.$$eval('[data-table=credit-mints] tbody tr[data-mint]', (rows) =>
      rows.map((r) => ({ tx: r.getAttribute('data-mint'), credits: Number(r.getAttribute('data-credits')) })));
    out.account.spends_text = await text('[data-field=credit-spends]');
  }
  await shot('account.png');
  await page.click('[data-table=txs] tbody tr[data-tx] a[data-link=tx]');
  await page.waitForSelector('main[data-page=tx]');
  out.tx = {
    url_hash: new URL(page.url()).hash,
    status: await text('[data-field=status]'),
    nonce: int(await text('[data-field=nonce]')),
    fee_charged: await raw('[data-field=fee-charged]'),
    messages: await page.$$eval('[data-table=messages] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-kind'))),
    events: await page.$$eval('[data-table=events] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-event'))),
    failure: await page.locator('[data-field=failure]').count() ? await text('[data-field=failure]') : null,
  };
  await page.click('main a[data-link=block]');
  await page.waitForSelector('main[data-page=block]');
  out.block = {
    height: int(await text('h1 [data-field=height]')),
    hash: await text('[data-field=hash]'),
    app_hash: await text('[data-field=app-hash]'),
    txs: await page.$$eval('[data-table=block-txs] tbody tr', (rows) => rows.map((r) => r.getAttribute('data-tx'))),
  };
  await shot('block.png');

  // Latest blocks, live: a new block must appear without reloading.
  await go('#/blocks', 'blocks');
  const top = async () => Number(await page.getAttribute('[data-table=blocks] tbody tr', 'data-height'));
  const first = await top();
  await page.waitForFunction((h) => Number(document.querySelector('[data-table=blocks] tbody tr').getAttribute('data-height')) > h, first, { timeout: 15000 });
  out.blocks = { first, later: await top(), rows: await page.locator('[data-table=blocks] tbody tr').count(), navigations: 0 };
  await page.click('[data-action=older]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-table=blocks] tbody tr').length > n, out.blocks.rows);
  out.blocks.after_older = await page.locator('[data-table=blocks] tbody tr').count();

  // Search: a device id, a height, an address, a transaction hash, and nonsense.
  const searchFor = async (q, pageName) => {
    await page.fill('#search-input', q);
    await page.press('#search-input', 'Enter');
    await page.waitForSelector(`main[data-page="${pageName}"]`);
    return new URL(page.url()).hash;
  };
  out.search = {
    device: await searchFor(device, 'device'),
    height: await searchFor(String(out.block.height), 'block'),
    address: await searchFor(out.account.address, 'account'),
    tx: await searchFor(out.account.txs[0], 'tx'),
    cid: cid ? await searchFor(cid, 'cid') : null,
    cid_deals: cid ? await page.$$eval('[data-section=cid] [data-deal]', (ds) => ds.map((d) => Number(d.getAttribute('data-deal')))) : null,
    nonsense: await searchFor('not-a-thing', 'search'),
    nonsense_message: await text('main .error'),
  };

  // Storage: providers with capacity, price and reputation; the latest deals with their proof
  // history per period and provider.
  await go('#/storage', 'storage');
  out.storage = {
    state: await page.locator('[data-section=providers] [data-state=unavailable]').count() ? 'unavailable' : 'shown',
    text: await text('[data-section=providers]'),
  };
  if (out.storage.state === 'shown') {
    const grid = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-proofs]')].map((d) => [d.getAttribute('data-proofs'), {
      passed: Number(d.querySelector('[data-field=proofs-passed]').innerText.replace(/[^\d]/g, '')),
      missed: Number(d.querySelector('[data-field=proofs-missed]').innerText.replace(/[^\d]/g, '')),
      cells: [...d.querySelectorAll('td[data-outcome]')].map((c) => ({
        period: Number(c.getAttribute('data-period')), provider: c.closest('tr').getAttribute('data-provider'), outcome: c.getAttribute('data-outcome') })),
    }])));
    out.storage.providers = await page.$$eval('[data-table=providers] tbody tr[data-provider]', (rows) => rows.map((r) => ({
      device: r.getAttribute('data-provider'), capacity: Number(r.getAttribute('data-capacity')), reserved: Number(r.getAttribute('data-reserved')),
      price: r.getAttribute('data-price'), reputation: Number(r.getAttribute('data-reputation')),
      passes: Number(r.getAttribute('data-passes')), misses: Number(r.getAttribute('data-misses')) })));
    out.storage.deals = await grid();
    await shot('storage.png');
    const firstDeal = await page.getAttribute('[data-section=deals] [data-deal]', 'data-deal').catch(() => null);
    if (firstDeal) {
      await page.click(`[data-deal="${firstDeal}"] a[data-link=deal]`);
      await page.waitForSelector('main[data-page=deal] [data-proofs]');
      out.deal = { id: Number(firstDeal), pieces: await page.locator('[data-table=pieces] tbody tr').count(), grid: (await grid())[firstDeal] };
      await shot('deal.png');
    }
  } else {
    await shot('storage.png');
  }
} catch (e) {
  out.failure = String(e && e.stack ? e.stack : e);
  try { await shot('failure.png'); } catch (err) { /* ignore */ }
} finally {
  await context.close();
}
console.log(JSON.stringify(out));
