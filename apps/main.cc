// ringstamp: the command. Subcommands are registered in apps/commands.h.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ringstamp <info|capture|gen|probe> [flags]\n");
    return 2;
  }
  std::fprintf(stderr, "ringstamp: unknown command '%s'\n", argv[1]);
  return 2;
}
