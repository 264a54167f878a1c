// The pure parts of `subcell run`: the Jupyter output model, traceback
// rewriting, base64, options. The binary itself is tested by test_run.py.
#include <catch2/catch.hpp>

#include "cli/figures.h"
#include "cli/jupyter_outputs.h"
#include "cli/run_file.h"
#include "cli/tracebacks.h"

using namespace subcell;
using Json = nlohmann::json;

namespace {

Json text_of(const Json& output) {
  std::string text;
  for (const auto& line : output["text"]) text += line.get<std::string>();
  return text;
}

}  // namespace

TEST_CASE("carriage returns keep what a terminal shows") {
  CHECK(apply_carriage_returns("10%\r20%\rdone\n") == "done\n");
  CHECK(apply_carriage_returns("a\r\nb\n") == "a\nb\n");
  CHECK(apply_carriage_returns("10%\r") == "10%\r");  // waits for what comes next
  CHECK(apply_carriage_returns("10%\r20%\r") == "20%\r");
  CHECK(apply_carriage_returns("x\ry\nkeep\n") == "y\nkeep\n");
  CHECK(apply_carriage_returns("") == "");
}

TEST_CASE("multiline strings split after each newline, as nbformat writes them") {
  CHECK(multiline("a\nb\n") == Json::array({"a\n", "b\n"}));
  CHECK(multiline("a\nb") == Json::array({"a\n", "b"}));
  CHECK(multiline("") == Json::array());
}

TEST_CASE("consecutive writes to one stream are one output") {
  JupyterOutputs outputs(1);
  outputs.stream(0, "stdout", "one\n");
  outputs.stream(0, "stdout", "two\n");
  outputs.stream(0, "stderr", "oops\n");
  outputs.stream(0, "stdout", "three\n");
  outputs.stream(0, "stdout", "50%\r");
  outputs.stream(0, "stdout", "100%\n");
  const Json out = outputs.outputs(0);
  REQUIRE(out.size() == 3);
  CHECK(out[0]["name"] == "stdout");
  CHECK(out[0]["text"] == Json::array({"one\n", "two\n"}));
  CHECK(out[1]["name"] == "stderr");
  CHECK(text_of(out[2]) == "three\n100%\n");
}

TEST_CASE("a display updated by id is replaced in place, in every cell that shows it") {
  JupyterOutputs outputs(3);
  outputs.display(0, Json{{"text/plain", "0%"}}, "bar");
  outputs.stream(0, "stdout", "x\n");
  outputs.display(1, Json{{"text/plain", "again 0%"}}, "bar");
  outputs.display(1, Json{{"text/plain", "other"}}, "");
  outputs.update_display("bar", Json{{"text/plain", "100%"}});
  outputs.update_display("unknown", Json{{"text/plain", "nothing"}});
  CHECK(outputs.outputs(0)[0]["data"]["text/plain"] == Json::array({"100%"}));
  CHECK(outputs.outputs(1)[0]["data"]["text/plain"] == Json::array({"100%"}));
  CHECK(outputs.outputs(1)[1]["data"]["text/plain"] == Json::array({"other"}));
  CHECK(outputs.outputs(2).empty());  // an update adds nothing
  CHECK(outputs.outputs(0)[0].dump() == R"({"data":{"text/plain":["100%"]},"metadata":{},"output_type":"display_data"})");
}

TEST_CASE("clear_output empties the cell, with wait at its next output") {
  JupyterOutputs outputs(2);
  outputs.display(0, Json{{"text/plain", "shown"}}, "d");
  outputs.stream(0, "stdout", "a\n");
  outputs.clear(0, false);
  CHECK(outputs.outputs(0).empty());
  outputs.update_display("d", Json{{"text/plain", "gone"}});  // its display was cleared
  CHECK(outputs.outputs(0).empty());

  outputs.stream(1, "stdout", "step 0\n");
  outputs.clear(1, true);
  CHECK(outputs.outputs(1).size() == 1);  // still there until the next output
  outputs.stream(1, "stdout", "step 1\n");
  CHECK(outputs.outputs(1).size() == 1);
  CHECK(text_of(outputs.outputs(1)[0]) == "step 1\n");
}

TEST_CASE("values and errors in nbformat's shape") {
  JupyterOutputs outputs(1);
  outputs.execute_result(0, 7, Json{{"text/plain", "42"}, {"image/png", "iVBO"}, {"application/json", {{"a", 1}}}});
  outputs.error(0, "ValueError", "bad", {"Traceback (most recent call last):", "ValueError: bad"});
  const Json out = outputs.outputs(0);
  CHECK(out[0]["output_type"] == "execute_result");
  CHECK(out[0]["execution_count"] == 7);
  CHECK(out[0]["data"]["image/png"] == "iVBO");          // base64 stays one string
  CHECK(out[0]["data"]["application/json"]["a"] == 1);  // JSON stays JSON
  CHECK(out[1] == Json{{"output_type", "error"},
                       {"ename", "ValueError"},
                       {"evalue", "bad"},
                       {"traceback", {"Traceback (most recent call last):", "ValueError: bad"}}});
}

TEST_CASE("traceback frames of cells are rewritten to where the reader looks") {
  const std::string traceback =
      "Traceback (most recent call last):\n"
      "  File \"<cell 2>\", line 3, in <module>\n"
      "    f()\n"
      "  File \"<cell 1>\", line 2, in f\n"
      "  File \"/usr/lib/python3.13/json/__init__.py\", line 1, in loads\n"
      "ValueError: x\n";
  const std::string mapped = rewrite_cell_frames(traceback, [](int count, int line) -> std::optional<std::string> {
    if (count == 1) return std::nullopt;  // unknown: left alone
    return "File \"demo.py\", line " + std::to_string(10 + line);
  });
  CHECK(mapped ==
        "Traceback (most recent call last):\n"
        "  File \"demo.py\", line 13, in <module>\n"
        "    f()\n"
        "  File \"<cell 1>\", line 2, in f\n"
        "  File \"/usr/lib/python3.13/json/__init__.py\", line 1, in loads\n"
        "ValueError: x\n");
  CHECK(rewrite_cell_frames("  File \"<cell 4>\", line 9, in g\n", [](int c, int l) -> std::optional<std::string> {
          return ipython_place(c, l);
        }) == "  Cell In[4], line 9, in g\n");
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("base64 as in image/png bundles") {
  std::string out;
  REQUIRE(decode_base64("aGVs\nbG8=", out));
  CHECK(out == "hello");
  REQUIRE(decode_base64("", out));
  CHECK(out.empty());
  CHECK_FALSE(decode_base64("a$b", out));
}

TEST_CASE("run options") {
  auto parse = [](std::vector<std::string_view> args) { return parse_run_options(args); };
  auto o = parse({"run", "--allow-errors", "--timeout=2.5", "-p", "a=1", "--param", "b=x=y", "--output", "o.ipynb",
                  "--isolation", "process", "--python=/usr/bin/python3", "nb.ipynb"});
  REQUIRE(o);
  CHECK(o->allow_errors);
  CHECK(o->timeout_seconds == 2.5);
  CHECK(o->parameters == std::vector<std::string>{"a=1", "b=x=y"});
  CHECK(o->output == "o.ipynb");
  CHECK(o->isolation == "process");
  CHECK(o->python == "/usr/bin/python3");
  CHECK(o->path == "nb.ipynb");
  CHECK_FALSE(parse({"run"}));
  CHECK_FALSE(parse({"run", "a.py", "b.py"}));
  CHECK_FALSE(parse({"run", "--timeout", "0", "a.py"}));
  CHECK_FALSE(parse({"run", "--inplace", "-o", "x.ipynb", "a.ipynb"}));
  CHECK_FALSE(parse({"run", "a.py", "--output"}));
  CHECK(parse({"run", "--bogus", "a.py"}).error().message == "unknown option for run: --bogus");
}
