"""TLS peer for tests/tls_test.cpp (Python's ssl module, standard library only).

    tls_peer.py MODE CERT KEY

Listens on 127.0.0.1 (a free port, printed first on stdout) and serves each connection in a thread:
  echo      sends "sni=<server name the client sent>\n", then echoes bytes until the client's
            close_notify, then closes with its own close_notify.
  truncate  sends "partial" and closes the TCP connection without close_notify.
"""
import socket
import ssl
import sys
import threading

mode, cert, key = sys.argv[1:4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
names = {}


def remember_sni(ssl_socket, server_name, _context):
    names[id(ssl_socket)] = server_name


context.sni_callback = remember_sni
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)


def serve(raw):
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()  # the client refused our certificate: that is what some tests want
        return
    try:
        if mode == "truncate":
            conn.sendall(b"partial")
            raw_fd = conn.detach()
            socket.socket(fileno=raw_fd).close()
            return
        conn.sendall(f"sni={names.get(id(conn))}\n".encode())
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
        conn = conn.unwrap()
    except (ssl.SSLError, OSError):
        pass
    conn.close()


while True:
    client, _ = listener.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
