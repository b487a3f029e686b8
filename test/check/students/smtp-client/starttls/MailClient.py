# SMTP mail client lab, with task 3 (text + image attachment) and the TLS exercise:
# servers like smtp.gmail.com:587 want STARTTLS before AUTH and MAIL FROM
from socket import *
import base64
import ssl
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
reply = send('STARTTLS\r\n')
if reply[:3] != '220':
    print('STARTTLS refused')
    sys.exit(1)
context = ssl.create_default_context()
context.load_verify_locations('wirekit-smtp-cert.pem')  # the lab server's self-signed certificate
clientSocket = context.wrap_socket(clientSocket, server_hostname=mailserver[0])
send('EHLO student\r\n')
send('AUTH LOGIN\r\n')
send(username + '\r\n')
send(password + '\r\n')
send('MAIL FROM:<' + fromaddress + '>\r\n')
send('RCPT TO:<' + toaddress + '>\r\n')
send('DATA\r\n')

with open('picture.png', 'rb') as f:
    image = base64.encodebytes(f.read()).decode().replace('\n', '\r\n')
boundary = 'BOUNDARY-1234'
message = ('From: ' + fromaddress + '\r\n'
           'To: ' + toaddress + '\r\n'
           'Subject: I love computer networks!\r\n'
           'MIME-Version: 1.0\r\n'
           'Content-Type: multipart/mixed; boundary="' + boundary + '"\r\n'
           '\r\n'
           '--' + boundary + '\r\n'
           'Content-Type: text/plain\r\n'
           '\r\n'
           'I love computer networks!\r\n'
           '--' + boundary + '\r\n'
           'Content-Type: image/png\r\n'
           'Content-Transfer-Encoding: base64\r\n'
           'Content-Disposition: attachment; filename="picture.png"\r\n'
           '\r\n' + image +
           '--' + boundary + '--\r\n')
clientSocket.sendall(message.encode())
send('\r\n.\r\n')
send('QUIT\r\n')
clientSocket.close()
