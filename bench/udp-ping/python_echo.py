# The lab's UDP ping server without the random drop: receive, upper-case, send back.
import sys
from socket import socket, AF_INET, SOCK_DGRAM

s = socket(AF_INET, SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
print(f"listening on 127.0.0.1:{s.getsockname()[1]}", flush=True)
while True:
    message, address = s.recvfrom(2048)
    s.sendto(message.upper(), address)
