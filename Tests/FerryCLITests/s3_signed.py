#!/usr/bin/env python3
"""An S3-compatible server that checks signatures and refuses anonymous requests, for the tests
that need one (`ferry doctor`'s storage.anonymous). moto's server in its IAM-enforcing mode: the
first requests (unauthenticated) make a user, its policy and access key; every later request must
be signed by that key. Usage: python3 s3_signed.py PORT OUT_JSON -- writes {"endpoint", "access_key",
"secret_key", "bucket"} to OUT_JSON once it serves, then runs until killed. Binds 127.0.0.1."""
import json
import os
import sys

# Read by moto at import: the first 4 requests (the setup below) need no signature.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"

import botocore.session  # noqa: E402  (after the variable above)
from botocore.config import Config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

port, out = int(sys.argv[1]), sys.argv[2]
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
server.start()
endpoint = f"http://127.0.0.1:{port}"
session = botocore.session.get_session()
iam = session.create_client(
    "iam", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="setup", aws_secret_access_key="setup"
)
iam.create_user(UserName="ferry")
iam.put_user_policy(
    UserName="ferry",
    PolicyName="ferry-bucket",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    ),
)
key = iam.create_access_key(UserName="ferry")["AccessKey"]
s3 = session.create_client(
    "s3",
    region_name="us-east-1",
    endpoint_url=endpoint,
    aws_access_key_id=key["AccessKeyId"],
    aws_secret_access_key=key["SecretAccessKey"],
    config=Config(s3={"addressing_style": "path"}),
)
s3.create_bucket(Bucket="ferry-signed")
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(
        {
            "endpoint": endpoint,
            "access_key": key["AccessKeyId"],
            "secret_key": key["SecretAccessKey"],
            "bucket": "ferry-signed",
        },
        f,
    )
os.rename(tmp, out)
import time  # noqa: E402

while True:  # until the test kills it
    time.sleep(3600)
