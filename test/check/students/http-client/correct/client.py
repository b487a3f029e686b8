from socket import *
import sys

serverName = sys.argv[1]
serverPort = int(sys.argv[2])
filename = sys.argv[3]

clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((serverName, serverPort))
request = 'GET /' + filename + ' HTTP/1.1\r\nHost: ' + serverName + '\r\nConnection: close\r\n\r\n'
clientSocket.send(request.encode())
response = b''
while True:
    data = clientSocket.recv(1024)
    if not data:
        break
    response += data
print(response.decode())
clientSocket.close()
