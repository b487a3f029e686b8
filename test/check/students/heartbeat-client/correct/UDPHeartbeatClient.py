# UDP heartbeat client: sequence number and timestamp, forever
from socket import *
import sys
import time

server = (sys.argv[1], int(sys.argv[2]))
clientSocket = socket(AF_INET, SOCK_DGRAM)
seq = 0
while True:
    seq += 1
    message = 'Heartbeat %d %f' % (seq, time.time())
    try:
        clientSocket.sendto(message.encode(), server)
        print('sent', message)
    except OSError as e:
        print('send failed:', e)
    time.sleep(0.2)
