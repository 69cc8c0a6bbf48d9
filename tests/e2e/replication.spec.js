// Brokers and replication in the page: a teacher sets up three brokers, cuts the leader
// of p0 off from its followers, kills it, and the class watches the controller elect a
// new leader and the ledger name the acknowledged records that died with the old one.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, snap } = require('./helpers');

async function setConfig(page, name, value) {
  const field = page.locator(`[data-config="${name}"]`);
  if ((await field.evaluate((el) => el.tagName)) === 'SELECT') {
    await field.selectOption(value);
  } else {
    await field.fill(value);
    await field.press('Enter');
    await field.blur();
  }
  await expect(field).toHaveValue(value);
}

test('a leader killed in the page: a new leader, and acknowledged records lost with acks=1', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openTab(page, 'setup');
  await setConfig(page, 'brokers', '3');
  await setConfig(page, 'replication.factor', '3');
  await setConfig(page, 'producer.acks', '1');
  await advance(page, 10);
  // Key 0 opens the Cluster panel.
  await page.keyboard.press('0');
  await expect(page.getByTestId('tab-cluster')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('cluster-summary')).toContainText('3 brokers (3 running)');
  // Broker 1 leads p0 with this seed; its row shows the leader star.
  await expect(page.locator('[data-testid="cluster"] .lab-replica--leader')).toHaveCount(3);
  const leaderOfP0 = async () =>
    page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-testid="cluster"] > *')];
      const row = cells.findIndex((c) => c.dataset.testid === 'replicas-p0');
      const brokers = document.querySelectorAll('[data-testid="cluster"] .lab-broker').length;
      for (let b = 0; b < brokers; b++) {
        if (cells[row + 1 + b].dataset.role === 'leader') return b;
      }
      return -1;
    });
  expect(await leaderOfP0()).toBe(1);
  // Slow its links to the other brokers: it keeps taking (and acknowledging) writes alone.
  await page.getByRole('button', { name: "slow broker 1's links to the other brokers" }).click();
  await closeDrawer(page);
  await page.getByTestId('advance-1s').click();
  await page.getByTestId('advance-1s').click();
  await openTab(page, 'cluster');
  await page.getByTestId('kill-broker-1').click();
  await page.getByTestId('heal-network').click();
  await expect(page.getByTestId('broker-1')).toContainText('down');
  await closeDrawer(page);
  await advance(page, 20);
  await openTab(page, 'cluster');
  await expect(page.getByTestId('broker-1')).toContainText('fenced');
  const now = await leaderOfP0();
  expect([0, 2]).toContain(now);
  // payments lives on __consumer_offsets partition 13, led by broker 1 until it died: its
  // coordinator moved with the partition's leadership.
  await expect(page.getByTestId('coordinates-2')).toContainText('payments');
  await snap(page, 'cluster-failover');
  // The ledger: acknowledged, then lost, with the election in its causes.
  await openTab(page, 'anomalies');
  const entry = page.locator('.lab-anomaly--acknowledged-then-lost').first();
  await expect(entry).toBeVisible();
  await entry.click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('died');
  await expect(page.getByTestId('cause')).toContainText('from the ISR');
  await snap(page, 'acked-then-lost');
  // kafka-topics --describe prints the new leader and the shrunken ISR.
  await openTab(page, 'describe');
  await expect(page.getByTestId('describe-topics')).toContainText(`Partition: 0\tLeader: ${now}\tReplicas: 1,2,0\tIsr: `);
  await expect(page.getByTestId('coordinator')).toContainText('is broker 2');
});
