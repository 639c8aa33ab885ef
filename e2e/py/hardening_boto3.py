"""Belfry's hardening (issue 17) through boto3 against a server run with --rate-limits aws.

Run by test/hardening-boto3.test.mjs with E2E_ENDPOINT, E2E_ACCOUNT and AWS_* (the root key) set.
Covers: signatures 10 minutes off accepted and 20 minutes off refused; an x-amz-chime-bearer added
after signing refused; a burst of sends from one bearer throttled with ThrottledClientException
and carried through by boto3's (legacy) retries; temporary credentials from
POST /_belfry/credentials used by boto3, refused when tampered, and refused after expiry.

Prints {"checks": [{"name", "ok", "detail"}]}; exit status 1 if any check failed.
"""

import concurrent.futures
import datetime
import json
import os
import sys
import time
import urllib.request
import uuid

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

endpoint = os.environ['E2E_ENDPOINT']
region = os.environ['AWS_DEFAULT_REGION']
account = os.environ['E2E_ACCOUNT']
no_retry = botocore.config.Config(retries={'total_max_attempts': 1, 'mode': 'standard'}, connect_timeout=5, read_timeout=10)
session = boto3.session.Session()
identity = session.client('chime-sdk-identity', endpoint_url=endpoint, region_name=region, config=no_retry)
messaging = session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=no_retry)
checks = []


def check(name, cond, detail=''):
    checks.append({'name': name, 'ok': bool(cond), 'detail': str(detail)[:800]})
    return bool(cond)


def error_of(fn):
    try:
        fn()
        return None
    except botocore.exceptions.ClientError as e:
        return (e.response['Error'].get('Code'), e.response['ResponseMetadata'].get('HTTPStatusCode'), e.response['Error'].get('Message'))


def retrying(fn, what, deadline=10):
    """The setup calls run under --rate-limits aws with no retries: retry a throttled one here."""
    end = time.time() + deadline
    while True:
        try:
            return fn()
        except botocore.exceptions.ClientError as e:
            if e.response['Error'].get('Code') != 'ThrottledClientException' or time.time() > end:
                raise RuntimeError(f'{what}: {e}')
            time.sleep(0.2)


suffix = uuid.uuid4().hex[:8]
app = retrying(lambda: identity.create_app_instance(Name=f'hardening-{suffix}', ClientRequestToken=str(uuid.uuid4())), 'CreateAppInstance')['AppInstanceArn']
users = {}
for name in ('alice', 'bob'):
    users[name] = retrying(lambda: identity.create_app_instance_user(
        AppInstanceArn=app, AppInstanceUserId=f'{name}-{suffix}', Name=name, ClientRequestToken=str(uuid.uuid4())), 'CreateAppInstanceUser')['AppInstanceUserArn']
alice, bob = users['alice'], users['bob']
channel = retrying(lambda: messaging.create_channel(AppInstanceArn=app, Name='hardening', Mode='RESTRICTED', Privacy='PRIVATE',
                                                  ClientRequestToken=str(uuid.uuid4()), ChimeBearer=alice), 'CreateChannel')['ChannelArn']

# --- clock skew: botocore reads the signing time from botocore.auth.get_current_datetime
real_now = botocore.auth.get_current_datetime
for minutes, accepted in ((-10, True), (10, True), (-20, False), (20, False)):
    botocore.auth.get_current_datetime = lambda m=minutes: real_now() + datetime.timedelta(minutes=m)
    try:
        err = error_of(lambda: identity.describe_app_instance(AppInstanceArn=app))
    finally:
        botocore.auth.get_current_datetime = real_now
    if accepted:
        check(f'signed {minutes:+d} min off: accepted', err is None, err)
    else:
        check(f'signed {minutes:+d} min off: InvalidSignatureException 403',
              err is not None and err[0] == 'InvalidSignatureException' and err[1] == 403 and 'Signature' in err[2], err)

# --- the bearer must be signed: sign without it, add it back before sending
stash = {}


def drop_bearer(request, **_):
    stash['bearer'] = request.headers.get('x-amz-chime-bearer')
    del request.headers['x-amz-chime-bearer']


def add_bearer(request, **_):
    request.headers['x-amz-chime-bearer'] = stash['bearer']


unsigned = session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=no_retry)
unsigned.meta.events.register('before-sign.chime-sdk-messaging.DescribeChannel', drop_bearer)
unsigned.meta.events.register('before-send.chime-sdk-messaging.DescribeChannel', add_bearer)
err = error_of(lambda: unsigned.describe_channel(ChannelArn=channel, ChimeBearer=alice))
check('bearer added after signing: IncompleteSignatureException 403',
      err is not None and err[0] == 'IncompleteSignatureException' and err[1] == 403 and 'x-amz-chime-bearer' in err[2], err)
err = error_of(lambda: retrying(lambda: messaging.describe_channel(ChannelArn=channel, ChimeBearer=alice), 'DescribeChannel'))
check('the same call with the bearer signed: accepted', err is None, err)

# --- throttling: a burst from one bearer, boto3's default retry mode (legacy) with more attempts than
# its default 5. With 5, whether all of 30 sends at once get through a 10/s bucket is luck: each retry
# waits rand() x 2^n seconds, and a request that draws four short waits gives up within the two seconds
# the bucket needs, against AWS as here. (Standard mode is no better for a burst: its client-side retry
# quota runs out after about 100 throttled retries, and then nothing is retried at all.)
for var in ('AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE'):
    os.environ.pop(var, None)
default_session = boto3.session.Session()
burst_client = default_session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region,
                                      config=botocore.config.Config(max_pool_connections=40,
                                                                    retries={'mode': 'legacy', 'max_attempts': 10}))
check('burst client uses boto3 legacy (default) retry mode', burst_client.meta.config.retries.get('mode') == 'legacy',
      burst_client.meta.config.retries)
BURST = 30


def send(i):
    r = burst_client.send_channel_message(ChannelArn=channel, Content=f'burst {i}', Type='STANDARD', Persistence='PERSISTENT',
                                          ClientRequestToken=str(uuid.uuid4()), ChimeBearer=alice)
    return r['MessageId'], r['ResponseMetadata'].get('RetryAttempts', 0)


throttled_direct = error_of(lambda: [messaging.describe_channel(ChannelArn=channel, ChimeBearer=alice) for _ in range(20)])
check('20 calls at once from one bearer, no retries: ThrottledClientException 429',
      throttled_direct is not None and throttled_direct[0] == 'ThrottledClientException' and throttled_direct[1] == 429, throttled_direct)
start = time.time()
results, failures = [], []
with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
    for f in [pool.submit(send, i) for i in range(BURST)]:
        try:
            results.append(f.result())
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            failures.append(repr(e))
retries = sum(r for _, r in results)
check(f'burst of {BURST} sends: every one succeeds with retries', len(results) == BURST and not failures, failures[:3])
check('burst of sends: some were throttled and retried', retries > 0, f'{retries} retries in {time.time() - start:.1f}s')
listed = set()
token = None
while True:
    kw = {'ChannelArn': channel, 'ChimeBearer': alice, 'MaxResults': 50}
    if token:
        kw['NextToken'] = token
    page = burst_client.list_channel_messages(**kw)
    listed.update(m['MessageId'] for m in page.get('ChannelMessages', []))
    token = page.get('NextToken')
    if not token:
        break
missing = [m for m, _ in results if m not in listed]
check('every acknowledged burst message is listed', not missing, missing[:3])


# --- temporary credentials
def belfry_post(path, body, creds):
    req = botocore.awsrequest.AWSRequest(method='POST', url=endpoint + path, data=json.dumps(body).encode(),
                                         headers={'Content-Type': 'application/json'})
    botocore.auth.SigV4Auth(creds, 'chime', region).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body, method='POST', headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(r, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, {'ErrorType': e.headers.get('x-amzn-ErrorType'), **json.loads(e.read() or b'{}')}


root = botocore.credentials.Credentials(os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY'])
status, temp = belfry_post('/_belfry/credentials', {'AppInstanceUserArn': alice, 'DurationSeconds': 900}, root)
check('POST /_belfry/credentials: 200 with the four fields', status == 200 and all(temp.get(k) for k in
      ('AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration')), (status, {k: v for k, v in temp.items() if k != 'SecretAccessKey'}))
exp = datetime.datetime.fromisoformat(temp.get('Expiration', '1970-01-01T00:00:00+00:00').replace('Z', '+00:00'))
check('Expiration is about 15 minutes away', 800 < (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() <= 901, exp)
temp_session = boto3.session.Session(aws_access_key_id=temp.get('AccessKeyId'), aws_secret_access_key=temp.get('SecretAccessKey'),
                                     aws_session_token=temp.get('SessionToken'))
as_alice = temp_session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=botocore.config.Config(max_pool_connections=4))
try:
    r = as_alice.send_channel_message(ChannelArn=channel, Content='with temporary credentials', Type='STANDARD',
                                      Persistence='PERSISTENT', ClientRequestToken=str(uuid.uuid4()), ChimeBearer=alice)
    got = as_alice.get_channel_message(ChannelArn=channel, MessageId=r['MessageId'], ChimeBearer=alice)['ChannelMessage']
    check('temporary credentials: send and get as their user', got['Sender']['Arn'] == alice and got['Content'] == 'with temporary credentials', got)
except botocore.exceptions.ClientError as e:
    check('temporary credentials: send and get as their user', False, e)
temp_no_retry = temp_session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=no_retry)
err = error_of(lambda: temp_no_retry.describe_channel(ChannelArn=channel, ChimeBearer=bob))
check('temporary credentials: another bearer refused (4xx)', err is not None and 400 <= err[1] < 500 and err[1] != 429, err)
status, body = belfry_post('/_belfry/credentials', {'AppInstanceUserArn': alice}, botocore.credentials.Credentials(
    temp.get('AccessKeyId'), temp.get('SecretAccessKey'), temp.get('SessionToken')))
check('temporary credentials cannot create credentials: ForbiddenException 403', status == 403 and body.get('ErrorType') == 'ForbiddenException', (status, body))
status, body = belfry_post('/_belfry/credentials', {'AppInstanceUserArn': alice, 'DurationSeconds': 999999}, root)
check('DurationSeconds out of range: BadRequestException naming it', status == 400 and 'DurationSeconds' in body.get('Message', ''), (status, body))
tok = temp.get('SessionToken', 'x')
tampered = tok[:-3] + ('AAA' if not tok.endswith('AAA') else 'BBB')
tampered_client = boto3.session.Session(aws_access_key_id=temp.get('AccessKeyId'), aws_secret_access_key=temp.get('SecretAccessKey'),
                                        aws_session_token=tampered).client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=no_retry)
err = error_of(lambda: tampered_client.describe_channel(ChannelArn=channel, ChimeBearer=alice))
check('tampered session token: UnrecognizedClientException 403', err is not None and err[:2] == ('UnrecognizedClientException', 403), err)

status, short = belfry_post('/_belfry/credentials', {'AppInstanceUserArn': alice, 'DurationSeconds': 3}, root)
short_client = boto3.session.Session(aws_access_key_id=short.get('AccessKeyId'), aws_secret_access_key=short.get('SecretAccessKey'),
                                     aws_session_token=short.get('SessionToken')).client('chime-sdk-messaging', endpoint_url=endpoint,
                                                                                          region_name=region, config=no_retry)
first = error_of(lambda: short_client.describe_channel(ChannelArn=channel, ChimeBearer=alice))
check('3-second credentials work at first', status == 200 and (first is None or first[0] == 'ThrottledClientException'), (status, first))
deadline = time.time() + 15
err = None
while time.time() < deadline:
    err = error_of(lambda: short_client.describe_channel(ChannelArn=channel, ChimeBearer=alice))
    if err and err[0] == 'ExpiredTokenException':
        break
    time.sleep(0.25)
check('after Expiration: ExpiredTokenException 403', err is not None and err[:2] == ('ExpiredTokenException', 403), err)

print(json.dumps({'checks': checks}))
failed = [c for c in checks if not c['ok']]
if failed:
    print(json.dumps(failed, indent=1), file=sys.stderr)
    sys.exit(1)
