# task 3 server
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, client = sock.recvfrom(2048)
    print('got', data, 'from', client)
    sock.sendto(b'z' * 80000, client)
    print('packet sent')
    for i in range(16):
        sock.sendto(b'z' * 5000, client)
