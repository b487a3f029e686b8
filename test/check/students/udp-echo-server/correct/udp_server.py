# Lab: client server communication using UDP - task 3 server
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((host, port))
print('Listening at', sock.getsockname())

data, client = sock.recvfrom(2048)
print('The client at', client, 'says', repr(data))

big = b'z' * 80000
try:
    sock.sendto(big, client)
except socket.error as e:
    print('packet too big, cannot send:', e)
else:
    print('packet sent')

for i in range(16):
    sock.sendto(b'z' * 1000, client)
print('sent 16 packets of 1000 bytes')
sock.close()
