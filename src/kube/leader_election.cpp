#include "cdcguard/kube/leader_election.hpp"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <sstream>
#include <stdexcept>

namespace cdcguard::kube {
namespace {

using json = nlohmann::json;
using Clock = MonotonicClock;

// client-go's wait.Jitter factor for a candidate's retries.
constexpr double kJitterFactor = 1.2;
// A release that meets a renewal in flight (409) re-reads and tries again;
// more than a few rounds means something else keeps writing the Lease.
constexpr int kReleaseAttempts = 3;

// metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits.
std::string micro_time(std::chrono::system_clock::time_point at) {
  const auto micros = std::chrono::floor<std::chrono::microseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000 - (micros % 1000000 < 0 ? 1 : 0));
  const long fraction = static_cast<long>(micros - static_cast<long long>(seconds) * 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%06ldZ", date, fraction);
  return out;
}

std::string holder_of(const json& lease) {
  const auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return "";
  const auto holder = spec->find("holderIdentity");
  return holder != spec->end() && holder->is_string() ? holder->get<std::string>() : "";
}

std::int64_t spec_number(const json& lease, const char* field) {
  const auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return 0;
  const auto value = spec->find(field);
  return value != spec->end() && value->is_number_integer() ? value->get<std::int64_t>() : 0;
}

std::string version_of(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto version = metadata->find("resourceVersion");
  return version != metadata->end() && version->is_string() ? version->get<std::string>() : "";
}

std::string describe(const HttpResponse& response) {
  return "HTTP " + std::to_string(response.status) + ": " + status_message(response);
}

}  // namespace

struct LeaderElector::Attempt {
  bool ok = false;
  Clock::time_point sent_at{};  // of the write that succeeded
  std::optional<json> lease;    // what that write stored
  bool held_by_other = false;   // a valid Lease of another holder
  std::string error;

  static Attempt failed(std::string why, bool held = false) {
    Attempt a;
    a.error = std::move(why);
    a.held_by_other = held;
    return a;
  }
};

LeaderElector::LeaderElector(KubeClient& client, LeaderElectionOptions options)
    : client_(client),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : steady_monotonic_clock()),
      lease_seconds_(static_cast<int>(std::min<std::chrono::seconds::rep>(
          std::chrono::floor<std::chrono::seconds>(options_.lease_duration).count(), INT_MAX))) {
  if (options_.namespace_name.empty() || options_.name.empty())
    throw std::invalid_argument("leader election: the Lease's namespace and name are required");
  if (options_.identity.empty()) throw std::invalid_argument("leader election: the identity is empty");
  if (lease_seconds_ < 1)
    throw std::invalid_argument("leader election: the lease duration must be at least 1s");
  if (options_.retry_period.count() <= 0 || options_.renew_deadline.count() <= 0)
    throw std::invalid_argument("leader election: the renew deadline and retry period must be positive");
  // Others take over leaseDurationSeconds (whole seconds) after they last saw
  // a renewal; the leader must have stopped before that.
  if (options_.renew_deadline >= std::chrono::seconds(lease_seconds_))
    throw std::invalid_argument(
        "leader election: the lease duration must be greater than the renew deadline");
  // Otherwise a single slow retry would already miss the deadline.
  if (static_cast<double>(options_.renew_deadline.count()) <=
      kJitterFactor * static_cast<double>(options_.retry_period.count()))
    throw std::invalid_argument("leader election: the renew deadline must be greater than 1.2 retry periods");
}

LeaderElector::~LeaderElector() {
  stop();
}

std::string LeaderElector::collection_path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.namespace_name + "/leases";
}

std::string LeaderElector::lease_path() const {
  return collection_path() + "/" + options_.name;
}

void LeaderElector::note(const std::string& message) {
  if (options_.log)
    options_.log("leader election " + options_.namespace_name + "/" + options_.name + ": " + message);
}

// ---- observing ------------------------------------------------------------------

void LeaderElector::observe(const json& lease) {
  std::string fresh;
  std::scoped_lock callbacks(callback_mutex_);
  {
    std::lock_guard lock(mutex_);
    lease_ = lease;
    // The record's age is measured from when *we* saw it change, on our own
    // clock, never from its renewTime: wall clocks of replicas may disagree.
    // Any write counts as a change (client-go compares only the record; a
    // change of metadata alone makes us wait longer, never shorter).
    const json spec = lease.value("spec", json::object());
    const std::string version = version_of(lease);
    if (spec != observed_spec_ || version != observed_version_) {
      observed_spec_ = spec;
      observed_version_ = version;
      observed_at_ = clock_->now();
    }
    const std::string holder = holder_of(lease);
    stats_.holder = holder;
    if (!holder.empty() && holder != reported_holder_) {
      reported_holder_ = holder;
      ++stats_.transitions_seen;
      fresh = holder;
    }
  }
  if (!fresh.empty() && options_.on_new_leader) options_.on_new_leader(fresh);
}

// ---- one attempt ------------------------------------------------------------------

LeaderElector::Attempt LeaderElector::write(std::string_view method, const std::string& path, json object,
                                            bool leading) {
  const std::string what = method == "POST" ? "creating the Lease"
                           : leading        ? "renewing the Lease"
                                            : "taking the Lease";
  // Sent before the request: the server applies it no earlier, so a term
  // counted from here ends before any other candidate may take over.
  const std::string sent_version = version_of(object);
  const Clock::time_point sent_at = clock_->now();
  HttpResponse response;
  try {
    response = client_.request(method, path, object.dump());
  } catch (const ApiError& e) {
    return Attempt::failed(what + ": " + e.what());
  }
  if (response.status == 409) {
    return Attempt::failed(what + ": another candidate wrote it first (" + describe(response) + ")");
  }
  if (response.status != 200 && response.status != 201)
    return Attempt::failed(what + ": " + describe(response));
  json stored = json::parse(response.body, nullptr, false);
  if (!stored.is_object()) return Attempt::failed(what + ": the answer is not a Lease");
  // The API server stores nothing for an update that changes nothing (same
  // resourceVersion): candidates then see no renewal and may take over, so it
  // is no renewal for us either. Only a wall clock standing still does that.
  if (method == "PUT" && version_of(stored) == sent_version) {
    return Attempt::failed(what +
                           ": the server stored nothing new (renewTime unchanged: is the wall clock stuck?)");
  }
  Attempt a;
  a.ok = true;
  a.sent_at = sent_at;
  a.lease = std::move(stored);
  return a;
}

LeaderElector::Attempt LeaderElector::try_acquire_or_renew(bool leading) {
  const std::string now =
      micro_time(options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now());
  std::optional<json> known;
  {
    std::lock_guard lock(mutex_);
    known = lease_;
  }
  // The leader renews the Lease as it last wrote it: one PUT while nobody
  // else writes. A 409 or any other failure falls back to reading it.
  if (leading && known && holder_of(*known) == options_.identity) {
    json next = *known;
    next["spec"]["leaseDurationSeconds"] = lease_seconds_;
    next["spec"]["renewTime"] = now;
    Attempt renewed = write("PUT", lease_path(), std::move(next), true);
    if (renewed.ok) return renewed;
    note(renewed.error + "; reading the Lease");
  }

  HttpResponse response;
  try {
    response = client_.get(lease_path());
  } catch (const ApiError& e) {
    return Attempt::failed(std::string("reading the Lease: ") + e.what());
  }
  if (response.status == 404) {
    json lease{{"apiVersion", "coordination.k8s.io/v1"},
               {"kind", "Lease"},
               {"metadata", {{"name", options_.name}, {"namespace", options_.namespace_name}}},
               {"spec",
                {{"holderIdentity", options_.identity},
                 {"leaseDurationSeconds", lease_seconds_},
                 {"acquireTime", now},
                 {"renewTime", now},
                 {"leaseTransitions", 0}}}};
    return write("POST", collection_path(), std::move(lease), leading);
  }
  if (response.status != 200) return Attempt::failed("reading the Lease: " + describe(response));
  json lease = json::parse(response.body, nullptr, false);
  if (!lease.is_object()) return Attempt::failed("reading the Lease: the answer is not a Lease");
  observe(lease);

  const std::string holder = holder_of(lease);
  const bool ours = holder == options_.identity;
  if (!holder.empty() && !ours) {
    std::lock_guard lock(mutex_);
    const auto valid_for = std::chrono::seconds(spec_number(lease, "leaseDurationSeconds"));
    if (clock_->now() < observed_at_ + valid_for) {
      return Attempt::failed("the Lease is held by " + holder, true);
    }
  }
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  if (!ours) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec_number(lease, "leaseTransitions") + 1;
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = lease_seconds_;
  spec["renewTime"] = now;
  return write("PUT", lease_path(), std::move(lease), leading);
}

// ---- the election loop ------------------------------------------------------------

void LeaderElector::end_term_if_due() {
  std::scoped_lock callbacks(callback_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!leading_ || clock_->now() < valid_until_) return;
    leading_ = false;
    ++term_;
    changed_.notify_all();
  }
  note("stopped leading: no renewal succeeded within the renew deadline");
  if (options_.on_stopped_leading) options_.on_stopped_leading();
}

Clock::time_point LeaderElector::step() {
  {
    std::lock_guard lock(mutex_);
    if (released_) return clock_->now() + options_.retry_period;
  }
  end_term_if_due();
  bool leading = false;
  {
    std::lock_guard lock(mutex_);
    leading = leading_;
  }
  const Attempt attempt = try_acquire_or_renew(leading);
  if (attempt.ok) observe(*attempt.lease);

  std::function<void()> callback;
  std::string message;
  bool release_now = false;
  Clock::time_point next;
  {
    std::scoped_lock callbacks(callback_mutex_);
    {
      std::lock_guard lock(mutex_);
      const Clock::time_point now = clock_->now();
      if (released_) {
        // release() ran while this attempt was in flight: give back what it won.
        release_now = attempt.ok;
      } else if (attempt.ok && now < attempt.sent_at + options_.renew_deadline) {
        stats_.last_error.clear();
        if (!leading_) {
          leading_ = true;
          ++stats_.terms;
          callback = options_.on_started_leading;
          message = "became leader";
        }
        valid_until_ = attempt.sent_at + options_.renew_deadline;
        ++term_;
        changed_.notify_all();
      } else {
        // A write that took longer than the deadline renews nothing we may
        // count on; the next round renews again.
        stats_.last_error = attempt.ok ? "the write took longer than the renew deadline" : attempt.error;
        ++(leading ? stats_.renew_failures : stats_.acquire_failures);
        // Another holder means the term is over, whatever its deadline says.
        if (leading_ && (attempt.held_by_other || now >= valid_until_)) {
          leading_ = false;
          ++term_;
          changed_.notify_all();
          callback = options_.on_stopped_leading;
          message = "stopped leading: " + stats_.last_error;
        } else if (!attempt.held_by_other) {
          message = stats_.last_error;
        }
      }
      next = now + options_.retry_period;
      if (!leading_) {
        const double fraction = options_.random_fraction ? options_.random_fraction() : [] {
          thread_local std::mt19937 random{std::random_device{}()};
          return std::uniform_real_distribution<double>(0.0, 1.0)(random);
        }();
        next +=
            std::chrono::duration_cast<Clock::duration>(options_.retry_period * (kJitterFactor * fraction));
      }
    }
    if (!message.empty()) note(message);
    if (callback) callback();
  }
  if (release_now) write_release(*attempt.lease);
  return next;
}

void LeaderElector::run() {
  while (true) {
    const Clock::time_point next = step();
    std::unique_lock lock(mutex_);
    clock_->wait_until(lock, changed_, next, [&] { return released_; });
    if (released_) return;
  }
}

void LeaderElector::watch_deadline() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      const std::uint64_t term = term_;
      // Not leading: nothing to end; wake now and then anyway (a bounded wait
      // keeps clear of time_point::max() arithmetic in the clocks).
      const Clock::time_point deadline = leading_ ? valid_until_ : clock_->now() + std::chrono::hours(1);
      clock_->wait_until(lock, changed_, deadline, [&] { return released_ || term_ != term; });
      if (released_) return;
    }
    end_term_if_due();
  }
}

void LeaderElector::start() {
  std::lock_guard lock(mutex_);
  if (released_ || worker_.joinable()) return;
  worker_ = std::thread([this] { run(); });
  watchdog_ = std::thread([this] { watch_deadline(); });
}

bool LeaderElector::is_leader() const {
  std::lock_guard lock(mutex_);
  return leading_ && clock_->now() < valid_until_;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mutex_);
  return stats_.holder;
}

LeaderElectionStats LeaderElector::stats() const {
  std::lock_guard lock(mutex_);
  LeaderElectionStats copy = stats_;
  copy.leader = leading_ && clock_->now() < valid_until_;
  return copy;
}

std::string LeaderElector::metrics() const {
  const LeaderElectionStats s = stats();
  std::ostringstream out;
  out << "# HELP cdcguard_leader 1 while this replica leads the reconciler (holds the Lease), else 0.\n"
         "# TYPE cdcguard_leader gauge\n"
      << "cdcguard_leader " << (s.leader ? 1 : 0) << "\n"
      << "# HELP cdcguard_leader_transitions_total Changes of the Lease holder this replica has seen.\n"
         "# TYPE cdcguard_leader_transitions_total counter\n"
      << "cdcguard_leader_transitions_total " << s.transitions_seen << "\n"
      << "# HELP cdcguard_leader_renew_failures_total Renewals of the Lease by this replica, as leader, that "
         "failed.\n"
         "# TYPE cdcguard_leader_renew_failures_total counter\n"
      << "cdcguard_leader_renew_failures_total " << s.renew_failures << "\n";
  return out.str();
}

// ---- giving the Lease up ----------------------------------------------------------

bool LeaderElector::write_release(json lease) {
  for (int attempt = 0; attempt < kReleaseAttempts; ++attempt) {
    // Another holder (or nobody) already: nothing of ours to give up.
    if (holder_of(lease) != options_.identity) return true;
    const std::string now =
        micro_time(options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now());
    json& spec = lease["spec"];
    spec["holderIdentity"] = "";
    spec["leaseDurationSeconds"] = 1;
    spec["acquireTime"] = now;
    spec["renewTime"] = now;
    HttpResponse response;
    try {
      response = client_.put(lease_path(), lease.dump());
      if (response.status == 409) response = client_.get(lease_path());  // a renewal landed first
    } catch (const ApiError& e) {
      note(std::string("releasing the Lease: ") + e.what());
      return false;
    }
    if (response.status == 404) return true;
    json answer = json::parse(response.body, nullptr, false);
    if (response.status != 200 || !answer.is_object()) {
      note("releasing the Lease: " + describe(response));
      return false;
    }
    if (holder_of(answer).empty()) {
      observe(answer);
      note("released the Lease");
      return true;
    }
    lease = std::move(answer);  // re-read after a 409: try again if it still names us
  }
  note("releasing the Lease: it kept changing under us");
  return false;
}

bool LeaderElector::release() {
  std::lock_guard once(release_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (release_result_) return *release_result_;
  }
  std::optional<json> known;
  {
    std::scoped_lock callbacks(callback_mutex_);
    bool was_leading = false;
    {
      std::lock_guard lock(mutex_);
      released_ = true;
      was_leading = leading_;
      leading_ = false;
      ++term_;
      known = lease_;
      changed_.notify_all();
    }
    if (was_leading) {
      note("stopped leading: releasing the Lease");
      if (options_.on_stopped_leading) options_.on_stopped_leading();
    }
  }
  const bool result = !known || write_release(*known);
  std::lock_guard lock(mutex_);
  release_result_ = result;
  return result;
}

void LeaderElector::stop() {
  release();
  if (worker_.joinable()) worker_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

// ---- identity ---------------------------------------------------------------------

std::string leader_identity(const IdentitySources& sources) {
  std::optional<std::string> pod;
  if (sources.env) {
    pod = sources.env("POD_NAME");
  } else if (const char* value = std::getenv("POD_NAME")) {
    pod = value;
  }
  std::string base;
  if (pod && !pod->empty()) {
    base = *pod;
  } else if (sources.hostname) {
    base = sources.hostname();
  } else {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) base = name;
  }
  if (base.empty()) base = "cdc-guard";
  const std::uint32_t random = sources.random ? sources.random() : std::random_device{}();
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", random);
  return base + "_" + suffix;
}

}  // namespace cdcguard::kube
