// CtrlC: SIGINT as a readable descriptor (a self-pipe), so the run loop
// notices Ctrl+C between two messages and forwards it as `cell/interrupt`.
#pragma once

namespace subcell {

class CtrlC {
 public:
  CtrlC();   // installs the handler
  ~CtrlC();  // restores the previous one
  CtrlC(const CtrlC&) = delete;
  CtrlC& operator=(const CtrlC&) = delete;

  int fd() const;
  // How many Ctrl+C arrived since the last call.
  int take();
};

}  // namespace subcell
