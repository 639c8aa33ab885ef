import sys, datetime, botocore.session
port = sys.argv[1]
CH = 'arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/channel/ch1'
USER = 'arn:aws:chime:us-east-1:111122223333:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/user/alice'
for tok in (None, 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def=='):
    s = botocore.session.get_session()
    c = s.create_client('chime-sdk-messaging', region_name='us-east-1', endpoint_url='http://127.0.0.1:' + port,
                        aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
                        aws_session_token=tok)
    def tag(op):
        def h(request, **kw):
            request.headers['X-Capture-Op'] = op + ('+token' if tok else '')
        return h
    calls = [
        ('GetMessagingSessionEndpoint', lambda: c.get_messaging_session_endpoint()),
        ('SendChannelMessage', lambda: c.send_channel_message(ChannelArn=CH, ChimeBearer=USER, Content="héllo (wörld)! it's *fine* ~ 100%", Type='STANDARD', Persistence='PERSISTENT', Metadata='m=1&n=2', ClientRequestToken='tok-1')),
        ('ListChannelMessages', lambda: c.list_channel_messages(ChannelArn=CH, ChimeBearer=USER, NotBefore=datetime.datetime(2024,5,1,12,0,0,123000,tzinfo=datetime.timezone.utc), NotAfter=datetime.datetime(2024,5,2,tzinfo=datetime.timezone.utc), MaxResults=50, SortOrder='DESCENDING', NextToken='a+b/c=d e!(x)')),
        ('ChannelFlowCallback', lambda: c.channel_flow_callback(ChannelArn=CH, CallbackId='0123456789abcdef0123456789abcdef', ChannelMessage={'MessageId': 'm1', 'Content': 'x'})),
        ('GetChannelMessageStatus', lambda: c.get_channel_message_status(ChannelArn=CH, MessageId='m-1', ChimeBearer=USER)),
        ('DeleteChannelMembership', lambda: c.delete_channel_membership(ChannelArn=CH, MemberArn=USER, ChimeBearer=USER)),
        ('UpdateChannelReadMarker', lambda: c.update_channel_read_marker(ChannelArn=CH, ChimeBearer=USER)),
    ]
    for op, fn in calls:
        # X-Capture-Op is added before signing so it is simply one more signed header.
        c.meta.events.register_first('before-sign.*.*', tag(op), unique_id='cap')
        try:
            fn()
        except Exception as e:
            print(op, type(e).__name__, e, file=sys.stderr)
        c.meta.events.unregister('before-sign.*.*', unique_id='cap')
