// Walkthroughs of the group, the ledger and the calculator, driven like a teacher would:
// buttons advance virtual time, so every run shows the same thing.
const { test, expect } = require('@playwright/test');
const { javaPartition } = require('./murmur2');

const shots = '../../target/e2e';
const snap = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true, animations: 'disabled' });

// Steps one event at a time until `locator` shows (at most 200 events).
async function stepUntil(page, locator) {
  for (let i = 0; i < 200 && (await locator.count()) === 0; i++) await page.getByTestId('step').click();
}

async function advance(page, seconds) {
  for (let i = 0; i < seconds / 10; i++) await page.getByTestId('advance-10s').click();
}

test('the group forms, then adding a consumer rebalances to new owners', async ({ page }) => {
  await page.goto('/');
  await advance(page, 10);
  await expect(page.getByTestId('generation')).toHaveText('1');
  await expect(page.locator('[data-member="c1"] [data-testid="owned"]')).toHaveText('p0 p1');
  await expect(page.locator('[data-member="c2"] [data-testid="owned"]')).toHaveText('p2');
  await page.getByTestId('add-consumer').click();
  await advance(page, 10);
  await expect(page.getByTestId('group-state')).toContainText('Stable');
  await expect(page.getByTestId('generation')).toHaveText('2');
  for (const c of ['c1', 'c2', 'c3']) {
    await expect(page.locator(`[data-member="${c}"] [data-testid="owned"]`)).toHaveText(/^p\d$/);
  }
  await snap(page, 'walk-rebalance');
});

test('commit after processing + a crash: duplicates counted and explained', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('commit-mode').selectOption('after-batch');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  await advance(page, 30);
  const dups = Number(await page.getByTestId('count-duplicate').textContent());
  expect(dups).toBeGreaterThan(0);
  await expect(page.getByTestId('count-lost')).toHaveText('0');
  await page.locator('.lab-anomaly--duplicate').first().click();
  await expect(page.getByTestId('cause')).toContainText('crashed');
  await expect(page.getByTestId('cause')).toContainText('committed offset');
  // Selecting the anomaly scrolls its lane back to the records and highlights them.
  await expect(page.locator('.lab-record--duplicate.lab-record--highlight').first()).toBeVisible();
  await snap(page, 'walk-duplicates');
});

test('commit before processing + a crash: records lost', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('commit-mode').selectOption('before-processing');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 30);
  const lost = Number(await page.getByTestId('count-lost').textContent());
  expect(lost).toBeGreaterThan(0);
  await expect(page.getByTestId('count-duplicate')).toHaveText('0');
  await page.locator('.lab-anomaly--lost').first().click();
  await expect(page.getByTestId('cause')).toContainText('before processing');
  await snap(page, 'walk-lost');
});

test('predict the partition for both clients; a bad count is refused', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('calculator key').fill('order-7');
  await page.getByLabel('calculator partition count').fill('6');
  await expect(page.getByTestId('calc-java')).toHaveText(`p${javaPartition('order-7', 6)}`);
  await page.getByLabel('calculator partition count').fill('0');
  await expect(page.getByTestId('calc-out')).toContainText('from 1 to 64');
});

test('the keyboard plays and pauses; describe shows the tool columns', async ({ page }) => {
  await page.goto('/');
  // The listener exists once the app has mounted.
  await expect(page.getByTestId('play')).toHaveText('Play');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('play')).toHaveText('Pause');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('play')).toHaveText('Play');
  await advance(page, 10);
  await expect(page.getByTestId('describe')).toContainText('GROUP    TOPIC  PARTITION  CURRENT-OFFSET');
});

test('scrub back and forward: the same state again', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('commit-mode').selectOption('after-batch');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 20);
  const at30 = await page.getByTestId('describe').textContent();
  const dups30 = await page.getByTestId('count-duplicate').textContent();
  await page.getByTestId('timeline').fill('5000');
  await expect(page.getByTestId('time')).toHaveText('t = 5.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('active');
  await snap(page, 'walk-scrub-back');
  await page.getByTestId('timeline').fill('30000');
  await expect(page.getByTestId('time')).toHaveText('t = 30.0 s');
  await expect(page.getByTestId('describe')).toHaveText(at30);
  await expect(page.getByTestId('count-duplicate')).toHaveText(dups30);
});

test('a reload keeps the lab; a corrupt saved lab is discarded with a notice', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('commit-mode').selectOption('before-processing');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 10);
  await page.reload();
  await expect(page.getByTestId('time')).toHaveText('t = 20.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  await expect(page.getByTestId('commit-mode')).toHaveValue('before-processing');
  await page.evaluate(() => localStorage.setItem('kafka-lab/session/v1', '{"scenario": 7}'));
  await page.reload();
  await expect(page.getByRole('status')).toContainText('could not be restored');
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
});

test('a poison record crashes the consumer that processes it', async ({ page }) => {
  await page.goto('/');
  await advance(page, 10);
  await page.getByTestId('poison').click();
  // The owner reaches it after its backlog (about 2 s of processing).
  await advance(page, 10);
  await expect(page.locator('.lab-member--crashed')).toHaveCount(1);
  await expect(page.locator('.lab-chip--crash')).toHaveCount(1);
  await expect(page.getByTestId('member-timer').first()).toBeVisible();
  await snap(page, 'walk-poison');
});

test('presentation mode, dark theme, and choosing panels from the help', async ({ page }) => {
  await page.goto('/');
  await advance(page, 10);
  await page.getByTestId('present').click();
  await expect(page.locator('html')).toHaveAttribute('data-present', 'on');
  await page.getByTestId('theme').selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.keyboard.press('?');
  await expect(page.getByTestId('help-dialog')).toBeVisible();
  await page.getByTestId('help-dialog').getByLabel('Predict the partition').uncheck();
  await expect(page.locator('.lab-calculator')).toHaveCount(0);
  await snap(page, 'walk-present-help');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help-dialog')).toHaveCount(0);
  await snap(page, 'walk-present');
});

test('configuration: an invalid value is refused inline, a valid one restarts the lab', async ({ page }) => {
  await page.goto('/');
  await page.getByText('Configuration').click();
  const session = page.getByLabel('session.timeout.ms', { exact: true });
  await session.fill('1000');
  await session.press('Enter');
  await session.blur();
  await expect(page.locator('.lab-config__error')).toContainText('6000');
  await expect(session).toHaveAttribute('aria-invalid', 'true');
  const records = page.getByLabel('max.poll.records', { exact: true });
  await records.fill('5');
  await records.blur();
  await expect(page.getByRole('status')).toContainText('max.poll.records = 5');
  await expect(page.getByLabel('max.poll.records', { exact: true })).toHaveValue('5');
  await snap(page, 'walk-config');
});

test('a second group reads the same topic independently; a second producer adds load', async ({ page }) => {
  await page.goto('/');
  await advance(page, 10);
  await page.getByTestId('add-producer').click();
  await expect(page.getByTestId('producers').locator('li')).toHaveCount(2);
  await page.getByTestId('add-group').click();
  await expect(page.getByTestId('group-select')).toHaveValue('1');
  await expect(page.locator('#ledger-title')).toContainText('group-2');
  await advance(page, 10);
  await expect(page.getByTestId('generation')).toHaveText('1');
  const once = Number(await page.getByTestId('count-once').textContent());
  expect(once).toBeGreaterThan(0); // auto.offset.reset=earliest: it replays from offset 0
  await expect(page.locator('[data-testid="lane-marker"]').first()).toContainText('group-2');
  await snap(page, 'walk-second-group');
  await page.getByTestId('group-select').selectOption('0');
  await expect(page.locator('#ledger-title')).toContainText('payments');
});

test('eager and cooperative rebalances look different', async ({ page }) => {
  await page.goto('/');
  await advance(page, 10);
  await page.getByTestId('add-consumer').click();
  await stepUntil(page, page.getByTestId('rebalance'));
  await expect(page.getByTestId('rebalance')).toContainText('Eager rebalance');
  await snap(page, 'walk-eager');
  await page.getByText('Configuration').click();
  const strategy = page.getByLabel('partition.assignment.strategy', { exact: true });
  await strategy.fill('cooperative-sticky');
  await strategy.blur();
  await advance(page, 10);
  await page.getByTestId('add-consumer').click();
  await stepUntil(page, page.getByTestId('rebalance'));
  await expect(page.getByTestId('rebalance')).toContainText('Cooperative rebalance');
  await advance(page, 10);
  await expect(page.getByTestId('generation')).toHaveText('3'); // two rounds
  await snap(page, 'walk-cooperative');
});

test('an anomaly cause replays on the timeline', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('commit-mode').selectOption('after-batch');
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 30);
  await page.locator('.lab-anomaly--duplicate').first().click();
  await page.locator('.lab-ledger__step').nth(1).click(); // "c1 crashed"
  await expect(page.getByTestId('time')).toHaveText('t = 10.0 s');
  await expect(page.locator('[data-member="c1"]')).toContainText('crashed');
  await page.getByTestId('cause-back').click();
  await expect(page.getByTestId('time')).toHaveText('t = 40.0 s');
});
