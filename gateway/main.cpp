#include "gateway/cli.hpp"

int main(int argc, char** argv) {
  return fieldgate::gateway::run_cli(argc, argv);
}
