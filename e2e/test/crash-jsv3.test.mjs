// Durability under a crash: concurrent JS SDK v3 senders write to several channels while the
// server is killed with SIGKILL; after a restart on the same data dir, every MessageId the SDK
// received (an acknowledged SendChannelMessage) is listed by ListChannelMessages. Three rounds.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as I from '@aws-sdk/client-chime-sdk-identity';
import * as M from '@aws-sdk/client-chime-sdk-messaging';
import { identityClient, messagingClient, send } from '../lib/aws.mjs';
import { REQUEST_TIMEOUT_MS, SETUP_TIMEOUT_MS, STOP_TIMEOUT_MS, restartBelfry, startBelfry, withServerOutput } from '../lib/server.mjs';

const SENDERS = 8;
const CHANNELS = 4;
const ROUNDS = 3;

describe('kill -9 under load loses no acknowledged message', () => {
  let server;
  before(async () => { server = await startBelfry(); }, { timeout: SETUP_TIMEOUT_MS });
  after(async () => { await server?.stop(); }, { timeout: STOP_TIMEOUT_MS + 5_000 });

  test('every acknowledged MessageId survives SIGKILL and restart', { timeout: ROUNDS * 6 * REQUEST_TIMEOUT_MS }, withServerOutput(() => server, async () => {
    const identity = identityClient(server);
    const app = (await send(identity, new I.CreateAppInstanceCommand({ Name: 'crash', ClientRequestToken: crypto.randomUUID() }))).AppInstanceArn;
    const user = (await send(identity, new I.CreateAppInstanceUserCommand({
      AppInstanceArn: app, AppInstanceUserId: 'writer', Name: 'writer', ClientRequestToken: crypto.randomUUID(),
    }))).AppInstanceUserArn;
    const setup = messagingClient(server);
    const channels = [];
    for (let i = 0; i < CHANNELS; i++) {
      channels.push((await send(setup, new M.CreateChannelCommand({
        AppInstanceArn: app, Name: `crash-${i}`, ChimeBearer: user, ClientRequestToken: crypto.randomUUID(),
      }))).ChannelArn);
    }
    const acked = new Map(); // MessageId -> ChannelArn
    for (let round = 1; round <= ROUNDS; round++) {
      const client = messagingClient(server, { requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 } });
      let stop = false;
      const ackedThisRound = [];
      const senders = Array.from({ length: SENDERS }, async (_, s) => {
        for (let n = 0; !stop; n++) {
          const ChannelArn = channels[(s + n) % CHANNELS];
          try {
            const out = await client.send(new M.SendChannelMessageCommand({
              ChannelArn, Content: `round ${round} sender ${s} #${n}`, Type: 'STANDARD', Persistence: 'PERSISTENT',
              ChimeBearer: user, ClientRequestToken: crypto.randomUUID(),
            }));
            acked.set(out.MessageId, ChannelArn);
            ackedThisRound.push(out.MessageId);
          } catch {
            if (server.exitStatus()) return; // the server is gone: what was not acknowledged may be lost
          }
        }
      });
      // Kill once the load has produced acknowledged messages in this round (polled, not slept).
      const deadline = Date.now() + 20_000;
      while (ackedThisRound.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(ackedThisRound.length > 0, `round ${round}: no message was acknowledged`);
      await server.kill();
      stop = true;
      await Promise.all(senders);
      server = await restartBelfry(server);

      const reader = messagingClient(server);
      const listed = new Set();
      for (const ChannelArn of channels) {
        let NextToken;
        do {
          const page = await send(reader, new M.ListChannelMessagesCommand({ ChannelArn, ChimeBearer: user, MaxResults: 50, NextToken }));
          for (const m of page.ChannelMessages ?? []) listed.add(m.MessageId);
          NextToken = page.NextToken;
        } while (NextToken);
      }
      const lost = [...acked.keys()].filter((id) => !listed.has(id));
      assert.deepEqual(lost, [], `round ${round}: ${lost.length} of ${acked.size} acknowledged messages lost after kill -9`);
    }
  }));
});
