# Caching web proxy lab, with 3.1 (POST), 3.3 (objects over 4 KiB) and 3.4 (HTTPS through CONNECT)
from socket import *
import threading
import os
import sys


def read_request(sock):
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(1024)
        if not chunk:
            break
        body += chunk
    return head.decode(), body


def pipe(src, dst):
    try:
        while True:
            chunk = src.recv(4096)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    try:
        dst.shutdown(SHUT_WR)
    except OSError:
        pass


def tunnel(tcpClisock, hostport):
    # HTTPS: the browser asks for a tunnel, then speaks TLS with the server through it
    host, _, port = hostport.partition(':')
    c = socket(AF_INET, SOCK_STREAM)
    try:
        c.connect((host, int(port or 443)))
    except OSError as e:
        print('CONNECT failed', e)
        tcpClisock.sendall(b'HTTP/1.1 502 Bad Gateway\r\n\r\n')
        return
    tcpClisock.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
    other = threading.Thread(target=pipe, args=(c, tcpClisock))
    other.start()
    pipe(tcpClisock, c)
    other.join()
    c.close()


def Server(tcpClisock, addr):
    print('Received a connection from:', addr)
    head, body = read_request(tcpClisock)
    if len(head) and head.split()[0] == 'CONNECT':
        tunnel(tcpClisock, head.split()[1])
    elif len(head):
        method = head.split()[0]
        getFile = head.split()[1]
        if getFile.startswith('http://'):
            getFile = getFile[len('http:/'):]
        hostport, _, path = getFile.partition("/")[2].partition("/")
        filename = 'cache_' + (hostport + '_' + path).replace('/', '_').replace(':', '_')
        if method == 'GET' and os.path.exists(filename):
            print('File exist')
            f = open(filename, "rb")
            tcpClisock.sendall(f.read())
            f.close()
        else:
            host, _, port = hostport.partition(':')
            c = socket(AF_INET, SOCK_STREAM)
            try:
                c.connect((host, int(port or 80)))
                request = method + ' /' + path + ' HTTP/1.0\r\nHost: ' + hostport + '\r\n'
                if body:
                    request += 'Content-Length: ' + str(len(body)) + '\r\n'
                request += '\r\n'
                c.sendall(request.encode() + body)
                buff = b''
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    buff += chunk
                tcpClisock.sendall(buff)
                if method == 'GET' and buff.split(b'\r\n')[0].split()[1] == b'200':
                    tmpFile = open(filename, "wb")
                    tmpFile.write(buff)
                    tmpFile.close()
            except Exception as e:
                print("Illegal request", e)
            c.close()
    tcpClisock.close()


if __name__ == '__main__':
    tcpSersock = socket(AF_INET, SOCK_STREAM)
    tcpSersock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    tcpSersock.bind(('', int(sys.argv[1])))
    tcpSersock.listen(5)
    print("Ready to serve.....\n")
    while True:
        tcpClisock, addr = tcpSersock.accept()
        thread = threading.Thread(target=Server, args=(tcpClisock, addr))
        thread.start()
