# UDP pinger client: 10 pings, 1 s timeout, statistics
from socket import *
import sys
import time

serverName = sys.argv[1]
serverPort = int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)

rtts = []
lost = 0
for seq in range(1, 11):
    sendTime = time.time()
    message = 'Ping %d %s' % (seq, time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(sendTime)))
    clientSocket.sendto(message.encode(), (serverName, serverPort))
    deadline = sendTime + 1
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            print('Request timed out')
            lost += 1
            break
        clientSocket.settimeout(remaining)
        try:
            reply, address = clientSocket.recvfrom(1024)
        except timeout:
            print('Request timed out')
            lost += 1
            break
        parts = reply.decode().split()
        if len(parts) < 2 or parts[1] != str(seq):
            continue  # a late reply to an earlier ping
        rtt = (time.time() - sendTime) * 1000
        rtts.append(rtt)
        print('Reply from %s: %s, RTT=%.3f ms' % (address[0], reply.decode(), rtt))
        break

print('--- ping statistics ---')
print('10 packets transmitted, %d received, %.1f%% packet loss' % (10 - lost, lost * 10.0))
if rtts:
    print('rtt min/avg/max = %.3f/%.3f/%.3f ms' % (min(rtts), sum(rtts) / len(rtts), max(rtts)))
clientSocket.close()
