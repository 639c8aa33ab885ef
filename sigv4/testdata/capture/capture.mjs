// Regenerates ../sdk-captured.json: npm install @aws-sdk/client-chime-sdk-messaging@3.1142.0, have botocore
// importable by python3, then run: node capture.mjs (writes /tmp/jscap/captured.json; copy it over).
// Capture raw requests signed by real SDKs (JS v3 here, botocore via child process).
import http from 'node:http';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import {
  ChimeSDKMessagingClient, GetMessagingSessionEndpointCommand, SendChannelMessageCommand,
  ListChannelMessagesCommand, ChannelFlowCallbackCommand, GetChannelMessageStatusCommand,
  DeleteChannelMembershipCommand, UpdateChannelReadMarkerCommand, CreateChannelCommand,
} from '@aws-sdk/client-chime-sdk-messaging';

const captured = [];
let label = '';
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    captured.push({ client: label.split(':')[0], op: label.split(':')[1], method: req.method, target: req.url,
      headers: req.rawHeaders.flatMap((v, i, a) => i % 2 ? [] : [[a[i], a[i + 1]]]),
      body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'r' });
    res.end('{}');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const CH = 'arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/channel/ch1';
const USER = 'arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/user/alice';
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const tokenCreds = { ...creds, sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def==' };
for (const [name, c] of [['js', creds], ['js-token', tokenCreds]]) {
  const client = new ChimeSDKMessagingClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: c, maxAttempts: 1 });
  const run = async (op, cmd) => { label = `${name}:${op}`; try { await client.send(cmd); } catch (e) { console.error(op, e.name); } };
  await run('GetMessagingSessionEndpoint', new GetMessagingSessionEndpointCommand({}));
  await run('SendChannelMessage', new SendChannelMessageCommand({ ChannelArn: CH, ChimeBearer: USER, Content: "héllo (wörld)! it's *fine* ~ 100%", Type: 'STANDARD', Persistence: 'PERSISTENT', Metadata: 'm=1&n=2', ClientRequestToken: 'tok-1' }));
  await run('ListChannelMessages', new ListChannelMessagesCommand({ ChannelArn: CH, ChimeBearer: USER, NotBefore: new Date('2024-05-01T12:00:00.123Z'), NotAfter: new Date('2024-05-02T00:00:00Z'), MaxResults: 50, SortOrder: 'DESCENDING', NextToken: 'a+b/c=d e!(x)' }));
  await run('ChannelFlowCallback', new ChannelFlowCallbackCommand({ ChannelArn: CH, CallbackId: '0123456789abcdef0123456789abcdef', ChannelMessage: { MessageId: 'm1', Content: 'x' } }));
  await run('GetChannelMessageStatus', new GetChannelMessageStatusCommand({ ChannelArn: CH, MessageId: 'm-1', ChimeBearer: USER }));
  await run('DeleteChannelMembership', new DeleteChannelMembershipCommand({ ChannelArn: CH, MemberArn: USER, ChimeBearer: USER }));
  await run('UpdateChannelReadMarker', new UpdateChannelReadMarkerCommand({ ChannelArn: CH, ChimeBearer: USER }));
  await run('CreateChannel', new CreateChannelCommand({ AppInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', Name: 'n', ChimeBearer: USER, ClientRequestToken: 'crt-1', Tags: [{ Key: 'k', Value: 'v' }] }));
}
// botocore: runs against the same server; labels come from a header we read back.
label = 'botocore:';
const before = captured.length;
await new Promise((res, rej) => execFile('python3', [new URL('./boto.py', import.meta.url).pathname, String(port)], (err, so, se) => { process.stderr.write(se); err ? rej(err) : res(); }));
for (const c of captured.slice(before)) {
  const op = c.headers.find(([k]) => k.toLowerCase() === 'x-capture-op');
  c.client = 'botocore'; c.op = op ? op[1] : '?';
}
fs.writeFileSync('/tmp/jscap/captured.json', JSON.stringify(captured, null, 1));
console.log('captured', captured.length);
server.close();
