# heartbeat client made from the pinger: waits for the echo of each heartbeat
from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.connect((sys.argv[1], int(sys.argv[2])))
clientSocket.settimeout(1)
for seq in range(1, 1000):
    clientSocket.send(('Ping %d %s' % (seq, time.time())).encode())
    reply = clientSocket.recv(1024)
    print(reply.decode())
    time.sleep(0.2)
