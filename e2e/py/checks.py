"""The boto3 harness the messaging scripts share: clients for E2E_ENDPOINT, checks that
keep going after a failure, call wrappers that turn a ClientError into (code, status, message),
and report(), which prints the JSON the .test.mjs wrappers read and exits 1 if a check failed.
"""

import json
import os
import re
import sys

import boto3
import botocore.config
import botocore.exceptions

cfg = botocore.config.Config(retries={'total_max_attempts': 1, 'mode': 'standard'}, connect_timeout=5, read_timeout=10,
                             max_pool_connections=20)
session = boto3.session.Session()
endpoint = os.environ['E2E_ENDPOINT']
region = os.environ['AWS_DEFAULT_REGION']
identity = session.client('chime-sdk-identity', endpoint_url=endpoint, region_name=region, config=cfg)
messaging = session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=cfg)

MESSAGE_ID = re.compile(r'^[0-9a-f]{64}$')
checks = []
operations = set()


def check(name, cond, detail=''):
    checks.append({'name': name, 'ok': bool(cond), 'detail': str(detail)[:800]})
    return bool(cond)


def call(client, op, **kw):
    """Call client.<snake op>(**kw); returns (response, None) or (None, (code, status, message))."""
    if client is messaging:
        operations.add(op)
    snake = ''.join('_' + c.lower() if c.isupper() else c for c in op).lstrip('_')
    try:
        return getattr(client, snake)(**kw), None
    except botocore.exceptions.ClientError as e:
        return None, (e.response['Error'].get('Code'), e.response['ResponseMetadata'].get('HTTPStatusCode'), e.response['Error'].get('Message'))


def ok(name, op, client=messaging, **kw):
    r, err = call(client, op, **kw)
    check(name, err is None, err)
    return r or {}


def fails(name, op, code, status, client=messaging, **kw):
    r, err = call(client, op, **kw)
    check(name, err is not None and err[0] == code and err[1] == status, err or f'succeeded: {r}')
    return err or (None, None, '')


def status_of(r):
    return r.get('ResponseMetadata', {}).get('HTTPStatusCode')


def send(name, channel, bearer, content, **kw):
    kw.setdefault('Type', 'STANDARD')
    kw.setdefault('Persistence', 'PERSISTENT')
    r = ok(name, 'SendChannelMessage', ChannelArn=channel, ChimeBearer=bearer, Content=content, **kw)
    mid = r.get('MessageId', '')
    check(f'{name}: 201 and a 64-hex MessageId', status_of(r) == 201 and MESSAGE_ID.match(mid), r)
    return mid


def list_all(name, channel, bearer, **kw):
    """Walk ListChannelMessages with NextToken; returns (messages, page sizes)."""
    messages, sizes, token = [], [], None
    for _ in range(100):
        args = dict(ChannelArn=channel, ChimeBearer=bearer, **kw)
        if token:
            args['NextToken'] = token
        r = ok(f'{name} page {len(sizes)}', 'ListChannelMessages', **args)
        page = r.get('ChannelMessages', [])
        sizes.append(len(page))
        messages += page
        token = r.get('NextToken')
        if not r or not token:
            break
    return messages, sizes


def ordered(messages, descending):
    ts = [m['CreatedTimestamp'] for m in messages]
    pairs = zip(ts, ts[1:])
    return all(a >= b for a, b in pairs) if descending else all(a <= b for a, b in pairs)


def report():
    failed = [c for c in checks if not c['ok']]
    print(json.dumps({'checks': checks, 'operations': sorted(operations)}, default=str))
    if failed:
        for c in failed:
            print(f"FAILED: {c['name']}: {c['detail']}", file=sys.stderr)
        print(f'{len(failed)} of {len(checks)} checks failed', file=sys.stderr)
        sys.exit(1)
