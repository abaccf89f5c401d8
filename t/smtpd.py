#!/usr/bin/python3
"""smtpd.py: the scriptable smarthost of sendq's test suite.

Built on Debian's python3-aiosmtpd (1.4). Run it with /usr/bin/python3.

    smtpd.py --port-file F --spool DIR [--log FILE]
             [--tls starttls|implicit|none] [--cert PEM --key PEM]
             [--no-starttls]
             [--auth-user U --auth-password P] [--auth-cleartext] [--no-auth]
             [--oauth-token-file F] [--auth-external]
             [--require-client-cert CA.pem]
             [--script FILE] [--no-ext KEYWORD]... [--size N] [--max-rcpt N]
             [--parent-pid PID]

    smtpd.py --show FILE.env [FIELD]    print a stored envelope (see below)

Listens on 127.0.0.1 (port 0 unless --port: the kernel picks a free one)
and writes the port number to --port-file once it accepts connections (the
file appears atomically). SIGTERM, SIGINT and SIGHUP make it close every
connection and exit 0; so does the death of --parent-pid, so that a test
killed hard leaves no server behind.

EHLO offers SIZE, 8BITMIME, SMTPUTF8, PIPELINING, ENHANCEDSTATUSCODES, DSN,
STARTTLS (with --tls starttls, until TLS is up) and AUTH PLAIN LOGIN (with
--auth-user, only once TLS is up unless --auth-cleartext). --no-ext KEYWORD
drops one of the first six from EHLO and refuses its parameters. With
--auth-user every MAIL, RCPT and DATA needs a successful AUTH first (530);
--no-auth cancels an earlier --auth-user. --no-starttls is --tls none.
--oauth-token-file F also offers AUTH XOAUTH2 and OAUTHBEARER (with
--auth-user, the user they must name): the valid access token is F's
content (white space stripped), read again at every AUTH, so a test can
expire a token by rewriting F. A wrong token gets what Gmail sends: a 334
with a JSON error ({"status":"401",...}, base64), then 535 5.7.8 to the
client's answer. --require-client-cert CA.pem makes the TLS handshake
demand a client certificate issued by that CA; --auth-external offers
AUTH EXTERNAL, which succeeds when the session has such a certificate
(the user is its subject CN). The log shows "auth ok USER" or "auth
failed USER" for these as for PLAIN and LOGIN, and "tls client CN" once
a client certificate was presented.
--max-rcpt N answers "452 4.5.3 Too many recipients" to the RCPT after
the Nth; --timeout S closes a connection idle for S seconds (default 300).
Replies carry enhanced status codes (added when aiosmtpd's own text has
none); scripted replies are sent exactly as written. A message line longer
than 1001 octets with its CRLF (998 plus CRLF plus a stuffing dot) is
answered "500 Line too long" after the final dot, and not stored; --size
(default 32 MiB) bounds the whole message.

Stored messages
    Each message answered with 2xx after its final dot is stored as
    DIR/NNNN.eml (0001, 0002, ...): the DATA bytes exactly as they came over
    the wire, only the dot-stuffing undone (CRLF, bare CR or bare LF kept
    as they were; the final "." line not included). DIR/NNNN.env is written
    first, as JSON:
        mail_from     the reverse path ("" for <>)
        rcpt_tos      the accepted recipients, in order
        mail_options  MAIL parameters as sent, e.g. ["BODY=8BITMIME", "RET=HDRS"]
        rcpt_options  one list per recipient, e.g. [["NOTIFY=NEVER"], []]
        ehlo          the EHLO/HELO name
        tls           true when the session was encrypted; tls_version
        auth_user     the authenticated user, or null
        connection    the connection number (1, 2, ...; see --log)
        transaction   the message's number within that connection
        size          the number of bytes in NNNN.eml
    "--show FILE.env" prints the envelope as lines "MAIL FROM:<a> PARAMS"
    and "RCPT TO:<b> PARAMS"; "--show FILE.env FIELD" prints one field
    (lists one item per line, true/false as yes/no, null as nothing).

Log (--log FILE, appended, one line per event)
    "N > LINE"   a command line from the client on connection N
    "N < LINE"   a reply line sent
    "N * EVENT"  connect, tls TLSv1.3, tls failed, auth ok USER,
                 auth failed USER, data BYTES, stored NNNN, drop, hang,
                 close, tls failed: REASON
    AUTH payloads (the initial response and every answer to a 334) appear
    as "***". Control bytes in commands appear as \\xNN; a command that
    ended in a bare LF gets " [bare LF]". Message lines are not logged.

Fault script (--script FILE)
    One rule per line; blank lines and lines starting with # are ignored:

        STAGE PATTERN ACTION [xN]

    STAGE    GREETING (instead of the 220 greeting), EOD (the reply after
             the final dot), or a command verb: EHLO, HELO, STARTTLS, AUTH,
             MAIL, RCPT, DATA, RSET, NOOP, QUIT, ...
    PATTERN  * for any, else a glob (fnmatch, case-insensitive) matched
             against: MAIL the sender ("" for <>), RCPT the recipient,
             DATA and EOD the sender or any recipient, EHLO/HELO the name,
             AUTH the mechanism, other verbs their argument.
    ACTION   a reply, "CODE text", sent exactly as written ("\\n" between
             lines makes a multi-line reply; a 421 also closes the
             connection); "drop" to close the connection at once, without
             a reply; "hang" to never answer.
    xN       the rule fires at most N times over the server's life; after
             that the next matching rule, or the normal behaviour, applies.

    The first matching rule wins. A command answered by a rule has no other
    effect (a refused RCPT adds no recipient; a message refused at EOD is
    not stored). The file is read again when it changes, at the start of
    each connection; use counts of unchanged lines are kept. Examples:

        GREETING * 421 4.3.2 busy x1
        EHLO * 421 4.3.2 bye
        AUTH * 535 5.7.8 bad credentials
        MAIL * 451 4.3.0 try later
        RCPT bob@example.com 550 5.1.1 No such user
        RCPT *@full.example 452 4.2.2 mailbox full x2
        DATA * 554 5.7.1 no
        EOD * 452 4.3.1 insufficient storage
        RCPT * drop
        EOD * hang
"""

import argparse
import asyncio
import base64
import binascii
import fnmatch
import functools
import json
import logging
import os
import re
import signal
import ssl
import sys
import traceback
import warnings

from aiosmtpd.smtp import (MISSING, SMTP, AuthResult, Envelope,
                           TLSSetupException, syntax)

HOSTNAME = "localhost"
OPTIONAL_EXTS = ("SIZE", "8BITMIME", "SMTPUTF8", "PIPELINING",
                 "ENHANCEDSTATUSCODES", "DSN")
REPLY_RE = re.compile(r"^[2-5][0-9][0-9]([ -].*)?$")
ENHANCED_RE = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)")


class ScriptError(Exception):
    pass


class Rule:
    def __init__(self, line, lineno):
        self.key = line
        words = line.split()
        self.count = None
        if len(words) > 3 and re.fullmatch(r"x[0-9]+", words[-1]):
            self.count = int(words[-1][1:])
            words = words[:-1]
        if len(words) < 3:
            raise ScriptError(f"line {lineno}: want STAGE PATTERN ACTION")
        self.stage = words[0].upper()
        self.pattern = words[1].lower()
        action = " ".join(words[2:])
        if action in ("drop", "hang"):
            self.action = action
            self.reply = None
        else:
            self.action = "reply"
            self.reply = action.split("\\n")
            for r in self.reply:
                if not REPLY_RE.match(r):
                    raise ScriptError(f"line {lineno}: bad reply {r!r}")
        if not self.stage.isalpha():
            raise ScriptError(f"line {lineno}: bad stage {self.stage!r}")

    def matches(self, stage, subjects):
        if stage != self.stage:
            return False
        if self.pattern == "*":
            return True
        return any(fnmatch.fnmatchcase(s.lower(), self.pattern)
                   for s in subjects)


class Script:
    """The fault rules, re-read when the file changes."""

    def __init__(self, path):
        self.path = path
        self.rules = []
        self.used = {}
        self.sig = None
        self.reload(strict=True)

    def reload(self, strict=False):
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            if sig == self.sig:
                return
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
            rules = []
            for n, line in enumerate(text.splitlines(), 1):
                line = line.strip()
                if line and not line.startswith("#"):
                    rules.append(Rule(line, n))
        except (OSError, ScriptError) as e:
            if strict:
                raise
            print(f"smtpd.py: {self.path}: {e}; keeping the old rules",
                  file=sys.stderr)
            return
        self.rules = rules
        self.sig = sig

    def match(self, stage, subjects):
        for r in self.rules:
            if not r.matches(stage, subjects):
                continue
            used = self.used.get(r.key, 0)
            if r.count is not None and used >= r.count:
                continue
            self.used[r.key] = used + 1
            return r
        return None


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8",
                      errors="backslashreplace") if path else None

    def write(self, conn, direction, text):
        if self.f:
            self.f.write(f"{conn} {direction} {text}\n")


def show_bytes(line):
    """A command line for the log: CRLF removed, control bytes as \\xNN."""
    bare_lf = line.endswith(b"\n") and not line.endswith(b"\r\n")
    line = line[:-2] if line.endswith(b"\r\n") else line.rstrip(b"\n")
    text = line.decode("utf-8", "backslashreplace")
    text = re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()),
                  text)
    return text + (" [bare LF]" if bare_lf else "")


class State:
    """What all connections share: options, counters, spool, log."""

    def __init__(self, opts):
        self.opts = opts
        self.script = Script(opts.script)
        self.log = Log(opts.log)
        self.conns = 0
        self.protocols = set()
        self.spool = opts.spool
        self.msgs = 0
        if self.spool:
            os.makedirs(self.spool, exist_ok=True)
            for name in os.listdir(self.spool):
                m = re.fullmatch(r"([0-9]+)\.eml", name)
                if m:
                    self.msgs = max(self.msgs, int(m.group(1)))

    def ext(self, keyword):
        return keyword not in self.opts.no_ext

    def store(self, env, content):
        self.msgs += 1
        n = self.msgs
        if not self.spool:
            return n
        base = os.path.join(self.spool, "%04d" % n)
        # The .env first, each by rename: once NNNN.eml exists, both are
        # complete.
        for suffix, data in ((".env", json.dumps(env, indent=1,
                                                 sort_keys=True) + "\n"),
                             (".eml", content)):
            tmp = base + suffix + ".tmp"
            mode = "wb" if isinstance(data, bytes) else "w"
            with open(tmp, mode) as f:
                f.write(data)
            os.rename(tmp, base + suffix)
        return n


class SqEnvelope(Envelope):
    def __init__(self):
        super().__init__()
        self.rcpt_params = []


class Handler:
    def __init__(self, state):
        self.state = state

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        st = self.state
        words = [r[4:] for r in responses]
        keep = [words[0]]
        for w in words[1:]:
            kw = w.split()[0].upper() if w.split() else w
            if kw in OPTIONAL_EXTS and not st.ext(kw):
                continue
            if kw == "AUTH" and not st.opts.auth_user:
                continue
            if kw == "HELP":
                continue
            keep.append(w)
        for kw in ("PIPELINING", "ENHANCEDSTATUSCODES", "DSN"):
            if st.ext(kw):
                keep.append(kw)
        keep.append("HELP")
        # aiosmtpd grows these on every EHLO; set them once, with room for
        # the DSN parameters (RFC 3461 section 5: 100 for MAIL, 500 for RCPT).
        server.command_size_limits["MAIL"] = 512 + 26 + 10 + 100
        server.command_size_limits["RCPT"] = 512 + 500
        return ["250-" + w for w in keep[:-1]] + ["250 " + keep[-1]]

    async def handle_exception(self, error):
        # A failed STARTTLS handshake is in the log already; anything else
        # is a bug worth a traceback.
        if not isinstance(error, TLSSetupException):
            traceback.print_exception(error, file=sys.stderr)
        return f"500 5.0.0 Error: {error.__class__.__name__}"

    async def handle_DATA(self, server, session, envelope):
        st = self.state
        rule = st.script.match("EOD", server.envelope_subjects())
        if rule is not None and rule.action != "reply":
            await server.act(rule)
        content = envelope.original_content
        server.logev(f"data {len(content)}")
        if rule is not None:
            status = rule.reply
            server.verbatim = True
        else:
            status = ["250 2.0.0 OK"]
        if status[-1].startswith("2"):
            ssl_obj = server.transport.get_extra_info("ssl_object")
            mail_from = envelope.mail_from
            env = {
                "mail_from": "" if mail_from == "<>" else mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "mail_options": list(envelope.mail_options),
                "rcpt_options": [list(p) for p in envelope.rcpt_params],
                "ehlo": session.host_name,
                "tls": ssl_obj is not None,
                "tls_version": ssl_obj.version() if ssl_obj else None,
                "auth_user": getattr(session, "sq_user", None),
                "connection": server.conn,
                "transaction": server.transactions + 1,
                "size": len(content),
            }
            n = st.store(env, content)
            server.transactions += 1
            server.logev("stored %04d" % n)
            if rule is None:
                status = ["250 2.0.0 OK: queued as %04d" % n]
        if rule is not None and rule.reply[-1].startswith("421"):
            server.close_after_push = True
        # aiosmtpd sends exactly one status; earlier lines go out here.
        for line in status[:-1]:
            await server.push_raw(line)
        return status[-1]


class Server(SMTP):
    def __init__(self, handler, state, **kw):
        self.state = state
        self.conn = 0
        self.verb = None
        self.last_code = None
        self.in_data = False
        self.data_bytes = 0
        self.verbatim = False
        self.close_after_push = False
        self.transactions = 0
        super().__init__(handler, **kw)
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._scripted(verb, method)

    # -- bookkeeping -------------------------------------------------------

    def logev(self, text):
        self.state.log.write(self.conn, "*", text)

    def _create_envelope(self):
        return SqEnvelope()

    def connection_made(self, transport):
        first = self.transport is None
        if first:
            self.state.conns += 1
            self.conn = self.state.conns
            self.state.protocols.add(self)
            self.state.script.reload()
            tls = transport.get_extra_info("ssl_object")
            self.logev("connect" + (" " + tls.version() if tls else ""))
        super().connection_made(transport)
        if not first:
            tls = transport.get_extra_info("ssl_object")
            self.logev("tls " + (tls.version() if tls else "?"))
        tls = transport.get_extra_info("ssl_object")
        cert = tls.getpeercert() if tls else None
        if cert:
            cn = [v for rdn in cert.get("subject", ()) for k, v in rdn
                  if k == "commonName"]
            self.logev("tls client " + (cn[0] if cn else "?"))

    def connection_lost(self, error):
        self.logev("close")
        self.state.protocols.discard(self)
        super().connection_lost(error)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        readuntil = reader.readuntil

        # Every line read goes through here: commands, AUTH answers and
        # message lines (which are counted, not logged).
        async def logged_readuntil(separator=b"\n"):
            line = await readuntil(separator)
            if self.in_data:
                self.data_bytes += len(line)
                if line == b".\r\n":
                    self._end_data()
            elif self.last_code == "334":
                self.state.log.write(self.conn, ">", "***")
            else:
                text = show_bytes(line)
                m = re.match(r"(?i)(auth\s+\S+)\s", text)
                if m:
                    text = m.group(1) + " ***"
                self.state.log.write(self.conn, ">", text)
            return line

        reader.readuntil = logged_readuntil

    async def push_raw(self, line):
        await self._send(line)

    async def push(self, status):
        if isinstance(status, bytes):
            status = status.decode("utf-8", "surrogateescape")
        if not self.verbatim:
            status = self._enhance(status)
        self.verbatim = False
        await self._send(status)
        if self.close_after_push:
            self.close_after_push = False
            if self.transport is not None:
                self.transport.close()

    def _end_data(self):
        self.state.log.write(self.conn, ">", "[message: %d bytes]"
                             % self.data_bytes)
        self.in_data = False

    async def _send(self, status):
        if self.in_data:
            self._end_data()
        self.state.log.write(self.conn, "<", status)
        self.last_code = status[:3]
        if status.startswith("354"):
            self.in_data = True
            self.data_bytes = 0
        await super().push(status)

    def _enhance(self, status):
        """Give aiosmtpd's own replies an enhanced status code."""
        if (not self.state.ext("ENHANCEDSTATUSCODES")
                or self.verb in (None, "EHLO", "HELO")
                or not re.match(r"^[245][0-9][0-9] ", status)):
            return status
        code, text = status[:3], status[4:]
        if ENHANCED_RE.match(text):
            return status
        return f"{code} {code[0]}.0.0 {text}"

    # -- the fault script --------------------------------------------------

    def envelope_subjects(self):
        e = self.envelope
        frm = "" if e.mail_from in (None, "<>") else e.mail_from
        return [frm] + list(e.rcpt_tos)

    def _subjects(self, verb, arg):
        arg = arg or ""
        if verb in ("MAIL", "RCPT"):
            rest = self._strip_command_keyword(
                "FROM:" if verb == "MAIL" else "TO:", arg)
            if rest is not None:
                addr, _ = self._getaddr(rest)
                if addr is not None:
                    return ["" if addr == "<>" else addr]
            return [arg]
        if verb == "DATA":
            return self.envelope_subjects()
        if verb == "AUTH":
            return [arg.split()[0] if arg.split() else ""]
        return [arg]

    async def act(self, rule):
        if rule.action == "drop":
            self.logev("drop")
            if self.transport is not None:
                self.transport.abort()
            # connection_lost() cancels this task.
            await asyncio.sleep(3600)
        elif rule.action == "hang":
            self.logev("hang")
            await asyncio.sleep(3600 * 24)
        else:
            for line in rule.reply[:-1]:
                await self._send(line)
            if rule.reply[-1].startswith("421"):
                self.close_after_push = True
            self.verbatim = True
            await self.push(rule.reply[-1])

    def _scripted(self, verb, method):
        @functools.wraps(method)
        async def run(arg):
            self.verb = verb
            rule = self.state.script.match(verb, self._subjects(verb, arg))
            if rule is not None:
                await self.act(rule)
                return
            await method(arg)
        return run

    async def _handle_client(self):
        rule = self.state.script.match("GREETING", [""])
        if rule is not None:
            if rule.action == "reply":
                self.close_after_push = True
            await self.act(rule)
            return
        await super()._handle_client()

    # -- commands ----------------------------------------------------------

    # -- OAuth2 and EXTERNAL (see the docstring) ---------------------------

    def _oauth_check(self, user, token):
        opts = self.state.opts
        try:
            with open(opts.oauth_token_file, encoding="utf-8") as f:
                valid = f.read().strip()
        except OSError:
            valid = None
        ok = (valid is not None and token == valid
              and user == (opts.auth_user or ""))
        self.logev(("auth ok " if ok else "auth failed ") + user)
        if ok:
            self.session.sq_user = user
        return ok

    async def _oauth_refuse(self):
        err = json.dumps({"status": "401", "schemes": "bearer",
                          "scope": "https://mail.google.com/"})
        answer = await self.challenge_auth(err)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False,
                          message="535 5.7.8 Username and Password not "
                                  "accepted (invalid or expired token)")

    async def _oauth_initial(self, args):
        if len(args) > 1:
            try:
                return base64.b64decode(args[1].encode(), validate=True)
            except binascii.Error:
                return None
        blob = await self.challenge_auth("")
        return None if blob is MISSING else blob

    async def auth_XOAUTH2(self, _, args):
        blob = await self._oauth_initial(args)
        if blob is None:
            return AuthResult(success=False)
        fields = dict(f.split("=", 1) for f in
                      blob.decode("utf-8", "replace").split("\x01")
                      if "=" in f)
        user = fields.get("user", "")
        auth = fields.get("auth", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if self._oauth_check(user, token):
            return AuthResult(success=True, auth_data=user)
        return await self._oauth_refuse()

    async def auth_OAUTHBEARER(self, _, args):
        blob = await self._oauth_initial(args)
        if blob is None:
            return AuthResult(success=False)
        text = blob.decode("utf-8", "replace")
        gs2, _, rest = text.partition("\x01")
        user = ""
        for part in gs2.split(","):
            if part.startswith("a="):
                user = part[2:]
        fields = dict(f.split("=", 1) for f in rest.split("\x01")
                      if "=" in f)
        auth = fields.get("auth", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        if self._oauth_check(user, token):
            return AuthResult(success=True, auth_data=user)
        return await self._oauth_refuse()

    async def auth_EXTERNAL(self, _, args):
        ssl_obj = self.transport.get_extra_info("ssl_object")
        cert = ssl_obj.getpeercert() if ssl_obj else None
        cn = ""
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    cn = value
        if len(args) == 1:
            if await self.challenge_auth("") is MISSING:
                return AuthResult(success=False, handled=True)
        ok = bool(cert)
        self.logev(("auth ok " if ok else "auth failed ") + cn)
        if ok:
            self.session.sq_user = cn
            return AuthResult(success=True, auth_data=cn)
        return AuthResult(success=False)

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg):
        try:
            await super().smtp_STARTTLS(arg)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.logev(f"tls failed: {e.__cause__ or e}")
            raise

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg):
        if not self.state.opts.auth_user:
            await self.push("502 5.5.1 AUTH not available")
            return
        await super().smtp_AUTH(arg)

    def _params(self, tokens, allowed):
        """Checks ESMTP parameters; returns an error reply or None."""
        seen = set()
        for tok in tokens:
            key, eq, value = tok.partition("=")
            key = key.upper()
            if not key.isalnum() or (eq and not value) or key in seen:
                return "501 5.5.4 Syntax error in parameters"
            seen.add(key)
            check = allowed.get(key)
            if check is None:
                return "555 5.5.4 Unsupported parameter " + key
            err = check(value if eq else None)
            if err:
                return err
        return None

    def _mail_params(self):
        st = self.state
        bad = "501 5.5.4 Bad value for "

        def body(v):
            if v is None or v.upper() not in ("7BIT", "8BITMIME"):
                return bad + "BODY"
            if v.upper() == "8BITMIME" and not st.ext("8BITMIME"):
                return "555 5.5.4 8BITMIME not offered"

        def size(v):
            if v is None or not v.isdigit():
                return bad + "SIZE"
            if self.data_size_limit and int(v) > self.data_size_limit:
                return "552 5.3.4 Message size exceeds fixed limit"

        def smtputf8(v):
            if v is not None:
                return bad + "SMTPUTF8"

        def ret(v):
            if v is None or v.upper() not in ("FULL", "HDRS"):
                return bad + "RET"

        def envid(v):
            if v is None or len(v) > 100:
                return bad + "ENVID"

        def auth(v):
            if v is None:
                return bad + "AUTH"

        allowed = {"BODY": body}
        if st.ext("SIZE"):
            allowed["SIZE"] = size
        if st.ext("SMTPUTF8"):
            allowed["SMTPUTF8"] = smtputf8
        if st.ext("DSN"):
            allowed["RET"] = ret
            allowed["ENVID"] = envid
        if st.opts.auth_user:
            allowed["AUTH"] = auth
        return allowed

    def _rcpt_params(self):
        bad = "501 5.5.4 Bad value for "

        def notify(v):
            words = (v or "").upper().split(",")
            if words == ["NEVER"]:
                return None
            if not v or not set(words) <= {"SUCCESS", "FAILURE", "DELAY"}:
                return bad + "NOTIFY"

        def orcpt(v):
            if v is None or ";" not in v:
                return bad + "ORCPT"

        if self.state.ext("DSN"):
            return {"NOTIFY": notify, "ORCPT": orcpt}
        return {}

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("MAIL"):
            return
        syntaxerr = "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]"
        rest = self._strip_command_keyword("FROM:", arg or "")
        if rest is None:
            return await self.push(syntaxerr)
        address, params = self._getaddr(rest)
        if address is None:
            return await self.push("553 5.1.3 Error: malformed address")
        if not address:
            return await self.push(syntaxerr)
        if self.envelope.mail_from is not None:
            return await self.push("503 5.5.1 Error: nested MAIL command")
        tokens = params.split()
        if tokens and not self.session.extended_smtp:
            return await self.push(syntaxerr)
        err = self._params(tokens, self._mail_params())
        if err:
            return await self.push(err)
        self.envelope.mail_from = address
        self.envelope.mail_options = tokens
        self.envelope.smtp_utf8 = any(t.upper() == "SMTPUTF8"
                                      for t in tokens)
        await self.push("250 2.1.0 OK")

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("RCPT"):
            return
        if self.envelope.mail_from is None:
            return await self.push("503 5.5.1 Error: need MAIL command")
        syntaxerr = "501 5.5.4 Syntax: RCPT TO:<address> [parameters]"
        rest = self._strip_command_keyword("TO:", arg or "")
        if rest is None:
            return await self.push(syntaxerr)
        address, params = self._getaddr(rest)
        if address is None:
            return await self.push("553 5.1.3 Error: malformed address")
        if not address or address == "<>":
            return await self.push(syntaxerr)
        tokens = params.split()
        if tokens and not self.session.extended_smtp:
            return await self.push(syntaxerr)
        err = self._params(tokens, self._rcpt_params())
        if err:
            return await self.push(err)
        limit = self.state.opts.max_rcpt
        if limit and len(self.envelope.rcpt_tos) >= limit:
            return await self.push("452 4.5.3 Too many recipients")
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_params.append(tokens)
        await self.push("250 2.1.5 OK")


def authenticator(state):
    user = state.opts.auth_user
    password = state.opts.auth_password or ""

    def check(server, session, envelope, mechanism, data):
        login = data.login.decode("utf-8", "backslashreplace")
        ok = (data.login == user.encode()
              and data.password == password.encode())
        server.logev(("auth ok " if ok else "auth failed ") + login)
        if ok:
            session.sq_user = login
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)
    return check


def write_port_file(path, port):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, path)


async def watch_parent(pid, stop):
    while not stop.done():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set_result("parent gone")
            return
        except PermissionError:
            pass
        await asyncio.sleep(0.5)


def serve(opts):
    state = State(opts)
    tls_ctx = None
    if opts.tls != "none":
        if not (opts.cert and opts.key):
            sys.exit("smtpd.py: --tls needs --cert and --key")
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(opts.cert, opts.key)
        if opts.require_client_cert:
            tls_ctx.verify_mode = ssl.CERT_REQUIRED
            tls_ctx.load_verify_locations(opts.require_client_cert)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Before the port file appears: whoever reads it may signal at once.
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(
            sig, lambda s=sig: stop.done() or stop.set_result(s))
    handler = Handler(state)
    kw = dict(hostname=HOSTNAME, ident="ESMTP sendq test smarthost",
              decode_data=False, enable_SMTPUTF8=True,
              data_size_limit=opts.size if state.ext("SIZE") else None,
              timeout=opts.timeout, loop=loop)
    if opts.tls == "starttls":
        kw["tls_context"] = tls_ctx
    exclude = []
    if not opts.oauth_token_file:
        exclude += ["XOAUTH2", "OAUTHBEARER"]
    if not opts.auth_external:
        exclude.append("EXTERNAL")
    kw["auth_exclude_mechanism"] = exclude
    if opts.auth_user:
        kw["authenticator"] = authenticator(state)
        kw["auth_required"] = True
        # With implicit TLS aiosmtpd does not know the session is encrypted.
        kw["auth_require_tls"] = not (opts.auth_cleartext
                                      or opts.tls == "implicit")
    else:
        kw["auth_require_tls"] = True

    def factory():
        return Server(handler, state, **kw)

    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=opts.port,
        ssl=tls_ctx if opts.tls == "implicit" else None))
    port = server.sockets[0].getsockname()[1]
    if opts.port_file:
        write_port_file(opts.port_file, port)

    if opts.parent_pid:
        loop.create_task(watch_parent(opts.parent_pid, stop))
    loop.run_until_complete(stop)

    server.close()
    for proto in list(state.protocols):
        if proto.transport is not None:
            proto.transport.abort()
    loop.run_until_complete(asyncio.sleep(0.05))
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()
    return 0


def show(path, field):
    with open(path, encoding="utf-8") as f:
        env = json.load(f)
    if field is None:
        opts = " ".join(env["mail_options"])
        print(f"MAIL FROM:<{env['mail_from']}>" + (" " + opts if opts else ""))
        for rcpt, params in zip(env["rcpt_tos"], env["rcpt_options"]):
            p = " ".join(params)
            print(f"RCPT TO:<{rcpt}>" + (" " + p if p else ""))
        return 0
    if field not in env:
        print(f"smtpd.py: {path}: no field {field}", file=sys.stderr)
        return 1
    value = env[field]
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, bool):
            v = "yes" if v else "no"
        elif isinstance(v, list):
            v = " ".join(v)
        if v is not None:
            print(v)
    return 0


def main(argv):
    p = argparse.ArgumentParser(prog="smtpd.py", description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--show", nargs="+", metavar=("FILE.env", "FIELD"))
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--spool")
    p.add_argument("--log")
    p.add_argument("--tls", choices=("starttls", "implicit", "none"),
                   default="none")
    p.add_argument("--no-starttls", dest="tls", action="store_const",
                   const="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--no-auth", dest="auth_user", action="store_const",
                   const=None)
    p.add_argument("--auth-cleartext", action="store_true")
    p.add_argument("--oauth-token-file")
    p.add_argument("--auth-external", action="store_true")
    p.add_argument("--require-client-cert", metavar="CA.pem")
    p.add_argument("--script")
    p.add_argument("--no-ext", action="append", default=[],
                   type=str.upper, choices=OPTIONAL_EXTS)
    p.add_argument("--size", type=int, default=32 * 1024 * 1024)
    p.add_argument("--max-rcpt", type=int, default=0)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--parent-pid", type=int)
    opts = p.parse_args(argv)
    if opts.show:
        if len(opts.show) > 2:
            p.error("--show FILE.env [FIELD]")
        return show(opts.show[0], opts.show[1] if len(opts.show) > 1
                    else None)
    if opts.port_file is None and opts.port == 0:
        p.error("--port-file is needed with a kernel-chosen port")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="smtpd.py: %(name)s: %(message)s")
    # aiosmtpd warns of its own deprecated login_data on every AUTH, and of
    # AUTH without STARTTLS, which --auth-cleartext and implicit TLS mean.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    try:
        return serve(opts)
    except ScriptError as e:
        print(f"smtpd.py: {opts.script}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
