// Retention and compaction in the page: a teacher makes segments roll every 5 s and keep
// 10 s, the class watches the log start jump, and a group that was away comes back below
// it and has records deleted before it read them, explained. Then a learner deletes a key
// from a compacted topic with a tombstone (lesson L30) and sees the cleaner's gaps.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, count, setConfig, openLevel, snap } = require('./helpers');

test('retention.ms in the page: the log start jumps and a group away too long has records deleted unread', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openTab(page, 'setup');
  // The default lab's legend leaves segments out: nothing has rolled.
  await expect(page.locator('.lab-legend')).not.toContainText('segment');
  await setConfig(page, 'partitions', '1');
  await setConfig(page, 'consumers', '1');
  await setConfig(page, 'segment.ms', '5000');
  await setConfig(page, 'retention.ms', '10000');
  await closeDrawer(page);
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await expect(page.getByTestId('lane-leader-p0')).not.toContainText('start');
  // A topic with the delete policy has no cleaner boundary.
  await expect(page.getByTestId('cleaned-to-p0')).toHaveAttribute('style', /display: none/);
  // The first retention check runs 30 s after the brokers start.
  await advance(page, 30);
  await expect(page.getByTestId('lane-leader-p0')).toContainText('start ');
  await expect(page.locator('.lab-legend')).toContainText('first record of a segment');
  await snap(page, 'retention-log-start');
  // The crashed member's card on the stage offers the restart.
  await page.getByRole('button', { name: 'restart c1' }).click();
  await advance(page, 20);
  expect(await count(page, 'deleted')).toBeGreaterThan(0);
  await expect(page.getByTestId('count-deleted')).toHaveClass(/lab-count--alert/);
  await openTab(page, 'anomalies');
  const deleted = page.locator('.lab-anomaly--deleted-before-read').first();
  await deleted.click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('deleted by retention before');
  await expect(page.getByTestId('cause')).toContainText('retention.ms=10000');
  await snap(page, 'retention-deleted-explained');
  await openTab(page, 'describe');
  await expect(page.getByTestId('log-dirs')).toContainText('LOG-START');
  // The segment files, named by base offset: closed ones, then the active one.
  await expect(page.getByTestId('segment-files')).toContainText('orders-0/');
  await expect(page.getByTestId('segment-files')).toContainText(/\d{20}\.log {2}closed/);
  await expect(page.getByTestId('segment-files')).toContainText('active');
  await page.getByTestId('segment-files').scrollIntoViewIfNeeded();
  await snap(page, 'segment-files');
});

test('L30 through the page: a tombstone deletes a key from the compacted table, and the cleaner leaves gaps', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'L30');
  await closeDrawer(page);
  await advance(page, 20);
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('advance-1s').click();
  await openTab(page, 'produce');
  await page.getByTestId('key-input').fill('order-3');
  await page.getByTestId('tombstone').click();
  await closeDrawer(page);
  await advance(page, 70);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
  await expect(page.locator('[data-testid="lane-p0"] .lab-cell--cleaned').first()).toBeAttached();
  // The tombstone started a new segment: its first record has the segment bar.
  await expect(page.locator('[data-testid="lane-p0"] .lab-cell__segment').first()).toBeAttached();
  await expect(page.locator('[data-testid="lane-p0"] .lab-cell__tombstone').first()).toBeAttached();
  // The cleaner's checkpoint splits the clean tail from the dirty head; the lane says how dirty.
  await expect(page.getByTestId('cleaned-to-p0')).not.toHaveAttribute('style', /display: none/);
  await expect(page.getByTestId('lane-leader-p0')).toContainText('dirty ');
  await snap(page, 'compaction-gaps');
  await openTab(page, 'describe');
  await expect(page.getByTestId('compacted-table')).toContainText('order-3 = null');
  await expect(page.getByTestId('compacted-table')).toContainText('4 key(s)');
  await snap(page, 'compaction-table');
});

test('skip ahead: an hour runs in slices and retention fires on the way; a week of the default is refused; Esc stops a skip', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  // A week at the classroom rate would overfill the tab: refused with the way out.
  await page.getByTestId('skip').selectOption({ label: '+7 days' });
  await expect(page.getByTestId('notice')).toContainText('more than a browser tab holds');
  await expect(page.getByTestId('time')).toHaveText('t = 0.0 s');
  await openTab(page, 'setup');
  await setConfig(page, 'partitions', '1');
  await setConfig(page, 'segment.ms', '600000');
  await setConfig(page, 'retention.ms', '1800000');
  await closeDrawer(page);
  await page.getByTestId('skip').selectOption({ label: '+1 hour' });
  await expect(page.getByTestId('skip-progress')).toBeVisible();
  await snap(page, 'skip-running');
  await expect(page.getByTestId('time')).toHaveText('t = 1:00:00.0', { timeout: 60_000 });
  await expect(page.getByTestId('skip-progress')).toHaveCount(0);
  // Segments of 10 min, kept 30 min: by the hour the log start has jumped.
  await expect(page.getByTestId('lane-leader-p0')).toContainText('start ');
  await snap(page, 'skip-an-hour');
  // A skip of a day stops where it stands on Esc.
  await page.getByTestId('skip').selectOption({ label: '+1 day' });
  await expect(page.getByTestId('skip-progress')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('skip-progress')).toHaveCount(0);
  await expect(page.getByTestId('time')).not.toContainText(' d ');
  await page.getByTestId('advance-1s').click();
  await expect(page.getByTestId('skip')).toBeVisible();
});

test('the log cleaner sweeps its lane as it passes, and says how many records it removed', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openTab(page, 'setup');
  await setConfig(page, 'partitions', '1');
  await setConfig(page, 'keys', '5');
  await setConfig(page, 'cleanup.policy', 'compact');
  await setConfig(page, 'segment.ms', '5000');
  await closeDrawer(page);
  await advance(page, 20);
  // Played at 3× (flights fly below 10×): the cleaner wakes every 15 s of virtual time.
  await page.getByTestId('speed').selectOption('3');
  await page.getByTestId('play').click();
  const sweep = page.locator('[data-flight="sweep"]').first();
  await expect(sweep).toBeAttached({ timeout: 15_000 });
  await expect(sweep).toContainText(/cleaner: \d+ removed/);
  await page.waitForTimeout(300);
  // Mid-flight: the sweep's own animation is the picture.
  await page.screenshot({ path: '../../target/e2e/cleaner-sweep.png' });
  await page.getByTestId('play').click();
});
