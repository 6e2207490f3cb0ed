// TicketKeyRing across real node:cluster workers (test/fixtures/cluster_ticket_ring.js):
// the primary holds one sealed key per slot (ClusterTicketKeySource), three workers with
// clocks 100 ms apart rotate several times under traffic from Node's TLS 1.2 client, and
// one worker is replaced midway.
import { execFile } from 'child_process';
import * as path from 'path';

const fixture = path.join(__dirname, 'fixtures', 'cluster_ticket_ring.js');

test('3 workers, 4 rotations, one worker replaced: 0 tickets refused inside their window, 0 accepted after it', async () => {
  const out = await new Promise<any>((resolve, reject) =>
    execFile(process.execPath, [fixture, '3', '1500', '1500', '300', '4'], { timeout: 120000 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(JSON.parse(stdout.trim().split('\n').pop()!)),
    ),
  );
  console.log(`cluster ticket key ring: ${JSON.stringify(out)}`);
  expect(out.missedInside).toBe(0);
  expect(out.acceptedAfter).toBe(0);
  expect(out.droppedEarly).toBe(0);
  expect(out.conflicts).toBe(0); // one key per slot across the fleet
  expect(out.sourceErrors).toBe(0);
  expect(out.replaced).toBe(true);
  // the replacement resumed tickets made before it started, and both kinds of tickets were seen
  expect(out.replacementInside).toBeGreaterThan(0);
  expect(out.replacementResumedInside).toBe(out.replacementInside);
  expect(out.inside).toBeGreaterThan(10);
  expect(out.after).toBeGreaterThan(0);
  expect(out.primarySlots).toBeGreaterThanOrEqual(2);
}, 240000);
