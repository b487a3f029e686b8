from socket import *
import sys
import time

clientSocket = socket(AF_INET, SOCK_DGRAM)
rtts = []
# start half-way through a second, so the whole-second time in the message is always ~0.5 s off
time.sleep(1.5 - time.time() % 1)
for i in range(1, 11):
    sendTime = time.strftime('%Y-%m-%d %H:%M:%S')
    clientSocket.sendto(('Ping %d %s' % (i, sendTime)).encode(), (sys.argv[1], int(sys.argv[2])))
    clientSocket.settimeout(1)
    while True:
        try:
            reply, addr = clientSocket.recvfrom(1024)
        except timeout:
            print('Request timed out')
            break
        parts = reply.decode().split(' ', 2)
        if parts[1] != str(i):
            continue
        # RTT = now - the time written in the reply
        sent = time.mktime(time.strptime(parts[2], '%Y-%m-%d %H:%M:%S'))
        rtt = (time.time() - sent) * 1000
        rtts.append(rtt)
        print('Reply from %s: %s, RTT=%.3f ms' % (addr[0], reply.decode(), rtt))
        break
print('min/avg/max RTT = %.3f/%.3f/%.3f ms' % (min(rtts), sum(rtts) / len(rtts), max(rtts)))
print('packet loss: %d%%' % ((10 - len(rtts)) * 10))
