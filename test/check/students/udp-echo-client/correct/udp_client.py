# Lab: client server communication using UDP - tasks 1 and 2
# The client sends the current time, prints the reply, and retransmits with a doubling timeout.
import socket
import sys
import time

server = (sys.argv[1], int(sys.argv[2]))
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

message = str(time.time()).encode('ascii')
delay = 0.1
while True:
    sock.sendto(message, server)
    print('client address:', sock.getsockname())
    sock.settimeout(delay)
    try:
        while True:
            data, address = sock.recvfrom(2048)
            if address == server:
                break
            print('ignoring a packet from', address)
    except socket.timeout:
        delay = delay * 2
        if delay > 2.0:
            print('no reply, the server is probably dead: giving up')
            break
        print('timed out, retransmitting with timeout', delay)
    else:
        print('server replied:', data.decode('ascii'))
        break
sock.close()
