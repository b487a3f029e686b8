from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
for i in range(1, 11):
    start = time.time()
    message = 'Ping ' + str(i) + ' ' + time.ctime(start)
    clientSocket.sendto(message.encode(), (sys.argv[1], int(sys.argv[2])))
    reply, addr = clientSocket.recvfrom(1024)
    print('Reply from ' + addr[0] + ': ' + reply.decode() + ', RTT=' + str(round((time.time() - start) * 1000, 3)) + ' ms')
