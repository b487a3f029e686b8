from socket import *
import sys
import time

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))
expected = 1
while True:
    message, address = serverSocket.recvfrom(1024)
    parts = message.decode().split()
    seq = int(parts[1])
    if seq != expected:
        print('missed', list(range(expected, seq)))
    expected = seq + 1
    print(parts[0], seq, 'delay', time.time() - float(parts[2]), 's')
