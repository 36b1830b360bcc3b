#!/usr/bin/env python3
"""Generate a GitOps-like tree of Strimzi KafkaConnectors and a matching registry.

Output (under --out DIR):
  DIR/registry.yaml                     the server-id registry (DESIGN.md format)
  DIR/manifests/namespaces/<ns>/...     one directory per namespace:
      kustomization.yaml                a Kustomization (ignored by cdc-guard)
      connect.yaml                      the namespace's KafkaConnect + a metrics ConfigMap
      connectors/*.yaml|*.yml|*.json    1-5 connectors per file: multi-document YAML,
                                        single documents, JSON objects, JSON and YAML `kind: List`
      pr-*.yaml                         the planted conflicts (see below)
  DIR/expected.json                     what the planted conflicts must trigger

The objects are realistic: kafka.strimzi.io/v1 and v1beta2 mixed, MySQL (most),
MariaDB, some Postgres and non-Debezium classes, Debezium 1.x config names on a
few, server ids as numbers and as strings, a few custom topic delimiters,
`${secrets:...}` placeholders for passwords. Teams own several namespaces each
and have sub-ranges of a wide registry range (1..4000000000), so 100k ids fit.
The registry has an entry for most MySQL/MariaDB connectors (Active, a few
Pending claims), Reserved entries for connectors not deployed yet,
Decommissioned entries (most past their embargo), reserved ids and an exception.

A fixed handful of planted conflicts (duplicate id, id held by a Reserved
entry, embargoed id, reserved id, id outside the team range, missing id,
shared history topic, history topic inside a data-topic namespace, duplicate
prefix, prefix overlap, duplicate Connect group.id) gives every rule work, so
`cdc-guard check` exits 1. Everything else is clean. The output is a pure
function of --connectors and --seed.

python3 standard library only.
"""

import argparse
import json
import os
import random
import shutil
import sys

GENERATOR_VERSION = 3

DOMAINS = [
    "orders", "payments", "billing", "inventory", "shipping", "catalog", "crm", "hr",
    "ledger", "fraud", "search", "analytics", "loyalty", "pricing", "returns", "support",
    "identity", "accounts", "media", "reviews", "logistics", "tax", "promo", "partners",
]
TABLES = [
    "orders", "order-items", "customers", "addresses", "invoices", "payments", "refunds",
    "products", "prices", "stock", "shipments", "carriers", "users", "sessions", "ledger",
    "accounts", "events", "audit", "coupons", "reviews", "tickets", "contracts", "employees",
]

MYSQL = "io.debezium.connector.mysql.MySqlConnector"
MARIADB = "io.debezium.connector.mariadb.MariaDbConnector"
POSTGRES = "io.debezium.connector.postgresql.PostgresConnector"
NON_DEBEZIUM = [
    "io.confluent.connect.jdbc.JdbcSourceConnector",
    "org.apache.kafka.connect.file.FileStreamSinkConnector",
    "io.confluent.connect.s3.S3SinkConnector",
]

REGISTRY_RANGE = (1, 4_000_000_000)
TEAM_BASE = 1_000_000
TEAM_WIDTH = 100_000          # ids per team; a team holds at most ~8 x 40 connectors
GLOBAL_BASE = 3_000_000_000   # ids of connectors whose namespace has no team range
NOW = "2026-11-25"            # the bench runs `check --now 2026-11-25T00:00:00Z`
NAMESPACES_PER_TEAM = 8
NAMESPACES_PER_KAFKA = 50     # Connect clusters sharing one Kafka (bootstrap servers)


# --- YAML / JSON emitters ------------------------------------------------------

def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    # Quote anything YAML could read as another type or that has special characters.
    plain_ok = (s and s[0] not in "!&*-?{}[],#|>@`\"'%:${" and ": " not in s and " #" not in s
                and s.strip() == s and s not in ("true", "false", "null", "yes", "no", "on", "off", "~"))
    if plain_ok:
        try:
            float(s)
            plain_ok = False
        except ValueError:
            pass
    return s if plain_ok else json.dumps(s)


def yaml_block(obj, indent=0):
    """Block-style YAML for dicts/lists of scalars (enough for manifests)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = yaml_scalar(k)
            if isinstance(v, dict):
                if v:
                    lines.append(f"{pad}{key}:")
                    lines.append(yaml_block(v, indent + 2))
                else:
                    lines.append(f"{pad}{key}: {{}}")
            elif isinstance(v, list):
                if v:
                    lines.append(f"{pad}{key}:")
                    lines.append(yaml_block(v, indent))
                else:
                    lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict):
                body = yaml_block(item, indent + 2).split("\n")
                body[0] = f"{pad}- " + body[0][indent + 2:]
                lines.append("\n".join(body))
            else:
                lines.append(f"{pad}- {yaml_scalar(item)}")
    return "\n".join(lines)


def flow_map(d):
    return "{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in d.items()) + "}"


# --- the model of the estate ---------------------------------------------------

class Estate:
    def __init__(self, n, seed):
        self.n = n
        self.rng = random.Random(seed)
        self.namespaces = []   # dicts: name, team, kafka, connect, connectors
        self.teams = []        # dicts: name, namespaces, range (tuple or None), next_id
        self.entries = []      # registry entries (dicts, in YAML key order)
        self.reserved = []     # (id, reason)
        self.exceptions = []
        self.used_ids = set()  # ids held by a connector, an entry or a reservation
        self.global_next = GLOBAL_BASE
        self.planted = []      # {"connector", "rule", "kind"}
        self.victims = set()   # keys that a planted object conflicts with (they get violations too)
        self.extra_files = []  # (namespace, filename, [objects]) for planted conflicts

    # ids ---------------------------------------------------------------------
    def take_id(self, team):
        """The next id of the team's range (else of the global pool), skipping used ones."""
        if team and team["range"]:
            while team["next_id"] in self.used_ids:
                team["next_id"] += 1
            i = team["next_id"]
            assert i <= team["range"][1], "team range exhausted"
        else:
            while self.global_next in self.used_ids:
                self.global_next += 1
            i = self.global_next
        self.used_ids.add(i)
        return i

    # layout ------------------------------------------------------------------
    def build(self):
        rng = self.rng
        n_ns = max(4, round(self.n / 20))
        # Connectors per namespace: uneven (5..35, mean ~20), adjusted to sum to n.
        counts = [rng.randint(5, 35) for _ in range(n_ns)]
        total = sum(counts)
        counts = [max(1, round(c * self.n / total)) for c in counts]
        diff = self.n - sum(counts)
        i = 0
        while diff != 0:
            j = i % n_ns
            if diff > 0:
                counts[j] += 1
                diff -= 1
            elif counts[j] > 1:
                counts[j] -= 1
                diff += 1
            i += 1

        n_kafka = max(2, -(-n_ns // NAMESPACES_PER_KAFKA))
        kafkas = [f"kafka-{k:03d}-kafka-bootstrap.kafka-{k:03d}.svc:9092" for k in range(n_kafka)]

        # Teams own consecutive namespaces; 1 namespace in 20 has no team, 1 team in
        # 25 has no range of its own (its ids come from the registry range).
        team = None
        team_index = 0
        for k in range(n_ns):
            ns_name = f"{DOMAINS[k % len(DOMAINS)]}-{k:05d}"
            if k % 20 == 19:
                owner = None
            else:
                if team is None or len(team["namespaces"]) >= NAMESPACES_PER_TEAM:
                    has_range = team_index % 25 != 24
                    lo = TEAM_BASE + team_index * TEAM_WIDTH
                    team = {
                        "name": f"team-{team_index:04d}",
                        "namespaces": [],
                        "range": (lo, lo + TEAM_WIDTH - 1) if has_range else None,
                        "next_id": lo,
                    }
                    self.teams.append(team)
                    team_index += 1
                owner = team
                team["namespaces"].append(ns_name)
            self.namespaces.append({
                "name": ns_name, "team": owner, "kafka": kafkas[k % n_kafka],
                "count": counts[k], "connectors": [],
            })

        # A few reserved ids: the top of every 10th team range, and the primary's id.
        self.reserved.append((REGISTRY_RANGE[1], "MySQL primary server_id of the shared cluster"))
        self.used_ids.add(REGISTRY_RANGE[1])
        for t in self.teams[::10]:
            if t["range"]:
                rid = t["range"][1]
                self.reserved.append((rid, f"DBA tooling replica for {t['name']}"))
                self.used_ids.add(rid)

        serial = 0
        for ns in self.namespaces:
            ns["connect"] = self.make_connect(ns)
            for _ in range(ns["count"]):
                ns["connectors"].append(self.make_connector(ns, serial))
                serial += 1
            self.make_history(ns)

    def make_connect(self, ns):
        rng = self.rng
        name = f"{ns['name']}-connect"
        if rng.random() < 0.5:
            api = "kafka.strimzi.io/v1"
            spec = {
                "replicas": rng.choice([1, 2, 3]),
                "bootstrapServers": ns["kafka"],
                "groupId": f"{ns['name']}-connect",
                "offsetStorageTopic": f"{ns['name']}-connect-offsets",
                "configStorageTopic": f"{ns['name']}-connect-configs",
                "statusStorageTopic": f"{ns['name']}-connect-status",
                "config": {"config.storage.replication.factor": 3, "offset.storage.replication.factor": 3,
                           "status.storage.replication.factor": 3},
            }
        else:
            api = "kafka.strimzi.io/v1beta2"
            spec = {
                "replicas": rng.choice([1, 2, 3]),
                "bootstrapServers": ns["kafka"],
                "config": {
                    "group.id": f"{ns['name']}-connect",
                    "offset.storage.topic": f"{ns['name']}-connect-offsets",
                    "config.storage.topic": f"{ns['name']}-connect-configs",
                    "status.storage.topic": f"{ns['name']}-connect-status",
                    "config.storage.replication.factor": 3,
                    "offset.storage.replication.factor": 3,
                    "status.storage.replication.factor": 3,
                },
            }
        spec["image"] = "registry.example.com/kafka-connect-debezium:3.1.0"
        return {
            "apiVersion": api, "kind": "KafkaConnect",
            "metadata": {"name": name, "namespace": ns["name"],
                         "annotations": {"strimzi.io/use-connector-resources": "true"}},
            "spec": spec,
        }

    def make_connector(self, ns, serial):
        rng = self.rng
        table = TABLES[serial % len(TABLES)]
        name = f"{table}-{serial}-cdc"
        r = rng.random()
        if r < 0.80:
            cls = MYSQL
        elif r < 0.92:
            cls = MARIADB
        elif r < 0.97:
            cls = POSTGRES
        else:
            cls = rng.choice(NON_DEBEZIUM)
        api = "kafka.strimzi.io/v1" if rng.random() < 0.5 else "kafka.strimzi.io/v1beta2"
        # Debezium 1.x config names: MySQL only (the MariaDB connector is 2.5+, where 1.x names
        # are ignored: config-generation-mixed). The draw stays, so the trees keep their shape.
        legacy = cls in (MYSQL, MARIADB) and rng.random() < 0.05 and cls == MYSQL
        delim = "_" if rng.random() < 0.02 else "."
        base = table.replace("-", "")
        prefix = f"{ns['name']}{delim}{base}{serial}"
        db_host = ("mariadb" if cls == MARIADB else "postgres" if cls == POSTGRES else "mysql") + \
            f"-{serial % 7}.{ns['name']}.svc"
        config = {}
        meta = {"name": name, "namespace": ns["name"],
                "labels": {"strimzi.io/cluster": ns["connect"]["metadata"]["name"],
                           "app.kubernetes.io/part-of": ns["name"]}}
        c = {"apiVersion": api, "kind": "KafkaConnector", "metadata": meta,
             "spec": {"class": cls, "tasksMax": 1, "config": config}}
        info = {"key": f"{ns['name']}/{name}", "class": cls, "prefix": prefix, "delim": delim,
                "history": None, "server_id": None, "obj": c}
        if cls in (MYSQL, MARIADB):
            sid = self.take_id(ns["team"])
            info["server_id"] = sid
            history = f"schema-history.{prefix}" if not legacy else f"dbhistory.{prefix}"
            info["history"] = history
            config.update({
                "database.hostname": db_host,
                "database.port": 3306,
                "database.user": "debezium",
                "database.password": f"${{secrets:{ns['name']}/{ns['name']}-db:password}}",
                "database.server.id": sid if rng.random() < 0.5 else str(sid),
            })
            if legacy:
                config["database.server.name"] = prefix
                config["database.whitelist"] = base
                config["database.history.kafka.bootstrap.servers"] = ns["kafka"]
                config["database.history.kafka.topic"] = history
            else:
                config["topic.prefix"] = prefix
                if delim != ".":
                    config["topic.delimiter"] = delim
                config["database.include.list"] = base
                config["schema.history.internal.kafka.bootstrap.servers"] = ns["kafka"]
                config["schema.history.internal.kafka.topic"] = history
            config["snapshot.mode"] = rng.choice(["initial", "when_needed", "schema_only"])
            config["include.schema.changes"] = rng.choice(["true", "false"])
            self.register(ns, info)
        elif cls == POSTGRES:
            config.update({
                "database.hostname": db_host, "database.port": 5432, "database.user": "debezium",
                "database.password": f"${{secrets:{ns['name']}/{ns['name']}-pg:password}}",
                "database.dbname": base, "plugin.name": "pgoutput",
                "slot.name": f"debezium_{base}{serial}", "topic.prefix": prefix,
            })
            if delim != ".":
                config["topic.delimiter"] = delim
        else:
            config.update({"topics": f"{ns['name']}.{base}{serial}", "tasks.max": 2,
                           "topic.prefix": f"{ns['name']}.{base}"})  # not Debezium: ignored
        return info

    def register(self, ns, info):
        """The registry's record of a deployed MySQL/MariaDB connector."""
        rng = self.rng
        r = rng.random()
        owner = ns["team"]["name"] if ns["team"] else "platform"
        db = info["obj"]["spec"]["config"].get("database.include.list") or \
            info["obj"]["spec"]["config"].get("database.whitelist")
        entry = {"connector": info["key"], "serverId": info["server_id"], "database": db}
        if r < 0.93:
            entry.update({"status": "Active", "owner": owner,
                          "date": f"20{rng.choice([24, 25, 26])}-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"})
        elif r < 0.95:
            entry.update({"status": "Pending", "owner": owner, "date": NOW,
                          "claimUid": f"{rng.getrandbits(64):016x}", "expiresAt": "2026-11-25T00:05:00Z"})
        else:
            return  # deployed but not registered (requireRegistration is false)
        self.entries.append(entry)

    def make_history(self, ns):
        """Entries for connectors that are not in the tree: planned and retired ones."""
        rng = self.rng
        owner = ns["team"]["name"] if ns["team"] else "platform"
        for k in range(max(1, ns["count"] // 20)):
            # Reserved: documented before deployment.
            sid = self.take_id(ns["team"])
            self.entries.append({"connector": f"{ns['name']}/planned-{k}-cdc", "serverId": sid,
                                 "database": f"planned{k}", "status": "Reserved", "owner": owner,
                                 "date": "2026-11-01"})
        for k in range(max(1, ns["count"] // 15)):
            # Decommissioned long ago (embargo over) or recently (embargoed; nobody uses the id).
            sid = self.take_id(ns["team"])
            recent = rng.random() < 0.2
            gone = f"2026-11-{rng.randint(1, 20):02d}" if recent else f"2025-{rng.randint(1, 12):02d}-15"
            self.entries.append({"connector": f"{ns['name']}/retired-{k}-cdc", "serverId": sid,
                                 "database": f"retired{k}", "status": "Decommissioned", "owner": owner,
                                 "date": "2024-03-01", "decommissionedAt": gone})

    # planted conflicts ---------------------------------------------------------
    def plant(self):
        rng = random.Random(4242)  # independent of the size: the same kinds of conflicts every time
        with_range = [ns for ns in self.namespaces if ns["team"] and ns["team"]["range"]]
        # Victims: MySQL connectors with the standard config, from distinct namespaces.
        pool = []
        for ns in with_range:
            for info in ns["connectors"]:
                cfg = info["obj"]["spec"]["config"]
                if info["class"] == MYSQL and "topic.prefix" in cfg and info["delim"] == ".":
                    pool.append((ns, info))
                    break
        rng.shuffle(pool)
        used_ns = set()

        def pick():
            for ns, info in pool:
                if ns["name"] not in used_ns:
                    used_ns.add(ns["name"])
                    return ns, info
            raise SystemExit("gen_tree: not enough namespaces for the planted conflicts")

        def new_connector(ns, name, server_id, prefix, history, cls=MYSQL):
            cfg = {"database.hostname": f"mysql-pr.{ns['name']}.svc", "database.port": 3306,
                   "database.user": "debezium",
                   "database.password": f"${{secrets:{ns['name']}/{ns['name']}-db:password}}"}
            if server_id is not None:
                cfg["database.server.id"] = server_id
            cfg["topic.prefix"] = prefix
            cfg["database.include.list"] = name.replace("-", "")
            cfg["schema.history.internal.kafka.bootstrap.servers"] = ns["kafka"]
            cfg["schema.history.internal.kafka.topic"] = history
            return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaConnector",
                    "metadata": {"name": name, "namespace": ns["name"],
                                 "labels": {"strimzi.io/cluster": ns["connect"]["metadata"]["name"]}},
                    "spec": {"class": cls, "tasksMax": 1, "config": cfg}}

        def add(ns, obj, rule, victim=None, note=""):
            key = f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            self.planted.append({"connector": key, "rule": rule, "kind": obj["kind"], "note": note})
            if victim:
                self.victims.add(victim)
            self.extra_files.append((ns["name"], f"pr-{obj['metadata']['name']}.yaml", [obj], note))

        def fresh_prefix(ns, tag):
            return f"{ns['name']}.{tag}"

        # 1-2. duplicate server id with a deployed connector (same team range).
        for k in range(2):
            ns, v = pick()
            name = f"copy{k}-cdc"
            add(ns, new_connector(ns, name, v["server_id"], fresh_prefix(ns, f"copy{k}"),
                                  f"schema-history.{ns['name']}.copy{k}"),
                "server-id-duplicate", v["key"], f"server.id copied from {v['key']}")
        # 3. id held by a Reserved registry entry of a planned connector.
        ns, v = pick()
        planned = next(e for e in self.entries if e["status"] == "Reserved"
                       and e["connector"].startswith(ns["name"] + "/"))
        add(ns, new_connector(ns, "squatter-cdc", str(planned["serverId"]), fresh_prefix(ns, "squatter"),
                              f"schema-history.{ns['name']}.squatter"),
            "server-id-duplicate", None, f"id of Reserved entry {planned['connector']}")
        # 4. recently decommissioned id (embargoed).
        ns, v = pick()
        sid = self.take_id(ns["team"])
        self.entries.append({"connector": f"{ns['name']}/old-stock-cdc", "serverId": sid,
                             "database": "stock", "status": "Decommissioned", "owner": ns["team"]["name"],
                             "date": "2025-06-01", "decommissionedAt": "2026-11-15"})
        add(ns, new_connector(ns, "reuse-cdc", sid, fresh_prefix(ns, "reuse"),
                              f"schema-history.{ns['name']}.reuse", cls=MARIADB),
            "server-id-embargoed", None, "decommissioned 10 days before --now")
        # 5. a reserved id (the top of the connector's own team range).
        ns = next(ns for ns in with_range if ns["team"] is self.teams[0])
        rid = self.teams[0]["range"][1]
        add(ns, new_connector(ns, "reserved-cdc", rid, fresh_prefix(ns, "reservedid"),
                              f"schema-history.{ns['name']}.reservedid"),
            "server-id-reserved", None, "id in reserved")
        # 6. an id from another team's range.
        ns, v = pick()
        other = next(t for t in self.teams if t["range"] and t is not ns["team"])
        stray = other["range"][0] + TEAM_WIDTH // 2
        self.used_ids.add(stray)
        add(ns, new_connector(ns, "stray-cdc", stray, fresh_prefix(ns, "stray"),
                              f"schema-history.{ns['name']}.stray"),
            "server-id-outside-team-range", None, f"id from {other['name']}'s range")
        # 7. no server id at all (autoAssign is false in this registry).
        ns, v = pick()
        add(ns, new_connector(ns, "noid-cdc", None, fresh_prefix(ns, "noid"),
                              f"schema-history.{ns['name']}.noid"),
            "server-id-missing", None, "no database.server.id")
        # 8. shared schema history topic.
        ns, v = pick()
        add(ns, new_connector(ns, "shared-history-cdc", self.take_id(ns["team"]),
                              fresh_prefix(ns, "sharedhist"), v["history"]),
            "schema-history-topic-shared", v["key"], f"history topic of {v['key']}")
        # 9. history topic inside another connector's data-topic namespace.
        ns, v = pick()
        add(ns, new_connector(ns, "collide-cdc", self.take_id(ns["team"]), fresh_prefix(ns, "collide"),
                              v["prefix"] + ".schema-changes"),
            "schema-history-topic-collides", v["key"], f"inside {v['prefix']}.*")
        # 10. the same topic prefix.
        ns, v = pick()
        add(ns, new_connector(ns, "same-prefix-cdc", self.take_id(ns["team"]), v["prefix"],
                              f"schema-history.{ns['name']}.sameprefix"),
            "topic-prefix-duplicate", v["key"], f"prefix of {v['key']}")
        # 11. prefix overlap (shop vs shop.orders), a warning per rules.enforcement.
        ns, v = pick()
        add(ns, new_connector(ns, "overlap-cdc", self.take_id(ns["team"]), v["prefix"] + ".archive",
                              f"schema-history.{ns['name']}.overlap"),
            "topic-prefix-overlap", v["key"], f"{v['prefix']}.archive extends {v['prefix']}")
        # 12. prefix overlap covered by an exception (exempted, not reported).
        ns, v = pick()
        obj = new_connector(ns, "migrating-cdc", self.take_id(ns["team"]), v["prefix"] + ".v2",
                            f"schema-history.{ns['name']}.migrating")
        key = f"{ns['name']}/migrating-cdc"
        self.exceptions.append({"connector": key, "rules": ["topic-prefix-overlap"],
                                "reason": "migrating to a new prefix", "until": "2027-01-31"})
        self.exceptions.append({"connector": v["key"], "rules": ["topic-prefix-overlap"],
                                "reason": "migrating to a new prefix", "until": "2027-01-31"})
        self.extra_files.append((ns["name"], "pr-migrating-cdc.yaml", [obj], "exempted prefix overlap"))
        self.victims.add(v["key"])  # its own overlap finding is exempted too
        # 13. two Connect clusters on one Kafka with the same group.id.
        a = with_range[0]
        b = next(ns for ns in with_range if ns["kafka"] == a["kafka"] and ns is not a)
        connect = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaConnect",
                   "metadata": {"name": "analytics-connect", "namespace": b["name"]},
                   "spec": {"replicas": 1, "bootstrapServers": a["kafka"],
                            "config": {"group.id": a["connect"]["metadata"]["name"],
                                       "offset.storage.topic": f"{b['name']}-analytics-offsets",
                                       "config.storage.topic": f"{b['name']}-analytics-configs",
                                       "status.storage.topic": f"{b['name']}-analytics-status"}}}
        self.planted.append({"connector": f"{b['name']}/analytics-connect", "rule": "connect-group-id-duplicate",
                             "kind": "KafkaConnect", "note": f"group.id of {a['name']}'s cluster"})
        self.victims.add(f"{a['name']}/{a['connect']['metadata']['name']}")
        self.extra_files.append((b["name"], "pr-analytics-connect.yaml", [connect], "duplicate group.id"))

    # writing -------------------------------------------------------------------
    def write(self, out):
        rng = random.Random(self.n * 7919 + 17)
        tmp = out + ".tmp"
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
        root = os.path.join(tmp, "manifests", "namespaces")
        stats = {"files": 0, "yaml_multi": 0, "yaml_single": 0, "yaml_list": 0, "json": 0, "json_list": 0}
        for ns in self.namespaces:
            d = os.path.join(root, ns["name"])
            os.makedirs(os.path.join(d, "connectors"))
            with open(os.path.join(d, "kustomization.yaml"), "w") as f:
                f.write(yaml_block({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                                    "namespace": ns["name"], "resources": ["connect.yaml", "connectors/"]}) + "\n")
            with open(os.path.join(d, "connect.yaml"), "w") as f:
                metrics = {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "connect-metrics", "namespace": ns["name"]},
                           "data": {"metrics-config.yml": "lowercaseOutputName: true"}}
                f.write(f"# Kafka Connect cluster of {ns['name']}\n---\n" + yaml_block(ns["connect"]) +
                        "\n---\n" + yaml_block(metrics) + "\n")
            stats["files"] += 2
            conns = ns["connectors"]
            i = 0
            part = 0
            while i < len(conns):
                size = rng.choice([1, 1, 2, 3, 3, 4, 5])
                chunk = [c["obj"] for c in conns[i:i + size]]
                i += size
                r = rng.random()
                stem = os.path.join(d, "connectors", f"{part:03d}-{chunk[0]['metadata']['name']}")
                part += 1
                if r < 0.10:
                    if len(chunk) == 1:
                        text, path = json.dumps(chunk[0], indent=2), stem + ".json"
                        stats["json"] += 1
                    else:
                        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": chunk}, indent=2)
                        path = stem + ".json"
                        stats["json_list"] += 1
                elif r < 0.20 and len(chunk) > 1:
                    text = yaml_block({"apiVersion": "v1", "kind": "List", "items": chunk})
                    path = stem + ".yaml"
                    stats["yaml_list"] += 1
                elif len(chunk) == 1:
                    text = yaml_block(chunk[0])
                    path = stem + (".yml" if r < 0.5 else ".yaml")
                    stats["yaml_single"] += 1
                else:
                    docs = [yaml_block(o) for o in chunk]
                    if r < 0.3:  # a Secret travels with the connectors now and then
                        docs.append(yaml_block({"apiVersion": "v1", "kind": "Secret",
                                                "metadata": {"name": f"{ns['name']}-db", "namespace": ns["name"]},
                                                "type": "Opaque", "stringData": {"password": "s3cr3t"}}))
                    text = f"# connectors of {ns['name']}\n---\n" + "\n---\n".join(docs)
                    path = stem + ".yaml"
                    stats["yaml_multi"] += 1
                with open(path, "w") as f:
                    f.write(text + "\n")
                stats["files"] += 1
        for ns_name, filename, objs, note in self.extra_files:
            with open(os.path.join(root, ns_name, filename), "w") as f:
                f.write(f"# planted conflict: {note}\n" + "\n---\n".join(yaml_block(o) for o in objs) + "\n")
            stats["files"] += 1

        with open(os.path.join(tmp, "registry.yaml"), "w") as f:
            f.write(self.registry_text())
        n_connectors = self.total_connectors()
        expected = {
            "generator_version": GENERATOR_VERSION,
            "connectors": n_connectors,
            "namespaces": len(self.namespaces),
            "teams": len(self.teams),
            "connect_clusters": len(self.namespaces) + 1,
            "registry_entries": len(self.entries),
            "stats": stats,
            "planted": self.planted,
            "victims": sorted(self.victims),
            "exempted": [x["connector"] for x in self.exceptions],
        }
        with open(os.path.join(tmp, "expected.json"), "w") as f:
            json.dump(expected, f, indent=2)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
        return expected

    def total_connectors(self):
        return sum(len(ns["connectors"]) for ns in self.namespaces) + \
            sum(1 for _, _, objs, _ in self.extra_files for o in objs if o["kind"] == "KafkaConnector")

    def registry_text(self):
        lines = [
            f"# Generated by bench/gen_tree.py (v{GENERATOR_VERSION}) for {self.total_connectors()} connectors.",
            "rules:",
            f"  range: {{from: {REGISTRY_RANGE[0]}, to: {REGISTRY_RANGE[1]}}}",
            "  embargoDays: 30",
            "  requireRegistration: false",
            "  allowPlaceholders: false",
            "  autoAssign: false",
            '  schemaHistoryTopicTemplate: "schema-history.{prefix}"',
            "  enforcement: {topic-prefix-overlap: warn}",
            "exceptions:",
        ]
        for x in self.exceptions:
            lines.append(f"  - {{connector: {x['connector']}, rules: [{', '.join(x['rules'])}], "
                         f"reason: {json.dumps(x['reason'])}, until: {x['until']}}}")
        lines.append("teams:")
        for t in self.teams:
            lines.append(f"  - name: {t['name']}")
            lines.append(f"    namespaces: [{', '.join(t['namespaces'])}]")
            if t["range"]:
                lines.append(f"    range: {{from: {t['range'][0]}, to: {t['range'][1]}}}")
        lines.append("reserved:")
        for rid, reason in self.reserved:
            lines.append(f"  - {{serverId: {rid}, reason: {json.dumps(reason)}}}")
        lines.append("entries:")
        for e in self.entries:
            lines.append("  - " + flow_map(e))
        return "\n".join(lines) + "\n"


def write_stress(kind, count, path):
    """One file of `count` objects that all clash with each other (worst cases for the indexes).

    same-id:        KafkaConnectors that share one server id and one schema history topic
                    (a copy-paste error repeated across a repository)
    shared-kafka:   KafkaConnects, each with its own group.id and topics, all on one Kafka
    dot-underscore: KafkaConnectors with prefixes (and history topics) of their own, but in
                    half of them pairs that differ only in '.' versus '_' (topic-name-collision)
    """
    docs = []
    for i in range(count):
        if kind == "dot-underscore":
            if i < count // 2:
                prefix = f"shop{i // 2}" + ("." if i % 2 == 0 else "_") + "orders"
            else:
                prefix = f"solo{i}.orders"
            docs.append(yaml_block({
                "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaConnector",
                "metadata": {"name": f"fold-{i}-cdc", "namespace": f"ns-{i % 50:02d}"},
                "spec": {"class": MYSQL, "tasksMax": 1, "config": {
                    "database.hostname": f"mysql-{i}.shared.svc", "database.server.id": 1 + i,
                    "topic.prefix": prefix, "database.include.list": "orders",
                    "schema.history.internal.kafka.topic": f"schema-history.{prefix}"}}}))
        elif kind == "same-id":
            docs.append(yaml_block({
                "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaConnector",
                "metadata": {"name": f"copy-{i}-cdc", "namespace": f"ns-{i % 50:02d}"},
                "spec": {"class": MYSQL, "tasksMax": 1, "config": {
                    "database.hostname": "mysql.shared.svc", "database.server.id": 184001,
                    "topic.prefix": f"copy{i}", "schema.history.internal.kafka.topic": "schema-history.shared"}}}))
        else:
            docs.append(yaml_block({
                "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaConnect",
                "metadata": {"name": "connect", "namespace": f"ns-{i:05d}"},
                "spec": {"replicas": 1, "bootstrapServers": "kafka-kafka-bootstrap.kafka.svc:9092", "config": {
                    "group.id": f"ns-{i:05d}-connect", "offset.storage.topic": f"ns-{i:05d}-offsets",
                    "config.storage.topic": f"ns-{i:05d}-configs",
                    "status.storage.topic": f"ns-{i:05d}-status"}}}))
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("---\n" + "\n---\n".join(docs) + "\n")


def server_side(obj, serial):
    """`obj` as the API server returns it: uid, resourceVersion, managedFields, status."""
    kind = obj["kind"]
    spec, meta = obj["spec"], obj["metadata"]
    stamp = f"2026-{1 + serial % 9:02d}-{1 + serial % 27:02d}T{serial % 24:02d}:{serial % 60:02d}:00Z"
    fields = {"f:metadata": {"f:annotations" if "annotations" in meta else "f:labels": {".": {}}},
              "f:spec": {".": {}, **{"f:" + k: {} for k in spec if k != "config"},
                         "f:config": {".": {}, **{"f:" + k: {} for k in spec.get("config", {})}}}}
    out = {"apiVersion": obj["apiVersion"], "kind": kind, "metadata": {
        **meta, "creationTimestamp": stamp, "generation": 1 + serial % 3,
        "managedFields": [
            {"apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": fields,
             "manager": "kubectl-client-side-apply", "operation": "Update", "time": stamp},
            {"apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {
                ".": {}, "f:conditions": {}, "f:observedGeneration": {},
                **({"f:connectorStatus": {".": {}, "f:connector": {".": {}, "f:state": {}, "f:worker_id": {}},
                                          "f:name": {}, "f:tasks": {}, "f:type": {}}, "f:tasksMax": {}, "f:topics": {}}
                   if kind == "KafkaConnector" else {"f:labelSelector": {}, "f:replicas": {}, "f:url": {}})}},
             "manager": "strimzi-cluster-operator", "operation": "Update", "subresource": "status", "time": stamp}],
        "resourceVersion": str(1000000 + serial), "uid": f"{serial:08x}-6c1e-4d2b-9a57-{serial * 7919 % 10**12:012d}"},
        "spec": spec}
    ready = {"lastTransitionTime": stamp, "status": "True", "type": "Ready"}
    if kind == "KafkaConnector":
        name = meta["name"]
        out["status"] = {"conditions": [ready], "connectorStatus": {
            "connector": {"state": "RUNNING", "worker_id": f"10.0.{serial % 250}.{serial % 200}:8083"},
            "name": name, "tasks": [{"id": 0, "state": "RUNNING", "worker_id": f"10.0.{serial % 250}.{serial % 200}:8083"}],
            "type": "source"}, "observedGeneration": 1, "tasksMax": 1,
            "topics": [f"{name}.heartbeat", f"{name}.schema-changes"]}
    else:
        out["status"] = {"conditions": [ready], "labelSelector": "strimzi.io/cluster=" + meta["name"],
                         "observedGeneration": 1, "replicas": spec.get("replicas", 1),
                         "url": f"http://{meta['name']}-connect-api.{meta['namespace']}.svc:8083"}
    return out


def write_big(shape, size, out):
    """One manifest file of at most `size` bytes plus its registry, in directory `out`.

    The objects are those of an estate (every KafkaConnect and KafkaConnector),
    as the API server returns them: with uid, resourceVersion, managedFields and
    status, so about 2.5 kB of YAML per connector.
    list:   `kubectl get kafkaconnects,kafkaconnectors -A -o yaml`: one `kind: List`
            (keys sorted as kubectl prints them, so `items` comes before `kind`)
    stream: the same objects as a multi-document YAML stream

    Writes out/<shape>.yaml and out/registry.yaml. No conflicts are planted:
    `check --registry out/registry.yaml --now 2026-11-25T00:00:00Z` finds
    nothing and exits 0. Deterministic for a given shape and size.
    """
    per_connector = 2500  # bytes of YAML per connector, about
    est = Estate(max(300, size // per_connector + 100), 1)
    est.build()
    header = f"# Generated by bench/gen_tree.py --big {shape} --bytes {size}\n"
    trailer = ""
    if shape == "list":
        header += "apiVersion: v1\nitems:\n"
        trailer = "kind: List\nmetadata:\n  resourceVersion: \"\"\n"
    chunks, used, count, serial = [header], len(header) + len(trailer), 0, 0
    objects = (o for ns in est.namespaces for o in [ns["connect"]] + [i["obj"] for i in ns["connectors"]])
    for obj in objects:
        obj = server_side(obj, serial)
        serial += 1
        text = (yaml_block([obj]) if shape == "list" else "---\n" + yaml_block(obj)) + "\n"
        if used + len(text) > size:
            break
        chunks.append(text)
        used += len(text)
        count += obj["kind"] == "KafkaConnector"
    chunks.append(trailer)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, shape + ".yaml"), "w") as f:
        f.write("".join(chunks))
    with open(os.path.join(out, "registry.yaml"), "w") as f:
        f.write(est.registry_text())
    print(f"{out}/{shape}.yaml: {used} bytes, {count} connectors", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connectors", type=int,
                    help="KafkaConnectors in the tree (>= 300); with --stress, objects in the file")
    ap.add_argument("--out", required=True, help="output directory (replaced); with --stress, the file")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--stress", choices=["same-id", "shared-kafka", "dot-underscore"],
                    help="write one worst-case file instead of a tree (see write_stress)")
    ap.add_argument("--big", choices=["list", "stream"],
                    help="write one big file of --bytes instead of a tree (see write_big); --out is a directory")
    ap.add_argument("--bytes", type=int, default=60_000_000, help="with --big: the file's size (default 60000000)")
    args = ap.parse_args()
    if args.big:
        write_big(args.big, args.bytes, args.out)
        return
    if args.connectors is None:
        ap.error("--connectors is required (unless --big)")
    if args.stress:
        write_stress(args.stress, args.connectors, args.out)
        return
    if args.connectors < 300:
        ap.error("--connectors must be at least 300 (the planted conflicts need victims)")
    est = Estate(args.connectors - 12, args.seed)  # 12 planted KafkaConnectors come on top
    est.build()
    est.plant()
    exp = est.write(args.out)
    print(f"{args.out}: {exp['connectors']} connectors, {exp['connect_clusters']} KafkaConnects, "
          f"{exp['namespaces']} namespaces, {exp['teams']} teams, {exp['stats']['files']} files, "
          f"{exp['registry_entries']} registry entries", file=sys.stderr)


if __name__ == "__main__":
    main()
