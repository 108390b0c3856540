#!/usr/bin/python3
"""SigV4 test vectors from botocore's own signers (tests/auth/sigv4_test.cc runs this).

Every vector is a request signed offline by botocore for service 'lambda', printed as one JSON line
with what a server receives: the method, the request-target exactly as botocore's HTTP layer puts
it on the wire, every header sent (Host included), the body (base64), and the Authorization and
X-Amz-Date botocore produced (plus botocore's canonical request, for diagnostics). The C++ test
verifies each with mlfaas::auth::Verify and re-signs it with SignAuthorization.

botocore has two SigV4 signers: botocore.auth.SigV4Auth (pure Python) and, when python3-awscrt is
installed (Debian installs it with python3-botocore), botocore.crt.auth.CrtSigV4Auth, which wraps
AWS's C implementation (aws-c-auth) and is what a botocore client then actually uses. Vectors are
named "py:<case>" and "crt:<case>"; "client:<case>" come from a real botocore Lambda client (its
serializer, its headers, its signer), captured at 'before-send' and never sent.

How the URLs are built matters. SigV4Auth signs a URL's query string *verbatim* (it sorts the raw
pairs, _canonical_query_string_url) and relies on botocore's serializers having encoded it already
(prepare_request_dict: percent_encode_sequence). CRT decodes and re-encodes each pair, as the SigV4
specification does (and as our server does). The two agree exactly when the query is already in
canonical form, so the "py:" query strings are encoded the way the serializers encode them; the
query strings that are not ("$", "+", "%7e", "&&" as typed by hand) are signed by CRT only, where
they have a well-defined meaning. Paths are used raw as well as encoded: both signers URI-encode the
path themselves (quote(normalize_url_path(path), safe='/~')), so any path urllib3 sends unchanged
works.

Run with Debian's /usr/bin/python3 (python3-boto3, installed by scripts/deps.sh). Prints the
vectors on stdout; exits 3 with a message on stderr if botocore is missing.
"""

import base64
import datetime
import hashlib
import json
import sys
import types

try:
    import botocore
    import botocore.auth
    import botocore.session
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.httpsession import URLLib3Session
    from botocore.utils import percent_encode, percent_encode_sequence
    from urllib3.util.url import _encode_target
except ImportError as e:  # reported by the C++ test
    sys.stderr.write(
        "botocore_sigv4_vectors.py: cannot import botocore/urllib3 (%s); "
        "install python3-boto3 (scripts/deps.sh)\n" % e
    )
    sys.exit(3)

try:
    import botocore.crt.auth

    CRT_SIGNER = botocore.crt.auth.CrtSigV4Auth if botocore.compat.HAS_CRT else None
except ImportError:
    CRT_SIGNER = None

SERVICE = 'lambda'
AKID = 'AKIAIOSFODNN7EXAMPLE'
SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
BASE = 'http://localhost:9000'
FN = '/2015-03-31/functions'


class _Clock:
    """Pins the time botocore signs at (both signers call datetime.datetime.utcnow())."""

    now = datetime.datetime(2026, 11, 26, 10, 0, 0)


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _Clock.now


# botocore 1.29 (Debian 12) calls datetime.datetime.utcnow() in both signers; later versions call
# botocore.utils.get_current_datetime(), imported into each module. Pin whichever is there.
_DATETIME = types.SimpleNamespace(datetime=_FixedDatetime, timezone=datetime.timezone)
for _module in [botocore.auth] + ([botocore.crt.auth] if CRT_SIGNER is not None else []):
    _module.datetime = _DATETIME
    if hasattr(_module, 'get_current_datetime'):
        _module.get_current_datetime = lambda *args, **kwargs: _Clock.now


class _RecordingSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4Auth that keeps the canonical request it signed (printed for diagnostics)."""

    def canonical_request(self, request):
        self.last_canonical_request = super().canonical_request(request)
        return self.last_canonical_request


def wire_target(url):
    # Exactly what botocore's URLLib3Session hands urllib3, and what urllib3 then writes.
    return _encode_target(URLLib3Session._path_url(None, url))


def _text(v):
    return v.decode('utf-8') if isinstance(v, bytes) else v


def emit(name, method, url, headers, body, creds, region, canonical_request=None):
    headers = [(_text(k), _text(v)) for k, v in headers]
    if 'host' not in {k.lower() for k, _ in headers}:
        # http.client sends Host like this (botocore signs the same value).
        headers.append(('Host', botocore.auth._host_from_url(url)))
    auth = [v for k, v in headers if k.lower() == 'authorization']
    amz_date = [v for k, v in headers if k.lower() == 'x-amz-date']
    signed_at = _Clock.now.strftime('%Y%m%dT%H%M%SZ')
    if amz_date and amz_date[0] != signed_at:
        sys.stderr.write('botocore_sigv4_vectors.py: botocore %s signed at %s, not at the pinned '
                         '%s: this script cannot pin its clock\n'
                         % (botocore.__version__, amz_date[0], signed_at))
        sys.exit(4)
    if isinstance(body, str):
        body = body.encode('utf-8')
    print(
        json.dumps(
            {
                'name': name,
                'method': method,
                'target': wire_target(url),
                'headers': headers,
                'body_b64': base64.b64encode(body or b'').decode('ascii'),
                'authorization': auth[0],
                # botocore's timestamp (the Date header carries it when the request had one).
                'amz_date': amz_date[0] if amz_date else signed_at,
                'access_key_id': creds.access_key,
                'secret': creds.secret_key,
                'region': region,
                'canonical_request': canonical_request,
            }
        )
    )


def sign(name, method, url, headers=None, body=b'', when=None, region='us-east-1',
         akid=AKID, secret=SECRET, token=None, python=True):
    """Signs with SigV4Auth ("py:") unless python=False, and with CrtSigV4Auth ("crt:")."""
    _Clock.now = when or _Clock.now + datetime.timedelta(seconds=3671)
    creds = Credentials(akid, secret, token)
    signers = [('py', _RecordingSigV4Auth)] if python else []
    if CRT_SIGNER is not None:
        signers.append(('crt', CRT_SIGNER))
    for prefix, cls in signers:
        request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
        request.context = {}
        signer = cls(creds, SERVICE, region)
        signer.add_auth(request)
        emit(prefix + ':' + name, method, url, request.headers.items(), request.body, creds, region,
             getattr(signer, 'last_canonical_request', None))


def q(pairs):
    return '?' + percent_encode_sequence(pairs)


def generated_vectors():
    inv = '/invocations'
    arn = 'arn:aws:lambda:us-east-1:123456789012:function:my-fn'
    sign('invoke', 'POST', BASE + FN + '/my-function' + inv, body=b'{"x": 1}')
    sign('invoke-empty-body', 'POST', BASE + FN + '/my-function' + inv)
    # The serializer's way: a path label is percent-encoded, so ':' reaches the server as %3A and
    # is signed as %253A (encoded twice, the rule for every service but S3).
    sign('arn-encoded', 'POST', BASE + FN + '/' + percent_encode(arn) + inv, body=b'{}')
    sign('arn-raw-colon-dollar', 'POST', BASE + FN + '/' + arn + ':$LATEST' + inv, body=b'[]')
    sign('qualifier-latest', 'POST', BASE + FN + '/my-fn' + inv + q([('Qualifier', '$LATEST')]),
         body=b'{"a": [1, 2, 3]}')
    sign('qualifier-alias', 'GET', BASE + FN + '/my-fn' + q([('Qualifier', 'live')]))
    sign('list-marker', 'GET', BASE + FN + '/' + q([('MaxItems', '10'), ('Marker', 'abc/def==')]))
    sign('query-repeated-keys', 'GET', BASE + FN + q([('b', '2'), ('a', '3'), ('a', '1'),
                                                      ('a', '2'), ('B', '0')]))
    sign('query-empty-values', 'GET', BASE + FN + '?a=&flag&c=' + '&' +
         percent_encode_sequence([('d', '')]))
    sign('query-unicode', 'GET', BASE + FN + q([('name', '\u1234'), ('emoji', '\U0001F600'),
                                                ('\u00e9t\u00e9', 'caf\u00e9')]))
    sign('query-plus-space', 'GET', BASE + FN + q([('q', 'a+b c'), ('r', '1 + 1 = 2'),
                                                   ('with space', 'x')]))
    sign('query-unreserved', 'GET', BASE + FN + q([('k~-_.', '-_.~AZaz09')]))
    sign('query-reserved', 'GET', BASE + FN + q([('x', "!*'();:@&=+$,/?#[]%"), ('y', '%41')]))
    # Query strings as typed by hand, not in canonical form: CRT only (see the module comment).
    sign('query-raw-dollar', 'POST', BASE + FN + '/f' + inv + '?Qualifier=$LATEST', body=b'{}',
         python=False)
    sign('query-raw-plus-tilde', 'GET', BASE + FN + '?a=b+c&x=%7e&y=%7E&z=~&w=%2b', python=False)
    sign('query-empty-parts', 'GET', BASE + FN + '?a=1&&b=2&', python=False)
    sign('query-equals-in-value', 'GET', BASE + FN + '?a==b&c=d=e&=f', python=False)
    sign('path-tilde-dots', 'GET', BASE + FN + '/~user/./a/../b/.' + inv)
    sign('path-double-slashes', 'POST', BASE + '//2015-03-31//functions///my-function//invocations',
         body=b'{"k": "v"}')
    sign('path-trailing-slash', 'GET', BASE + FN + '/')
    sign('path-root', 'GET', BASE + '/')
    sign('path-empty', 'GET', BASE)
    sign('path-dotdot-above-root', 'GET', BASE + '/../../2015-03-31/./functions/..')
    sign('path-percent-escapes', 'POST', BASE + FN + '/my%2Ffunction%41%7E' + inv, body=b'x')
    sign('path-encoded-space-unicode', 'GET',
         BASE + FN + '/' + percent_encode('my function \u1234 caf\u00e9', safe='~'))
    sign('path-subdelims', 'GET', BASE + FN + "/f!*'()$,=@:+&" + inv)
    sign('headers-mixed-case', 'POST', BASE + FN + '/f' + inv,
         headers={'X-Custom-Header': 'Value', 'x-another-ONE': 'b', 'Content-Type': 'application/json'},
         body=b'{"mixed": true}')
    sign('headers-inner-whitespace', 'POST', BASE + FN + '/f' + inv,
         headers={'X-Spaces': '  a   b \t c  ', 'X-Tab': '\tx\t\ty', 'X-Quoted': '"a   b"',
                  'X-Empty': ''},
         body=b'{}')
    sign('headers-lambda', 'POST', BASE + FN + '/f' + inv + q([('Qualifier', '7')]),
         headers={'X-Amz-Invocation-Type': 'Event', 'X-Amz-Log-Type': 'Tail',
                  'X-Amz-Client-Context': base64.b64encode(b'{"custom": {"k": "v"}}').decode()},
         body=b'{"event": 1}')
    sign('headers-unsigned-ua-expect', 'POST', BASE + FN + '/f' + inv,
         headers={'User-Agent': 'Boto3/1.26 Python/3.11', 'Expect': '100-continue',
                  'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793'},
         body=b'{"big": "' + b'x' * 2000 + b'"}')
    sign('body-binary', 'POST', BASE + FN + '/f' + inv, body=bytes(range(256)) * 4,
         headers={'Content-Type': 'application/octet-stream'})
    sign('body-large', 'POST', BASE + FN + '/f' + inv,
         body=(b'{"rows": [' + b','.join(b'[%d, 0.5, "tcp"]' % i for i in range(20000)) + b']}'))
    sign('date-header', 'POST', BASE + FN + '/f' + inv,
         headers={'Date': 'Thu, 01 Jan 1970 00:00:00 GMT'}, body=b'{"d": 1}')
    sign('session-token', 'POST', BASE + FN + '/f' + inv, body=b'{}',
         akid='ASIAIOSFODNN7EXAMPLE', token='AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22w+=')
    sign('content-sha256-header', 'POST', BASE + FN + '/f' + inv, body=b'{"s": 2}',
         headers={'X-Amz-Content-SHA256':
                  hashlib.sha256(b'{"s": 2}').hexdigest()})
    sign('region-default-port', 'POST', 'http://127.0.0.1' + FN + '/f' + inv, body=b'{}',
         region='eu-west-1')
    sign('https-endpoint', 'POST', 'https://lambda.us-east-1.amazonaws.com' + FN + '/f' + inv,
         body=b'{"tls": 1}')
    sign('secret-and-key-vary', 'GET', BASE + FN, akid='AKIA0000000000000000LONGERKEY1',
         secret='s3cr3t+/=with/plus+and=slash')
    sign('midnight', 'GET', BASE + FN, when=datetime.datetime(2026, 12, 31, 23, 59, 59))
    sign('leap-day', 'POST', BASE + FN + '/f' + inv, body=b'{}',
         when=datetime.datetime(2028, 2, 29, 0, 0, 0))


class _Captured(Exception):
    pass


def client_vectors():
    creds = Credentials('AKIAI44QH8DHBEXAMPLE', 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY')
    client = botocore.session.get_session().create_client(
        'lambda', region_name='us-west-2', endpoint_url=BASE,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key)
    calls = [
        ('invoke', lambda: client.invoke(
            FunctionName='arn:aws:lambda:us-west-2:123456789012:function:kdd99',
            Qualifier='$LATEST', InvocationType='RequestResponse', LogType='Tail',
            ClientContext=base64.b64encode(b'{"custom": {}}').decode(),
            Payload=b'{"rows": [[0, "tcp", 1.5]]}')),
        ('list-functions', lambda: client.list_functions(MaxItems=5, Marker='x/y+=z ~')),
        ('get-function', lambda: client.get_function(FunctionName='kdd99', Qualifier='live')),
        ('update-config', lambda: client.update_function_configuration(
            FunctionName='kdd99:1', Timeout=30, Description='caf\u00e9 & "quotes"')),
        ('delete-alias', lambda: client.delete_alias(FunctionName='kdd99', Name='stable')),
    ]
    for name, call in calls:
        _Clock.now += datetime.timedelta(seconds=977)
        sent = {}

        def capture(request, **kwargs):
            sent['request'] = request
            raise _Captured()

        client.meta.events.register('before-send.lambda', capture, unique_id='capture')
        try:
            call()
        except _Captured:
            pass
        client.meta.events.unregister('before-send.lambda', unique_id='capture')
        request = sent['request']  # an AWSPreparedRequest, exactly as it would be sent
        emit('client:' + name, request.method, request.url, request.headers.items(),
             request.body, creds, 'us-west-2')


def main():
    generated_vectors()
    client_vectors()
    return 0


if __name__ == '__main__':
    sys.exit(main())
