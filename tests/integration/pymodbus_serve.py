"""The pymodbus TCP serve loop the test peers share: start on 127.0.0.1:PORT,
print "ready" once the socket listens (the tests wait for that line), serve
until killed. Debian's python3-pymodbus 3.0 (/usr/bin/python3)."""
import asyncio

from pymodbus.server import StartAsyncTcpServer


async def serve_tcp(context, port, **options):
    server = await StartAsyncTcpServer(
        context=context, address=("127.0.0.1", port), defer_start=True, **options
    )
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print("ready", flush=True)
    await task
