// The stage at projector sizes, read from bounding boxes and computed styles; the first
// screen; exact time travel; and the small defects of the walkthrough.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, commitMode, count, owners, snap, SESSION_KEY } = require('./helpers');

// Boxes of controls that stick out of the panel (section, header, aside, dock) they sit in.
async function overflowing(page) {
  return page.evaluate(() => {
    const bad = [];
    const controls = document.querySelectorAll('button, input, select, textarea, .lab-count');
    for (const el of controls) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const panel = el.parentElement.closest('section, header, aside, .lab-dock, .lab-banner-slot, .lab-help');
      if (!panel) continue;
      const p = panel.getBoundingClientRect();
      if (r.left < p.left - 1 || r.right > p.right + 1 || r.top < p.top - 1 || r.bottom > p.bottom + 1) {
        // Inside a scrolling box, a control may be scrolled out of view; that is not sticking out.
        const scroller = el.closest('.lab-drawer__panel, .lab-dock, .lab-describe__out');
        if (scroller && scroller !== el) {
          const s = scroller.getBoundingClientRect();
          if (r.left >= s.left - 1 && r.right <= s.right + 1) continue;
        }
        bad.push(`${el.tagName}.${el.className} "${(el.textContent || el.value || '').slice(0, 30)}" in ${panel.className}`);
      }
    }
    return bad;
  });
}

function inside(box, viewport) {
  return box && box.x >= -1 && box.y >= -1 && box.x + box.width <= viewport.width + 1 && box.y + box.height <= viewport.height + 1;
}

// The smallest contrast ratio of any visible text against the background it sits on.
async function worstContrast(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    let worst = { ratio: 99, text: '' };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || el.closest('svg, title, .lab-sr-only, option')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
      const fg = parse(getComputedStyle(el).color);
      const k = ratio(fg, background(el));
      if (k < worst.ratio) worst = { ratio: k, text: `${n.textContent.trim().slice(0, 40)} (${el.className})` };
    }
    // SVG text: its fill against the stage's background, or against its cell for a record label.
    for (const t of document.querySelectorAll('svg text')) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 || !t.textContent.trim() || t.closest('.lab-flight')) continue;
      const fg = parse(getComputedStyle(t).fill);
      if (!fg) continue;
      const box = t.closest('.lab-cell')?.querySelector('.lab-cell__box');
      const bg = box ? parse(getComputedStyle(box).fill) || { r: 253, g: 232, b: 200 } : background(t.closest('svg'));
      const k = ratio(fg, bg);
      if (k < worst.ratio) worst = { ratio: k, text: `${t.textContent.trim().slice(0, 40)} (svg ${t.getAttribute('class')})` };
    }
    return worst;
  });
}

for (const size of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
  test(`presentation mode at ${size.width}×${size.height}: stage, counts and controls fit`, async ({ page }) => {
    await fresh(page, size);
    await page.keyboard.press('p');
    await expect(page.locator('html')).toHaveAttribute('data-present', 'on');
    await advance(page, 20);
    expect(inside(await page.getByTestId('stage').boundingBox(), size), 'stage in view').toBe(true);
    for (const c of ['once', 'duplicate', 'lost', 'out-of-order', 'pending']) {
      expect(inside(await page.getByTestId(`count-${c}`).boundingBox(), size), `${c} count in view`).toBe(true);
    }
    // One slim row of controls (text grows with the screen, so the row does too).
    const bar = await page.locator('.lab-bar').boundingBox();
    expect(bar.height).toBeLessThan(Math.max(64, size.height * 0.08));
    const centres = await page.locator('.lab-bar > *').evaluateAll((els) =>
      els.filter((e) => e.getBoundingClientRect().height > 0).map((e) => {
        const r = e.getBoundingClientRect();
        return r.top + r.height / 2;
      }));
    expect(Math.max(...centres) - Math.min(...centres), 'controls in one row').toBeLessThan(12);
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1)).toBe(true);
    expect(await overflowing(page)).toEqual([]);
    // Cells at least 40 px, record labels at least 16 px (rendered, after scaling).
    const cell = await page.locator('.lab-cell__box').first().boundingBox();
    expect(cell.width).toBeGreaterThanOrEqual(40);
    const label = await page.locator('.lab-cell__offset').first().evaluate((t) => {
      const scale = t.ownerSVGElement.getScreenCTM().a;
      return parseFloat(getComputedStyle(t).fontSize) * scale;
    });
    expect(label).toBeGreaterThanOrEqual(16);
    await snap(page, `stage-present-${size.width}`);
  });
}

test('at 1024×768 nothing scrolls sideways, with the drawer open or a long notice', async ({ page }) => {
  const size = { width: 1024, height: 768 };
  await fresh(page, size);
  const wide = () => page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
  expect(await wide()).toBe(false);
  await openTab(page, 'produce');
  expect(await wide()).toBe(false);
  // A 256-byte key, then a partition: the notice wraps instead of widening the page.
  await page.getByLabel('record key').fill('k'.repeat(256));
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await page.getByTestId('add-partition').click();
  await expect(page.getByTestId('notice')).toContainText('Now 4 partitions');
  expect(await wide()).toBe(false);
  for (const tab of ['groups', 'setup', 'anomalies', 'describe', 'protocol', 'calculator']) {
    await openTab(page, tab);
    expect(await wide(), tab).toBe(false);
  }
  await closeDrawer(page);
  expect(await overflowing(page)).toEqual([]);
});

for (const theme of ['light', 'dark']) {
  test(`every text reaches 4.5:1 in the ${theme} theme`, async ({ page }) => {
    await fresh(page, { width: 1280, height: 720 });
    await page.evaluate(([k, t]) => localStorage.setItem(k, JSON.stringify({ theme: t })), ['kafka-lab/prefs/v1', theme]);
    await page.reload();
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
    await commitMode(page, 'after-batch');
    await advance(page, 10);
    await page.getByRole('button', { name: 'crash c1' }).click();
    await advance(page, 20);
    for (const tab of [null, 'produce', 'setup', 'anomalies']) {
      if (tab) await openTab(page, tab);
      const worst = await worstContrast(page);
      expect(worst.ratio, `${tab || 'stage'}: ${worst.text}`).toBeGreaterThanOrEqual(4.5);
    }
  });
}

test('the first screen invites Play and shows no rebalance before one happens', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await expect(page.getByTestId('intro')).toContainText('Press Play (Space)');
  await expect(page.getByTestId('rebalance')).toHaveCount(0);
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
  await expect(page.locator('.lab-lane__empty').first()).toContainText('keys map here');
  await snap(page, 'first-screen');
  await page.getByTestId('intro-play').click();
  await expect(page.getByTestId('play')).toHaveAttribute('aria-label', /Pause/);
  // A record in flight, with its partition reason when the pace is readable.
  await page.getByTestId('speed').selectOption('1');
  await expect(page.locator('[data-flight=record]').first()).toBeAttached({ timeout: 10_000 });
  await page.waitForTimeout(300); // mid-flight
  await page.screenshot({ path: '../../target/e2e/record-in-flight.png' });
  await page.getByTestId('play').click();
});

test('playing after scrubbing back replays the recorded future, like a video', async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 10);
  await page.getByTestId('timeline').fill('5000');
  await expect(page.locator('[data-member="c1"]')).not.toContainText('crashed');
  await page.getByTestId('advance-10s').click();
  await expect(page.getByTestId('time')).toHaveText('t = 15.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  const before = await page.getByTestId('stage').innerHTML();
  await page.reload();
  await expect(page.getByTestId('time')).toHaveText('t = 15.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  expect(await page.getByTestId('stage').innerHTML()).toBe(before);
  // Acting in the past cuts the future, and the page says so.
  await page.getByTestId('timeline').fill('5000');
  await page.getByRole('button', { name: 'crash c2' }).click();
  await expect(page.getByTestId('notice')).toContainText('new branch');
});

test('after Start over, a command at t = 0 replays the same after a reload and a round trip', async ({ page }) => {
  await fresh(page);
  const freshStage = await page.getByTestId('stage').innerHTML();
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await openTab(page, 'setup');
  await page.getByTestId('reset').click();
  await page.getByTestId('reset-confirm').click();
  await closeDrawer(page);
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
  expect(await page.getByTestId('stage').innerHTML()).toBe(freshStage);
  await openTab(page, 'produce');
  await page.getByTestId('produce-random').click();
  await closeDrawer(page);
  const cells = () => page.locator('.lab-cell').evaluateAll((els) => els.map((e) => `${e.closest('.lab-lane').dataset.partition}/${e.dataset.offset}/${e.dataset.key}`).sort());
  const at0 = await cells();
  expect(at0.length).toBe(10);
  await page.reload();
  expect(await cells()).toEqual(at0);
  await advance(page, 10);
  await page.getByTestId('timeline').fill('0');
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
  expect(await cells()).toEqual(at0);
});

test('one range per setting, stated once; the partition limit says why', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'setup');
  const field = page.locator('[data-config="session.timeout.ms"]');
  await field.fill('1000000000000000000');
  await field.press('Enter');
  const first = await page.locator('.lab-field__error').first().textContent();
  await field.fill('2400000');
  await field.press('Enter');
  const second = await page.locator('.lab-field__error').first().textContent();
  for (const msg of [first, second]) expect(msg).toContain('6000 and 1800000');
  // A valid change keeps the recorded history.
  await field.fill('12000');
  await field.press('Enter');
  await expect(page.getByTestId('notice')).toContainText('session.timeout.ms = 12000');
  await openTab(page, 'produce');
  await page.evaluate((key) => {
    const s = JSON.parse(localStorage.getItem(key));
    s.scenario.partitions = 64;
    localStorage.setItem(key, JSON.stringify(s));
  }, SESSION_KEY);
  await page.reload();
  await openTab(page, 'produce');
  await expect(page.getByTestId('add-partition')).toBeDisabled();
  await expect(page.getByTestId('partition-limit')).toContainText('at most 64 partitions');
});

test('rebalances mid-way: eager lets every link go, cooperative keeps the links that stay', async ({ page }) => {
  for (const strategy of ['range', 'cooperative-sticky']) {
    await fresh(page, { width: 1280, height: 720 });
    await openTab(page, 'setup');
    await page.locator('[data-config="partition.assignment.strategy"]').selectOption(strategy);
    await closeDrawer(page);
    await advance(page, 10);
    const stable = await owners(page);
    expect(Object.keys(stable).length).toBe(3);
    await openTab(page, 'groups');
    await page.getByTestId('add-consumer').click();
    await closeDrawer(page);
    // Step until the banner names the rebalance, then look at the links.
    for (let i = 0; i < 400 && (await page.getByTestId('rebalance').count()) === 0; i++) await page.getByTestId('step').click();
    await expect(page.getByTestId('rebalance')).toContainText(strategy === 'range' ? 'eager' : 'cooperative');
    for (let i = 0; i < 400; i++) {
      const o = await owners(page);
      if (strategy === 'range' ? Object.keys(o).length === 0 : Object.keys(o).length < 3) break;
      if ((await page.getByTestId('rebalance').count()) === 0) break;
      await page.getByTestId('step').click();
    }
    const mid = await owners(page);
    if (strategy === 'range') {
      expect(mid, 'eager revokes every partition').toEqual({});
    } else {
      expect(Object.keys(mid).length, 'cooperative keeps some links').toBeGreaterThan(0);
      for (const [p, c] of Object.entries(mid)) expect(stable[p], p).toBe(c);
    }
    await snap(page, `rebalance-${strategy === 'range' ? 'eager' : 'cooperative'}`);
  }
});

test('groups and topics from the page: a topic with its partitions and replication factor, a producer pointed at it, a group with its own settings', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openTab(page, 'produce');
  await page.getByTestId('topic-name').fill('payments-audit');
  await page.getByTestId('topic-partitions').fill('4');
  await page.getByTestId('topic-rf').selectOption('2');
  await page.getByTestId('add-topic').click();
  await expect(page.getByTestId('topics')).toContainText('payments-audit (4 partitions)');
  // A bad count gets a message and creates nothing.
  await page.getByTestId('topic-name').fill('bad');
  await page.getByTestId('topic-partitions').fill('many');
  await page.getByTestId('add-topic').click();
  await expect(page.getByTestId('notice')).toContainText('1 to 64 partitions');
  await expect(page.getByTestId('topics')).not.toContainText('bad');
  await page.getByTestId('producer-topic-producer-1').selectOption({ label: '→ payments-audit' });
  await snap(page, 'produce-topics');
  await openTab(page, 'groups');
  await page.getByTestId('group-name').fill('audit');
  await page.getByTestId('new-group-partition.assignment.strategy').selectOption('cooperative-sticky');
  await page.getByTestId('new-group-auto.offset.reset').selectOption('latest');
  await page.getByTestId('add-group').click();
  await expect(page.getByTestId('group-state')).toContainText('audit');
  await expect(page.getByTestId('group-state')).toContainText('cooperative-sticky');
  await snap(page, 'groups-new-group');
  await closeDrawer(page);
  await advance(page, 10);
  // The producer now writes to payments-audit: its lanes grow on the stage.
  await expect(page.locator('.lab-topic')).toHaveCount(2);
  await snap(page, 'two-topics');
});
