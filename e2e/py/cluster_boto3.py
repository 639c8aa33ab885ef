"""boto3's part of the multi-node test (test/cluster.test.mjs), through one node.

E2E_STEP=setup: creates an app instance, users alice, bob and carol, a channel of alice's with bob
and carol as members; prints {"app", "channel", "alice", "bob", "carol"}.
E2E_STEP=send: sends E2E_COUNT messages as E2E_SENDER on E2E_CHANNEL, one after the other, with
contents "<E2E_TAG>-<i>"; prints {"ids": [MessageId in send order]}.
Any failure is an exception (exit 1, traceback on stderr).
"""

import json
import os

import boto3
import botocore.config

cfg = botocore.config.Config(retries={'total_max_attempts': 1, 'mode': 'standard'}, connect_timeout=5, read_timeout=10)
session = boto3.session.Session()
endpoint = os.environ['E2E_ENDPOINT']
region = os.environ['AWS_DEFAULT_REGION']
identity = session.client('chime-sdk-identity', endpoint_url=endpoint, region_name=region, config=cfg)
messaging = session.client('chime-sdk-messaging', endpoint_url=endpoint, region_name=region, config=cfg)

step = os.environ['E2E_STEP']
if step == 'setup':
    app = identity.create_app_instance(Name='cluster', ClientRequestToken='cluster-app')['AppInstanceArn']
    users = {}
    for name in ('alice', 'bob', 'carol'):
        users[name] = identity.create_app_instance_user(
            AppInstanceArn=app, AppInstanceUserId=name, Name=name, ClientRequestToken='cluster-' + name)['AppInstanceUserArn']
    channel = messaging.create_channel(AppInstanceArn=app, Name='cluster', Mode='RESTRICTED', Privacy='PRIVATE',
                                       ClientRequestToken='cluster-channel', ChimeBearer=users['alice'])['ChannelArn']
    for name in ('bob', 'carol'):
        messaging.create_channel_membership(ChannelArn=channel, MemberArn=users[name], Type='DEFAULT', ChimeBearer=users['alice'])
    print(json.dumps({'app': app, 'channel': channel, **users}))
elif step == 'send':
    ids = []
    for i in range(int(os.environ['E2E_COUNT'])):
        tag = '%s-%d' % (os.environ['E2E_TAG'], i)
        ids.append(messaging.send_channel_message(
            ChannelArn=os.environ['E2E_CHANNEL'], Content=tag, Type='STANDARD', Persistence='PERSISTENT',
            ClientRequestToken=tag, ChimeBearer=os.environ['E2E_SENDER'])['MessageId'])
    print(json.dumps({'ids': ids}))
else:
    raise SystemExit('unknown E2E_STEP ' + step)
