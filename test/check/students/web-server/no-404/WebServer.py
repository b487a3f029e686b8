from socket import *
import sys

serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', int(sys.argv[1])))
serverSocket.listen(1)

while True:
    print('The server is ready to receive')
    connectionSocket, addr = serverSocket.accept()
    try:
        message = connectionSocket.recv(1024).decode()
        filename = message.split()[1]
        f = open(filename[1:])
        outputdata = f.read()
        connectionSocket.send('HTTP/1.1 200 OK\r\n\r\n'.encode())
        connectionSocket.send(outputdata.encode())
        connectionSocket.close()
    except IOError:
        # TODO: 404
        connectionSocket.close()
