// Frame-time and seek benchmark (reports numbers, never fails on them): requestAnimationFrame
// intervals on an idle page, then under the load (12 partitions, 3 groups × 6
// consumers, 1,000 records/s at 100×, animations on); then seeks on a 1,000,000-record
// session. Results go to target/e2e/frames.json and BENCHMARKS.md.
const fs = require('fs');
const { test, expect } = require('@playwright/test');
const { SESSION_KEY } = require('./helpers');

// Collects rAF intervals for `ms` of wall time, or until `selector` (if given) leaves the page.
async function frames(page, ms, selector = null) {
  return page.evaluate(({ ms, selector }) => new Promise((resolve) => {
    const gaps = [];
    const start = performance.now();
    let last = start;
    function tick(now) {
      gaps.push(now - last);
      last = now;
      const going = selector === null || document.querySelector(selector) !== null;
      if (going && now - start < ms) requestAnimationFrame(tick); else resolve(gaps.slice(1));
    }
    requestAnimationFrame(tick);
  }), { ms, selector });
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const summary = (gaps) => ({ frames: gaps.length, p50_ms: pct(gaps, 50), p95_ms: pct(gaps, 95), max_ms: Math.max(...gaps) });

// Seeks through the timeline and waits two frames: the time a user waits for the picture.
async function seek(page, t) {
  return page.getByTestId('timeline').evaluate((el, t) => new Promise((resolve) => {
    const t0 = performance.now();
    el.max = String(Math.max(Number(el.max), t));
    el.value = String(t);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
  }), t);
}

// Builds the session through the page itself (the default scenario with settings changed).
async function load(page, settings, extraGroups, consumersPerGroup, extraCommands = []) {
  await page.goto('/');
  await page.evaluate(() => localStorage.clear());
  await page.goto('/');
  await expect(page.getByTestId('stage')).toBeVisible();
  await page.getByTestId('advance-1s').click(); // the page saves a session to start from
  await page.evaluate(({ key, settings, extraGroups, consumersPerGroup, extraCommands }) => {
    // Start from the page's own saved default (written on the first change).
    const s = JSON.parse(localStorage.getItem(key));
    Object.assign(s.scenario, settings);
    s.commands = [];
    for (let g = 1; g <= extraGroups; g++) {
      s.commands.push([0, { AddGroup: { group_id: `group-${g + 1}`, config: s.scenario.group, topics: ['orders'] } }]);
      for (let c = 0; c < consumersPerGroup; c++) s.commands.push([0, { AddConsumer: { group: g, group_instance_id: null } }]);
    }
    s.commands.push(...extraCommands);
    s.now_ms = 0;
    localStorage.setItem(key, JSON.stringify(s));
  }, { key: SESSION_KEY, settings, extraGroups, consumersPerGroup, extraCommands });
  await page.reload();
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
}

test('frame times under load, and seeks on a million-record session @benchmark', async ({ page }) => {
  test.setTimeout(300_000);
  const result = {};
  // The load on the default cluster (three brokers, replication factor 3).
  await load(page, { partitions: 12, rate_per_sec: 1000, keys: 1000, consumers: 6 }, 2, 6);
  await page.getByTestId('advance-1s').click(); // the groups form; a steady state begins
  result.idle = summary(await frames(page, 10_000));

  await page.getByTestId('speed').selectOption('6'); // 100×
  await page.getByTestId('play').click();
  const loaded = await frames(page, 10_000);
  await page.getByTestId('play').click();
  result.loaded = summary(loaded);
  result.loaded_virtual_time = await page.getByTestId('time').textContent();
  result.loaded_p95_over_idle = result.loaded.p95_ms / result.idle.p95_ms;

  // The same load on 9 brokers with replication factor 3 (followers fetching, acks=all
  // waiting for them), with the Cluster panel open.
  const nine = { brokers: 9, default_replication_factor: 3 };
  await load(page, { partitions: 12, rate_per_sec: 1000, keys: 1000, consumers: 6, cluster: nine }, 2, 6);
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('drawer-toggle').click();
  await page.getByTestId('tab-cluster').click();
  await expect(page.getByTestId('cluster-summary')).toContainText('9 brokers');
  result.idle_9_brokers = summary(await frames(page, 10_000));
  await page.getByTestId('speed').selectOption('6'); // 100×
  await page.getByTestId('play').click();
  const loaded9 = await frames(page, 10_000);
  await page.getByTestId('play').click();
  result.loaded_9_brokers = summary(loaded9);
  result.loaded_9_brokers_virtual_time = await page.getByTestId('time').textContent();
  result.loaded_9_brokers_p95_over_idle = result.loaded_9_brokers.p95_ms / result.idle.p95_ms;
  await page.getByTestId('drawer-close').click();

  // A million records: 10,000 records/s for 100 s of virtual time, no consumers, on one
  // broker (the session the seek budget was set on); the same on three brokers with
  // replication factor 3 (three copies of every record) is measured after.
  const one = { brokers: 1, default_replication_factor: 1 };
  await load(page, { partitions: 12, rate_per_sec: 10000, keys: 1000, consumers: 0, cluster: one }, 0, 0);
  const t0 = Date.now();
  result.seek_build_0_to_200s_ms = await seek(page, 200_000);
  await expect(page.getByTestId('time')).toHaveText('t = 200.0 s', { timeout: 120_000 });
  result.build_wall_ms = Date.now() - t0;
  result.seek_200_to_100s_ms = await seek(page, 100_000);
  await expect(page.getByTestId('time')).toHaveText('t = 100.0 s');
  result.leo_p0_at_100s = await page.getByTestId('lane-leo-p0').textContent();
  result.seek_100_to_50s_ms = await seek(page, 50_000);
  await expect(page.getByTestId('time')).toHaveText('t = 50.0 s');
  result.seek_50_to_200s_ms = await seek(page, 200_000);
  await expect(page.getByTestId('time')).toHaveText('t = 200.0 s');

  const three = { brokers: 3, default_replication_factor: 3 };
  await load(page, { partitions: 12, rate_per_sec: 10000, keys: 1000, consumers: 0, cluster: three }, 0, 0);
  const r0 = Date.now();
  result.rf3_seek_build_0_to_200s_ms = await seek(page, 200_000);
  await expect(page.getByTestId('time')).toHaveText('t = 200.0 s', { timeout: 120_000 });
  result.rf3_build_wall_ms = Date.now() - r0;
  result.rf3_seek_200_to_100s_ms = await seek(page, 100_000);
  await expect(page.getByTestId('time')).toHaveText('t = 100.0 s');
  result.rf3_seek_100_to_50s_ms = await seek(page, 50_000);
  await expect(page.getByTestId('time')).toHaveText('t = 50.0 s');
  result.rf3_seek_50_to_200s_ms = await seek(page, 200_000);
  await expect(page.getByTestId('time')).toHaveText('t = 200.0 s');

  fs.mkdirSync('../../target/e2e', { recursive: true });
  fs.writeFileSync('../../target/e2e/frames.json', JSON.stringify(result, null, 2));
  console.log('frames:', JSON.stringify(result));
  expect(result.loaded_virtual_time).not.toBe('t = 1.0 s'); // the load really ran
});

test('a simulated week of a busy topic skipped in the page @benchmark', async ({ page }) => {
  test.setTimeout(600_000);
  const result = {};
  // The default cluster (3 brokers, replication factor 3), 6 partitions written at 100
  // records/s for the first hour (360,000 records; the group of two works through them for
  // hours), segments rolled hourly and kept a day; then the producer stops and the skip
  // runs the rest of the week: retention checks every 5 min, the group's fetches and
  // heartbeats, the followers' fetches.
  const topic = {
    cleanup_policy: 'Delete', retention_ms: 86_400_000, retention_bytes: -1,
    segment_bytes: 1_073_741_824, segment_ms: 3_600_000,
  };
  const stop = [3_600_000, { SetWorkload: { producer: 0, workload: null } }];
  await load(page, { partitions: 6, rate_per_sec: 100, keys: 1000, topic }, 0, 0, [stop]);
  result.idle = summary(await frames(page, 5_000));
  await page.getByTestId('skip').selectOption({ label: '+7 days' });
  const gaps = await frames(page, 540_000, '[data-testid="skip-progress"]');
  await expect(page.getByTestId('time')).toHaveText('t = 7 d 00:00', { timeout: 10_000 });
  result.week = summary(gaps);
  result.week_wall_ms = Math.round(gaps.reduce((a, b) => a + b, 0));
  result.week_p95_over_idle = result.week.p95_ms / result.idle.p95_ms;
  result.log_p0 = await page.getByTestId('lane-leader-p0').textContent();
  fs.mkdirSync('../../target/e2e', { recursive: true });
  fs.writeFileSync('../../target/e2e/week.json', JSON.stringify(result, null, 2));
  console.log('week:', JSON.stringify(result));
  await page.screenshot({ path: '../../target/e2e/week-skipped.png' });
});
