// Three `belfry serve` nodes on loopback sharing one store and one NATS (issue #14): boto3 creates
// the channel and sends through node 1 while the JS SDK v3 sends through node 2 at the same time,
// and unmodified amazon-chime-sdk-js sessions on nodes 2 and 3 receive every message exactly once,
// in the channel's one order (the same on both nodes, each sender's messages in send order).
//
// NATS is the nats-server built from the Go module the repository already pins (go build, into
// a temp dir), run with JetStream. The store is one PostgreSQL database for the three nodes: on the
// server BELFRY_E2E_POSTGRES names, else on a throwaway cluster (lib/postgres.mjs).
// Without boto3 or PostgreSQL: skipped locally with the reason, a failure when $CI is set.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { messagingClient, send } from '../lib/aws.mjs';
import { CLI_TIMEOUT_MS, PYTHON, isolatedAwsEnv, probeTool } from '../lib/cli.mjs';
import { BUILD_TIMEOUT_MS, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, run, startBelfry, withServerOutput } from '../lib/server.mjs';
import { EVENT_TIMEOUT_MS, openSession, trustBelfryCA } from '../lib/session.mjs';
import { startNATS } from '../lib/nats.mjs';
import { e2ePostgres } from '../lib/postgres.mjs';

const boto3 = await probeTool('boto3', PYTHON, ['-c', 'import boto3; print("boto3", boto3.__version__)'], 'install it with `pip install boto3` (or the python3-boto3 package)');
const SCRIPT = path.join(import.meta.dirname, '..', 'py', 'cluster_boto3.py');
const PER_SENDER = 40;
const pg = await e2ePostgres();
const OPTS = { timeout: 2 * CLI_TIMEOUT_MS, skip: boto3.skip ?? pg.skip ?? false };

describe('three nodes on one store and one NATS', () => {
  let nats;
  const nodes = [];
  const withOutput = (fn) => withServerOutput(() => nodes[0], withServerOutput(() => nodes[1], withServerOutput(() => nodes[2], fn)));

  before(async () => {
    if (OPTS.skip || boto3.failure || pg.failure) return;
    nats = await startNATS();
    const args = ['--bus', nats.url, '--store', await pg.createDatabase('cluster')];
    nodes.push(await startBelfry({ extraArgs: args }));
    // The same data dir (TLS CA, and the SQLite store without PostgreSQL) and root credential.
    for (let i = 1; i < 3; i++) nodes.push(await startBelfry({ extraArgs: args, dataDir: nodes[0].dataDir, credentials: nodes[0].credentials }));
    trustBelfryCA(nodes[0]);
  }, { timeout: SETUP_TIMEOUT_MS + 2 * BUILD_TIMEOUT_MS });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await nats?.stop();
  }, { timeout: STOP_TIMEOUT_MS + 10_000 });

  function boto3Step(node, env) {
    return run(PYTHON, [SCRIPT], {
      env: { ...isolatedAwsEnv(node.credentials, node.region), E2E_ENDPOINT: node.endpoint, ...env },
      timeoutMs: CLI_TIMEOUT_MS,
    }).then((res) => {
      assert.equal(res.code, 0, `cluster_boto3.py ${env.E2E_STEP} → exit ${res.code}\n${res.stdout}\n${res.stderr}`);
      return JSON.parse(res.stdout);
    });
  }

  test('boto3 through node 1 and the JS SDK v3 through node 2; sessions on nodes 2 and 3 get every message once, in one order', OPTS, withOutput(async () => {
    if (boto3.failure) assert.fail(boto3.failure);
    if (pg.failure) assert.fail(pg.failure);
    const arns = await boto3Step(nodes[0], { E2E_STEP: 'setup' });

    // bob's session on node 2, carol's on node 3: each SDK asks its node for the endpoint.
    const bob = await openSession(nodes[1], arns.bob);
    const carol = await openSession(nodes[2], arns.carol);

    const viaJS = (async () => {
      const client = messagingClient(nodes[1]);
      const ids = [];
      for (let i = 0; i < PER_SENDER; i++) {
        const res = await send(client, new M.SendChannelMessageCommand({
          ChannelArn: arns.channel, Content: `js-${i}`, Type: 'STANDARD', Persistence: 'PERSISTENT', ClientRequestToken: `js-${i}`, ChimeBearer: arns.bob,
        }));
        ids.push(res.MessageId);
      }
      return ids;
    })();
    const viaBoto3 = boto3Step(nodes[0], { E2E_STEP: 'send', E2E_CHANNEL: arns.channel, E2E_SENDER: arns.alice, E2E_COUNT: String(PER_SENDER), E2E_TAG: 'py' });
    const [jsIds, { ids: pyIds }] = await Promise.all([viaJS, viaBoto3]);
    const all = new Set([...jsIds, ...pyIds]);
    assert.equal(all.size, 2 * PER_SENDER, 'distinct message ids');

    const orders = [];
    for (const s of [bob, carol]) {
      const last = [jsIds.at(-1), pyIds.at(-1)];
      for (const id of last) await s.waitForEvent('CREATE_CHANNEL_MESSAGE', { ChannelArn: arns.channel, MessageId: id }, { timeoutMs: 4 * EVENT_TIMEOUT_MS });
      const got = s.messages().filter((m) => m.type === 'CREATE_CHANNEL_MESSAGE').map((m) => m.json.MessageId);
      assert.equal(got.length, new Set(got).size, `${s.label}: a message arrived twice:\n${s.describeEvents()}`);
      assert.deepEqual(new Set(got), all, `${s.label}: not exactly the messages sent`);
      for (const [what, ids] of [['JS SDK', jsIds], ['boto3', pyIds]]) {
        const seen = got.filter((id) => ids.includes(id));
        assert.deepEqual(seen, ids, `${s.label}: the ${what} sender's messages out of send order`);
      }
      orders.push(got);
    }
    assert.deepEqual(orders[0], orders[1], 'nodes 2 and 3 delivered the channel in different orders');
    bob.stop();
    carol.stop();
  }));
});
