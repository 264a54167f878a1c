// Figures: the image/png displays of a run (matplotlib's, or any object
// with _repr_png_), saved beside the file that was run as
// NAME_figures/cell-N-K.png (the K-th image of cell N). A display updated
// by id rewrites its own file.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "support/result.h"

namespace subcell {

class Figures {
 public:
  // `source`: the file that was run (`examples/plot.ipynb` saves into
  // `examples/plot_figures/`).
  explicit Figures(const std::string& source);

  // Saves a base64 PNG; returns the file's path.
  Result<std::string> save(int cell_number, std::string_view base64, const std::string& display_id = {});

 private:
  std::string directory_;
  std::map<int, int> saved_per_cell_;
  std::map<std::string, std::string> path_of_display_;
};

// RFC 4648 base64 into `out`, whitespace ignored; false on a bad character.
bool decode_base64(std::string_view text, std::string& out);

}  // namespace subcell
