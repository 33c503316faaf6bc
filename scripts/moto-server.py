"""The moto server (the AWS emulator the tests use), with DynamoDB operations serialised.

moto runs each request on its own thread, and its TransactWriteItems is not isolated: a cancelled
transaction restores a copy of the whole table taken when it began, undoing whatever other
requests wrote meanwhile (a concurrent claim, a terminal state). DynamoDB itself isolates
transactions, so here every DynamoDB operation takes one lock; other services stay concurrent
(SQS long polls must not block the server).

    python scripts/moto-server.py -H 127.0.0.1 -p PORT
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()


def _serialised(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    return locked


for _name in (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
):
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _serialised(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main())
