// Brokers and replication in the page: a teacher sets up three brokers, cuts the leader
// of p0 off from its followers, kills it, and the class watches the controller elect a
// new leader; when the old leader comes back it truncates what only it had, and the
// ledger names the acknowledged records lost then. A second run cuts a leader off and
// heals the network: everything comes back.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, setConfig, snap } = require('./helpers');

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
  // payments lives on __consumer_offsets partition 13, led by broker 2.
  await expect(page.getByTestId('coordinates-2')).toContainText('payments');
  await snap(page, 'cluster-failover');
  // The election deleted nothing: the records only broker 1 had are still on its disk.
  await openTab(page, 'anomalies');
  await expect(page.locator('.lab-anomaly--acknowledged-then-lost')).toHaveCount(0);
  // Broker 1 comes back as a follower and truncates them: now they are lost.
  await openTab(page, 'cluster');
  await page.getByTestId('restart-broker-1').click();
  await closeDrawer(page);
  await advance(page, 10);
  await openTab(page, 'cluster');
  await expect(page.getByTestId('broker-1')).toContainText('running');
  await openTab(page, 'anomalies');
  const entry = page.locator('.lab-anomaly--acknowledged-then-lost').first();
  await expect(entry).toBeVisible();
  await entry.click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('truncated');
  await expect(page.getByTestId('cause')).toContainText('from the ISR');
  await snap(page, 'acked-then-lost');
  // kafka-topics --describe prints the new leader and the shrunken ISR.
  await openTab(page, 'describe');
  await expect(page.getByTestId('describe-topics')).toContainText(`Partition: 0\tLeader: ${now}\tReplicas: 1,2,0\tIsr: `);
  await expect(page.getByTestId('coordinator')).toContainText('is broker 2');
});

test('a leader cut off and healed: the controller fences it, and after the heal its partition is consumed and every replica is back in sync', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await advance(page, 10);
  await openTab(page, 'cluster');
  // Broker 1 leads p0 (the group's coordinator is broker 2).
  await page.getByRole('button', { name: 'cut broker 1 off' }).click();
  await closeDrawer(page);
  await advance(page, 20);
  await openTab(page, 'cluster');
  await expect(page.getByTestId('broker-1')).toContainText('fenced');
  await expect(page.getByTestId('replicas-p0')).not.toContainText('offline');
  await page.getByTestId('heal-network').click();
  await closeDrawer(page);
  await advance(page, 60);
  await openTab(page, 'cluster');
  await expect(page.getByTestId('broker-1')).toContainText('running');
  // Every replica of every partition is in sync again: no out-of-sync cell is left.
  await expect(page.locator('[data-testid="cluster"] [data-role="out-of-sync"]')).toHaveCount(0);
  await snap(page, 'cut-off-healed');
  // p0 is consumed again: its committed offset moves on.
  const p0Offset = async () => {
    await openTab(page, 'describe');
    const text = await page.getByTestId('describe').textContent();
    const line = text.split('\n').find((l) => /orders\s+0\s/.test(l));
    expect(line).toBeTruthy();
    return Number(line.trim().split(/\s+/)[3]);
  };
  const before = await p0Offset();
  await closeDrawer(page);
  await advance(page, 10);
  expect(await p0Offset()).toBeGreaterThan(before + 20);
});
