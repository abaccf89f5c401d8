#!/usr/bin/python3
"""lib-bs.py SCRIPT CMD...: plays SCRIPT against CMD's SMTP dialogue on its
stdin and stdout, one step at a time; see t/lib-bs.sh for the steps."""

import os
import select
import subprocess
import sys

TIMEOUT = 20


class Timeout(Exception):
    pass


def main():
    script, cmd = sys.argv[1], sys.argv[2:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = p.stdout.fileno()
    pending = b""

    def readline():
        nonlocal pending
        while b"\n" not in pending:
            r, _, _ = select.select([out], [], [], TIMEOUT)
            if not r:
                raise Timeout()
            chunk = os.read(out, 65536)
            if not chunk:
                line, pending = pending, b""
                return line
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        return line + b"\n"

    def reply():
        while True:
            line = readline()
            if not line:
                print("EOF")
                return
            text = line.decode("utf-8", "replace")
            if not text.endswith("\r\n"):
                text += " [no CRLF]"
            print(text.rstrip("\r\n"))
            if text[3:4] != "-":
                return

    def send(data):
        try:
            p.stdin.write(data)
            p.stdin.flush()
        except BrokenPipeError:
            print("BROKEN PIPE")

    try:
        reply()                              # the greeting
        with open(script, "rb") as f:
            steps = f.read().decode("utf-8").splitlines()
        for step in steps:
            verb, _, arg = step.partition(" ")
            if verb == "CMD":
                send(arg.encode() + b"\r\n")
                reply()
            elif verb == "SEND":
                send(arg.encode() + b"\r\n")
            elif verb == "READ":
                reply()
            elif verb == "RAW":
                with open(arg, "rb") as g:
                    send(g.read())
            elif verb == "SH":
                sys.stdout.flush()
                subprocess.run(["/bin/sh", "-c", arg], check=False)
            elif verb == "CLOSE":
                p.stdin.close()
            elif step:
                sys.exit("bad step: " + step)
        if not p.stdin.closed:
            p.stdin.close()
        while True:
            line = readline()
            if not line:
                break
            print("EXTRA " + line.decode("utf-8", "replace").rstrip("\r\n"))
    except Timeout:
        print("TIMEOUT")
        p.kill()
    print("exit %d" % p.wait())


main()
