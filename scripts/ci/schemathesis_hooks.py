"""schemathesis hooks for scripts/ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

`POST /api/products/bulk` takes NDJSON, a media type schemathesis cannot serialize by itself:
the document describes the body as an array of products, sent one JSON object per line.

Hypothesis names the filter lambdas schemathesis builds by parsing their source with
`ast.parse`, only to print them. On this CPython 3.11, that parse now and then raises
`SystemError: AST constructor recursion depth mismatch` (it depends on how deep the stack is
when a strategy is first described, so it comes and goes between runs of the same seed),
and the error ends the whole operation as a "Runtime Error". A description that cannot be
parsed becomes Hypothesis's own `<unknown>` one instead; what is generated and checked is
unchanged.
"""

import json

import schemathesis
from hypothesis.internal import lambda_sources

_describe_lambda = lambda_sources._lambda_description


def _describe_lambda_or_unknown(f):
    try:
        return _describe_lambda(f)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_lambda_or_unknown


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    rows = value if isinstance(value, list) else [value]
    return {"data": "\n".join(json.dumps(row) for row in rows).encode("utf-8")}
