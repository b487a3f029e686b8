from socket import *
import base64
import sys

clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect((sys.argv[1], int(sys.argv[2])))
recv = clientSocket.recv(1024).decode()
print(recv)
username = base64.b64encode(b'student').decode()
password = base64.b64encode(b'secret').decode()
# send everything, then read what came back
clientSocket.sendall('HELO student\r\n'.encode())
clientSocket.sendall('AUTH LOGIN\r\n'.encode())
clientSocket.sendall((username + '\r\n').encode())
clientSocket.sendall((password + '\r\n').encode())
clientSocket.sendall('MAIL FROM:<student@example.edu>\r\n'.encode())
clientSocket.sendall('RCPT TO:<teacher@example.edu>\r\n'.encode())
clientSocket.sendall('DATA\r\n'.encode())
clientSocket.sendall('Subject: hello\r\n\r\nI love computer networks!'.encode())
clientSocket.sendall('\r\n.\r\n'.encode())
clientSocket.sendall('QUIT\r\n'.encode())
while True:
    recv = clientSocket.recv(1024).decode()
    if not recv:
        break
    print(recv)
clientSocket.close()
