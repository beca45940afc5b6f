"""schemathesis hooks for scripts/ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

`POST /api/products/bulk` takes NDJSON, a media type schemathesis cannot serialize by itself:
the document describes the body as an array of products, sent one JSON object per line.
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    rows = value if isinstance(value, list) else [value]
    return {"data": "\n".join(json.dumps(row) for row in rows).encode("utf-8")}
