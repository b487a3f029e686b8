# UDP heartbeat server: lost heartbeats, time difference, client stopped
from socket import *
import sys
import time

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))
serverSocket.settimeout(1)
last = 0
alive = False
while True:
    try:
        message, address = serverSocket.recvfrom(1024)
    except timeout:
        if alive:
            print('No heartbeat for 1 s: the client has stopped')
            alive = False
        continue
    alive = True
    parts = message.decode().split()
    seq = int(parts[1])
    sent = float(parts[2])
    for lost in range(last + 1, seq):
        print('Heartbeat %d lost' % lost)
    last = seq
    print('Heartbeat %d from %s, time difference %.3f ms' % (seq, address[0], (time.time() - sent) * 1000))
