from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)
for i in range(1, 11):
    start = time.time()
    clientSocket.sendto(('Ping %d %f' % (i, start)).encode(), (sys.argv[1], int(sys.argv[2])))
    while True:
        try:
            reply, addr = clientSocket.recvfrom(1024)
        except timeout:
            print('Request timed out')
            break
        if reply.decode().split()[1] == str(i):
            print('Reply from %s: %s, RTT=%.3f ms' % (addr[0], reply.decode(), (time.time() - start) * 1000))
            break
