"""HTTP peers for tests/http_test.cpp: Python's http.server or aiohttp, plain or TLS.

    http_peer.py (stdlib|aiohttp) [CERT KEY]

Listens on 127.0.0.1 (a free port, printed first on stdout). Routes (the same on both servers):
  /hello            200 "hello" (Content-Length)
  /chunked          200, chunked: "chunk-0;chunk-1;...;chunk-9;"
  /close            200, no length: the body ends when the server closes the connection
  /conn             200, the number of the connection this request came on (1, 2, ...)
  /redirect/N       302 to /redirect/N-1 (relative); /redirect/0 is 200 "arrived"
  /loop             302 to /loop
  /status/N         status N, body "status N"
  /big/N            200, N bytes of 'x'
  /stall            200 with Content-Length 10, sends 5 bytes, then nothing for an hour
  /reset            200 with Content-Length 100000, sends 1000 bytes, then resets the connection
  /echo             200, "METHOD BODY"
  /drop-later       200 "dropping" without "Connection: close", then closes the connection (http.server only)
  /headers          200, the request's header fields as received, one "Name: value" a line (http.server only)
  /goto?URL         302 to URL, as given (http.server only)
"""
import asyncio
import socket
import ssl
import struct
import sys
import threading

kind = sys.argv[1]
context = None
if len(sys.argv) > 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
connections = [0]
lock = threading.Lock()


def stdlib():
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            with lock:
                connections[0] += 1
                self.number = connections[0]

        def log_message(self, *args):
            pass

        def send(self, status, body, extra=()):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            self.send(200, self.command.encode() + b" " + body)

        def do_GET(self):
            path = self.path
            if path == "/hello":
                self.send(200, b"hello")
            elif path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(10):
                    piece = f"chunk-{i};".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/close":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"until the end")
                self.close_connection = True
            elif path == "/conn":
                self.send(200, str(self.number).encode())
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                if n == 0:
                    self.send(200, b"arrived")
                else:
                    self.send(302, b"", [("Location", str(n - 1))])
            elif path == "/loop":
                self.send(302, b"", [("Location", "/loop")])
            elif path.startswith("/status/"):
                n = int(path.rsplit("/", 1)[1])
                self.send(n, f"status {n}".encode())
            elif path.startswith("/big/"):
                self.send(200, b"x" * int(path.rsplit("/", 1)[1]))
            elif path == "/stall":
                self.send_response(200)
                self.send_header("Content-Length", "10")
                self.end_headers()
                self.wfile.write(b"12345")
                self.wfile.flush()
                threading.Event().wait(3600)
            elif path == "/reset":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"r" * 1000)
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            elif path == "/drop-later":
                self.send(200, b"dropping")
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            elif path == "/echo":
                self.send(200, b"GET ")
            elif path == "/headers":
                self.send(200, "".join(f"{name}: {value}\n" for name, value in self.headers.items()).encode())
            elif path.startswith("/goto?"):
                self.send(302, b"", [("Location", path[len("/goto?"):])])
            else:
                self.send(404, b"no such route")

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def server_bind(self):
            pass

        def server_activate(self):
            pass

    server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
    print(listener.getsockname()[1], flush=True)
    server.socket = context.wrap_socket(listener, server_side=True) if context else listener
    server.serve_forever()


def aiohttp_server():
    from aiohttp import web

    async def on_connection(request):
        transport = request.transport
        if not hasattr(transport, "sluice_number"):
            connections[0] += 1
            transport.sluice_number = connections[0]
        return transport.sluice_number

    async def handle(request):
        path = request.path
        number = await on_connection(request)
        if path == "/hello":
            return web.Response(body=b"hello")
        if path == "/chunked":
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for i in range(10):
                await response.write(f"chunk-{i};".encode())
            await response.write_eof()
            return response
        if path == "/close":
            response = web.StreamResponse(headers={"Connection": "close"})
            response.force_close()
            await response.prepare(request)
            await response.write(b"until the end")
            await response.write_eof()
            return response
        if path == "/conn":
            return web.Response(body=str(number).encode())
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                return web.Response(body=b"arrived")
            return web.Response(status=302, headers={"Location": str(n - 1)})
        if path == "/loop":
            return web.Response(status=302, headers={"Location": "/loop"})
        if path.startswith("/status/"):
            n = int(path.rsplit("/", 1)[1])
            return web.Response(status=n, body=f"status {n}".encode())
        if path.startswith("/big/"):
            return web.Response(body=b"x" * int(path.rsplit("/", 1)[1]))
        if path == "/stall":
            response = web.StreamResponse(headers={"Content-Length": "10"})
            await response.prepare(request)
            await response.write(b"12345")
            await asyncio.sleep(3600)
        if path == "/reset":
            response = web.StreamResponse(headers={"Content-Length": "100000"})
            await response.prepare(request)
            await response.write(b"r" * 1000)
            sock = request.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.transport.abort()
            return response
        if path == "/echo":
            body = await request.read()
            return web.Response(body=request.method.encode() + b" " + body)
        return web.Response(status=404, body=b"no such route")

    async def main():
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.SockSite(runner, listener, ssl_context=context)
        await site.start()
        print(listener.getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


stdlib() if kind == "stdlib" else aiohttp_server()
