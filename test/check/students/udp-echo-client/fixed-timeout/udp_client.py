# UDP client, task 2: retransmit when the reply does not come
import socket
import sys
import time

server_ip = sys.argv[1]
server_port = int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

msg = time.ctime().encode()
sock.sendto(msg, (server_ip, server_port))
print('I am', sock.getsockname())
sock.settimeout(0.3)
tries = 1
while True:
    try:
        data, addr = sock.recvfrom(2048)
        if addr != (server_ip, server_port):
            continue
        print(data.decode())
        break
    except socket.timeout:
        if tries == 8:
            print('giving up')
            break
        tries += 1
        sock.sendto(msg, (server_ip, server_port))
