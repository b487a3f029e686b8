import random
import sys
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))
while True:
    message, address = serverSocket.recvfrom(1024)
    text = message.decode()
    print('got', text.split()[1])
    if random.randint(0, 10) < 4:
        continue
    serverSocket.sendto(text.upper().encode(), address)
