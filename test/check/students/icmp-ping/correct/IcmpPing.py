# ICMP ping (assignment 5-1): tasks 1 and 3
from socket import *
import os
import sys
import getopt
import struct
import time
import select

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
UNREACH = {0: 'Destination Net Unreachable', 1: 'Destination Host Unreachable',
           2: 'Destination Protocol Unreachable', 3: 'Destination Port Unreachable',
           6: 'Destination Network Unknown', 7: 'Destination Host Unknown'}


def checksum(data):
    total = 0
    n = len(data) // 2 * 2
    for i in range(0, n, 2):
        total += data[i] * 256 + data[i + 1]
    if n < len(data):
        total += data[-1] * 256
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def receive_one_pong(sock, ID, seq, timeout):
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            return 'Request timed out'
        ready = select.select([sock], [], [], left)
        if ready[0] == []:
            return 'Request timed out'
        received = time.time()
        packet, addr = sock.recvfrom(1024)
        ihl = (packet[0] & 0x0f) * 4
        ttl = packet[8]
        icmp_type, code, csum, pid, pseq = struct.unpack('!BBHHH', packet[ihl:ihl + 8])
        if icmp_type == ICMP_ECHO_REPLY and pid == ID and pseq == seq:
            sent = struct.unpack('d', packet[ihl + 8:ihl + 16])[0]
            size = len(packet) - ihl - 8
            return 'Reply from %s: bytes=%d time=%.3fms TTL=%d' % (addr[0], size, (received - sent) * 1000, ttl)
        if icmp_type == ICMP_DEST_UNREACH:
            inner = packet[ihl + 8:]
            inner_ihl = (inner[0] & 0x0f) * 4
            qtype, qcode, qsum, qid, qseq = struct.unpack('!BBHHH', inner[inner_ihl:inner_ihl + 8])
            if qid == ID:
                return 'Reply from %s: %s' % (addr[0], UNREACH.get(code, 'Destination Unreachable (code %d)' % code))


def send_one_ping(sock, dest, ID, seq):
    header = struct.pack('!BBHHH', ICMP_ECHO_REQUEST, 0, 0, ID, seq)
    data = struct.pack('d', time.time())
    csum = checksum(header + data)
    header = struct.pack('!BBHHH', ICMP_ECHO_REQUEST, 0, csum, ID, seq)
    sock.sendto(header + data, (dest, 1))


def ping(host, count):
    dest = gethostbyname(host)
    print('Pinging %s [%s] using Python:' % (host, dest))
    sock = socket(AF_INET, SOCK_RAW, getprotobyname('icmp'))
    ID = os.getpid() & 0xFFFF
    rtts = []
    for seq in range(1, count + 1):
        start = time.time()
        send_one_ping(sock, dest, ID, seq)
        result = receive_one_pong(sock, ID, seq, 1)
        print(result)
        if 'time=' in result:
            rtts.append(float(result.split('time=')[1].split('ms')[0]))
        wait = 1 - (time.time() - start)
        if seq < count and wait > 0:
            time.sleep(wait)
    lost = count - len(rtts)
    print('Ping statistics for %s:' % dest)
    print('    Packets: Sent = %d, Received = %d, Lost = %d (%.0f%% loss)' % (count, len(rtts), lost, 100.0 * lost / count))
    if rtts:
        avg = sum(rtts) / len(rtts)
        sd = (sum((r - avg) ** 2 for r in rtts) / len(rtts)) ** 0.5
        print('    rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms' % (min(rtts), avg, max(rtts), sd))


if __name__ == '__main__':
    opts, args = getopt.getopt(sys.argv[2:], 'n:')
    n = 4
    for o, a in opts:
        if o == '-n':
            n = int(a)
    ping(sys.argv[1], n)
