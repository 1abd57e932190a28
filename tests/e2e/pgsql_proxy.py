import socket, threading, sys, json, time
LP, SP, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
n = [0]
def pump(a, b, d, f, cid):
    while True:
        try: x = a.recv(65536)
        except Exception: x = b''
        if not x:
            try: b.shutdown(socket.SHUT_WR)
            except Exception: pass
            return
        with lock:
            f.write(json.dumps({"c": cid, "d": d, "x": x.hex()}) + "\n"); f.flush()
        b.sendall(x)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", LP)); ls.listen(16)
f = open(OUT, "a")
while True:
    c, _ = ls.accept(); n[0] += 1
    s = socket.create_connection(("127.0.0.1", SP))
    threading.Thread(target=pump, args=(c, s, "F", f, n[0]), daemon=True).start()
    threading.Thread(target=pump, args=(s, c, "B", f, n[0]), daemon=True).start()
