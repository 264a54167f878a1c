// What `site` gives an interpreter, captured once in the main interpreter
// and replayed in each session.
//
// Importing `site` is 40% of an interpreter's creation time here (5.9 ms
// with it, 3.6 ms without), and its result is the same for every session:
// sys.path with the site-packages, and the `import` lines of .pth files
// (editable installs and other import hooks). Sessions therefore start with
// site disabled and get a copy of both, plus the builtins site adds (exit,
// quit, help, copyright, credits, license).
#pragma once

#include <string>
#include <vector>

namespace subcell::py {

struct SiteSetup {
  std::vector<std::string> path;         // sys.path after site ran in the main interpreter
  std::vector<std::string> pth_imports;  // `import ...` lines of the .pth files, in site's order
};

// Main interpreter, GIL held, at start-up: runs site.main() there and
// records what sessions need. Errors leave the setup empty (logged).
void capture_site_setup();

// The captured setup; empty before capture_site_setup().
const SiteSetup& site_setup();

}  // namespace subcell::py
