// Produces the URL in capturedJSPresign (captured_test.go) with amazon-chime-sdk-js@3.32.0 installed.
const DefaultSigV4 = require('amazon-chime-sdk-js/build/sigv4/DefaultSigV4').default;
const client = { config: {
  region: async () => 'us-east-1',
  credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: "FwoG+ZXIv/YXdz=tok(en)!*'~" }),
} };
(async () => {
  const q = new Map();
  q.set('userArn', ['arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/user/alice']);
  q.set('sessionId', ['4282501305']);
  q.set('prefetch-on', ['connect']);
  q.set('prefetch-sort-by', ['last-message-timestamp']);
  console.log(await new DefaultSigV4(client).signURL('GET', 'wss', 'chime', 'Chime.Example.com:8443', '/connect', '', q));
})();
