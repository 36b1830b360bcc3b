#include "cdcguard/model/registry_writer.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>

#include "cdcguard/model/display_text.hpp"
#include "cdcguard/model/registry_parser.hpp"

namespace cdcguard {
namespace {

void emit_range(YAML::Emitter& out, const IdRange& r) {
  out << YAML::Flow << YAML::BeginMap << YAML::Key << "from" << YAML::Value << r.from << YAML::Key << "to"
      << YAML::Value << r.to << YAML::EndMap;
}

// Text that the reader would take for null, or that YAML would not keep as
// written, is double-quoted.
void emit_text(YAML::Emitter& out, const std::string& s) {
  const bool risky = s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL" ||
                     s.find_first_of(":#{}[],&*!|>'\"%@`\n") != std::string::npos || s.front() == ' ' ||
                     s.back() == ' ' || s.front() == '-' || s.front() == '?';
  if (risky) out << YAML::DoubleQuoted;
  out << s;
}

std::vector<const RegistryEntry*> sorted_entries(const Registry& r) {
  std::vector<const RegistryEntry*> v;
  v.reserve(r.entries.size());
  for (const auto& e : r.entries) v.push_back(&e);
  std::stable_sort(v.begin(), v.end(), [](const RegistryEntry* a, const RegistryEntry* b) {
    if (a->server_id != b->server_id) return a->server_id < b->server_id;
    return a->connector < b->connector;
  });
  return v;
}

// A line break becomes a space; other control characters are escaped
// (escape_for_display), as the table is printed.
std::string md_cell(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::string out;
  for (const char c : escape_for_display(s)) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

void emit_entry(YAML::Emitter& out, const RegistryEntry& e) {
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "connector" << YAML::Value;
  emit_text(out, e.connector);
  out << YAML::Key << "serverId" << YAML::Value << e.server_id;
  if (!e.database.empty()) {
    out << YAML::Key << "database" << YAML::Value;
    emit_text(out, e.database);
  }
  out << YAML::Key << "status" << YAML::Value << std::string(to_string(e.status));
  if (!e.owner.empty()) {
    out << YAML::Key << "owner" << YAML::Value;
    emit_text(out, e.owner);
  }
  if (e.date) out << YAML::Key << "date" << YAML::Value << format_date(*e.date);
  const auto field = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    out << YAML::Key << key << YAML::Value;
    emit_text(out, value);
  };
  field("topicPrefix", e.topic_prefix);
  if (e.delimiter() != ".") field("topicDelimiter", e.topic_delimiter);
  field("schemaHistoryTopic", e.schema_history_topic);
  field("cluster", e.cluster);
  field("uid", e.uid);
  if (e.decommissioned_at) {
    const TimePoint at = *e.decommissioned_at;
    out << YAML::Key << "decommissionedAt" << YAML::Value
        << (at == TimePoint{date_of(at)} ? format_date(date_of(at)) : format_timestamp(at));
  }
  if (!e.claim_uid.empty()) {
    out << YAML::Key << "claimUid" << YAML::Value;
    emit_text(out, e.claim_uid);
  }
  if (e.expires_at) out << YAML::Key << "expiresAt" << YAML::Value << format_timestamp(*e.expires_at);
  out << YAML::EndMap;
}

// Text the emitter writes plain and unchanged: Kubernetes names, uids,
// database names. Starts with a letter or digit; "null" and friends are
// letters only and not in the first set of emit_text's exceptions otherwise.
// ASCII only, whatever the locale (std::isalnum asks the locale, per
// character, and every claim writes every entry).
bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool plain_text(const std::string& t) {
  if (t.empty() || !ascii_alnum(t.front())) return false;
  if (t == "null" || t == "Null" || t == "NULL") return false;
  return std::all_of(t.begin(), t.end(),
                     [](char c) { return ascii_alnum(c) || c == '-' || c == '_' || c == '.' || c == '/'; });
}

// emit_entry's output for an entry whose texts are all plain_text; false (and
// nothing appended) otherwise.
bool plain_entry(const RegistryEntry& e) {
  return plain_text(e.connector) && (e.database.empty() || plain_text(e.database)) &&
         (e.owner.empty() || plain_text(e.owner)) && (e.claim_uid.empty() || plain_text(e.claim_uid)) &&
         (e.topic_prefix.empty() || plain_text(e.topic_prefix)) &&
         (e.delimiter() == "." || plain_text(e.topic_delimiter)) &&
         (e.schema_history_topic.empty() || plain_text(e.schema_history_topic)) &&
         (e.cluster.empty() || plain_text(e.cluster)) && (e.uid.empty() || plain_text(e.uid));
}

bool append_plain_entry(std::string& s, const RegistryEntry& e) {
  if (!plain_entry(e)) return false;
  s += "{connector: ";
  s += e.connector;
  s += ", serverId: ";
  s += std::to_string(e.server_id);
  if (!e.database.empty()) {
    s += ", database: ";
    s += e.database;
  }
  s += ", status: ";
  s += to_string(e.status);
  if (!e.owner.empty()) {
    s += ", owner: ";
    s += e.owner;
  }
  if (e.date) {
    s += ", date: ";
    s += format_date(*e.date);
  }
  const auto field = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    s += ", ";
    s += key;
    s += ": ";
    s += value;
  };
  field("topicPrefix", e.topic_prefix);
  if (e.delimiter() != ".") field("topicDelimiter", e.topic_delimiter);
  field("schemaHistoryTopic", e.schema_history_topic);
  field("cluster", e.cluster);
  field("uid", e.uid);
  if (e.decommissioned_at) {
    const TimePoint at = *e.decommissioned_at;
    s += ", decommissionedAt: ";
    s += at == TimePoint{date_of(at)} ? format_date(date_of(at)) : format_timestamp(at);
  }
  if (!e.claim_uid.empty()) {
    s += ", claimUid: ";
    s += e.claim_uid;
  }
  if (e.expires_at) {
    s += ", expiresAt: ";
    s += format_timestamp(*e.expires_at);
  }
  s += '}';
  return true;
}

// The registry as YAML, and where its parts are: `head_size` is the length of
// everything before the entries (rules, exceptions, teams, reserved: written
// by yaml-cpp's emitter), `emitted` the entries that went through the emitter
// too because a text is not plain; the other entries are plain by construction.
struct RenderedRegistry {
  std::string text;
  std::size_t head_size = 0;
  struct Emitted {
    const RegistryEntry* entry;
    std::size_t offset;
    std::size_t size;
  };
  std::vector<Emitted> emitted;
};

// With `plain_entries` false only what the emitter writes is rendered (for
// checking it), in the order of r.entries.
RenderedRegistry render(const Registry& r, bool plain_entries = true) {
  RenderedRegistry rendered;
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;

  out << YAML::Key << "rules" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "range" << YAML::Value;
  emit_range(out, r.rules.range);
  out << YAML::Key << "embargoDays" << YAML::Value << r.rules.embargo_days;
  if (r.rules.history_days) out << YAML::Key << "historyDays" << YAML::Value << *r.rules.history_days;
  out << YAML::Key << "requireRegistration" << YAML::Value << r.rules.require_registration;
  out << YAML::Key << "allowPlaceholders" << YAML::Value << r.rules.allow_placeholders;
  out << YAML::Key << "autoAssign" << YAML::Value << r.rules.auto_assign;
  if (!r.rules.schema_history_topic_template.empty()) {
    out << YAML::Key << "schemaHistoryTopicTemplate" << YAML::Value;
    emit_text(out, r.rules.schema_history_topic_template);
  }
  if (!r.rules.enforcement.empty()) {
    out << YAML::Key << "enforcement" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [rule_id, action] : r.rules.enforcement) {
      out << YAML::Key << rule_id << YAML::Value << std::string(to_string(action));
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  if (!r.exceptions.empty()) {
    out << YAML::Key << "exceptions" << YAML::Value << YAML::BeginSeq;
    for (const auto& x : r.exceptions) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "connector" << YAML::Value;
      emit_text(out, x.connector);
      out << YAML::Key << "rules" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& id : x.rules) emit_text(out, id);
      out << YAML::EndSeq;
      if (!x.reason.empty()) {
        out << YAML::Key << "reason" << YAML::Value;
        emit_text(out, x.reason);
      }
      if (x.until) out << YAML::Key << "until" << YAML::Value << format_date(*x.until);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  if (!r.teams.empty()) {
    out << YAML::Key << "teams" << YAML::Value << YAML::BeginSeq;
    for (const auto& t : r.teams) {
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value;
      emit_text(out, t.name);
      out << YAML::Key << "namespaces" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& ns : t.namespaces) emit_text(out, ns);
      out << YAML::EndSeq;
      if (t.range) {
        out << YAML::Key << "range" << YAML::Value;
        emit_range(out, *t.range);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  if (!r.reserved.empty()) {
    std::vector<const Reservation*> reserved;
    for (const auto& x : r.reserved) reserved.push_back(&x);
    std::stable_sort(reserved.begin(), reserved.end(),
                     [](const Reservation* a, const Reservation* b) { return a->server_id < b->server_id; });
    out << YAML::Key << "reserved" << YAML::Value << YAML::BeginSeq;
    for (const auto* x : reserved) {
      out << YAML::Flow << YAML::BeginMap << YAML::Key << "serverId" << YAML::Value << x->server_id;
      if (!x->reason.empty()) {
        out << YAML::Key << "reason" << YAML::Value;
        emit_text(out, x->reason);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  if (r.entries.empty()) {
    const std::size_t head_size = out.size();
    out << YAML::Key << "entries" << YAML::Value << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    out << YAML::EndMap;
    rendered.text = out.c_str();
    rendered.text += '\n';
    rendered.head_size = head_size;
    return rendered;
  }
  out << YAML::EndMap;
  // The entries are most of the text and the webhook writes the whole
  // registry on every claim, so they are written directly: yaml-cpp's emitter
  // costs about 25 us per entry. An entry with any text outside the plain
  // alphabet below goes through the emitter, so the output is the same.
  std::string& s = rendered.text;
  s = out.c_str();
  s += '\n';
  rendered.head_size = s.size();
  s += "entries:\n";
  const auto emit = [&](const RegistryEntry& e) {
    YAML::Emitter one;
    emit_entry(one, e);
    rendered.emitted.push_back({&e, s.size(), one.size()});
    s += one.c_str();
  };
  if (!plain_entries) {
    for (const auto& e : r.entries) {
      if (plain_entry(e)) continue;
      s += "  - ";
      emit(e);
      s += '\n';
    }
    return rendered;
  }
  s.reserve(s.size() + r.entries.size() * 140);
  for (const auto* e : sorted_entries(r)) {
    s += "  - ";
    if (!append_plain_entry(s, *e)) emit(*e);
    s += '\n';
  }
  return rendered;
}

}  // namespace

std::string render_registry_yaml(const Registry& r) {
  return render(r).text;
}

std::vector<std::string> registry_write_problems(const Registry& r) {
  // The values and the consistency, as the parser judges them, on the struct:
  // parsing the whole text would cost several times the rendering.
  std::vector<std::string> problems = registry_problems(r);
  if (!problems.empty()) return problems;
  // Whether every text survives YAML (invalid UTF-8, a DEL byte, ...) is
  // proven by parsing back whatever the emitter writes: the head, and the
  // entries with a text outside the plain alphabet. Plain entries are written
  // in a form the parser reads by construction.
  const RenderedRegistry rendered = render(r, /*plain_entries=*/false);
  const auto read_back = [&](std::string_view text, const std::string& what) {
    try {
      parse_registry(text, what);
    } catch (const RegistryError& e) {
      for (const auto& p : e.problems()) {
        // "what:LINE: message": the line is in a text that is never stored.
        const std::size_t after = p.find(": ", what.size());
        problems.push_back(
            what + " cannot be read back: " +
            (p.starts_with(what + ":") && after != std::string::npos ? p.substr(after + 2) : p));
      }
    }
  };
  read_back(std::string_view(rendered.text).substr(0, rendered.head_size),
            "the rules, exceptions, teams and reservations");
  for (const auto& emitted : rendered.emitted) {
    std::string one = "entries:\n  - ";
    one.append(rendered.text, emitted.offset, emitted.size);
    one += '\n';
    read_back(one, "entry " + emitted.entry->connector);
  }
  return problems;
}

std::string render_checked_registry_yaml(const Registry& r) {
  std::vector<std::string> problems = registry_write_problems(r);
  if (!problems.empty())
    throw RegistryError("refusing to write a registry that could not be read back", std::move(problems));
  return render_registry_yaml(r);
}

std::string render_checked_entries_yaml(const Registry& r) {
  std::vector<std::string> problems = registry_write_problems(r);
  if (!problems.empty())
    throw RegistryError("refusing to write entries that could not be read back", std::move(problems));
  if (r.entries.empty()) return "entries: []\n";
  RenderedRegistry rendered = render(r);
  return rendered.text.substr(rendered.head_size);
}

std::string render_registry_markdown(const Registry& r) {
  std::ostringstream md;
  md << "# Debezium MySQL/MariaDB server-id registry\n\n";
  md << "Allocation rules:\n\n";
  md << "- Every `database.server.id` comes from **" << r.rules.range.str()
     << "** and belongs to exactly one connector.\n";
  for (const auto& t : r.teams) {
    md << "- Team **" << md_cell(t.name) << "**";
    if (!t.namespaces.empty()) {
      md << " (namespaces ";
      for (std::size_t i = 0; i < t.namespaces.size(); ++i)
        md << (i ? ", " : "") << "`" << escape_for_display(t.namespaces[i]) << "`";
      md << ")";
    }
    md << (t.range ? " takes ids from " + t.range->str() : std::string(" takes ids from the global range"))
       << ".\n";
  }
  if (!r.reserved.empty()) {
    md << "- Reserved, never assigned:";
    for (std::size_t i = 0; i < r.reserved.size(); ++i) {
      md << (i ? "," : "") << " " << r.reserved[i].server_id;
      if (!r.reserved[i].reason.empty()) md << " (" << md_cell(r.reserved[i].reason) << ")";
    }
    md << ".\n";
  }
  md << "- A decommissioned id rests for " << r.rules.embargo_days
     << " days before it may be reused (its old replication session can linger).\n";
  if (r.rules.history_days)
    md << "- Decommissioned entries are kept as history for " << *r.rules.history_days << " days.\n";
  md << "- The next id is the lowest one in the team's range (else the global range) that no connector, no "
        "live entry, no reservation and no embargo holds.\n";
  if (r.rules.require_registration)
    md << "- An id must be registered here before the connector is deployed.\n";
  md << "\n| Connector Name | Server ID | Database | Status | Owner | Date |\n";
  md << "|---|---|---|---|---|---|\n";
  for (const auto* e : sorted_entries(r)) {
    md << "| " << md_cell(e->connector) << " | " << e->server_id << " | " << md_cell(e->database) << " | "
       << to_string(e->status);
    if (e->status == EntryStatus::Decommissioned && e->decommissioned_at) {
      md << " " << format_date(date_of(*e->decommissioned_at));
    }
    md << " | " << md_cell(e->owner) << " | " << (e->date ? format_date(*e->date) : "") << " |\n";
  }
  return md.str();
}

}  // namespace cdcguard
