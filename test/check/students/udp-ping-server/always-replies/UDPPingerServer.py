import sys
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('', int(sys.argv[1])))
print('ready')
while True:
    message, address = serverSocket.recvfrom(1024)
    serverSocket.sendto(message.upper(), address)
