"""A python-websockets client of the server, for deflate_interop_test.ts.

Reads one JSON object on stdin:
  url          the server's ws:// URL
  compression  true for python-websockets' default offer of permessage-deflate, false for none
  offer        (optional, with compression) the parameters of a permessage-deflate offer instead:
               server_no_context_takeover, client_no_context_takeover (booleans),
               server_max_window_bits, client_max_window_bits (9 to 15)
  messages     a list of {"text": "..."} or {"binary": "<base64>"}
  close        {"code": ..., "reason": "..."}, the close the client sends after the last echo
  timeoutSeconds  the most the whole exchange may take

Sends every message at once, reads the echoes, closes, and prints one JSON line of the same shape
as echo_client.ts's EchoReport: the Sec-WebSocket-Extensions the server agreed to (or ""), one
{type, bytes, identical} per echo in order, the close as the client saw it, and the bytes it read
from its TCP connection. Run it with /usr/bin/python3 and the Debian package python3-websockets.
"""

import asyncio
import base64
import json
import sys

try:
    import websockets.client
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
except ImportError as error:
    sys.exit(
        f"python-websockets is missing ({error}): "
        "apt-get install python3-websockets, and run this with /usr/bin/python3"
    )


class CountingProtocol(websockets.client.WebSocketClientProtocol):
    """A client protocol that counts the bytes it reads from its connection."""

    bytes_received = 0

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        super().data_received(data)


def decode(message: dict) -> "str | bytes":
    return message["text"] if "text" in message else base64.b64decode(message["binary"])


def describe(echo: "str | bytes", sent: "str | bytes") -> dict:
    if isinstance(echo, str):
        return {"type": "text", "bytes": len(echo.encode()), "identical": echo == sent}
    return {"type": "binary", "bytes": len(echo), "identical": echo == sent}


async def exchange(request: dict) -> dict:
    options = {"create_protocol": CountingProtocol, "max_size": None, "open_timeout": 20}
    if not request["compression"]:
        options["compression"] = None
    elif request.get("offer"):
        options["compression"] = None
        options["extensions"] = [ClientPerMessageDeflateFactory(**request["offer"])]
    messages = [decode(message) for message in request["messages"]]
    async with websockets.client.connect(request["url"], **options) as socket:
        for message in messages:
            await socket.send(message)
        echoes = [describe(await socket.recv(), sent) for sent in messages]
        await socket.close(request["close"]["code"], request["close"]["reason"])
        return {
            "extensions": socket.response_headers.get("Sec-WebSocket-Extensions", ""),
            "echoes": echoes,
            "close": {
                "code": socket.close_code,
                "reason": socket.close_reason,
                "wasClean": socket.close_sent is not None and socket.close_rcvd is not None,
            },
            "bytesReceived": socket.bytes_received,
        }


def main() -> None:
    request = json.load(sys.stdin)
    report = asyncio.run(asyncio.wait_for(exchange(request), request["timeoutSeconds"]))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
