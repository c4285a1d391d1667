#!/usr/bin/env python3
"""A TCP relay that counts the bytes each way: put it between a monitoring tool
and the database server to measure what one refresh moves.

    relay.py LISTEN_PORT TARGET_HOST TARGET_PORT COUNTS_FILE

Listens on 127.0.0.1:LISTEN_PORT; after every connection closes, rewrites
COUNTS_FILE with "to_server from_server connections".
"""
import asyncio
import sys

listen_port, host, port, counts = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
totals = {"up": 0, "down": 0, "conns": 0}


def save():
    with open(counts, "w") as f:
        f.write(f"{totals['up']} {totals['down']} {totals['conns']}\n")


async def pipe(reader, writer, key):
    try:
        while data := await reader.read(65536):
            totals[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_r, client_w):
    totals["conns"] += 1
    server_r, server_w = await asyncio.open_connection(host, port)
    await asyncio.gather(pipe(client_r, server_w, "up"), pipe(server_r, client_w, "down"))
    save()


async def main():
    save()
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
