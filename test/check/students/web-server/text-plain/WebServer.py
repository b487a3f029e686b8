# Web server lab, tasks 1 and 5: multithreaded, but every file is sent as text/plain
from socket import *
import sys
import threading

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)


def handle(connectionSocket):
    try:
        message = connectionSocket.recv(1024).decode()
        if not message:
            connectionSocket.close()
            return
        filename = message.split()[1]
        f = open(filename[1:], 'rb')
        outputdata = f.read()
        f.close()
        header = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ' + str(len(outputdata)) + '\r\nConnection: close\r\n\r\n'
        connectionSocket.sendall(header.encode())
        connectionSocket.sendall(outputdata)
    except IOError:
        body = '<html><body><h1>404 Not Found</h1></body></html>'
        connectionSocket.sendall(('HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: ' + str(len(body)) + '\r\n\r\n' + body).encode())
    connectionSocket.close()


while True:
    print('The server is ready to receive')
    connectionSocket, addr = serverSocket.accept()
    threading.Thread(target=handle, args=(connectionSocket,)).start()
