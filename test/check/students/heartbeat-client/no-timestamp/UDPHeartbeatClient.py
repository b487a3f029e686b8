from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
seq = 1
while True:
    clientSocket.sendto(('HEARTBEAT ' + str(seq)).encode(), (sys.argv[1], int(sys.argv[2])))
    seq = seq + 1
    time.sleep(0.2)
