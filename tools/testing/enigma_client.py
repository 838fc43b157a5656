#!/usr/bin/env python3
"""A minimal Enigma client in Python (python-socketio + cryptography).

It shows that the protocol needs none of our libraries: pin the server's
certificate by its SHA-256 fingerprint, register or log in, send a Fernet frame
("md5hex(token) + token"), and decrypt what others send.

    enigma_client.py URL FINGERPRINT CHAT_KEY USERNAME PASSWORD [register|login]

Prints one JSON object per line (for the interop test), and waits for one
frame from someone else before it leaves.
"""
import hashlib
import json
import queue
import sys
from urllib.parse import urlparse

import socketio
from cryptography.fernet import Fernet


def emit(**fields):
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def check_pin(sio, fingerprint):
    """Checks the certificate of the connection that will carry the password.

    Checking a separate connection first would prove nothing: a man in the
    middle can pass that one through and intercept the next. So the pin is
    checked on this very WebSocket, after its TLS handshake and before any
    credential is sent on it.
    """
    der = sio.eio.ws.sock.getpeercert(binary_form=True)
    actual = hashlib.sha256(der).hexdigest().upper()
    if actual != fingerprint.replace(":", "").upper():
        sio.disconnect()
        sys.exit("the server's certificate does not match the pinned fingerprint")


def main():
    url, fingerprint, key, username, password, mode = (sys.argv[1:7] + ["register"])[:6]
    fernet = Fernet(key.encode())
    inbox = queue.Queue()
    # A self-signed certificate has no CA to check it against (and names the
    # server's LAN address nowhere): the pin below replaces the CA check.
    sio = socketio.Client(ssl_verify=False)
    sio.on("SERVER_TO_CLIENT", lambda message: inbox.put(message))
    sio.connect(url, transports=["websocket"])
    if url.startswith("https://"):
        check_pin(sio, fingerprint)

    event = "REGISTER_CLIENT_" if mode == "register" else "LOGIN_ATTEMPTING"
    reply = sio.call(event, {"username": username, "password": password}, timeout=30)
    emit(step="login", type=reply["type"], username=reply.get("username"))

    # python-socketio sends no payload at all for call(event, None): the server must answer, not crash.
    emit(step="no-payload", type=sio.call("HISTORY", None, timeout=10)["type"])

    token = fernet.encrypt("Привет из Python 🐍".encode("utf-8")).decode("ascii")
    frame = hashlib.md5(token.encode("ascii")).hexdigest() + token
    ack = sio.call("CLIENT_TO_SERVER", frame, timeout=10)
    emit(step="sent", type=ack["type"], id=ack.get("id"), expected_id=frame[:32])

    while True:
        message = inbox.get(timeout=30)
        if message["from"] != reply.get("username"):
            break
    text = fernet.decrypt(message["frame"][32:].encode("ascii")).decode("utf-8")
    emit(step="received", sender=message["from"], text=text)
    sio.disconnect()


if __name__ == "__main__":
    main()
