#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cdcguard/admission/admission_review.hpp"
#include "cdcguard/model/manifest.hpp"
#include "support/fixtures.hpp"
#include "support/yaml_text.hpp"

namespace cdcguard::admission {
namespace {

std::string review_fixture(const std::string& name) {
  return testing_support::read_fixture_file("admission/" + name);
}

TEST(AdmissionReview, ParsesAnApiServerCreateRequest) {
  const auto parsed = parse_review(review_fixture("create-mysql-without-id.json"));
  ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << std::get<ParseError>(parsed).message;
  const Request& r = std::get<Request>(parsed);
  EXPECT_EQ(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(r.kind.group, "kafka.strimzi.io");
  EXPECT_EQ(r.kind.kind, "KafkaConnector");
  EXPECT_EQ(r.operation, "CREATE");
  EXPECT_EQ(r.namespace_name, "ecommerce");
  EXPECT_FALSE(r.dry_run);
  EXPECT_EQ(r.username, "system:serviceaccount:argocd:argocd-application-controller");
  EXPECT_TRUE(r.object.is_map());
  EXPECT_TRUE(r.old_object.is_null());
}

struct BadBody {
  std::string name;
  std::string body;
  std::string message;  // part of the error
  bool uid_known;       // answerable as an AdmissionReview denial
};

class AdmissionReviewBadBody : public testing::TestWithParam<BadBody> {};

TEST_P(AdmissionReviewBadBody, IsAClearErrorNotAThrow) {
  const BadBody& c = GetParam();
  const auto parsed = parse_review(c.body);
  ASSERT_TRUE(std::holds_alternative<ParseError>(parsed));
  const ParseError& e = std::get<ParseError>(parsed);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  EXPECT_EQ(e.uid.has_value(), c.uid_known);
}

INSTANTIATE_TEST_SUITE_P(
    Admission, AdmissionReviewBadBody,
    testing::Values(
        BadBody{"not_json", "{\"apiVersion\": ", "not valid JSON", false},
        BadBody{"array", "[1,2]", "JSON object", false},
        BadBody{"wrong_kind", R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}})",
                "kind \"Pod\"", false},
        BadBody{"v1beta1", R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"})",
                "admission.k8s.io/v1beta1", false},
        BadBody{"no_request", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})",
                "no request", false},
        BadBody{"no_uid", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})",
                "no uid", false},
        BadBody{
            "bad_operation",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH"}})",
            "unknown operation", true},
        BadBody{
            "create_without_object",
            R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}})",
            "without an object", true}),
    testing_support::ScenarioName{});

Response response_with(std::string uid) {
  Response r;
  r.uid = std::move(uid);
  return r;
}

TEST(AdmissionReview, DenialEchoesUidWithStatus403) {
  const nlohmann::json review = to_review([] {
    Response r = response_with("abc");
    r.allowed = false;
    r.code = 403;
    r.message = "denied: x";
    return r;
  }());
  EXPECT_EQ(review["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(review["kind"], "AdmissionReview");
  EXPECT_EQ(review["response"]["uid"], "abc");
  EXPECT_EQ(review["response"]["allowed"], false);
  EXPECT_EQ(review["response"]["status"]["code"], 403);
  EXPECT_EQ(review["response"]["status"]["message"], "denied: x");
  EXPECT_FALSE(review["response"].contains("patch"));
}

TEST(AdmissionReview, WarningsAreCutTo120Characters) {
  const std::string long_warning(300, 'w');
  const nlohmann::json review = to_review([&] {
    Response r = response_with("u");
    r.warnings = {"short", long_warning};
    return r;
  }());
  ASSERT_EQ(review["response"]["warnings"].size(), 2u);
  EXPECT_EQ(review["response"]["warnings"][0], "short");
  EXPECT_EQ(review["response"]["warnings"][1].get<std::string>().size(), kMaxWarningLength);
  EXPECT_FALSE(review["response"].contains("status"));
}

TEST(AdmissionReview, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(AdmissionReview, ObjectFromJsonGivesTheSameFactsAsYaml) {
  const auto parsed = parse_review(review_fixture("create-mysql-without-id.json"));
  const Request& r = std::get<Request>(parsed);
  std::vector<ManifestError> errors;
  const auto facts = connector_from_object(r.object, {}, "default", errors);
  ASSERT_TRUE(facts) << (errors.empty() ? "" : errors.front().message);
  EXPECT_EQ(facts->key(), "ecommerce/refunds-cdc");
  EXPECT_TRUE(facts->reads_binlog());
  EXPECT_EQ(facts->server_id.state, ServerIdValue::State::Missing);
  EXPECT_EQ(facts->topic_prefix.value, "refunds");
  EXPECT_EQ(facts->database_port, "3306");  // a JSON number reads as its digits
}

// config-generation-mixed needs the keys of both generations: the projection
// keeps the database.history.*, schema.history.internal.* and driver.* families.
TEST(AdmissionReview, TheProjectionKeepsWhatTheGenerationOfAConfigIsReadFrom) {
  nlohmann::json review = nlohmann::json::parse(review_fixture("create-mysql-without-id.json"));
  auto& config = review["request"]["object"]["spec"]["config"];
  config = {{"database.server.name", "mysql_orders"},
            {"driver.connectTimeout", "5000"},
            {"database.history.kafka.bootstrap.servers", "kafka:9092"},
            {"table.include.list", "shop.orders"},
            {"snapshot.mode", "initial"}};
  const auto parsed = parse_review(review.dump());
  const Request& r = std::get<Request>(parsed);
  std::vector<ManifestError> errors;
  const auto facts = connector_from_object(r.object, {}, "default", errors);
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->generation, ConfigGeneration::V2);
  EXPECT_EQ(facts->generation_marker, "driver.connectTimeout");
  ASSERT_EQ(facts->legacy_keys.size(), 2u);  // in the body's order (nlohmann::json writes keys sorted)
  EXPECT_EQ(facts->legacy_keys[0].key, "database.history.kafka.bootstrap.servers");
  EXPECT_EQ(facts->legacy_keys[1].key, "database.server.name");
  EXPECT_EQ(facts->table_include_list, "shop.orders");
  const YamlNode* kept = r.object.find("spec")->find("config");
  EXPECT_EQ(kept->find("snapshot.mode"), nullptr) << "keys no rule reads stay out";
}

TEST(AdmissionReview, PatchAppliedByARealJsonPatchSetsTheIdAndHistoryTopic) {
  const auto parsed = parse_review(review_fixture("create-mysql-without-id.json"));
  const Request& r = std::get<Request>(parsed);
  const nlohmann::json object =
      nlohmann::json::parse(review_fixture("create-mysql-without-id.json"))["request"]["object"];
  const nlohmann::json patch = server_id_patch(r.object, 184004, "schema-history.refunds");
  const nlohmann::json patched = object.patch(patch);
  EXPECT_EQ(patched["spec"]["config"]["database.server.id"], "184004");
  EXPECT_EQ(patched["spec"]["config"]["schema.history.internal.kafka.topic"], "schema-history.refunds");
  // Nothing else changed.
  nlohmann::json without = patched;
  without["spec"]["config"].erase("database.server.id");
  without["spec"]["config"].erase("schema.history.internal.kafka.topic");
  EXPECT_EQ(without, object);
  // And it survives the trip through the response.
  const nlohmann::json review = to_review([&] {
    Response out = response_with(r.uid);
    out.patch = patch.dump();
    return out;
  }());
  EXPECT_EQ(review["response"]["patchType"], "JSONPatch");
  EXPECT_EQ(nlohmann::json::parse(testing_support::base64_decode(review["response"]["patch"])), patch);
}

TEST(AdmissionReview, PatchAddsSpecAndConfigFirstAndReplacesAuto) {
  const nlohmann::json bare = {{"apiVersion", "kafka.strimzi.io/v1"}, {"kind", "KafkaConnector"}};
  const nlohmann::json from_bare = bare.patch(server_id_patch(yaml_from_json(bare), 184000, std::nullopt));
  EXPECT_EQ(from_bare["spec"]["config"]["database.server.id"], "184000");
  EXPECT_FALSE(from_bare["spec"]["config"].contains("schema.history.internal.kafka.topic"));

  const nlohmann::json with_auto = {{"spec", {{"config", {{"database.server.id", "auto"}}}}}};
  const nlohmann::json patch = server_id_patch(yaml_from_json(with_auto), 184001, std::nullopt);
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0]["op"], "replace");
  EXPECT_EQ(with_auto.patch(patch)["spec"]["config"]["database.server.id"], "184001");
}

TEST(AdmissionReview, JsonPointerEscapesTildeAndSlash) {
  EXPECT_EQ(json_pointer_escape("a/b~c.d"), "a~1b~0c.d");
}

}  // namespace
}  // namespace cdcguard::admission

namespace cdcguard::admission {
namespace {

// parse_review (simdjson, then nlohmann for what it refuses) must agree with
// parse_review_reference (nlohmann alone) on bodies where parsers differ.
std::string with_object_value(const std::string& value) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","operation":"CREATE",)"
         R"("kind":{"group":"kafka.strimzi.io","version":"v1","kind":"KafkaConnector"},"object":{"metadata":{"name":"a",)"
         R"("annotations":{"x":"y"},"managedFields":[{"manager":"kubectl"}]},"status":{"ok":true},"spec":{"config":{"v":)" +
         value + "}}}}}";
}

TEST(AdmissionReviewParsers, FastAndReferenceParsersAgree) {
  const std::vector<std::string> bodies = {
      with_object_value("184001"),
      with_object_value("\"184001\""),
      with_object_value("-0"),
      with_object_value("-0.0"),
      with_object_value("1e2"),
      with_object_value("1E400"),
      with_object_value("18446744073709551615"),
      with_object_value("18446744073709551616"),
      with_object_value("-9223372036854775809"),
      with_object_value("\"\\u0000\""),
      with_object_value("\"\\ud800\""),
      with_object_value("\"\\ud83d\\ude00\""),
      with_object_value("\"\xff\""),
      with_object_value("{\"k\":1,\"k\":2}"),
      with_object_value(std::string(120, '[') + std::string(120, ']')),
      with_object_value(std::string(130, '[') + std::string(130, ']')),
      with_object_value("tru"),
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE"}} x)",
      R"({"apiVersion":"admission.k8s.io/v1","apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"u","operation":"DELETE"}})",
      "",
      " ",
      "null",
  };
  for (const auto& body : bodies) {
    const auto fast = parse_review(body);
    const auto reference = parse_review_reference(body);
    ASSERT_EQ(fast.index(), reference.index()) << body;
    if (const auto* a = std::get_if<ParseError>(&fast)) {
      const auto& b = std::get<ParseError>(reference);
      EXPECT_EQ(a->message, b.message) << body;
      EXPECT_EQ(a->uid, b.uid) << body;
      continue;
    }
    const auto& a = std::get<Request>(fast);
    const auto& b = std::get<Request>(reference);
    EXPECT_EQ(testing_support::yaml_text(a.object), testing_support::yaml_text(b.object)) << body;
    EXPECT_EQ(a.uid, b.uid);
    EXPECT_EQ(a.object.find("status"), nullptr) << "pruned: no rule reads it";
    ASSERT_NE(a.object.find("metadata"), nullptr);
    EXPECT_EQ(a.object.find("metadata")->find("annotations"), nullptr);
    EXPECT_EQ(a.object.find("metadata")->find("managedFields"), nullptr);
    EXPECT_EQ(a.object.find("metadata")->find("name")->scalar(), "a");
  }
}

}  // namespace
}  // namespace cdcguard::admission

namespace cdcguard::admission {
namespace {

TEST(AdmissionReview, ReviewTextIsTheSerialisedReview) {
  Response allowed;
  allowed.uid = "uid-\"quoted\"-\u00e9";
  Response warned = allowed;
  warned.warnings = {"[topic-prefix-overlap] spec.config.topic.prefix: overlaps"};
  Response denied = allowed;
  denied.allowed = false;
  denied.code = 403;
  denied.message = "cdc-guard denied KafkaConnector a/b: [server-id-duplicate] ...";
  Response patched = allowed;
  patched.patch = R"([{"op":"add","path":"/spec/config/database.server.id","value":"184004"}])";
  for (const Response& r : {allowed, warned, denied, patched}) {
    EXPECT_EQ(to_review_text(r), to_review(r).dump());
    EXPECT_EQ(nlohmann::json::parse(to_review_text(r))["response"]["uid"], r.uid);
  }
}

}  // namespace
}  // namespace cdcguard::admission

namespace cdcguard::admission {
namespace {

std::size_t node_count(const YamlNode& n) {
  std::size_t count = 1;
  for (const auto& item : n.items()) count += node_count(item);
  for (const auto& [key, value] : n.entries()) count += node_count(value);
  return count;
}

// A CREATE review whose object carries `filler` under spec.config, spec and metadata.
std::string review_with_filler(const std::string& filler) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","operation":"CREATE",)"
         R"("kind":{"group":"kafka.strimzi.io","version":"v1","kind":"KafkaConnector"},"object":{"apiVersion":)"
         R"("kafka.strimzi.io/v1","kind":"KafkaConnector","metadata":{"name":"a","namespace":"ns","labels":)"
         R"({"strimzi.io/cluster":"c","x":)" +
         filler + R"(},"extra":)" + filler +
         R"(},"spec":{"class":"io.debezium.connector.mysql.MySqlConnector","tasksMax":)" + filler +
         R"(,"config":{"database.server.id":"184001","topic.prefix":"shop","not.read":)" + filler +
         R"(,"database.hostname":)" + filler + "}}}}}";
}

// Issue 9, defect 4: 4 MB of nested `{}` took a request from 12 MB to 309 MB
// (8 at once: 2.7 GB, 5 s each). Only what a rule reads is converted, so the
// tree is the same few nodes whatever the body holds, on both parsers.
TEST(AdmissionReviewParsers, ConvertOnlyWhatTheRulesRead) {
  std::string wide = "[";
  while (wide.size() < 4 * 1024 * 1024) wide += "{},";
  wide += "{}]";
  std::string deep_objects;
  for (int i = 0; i < 100; ++i) deep_objects += "{\"k\":";
  deep_objects += "1" + std::string(100, '}');
  std::string many_keys = "{";
  for (int i = 0; i < 200000; ++i) many_keys += "\"k" + std::to_string(i) + "\":{},";
  many_keys += "\"last\":1}";
  const auto small = parse_review(review_with_filler("1"));
  ASSERT_TRUE(std::holds_alternative<Request>(small));
  const std::size_t nodes = node_count(std::get<Request>(small).object);
  for (const std::string& filler : {wide, deep_objects, many_keys}) {
    const std::string body = review_with_filler(filler);
    for (const auto& parsed : {parse_review(body), parse_review_reference(body)}) {
      ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << std::get<ParseError>(parsed).message;
      const YamlNode& object = std::get<Request>(parsed).object;
      EXPECT_EQ(node_count(object), nodes) << "a " << body.size() << "-byte body";
      const YamlNode* config = object.find("spec")->find("config");
      EXPECT_EQ(config->find("database.server.id")->scalar(), "184001");
      EXPECT_EQ(config->find("not.read"), nullptr);
      // A value a rule reads keeps its kind (a map is "<a map>" to the model), not its contents.
      EXPECT_TRUE(config->find("database.hostname")->entries().empty() &&
                  config->find("database.hostname")->items().empty());
      EXPECT_EQ(object.find("metadata")->find("labels")->find("strimzi.io/cluster")->scalar(), "c");
      EXPECT_EQ(object.find("metadata")->find("labels")->find("x"), nullptr);
    }
  }
}

TEST(AdmissionReviewParsers, ALargeBodyIsJudgedLikeTheSameSmallOne) {
  // Past the fast path's size, the streaming parser reads it: the same Request.
  const std::string small = review_with_filler("\"v\"");
  const std::string large = small + std::string(200 * 1024, ' ');
  const auto a = std::get<Request>(parse_review(small));
  const auto b = std::get<Request>(parse_review(large));
  EXPECT_EQ(testing_support::yaml_text(a.object), testing_support::yaml_text(b.object));
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.kind.kind, b.kind.kind);
}

}  // namespace
}  // namespace cdcguard::admission

namespace cdcguard::admission {
namespace {

// A claim records the request's uid in the registry: one the registry could
// not carry plainly is refused before it is judged (the API server sends UUIDs).
TEST(AdmissionReviewParsers, AUidThatIsNotPlainTextIsRefused) {
  const auto body = [](const std::string& uid) {
    return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":)" +
           nlohmann::json(uid).dump() + R"(,"operation":"DELETE"}})";
  };
  EXPECT_TRUE(std::holds_alternative<Request>(parse_review(body("0d3f6c2e-1a1b-4c1d-8e1f-000000000002"))));
  for (const std::string& uid : {std::string("uid-\x7f"), std::string("a b"), std::string("x\ny"),
                                 std::string("\xc3\xa9"), std::string(129, 'u')}) {
    for (const auto& parsed : {parse_review(body(uid)), parse_review_reference(body(uid))}) {
      const auto* error = std::get_if<ParseError>(&parsed);
      ASSERT_NE(error, nullptr) << uid;
      EXPECT_EQ(error->http_status, 400);
      EXPECT_EQ(error->uid, uid) << "answered as an AdmissionReview denial";
      EXPECT_NE(error->message.find("printable ASCII"), std::string::npos) << error->message;
    }
  }
}

}  // namespace
}  // namespace cdcguard::admission
