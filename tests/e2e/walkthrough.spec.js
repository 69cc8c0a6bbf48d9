// Walkthroughs of the group, the ledger and the calculator, driven like a teacher would.
const { test, expect } = require('@playwright/test');
const { javaPartition } = require('./murmur2');
const { fresh, advance, openTab, closeDrawer, commitMode, count, owners, snap, SESSION_KEY } = require('./helpers');

test('the group forms, then a third consumer takes a partition of its own', async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  // RangeAssignor: c1 gets p0 and p1, c2 gets p2.
  expect(await owners(page)).toEqual({ p0: 'c1', p1: 'c1', p2: 'c2' });
  await openTab(page, 'groups');
  await expect(page.getByTestId('generation')).toHaveText('1');
  await page.getByTestId('add-consumer').click();
  await closeDrawer(page);
  await advance(page, 10);
  const o = await owners(page);
  expect(Object.keys(o).sort()).toEqual(['p0', 'p1', 'p2']);
  expect(new Set(Object.values(o))).toEqual(new Set(['c1', 'c2', 'c3']));
  await openTab(page, 'groups');
  await expect(page.getByTestId('group-state')).toContainText('Stable');
  await expect(page.getByTestId('generation')).toHaveText('2');
});

test('commit after processing + a crash: duplicates counted, flashed and explained', async ({ page }) => {
  await fresh(page);
  await commitMode(page, 'after-batch');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  await advance(page, 30);
  expect(await count(page, 'duplicate')).toBeGreaterThan(0);
  expect(await count(page, 'lost')).toBe(0);
  await expect(page.getByTestId('count-duplicate')).toHaveClass(/lab-count--alert/);
  await openTab(page, 'anomalies');
  await page.locator('.lab-anomaly--duplicate').first().click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('crashed');
  await expect(page.getByTestId('cause')).toContainText('committed');
  // The lane scrolls back to the records and highlights them.
  await expect(page.locator('.lab-cell--duplicate.lab-cell--highlight').first()).toBeVisible();
  await snap(page, 'walk-duplicates');
});

test('commit before processing + a crash: records lost, hatched, explained', async ({ page }) => {
  await fresh(page);
  await commitMode(page, 'before-processing');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 30);
  expect(await count(page, 'lost')).toBeGreaterThan(0);
  expect(await count(page, 'duplicate')).toBe(0);
  await openTab(page, 'anomalies');
  await page.locator('.lab-anomaly--lost').first().click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('before processing');
  await expect(page.locator('.lab-cell--lost').first()).toBeVisible();
  await snap(page, 'walk-lost');
});

test('a poison record crashes its consumer, and the card and the ledger say where', async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  await openTab(page, 'produce');
  await page.getByTestId('poison').click();
  await closeDrawer(page);
  await advance(page, 10);
  const card = page.locator('[data-testid="deadline"]', { hasText: 'crashed on poison p' });
  await expect(card.first()).toBeVisible();
  expect(await count(page, 'failed')).toBeGreaterThan(0);
});

test('predict the partition for both clients; a bad count is refused; an empty key is null', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'calculator');
  await page.getByLabel('calculator key').fill('order-7');
  await page.getByLabel('calculator partition count').fill('6');
  await expect(page.getByTestId('calc-java')).toHaveText(`p${javaPartition('order-7', 6)}`);
  await page.getByLabel('calculator partition count').fill('0');
  await expect(page.getByTestId('calc-out')).toContainText('from 1 to 64');
  await page.getByLabel('calculator partition count').fill('3');
  await page.getByLabel('calculator key').fill('');
  await expect(page.getByTestId('calc-null')).toContainText('null key');
});

test('the keyboard plays, pauses, steps and opens panels; describe is not clipped', async ({ page }) => {
  await fresh(page);
  await page.keyboard.press('Space');
  await expect(page.getByTestId('play')).toHaveAttribute('aria-label', /Pause/);
  await page.keyboard.press('Space');
  await expect(page.getByTestId('play')).toHaveAttribute('aria-label', /Play/);
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('step-words')).toContainText('t = ');
  await advance(page, 10);
  await page.keyboard.press('6');
  const out = page.getByTestId('describe');
  await expect(out).toContainText('GROUP');
  await expect(out).toContainText('CONSUMER-ID');
  await expect(out).toContainText('CLIENT-ID');
  // Scrollable inside its box, never cut off by the drawer.
  const fits = await out.evaluate((el) => el.scrollWidth <= el.clientWidth || getComputedStyle(el).overflowX === 'auto');
  expect(fits).toBe(true);
  // kafka-topics --describe, as Kafka lays it out, and the coordinator's partition of
  // __consumer_offsets: Utils.abs("payments".hashCode()) % 50 = 13.
  const topics = page.getByTestId('describe-topics');
  await expect(topics).toContainText('Topic: orders\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: ');
  await expect(topics).toContainText('\tTopic: orders\tPartition: 2\tLeader: 0\tReplicas: 0,1,2\tIsr: 0,1,2');
  await expect(page.getByTestId('coordinator')).toContainText('__consumer_offsets partition 13');
  // Three brokers by default: partition 13 of the offsets topic sits on brokers 2, 0, 1.
  await expect(page.getByTestId('coordinator')).toContainText('is broker 2');
});

test('scrub back and forward: the same state again', async ({ page }) => {
  await fresh(page);
  await commitMode(page, 'after-batch');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 20);
  await openTab(page, 'describe');
  const at30 = await page.getByTestId('describe').textContent();
  const dups30 = await count(page, 'duplicate');
  await page.getByTestId('timeline').fill('5000');
  await expect(page.getByTestId('time')).toHaveText('t = 5.0 s');
  await expect(page.locator('[data-member="c1"]')).not.toContainText('crashed');
  await page.getByTestId('timeline').fill('30000');
  await expect(page.getByTestId('time')).toHaveText('t = 30.0 s');
  await expect(page.getByTestId('describe')).toHaveText(at30);
  expect(await count(page, 'duplicate')).toBe(dups30);
});

test('a reload keeps the lab and the page settings; a corrupt saved lab is discarded with a notice', async ({ page }) => {
  await fresh(page);
  await commitMode(page, 'before-processing');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 10);
  await page.getByTestId('theme').click(); // system → light
  await page.getByTestId('theme').click(); // light → dark
  await page.keyboard.press('p');
  await page.getByTestId('speed').selectOption('4');
  await page.reload();
  await expect(page.getByTestId('time')).toHaveText('t = 20.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('html')).toHaveAttribute('data-present', 'on');
  await expect(page.getByTestId('speed')).toHaveValue('4');
  await openTab(page, 'setup');
  await expect(page.getByTestId('commit-mode-before-processing')).toBeChecked();
  await page.evaluate((key) => localStorage.setItem(key, '{"scenario": 7}'), SESSION_KEY);
  await page.reload();
  await expect(page.getByTestId('notice')).toContainText('could not be restored');
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
});

test('a shared link opens the same run; a broken link changes nothing and says why', async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c2' }).click();
  await advance(page, 10);
  await openTab(page, 'setup');
  await page.getByTestId('share-link').click();
  const link = await page.getByTestId('session-json').inputValue();
  expect(link).toContain('#run=');
  const page2 = await page.context().newPage();
  await page2.goto(link);
  await expect(page2.getByTestId('time')).toHaveText('t = 20.0 s');
  await expect(page2.locator('[data-member="c2"]')).toContainText('crashed');
  await page2.goto('/#run=%7Bnot-json');
  await page2.reload();
  await expect(page2.getByTestId('notice')).toContainText('link could not be opened');
  await expect(page2.getByTestId('time')).toHaveText('t = 20.0 s');
  // A bad pasted run is refused with a message; the lab stays as it was.
  await openTab(page2, 'setup');
  await page2.getByTestId('session-json').fill('{"scenario": {"seed": "x"}}');
  await page2.getByTestId('import').click();
  await expect(page2.getByTestId('import-error')).toContainText('Nothing changed');
  await expect(page2.getByTestId('time')).toHaveText('t = 20.0 s');
});

test('a saved lab holding one 1 MB text field opens at once, with a short notice', async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  const saved = await page.evaluate((key) => localStorage.getItem(key), SESSION_KEY);
  const session = JSON.parse(saved);
  // One huge text where a number belongs, as a damaged or hand-edited save might hold.
  session.scenario.seed = 'x'.repeat(1_000_000);
  await page.evaluate(([key, text]) => localStorage.setItem(key, text), [SESSION_KEY, JSON.stringify(session)]);
  const started = Date.now();
  await page.reload();
  await expect(page.getByTestId('stage')).toBeVisible();
  await expect(page.getByTestId('notice')).toBeVisible();
  expect(Date.now() - started).toBeLessThan(5_000);
  const notice = await page.getByTestId('notice').textContent();
  expect(notice.length).toBeLessThan(600);
  // The page still answers.
  await advance(page, 10);
  await expect(page.getByTestId('time')).toHaveText('t = 10.0 s');
});

test("the timeline's end is the recorded moment itself, to the millisecond", async ({ page }) => {
  await fresh(page);
  await advance(page, 10);
  // Step until the clock stands between two tenths of a second.
  for (let i = 0; i < 60 && /\.\d s$/.test(await page.getByTestId('time').textContent()); i++) {
    await page.getByTestId('step').click();
  }
  const end = await page.getByTestId('time').textContent();
  expect(end).toMatch(/^t = 10\.\d\d\d s$/);
  const acked = await page.getByTestId('producer-acked').textContent();
  await page.getByTestId('timeline').fill('2000');
  await expect(page.getByTestId('time')).toHaveText('t = 2.0 s');
  const max = await page.getByTestId('timeline').getAttribute('max');
  await page.getByTestId('timeline').fill(String(Number(max ?? '0') || 1e9));
  await expect(page.getByTestId('time')).toHaveText(end);
  await expect(page.getByTestId('producer-acked')).toHaveText(acked);
});
