// fuzz_seeds: every fuzz target of tests/fuzz, run once on each of its
// committed seeds, in the normal build (gcc, no libFuzzer). The seeds include
// the inputs that once crashed a target, so this is their regression test in
// every scripts/test run; it also keeps the targets compiling with the code
// they test. Fuzzing proper (new inputs, sanitizers) is scripts/fuzz.
//   fuzz_seeds TARGET CORPUS_DIR
// Each target checks its own properties and aborts on a failure; this exits
// non-zero for an unknown target, an unreadable seed, or a directory without
// seeds (a test that ran nothing must not pass).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_seed_targets.hpp"  // generated: kFuzzTargets, one entry per target

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_seeds TARGET CORPUS_DIR\n");
    return 2;
  }
  const std::string_view name = argv[1];
  int (*one)(const std::uint8_t*, std::size_t) = nullptr;
  for (const auto& target : kFuzzTargets) {
    if (target.name == name) one = target.run;
  }
  if (one == nullptr) {
    std::fprintf(stderr, "fuzz_seeds: no target \"%s\"\n", argv[1]);
    return 2;
  }
  std::vector<std::filesystem::path> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[2])) {
    if (entry.is_regular_file()) seeds.push_back(entry.path());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "fuzz_seeds: no seeds in %s\n", argv[2]);
    return 1;
  }
  for (const auto& seed : seeds) {
    std::ifstream in(seed, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "fuzz_seeds: cannot read %s\n", seed.c_str());
      return 1;
    }
    std::fprintf(stderr, "%s: %s (%zu bytes)\n", argv[1], seed.filename().c_str(), bytes.size());
    one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: %zu seeds, every property held\n", argv[1], seeds.size());
  return 0;
}
