"""Schemathesis hooks for Ferry (loaded with SCHEMATHESIS_HOOKS=hooks from this folder).

tus sends its chunks as `application/offset+octet-stream`: raw bytes, serialized as
`application/octet-stream` is.
"""
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
