from socket import *
import sys

clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((sys.argv[1], int(sys.argv[2])))
clientSocket.send(('GET ' + sys.argv[3] + ' HTTP/1.1\r\n\r\n').encode())
print(clientSocket.recv(4096).decode())
clientSocket.close()
