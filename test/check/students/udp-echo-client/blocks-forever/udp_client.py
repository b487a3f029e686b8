# udp_client.py - task 1
import socket
import sys
from datetime import datetime

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.sendto(str(datetime.now()).encode(), (sys.argv[1], int(sys.argv[2])))
ip, port = sock.getsockname()
print('My address is %s:%d' % (ip, port))
data, addr = sock.recvfrom(2048)
print('Reply:', data.decode())
