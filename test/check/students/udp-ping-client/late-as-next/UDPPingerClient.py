from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)
rtts = []
for i in range(1, 11):
    start = time.time()
    message = 'Ping ' + str(i) + ' ' + time.ctime(start)
    clientSocket.sendto(message.encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        reply, addr = clientSocket.recvfrom(1024)
        rtt = (time.time() - start) * 1000
        rtts.append(rtt)
        print('Reply from ' + addr[0] + ': ' + reply.decode() + ', RTT=' + str(round(rtt, 3)) + ' ms')
    except timeout:
        print('Request timed out')
print('Minimum RTT: ' + str(round(min(rtts), 3)) + ' ms')
print('Maximum RTT: ' + str(round(max(rtts), 3)) + ' ms')
print('Average RTT: ' + str(round(sum(rtts) / len(rtts), 3)) + ' ms')
print('Packet loss rate: ' + str((10 - len(rtts)) * 10) + '%')
