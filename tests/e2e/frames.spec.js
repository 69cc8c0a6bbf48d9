// Frame-time benchmark (reports numbers, never fails on them): requestAnimationFrame
// intervals on an idle page, then under load, then the worst frame while stepping a
// 1,000,000-record topic. Results go to target/e2e/frames.json and BENCHMARKS.md.
const fs = require('fs');
const { test, expect } = require('@playwright/test');

const KEY = 'kafka-lab/session/v1';

// Collects rAF intervals for `ms` of wall time.
async function frames(page, ms) {
  return page.evaluate((ms) => new Promise((resolve) => {
    const gaps = [];
    const start = performance.now();
    let last = start;
    function tick(now) {
      gaps.push(now - last);
      last = now;
      if (now - start < ms) requestAnimationFrame(tick); else resolve(gaps.slice(1));
    }
    requestAnimationFrame(tick);
  }), ms);
}

function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

// Rewrites the saved session: the given lab settings and, at t = 0, extra groups.
async function setup(page, settings, extraGroups, consumersPerGroup) {
  await page.goto('/');
  await expect(page.getByTestId('play')).toHaveText('Play');
  await page.getByTestId('reset').click(); // saves a session to start from
  await page.evaluate(({ KEY, settings, extraGroups, consumersPerGroup }) => {
    const s = JSON.parse(localStorage.getItem(KEY));
    Object.assign(s.scenario, settings);
    s.commands = [];
    for (let g = 1; g <= extraGroups; g++) {
      s.commands.push([0, { AddGroup: { group_id: `group-${g + 1}`, config: s.scenario.group } }]);
      for (let c = 0; c < consumersPerGroup; c++) s.commands.push([0, { AddConsumer: { group: g, group_instance_id: null } }]);
    }
    s.now_ms = 0;
    localStorage.setItem(KEY, JSON.stringify(s));
  }, { KEY, settings, extraGroups, consumersPerGroup });
  await page.reload();
  await expect(page.getByTestId('play')).toHaveText('Play');
}

test('frame times: idle, loaded, and stepping a million-record topic @benchmark', async ({ page }) => {
  test.setTimeout(180_000);
  const result = {};

  await setup(page, { partitions: 12, rate_per_sec: 1000, keys: 1000, consumers: 6 }, 2, 6);
  await page.getByTestId('advance-1s').click(); // the group forms; a steady state begins
  const idle = await frames(page, 10_000);
  result.idle = { frames: idle.length, p50_ms: pct(idle, 50), p95_ms: pct(idle, 95), max_ms: Math.max(...idle) };

  await page.getByTestId('play').click();
  const loaded = await frames(page, 10_000);
  await page.getByTestId('play').click();
  result.loaded = { frames: loaded.length, p50_ms: pct(loaded, 50), p95_ms: pct(loaded, 95), max_ms: Math.max(...loaded) };
  result.loaded_virtual_time = await page.getByTestId('time').textContent();

  // A million records: 10,000 records/s for 100 s of virtual time, no consumers.
  await setup(page, { partitions: 12, rate_per_sec: 10000, keys: 1000, consumers: 0 }, 0, 0);
  const t0 = Date.now();
  await page.getByTestId('timeline').evaluate((el) => {
    el.max = '100000';
    el.value = '100000';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await expect(page.getByTestId('time')).toHaveText('t = 100.0 s', { timeout: 120_000 });
  result.million = { build_ms: Date.now() - t0, leo_p0: await page.locator('.lab-lane__end').first().textContent() };
  const stepping = page.evaluate(() => new Promise((resolve) => {
    let worst = 0; let last = performance.now(); const start = last;
    function tick(now) { worst = Math.max(worst, now - last); last = now; if (now - start < 3000) requestAnimationFrame(tick); else resolve(worst); }
    requestAnimationFrame(tick);
  }));
  for (let i = 0; i < 10; i++) await page.getByTestId('step').click();
  for (let i = 0; i < 3; i++) await page.getByTestId('advance-1s').click();
  result.million.worst_frame_while_stepping_ms = await stepping;

  fs.mkdirSync('../../target/e2e', { recursive: true });
  fs.writeFileSync('../../target/e2e/frames.json', JSON.stringify(result, null, 2));
  console.log('frames:', JSON.stringify(result));
  expect(result.loaded_virtual_time).not.toBe('t = 1.0 s'); // the load really ran
});
