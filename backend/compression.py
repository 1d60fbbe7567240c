"""How the sync answers are gzipped (decision 58): in one shot with ISA-L's igzip, and
with the access-log write begun first.

Tablets sync over weak mobile links, so the sync routes' answers are gzipped for a client
that accepts it; the other routes' answers are small and local and go out as they are
(``opt={"uncompressed": True}``, Litestar's ``exclude_opt_key``). Two things differ from
Litestar's own compression middleware, which this subclasses:

* **The compressor.** A whole-caseload pull is about 330 kB of JSON. zlib at level 1
  took 0.5 ms of the pull's server CPU (a quarter of it, py-spy); ISA-L's igzip at
  level 1 takes 0.1 ms and its output is a little smaller (24.3 against 26.2 kB on the
  bench's caseload). The bytes are standard gzip: any client's zlib reads them.
  An answer sent in several parts (none of the sync routes do) is left to Litestar.
* **The access log first.** The answer's access-log write (``backend.auth``'s
  middleware) begins when the answer starts, before its body is compressed, so the
  write's round trip and commit run while the body is gzipped; the middleware still lets
  nothing out before the write is committed (decision 71).

An answer below ``minimum_size`` goes out as it is, without a compressor set up for it.
"""

from __future__ import annotations

import asyncio
from typing import Literal, cast

from isal import igzip
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import HTTPResponseStartEvent, Message, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend.auth.access_middleware import begin_write

# igzip's level 1 of 0-3: as fast as it goes with matching; level 0 is faster still but
# its output a third larger.
IGZIP_LEVEL = 1


def gzipped(body: bytes) -> bytes:
    return igzip.compress(body, compresslevel=IGZIP_LEVEL)


class SyncCompression(CompressionMiddleware):
    """Litestar's compression middleware, gzipping whole answers with igzip, and
    beginning the access-log write before it compresses."""

    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: Literal[CompressionEncoding.BROTLI, CompressionEncoding.GZIP] | str,
        scope: Scope,
    ) -> Send:
        make_streaming = super().create_compression_send_wrapper
        streaming: Send | None = None
        start: Message | None = None

        async def send_compressed(message: Message) -> None:
            nonlocal streaming, start
            if message["type"] == "http.response.start":
                if begin_write(scope, message["status"]):
                    # Compressing holds the event loop: let the write reach PostgreSQL
                    # first.
                    await asyncio.sleep(0)
                start = message
                return
            if streaming is None and start is not None:
                whole = message["type"] == "http.response.body" and not message.get("more_body")
                if whole and compression_encoding == CompressionEncoding.GZIP:
                    await _send_whole(send, scope, start, message, self.config.minimum_size)
                    start = None
                    return
                streaming = make_streaming(send, compression_encoding, scope)
                await streaming(start)
                start = None
            if streaming is None:
                await send(message)
            else:
                await streaming(message)

        return send_compressed


async def _send_whole(
    send: Send, scope: Scope, start: Message, message: Message, minimum_size: int
) -> None:
    body = cast(bytes, message.get("body", b""))
    if len(body) >= minimum_size:
        body = gzipped(body)
        headers = MutableScopeHeaders(cast(HTTPResponseStartEvent, start))
        headers["Content-Encoding"] = CompressionEncoding.GZIP
        headers["Content-Length"] = str(len(body))
        headers.extend_header_value("vary", "Accept-Encoding")
        ScopeState.from_scope(scope).response_compressed = True
        message = {**message, "body": body}  # type: ignore[assignment]
    await send(start)
    await send(message)
