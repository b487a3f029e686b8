# SMTP mail client lab with STARTTLS: asks for TLS, but never wraps the socket
from socket import *
import base64
import sys

mailserver = (sys.argv[1], int(sys.argv[2]))
fromaddress = 'student@example.edu'
toaddress = 'teacher@example.edu'
username = base64.b64encode(b'student@example.edu').decode()
password = base64.b64encode(b'********').decode()


def send(cmd):
    clientSocket.sendall(cmd.encode())
    recv = clientSocket.recv(1024).decode()
    print(recv)
    return recv


clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect(mailserver)
recv = clientSocket.recv(1024).decode()
print(recv)

send('EHLO student\r\n')
send('STARTTLS\r\n')
send('AUTH LOGIN\r\n')
send(username + '\r\n')
send(password + '\r\n')
send('MAIL FROM:<' + fromaddress + '>\r\n')
send('RCPT TO:<' + toaddress + '>\r\n')
send('DATA\r\n')
clientSocket.sendall(('Subject: I love computer networks!\r\n\r\nI love computer networks!').encode())
send('\r\n.\r\n')
send('QUIT\r\n')
clientSocket.close()
