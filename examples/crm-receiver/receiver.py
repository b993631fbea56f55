#!/usr/bin/env python3
"""An example webhook receiver that writes Tandem's routed leads into a database.

Tandem POSTs each accepted result as JSON (see docs/delivery.md). This receiver checks
the HMAC signature, then upserts one row per item into a SQLite table, so a redelivery
(same Tandem-Delivery-Id) or a later revision of the same item (a person corrected it)
updates the row instead of adding one. Only the Python standard library is used.

    python3 examples/crm-receiver/receiver.py --db leads.db --port 8090 [--secret S]
    # then, in the automation:  [[destinations]] type = "webhook"
    #                           url = "http://127.0.0.1:8090/"  secret = "S"

GET /leads/<item_id> returns the stored row as JSON (for a quick look, and for tests).
"""

import argparse
import hashlib
import hmac
import json
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    item_id     INTEGER PRIMARY KEY,
    automation  TEXT NOT NULL,
    route       TEXT,
    decided_by  TEXT,
    assignee    TEXT,
    confidence  REAL,
    rule        TEXT,
    reasons     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    delivery_id TEXT NOT NULL
)
"""

# A later revision replaces the row; a repeat or an older one (a retry that arrives
# late) leaves it alone.
UPSERT = """
INSERT INTO leads (item_id, automation, route, decided_by, assignee, confidence, rule,
                   reasons, fields, revision, delivery_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (item_id) DO UPDATE SET
    route = excluded.route, decided_by = excluded.decided_by,
    assignee = excluded.assignee, confidence = excluded.confidence, rule = excluded.rule,
    reasons = excluded.reasons, fields = excluded.fields, revision = excluded.revision,
    delivery_id = excluded.delivery_id
WHERE excluded.revision >= leads.revision
"""

MAX_BODY = 1 << 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="SQLite file to write")
    ap.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    ap.add_argument("--secret", default=None, help="the destination's secret, if it has one")
    args = ap.parse_args()

    db = sqlite3.connect(args.db, check_same_thread=False)
    db.execute(SCHEMA)
    db.commit()
    lock = threading.Lock()
    secret = args.secret.encode() if args.secret else None

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body=None):
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                return self.reply(413 if length > MAX_BODY else 400, {"error": "body size"})
            body = self.rfile.read(length)
            if secret is not None:
                want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                got = self.headers.get("Tandem-Signature", "")
                if not hmac.compare_digest(want, got):
                    return self.reply(401, {"error": "bad signature"})
            try:
                d = json.loads(body)
                routing = d.get("routing") or {}
                row = (
                    int(d["item_id"]),
                    str(d["automation"]),
                    routing.get("route"),
                    routing.get("decided_by"),
                    routing.get("assignee"),
                    routing.get("confidence"),
                    routing.get("rule"),
                    json.dumps(routing.get("reasons") or []),
                    json.dumps((d.get("result") or {}).get("fields") or {}),
                    int(d.get("revision") or 0),
                    str(d.get("delivery_id") or self.headers.get("Tandem-Delivery-Id", "")),
                )
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                return self.reply(400, {"error": f"not a Tandem delivery: {e}"})
            with lock:
                db.execute(UPSERT, row)
                db.commit()
            self.reply(204)

        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if len(parts) != 2 or parts[0] != "leads" or not parts[1].isdigit():
                return self.reply(404, {"error": "GET /leads/<item_id>"})
            with lock:
                cur = db.execute("SELECT * FROM leads WHERE item_id = ?", (int(parts[1]),))
                names = [c[0] for c in cur.description]
                found = cur.fetchone()
            if found is None:
                return self.reply(404, {"error": "no such lead"})
            self.reply(200, dict(zip(names, found)))

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
