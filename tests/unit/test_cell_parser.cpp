#include <catch2/catch.hpp>

#include "cli/cell_parser.h"

using namespace subcell;

TEST_CASE("cells split at # %% markers, with their first line in the file") {
  auto cells = parse_cells("import os\n\n# %% first\nx = 1\n\n\n# %%\n\ny = 2\n");
  REQUIRE(cells.size() == 3);
  CHECK(cells[0].marker_line == 0);
  CHECK(cells[0].first_line == 1);
  CHECK(cells[0].code == "import os\n");
  CHECK(cells[1].marker_line == 3);
  CHECK(cells[1].title == "first");
  CHECK(cells[1].first_line == 4);
  CHECK(cells[1].code == "x = 1\n");
  CHECK(cells[2].marker_line == 7);
  CHECK(cells[2].first_line == 9);  // the blank line after the marker is skipped
  CHECK(cells[2].code == "y = 2\n");
}

TEST_CASE("markdown and reset tags are recognised; #%% without a space too") {
  auto cells = parse_cells("#%% [markdown]\n# Title\n# %% [reset] again\nz = 3");
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].markdown);
  CHECK_FALSE(cells[0].reset);
  CHECK(cells[1].reset);
  CHECK(cells[1].title == "again");
  CHECK(cells[1].code == "z = 3\n");
}

TEST_CASE("blank text before the first marker is not a cell") {
  auto cells = parse_cells("\n\n# %%\na = 1\n");
  REQUIRE(cells.size() == 1);
  CHECK(cells[0].first_line == 4);
}

TEST_CASE("CRLF files keep their line numbers") {
  auto cells = parse_cells("# %%\r\na = 1\r\nb = 2\r\n# %%\r\nc = 3\r\n");
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].code == "a = 1\nb = 2\n");
  CHECK(cells[1].first_line == 5);
}

TEST_CASE("cells with only comments have no code to run") {
  CHECK_FALSE(has_code("# a header\n\n  # more\n"));
  CHECK_FALSE(has_code(""));
  CHECK(has_code("# setup\nx = 1\n"));
  CHECK(has_code("  print('#')"));
}

TEST_CASE("marker detection") {
  CHECK(is_cell_marker("# %%"));
  CHECK(is_cell_marker("  #%% title"));
  CHECK_FALSE(is_cell_marker("# % not"));
  CHECK_FALSE(is_cell_marker("x = '# %%'"));
}
